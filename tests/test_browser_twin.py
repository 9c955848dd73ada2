"""One view per cell, whatever opens the notebook: while the kernel lives the interactive
widget shows and its static twin hides; reopened without a kernel (a trusted notebook, so its
CSS applies) the twin shows and the widget's "model not found" output hides."""

from __future__ import annotations

import nbformat
import pytest

from .support.browser import (
    TIMEOUT_MS, code_cell, open_in_fresh_workspace, open_without_kernel, save_for_kernelless_reopen, shot,
)
from .support.jupyterlab import run_all_cells

pytestmark = pytest.mark.browser


def test_live_widget_then_static_twin(page, lab_server, nginx_recording):
    rec = nginx_recording
    name = "twin.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%load_ext stapbench",
        f"%config StapMagics.source_roots = [{str(rec.source_root)!r}]",
        f"%stap_replay {rec.folder}",
    )]
    nbformat.write(nb, lab_server.root / name)
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page)
    cell = code_cell(page, 2)
    live = cell.locator(".stapbench-run-view")
    live.wait_for(state="visible", timeout=TIMEOUT_MS)
    twin = cell.locator(".stapbench-twin")
    twin.wait_for(state="attached", timeout=TIMEOUT_MS)
    assert not twin.is_visible()
    assert not cell.locator(".stapbench-live-fallback").is_visible()
    shot(page, "twin_live")

    # the saved file, reopened where no kernel runs
    saved = save_for_kernelless_reopen(page, lab_server, name, "twin_saved.ipynb")
    assert len(saved.cells[2].outputs) == 2
    open_without_kernel(page, lab_server, "twin_saved.ipynb")
    cell = code_cell(page, 2)
    twin = cell.locator(".stapbench-twin")
    twin.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert twin.locator("tr.stapbench-frame").count() == len(rec.hit.frames)
    # the widget output that can't render here (no kernel, no widget state) is hidden: the twin
    # is the one visible output
    page.wait_for_function(
        "(el) => [...el.querySelectorAll('.jp-OutputArea-child')].filter(c => c.offsetParent !== null).length === 1",
        arg=cell.element_handle(), timeout=TIMEOUT_MS)
    shot(page, "twin_reopened_no_kernel")
