"""Saved notebooks: a RunView executed in a real kernel (nbclient) leaves outputs that show the
final run without a kernel: in the notebook file itself and in nbconvert's HTML."""

from __future__ import annotations

import nbformat
import pytest

from tests.support.paths import PROJECT

from .test_views_dom import assert_inert, parse

nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SETUP = """
from pathlib import Path
from stapbench.parser import parse_bytes
from stapbench.views import RenderContext, RunView
fixtures = Path("tests/fixtures/views")
events = parse_bytes((fixtures / "hits.txt").read_bytes() + (fixtures / "xss.txt").read_bytes()
                     + (fixtures / "cell_errors.txt").read_bytes())
"""

RUN = """
view = RunView(final={final!r}, context=RenderContext(cell_source=(fixtures / "cell.stp").read_text(),
                                                   script_path="/tmp/stapbench-cell/script.stp"))
view.show()
view.push(events)
view.close()
"""


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook()
    late = RUN.format(final="replace").replace("view.show()\n", "") + "_ = view.show()\n"  # shown after it ended
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(RUN.format(final="replace")),
                nbformat.v4.new_code_cell(RUN.format(final="accompany")), nbformat.v4.new_code_cell(late)]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(PROJECT)}}).execute()
    return nbformat.reads(nbformat.writes(nb), as_version=4)  # what a saved file holds


def check_final_render(html: str) -> None:
    dom = assert_inert(html)
    assert len(dom.find_all("tr", "stapbench-frame")) == 6 + 1 + 2  # hits.txt has 2 backtraces, xss.txt 1
    assert dom.find(cls="stapbench-diagnostic", data_cell_line="3")
    assert dom.find(cls="stapbench-summary").attrs["data-loss"] == "true"
    assert "<img src=x onerror=alert(1)>" in dom.text()


def test_replace_leaves_the_static_render_in_the_saved_output(executed):
    (out,) = executed.cells[1].outputs
    assert out.output_type == "display_data" and set(out.data) == {"text/html", "text/plain"}
    check_final_render(out.data["text/html"])
    assert "DATA LOSS" in out.data["text/plain"] and "cell line 3" in out.data["text/plain"]


def test_a_run_shown_after_it_ended_shows_the_static_render(executed):
    (out,) = executed.cells[3].outputs
    assert set(out.data) == {"text/html", "text/plain"}
    check_final_render(out.data["text/html"])


def test_accompany_keeps_the_widget_and_adds_the_static_output(executed):
    live, static = executed.cells[2].outputs
    assert WIDGET_MIME in live.data and "text/html" in live.data
    assert set(static.data) == {"text/html", "text/plain"}
    check_final_render(static.data["text/html"])


def test_nbconvert_html_shows_the_run(executed):
    html, _ = nbconvert.HTMLExporter().from_notebook_node(executed)
    dom = parse(html)
    roots = [n for n in dom.find_all("div", "stapbench") if n.attrs.get("data-stapbench-view") == "run"]
    assert len(roots) >= 2
    for root in roots[:2]:
        assert len(root.find_all("tr", "stapbench-frame")) == 9
        assert root.find(cls="stapbench-diagnostic", data_cell_line="3")


def test_twenty_runs_add_little_css_to_the_saved_notebook():
    """The stylesheet goes into the page once (one output and the one style widget carry it),
    not into every view of every run: a notebook of 20 runs, saved with its widget state as
    nbclient saves it, holds under 40 KB of CSS in all (it held 1.45 MB: 20 runs, 4.1 MB of notebook)."""
    import re

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(RUN.format(final="accompany")) for _ in range(20)]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(PROJECT)}}).execute()
    saved = nbformat.writes(nb)
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
    css = sum(len(m) for m in re.findall(r"<style>(.*?)</style>", saved))
    print(f"notebook {len(saved) / 1024:.0f} KiB, CSS {css / 1024:.1f} KiB")
    assert css < 40_000, css
    # the first run's static twin carries the stylesheet for the page, the others only the
    # small rules that pick the widget or the twin
    twins = [c.outputs[1].data["text/html"] for c in nb.cells[1:]]
    assert ".stapbench{font-family" in twins[0]
    assert not any(".stapbench{font-family" in t for t in twins[1:])
    assert all(".jupyter-widgets-disconnected" in t for t in twins)
