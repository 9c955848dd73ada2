"""Backtrace views over a real binary: tests/programs/demo.c built with -g -O0, frames composed
in print_ubacktrace()'s exact FULL format (FORMATS.md §1.1) from the binary's real symbols and
call sites (binutils nm/objdump), parsed by the real parser and resolved by the real Symbolizer.
Expected lines come from addr2line, independently of the code under test."""

from __future__ import annotations

import re
import subprocess

import pytest

from stapbench.model import Backtrace
from stapbench.parser import parse_bytes
from stapbench.symbols import Symbolizer
from stapbench.views import render_backtrace_html, render_backtrace_text, render_html
from tests.test_symbols import DEMO_C, addr2line, need, nm_function

from .test_views_dom import parse

PIE_BASE = 0x555555554000  # where a PIE executable is mapped at run time without ASLR


def instructions(binary) -> list[tuple[str, int, str]]:
    """(function, address, text) of every instruction, from objdump (not the code under test)."""
    out = subprocess.run([need("objdump"), "-d", "--no-show-raw-insn", str(binary)], check=True,
                         capture_output=True, text=True).stdout
    func, rows = "", []
    for row in out.splitlines():
        if m := re.match(r"[0-9a-f]+ <(.+)>:$", row):
            func = m.group(1)
        elif m := re.match(r"\s+([0-9a-f]+):\s+(.*)$", row):
            rows.append((func, int(m.group(1), 16), m.group(2)))
    return rows


def call_site(binary, caller: str, callee: str) -> tuple[int, int]:
    """(call instruction address, return address) of the first ``call <callee>`` in ``caller``."""
    rows = instructions(binary)
    for i, (func, addr, text) in enumerate(rows):
        if func == caller and text.startswith("call") and f"<{callee}" in text:
            return addr, rows[i + 1][1]
    raise AssertionError(f"no call to {callee} in {caller}")


def frame_line(binary, symbol: str, address: int, size: int, module: str) -> str:
    """One print_ubacktrace() line: `` %p : %s+%#lx/%#lx [%s]``."""
    start, _ = nm_function(binary, symbol)
    return f" {PIE_BASE + address:#x} : {symbol}+{address - start:#x}/{size:#x} [{module}]"


@pytest.fixture(scope="module")
def composed(demo_program):
    """(transcript bytes, expected (symbol, line) per frame) for a probe in handle_leaf at its strlen call."""
    pc, _ = call_site(demo_program, "handle_leaf", "strlen")  # the probe PC: the call itself
    chain = [("handle_leaf", pc, False)]
    for caller, callee in (("handle_middle", "handle_leaf"), ("handle_request", "handle_middle"),
                           ("main", "handle_request")):
        chain.append((caller, call_site(demo_program, caller, callee)[1], True))
    lines, expected = [], []
    for symbol, address, is_return in chain:
        _, size = nm_function(demo_program, symbol)
        lines.append(frame_line(demo_program, symbol, address, size, str(demo_program)))
        expected.append((symbol, addr2line(demo_program, [address - 1 if is_return else address])[0]))
    lines.append(" 0x7f3a2c029d90 [/no/such/libc.so.6+0x29d90/0x1d3000]")
    lines.append(" 0x0 (inexact)")
    text = "handle_leaf hit\n" + "\n".join(lines) + "\n"
    return text.encode(), expected


def test_each_frame_resolves_to_the_addr2line_line(composed, demo_program):
    data, expected = composed
    bt = next(e for e in parse_bytes(data) if isinstance(e, Backtrace))
    assert len(bt.frames) == 6
    dom = parse(render_backtrace_html(bt, symbolizer=Symbolizer()))
    rows = dom.find_all("tr", "stapbench-frame")
    assert len(rows) == 6
    for row, (symbol, line) in zip(rows, expected):
        assert row.find(cls="stapbench-frame-symbol").text() == symbol
        where = row.find(cls="stapbench-frame-source").text()
        assert where.endswith(f"demo.c:{line}"), (symbol, where, line)
        assert "stapbench-frame-has-source" in row.classes
    # the libc frame: module not on disk -> says so, and the hint says what to do
    assert rows[4].find(cls="stapbench-problem").attrs["data-problem"] == "no-module"
    hint = dom.find(cls="stapbench-hint", data_problem="no-module").text()
    assert "/no/such/libc.so.6" in hint and "not on disk" in hint
    assert rows[5].attrs["data-kind"] == "inexact unknown"


def test_top_frame_source_is_highlighted_with_its_line_marked(composed):
    data, expected = composed
    bt = next(e for e in parse_bytes(data) if isinstance(e, Backtrace))
    dom = parse(render_backtrace_html(bt, symbolizer=Symbolizer()))
    top = dom.find(cls="stapbench-top-source")
    assert top.attrs["data-frame-index"] == "0"
    marked = top.find(cls="stapbench-source").find(cls="hll")
    line = expected[0][1]
    assert marked.attrs["data-line"] == str(line)
    assert marked.find(cls="stapbench-lineno").text().strip() == str(line)
    source_text = DEMO_C.read_text().splitlines()[line - 1]
    assert "strlen" in source_text
    assert marked.text().endswith(source_text)  # Pygments spans, same characters
    assert marked.find_all("span", "nf") or marked.find_all("span", "n")  # highlighted tokens
    assert len(top.find_all(cls="hll")) == 1
    # the callers' sources are there too, collapsed, each with its own marked line
    others = dom.find_all("details", "stapbench-frame-source-details")
    assert [d.attrs["data-frame-index"] for d in others] == ["1", "2", "3"]
    for d, (_, line) in zip(others, expected[1:]):
        assert d.find(cls="hll").attrs["data-line"] == str(line)


def test_missing_debuginfo_frame_shows_problem_and_hint(demo_program_stripped, demo_program):
    start, size = nm_function(demo_program_stripped, "handle_leaf")
    data = f" {PIE_BASE + start + 4:#x} : handle_leaf+0x4/{size:#x} [{demo_program_stripped}]\n".encode()
    bt = parse_bytes(data)[0]
    html = render_backtrace_html(bt, symbolizer=Symbolizer())
    dom = parse(html)
    assert dom.find(cls="stapbench-problem").attrs["data-problem"] == "no-debuginfo"
    assert "no debuginfo" in dom.find(cls="stapbench-frame-source").text()
    hint = dom.find(cls="stapbench-hint").text()
    assert "no DWARF" in hint and "-g" in hint
    assert not dom.find_all(cls="stapbench-source")
    text = render_backtrace_text(bt, symbolizer=Symbolizer())
    assert "(no debuginfo)" in text and "note: " in text


def test_text_render_shows_top_snippet_with_marker(composed):
    data, expected = composed
    text = render_html(parse_bytes(data), symbolizer=Symbolizer())
    assert 'data-target-line="%d"' % expected[0][1] in text
    plain = render_backtrace_text(parse_bytes(data)[1], symbolizer=Symbolizer())
    line = expected[0][1]
    assert any(row.startswith(f"> {line} | ") for row in plain.splitlines())
