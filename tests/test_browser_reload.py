"""What a user sees after the page goes away and comes back.

* a browser reload while the kernel still runs: every run's live widget renders again (the
  widget manager gets each model's state from the kernel);
* a kernel restart: the runs' widgets are gone from the kernel, so each cell shows its static
  render, with no broken-widget placeholders and no header frozen at "compiling".
"""

from __future__ import annotations

import pytest

from .support.browser import TIMEOUT_MS, code_cell, open_in_fresh_workspace, shot, write_notebook
from .support.jupyterlab import run_all_cells

pytestmark = pytest.mark.browser

RUNS = 4  # %%stap cells with real stap
REPLAYS = 12  # and recorded runs


def _cells(demo, typo_folder, nginx_folder, source_root):
    cells = ["%load_ext stapbench\n%config StapMagics.runtime = 'bpf'\n"
             f"%config StapMagics.source_roots = [{str(source_root)!r}]"]
    for n in range(RUNS):
        cells.append(f'%%stap -c "{demo} 3 10" --arg {demo}\n'
                     'probe process(@1).function("handle_request") {\n'
                     f'  printf("run {n} request %d\\n", $r->number)\n}}')
    for n in range(REPLAYS):
        cells.append(f"%stap_replay {typo_folder if n % 4 == 0 else nginx_folder}")
    return cells


def _shut_down_other_kernels(server) -> None:
    """The session's lab server keeps every earlier test's kernel: a reload then also waits on
    those (the flood test's among them), which is not what this test measures."""
    import urllib.request

    for kernel in server.api("/api/kernels") or []:
        req = urllib.request.Request(f"{server.url}/api/kernels/{kernel['id']}", method="DELETE",
                                     headers={"Authorization": f"token {server.token}"})
        urllib.request.urlopen(req, timeout=10)


def _broken_outputs(page) -> int:
    """Outputs showing a widget error or a widget that never loaded, as a user sees them."""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output')]
        .filter(o => o.offsetParent !== null)
        .filter(o => /model not found|Error displaying widget|Loading widget/i.test(o.innerText)).length""")


def _visible_run_views(page) -> int:
    return page.evaluate("""() => [...document.querySelectorAll('.stapbench-run-view')]
        .filter(v => v.offsetParent !== null).length""")


def test_reload_with_the_kernel_running_keeps_every_widget(page, lab_server, stap_bpf, demo_program,
                                                           typo_recording, nginx_recording):
    _shut_down_other_kernels(lab_server)
    name = write_notebook(lab_server, "reload.ipynb",
                          _cells(demo_program, typo_recording.folder, nginx_recording.folder,
                                 nginx_recording.source_root))
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=600_000)
    total = RUNS + REPLAYS
    page.wait_for_function(f"() => document.querySelectorAll('.stapbench-run-view').length >= {total}",
                           timeout=TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.model.dirty", timeout=TIMEOUT_MS)
    page.reload()
    page.wait_for_selector(".jp-Notebook", timeout=TIMEOUT_MS)
    page.wait_for_function(f"() => document.querySelectorAll('.stapbench-run-view').length >= {total}",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(2000)
    shot(page, "reload_kernel_running")
    assert _visible_run_views(page) == total
    assert _broken_outputs(page) == 0


def test_after_a_kernel_restart_each_run_shows_its_static_render(page, lab_server, stap_bpf, demo_program,
                                                                  typo_recording, nginx_recording):
    name = write_notebook(lab_server, "restart.ipynb",
                          _cells(demo_program, typo_recording.folder, nginx_recording.folder,
                                 nginx_recording.source_root)[:4])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=600_000)
    page.wait_for_function("() => document.querySelectorAll('.stapbench-run-view').length >= 3", timeout=TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(3000)
    shot(page, "restart_kernel")
    for index in (1, 2, 3):
        cell = code_cell(page, index)
        visible = cell.evaluate("""(el) => [...el.querySelectorAll('.jp-OutputArea-child')]
            .filter(c => c.offsetParent !== null).map(c => c.innerText)""")
        assert len(visible) == 1, visible
        assert cell.locator(".stapbench-twin").is_visible()
        assert "compiling" not in visible[0] and "running" not in visible[0].split("\n")[0]
    assert _broken_outputs(page) == 0
    assert page.evaluate("() => [...document.querySelectorAll('.jupyter-widgets .fa-exclamation-triangle, "
                         ".jupyter-widgets-error-widget')].filter(e => e.offsetParent !== null).length") == 0


def test_dollars_in_stap_text_are_not_typeset_as_maths(page, lab_server, typo_recording):
    """stap writes $c$, $$parms, $c->fd: JupyterLab's MathJax typesets $...$ in HTML outputs (the
    control cell shows it does here); a view's HTML is left as text."""
    name = write_notebook(lab_server, "dollars.ipynb", [
        "from IPython.display import HTML, display\nfrom stapbench.views._html import wrap_root",
        'display(HTML("<p>control: $c$ and $c$$ here</p>"))',
        'display(HTML(wrap_root("<p>note: print $c$ and $c$$ here</p>", kind="notes")))',
    ])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page)
    control, view = code_cell(page, 1), code_cell(page, 2)
    control.locator("mjx-container").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    shot(page, "dollars_not_maths")
    assert view.locator("mjx-container").count() == 0
    assert "print $c$ and $c$$ here" in view.locator(".stapbench").inner_text()
