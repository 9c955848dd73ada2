"""Whole-process times of ``stapbench parse --json`` and ``stapbench fold`` against
FlameGraph's ``stackcollapse-stap.pl``, in the same run.

    python benchmarks/bench_cli.py [--stacks 100000] [--repeat 5] [--stackcollapse PATH]

The Perl script is not part of this project: give its path with ``--stackcollapse``
or ``$STACKCOLLAPSE_STAP`` (from https://github.com/brendangregg/FlameGraph).

Three corpora (benchmarks/parse_corpus.py), each ``--stacks`` stacks:

* ``profile``: the parse benchmark's transcript (stacks from a pool, repeated, with
  printf lines, dumps and warnings between them);
* ``aggregated``: what a profiling script prints from an aggregate, every stack once,
  its frames drawn from a fixed pool of call sites (the realistic input of a fold);
* ``distinct``: every frame line distinct (the worst case for caches).

Each command runs as its own process (argv lists, no shell; stdout to /dev/null), the
three commands interleaved so that a noisy machine slows them alike; the figure is the
median CPU time (user + system, from ``wait4``: start-up and imports included) of
``--repeat`` runs, which other load on a shared machine disturbs far less than wall time
(printed beside it), and the ratio is to the Perl script's median on the same corpus.  Targets: ``parse --json`` no slower than Perl (ratio <= 1) on the
profile; ``fold`` 0.2x Perl on the aggregated corpus, 0.5x on the distinct one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.parse_corpus import aggregated_records, distinct_records, records, write_records  # noqa: E402

CORPORA = {
    "profile": records,
    "aggregated": aggregated_records,
    "distinct": distinct_records,
}
# (corpus, command) -> target ratio to Perl
TARGETS = {("profile", "parse --json"): 1.0, ("aggregated", "fold"): 0.2, ("distinct", "fold"): 0.5}


def stapbench_argv() -> list[str]:
    """How a user runs stapbench: the console script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("stapbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stapbench"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole process: its user + system time, from wait4."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return usage.ru_utime + usage.ru_stime, wall


def find_stackcollapse(given: str | None) -> Path | None:
    path = given or os.environ.get("STACKCOLLAPSE_STAP")
    return Path(path) if path else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--stackcollapse", metavar="PATH", help="FlameGraph's stackcollapse-stap.pl "
                    "(default: $STACKCOLLAPSE_STAP)")
    ap.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="only these corpora")
    args = ap.parse_args()
    script = find_stackcollapse(args.stackcollapse)
    if script is None or not script.is_file():
        print("stackcollapse-stap.pl is absent: give its path with --stackcollapse PATH or $STACKCOLLAPSE_STAP "
              "(https://github.com/brendangregg/FlameGraph); nothing measured", file=sys.stderr)
        return 2
    perl = shutil.which("perl")
    if perl is None:
        print("perl is not installed; nothing measured", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's stapbench
    stapbench = stapbench_argv()
    print(f"{args.stacks:,} stacks a corpus; median of {args.repeat} runs; ratio to Perl in the same run")
    print(f"{'corpus':<12}{'command':<16}{'cpu s':>9}{'wall s':>9}{'x Perl':>8}{'target':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpus or list(CORPORA):
            path = Path(tmp) / f"{name}.txt"
            lines = write_records(path, CORPORA[name](args.stacks))
            commands = {
                "perl": [perl, str(script), str(path)],
                "parse --json": [*stapbench, "parse", "--json", str(path)],
                "fold": [*stapbench, "fold", str(path)],
            }
            times: dict[str, list[tuple[float, float]]] = {c: [] for c in commands}
            for _ in range(args.repeat):
                for command, argv in commands.items():
                    times[command].append(run_once(argv, env))
            base = statistics.median(cpu for cpu, _ in times["perl"])
            size = path.stat().st_size / 1e6
            print(f"{name:<12}{'(corpus)':<16}{lines:>9,} lines, {size:.0f} MB")
            for command in commands:
                t = statistics.median(cpu for cpu, _ in times[command])
                wall = statistics.median(w for _, w in times[command])
                target = TARGETS.get((name, command))
                verdict = "" if target is None else f"{'ok' if t / base <= target else 'MISSED'} {target:g}"
                print(f"{name:<12}{command:<16}{t:>9.3f}{wall:>9.3f}{t / base:>8.2f}  {verdict}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
