"""A run printing 1,000,000 lines, streamed from its recording through the parser into a
RunView in a real JupyterLab: the page keeps answering, the DOM stays bounded, the front end
updates about 10 times a second, and the counts cover every line at the end."""

from __future__ import annotations

import re
import time

import pytest

from .support.browser import TIMEOUT_MS, code_cell, open_in_fresh_workspace, shot, static_output, widget_output, write_notebook
from .support.jupyterlab import run_all_cells
from .support.recordings import FLOOD_KEYS

pytestmark = pytest.mark.browser

MAX_ROWS = 1000  # the bound on rows rendered at once
MAX_UPDATES_PER_S = 10  # the bound on front-end updates (checked with slack below)

# The recorded chunks go through the streaming parser into the view on a thread, as the
# runner's reader thread feeds it during a live run; the cell itself returns at once.
STREAM = """
import threading
from pathlib import Path
from stapbench.parser import StreamParser
from stapbench.runner.transcript import iter_chunks
from stapbench.views import RunView

view = RunView(symbolizer=False, final="accompany")
view.show()

def stream(folder=Path({folder!r})):
    parser = StreamParser("stdout")
    for _stream, data, _t in iter_chunks(folder):
        view.push(parser.feed(data))
    view.push(parser.close())
    view.close()

threading.Thread(target=stream, daemon=True).start()
"""

# counts the row list's redraws (eventlog.js replaces all rows in one call per update)
WATCH_REDRAWS = """(list) => { window.__redraws = 0;
  new MutationObserver(() => { window.__redraws += 1; }).observe(list, {childList: true}); }"""


def _total_events(status: str) -> int:
    m = re.search(r"(\d+) events", status)
    return int(m.group(1)) if m else -1


def test_a_million_line_run_keeps_the_page_responsive(page, lab_server, flood_recording):
    folder, lines = flood_recording
    write_notebook(lab_server, "flood.ipynb", [STREAM.format(folder=str(folder))])
    open_in_fresh_workspace(page, lab_server, "flood.ipynb")
    run_all_cells(page)
    cell = code_cell(page, 0)
    live = widget_output(cell)
    status = live.locator(".stapbench-log-status")
    status.wait_for(timeout=TIMEOUT_MS)
    live.locator(".stapbench-rows").evaluate(WATCH_REDRAWS)
    watch_start = time.monotonic()

    samples = []  # (answer time, rows in the DOM, events shown) while the run streams
    while True:
        t0 = time.monotonic()
        rows = page.evaluate("() => document.querySelectorAll('.stapbench-row').length")
        answered = time.monotonic() - t0
        text = status.inner_text()
        if text.startswith("finished"):
            break
        samples.append((answered, rows, _total_events(text)))
        assert answered < 1.0, f"the page took {answered:.2f} s to answer while streaming"
        assert rows <= MAX_ROWS
        if len(samples) == 10:
            shot(page, "flood_streaming")
        assert time.monotonic() - watch_start < 300, "the run did not finish streaming in 5 minutes"
        page.wait_for_timeout(200)
    watched = time.monotonic() - watch_start
    redraws = page.evaluate("() => window.__redraws")
    print(f"streamed for {watched:.1f} s: {len(samples)} samples, slowest answer "
          f"{max((s[0] for s in samples), default=0) * 1000:.0f} ms, {redraws} row redraws")

    # it was really observed while streaming, and the view grew during that time
    assert len(samples) >= 5, f"only {len(samples)} samples while streaming"
    shown = [s[2] for s in samples]
    assert shown[-1] > shown[0] >= 0 and shown[-1] < lines
    assert max(s[1] for s in samples) > 0
    # about 10 updates a second (the observer may count the final one and the selection too)
    assert redraws <= MAX_UPDATES_PER_S * watched * 1.5 + 5, (redraws, watched)

    # the end: every line counted, still one bounded page of rows
    final = status.inner_text()
    assert f"{lines} events, {lines} hits" in final
    for key in FLOOD_KEYS:
        chip = live.locator(f'.stapbench-count[data-key="{key}"]')
        assert chip.get_attribute("data-count") == str(lines // len(FLOOD_KEYS))
    assert 0 < live.locator(".stapbench-row").count() <= MAX_ROWS
    newest = live.locator(".stapbench-row").last  # the log reads oldest first, opens on the newest rows
    assert newest.get_attribute("data-key") == FLOOD_KEYS[(lines - 1) % len(FLOOD_KEYS)]
    assert f"conn={lines - 1} " in newest.inner_text()
    # and in sight: the list followed the rows as they came, so it ends scrolled to its end
    assert live.locator(".stapbench-rows").evaluate("(l) => l.scrollHeight - l.scrollTop - l.clientHeight < 4")

    # the filter finds the last line among the kept ones, and renders just it
    live.locator(".stapbench-log-filter").fill(f"conn={lines - 1} ")
    live.locator(".stapbench-log-status", has_text="1 matching").wait_for(timeout=TIMEOUT_MS)
    assert live.locator(".stapbench-row").count() == 1

    # paging through the kept hits keeps one bounded page in the DOM
    live.locator(".stapbench-log-filter").fill("")
    live.locator(".stapbench-log-status", has_text=re.compile(r"(\d+) matching of \1 kept")).wait_for(timeout=TIMEOUT_MS)
    page_rows = live.locator(".stapbench-row").count()
    first_id = int(live.locator(".stapbench-row").first.get_attribute("data-group-id"))
    pages = int(re.search(r"page (\d+)/\1\b", status.inner_text()).group(1))  # the last page: the newest rows
    live.locator(".stapbench-log-older").click()
    live.locator(".stapbench-log-status", has_text=f"page {pages - 1}/{pages}").wait_for(timeout=TIMEOUT_MS)
    live.locator(f'.stapbench-row[data-group-id="{first_id - page_rows}"]').wait_for(timeout=TIMEOUT_MS)
    assert live.locator(".stapbench-row").count() == page_rows <= MAX_ROWS

    # the saved form: the same counts, a bounded window of the events, the rest noted; it is the
    # live widget's twin, kept out of sight while the widget renders in the same cell
    static = static_output(cell)
    static.locator(".stapbench-count").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    assert not static.locator(".stapbench-twin").is_visible()
    for key in FLOOD_KEYS:
        assert static.locator(f'.stapbench-count[data-key="{key}"]').get_attribute("data-count") == str(lines // 2)
    omitted = int(static.locator(".stapbench-omitted").get_attribute("data-omitted"))
    assert 0 < omitted < lines
    shot(page, "flood_finished")
