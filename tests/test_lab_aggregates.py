"""stap's end-of-run display of globals and its ASCII histograms, from the kernel runtime for
real (the lab's guest, stap --remote): they parse into the expected tables, and stap's
histogram text is exactly what test_aggregates' transcription of stat-common.c prints, so the
fixtures there are in stap's true format."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stapbench.lab import Lab, is_built, lab_dir
from stapbench.parser import parse_bytes
from stapbench.parser.aggregates import collect_aggregates

from .test_aggregates import BUCKET0, LOG_BUCKETS, stap_histogram

pytestmark = pytest.mark.timeout(900)

SCRIPT = """\
global s, arr, lat, squares, spread
probe begin {
  s = 42; arr["a"] = 1; arr["b b"] = 2
  for (i = 1; i <= 100; i++) { lat <<< i; squares <<< i * i; spread <<< i - 20 }
  printf("squares:\\n"); print(@hist_log(squares))
  printf("spread:\\n"); print(@hist_linear(spread, 0, 50, 10))
  exit()
}
"""


def _why_not() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
    if os.geteuid() != 0:
        return "the lab's chroot and mount namespace need root"
    if not is_built():
        return f"the lab is not built in {lab_dir()} (stapbench lab build)"
    return None


@pytest.fixture(scope="module")
def answers_lab(tmp_path_factory):
    if _why_not():
        pytest.skip(_why_not())
    folder = tmp_path_factory.mktemp("answers-labs")
    old = os.environ.get("STAPBENCH_LABS_DIR")
    os.environ["STAPBENCH_LABS_DIR"] = str(folder)
    try:
        lab = Lab("t-answers").up(owned=True)
        try:
            yield lab
        finally:
            lab.down()
    finally:
        if old is None:
            os.environ.pop("STAPBENCH_LABS_DIR", None)
        else:
            os.environ["STAPBENCH_LABS_DIR"] = old


def _log_buckets(values):
    buckets = [0] * LOG_BUCKETS
    for v in values:  # v > 0: the bucket of 2**k <= v < 2**(k+1)
        buckets[BUCKET0 + v.bit_length()] += 1
    return buckets


def _linear_buckets(values, start, stop, interval):
    n = (stop - start) // interval + 3
    buckets = [0] * n
    for v in values:
        if v < start:
            buckets[0] += 1
        elif v >= start + (n - 2) * interval:
            buckets[n - 1] += 1
        else:
            buckets[1 + (v - start) // interval] += 1
    return buckets


def test_the_kernel_runtimes_globals_and_histograms_parse_into_tables(answers_lab, tmp_path):
    script = tmp_path / "aggregates.stp"
    script.write_text(SCRIPT)
    argv = answers_lab.stap_argv_prefix([script.parent]) + ["stap", f"--remote={answers_lab.remote}", str(script)]
    done = subprocess.run(argv, capture_output=True, timeout=800, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.decode()
    (tmp_path / "stdout.txt").write_text(out)
    found = collect_aggregates(parse_bytes(done.stdout, stream="stdout"))
    assert found.scalars == {"s": 42}
    assert found.arrays == {"arr": {("a",): 1, ("b b",): 2}}
    lat = found.stats["lat"][None]
    assert (lat.count, lat.min, lat.max, lat.sum, lat.avg) == (100, 1, 100, 5050, 50)
    squares, spread = found.histograms
    assert squares.title == "squares:" and squares.kind == "log" and squares.total == 100
    assert spread.title == "spread:" and spread.kind == "linear" and spread.total == 100
    # stap's text, line for line, is what the transcription prints for the same buckets
    expected_log = stap_histogram(_log_buckets([i * i for i in range(1, 101)]))
    assert "\n".join(squares.lines) + "\n\n" == expected_log
    expected_linear = stap_histogram(_linear_buckets([i - 20 for i in range(1, 101)], 0, 50, 10), linear=(0, 10))
    assert "\n".join(spread.lines) + "\n\n" == expected_linear


PROFILE = """\
global bts
probe timer.profile { bts[backtrace()] <<< 1 }
probe timer.s(3) { exit() }
probe end { foreach (bt in bts-) { print_stack(bt); printf("\\t%d\\n", @count(bts[bt])) } }
"""


def test_a_kernel_profiles_flame_graph_equals_stapbench_fold_on_its_transcript(answers_lab, tmp_path):
    """openresty's sample-bt way on the kernel runtime: stacks with their counts, through the
    runner (--remote to the lab); the run's flame graph is `stapbench fold` of its stdout."""
    from stapbench.parser.fold import fold_bytes
    from stapbench.runner import run
    from stapbench.views.flame import FlameGraph

    r = run(PROFILE, remote=[answers_lab.name], transcript_dir=tmp_path, timeout=600)
    assert r.exit_status == 0, r.raw("stderr")[-2000:]
    stdout = r.raw("stdout").replace(r.marker.encode() + b"\n", b"")  # the readiness line is not output
    graph = FlameGraph.from_run(r)
    assert graph.data.total > 10 and len(graph.data.stacks) >= 1
    assert graph.to_folded() == fold_bytes(stdout).decode("utf-8", "surrogateescape")
