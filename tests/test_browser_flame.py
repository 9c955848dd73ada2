"""The interactive flame graph in Debian's chromium: the standalone page `stapbench flame -o
OUT.html` writes, and the widget in a real JupyterLab: a click zooms, search highlights,
hover tells the count and share, the SVG export downloads, and a payload in a symbol stays text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from stapbench.views.flame import FlameGraph

from .support.browser import TIMEOUT_MS, assert_no_xss, code_cell, kernel_execute, open_in_fresh_workspace, write_notebook
from .support.jupyterlab import run_all_cells
from .support.recordings import XSS_IMG

pytestmark = pytest.mark.browser

FOLDED = ("main;ngx_worker_process_cycle;ngx_process_events_and_timers;ngx_http_wait_request_handler 60\n"
          "main;ngx_worker_process_cycle;ngx_process_events_and_timers;ngx_close_connection 30\n"
          f"main;ngx_worker_process_cycle;{XSS_IMG} 10\n")


def _frame(area, name):
    return area.locator(f'.stapbench-flame-frame[data-name="{name}"]')


def _open_page(page, tmp_path):
    path = tmp_path / "flame.html"
    path.write_text(FlameGraph.from_folded(FOLDED, title="nginx").to_page(), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready='1'] .stapbench-flame-frame", timeout=TIMEOUT_MS)
    return page.locator(".stapbench-flame")


def _check_zoom_and_search(page, box):
    chart_width = box.locator(".stapbench-flame-chart").bounding_box()["width"]
    target = _frame(box, "ngx_close_connection")
    assert target.bounding_box()["width"] == pytest.approx(0.3 * chart_width, abs=2)
    target.hover()
    assert box.locator(".stapbench-flame-info").inner_text() == \
        "ngx_close_connection \u2014 30 samples, 30.00% of all"
    target.click()
    page.wait_for_function("(n) => document.querySelector('.stapbench-flame').dataset.zoom === n",
                           arg=target.get_attribute("data-node"), timeout=TIMEOUT_MS)
    # zoomed: the clicked frame is full width, its sibling is gone, its ancestors stay as the path
    assert _frame(box, "ngx_close_connection").bounding_box()["width"] == pytest.approx(chart_width, abs=2)
    assert _frame(box, "ngx_http_wait_request_handler").count() == 0
    assert _frame(box, "main").count() == 1
    assert "zoomed on ngx_close_connection (30.00%)" in box.locator(".stapbench-flame-status").inner_text()
    box.locator(".stapbench-flame-reset").click()
    _frame(box, "ngx_http_wait_request_handler").wait_for(timeout=TIMEOUT_MS)

    box.locator(".stapbench-flame-search").fill("ngx_")
    box.locator(".stapbench-flame-status", has_text="frames match").wait_for(timeout=TIMEOUT_MS)
    matched = box.locator(".stapbench-flame-match")
    assert sorted(matched.evaluate_all("els => els.map(e => e.dataset.name)")) == sorted([
        "ngx_worker_process_cycle", "ngx_process_events_and_timers", "ngx_http_wait_request_handler",
        "ngx_close_connection"])
    assert "4 frames match, 100.00% of samples" in box.locator(".stapbench-flame-status").inner_text()
    assert _frame(box, "main").get_attribute("class").count("stapbench-flame-dim") == 1


def test_standalone_page_zooms_searches_and_exports(page, tmp_path):
    box = _open_page(page, tmp_path)
    _check_zoom_and_search(page, box)
    # the payload in a symbol is a frame's text, not markup
    names = box.locator(".stapbench-flame-frame").evaluate_all("els => els.map(e => e.textContent)")
    assert XSS_IMG in names
    assert_no_xss(page, box)
    # icicle by default (root on top); the toggle turns it into a flame (root at the bottom)
    root_top = _frame(box, "all").bounding_box()["y"]
    assert root_top < _frame(box, "main").bounding_box()["y"]
    box.locator(".stapbench-flame-orient").click()
    page.wait_for_function("() => document.querySelector('.stapbench-flame-orient').textContent === 'icicle'")
    assert _frame(box, "all").bounding_box()["y"] > _frame(box, "main").bounding_box()["y"]
    with page.expect_download() as svg_download:
        box.locator(".stapbench-flame-export-svg").click()
    svg = ET.parse(svg_download.value.path()).getroot()  # well-formed, payload as text
    names = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert any(n.startswith(XSS_IMG) for n in names)
    with page.expect_download() as folded_download:
        box.locator(".stapbench-flame-export-folded").click()
    with open(folded_download.value.path(), encoding="utf-8") as f:
        assert sorted(f.read().splitlines()) == sorted(FOLDED.splitlines())


def test_widget_in_jupyterlab_zooms_and_syncs_the_zoom(page, lab_server):
    cells = ["from stapbench.views.flame import FlameGraph\n"
             f"g = FlameGraph.from_folded({FOLDED!r}, title='nginx')\nw = g.widget()\nw",
             ]
    write_notebook(lab_server, "flame.ipynb", cells)
    open_in_fresh_workspace(page, lab_server, "flame.ipynb")
    run_all_cells(page)
    live = code_cell(page, 0)  # an anywidget's output node has no .jupyter-widgets class to find it by
    live.locator(".stapbench-flame-frame").first.wait_for(timeout=TIMEOUT_MS)
    _check_zoom_and_search(page, live.locator(".stapbench-flame"))
    # the click and the search reached the kernel
    target = _frame(live, "ngx_close_connection")
    target.click()
    node = target.get_attribute("data-node")
    page.wait_for_function("(n) => document.querySelector('.stapbench-flame').dataset.zoom === n", arg=node)
    kernel_execute(page, f"assert (w.zoom, w.search) == ({node}, 'ngx_'), (w.zoom, w.search)")
