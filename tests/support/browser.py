"""Helpers for the browser tests: notebooks built with nbformat, cell outputs, screenshots.

Locators rely on JupyterLab's own markup: an HTML output's rendered node carries
``data-mime-type="text/html"``, a widget output holds ``.jupyter-widgets``, so a cell's
live widget and its static render (what a saved notebook keeps) are found apart.
"""

from __future__ import annotations

import json
import re
import secrets
import textwrap
import urllib.request
from pathlib import Path

import nbformat

from .jupyterlab import ARTIFACTS_DIR, KERNELSPEC

TIMEOUT_MS = 60_000


def new_notebook(cells: list[str], *, kernel: bool = True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(src).strip()) for src in cells]
    if kernel:
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def write_notebook(server, name: str, cells: list[str]) -> str:
    nbformat.write(new_notebook(cells), server.root / name)
    return name


def code_cell(page, index: int):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


def static_output(cell):
    """The cell's ``text/html`` outputs (the saved, kernel-less form of a view)."""
    return cell.locator('.jp-OutputArea-output[data-mime-type="text/html"]')


def reveal_static(cell):
    """The cell's static render, made visible as a kernel-less reader sees it.

    While the live widget renders, its static twin (the second output of
    ``final="accompany"``) is hidden by the twin's own CSS; an inline style on the
    output children overrides that, so the test can read and click the static form
    in the same page.  Returns the ``text/html`` outputs."""
    cell.locator(".stapbench-twin").wait_for(state="attached", timeout=TIMEOUT_MS)
    cell.evaluate("(el) => el.querySelectorAll('.jp-OutputArea-child').forEach(c => { c.style.display = 'flex'; })")
    return static_output(cell)


def widget_output(cell):
    """The cell's live widget outputs (JupyterLab gives a widget's output node no mime type)."""
    return cell.locator(".jp-OutputArea-output:has(.jupyter-widgets)")


def shot(page, name: str) -> Path:
    """An extra screenshot at a key step (the ``page`` fixture takes one at the end)."""
    path = ARTIFACTS_DIR() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def function_call_line(source: Path, function: str, call: str) -> int:
    """The line of ``call`` inside ``function``'s definition (nginx style: the name at
    column 0 of its own line, the body closed by ``}`` at column 0), read from the source."""
    lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(function + "("))
    end = next(i for i in range(start, len(lines)) if lines[i] == "}")
    found = [i + 1 for i in range(start, end) if call in lines[i]]
    assert len(found) == 1, f"{call!r} occurs {len(found)} times in {function}"
    return found[0]


def assert_no_xss(page, area) -> None:
    """Nothing from the payloads ran or became an element."""
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert area.locator("img[src='x']").count() == 0
    assert area.locator("script").count() == 0
    # no element anywhere carries an inline handler taken from the payload
    assert area.locator("[onerror]").count() == 0


def open_in_fresh_workspace(page, server, name: str, *, timeout_ms: int = TIMEOUT_MS) -> None:
    """Open ``name`` in a workspace of its own, so JupyterLab restores no tab of an earlier
    test (its default workspace would reopen them, and run-all would hit the wrong one),
    and wait until that notebook is the current widget."""
    goto_fresh_workspace(page, server, name)
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_function(
        "(name) => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
        " return w && w.context && w.context.path === name; }", arg=name, timeout=timeout_ms)


def goto_fresh_workspace(page, server, name: str) -> None:
    quiet_news(server)
    workspace = "t" + secrets.token_hex(6)
    page.goto(f"{server.url}/lab/workspaces/{workspace}/tree/{name}?token={server.token}")


def quiet_news(server) -> None:
    """Answer JupyterLab's "get notified about Jupyter news?" once per server ("Never"): its
    toast would otherwise cover the bottom right of the page (and clicks there)."""
    if getattr(server, "news_answered", False):
        return
    setting = json.dumps({"raw": json.dumps({"fetchNews": "false"})}).encode()
    req = urllib.request.Request(f"{server.url}/lab/api/settings/@jupyterlab/apputils-extension:notification",
                                 data=setting, method="PUT",
                                 headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10):
        pass
    server.news_answered = True


_TOKEN_X = """(pre, token) => {
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const at = n.data.indexOf(token);
    if (at >= 0) {
      const r = document.createRange(); r.setStart(n, at); r.setEnd(n, at + 1);
      return r.getBoundingClientRect().x;
    }
  }
  return null;
}"""


def assert_caret_under(pre, line_no: int, line_text: str, token: str) -> None:
    """A diagnostic's ``pre.stapbench-cell-source``: the cell line, and a caret under the
    first character of ``token``, both in the text and on screen."""
    first, caret_line = pre.inner_text().split("\n")[:2]
    assert first.startswith(f"{line_no} | ") and first.endswith(line_text), first
    gutter = len(first) - len(line_text)
    assert caret_line.index("^") - gutter == line_text.index(token), (first, caret_line)
    caret_x = pre.locator(".stapbench-caret").bounding_box()["x"]
    token_x = pre.evaluate(_TOKEN_X, token)
    assert token_x is not None and abs(caret_x - token_x) < 2, (caret_x, token_x)


def function_open_line(source: Path, function: str) -> int:
    """The line of the ``{`` opening ``function``'s body (nginx style), where gcc -O0 puts
    the function's entry address."""
    lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(function + "("))
    return next(i for i in range(start, len(lines)) if lines[i] == "{") + 1


_EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const reply = await kernel.requestExecute({code, store_history: false}).done;
  return reply.content.status;
}"""


def kernel_execute(page, code: str) -> None:
    """Run ``code`` in the current notebook's kernel, as a later cell would, and wait for it."""
    assert page.evaluate(_EXECUTE, code) == "ok"


def open_without_kernel(page, server, name: str) -> None:
    """Open ``name`` (no kernelspec, no language) and answer JupyterLab's kernel dialog "No Kernel"."""
    goto_fresh_workspace(page, server, name)
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    dialog.wait_for(timeout=TIMEOUT_MS)
    dialog.locator("button", has_text="No Kernel").click()
    dialog.wait_for(state="detached", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === name"
        " && w.sessionContext.kernelDisplayName === 'No Kernel' && !w.sessionContext.session; }", arg=name, timeout=TIMEOUT_MS)


def save_for_kernelless_reopen(page, server, name: str, new_name: str):
    """Save the open notebook, shut its kernel down, and write it again as ``new_name`` the
    way a reader without a kernel gets it: no kernelspec or language (JupyterLab would start a
    kernel for those), signed with `jupyter trust` as the user's own.  Returns the saved one."""
    import subprocess
    import sys

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.model.dirty", timeout=TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    saved = nbformat.read(server.root / name, as_version=4)
    saved.metadata.pop("kernelspec", None)
    saved.metadata.pop("language_info", None)
    nbformat.write(saved, server.root / new_name)
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(server.root / new_name)],
                   env=server.env, check=True, capture_output=True)
    return saved
