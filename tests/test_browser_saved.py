"""A saved notebook reopened in JupyterLab with no kernel: the recorded nginx run and the
stap diagnostic, rendered by ``%stap_replay`` and executed headless (nbclient), still show
their backtrace frames, the marked source lines, the value trees and the diagnostic on its
cell line, from the static ``text/html`` outputs alone.

Such a notebook is not trusted in the JupyterLab that opens it, so JupyterLab sanitizes its
HTML (``<style>`` and ``data-*`` attributes go, classes and ``<details>`` stay): the checks
use classes and visible text, as a reader would.
"""

from __future__ import annotations

import nbformat
import pytest

from .support.browser import (
    TIMEOUT_MS, assert_caret_under, function_call_line, function_open_line, new_notebook, open_without_kernel, shot,
)
from .support.paths import PROJECT
from .support.recordings import TYPO_LINE, TYPO_TOKEN

nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.browser

MARK = "\u25b6"  # the views' visible marker on the source line (it survives without CSS)


def executed_notebook(nginx_recording, typo_recording):
    nb = new_notebook([
        "%load_ext stapbench",
        '%config StapMagics.view = "widget"',
        f"%config StapMagics.source_roots = [{str(nginx_recording.source_root)!r}]",
        f"%stap_replay {nginx_recording.folder}",
        f"%stap_replay {typo_recording.folder}",
    ])
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(PROJECT)}}).execute()
    return nb


def test_saved_notebook_shows_the_run_without_a_kernel(page, lab_server, nginx_recording, typo_recording):
    rec = nginx_recording
    nb = executed_notebook(rec, typo_recording)
    # what the file keeps: the interactive widget's output, then its static twin (text/html and
    # text/plain), which needs no widget state
    for cell in nb.cells[3:]:
        live, twin = cell.outputs
        assert "application/vnd.jupyter.widget-view+json" in live.data
        assert set(twin.data) == {"text/html", "text/plain"} and "stapbench-twin" in twin.data["text/html"]
    del nb.metadata["kernelspec"]
    nb.metadata.pop("language_info", None)  # else JupyterLab picks a kernel by language
    nbformat.write(nb, lab_server.root / "saved_run.ipynb")

    open_without_kernel(page, lab_server, "saved_run.ipynb")
    assert page.locator(".jp-Toolbar-kernelName", has_text="No Kernel").count() >= 1
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    run_out = cells.nth(3).locator(".jp-OutputArea-output")
    run_out.first.wait_for(timeout=TIMEOUT_MS)
    # untrusted here: no <style>, so the widget's "model not found" note may show beside the twin
    assert run_out.locator(".stapbench-twin").is_visible()

    # the backtrace: one visible row per frame, with the frame's file:line
    rows = run_out.locator("tr.stapbench-frame")
    assert rows.count() == len(rec.hit.frames)
    for i, frame in enumerate(rec.hit.frames):
        assert rows.nth(i).is_visible() and frame.symbol in rows.nth(i).inner_text()
    call_line = function_call_line(rec.source_root / "src/http/ngx_http_request.c",
                                   "ngx_http_close_connection", "ngx_close_connection(c);")
    assert f"src/http/ngx_http_request.c:{call_line}" in rows.nth(1).inner_text()

    # the top frame's source is open, its line marked
    top = run_out.locator(".stapbench-top-source .hll")
    entry = function_open_line(rec.source_root / "src/core/ngx_connection.c", "ngx_close_connection")
    assert top.is_visible() and top.inner_text().startswith(f"{entry}{MARK}")
    # a caller's source opens from its summary, its call line marked
    caller = run_out.locator("details.stapbench-frame-source-details",
                             has=page.locator("summary", has_text="#1 ngx_http_close_connection"))
    mark = caller.locator(".hll")
    assert not mark.is_visible()
    caller.locator("summary").click()
    mark.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert mark.inner_text().startswith(f"{call_line}{MARK}")
    assert "ngx_close_connection(c);" in mark.inner_text()
    shot(page, "saved_no_kernel_backtrace")

    # the $c$$ tree: a nested member expands to its children
    deep = run_out.locator(".stapbench-tree").nth(1)
    branch = deep.locator("xpath=.//li[contains(@class, 'stapbench-branch')]"
                          "[details/summary/span[@class='stapbench-member' and text()='.addr_text']]")
    children = branch.locator("li.stapbench-leaf")
    assert children.count() == 2 and not children.first.is_visible()
    branch.locator("summary").click()
    children.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert '"127.0.0.1"' in branch.inner_text()
    branch.scroll_into_view_if_needed()
    shot(page, "saved_no_kernel_tree")

    # the diagnostic on its cell line, the caret under the typo
    diag_out = cells.nth(4).locator(".jp-OutputArea-output")
    diag = diag_out.locator(".stapbench-diagnostic", has_text="cell line")
    line_text = typo_recording.script.splitlines()[TYPO_LINE - 1]
    column = line_text.index(TYPO_TOKEN) + 1
    assert diag.count() == 1
    assert f"cell line {TYPO_LINE}, column {column}" in diag.locator(".stapbench-where").inner_text()
    assert_caret_under(diag.locator("pre.stapbench-cell-source"), TYPO_LINE, line_text, TYPO_TOKEN)
    diag.scroll_into_view_if_needed()
    shot(page, "saved_no_kernel_diagnostic")
