"""Authoring benchmark: the nginx build's probe listing, the browser's filter, completion.

Measured in the same run, each several times (medians; these machines are noisy):

* cold listing: a new ``CatalogCache`` with an empty cache folder lists the binary (two
  ``stap -L`` runs: functions and SDT markers), against one bare ``stap -L`` of the functions
  (the baseline: what typing it in a terminal costs);
* cached reopen: a new ``CatalogCache`` on the filled folder (a new kernel: the build-id's
  JSON), and the same cache again (a dict hit); target under 20 ms;
* filter per keystroke: ranking the whole listing for every prefix of ``ngx_close_connection``
  (the probe browser's filter, in Python and in node running probebrowser.js's own ``rank``),
  against a bare substring filter over the same names; target under 50 ms;
* completion: ``StapCompleter.complete`` of ``process("…").function("ngx_close_con`` (warm
  cache), against IPython's own completion of ``os.pa`` in the same process; target under 50 ms.

    .venv/bin/python benchmarks/bench_authoring.py [--binary PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from stapbench.authoring.catalog import CatalogCache  # noqa: E402
from stapbench.authoring.completion import StapCompleter  # noqa: E402
from stapbench.authoring.probes import search  # noqa: E402

WORD = "ngx_close_connection"


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def per_keystroke(fn, repeat: int) -> float:
    """The median over every prefix of WORD of the median time of ``fn(prefix)``."""
    return statistics.median(median_ms(lambda p=WORD[:i]: fn(p), repeat) for i in range(1, len(WORD) + 1))


def node_rank_ms(entries: list, repeat: int) -> float | None:
    if shutil.which("node") is None:
        return None
    script = f"""
import {{ rank }} from {json.dumps(str(PROJECT / 'stapbench/views/probebrowser.js'))};
import {{ readFileSync }} from 'fs';
const entries = JSON.parse(readFileSync(0, 'utf8'));
const word = {json.dumps(WORD)}; const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
const per = [];
for (let i = 1; i <= word.length; i++) {{
  const t = [];
  for (let r = 0; r < {repeat}; r++) {{ const s = performance.now(); rank(entries, word.slice(0, i)); t.push(performance.now() - s); }}
  per.push(med(t));
}}
console.log(med(per));
"""
    with tempfile.NamedTemporaryFile("w", suffix=".mjs", delete=False) as f:
        f.write(script)
    out = subprocess.run(["node", f.name], input=json.dumps(entries), capture_output=True, text=True, timeout=120)
    return float(out.stdout) if out.returncode == 0 else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(PROJECT / ".work" / "nginx" / "sbin" / "nginx"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    binary = str(Path(args.binary).resolve())
    if shutil.which("stap") is None or not Path(binary).is_file():
        print("needs stap and the nginx build (bash .ci/provision)")
        return 1
    r = max(args.repeat, 1)

    def cold():
        with tempfile.TemporaryDirectory() as d:
            CatalogCache(directory=Path(d)).get(binary)

    def bare():
        subprocess.run(["stap", "-L", f'process("{binary}").function("*")'], capture_output=True, check=True)

    cold_ms, bare_ms = median_ms(cold, min(r, 3)), median_ms(bare, min(r, 3))
    folder = Path(tempfile.mkdtemp())
    cache = CatalogCache(directory=folder)
    catalog = cache.get(binary)
    disk_ms = median_ms(lambda: CatalogCache(directory=folder).get(binary), r * 4)
    memory_ms = median_ms(lambda: cache.get(binary), r * 4)
    names = [e.name for e in catalog.functions]
    print(f"listing of {binary}: {len(catalog.functions)} functions, {len(catalog.marks)} markers")
    print(f"  cold (stap -L twice, parsed, written): {cold_ms:8.1f} ms   bare stap -L: {bare_ms:.1f} ms   "
          f"ratio {cold_ms / bare_ms:.2f}x")
    print(f"  reopen, new cache (disk): {disk_ms:8.2f} ms   same cache (memory): {memory_ms:.3f} ms   target < 20 ms")

    rank_ms = per_keystroke(lambda q: search([catalog], q), r)
    substring_ms = per_keystroke(lambda q: [n for n in names if q in n], r)
    entries = [[0, e.kind, e.name, f"{e.file}:{e.line}", ""] for e in catalog.functions]
    js_ms = node_rank_ms(entries, r)
    print(f"filter per keystroke over {len(names)} names: ranked (Python) {rank_ms:.2f} ms, "
          + (f"ranked (probebrowser.js in node) {js_ms:.2f} ms, " if js_ms is not None else "")
          + f"bare substring filter {substring_ms:.3f} ms   ratio {rank_ms / substring_ms:.1f}x   target < 50 ms")

    engine = StapCompleter(catalogs=cache)
    cell = f'%%stap\nprobe process("{binary}").function("ngx_close_con'
    complete_ms = median_ms(lambda: engine.complete(cell, len(cell)), r * 4)
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("import os", store_history=False)
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        ipython_ms = median_ms(lambda: list(shell.Completer.completions("os.pa", 5)), r * 4)
    print(f"completion of a function name: {complete_ms:.2f} ms   IPython's os.pa: {ipython_ms:.2f} ms   "
          f"ratio {complete_ms / ipython_ms:.2f}x   target < 50 ms")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
