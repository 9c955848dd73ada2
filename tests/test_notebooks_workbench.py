"""The workbench's flagship notebook, notebooks/nginx_investigation.ipynb.

* Executed for real (nbclient, from the notebooks folder) against real stap (BPF runtime) and
  the real nginx build: the live %%stap cell's connection numbers, the composed kernel-runtime
  backtrace resolved into nginx's source (the line computed from the source text), the
  ngx_connection_t tree (member names from the build's DWARF), the --check typo on its cell line.
* As committed: its saved outputs, rendered by nbconvert without executing anything, show the
  same things, checked only against the notebook's own contents (no path of this machine).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from tests.support.browser import function_call_line, function_open_line
from tests.support.paths import PROJECT

from .test_views_dom import Node, parse

NOTEBOOK = PROJECT / "notebooks" / "nginx_investigation.ipynb"
MARK = "\u25b6"  # the views' marker on a frame's source line

LIVE_CELL = "%%stap -x {worker_pid}"
COMPOSED_CELL = "%stap_replay {composed}"
TYPO_CELL = "%%stap --check"
FALLBACK_CELL = 'live_run = globals().get("live")'
TYPO_FALLBACK_CELL = 'typo_run = globals().get("typo")'
TYPO_TOKEN = "$c->numbr"


def cell(nb, first_line: str):
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(first_line)]
    assert len(found) == 1, f"{len(found)} cells start with {first_line!r}"
    return found[0]


def output_data(c, mime: str) -> str:
    parts = [o.get("data", {}).get(mime, "") if o.output_type != "stream" else (o.text if mime == "text/plain" else "")
             for o in c.outputs]
    return "".join(parts)


# --------------------------------------------------------------------------- shared checks

def live_close_numbers(nb) -> list[int]:
    """`close #N ...` lines the live cell printed, as numbers."""
    text = output_data(cell(nb, LIVE_CELL), "text/plain")
    return [int(m) for m in re.findall(r"^close #(\d+) fd=\d+ requests=1 sent=\d+$", text, re.M)]


def frame_rows(dom: Node) -> list[Node]:
    return dom.find_all("tr", "stapbench-frame")


def frame_source(dom: Node, index: int, symbol: str) -> tuple[str, int, Node]:
    """A frame's `file:line` (its row), and its source snippet (the one-click-away details)."""
    row = frame_rows(dom)[index]
    assert row.find(cls="stapbench-frame-symbol").text() == symbol
    where = row.find(cls="stapbench-frame-source").text()
    file, _, line = where.rpartition(":")
    details = [d for d in dom.find_all("details", "stapbench-frame-source-details")
               if d.attrs.get("data-frame-index") == str(index)]
    assert len(details) == 1, f"frame #{index} has {len(details)} source details"
    return file, int(line), details[0]


def marked_line(snippet: Node) -> tuple[int, str]:
    (hll,) = snippet.find_all(cls="hll")
    text = hll.text()
    number, _, code = text.partition(MARK)
    return int(number), code


def check_backtrace(html: str) -> tuple[int, int]:
    """The composed backtrace: frame #1 ngx_http_close_connection points at its
    ``ngx_close_connection(c);`` line, and that line is the one marked in its source.
    Returns (the top frame's marked line, the call line) for comparison with the source."""
    dom = parse(html)
    rows = frame_rows(dom)
    assert [r.find(cls="stapbench-frame-symbol").text() for r in rows[:3]] == [
        "ngx_close_connection", "ngx_http_close_connection", "ngx_http_close_request"]
    assert rows[-1].find(cls="stapbench-frame-symbol").text() == "main"
    file, call_line, details = frame_source(dom, 1, "ngx_http_close_connection")
    assert file.endswith("src/http/ngx_http_request.c")
    number, code = marked_line(details)
    assert number == call_line and code.strip() == "ngx_close_connection(c);"
    top = dom.find(cls="stapbench-top-source")
    top_line, top_code = marked_line(top)
    assert top_code.strip() == "{"  # a function entry: gcc -O0 puts it on the opening brace
    return top_line, call_line


def tree_members(html: str) -> list[list[str]]:
    """The member names of each value tree's root (depth 1), in order."""
    out = []
    for tree in parse(html).find_all(cls="stapbench-tree"):
        out.append([li.find_all("span", "stapbench-member")[0].text() for li in tree.find_all("li", data_depth=1)
                    if li.find_all("span", "stapbench-member")])
    return out


def check_typo(nb, html: str | None = None, *, in_its_cell: bool = True) -> None:
    """The --check cell: stap's error on the cell line and column of ``$c->numbr``, with
    ``number`` first among stap's alternatives, offered as a fix.  ``html``: where to look
    (default: the cell's own saved output).  ``in_its_cell``: shown by the %%stap cell, so in
    the editor's numbering, where the %%stap line is line 1; a recording replayed elsewhere has
    no editor line and is numbered as its script (the cell without the %%stap line), as stap does."""
    c = cell(nb, TYPO_CELL)
    lines = c.source.splitlines()
    line_no = next(i for i, text in enumerate(lines) if TYPO_TOKEN in text) + (1 if in_its_cell else 0)
    column = next(text for text in lines if TYPO_TOKEN in text).index(TYPO_TOKEN) + len("$c") + 1  # stap points at the '->' operator
    dom = parse(html if html is not None else output_data(c, "text/html"))
    errors = [d for d in dom.find_all(cls="stapbench-diagnostic") if "numbr" in d.text()]
    assert errors, "no diagnostic about numbr"
    for diag in errors:
        assert f"cell line {line_no}, column {column}" in diag.find(cls="stapbench-where").text()
        assert "unable to find member 'numbr'" in diag.text()
        assert diag.attrs.get("data-cell-line") == str(line_no)
        fixes = [n.attrs.get("data-suggestion") for n in diag.find_all("code", "stapbench-chip-fix")]
        assert fixes and fixes[0] == "number", fixes[:5]


# --------------------------------------------------------------------------- executed for real

STAP_PROGRAMS = {"stap", "stapio", "staprun", "stapbpf"}


def staps_running_in(folder: Path) -> list[tuple[int, str]]:
    """stap processes whose working folder is ``folder`` (the notebook kernel's, inherited)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            if comm in STAP_PROGRAMS and (proc / "cwd").resolve() == folder.resolve():
                found.append((int(proc.name), comm))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def executed(stap_bpf, nginx_build):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for c in nb.cells:  # start from a clean slate: nothing saved can satisfy the checks
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


@pytest.mark.stap
def test_live_cell_traces_real_connections(executed):
    numbers = live_close_numbers(executed)
    assert len(numbers) == 3, numbers  # the trigger's three curl requests, no keep-alive
    assert numbers == sorted(set(numbers)), numbers
    # the live run ran: the fallback replay was not needed
    fallback = output_data(cell(executed, FALLBACK_CELL), "text/plain")
    assert fallback.startswith("live run: ") and "replaying" not in fallback
    folder = Path(fallback.split("transcript in ")[1].strip())
    stdout = (folder if folder.is_absolute() else NOTEBOOK.parent / folder) / "stdout.bin"
    assert [int(n) for n in re.findall(rb"^close #(\d+)", stdout.read_bytes(), re.M)] == numbers


@pytest.mark.stap
def test_composed_backtrace_points_into_nginx_source(executed, nginx_build):
    html = output_data(cell(executed, COMPOSED_CELL), "text/html")
    top_line, call_line = check_backtrace(html)
    source = nginx_build.source
    assert call_line == function_call_line(source / "src/http/ngx_http_request.c",
                                           "ngx_http_close_connection", "ngx_close_connection(c);")
    assert top_line == function_open_line(source / "src/core/ngx_connection.c", "ngx_close_connection")
    # the printf line carries the numbers the live run read
    first_close = live_close_numbers(executed)[0]
    assert f"close #{first_close} fd=" in output_data(cell(executed, COMPOSED_CELL), "text/plain")


@pytest.mark.stap
def test_struct_tree_has_the_builds_ngx_connection_t_members(executed, nginx_build):
    from stapbench.symbols import Symbolizer

    members = list(Symbolizer().member_types(str(nginx_build.binary), "ngx_connection_t"))
    assert "number" in members and "addr_text" in members
    shallow, deep = tree_members(output_data(cell(executed, COMPOSED_CELL), "text/html"))[:2]
    for names in (shallow, deep):
        shown = [n.lstrip(".") for n in names]
        assert len(shown) >= 20 and shown == members[:len(shown)], shown


@pytest.mark.stap
def test_typo_diagnostic_is_on_its_cell_line(executed):
    check_typo(executed)


@pytest.mark.stap
def test_no_stap_is_left_running_after_the_notebook(executed):
    assert wait_gone(lambda: staps_running_in(NOTEBOOK.parent), timeout=15) == []


STAND_IN_STAP = """#!/bin/sh
echo "stap: cannot run here (a stand-in for a machine without a working stap)" >&2
exit 1
"""


def test_where_stap_cannot_run_the_notebook_replays_its_recordings(tmp_path, monkeypatch):
    """A machine where stap fails (a stand-in stap first on PATH): no cell errors, the live
    cells fall back to the real recordings committed beside the notebook, and say so."""
    from nbclient import NotebookClient

    (tmp_path / "stap").write_text(STAND_IN_STAP)
    (tmp_path / "stap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert "cannot run here" in output_data(cell(nb, LIVE_CELL), "text/plain")
    fallback = output_data(cell(nb, FALLBACK_CELL), "text/plain")
    assert "replaying the recorded run (recordings/nginx-close-bpf)" in fallback
    recorded = [int(n) for n in re.findall(
        rb"^close #(\d+)", (NOTEBOOK.parent / "recordings/nginx-close-bpf/stdout.bin").read_bytes(), re.M)]
    shown = [int(n) for n in re.findall(r"^close #(\d+) fd=", fallback, re.M)]
    assert len(recorded) == 3 and shown == recorded == sorted(set(recorded))
    typo = cell(nb, TYPO_FALLBACK_CELL)
    assert "replaying the recorded check" in output_data(typo, "text/plain")
    check_typo(nb, output_data(typo, "text/html"), in_its_cell=False)


def wait_gone(find, timeout: float):
    deadline = time.monotonic() + timeout
    while (left := find()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# --------------------------------------------------------------------------- as committed

@pytest.fixture(scope="module")
def committed_html() -> tuple[nbformat.NotebookNode, str]:
    from nbconvert import HTMLExporter

    nb = nbformat.read(NOTEBOOK, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    return nb, body


def test_committed_notebook_is_executed_small_and_needs_no_widget_state(committed_html):
    nb, _ = committed_html
    assert NOTEBOOK.stat().st_size < 1_000_000
    assert "widgets" not in nb.metadata  # the static renders are all a reader needs
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran before the notebook was saved"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    for first in (LIVE_CELL, COMPOSED_CELL, TYPO_CELL):
        # the static render, alone (final_view 'replace') or after the widget's output ('accompany')
        *widget, static = cell(nb, first).outputs
        assert set(static.data) == {"text/html", "text/plain"}
        assert all("application/vnd.jupyter.widget-view+json" in o.data for o in widget)


def test_committed_notebook_renders_its_runs_without_a_kernel(committed_html):
    nb, body = committed_html
    numbers = live_close_numbers(nb)
    assert len(numbers) >= 2 and numbers == sorted(set(numbers))
    # everything below is read from nbconvert's page, as a reader without a kernel sees it
    page = parse(body)
    assert all(f"close #{n} fd=" in page.text() for n in numbers)
    check_backtrace(body)  # the notebook's one backtrace
    shallow, deep = tree_members(body)[:2]
    # ngx_connection_t as nginx 1.22.1 declares it (src/core/ngx_connection.h), in order
    assert [n.lstrip(".") for n in shallow[:6]] == ["data", "read", "write", "fd", "recv", "send"]
    assert {".number", ".addr_text", ".requests", ".sent"} <= set(deep)
    addr = next(li for li in page.find_all("li", "stapbench-branch")
                if li.find_all("span", "stapbench-member")[0].text() == ".addr_text")
    assert '"127.0.0.1"' in addr.text()  # the nested struct expands to its members
    check_typo(nb, body)


# --------------------------------------------------------------------------- in JupyterLab

def goto_cell(page, first_line: str):
    """The notebook cell whose source starts with ``first_line``, scrolled into view (JupyterLab
    renders cells lazily)."""
    index = page.evaluate(
        "(p) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " const i = nb.widgets.findIndex(c => c.model.sharedModel.getSource().startsWith(p));"
        " nb.activeCellIndex = i; nb.scrollToItem(i, 'start'); return i; }", first_line)
    assert index >= 0, first_line
    found = page.locator(".jp-Notebook .jp-Cell").nth(index)
    found.scroll_into_view_if_needed()
    return found


@pytest.mark.browser
@pytest.mark.stap
def test_workbench_flow_run_click_expand_save_reopen_without_kernel(page, lab_server, stap_bpf, nginx_build):
    """The user's path: open the flagship in JupyterLab, run it (real stap, real nginx), click
    the composed hit's frame into nginx's source, expand a struct member, see the typo on its
    line, save; reopened with No Kernel the saved notebook still shows all of that."""
    import shutil

    from tests.support.browser import (
        TIMEOUT_MS, open_in_fresh_workspace, open_without_kernel, save_for_kernelless_reopen, shot, widget_output,
    )
    from tests.support.jupyterlab import run_all_cells

    expected = function_call_line(nginx_build.source / "src/http/ngx_http_request.c",
                                  "ngx_http_close_connection", "ngx_close_connection(c);")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, lab_server.root / "investigation.ipynb")
    shutil.copytree(NOTEBOOK.parent / "recordings", lab_server.root / "recordings", dirs_exist_ok=True)
    open_in_fresh_workspace(page, lab_server, "investigation.ipynb")
    run_all_cells(page, timeout_ms=600_000)

    # the live cell's event log: three closes, numbers counting up
    live = widget_output(goto_cell(page, LIVE_CELL))
    rows = live.locator('.stapbench-row[data-key="close"]')
    rows.first.wait_for(timeout=TIMEOUT_MS)
    numbers = sorted(int(m) for m in re.findall(r"close #(\d+) fd=", live.inner_text()))
    assert len(numbers) == 3 and len(set(numbers)) == 3, live.inner_text()[:500]

    # the composed hit: its backtrace beside the source; frame #1 marks its call line
    composed = widget_output(goto_cell(page, COMPOSED_CELL))
    composed.locator('.stapbench-row[data-key="close"] .stapbench-row-head').first.click()
    frames = composed.locator(".stapbench-backtrace-view select")
    frames.wait_for(timeout=TIMEOUT_MS)
    frames.select_option(index=1)
    source = composed.locator('.stapbench-source-pane .stapbench-source[data-frame-index="1"]')
    source.wait_for(timeout=TIMEOUT_MS)
    marked = source.locator(".hll")
    assert marked.get_attribute("data-line") == str(expected)
    assert "ngx_close_connection(c);" in marked.inner_text() and marked.is_visible()
    # the $c$$ tree: .addr_text expands to its members
    deep = composed.locator('.stapbench-tree-view .stapbench-tree[data-expression="$c"]').nth(1)
    branch = deep.locator('li.stapbench-branch[data-path="$c->addr_text"]')
    child = branch.locator('li[data-path="$c->addr_text->data"]')
    branch.scroll_into_view_if_needed()
    assert not child.is_visible()
    branch.locator("summary").first.click()
    child.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert '"127.0.0.1"' in child.inner_text()
    shot(page, "workbench_flow_live")

    # the typo: on its cell line, stap's first alternative offered as a fix
    typo = goto_cell(page, TYPO_CELL)
    diag = typo.locator('.stapbench-diagnostic[data-kind="semantic"][data-cell-line="3"]').first
    diag.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "unable to find member 'numbr'" in diag.inner_text()
    # stap's alternative as a one-click fix: a FixBar's button (a whole-script fix), else a suggestion button
    assert typo.locator(".stapbench-fixbar .sbf-fix, .stapbench-fix", has_text="number").first.is_visible()

    # save, then reopen where no kernel runs (no kernelspec; signed as the user's own)
    save_for_kernelless_reopen(page, lab_server, "investigation.ipynb", "investigation_saved.ipynb")
    open_without_kernel(page, lab_server, "investigation_saved.ipynb")

    static = goto_cell(page, COMPOSED_CELL)
    rows = static.locator("tr.stapbench-frame")
    rows.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert rows.count() == 19 and "ngx_http_close_connection" in rows.nth(1).inner_text()
    details = static.locator('details.stapbench-frame-source-details[data-frame-index="1"]')
    mark = details.locator(f'.hll[data-line="{expected}"]')
    assert not mark.is_visible()
    details.locator("summary").click()
    mark.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "ngx_close_connection(c);" in mark.inner_text()
    branch = static.locator('.stapbench-tree[data-expression="$c"]').nth(1).locator(
        'li.stapbench-branch[data-path="$c->addr_text"]')
    branch.scroll_into_view_if_needed()
    branch.locator("summary").first.click()
    assert '"127.0.0.1"' in branch.locator('li[data-path="$c->addr_text->data"]').inner_text()
    typo = goto_cell(page, TYPO_CELL)
    diag = typo.locator('.stapbench-diagnostic[data-cell-line="3"]').first
    diag.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "cell line 3, column 33" in diag.locator(".stapbench-where").inner_text()
    shot(page, "workbench_flow_reopened_no_kernel")


@pytest.mark.parametrize("path", sorted((PROJECT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_saved_notebooks_show_no_machines_paths(path):
    """A saved notebook reads the same on any machine: no checkout, home or temporary folder of
    the machine it was executed on (tools/refresh_notebooks.py saves them relative, ~, $TMPDIR)."""
    text = path.read_text(encoding="utf-8")
    found = sorted(set(re.findall(r"/work/[\w.-]+|/root/|/home/[\w.-]+/|/tmp/tmp\w+", text)))
    assert not found, f"{path.name} shows {found}"


def test_refresh_saves_this_machines_paths_relative():
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("refresh_notebooks", PROJECT / "tools" / "refresh_notebooks.py")
    refresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refresh)
    home, tmp = os.path.expanduser("~"), tempfile.gettempdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": f"<code>{PROJECT}/.work/nginx/sbin/nginx</code> {home}/.cache/x",
                              "text/plain": f"{tmp}/tmpab12cd_x/demo at {PROJECT}/src"})])])
    out = refresh.without_machine_paths(nb).cells[0].outputs[0].data
    assert out["text/html"] == "<code>.work/nginx/sbin/nginx</code> ~/.cache/x"
    assert out["text/plain"] == "$TMPDIR/demo at src"
