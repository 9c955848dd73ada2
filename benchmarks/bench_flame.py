"""Flame graphs of 200,000 distinct stacks: time and peak memory, and the page in chromium.

    python benchmarks/bench_flame.py [--stacks 200000] [--repeat 3] [--no-browser]

Generates a stap transcript of ``--stacks`` distinct stacks (print_ubacktrace FULL frames,
each stack followed by its count, the sample-bt form; depth 8-24 over a call tree of
nginx-like names), then measures in the same run, on one core, each in a fresh child process
(so each peak is its own):

* baseline: ``stapbench fold`` alone on the transcript (``fold_bytes``);
* flame data: the same fold, then the tree and its layout with narrow frames merged
  (``FlameData.from_bytes(...).layout()``), what the widget sends;
* static SVG: all of that plus ``FlameGraph.to_svg()`` (what a saved notebook keeps).

CPU time is the median of ``--repeat`` runs; peak memory is the child's VmHWM (peak resident
set) minus its resident set before the work.  Then, in Debian's chromium (Playwright): the
interactive page (``stapbench flame -o OUT.html``) from navigation to its frames drawn
(first paint), and a zoom (click to the next frame drawn), against the static SVG page of the
same graph loaded the same way (the baseline).  Medians; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stapbench.answers.flame import FlameData  # noqa: E402
from stapbench.parser.fold import fold_bytes  # noqa: E402
from stapbench.views.flame import FlameGraph  # noqa: E402

CHROMIUM = os.environ.get("STAPBENCH_CHROMIUM", "/usr/bin/chromium")


def write_transcript(path: Path, stacks: int, seed: int = 7) -> int:
    """``stacks`` distinct stacks (the leaf frame makes each one distinct); returns the lines."""
    rng = random.Random(seed)
    names = [f"ngx_fn_{i:04d}" for i in range(3000)]
    lines = 0
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for n in range(stacks):
            depth = rng.randrange(8, 25)
            # callers share prefixes the way a real call tree does: few roots, more leaves
            chain = ["main", "ngx_master_process_cycle", "ngx_worker_process_cycle"]
            chain += [names[min(int(rng.paretovariate(1.2) * (k + 1) * 3), 2999)] for k in range(depth - 4)]
            chain.append(f"leaf_{n}")
            for sym in reversed(chain):  # leaf first, as stap prints
                buf.append(f" 0x{rng.randrange(0x400000, 0x4fffff):x} : {sym}+0x{rng.randrange(0x400):x}/0x800 [/usr/sbin/nginx]\n")
            buf.append(f"\t{max(1, int(rng.paretovariate(1.1)))}\n")
            lines += len(chain) + 1
            if len(buf) > 100_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return lines


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def stage_fold(data: bytes):
    return len(fold_bytes(data))


def stage_flame_data(data: bytes):
    return len(FlameData.from_bytes(data).layout())


def stage_static_svg(data: bytes):
    return len(FlameGraph(FlameData.from_bytes(data)).to_svg())


def in_child(func, path: Path) -> tuple[float, int, object]:
    """Run ``func(bytes of path)`` in a forked child: (CPU seconds, peak extra KiB, result)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            data = path.read_bytes()
            before = _status_kb("VmRSS")
            c0 = time.process_time()
            result = func(data)
            cpu = time.process_time() - c0
            peak = _status_kb("VmHWM") - before
            os.write(write_fd, repr((cpu, peak, result)).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        text = r.read()
    os.waitpid(pid, 0)
    return eval(text)  # our own child's repr of a tuple of numbers


def measure(func, path: Path, repeat: int):
    runs = [in_child(func, path) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[-1][2]


def browser(page_path: Path, static_path: Path, repeat: int) -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.jupyterlab import CHROMIUM_ARGS

    paint, zoom, static = [], [], []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(static_path.as_uri())
            page.wait_for_selector("svg g")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            static.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_selector("html[data-ready='1'] .stapbench-flame-frame")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            paint.append(time.perf_counter() - t0)
            # zoom on the widest frame below the root's children: click to the next frame drawn
            ms = page.evaluate("""() => new Promise(resolve => {
                const frames = [...document.querySelectorAll('.stapbench-flame-frame')];
                const target = frames.filter(f => f.style.top === '54px')
                                     .sort((a, b) => b.offsetWidth - a.offsetWidth)[0];
                const t0 = performance.now();
                target.click();
                document.body.offsetHeight;  // layout
                requestAnimationFrame(() => resolve(performance.now() - t0));
            })""")
            assert page.evaluate("() => document.querySelector('.stapbench-flame').dataset.zoom") != "0"
            zoom.append(ms / 1000)
            page.close()
        chromium.close()
    return [("static SVG page load (baseline)", statistics.median(static)),
            ("interactive page first paint", statistics.median(paint)),
            ("zoom (click to next frame)", statistics.median(zoom))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stacks.txt"
        lines = write_transcript(path, args.stacks)
        print(f"input: {args.stacks:,} distinct stacks, {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB; "
              f"median of {args.repeat}, CPU time on one core, peak = VmHWM - VmRSS before")
        base_cpu, base_mem, _ = measure(stage_fold, path, args.repeat)
        print(f"{'stapbench fold (baseline)':34} {base_cpu:7.2f} s  {base_mem / 1024:7.0f} MiB")
        for name, func in (("flame data (fold+tree+layout)", stage_flame_data),
                           ("static SVG (all of it + SVG)", stage_static_svg)):
            cpu, mem, result = measure(func, path, args.repeat)
            what = "nodes" if func is stage_flame_data else "bytes"
            print(f"{name:34} {cpu:7.2f} s  {mem / 1024:7.0f} MiB   {cpu / base_cpu:5.2f}x time, "
                  f"{mem / max(base_mem, 1):5.2f}x memory of fold; {result:,} {what}")
        if args.no_browser or not Path(CHROMIUM).exists():
            print("chromium: skipped" + ("" if args.no_browser else f" (no {CHROMIUM})"))
            return 0
        graph = FlameGraph(FlameData.from_bytes(path.read_bytes()), title="bench")
        page_path, static_path = Path(tmp) / "flame.html", Path(tmp) / "flame_static.html"
        page_path.write_text(graph.to_page(), encoding="utf-8")
        static_path.write_text("<!doctype html><meta charset=utf-8>" + graph.to_html(), encoding="utf-8")
        print(f"page: {page_path.stat().st_size / 1e6:.2f} MB interactive, {static_path.stat().st_size / 1e6:.2f} MB static")
        results = browser(page_path, static_path, args.repeat)
        base = results[0][1]
        for name, seconds in results:
            print(f"{name:34} {seconds * 1000:7.0f} ms  {seconds / base:5.2f}x the static page load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
