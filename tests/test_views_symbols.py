"""Backtrace views over real binaries (tests/programs/demo.c built with -g -O0, and the nginx
build): frames composed in print_ubacktrace()'s exact FULL format (FORMATS.md §1.1) from the
binary's real symbols and call sites (tests/support/compose.py: nm, objdump), parsed by the real
parser and resolved by the real Symbolizer.  Expected lines come from addr2line, independently of
the code under test."""

from __future__ import annotations

import pytest

from stapbench.model import Backtrace
from stapbench.parser import parse_bytes
from stapbench.symbols import Symbolizer
from stapbench.views import render_backtrace_html, render_backtrace_text, render_html
from tests.support.compose import (
    DEMO_CHAIN, NGINX_CLOSE_CHAIN, PIE_BASE, call_sites, compose_chain, symbols, ubacktrace_text,
)
from tests.test_symbols import DEMO_C, addr2line, nm_function

from .test_views_dom import parse

def expected_lines(binary, frames) -> list[int]:
    """addr2line's answer per composed frame: the top one as printed, callers at return address - 1."""
    links = [f.address - PIE_BASE - (1 if i else 0) for i, f in enumerate(frames)]
    return addr2line(binary, links)


@pytest.fixture(scope="module")
def composed(demo_program):
    """(transcript bytes, expected (symbol, line) per frame) for a probe in handle_leaf at its strlen call."""
    leaf = symbols(demo_program)["handle_leaf"]
    inside_strlen_call = call_sites(demo_program)[("handle_leaf", "strlen@plt")] - 1 - leaf.value
    frames = compose_chain(demo_program, DEMO_CHAIN, top_offset=inside_strlen_call)
    expected = list(zip(DEMO_CHAIN, expected_lines(demo_program, frames)))
    text = ("handle_leaf hit\n" + ubacktrace_text(frames)
            + " 0x7f3a2c029d90 [/no/such/libc.so.6+0x29d90/0x1d3000]\n 0x0 (inexact)\n")
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


def test_nginx_close_connection_backtrace_beside_nginx_source(nginx_binary, nginx_source_root):
    frames = compose_chain(nginx_binary, NGINX_CLOSE_CHAIN)
    expected = expected_lines(nginx_binary, frames)
    data = ("ngx_close_connection fd=7\n" + ubacktrace_text(frames)).encode()
    events = parse_bytes(data)
    bt = events[1]
    assert len(bt.frames) == len(NGINX_CLOSE_CHAIN)
    html = render_html(events, symbolizer=Symbolizer(source_roots=[nginx_source_root]))
    dom = parse(html)
    rows = dom.find_all("tr", "stapbench-frame")
    for row, name, line in zip(rows, NGINX_CLOSE_CHAIN, expected):
        assert row.find(cls="stapbench-frame-symbol").text() == name
        assert row.find(cls="stapbench-frame-module").text() == "nginx"
        assert row.find(cls="stapbench-frame-source").text().endswith(f".c:{line}"), name
    top = dom.find(cls="stapbench-top-source").find(cls="stapbench-source")
    path = top.attrs["data-path"]
    assert path.startswith(str(nginx_source_root)) and path.endswith("src/core/ngx_connection.c")
    marked = top.find(cls="hll")
    assert marked.attrs["data-line"] == str(expected[0])
    source = open(path, encoding="utf-8", errors="replace").read().splitlines()[expected[0] - 1]
    assert marked.text().endswith(source) and "ngx_close_connection" in source + "".join(
        open(path).read().splitlines()[expected[0] - 3:expected[0]])
    assert len(dom.find_all("details", "stapbench-frame-source-details")) == len(NGINX_CLOSE_CHAIN) - 1


def test_dump_members_get_their_dwarf_types_from_the_probed_function(composed):
    data, _ = composed
    data += (b'$r$={.number=1, .uri="/index.html", .in={...}, .next=0x0}\n'
             b'r={.number=1, .uri="/index.html", .in={.id=0, .tag="tag"}, .next=0x0} depth=2\n')
    dom = parse(render_html(parse_bytes(data), symbolizer=Symbolizer()))
    struct, vars_ = dom.find_all(cls="stapbench-tree")

    def types(tree):
        return {li.attrs["data-path"]: li.find(cls="stapbench-type").text()
                for li in tree.find_all("li") if li.find_all(cls="stapbench-type")}

    # handle_leaf(struct request *r, int depth): types from demo's DWARF, not from the dump
    got = types(struct)
    assert got["$r"] == "struct request *"
    assert got["$r->number"] == "long int" and got["$r->uri"] == "const char *"
    assert got["$r->in"] == "struct inner" and got["$r->next"] == "struct request *"
    got = types(vars_)
    assert got["$depth"] == "int" and got["$r->in->tag"] == "char[8]" and got["$r->in->id"] == "int"
    # without a backtrace in the hit there is no probed function to ask: no types, no error
    plain = parse(render_html(parse_bytes(b'$r$={.number=1, .in={...}}\n'), symbolizer=Symbolizer()))
    assert not plain.find_all(cls="stapbench-type")


def test_a_dump_without_a_backtrace_takes_its_types_from_the_scripts_probed_function(demo_program):
    """On BPF a hit has no backtrace to say what it probed: the member types of its dump come
    from the script's process(...).function(...) probe, the one the line's first word names."""
    from stapbench.parser import parse_bytes
    from stapbench.symbols import Symbolizer
    from stapbench.views.context import RenderContext
    from stapbench.views.static import render_text

    script = (f'probe process("{demo_program}").function("main") {{ }}\n'
              f'probe process("{demo_program}").function("handle_request") {{ }}\n')
    events = parse_bytes(b"handle_request $r$ {.number=1, .uri=0x5, .next=0x0}\n")
    text = render_text(events, context=RenderContext(symbolizer=Symbolizer(), cell_source=script))
    assert text.splitlines()[:3] == ["$r$ (struct request *)", "  .number (long int) = 1", "  .uri (const char *) = 0x5"]
    untyped = render_text(events, context=RenderContext(symbolizer=Symbolizer()))
    assert untyped.splitlines()[:2] == ["$r$", "  .number = 1"]


def test_a_dump_after_free_text_is_rooted_at_what_the_script_printed_there(demo_program):
    """printf("req %d %s\\n", $r->number, $r$) prints "req 1 {...}": the text names no expression,
    the script does, so the tree is titled $r$ and typed like one whose line says "$r$="."""
    from stapbench.parser import parse_bytes
    from stapbench.symbols import Symbolizer
    from stapbench.views.context import RenderContext
    from stapbench.views.static import render_text
    from stapbench.views.valuetree import expression_for, script_dump_prefixes

    script = (f'probe process("{demo_program}").function("handle_request") {{\n'
              '  printf("req %d %s\\n", $r->number, $r$)\n  printf("next: %s\\n", $r->next$)\n}\n')
    events = parse_bytes(b"req 1 {.number=1, .uri=0x5, .next=0x0}\n")
    text = render_text(events, context=RenderContext(symbolizer=Symbolizer(), cell_source=script))
    assert text.splitlines()[:2] == ["$r$ (struct request *)", "  .number (long int) = 1"]
    prefixes = script_dump_prefixes(script)
    assert expression_for("req 17 ", prefixes) == "$r$" and expression_for("next: ", prefixes) == "$r->next$"
    assert expression_for("other ", prefixes) is None and expression_for("$c$=", prefixes) is None
    # two printf calls that print different dumps after the same text: no guess
    assert expression_for("x ", script_dump_prefixes('printf("x %s\\n", $a$) printf("x %s\\n", $b$)')) is None
