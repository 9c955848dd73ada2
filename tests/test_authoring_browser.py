"""In JupyterLab 4 (real server, Debian's chromium): a ``%%stap`` cell is edited as SystemTap.

stapbench ships a prebuilt JupyterLab extension (stapbench/labextension) that registers a
SystemTap CodeMirror language and switches a cell to it when its first line is ``%%stap``.
Every stap token carries a ``cm-stap-<kind>`` class, which only that language produces.
"""

from __future__ import annotations

import re
import shutil

import pytest

from .support.browser import TIMEOUT_MS, code_cell, open_in_fresh_workspace, write_notebook
from .support.jupyterlab import run_all_cells

pytestmark = pytest.mark.browser

STAP_CELL = '''%%stap -x 123 --runtime bpf
probe process("/usr/sbin/nginx").function("ngx_close_connection").return {
    printf("close #%ld\\n", $c->number)  # why
    %( arch == "x86_64" %? x = @1 %: x = 0x1f %)
}'''


def _token_classes(cell, text: str) -> list[str]:
    """The class lists of the editor spans whose text is exactly ``text``."""
    return cell.locator(".cm-content span").evaluate_all(
        "(spans, text) => spans.filter(s => s.textContent === text).map(s => s.className)", text)


def _stap_spans(cell) -> int:
    return cell.locator(".cm-content [class*='cm-stap-']").count()


def test_stap_cell_is_highlighted_as_systemtap(lab_server, page):
    name = write_notebook(lab_server, "highlight.ipynb", [STAP_CELL, "probe = 1\nprint(probe)"])
    open_in_fresh_workspace(page, lab_server, name)
    stap, python = code_cell(page, 0), code_cell(page, 1)
    stap.locator(".cm-stap-keyword").first.wait_for(timeout=TIMEOUT_MS)

    expected = {
        "%%stap -x 123 --runtime bpf": "cm-stap-magic",
        "probe": "cm-stap-keyword",
        "process": "cm-stap-probe",
        "return": "cm-stap-probe",  # a probe point component, not the keyword
        "$c": "cm-stap-context",
        "->": "cm-stap-operator",
        "%ld": "cm-stap-format",
        "# why": "cm-stap-comment",
        "%(": "cm-stap-preprocessor",
        "arch": "cm-stap-ppname",
        "@1": "cm-stap-argument",
        "0x1f": "cm-stap-number",
    }
    for text, cls in expected.items():
        classes = _token_classes(stap, text)
        assert any(cls in c.split() for c in classes), (text, cls, classes)
    # the same JupyterLab theme colours it: a stap keyword is not shown in the default text colour
    colour = stap.locator(".cm-stap-keyword").first.evaluate("(el) => getComputedStyle(el).color")
    plain = stap.locator(".cm-stap-name").first.evaluate("(el) => getComputedStyle(el).color")
    assert colour != plain

    # the Python cell stays Python: `probe` there is a plain name, no stap class anywhere
    assert _stap_spans(python) == 0
    assert python.locator(".cm-content").inner_text().startswith("probe = 1")


def test_cell_becomes_stap_when_its_first_line_says_so(lab_server, page):
    name = write_notebook(lab_server, "retype.ipynb", ["x = 1"])
    open_in_fresh_workspace(page, lab_server, name)
    cell = code_cell(page, 0)
    editor = cell.locator(".cm-content")
    editor.wait_for(timeout=TIMEOUT_MS)
    assert _stap_spans(cell) == 0
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type('%%stap\nprobe begin { exit() }')
    cell.locator(".cm-stap-keyword").first.wait_for(timeout=TIMEOUT_MS)
    assert "cm-stap-keyword" in _token_classes(cell, "probe")[0].split()
    # and back to Python when the magic line goes
    page.keyboard.press("Control+a")
    page.keyboard.type("y = 2")
    page.wait_for_function("(el) => !el.querySelector(\"[class*='cm-stap-']\")",
                           arg=editor.element_handle(), timeout=TIMEOUT_MS)


def test_probe_browser_filters_shows_source_and_inserts_a_probe_cell(lab_server, page, nginx_build):
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    name = write_notebook(lab_server, "probes.ipynb", ["%load_ext stapbench", f"%stap_probes {nginx_build.binary}"])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=300_000)
    cell = code_cell(page, 1)
    search = cell.locator(".sbp-search")
    search.wait_for(timeout=TIMEOUT_MS)
    total = int(cell.locator(".sbp-count").inner_text().split(" of ")[1].split()[0])
    assert total > 1000  # the whole nginx listing is searchable
    search.fill("")
    search.type("ngx_close_con")
    first = cell.locator("tr.sbp-row").first
    page.wait_for_function("(el) => el.querySelector('tr.sbp-row .sbp-name').textContent === 'ngx_close_connection'",
                           arg=cell.element_handle(), timeout=TIMEOUT_MS)
    assert first.locator(".sbp-where").inner_text().startswith("src/core/ngx_connection.c:")
    assert "$c:ngx_connection_t*" in first.locator(".sbp-params").inner_text()
    rows = cell.locator("tr.sbp-row")
    assert all("close" in t for t in rows.locator(".sbp-name").all_inner_texts())
    # a glob, as stap's probe points take them, filters whole names
    search.fill("ngx_http_*_request")
    page.wait_for_function("(el) => [...el.querySelectorAll('tr.sbp-row .sbp-name')].every("
                           "(n) => /^ngx_http_.*_request$/.test(n.textContent))", arg=cell.element_handle(),
                           timeout=TIMEOUT_MS)
    globbed = rows.locator(".sbp-name").all_inner_texts()
    assert {"ngx_http_finalize_request", "ngx_http_free_request"} <= set(globbed) and all(re.fullmatch(r"ngx_http_.*_request", t) for t in globbed)
    search.fill("")
    search.type("ngx_close_con")
    page.wait_for_function("(el) => el.querySelector('tr.sbp-row .sbp-name').textContent === 'ngx_close_connection'",
                           arg=cell.element_handle(), timeout=TIMEOUT_MS)
    # the binary's path is said once, above the table, not in every row; nothing overflows sideways
    assert str(nginx_build.binary.resolve()) not in cell.locator(".sbp-table").inner_text()
    overflow = cell.locator(".stapbench-probebrowser").evaluate(
        "(el) => [el.scrollWidth - el.clientWidth, el.querySelector('.sbp-list').scrollWidth - el.querySelector('.sbp-list').clientWidth]")
    assert overflow == [0, 0], overflow

    first.click()
    source = cell.locator(".sbp-source")
    source.wait_for(timeout=TIMEOUT_MS)
    assert "ngx_close_connection(ngx_connection_t *c)" in source.inner_text()
    probe_cell = cell.locator(".sbp-cell").inner_text()
    assert probe_cell.startswith("%%stap\nprobe process(")
    # highlighted as SystemTap: `probe` is a keyword, coloured by the widget's own stylesheet
    keyword = cell.locator(".sbp-cell .k").first
    assert keyword.inner_text() == "probe"
    assert keyword.evaluate("(el) => getComputedStyle(el).fontWeight") in ("700", "bold")
    cell.locator(".sbp-insert").click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3", timeout=TIMEOUT_MS)
    inserted = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[2].model.sharedModel.getSource()")
    assert inserted == probe_cell.rstrip("\n") + "\n" or inserted == probe_cell
    assert 'function("ngx_close_connection")' in inserted
    assert cell.locator(".sbp-note").inner_text() == "inserted below"
    # the new cell is a %%stap cell, edited as SystemTap
    code_cell(page, 2).locator(".cm-stap-keyword").first.wait_for(timeout=TIMEOUT_MS)


def test_struct_browser_writes_a_printer_of_the_checked_members(lab_server, page, nginx_build, tmp_path):
    """Select ngx_close_connection, open $c's member tree, check members at three depths; the
    printer cell the kernel writes for them is shown highlighted and inserted below."""
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    name = write_notebook(lab_server, "structs.ipynb",
                          ["%load_ext stapbench", f"%stap_probes {nginx_build.binary} ngx_close_connection"])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=300_000)
    cell = code_cell(page, 1)
    cell.locator("tr.sbp-row").first.click()
    struct = cell.locator('details.sbp-struct[data-param="$c"]')
    struct.wait_for(timeout=TIMEOUT_MS)
    struct.locator("summary").click()
    assert "ngx_connection_t*" in struct.locator("summary").inner_text()
    for path in ("fd", "addr_text->len", "log->log_level", "destroyed"):
        struct.locator(f'input[value="{path}"]').check()
    # the filter keeps the members whose path holds the text
    struct.locator(".sbp-member-filter").fill("log->")
    visible = struct.locator(".sbp-member input").evaluate_all(
        "(els) => els.filter((e) => e.closest('label').getClientRects().length > 0).map((e) => e.value)")
    # each match with the rows it sits under (log, pool, listening): read in context
    assert "log->log_level" in visible and "log" in visible and "listening->log->file" in visible
    assert all("log->" in v or any(o.startswith(v + "->") and "log->" in o for o in visible) for v in visible), visible
    # a struct held by value has no checkbox of its own: its members do
    assert struct.locator('input[value="addr_text"]').is_disabled()
    printer = cell.locator(".sbp-printer-cell")
    page.wait_for_function("(el) => el.textContent.includes('log_level')", arg=printer.element_handle(),
                           timeout=TIMEOUT_MS)
    text = printer.inner_text()
    assert text.startswith("%%stap\nprobe process(") and 'function("ngx_close_connection")' in text
    assert "ngx_close_connection $c$ {.fd=%ld, .addr_text={.len=%lu}, .destroyed=%lu}" in text
    assert "ngx_close_connection $c->log$ {.log_level=%lu}" in text
    assert printer.locator(".k").first.inner_text() == "probe"  # highlighted
    overflow = cell.locator(".stapbench-probebrowser").evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow == 0
    page.screenshot(path=str(tmp_path / "struct-browser.png"), full_page=True)
    cell.locator(".sbp-printer-insert").click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3", timeout=TIMEOUT_MS)
    inserted = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[2].model.sharedModel.getSource()")
    assert inserted.rstrip("\n") == text.rstrip("\n")
    assert cell.locator(".sbp-printer-note").inner_text() == "inserted below"


DIAGNOSTIC_CELL = r"""
from stapbench.model import Diagnostic
from stapbench.parser import parse_bytes
from stapbench.views.context import RenderContext
from stapbench.views.widgets import DiagnosticView
err = (b"semantic error: unsupported sprintf in bpf kernel probe: identifier 'sprintf' at "
       b"/usr/share/systemtap/tapset/uconversions.stp:110:66\n"
       b"        source:   try { return string_quoted(user_string(addr)) } catch { return sprintf(\"0x%x\", addr) }\n"
       b"                                                                                 ^\n")
[d] = [e for e in parse_bytes(err, stream="stderr") if isinstance(e, Diagnostic)]
cell = ('probe process("/usr/local/openresty/nginx/sbin/nginx").function("ngx_close_connection") {\n'
        '  printf("close connection number %d with its log %s and more words to make it long\\n", $c->number, $c->log$)\n}\n')
DiagnosticView(d, context=RenderContext(cell_source=cell, first_line=2))
"""


def test_a_long_cell_line_in_a_diagnostic_does_not_widen_the_output(lab_server, page):
    """The BPF sprintf refusal with the cell's own $var$ under it: long lines scroll inside their
    box (the caret stays under the token), the view never grows past the output area."""
    page.set_viewport_size({"width": 1000, "height": 900})
    name = write_notebook(lab_server, "diag.ipynb", ["%load_ext stapbench", DIAGNOSTIC_CELL])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=120_000)
    cell = code_cell(page, 1)
    box = cell.locator(".stapbench-diagnostic")
    box.wait_for(timeout=TIMEOUT_MS)
    assert "in the cell, what needs it:" in box.inner_text()
    widths = cell.locator(".jp-OutputArea-output").first.evaluate(
        "(out) => { const d = out.querySelector('.stapbench-diagnostic').getBoundingClientRect();"
        " const o = out.getBoundingClientRect(); return [Math.round(d.right - o.right), out.scrollWidth - out.clientWidth]; }")
    assert widths[0] <= 0 and widths[1] <= 0, widths
    remedy = cell.locator(".stapbench-remedy")
    assert remedy.evaluate("(el) => el.scrollWidth <= el.clientWidth")  # the advice wraps, nothing cut


def test_clicking_a_fix_rewrites_the_cell_and_keeps_its_options_line(lab_server, page, nginx_for_listing):
    binary = nginx_for_listing.binary.resolve()
    options = "%%stap --check --runtime bpf"
    body = (f'probe process("{binary}").function("ngx_close_connection") {{\n'
            '    printf("%ld\\n", $c->numbr)\n}')
    name = write_notebook(lab_server, "fix.ipynb", ["%load_ext stapbench", options + "\n" + body])
    open_in_fresh_workspace(page, lab_server, name)
    run_all_cells(page, timeout_ms=300_000)
    cell = code_cell(page, 1)
    bar = cell.locator(".stapbench-fixbar").first
    bar.wait_for(timeout=TIMEOUT_MS)
    # the closest few, the rest (stap offers forty alternatives) behind "more"
    titles = bar.locator(".sbf-fix").all_inner_texts()
    assert titles[0] == "->number" and len(titles) == 3, titles
    more = bar.locator(".sbf-more")
    assert more.inner_text().startswith("more (")
    more.click()
    assert bar.locator(".sbf-fix").count() > 3
    bar.locator(".sbf-fix").first.click()
    page.wait_for_function("(n) => window.jupyterapp.shell.currentWidget.content.widgets[1].model.sharedModel"
                           ".getSource().includes('$c->number')", arg=None, timeout=TIMEOUT_MS)
    source = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[1].model.sharedModel.getSource()")
    assert source == options + "\n" + body.replace("$c->numbr", "$c->number") + "\n" or \
        source == options + "\n" + body.replace("$c->numbr", "$c->number")
    assert bar.locator(".sbf-note").inner_text().startswith("applied: ->number")
