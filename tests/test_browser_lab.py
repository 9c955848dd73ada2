"""The browser harness itself: JupyterLab 4 serves, a kernel runs, ipywidgets render in chromium."""

import nbformat
import pytest

from .support.jupyterlab import copy_notebook, open_notebook, run_all_cells

pytestmark = pytest.mark.browser


def test_widget_renders_in_jupyterlab(lab_server, page, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import ipywidgets as w\nw.HTML('<b class=\"probe-ok\">widget &lt;ok&gt;</b>')"))
    path = tmp_path / "smoke.ipynb"
    nbformat.write(nb, path)
    name = copy_notebook(lab_server, path)
    open_notebook(page, lab_server, name)
    run_all_cells(page)
    el = page.wait_for_selector(".jupyter-widgets .probe-ok", timeout=60_000)
    assert el.inner_text() == "widget <ok>"
