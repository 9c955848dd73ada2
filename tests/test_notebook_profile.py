"""notebooks/02-nginx-profile.ipynb: a sampling profile of nginx under load in the lab
(timer.profile, sprint_ubacktrace, the load trigger) drawn as a flame graph.

* Live (the lab, its own lab ``profile``): no cell errs, the run went live, the flame graph holds
  the samples (its folded text equals stapbench fold on the run's stdout), and most of them are in
  nginx's event loop.
* Where nothing runs (a stand-in stap, no lab): the recording, with the same checks.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.support.lab import lab_unavailable, wait_no_qemu
from tests.support.paths import PROJECT

from .test_notebook_fin_rst import STAND_IN, cell_holding, output_text
from .test_notebook_fin_rst import execute as run_notebook

NOTEBOOK = PROJECT / "notebooks" / "02-nginx-profile.ipynb"
RECORDING = NOTEBOOK.parent / "recordings" / "profile" / "lab-profile"


def execute(env: dict | None = None):
    return run_notebook(env, notebook=NOTEBOOK)


def check_profile(nb) -> str:
    """The checks both ways; the run's transcript folder."""
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    graph_cell = cell_holding(nb, "graph = FlameGraph.from_run(profile")
    text = output_text(graph_cell)
    samples, stacks = map(int, re.search(r"(\d+) samples in (\d+) distinct stacks", text).groups())
    assert samples >= 200 and stacks >= 20, text[:300]
    assert re.search(r"\d+ requests in \d+\.\d s \(\d+/s\) from 4 clients: \d+ x 200; no errors", text)
    html = "".join(o.get("data", {}).get("text/html", "") for o in graph_cell.outputs)
    assert "ngx_epoll_process_events" in html and "ngx_http_keepalive_handler" in html
    summary = output_text(cell_holding(nb, 'loop = total_count["ngx_epoll_process_events"]'))
    loop = int(re.search(r"(\d+)% of the samples are inside nginx's event loop", summary)[1])
    assert loop > 50, summary
    below = dict(re.findall(r"^\s*(\w+)\s+([\d.]+)$", summary.split("below the event loop", 1)[1], re.M))
    assert "ngx_http_keepalive_handler" in below and all(float(v) < loop + 1 for v in below.values()), below
    run_cell = cell_holding(nb, "%%stap --remote")
    return re.search(r"transcript: ([^\]]+)\]", output_text(run_cell))[1]


def test_the_recorded_profile_is_stapbench_fold_of_its_transcript():
    """Without a notebook: the recording's flame graph equals stapbench fold on its stdout."""
    from stapbench.parser.fold import fold_bytes
    from stapbench.runner import replay
    from stapbench.views.flame import FlameGraph

    run = replay(RECORDING)
    stdout = run.raw("stdout").replace(run.marker.encode() + b"\n", b"")
    assert FlameGraph.from_run(run).to_folded() == fold_bytes(stdout).decode("utf-8", "surrogateescape")


@pytest.mark.stap
def test_live_profile_of_nginx_in_the_lab(labs_folder):
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    nb = execute()
    folder = check_profile(nb)
    assert "recordings/profile" not in folder and "not live here" not in "".join(output_text(c) for c in nb.cells
                                                                              if c.cell_type == "code")
    assert "lab: down" in output_text(nb.cells[-1])
    assert wait_no_qemu(labs_folder / "profile", 30) == []


def test_where_nothing_runs_the_profile_is_its_recording(tmp_path):
    (tmp_path / "stap").write_text(STAND_IN)
    (tmp_path / "stap").chmod(0o755)
    nb = execute({"PATH": f"{tmp_path}:{os.environ['PATH']}", "STAPBENCH_LAB_DIR": str(tmp_path / "no-lab"),
                  "STAPBENCH_LABS_DIR": str(tmp_path / "labs")})
    check_profile(nb)
    assert "not live here" in output_text(cell_holding(nb, "%%stap --remote"))
