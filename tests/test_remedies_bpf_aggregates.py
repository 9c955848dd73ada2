"""The aggregates stap 4.8's BPF runtime refuses (@hist_log, @hist_linear, @min, @max) get a
remedy on the cell, and the way the remedy gives really runs on the BPF runtime here and
comes back as tables (checked with the real stap)."""

from __future__ import annotations

import os
import subprocess

import pytest

from stapbench.model import Diagnostic
from stapbench.parser import parse_bytes
from stapbench.parser.aggregates import collect_aggregates
from stapbench.runner.options import RunOptions
from stapbench.views import render_html
from stapbench.views.remedies import remedies

pytestmark = pytest.mark.stap


def _bpf_env() -> dict:
    env = dict(os.environ)
    shim = RunOptions(runtime="bpf").shim_path()
    if shim:
        env["LD_PRELOAD"] = shim
    return env


def _stap(script: str, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(["stap", "--runtime=bpf", *extra, "-e", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_bpf_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("use, token, says", [
    ("print(@hist_log(agg))", "print", "buckets[v / 10 * 10] += 1"),
    ("print(@hist_linear(agg, 0, 100, 10))", "print", "buckets[v / 10 * 10] += 1"),
    ('printf("%d\\n", @min(agg))', "@min", "if (v < lo) lo = v"),
    ('printf("%d\\n", @max(agg))', "@max", "if (v > hi) hi = v"),
])
def test_a_refused_aggregate_gets_the_way_that_works(stap_bpf, use, token, says):
    script = f"global agg\nprobe begin {{ agg <<< 5; {use}; exit() }}\n"
    done = _stap(script, "-p4")
    assert done.returncode != 0, "stap's BPF runtime accepted it: the remedy is out of date"
    errors = [e for e in parse_bytes(done.stderr, stream="stderr") if isinstance(e, Diagnostic) and e.severity == "error"
              and e.kind == "semantic"]
    assert errors and errors[0].token == token and errors[0].line == 2, done.stderr
    [remedy] = remedies(errors[0])
    assert says in remedy.text and "--runtime kernel" in remedy.text
    html = render_html(errors)
    assert "buckets[v / 10 * 10]" in html or "if (v &lt; lo)" in html


def test_the_remedies_run_on_the_bpf_runtime_and_give_tables(stap_bpf):
    script = """global lo = 9223372036854775807, hi = -9223372036854775808, buckets
probe begin {
  v = 5; if (v < lo) lo = v; if (v > hi) hi = v; buckets[v / 10 * 10] += 1
  v = 37; if (v < lo) lo = v; if (v > hi) hi = v; buckets[v / 10 * 10] += 1
  v = 31; if (v < lo) lo = v; if (v > hi) hi = v; buckets[v / 10 * 10] += 1
  exit()
}
probe end {
  printf("lo=%d\\nhi=%d\\n", lo, hi)
  foreach (b+ in buckets) printf("buckets[%d]=%d\\n", b, buckets[b])
}
"""
    done = _stap(script)
    assert done.returncode == 0, done.stderr
    found = collect_aggregates(parse_bytes(done.stdout, stream="stdout"))
    assert found.scalars == {"lo": 5, "hi": 37}
    assert found.arrays == {"buckets": {(0,): 1, (30,): 2}}
