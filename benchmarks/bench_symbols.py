"""Symbolization benchmark: 100,000 frame addresses of the nginx build, stapbench vs addr2line.

Frames are random ``function+offset`` pairs inside the functions of the
module's symbol table (a fixed seed).  Measured in the same run, each several
times (medians reported; these machines are noisy):

* first frame: a new ``Symbolizer`` resolves one frame (what a notebook waits for);
* cold: a new ``Symbolizer`` resolves all frames (opens the ELF, indexes the
  symbol table, decodes every line table it meets);
* warm: the same ``Symbolizer`` resolves them again (each frame is a memo hit);
* warm index, new frames: the same ``Symbolizer`` resolves 100,000 *other*
  random frames (tables indexed, but every frame looked up afresh);
* ``addr2line -f -e MODULE``: one binutils process fed all addresses on stdin
  (start-up included), and elfutils' ``eu-addr2line -f -e`` the same way;
* once: pyelftools' own line-program API over every CU (what our decoder replaces).

It also checks that our file:line agrees with addr2line's for every address.
Falls back to tests/programs/demo.c (built here with -g -O0) when nginx isn't built.

    .venv/bin/python benchmarks/bench_symbols.py [--frames N] [--repeat N] [--module PATH]
"""

from __future__ import annotations

import argparse
import atexit
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from elftools.elf.elffile import ELFFile  # noqa: E402

from stapbench.model.events import Frame  # noqa: E402
from stapbench.symbols import Symbolizer  # noqa: E402
from stapbench.symbols.elfmodule import ModuleSymbols  # noqa: E402
from tests.support.paths import WORK  # noqa: E402


def pick_module(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    nginx = WORK / "nginx" / "sbin" / "nginx"
    if nginx.is_file():
        return nginx
    print(f"NOTE: no nginx build at {nginx} (run .ci/provision); measuring tests/programs/demo.c instead, "
          "whose few functions make every figure look better than nginx's would.")
    folder = tempfile.mkdtemp(prefix="bench-symbols-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = Path(folder) / "demo"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(out), str(PROJECT / "tests" / "programs" / "demo.c")], check=True)
    return out


def make_frames(module: Path, count: int, seed: int) -> tuple[list[Frame], list[int]]:
    with open(module, "rb") as f:
        functions = [s for s in ModuleSymbols(ELFFile(f)).symbols if s.size > 1]
    rng = random.Random(seed)
    frames, addresses = [], []
    for _ in range(count):
        sym = rng.choice(functions)
        offset = rng.randrange(sym.size)
        frames.append(Frame(address=None, symbol=sym.name, offset=offset, size=sym.size, module=str(module)))
        addresses.append(sym.address + offset)
    return frames, addresses


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_addr2line(tool: str, module: Path, addresses: list[int]) -> list[str]:
    text = "".join(f"{a:#x}\n" for a in addresses)
    out = subprocess.run([tool, "-f", "-e", str(module)], input=text, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def pyelftools_line_rows(module: Path) -> int:
    rows = 0
    with open(module, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            rows += sum(1 for entry in program.get_entries() if entry.state is not None)
    return rows


def agreement(locations, addr2line_out: list[str]) -> tuple[int, int]:
    """(addresses where both give a line, of those the ones with the same line)"""
    both = same = 0
    for i, loc in enumerate(locations):
        line = addr2line_out[2 * i + 1].rsplit(":", 1)[1].split()[0]
        if loc.line and line.isdigit():
            both += 1
            same += int(line) == loc.line
    return both, same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--module")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-pyelftools-baseline", action="store_true")
    args = ap.parse_args()

    module = pick_module(args.module)
    frames, addresses = make_frames(module, args.frames, args.seed)
    other_frames, _ = make_frames(module, args.frames, args.seed + 1)
    print(f"module: {module} ({module.stat().st_size / 1e6:.1f} MB), {len(frames):,} frames, "
          f"{args.repeat} runs each, medians")

    cold, warm, fresh, locations = [], [], [], None
    for _ in range(args.repeat):
        sym = Symbolizer()
        t, locations = timed(lambda: [sym.locate(f) for f in frames])
        cold.append(t)
        warm.append(timed(lambda: [sym.locate(f) for f in frames])[0])
        fresh.append(timed(lambda: [sym.locate(f) for f in other_frames])[0])
    tables = sym.module(str(module)).debug.tables_decoded
    # what a notebook feels: the first frame of a first backtrace (open, index, one line table)
    first = [timed(lambda: Symbolizer().locate(frames[i]))[0] for i in range(args.repeat)]

    tools = {name: path for name in ("addr2line", "eu-addr2line") if (path := shutil.which(name))}
    baselines: dict[str, list[float]] = {name: [] for name in tools}
    outputs: dict[str, list[str]] = {}
    for _ in range(args.repeat):
        for name, path in tools.items():
            t, outputs[name] = timed(lambda: run_addr2line(path, module, addresses))
            baselines[name].append(t)

    def row(label: str, times: list[float]) -> float:
        med = statistics.median(times)
        print(f"  {label:<34} {med:8.3f} s  {len(frames) / med / 1e3:9.1f} k frames/s  "
              f"({med / len(frames) * 1e6:6.2f} us/frame)")
        return med

    print(f"stapbench Symbolizer ({tables} line tables decoded):")
    cold_med = row("cold (new Symbolizer)", cold)
    warm_med = row("warm (same frames again)", warm)
    fresh_med = row("warm index, new frames", fresh)
    print(f"  {'first frame, new Symbolizer':<34} {statistics.median(first) * 1e3:8.1f} ms")
    print("baselines (one process, all addresses on stdin):")
    meds = {name: row(f"{name} -f -e", times) for name, times in baselines.items()}
    for name, med in meds.items():
        print(f"ratio {name} / stapbench: cold {med / cold_med:.2f}x, warm {med / warm_med:.2f}x, "
              f"warm index new frames {med / fresh_med:.2f}x (above 1: stapbench faster)")
    if "addr2line" in outputs:
        both, same = agreement(locations, outputs["addr2line"])
        print(f"agreement with addr2line: {same:,} of {both:,} addresses where both know a line "
              f"({100 * same / max(both, 1):.2f}%)")
    if not args.no_pyelftools_baseline:
        t, rows = timed(lambda: pyelftools_line_rows(module))
        print(f"pyelftools' own line-program API, all CUs once: {t:.3f} s for {rows:,} rows "
              f"({t / max(rows, 1) * 1e6:.2f} us/row; the cold run above decodes the same tables itself)")


if __name__ == "__main__":
    main()
