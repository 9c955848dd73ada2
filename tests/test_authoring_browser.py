"""In JupyterLab 4 (real server, Debian's chromium): a ``%%stap`` cell is edited as SystemTap.

stapbench ships a prebuilt JupyterLab extension (stapbench/labextension) that registers a
SystemTap CodeMirror language and switches a cell to it when its first line is ``%%stap``.
Every stap token carries a ``cm-stap-<kind>`` class, which only that language produces.
"""

from __future__ import annotations

import pytest

from .support.browser import TIMEOUT_MS, code_cell, open_in_fresh_workspace, write_notebook

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
