"""Strings from stap output stay text in the browser: printf lines, backtrace symbols and
module paths, dump strings, stap's messages and suggestions, and the cell source shown
under a diagnostic, in the live widgets and in the static output a saved notebook keeps."""

from __future__ import annotations

import pytest

from .support.browser import (
    TIMEOUT_MS, assert_no_xss, code_cell, open_in_fresh_workspace, reveal_static, shot, widget_output,
    write_notebook,
)
from .support.jupyterlab import run_all_cells
from .support.recordings import XSS_IMG, XSS_SCRIPT
from .test_browser_views import SETUP, SHOW, select_hit

pytestmark = pytest.mark.browser

CANARY = """(payload) => new Promise(resolve => {
  const probe = document.createElement("div");
  probe.innerHTML = payload;
  document.body.appendChild(probe);
  const started = Date.now();
  (function poll() {
    if (window.__xss === 1 || Date.now() - started > 5000) {
      const fired = window.__xss === 1;
      probe.remove();
      delete window.__xss;
      resolve(fired);
    } else setTimeout(poll, 20);
  })();
})"""


def test_payloads_from_stap_output_stay_inert_text(page, lab_server, xss_recordings, nginx_source_root):
    cells = [SETUP.format(source_root=str(nginx_source_root)),
             SHOW.format(folder=str(xss_recordings.hit)), SHOW.format(folder=str(xss_recordings.check))]
    write_notebook(lab_server, "xss.ipynb", cells)
    open_in_fresh_workspace(page, lab_server, "xss.ipynb")
    # the payload does run when parsed as HTML in this page: the checks below can fail
    assert page.evaluate(CANARY, XSS_IMG) is True
    run_all_cells(page)
    notebook = page.locator(".jp-Notebook")

    hit, check = code_cell(page, 1), code_cell(page, 2)
    live = widget_output(hit)
    select_hit(live, "close")  # the hit's backtrace and dump views open below the log
    # every collapsed part open, so nothing is only in the DOM unseen
    for area in (hit, check):
        area.evaluate("node => node.querySelectorAll('details').forEach(d => d.open = true)")
    # the filter box takes the payload as a search string
    live.locator(".stapbench-log-filter").fill(XSS_IMG)
    # (the printf line; stap's message with the payload sits above the log, not among its rows)
    live.locator(".stapbench-log-status", has_text="1 matching").wait_for(timeout=TIMEOUT_MS)
    shot(page, "xss_live_and_static")

    # shown as text, in each place it came from
    row = live.locator('.stapbench-row[data-key="close"] .stapbench-row-text')
    assert row.inner_text() == f"close {XSS_SCRIPT} {XSS_IMG}"
    frames = live.locator(".stapbench-backtrace-view select option")
    assert XSS_IMG in frames.nth(0).inner_text().replace("\xa0", " ")  # ipywidgets shows spaces as nbsp
    tree = live.locator(".stapbench-tree-view")
    assert f'"{XSS_SCRIPT}"' in tree.inner_text()
    fixes = live.locator(".stapbench-fixbar .sbf-fix", has_text=XSS_IMG)  # a fix button, its label text
    assert fixes.count() == 1 and fixes.first.is_visible()
    static = reveal_static(hit)
    static_text = static.inner_text()
    for payload in (XSS_SCRIPT, XSS_IMG):
        assert payload in static_text
    # the module path is the module cell's tooltip: an attribute value, not markup
    module = static.locator("tr.stapbench-frame td.stapbench-frame-module").first
    assert module.get_attribute("title") == f"/opt/{XSS_SCRIPT}/nginx"
    for area in (widget_output(check), reveal_static(check)):
        diag = area.locator('.stapbench-diagnostic[data-kind="semantic"]')
        diag.wait_for(timeout=TIMEOUT_MS)
        assert XSS_IMG in diag.locator(".stapbench-message").inner_text()
        assert XSS_SCRIPT in diag.locator("pre").first.inner_text()

    page.wait_for_timeout(500)  # an <img> that failed to load fires onerror asynchronously
    assert_no_xss(page, notebook)
