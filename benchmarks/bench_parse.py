"""Throughput of ``fold`` and the full parse against a raw read of the same file.

    python benchmarks/bench_parse.py [--stacks 200000] [--repeat 5]

Generates the corpus (benchmarks/parse_corpus.py) into a temp file, then measures,
in the same run and on one core: reading the file (baseline), folding it
(stapbench fold), and parsing it into events (StreamParser fed 1 MiB chunks).
Prints lines/s (median of the repetitions) and each ratio to the raw read.
Targets: fold >= 3M lines/s, full parse >= 1M lines/s.

Time is this process's CPU time (``time.process_time``), pinned to one core:
on a shared, noisy machine that is what "on one core" means; wall time is
printed beside it.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.parse_corpus import write_corpus  # noqa: E402
from stapbench.parser import StreamParser  # noqa: E402
from stapbench.parser.fold import fold_bytes  # noqa: E402

CHUNK = 1 << 20


def raw_read(path: Path) -> int:
    with open(path, "rb") as f:
        return len(f.read())


def fold(path: Path) -> int:
    with open(path, "rb") as f:
        return len(fold_bytes(f.read()))


def parse(path: Path) -> int:
    parser = StreamParser("merged")
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            n += len(parser.feed(chunk))
    return n + len(parser.close())


def measure(func, path: Path, repeat: int) -> tuple[float, float, object]:
    cpu, wall = [], []
    result = None
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        result = func(path)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the targets say
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.txt"
        lines = write_corpus(path, args.stacks)
        size = path.stat().st_size
        print(f"corpus: {args.stacks:,} stacks, {lines:,} lines, {size / 1e6:.1f} MB; median of {args.repeat}")
        base, base_wall, _ = measure(raw_read, path, args.repeat)
        rows = [("raw read", base, base_wall, None)]
        t_fold, w_fold, _ = measure(fold, path, args.repeat)
        rows.append(("fold", t_fold, w_fold, 3e6))
        t_parse, w_parse, events = measure(parse, path, args.repeat)
        rows.append(("full parse", t_parse, w_parse, 1e6))
        print(f"{'':<12}{'cpu s':>8}{'wall s':>8}{'lines/s (cpu)':>16}{'x raw read':>12}{'target':>16}")
        for name, t, wall, target in rows:
            rate = lines / t
            verdict = "" if target is None else f"{'ok' if rate >= target else 'MISSED'} {target / 1e6:.0f}M/s"
            print(f"{name:<12}{t:>8.3f}{wall:>8.3f}{rate:>16,.0f}{t / base:>12.1f}{verdict:>16}")
        print(f"events from the full parse: {events:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
