"""stapbench's views in a real JupyterLab 4 on Debian's chromium: a recorded nginx run (a
backtrace composed from the real build, ``$c$``/``$c$$`` dumps of ``ngx_connection_t``) and a
real ``stap -p2`` diagnostic, each shown live (widgets, with a kernel) and as the static
``text/html`` a saved notebook keeps."""

from __future__ import annotations

import pytest

from .support.browser import (
    TIMEOUT_MS, assert_caret_under, code_cell, function_call_line, kernel_execute, open_in_fresh_workspace, shot,
    reveal_static, widget_output, write_notebook,
)
from .support.jupyterlab import run_all_cells

pytestmark = pytest.mark.browser

REQUEST_C = "src/http/ngx_http_request.c"
CLOSER = "ngx_http_close_connection"  # frame #1: it calls ngx_close_connection(c)

SETUP = """
from stapbench.runner import replay
from stapbench.views import RunView
from stapbench.symbols import Symbolizer
symbolizer = Symbolizer(source_roots=[{source_root!r}])
"""

# Shown first, then fed: the views live through the run's lifecycle.  "accompany" keeps the
# live widget and adds the final static render as a second output.
SHOW = """
view = RunView(symbolizer=symbolizer, final="accompany")
view.show()
view.attach(replay({folder!r}))
"""

# A run still going: its hit has arrived, the end comes later (FINISH, from the kernel).
LIVE = """
view = RunView(symbolizer=symbolizer, final="accompany")
view.show()
view.push(replay({folder!r}).events)
"""
FINISH = "view.close()"

# The one-liner: a run that already ended, shown afterwards.
SHOWN_AFTER = """
view = RunView(replay({folder!r}), symbolizer=symbolizer, final="accompany")
view.show();
"""


def open_run_notebook(page, lab_server, name: str, cells: list[str], source_root) -> None:
    write_notebook(lab_server, name, [SETUP.format(source_root=str(source_root)), *cells])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page)


@pytest.fixture
def nginx_page(page, lab_server, nginx_recording):
    open_run_notebook(page, lab_server, "nginx_run.ipynb", [LIVE.format(folder=str(nginx_recording.folder))],
                      nginx_recording.source_root)
    return page


def finish_run(page, cell):
    """End the live run from the kernel; its final static render fills the cell's second output."""
    widget = widget_output(cell)
    assert "running" in widget.locator(".stapbench-status").inner_text()
    kernel_execute(page, FINISH)
    widget.locator('.stapbench-status[data-state="finished"]').wait_for(timeout=TIMEOUT_MS)
    static = reveal_static(cell)
    static.locator(".stapbench-frames").wait_for(timeout=TIMEOUT_MS)
    return static


def select_hit(widget, key: str) -> None:
    """Click the probe hit's row in the live event log; its backtrace and dumps open below."""
    row = widget.locator(f'.stapbench-row[data-key="{key}"]').first
    row.wait_for(timeout=TIMEOUT_MS)
    row.locator(".stapbench-row-head").click()
    widget.locator(".stapbench-backtrace-view select").wait_for(timeout=TIMEOUT_MS)


def test_selecting_a_frame_shows_its_source_line_marked(nginx_page, nginx_recording):
    page = nginx_page
    rec = nginx_recording
    expected = function_call_line(rec.source_root / REQUEST_C, CLOSER, "ngx_close_connection(c);")
    closer = next(i for i, f in enumerate(rec.hit.frames) if f.symbol == CLOSER)
    cell = code_cell(page, 1)

    # --- live widget, while the run goes on: the hit's row, then the frame
    widget = widget_output(cell)
    select_hit(widget, "close")
    frames = widget.locator(".stapbench-backtrace-view select")
    assert frames.locator("option").count() == len(rec.hit.frames)
    assert CLOSER in frames.locator("option").nth(closer).inner_text()
    pane = widget.locator(".stapbench-source-pane")
    # before: the top frame with source (ngx_close_connection, in src/core/ngx_connection.c)
    pane.locator('.stapbench-source[data-frame-index="0"]').wait_for(timeout=TIMEOUT_MS)
    assert pane.locator(".stapbench-source").get_attribute("data-path").endswith("src/core/ngx_connection.c")
    frames.select_option(index=closer)
    source = pane.locator(f'.stapbench-source[data-frame-index="{closer}"]')
    source.wait_for(timeout=TIMEOUT_MS)
    assert source.get_attribute("data-path").endswith(REQUEST_C)
    assert source.get_attribute("data-target-line") == str(expected)
    marked = source.locator(".hll")
    assert marked.count() == 1
    assert marked.get_attribute("data-line") == str(expected)
    assert "ngx_close_connection(c);" in marked.inner_text()
    assert marked.is_visible()
    # the snippet is context around the line, not the line alone
    assert source.locator(".stapbench-lineno").count() > 5
    shot(page, "frame_selected_live")

    # --- the run ends; its static render (the second output): every frame a row, the source in <details>
    static = finish_run(page, cell)
    assert static.count() == 1
    rows = static.locator("tr.stapbench-frame")
    assert rows.count() == len(rec.hit.frames)
    row = static.locator(f'tr.stapbench-frame[data-frame-index="{closer}"]')
    assert CLOSER in row.inner_text() and f"{REQUEST_C}:{expected}" in row.inner_text()
    details = static.locator(f'details.stapbench-frame-source-details[data-frame-index="{closer}"]')
    mark = details.locator(f'.hll[data-line="{expected}"]')
    assert not mark.is_visible()  # collapsed until the frame is chosen
    details.locator("summary").click()
    mark.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "ngx_close_connection(c);" in mark.inner_text()
    shot(page, "frame_selected_static")


def test_expanding_a_nested_struct_member_shows_its_children(nginx_page, nginx_recording):
    from stapbench.symbols import Symbolizer

    page = nginx_page
    members = Symbolizer().member_types(str(nginx_recording.binary), "ngx_connection_t")
    addr_text_members = Symbolizer().member_types(str(nginx_recording.binary), members["addr_text"])
    assert set(addr_text_members) == {"len", "data"}
    cell = code_cell(page, 1)
    widget = widget_output(cell)
    select_hit(widget, "close")
    deep = widget.locator('.stapbench-tree-view .stapbench-tree[data-expression="$c"]').nth(1)  # $c$$
    for area, label in ((deep, "live"), (None, "static")):
        if area is None:  # the run ends: the same tree in the final static render
            area = finish_run(page, cell).locator(".stapbench-tree").nth(1)
        node = area.locator('li.stapbench-branch[data-path="$c->addr_text"]')
        children = {name: node.locator(f'li[data-path="$c->addr_text->{name}"]') for name in addr_text_members}
        node.wait_for(timeout=TIMEOUT_MS)
        # the root is open: its members show, with their DWARF types
        top = area.locator('li[data-path="$c->fd"]')
        assert top.is_visible() and "= 3" in top.inner_text()
        assert members["fd"] in top.locator(".stapbench-type").inner_text()
        assert members["addr_text"] in node.locator("summary").first.inner_text()
        assert not any(c.is_visible() for c in children.values())
        node.locator("summary").first.click()
        for c in children.values():
            c.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert '"127.0.0.1"' in children["data"].inner_text()
        assert "= 9" in children["len"].inner_text()
        shot(page, f"tree_expanded_{label}")
    # the shallow $c$ dump offers the exact expression for the elided member
    shallow = widget.locator('.stapbench-tree-view .stapbench-tree[data-expression="$c"]').nth(0)
    assert shallow.locator('code.stapbench-expr[data-expression="$c->addr_text$"]').is_visible()


def test_a_real_stap_diagnostic_sits_on_its_cell_line_with_the_caret_under_its_column(
        page, lab_server, typo_recording, nginx_source_root):
    from .support.recordings import TYPO_LINE, TYPO_TOKEN

    line_text = typo_recording.script.splitlines()[TYPO_LINE - 1]
    column = line_text.index(TYPO_TOKEN) + 1
    open_run_notebook(page, lab_server, "typo.ipynb", [SHOWN_AFTER.format(folder=str(typo_recording.folder))],
                      nginx_source_root)
    cell = code_cell(page, 1)
    for area, label in ((widget_output(cell), "live"), (reveal_static(cell), "static")):
        diag = area.locator(f'.stapbench-diagnostic[data-kind="semantic"][data-cell-line="{TYPO_LINE}"]')
        diag.wait_for(timeout=TIMEOUT_MS)
        assert diag.get_attribute("data-column") == str(column)
        assert "unresolved function" in diag.locator(".stapbench-message").inner_text()
        assert_caret_under(diag.locator("pre.stapbench-cell-source"), TYPO_LINE, line_text, TYPO_TOKEN)
        shot(page, f"diagnostic_{label}")
    # stap's own suggestions are fixes in the live view: a click on one in a cell that is no
    # %%stap cell (a replay) shows the fixed script (a %%stap cell is rewritten: test_authoring_browser)
    live = widget_output(cell)
    fix = live.locator(".stapbench-fixbar .sbf-fix").first
    suggestion = fix.inner_text().strip()
    fix.click()
    fixed = live.locator(".stapbench-fixbar .sbf-script")
    fixed.wait_for(timeout=TIMEOUT_MS)
    fixed_lines = fixed.inner_text().splitlines()
    assert fixed_lines[TYPO_LINE - 1] == line_text.replace(TYPO_TOKEN, suggestion, 1)
    assert fixed_lines[:TYPO_LINE - 1] == typo_recording.script.splitlines()[:TYPO_LINE - 1]
    shot(page, "diagnostic_fix_applied")


# Every element of the backtrace widget whose content is wider than its box: a sideways
# scrollbar, or text cut off (a <select>'s options clip, they never wrap).
_OVERFLOWING = """(root) => [root, ...root.querySelectorAll('*')]
  .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.tagName}.${e.className} ${e.scrollWidth} > ${e.clientWidth}: ${(e.textContent || '').slice(0, 60)}`)"""


@pytest.mark.parametrize("width", [1400, 1000])
def test_the_backtrace_view_cuts_no_frame_and_scrolls_nothing_sideways(nginx_page, nginx_recording, width):
    """Each frame's label holds its function and its file's name, whole; neither the frame list
    nor any frame's source scrolls sideways or is cut, at a wide window and at a laptop's."""
    from pathlib import PurePath

    from stapbench.model import Backtrace
    from stapbench.runner import replay
    from stapbench.symbols import Symbolizer

    page = nginx_page
    page.set_viewport_size({"width": width, "height": 1000})
    bt = next(e for e in replay(nginx_recording.folder).events if isinstance(e, Backtrace))
    locations = Symbolizer(source_roots=[nginx_recording.source_root]).locate_backtrace(bt.frames)
    widget = widget_output(code_cell(page, 1))
    select_hit(widget, "close")
    view = widget.locator(".stapbench-backtrace-view")
    frames = view.locator("select")
    options = frames.locator("option")
    assert options.count() == len(bt.frames)
    for index, (frame, loc) in enumerate(zip(bt.frames, locations)):
        label = options.nth(index).inner_text()
        assert frame.symbol in label, (index, label)
        if loc.file:
            assert f"{PurePath(loc.file).name}:{loc.line}" in label, (index, label)
        frames.select_option(index=index)
        view.locator(f'.stapbench-source-pane [data-frame-index="{index}"]').wait_for(timeout=TIMEOUT_MS)
        assert view.evaluate(_OVERFLOWING) == [], (width, index)
    frames.select_option(index=1)
    view.locator('.stapbench-source-pane .stapbench-source[data-frame-index="1"]').wait_for(timeout=TIMEOUT_MS)
    view.scroll_into_view_if_needed()
    shot(page, f"backtrace_roomy_{width}")
    # the event log's row: the hit's backtrace as stap printed it (full module paths) wraps too
    rows = widget.locator(".stapbench-rows")
    rows.locator("details.stapbench-item-backtrace > summary").click()
    rows.locator("details.stapbench-item-backtrace pre").wait_for(timeout=TIMEOUT_MS)
    assert rows.evaluate(_OVERFLOWING) == [], width
    shot(page, f"backtrace_roomy_{width}_log")
