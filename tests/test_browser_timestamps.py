"""Each hit's arrival time in the live event log (JupyterLab, Debian's chromium) and in its
static form: the times of a replayed run, as index.jsonl recorded them."""

from __future__ import annotations

import pytest

from stapbench.runner import replay
from stapbench.views.eventlog import EventLogView

from .support.browser import TIMEOUT_MS, code_cell, open_in_fresh_workspace, write_notebook
from .support.jupyterlab import run_all_cells
from .support.recordings import record_run

pytestmark = pytest.mark.browser


@pytest.fixture
def timed_folder(tmp_path):
    chunks = [("stdout", f"close conn {i} fd={i + 3}\n".encode()) for i in range(3)]
    return record_run(tmp_path / "run", 'probe begin { printf("close\\n") }\n', chunks)


def test_the_event_log_shows_when_each_hit_arrived(page, lab_server, timed_folder):
    times = [e.time for e in replay(timed_folder).events]
    assert len(times) == 3 and all(t is not None for t in times)
    expected = [f"+{t:.3f}s" for t in times]
    log = EventLogView(newest_first=False)
    log.push(replay(timed_folder).events)
    assert all(label in log.static_html() for label in expected)

    cells = ["from stapbench.runner import replay\nfrom stapbench.views.eventlog import EventLogView\n"
             f"log = EventLogView(newest_first=False)\nlog.push(replay({str(timed_folder)!r}).events)\nlog"]
    write_notebook(lab_server, "times.ipynb", cells)
    open_in_fresh_workspace(page, lab_server, "times.ipynb")
    run_all_cells(page)
    rows = code_cell(page, 0).locator(".stapbench-row .stapbench-row-time")
    rows.nth(2).wait_for(timeout=TIMEOUT_MS)
    assert rows.all_inner_texts() == expected
