"""Static HTML and text renders of every event kind, from fixtures in stap's exact formats
(parsed by the real parser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stapbench.model import Atom, Backtrace, Diagnostic, Frame, Member, Struct, StructDump, Summary, TextLine
from stapbench.parser import parse_bytes
from stapbench.views import (
    RenderContext, apply_suggestion, group_events, infer_expression, probe_counts, render_backtrace_html,
    render_diagnostic_html, render_diagnostic_text, render_html, render_struct_html, render_struct_text,
    render_summary_html, render_text, render_vars_html, text_key,
)

from .test_views_dom import assert_inert, parse

FIX = Path(__file__).parent / "fixtures" / "views"


def events_of(name: str):
    return parse_bytes((FIX / name).read_bytes())


def first(events, kind):
    return next(e for e in events if isinstance(e, kind))


# --------------------------------------------------------------------------- backtraces

def test_backtrace_has_one_row_per_frame_and_distinct_kinds():
    bt = first(events_of("hits.txt"), Backtrace)
    dom = parse(render_backtrace_html(bt))
    rows = dom.find_all("tr", "stapbench-frame")
    assert [int(r.attrs["data-frame-index"]) for r in rows] == list(range(len(bt.frames))) == list(range(6))
    kinds = [r.attrs["data-kind"].split() for r in rows]
    assert kinds[0] == ["returning-from"] and "stapbench-frame-returning-from" in rows[0].classes
    assert kinds[1] == ["returning-to"] and "stapbench-frame-returning-to" in rows[1].classes
    assert kinds[2] == ["resolved"]
    assert kinds[3] == ["module-only"] and "stapbench-frame-module-only" in rows[3].classes
    assert kinds[4] == ["inexact"] and "stapbench-frame-inexact" in rows[4].classes
    assert kinds[5] == ["inexact", "unknown"] and "stapbench-frame-unknown" in rows[5].classes
    # visible markers (CSS is stripped on GitHub): each special row says what it is in text
    assert "returning from" in rows[0].text() and "returning to" in rows[1].text()
    assert "module only" in rows[3].text() and "inexact" in rows[4].text() and "unknown" in rows[5].text()
    assert not rows[2].find_all(cls="stapbench-marker")
    # cells: symbol, offset/size, module basename
    assert rows[1].find(cls="stapbench-frame-symbol").text().endswith("handle_middle")
    assert rows[1].find(cls="stapbench-frame-offset").text() == "+0x1f/0x2a"
    assert rows[1].find(cls="stapbench-frame-module").text() == "demo"
    assert rows[3].find(cls="stapbench-frame-module").text() == "libc.so.6"


def test_backtrace_without_symbolizer_has_no_source_but_fileline_frames_show_it():
    bt = Backtrace(raw="", frames=[Frame(address=0x10, symbol="f", offset=1, size=2, module="/m",
                                         file="src/f.c", line=42)])
    dom = parse(render_backtrace_html(bt))
    assert dom.find(cls="stapbench-frame-source").text() == "src/f.c:42"
    assert not dom.find_all(cls="stapbench-source")


def test_no_user_backtrace_note_renders_as_text():
    bt = Backtrace(raw="<no user backtrace at begin>\n", frames=[], note="<no user backtrace at begin>")
    dom = parse(render_backtrace_html(bt))
    assert "<no user backtrace at begin>" in dom.text()
    assert not dom.find_all("tr")


# --------------------------------------------------------------------------- value trees

def test_struct_tree_members_and_exact_expressions_for_elided_members():
    dump = first(events_of("hits.txt"), StructDump)
    dom = parse(render_struct_html(dump))
    tree = dom.find(cls="stapbench-tree")
    assert tree.attrs["data-expression"] == "$c"  # inferred from the "$c$=" prefix
    exprs = [c.attrs["data-expression"] for c in dom.find_all("code", "stapbench-expr")]
    assert exprs == ["$c->log$", "$c->pool->log$", "$c->name$$"]
    # the nested .pool is a collapsible <details> with its own members
    pool = dom.find("details", "stapbench-node", data_path="$c->pool")
    assert "open" not in pool.attrs
    assert [m.text() for m in pool.find_all(cls="stapbench-member")] == [".pool", ".log", ".size"]
    leaf = dom.find("li", data_path="$c->fd")
    assert leaf.find(cls="stapbench-value").text() == "7" and "stapbench-v-int" in leaf.find(cls="stapbench-value").classes


def test_expression_root_explicit_inferred_or_relative():
    dump = StructDump(raw="x\n", prefix="conn: ", value=Struct(members=[Member(name="log", value=Atom(text="{...}"))]))
    rel = parse(render_struct_html(dump)).find("code", "stapbench-expr")
    assert rel.text() == "\u2026->log$" and "stapbench-expr-relative" in rel.classes
    given = parse(render_struct_html(dump, expression="$c->pool$")).find("code", "stapbench-expr")
    assert given.text() == "$c->pool->log$"
    assert infer_expression("$c$=") == "$c"
    assert infer_expression("dump $c->pool$: ") == "$c->pool"
    assert infer_expression('@cast(p, "struct request")$ ') == '@cast(p, "struct request")'
    assert infer_expression("c=") is None and infer_expression("TCP FIN sent") is None


def test_vars_dump_each_variable_is_a_root_and_anonymous_members_add_nothing():
    events = events_of("hits.txt")
    vars_dump = next(e for e in events if e.type == "vars")
    dom = parse(render_vars_html(vars_dump))
    exprs = [c.attrs["data-expression"] for c in dom.find_all("code", "stapbench-expr")]
    assert exprs == ["$file->f_u$", "$file->f_lock->rlock$"]
    assert dom.find("li", data_path="$count").find(cls="stapbench-value").text() == "8196"


def test_types_from_listings_label_tree_nodes():
    events = parse_bytes(b'process("/d").function("f@/d.c:3") $c:struct conn* $n:int\n'
                         b'$c$={.fd=3, .log={...}}\n')
    html = render_html(events)
    dom = parse(html)
    node = dom.find("details", "stapbench-node", data_path="$c")
    assert node.find(cls="stapbench-type").text() == "struct conn*"


def test_truncated_dump_says_so_and_offers_the_fixes():
    dump = events_of("truncated.txt")[0]
    assert dump.truncated
    dom = parse(render_vars_html(dump))
    box = dom.find(cls="stapbench-truncated")
    assert "truncated" in box.text() and "511 characters" in box.text()
    fixes = {c.attrs["data-fix"]: c.text() for c in box.find_all("code", "stapbench-chip")}
    assert fixes == {"stap": "stap -DMAXSTRINGLEN=8192", "magic": "%%stap -D MAXSTRINGLEN=8192"}
    assert box.find("code", "stapbench-expr").text() == "$file$"
    assert dom.find_all(cls="stapbench-cut")  # where the cut happened, inside the tree
    assert "-DMAXSTRINGLEN=8192" in render_text([dump])


def test_struct_text_render_is_an_indented_tree_with_expressions():
    dump = first(events_of("hits.txt"), StructDump)
    text = render_struct_text(dump)
    lines = text.splitlines()
    assert lines[0] == "$c$"  # titled as the script wrote it
    assert "  .log = {...}   -> print with $c->log$" in lines
    assert "    .log = {...}   -> print with $c->pool->log$" in lines


# --------------------------------------------------------------------------- diagnostics

CELL = (FIX / "cell.stp").read_text()


def test_diagnostic_on_the_cell_line_with_caret_under_the_column():
    diag = events_of("cell_errors.txt")[0]
    dom = parse(render_diagnostic_html(diag, RenderContext(cell_source=CELL, script_path="/tmp/stapbench-cell/script.stp")))
    box = dom.find(cls="stapbench-diagnostic")
    assert box.attrs["data-cell-line"] == "3" and box.attrs["data-column"] == "10"
    assert "stapbench-sev-error" in box.classes
    pre = box.find("pre", "stapbench-cell-source")
    code_line, caret_line = pre.text().split("\n")
    assert code_line == "3 | " + CELL.splitlines()[2]
    # the caret sits under column 10 of the cell line (the TAB is kept, as stap does)
    assert caret_line.endswith("^")
    assert caret_line[len("3 | "):-1] == "\t" + " " * 8
    assert CELL.splitlines()[2][len(caret_line) - len("3 | ") - 1:].startswith("printff")
    chips = [c.attrs["data-suggestion"] for c in box.find_all("code", "stapbench-chip")]
    assert chips == ["printf", "printk", "printd", "printdln", "println"]
    assert "cell line 3, column 10" in box.text()


def test_diagnostic_elsewhere_uses_stap_source_line_and_caret():
    diag = events_of("cell_errors.txt")[0]
    dom = parse(render_diagnostic_html(diag, RenderContext(cell_source=CELL, script_path="/other/script.stp")))
    box = dom.find(cls="stapbench-diagnostic")
    assert "data-cell-line" not in box.attrs
    src, caret = box.find("pre", "stapbench-stap-source").text().split("\n")
    assert src == '\thits++; printff("%d\\n", $depth)' and caret == "\t        ^"


def test_pass_failure_man_reference_and_tip_are_text():
    diag = events_of("cell_errors.txt")[1]
    dom = parse(render_diagnostic_html(diag))
    assert dom.find(cls="stapbench-man").text() == "see man error::pass2"
    assert not dom.find_all("a")  # links to nothing external
    assert "README.Debian" in dom.find(cls="stapbench-tip").text()


def test_diagnostic_text_render_has_cell_line_and_caret():
    diag = events_of("cell_errors.txt")[0]
    text = render_diagnostic_text(diag, RenderContext(cell_source=CELL, script_path="/tmp/stapbench-cell/script.stp"))
    lines = text.splitlines()
    assert lines[0].startswith("ERROR (semantic): unresolved function printff") and "[cell line 3, column 10]" in lines[0]
    assert lines[1] == "  3 | " + CELL.splitlines()[2]
    assert lines[2] == "    | \t        ^"


def test_apply_suggestion_replaces_the_token_or_the_probed_function():
    diag = events_of("cell_errors.txt")[0]
    fixed = apply_suggestion(CELL, diag, "printf")
    assert fixed.splitlines()[2] == '\thits++; printf("%d\\n", $depth)'
    assert fixed.splitlines()[:2] == CELL.splitlines()[:2]
    nomatch = Diagnostic(raw="", severity="error", kind="semantic", message="no match (similar functions: handle_leaf)",
                         token_kind="identifier", token="process", file="<input>", line=1, column=7)
    src = 'probe process("/d").function("handle_lef") { }\n'
    assert apply_suggestion(src, nomatch, "handle_leaf") == 'probe process("/d").function("handle_leaf") { }\n'


def test_summary_makes_data_loss_visible():
    summary = first(events_of("cell_errors.txt"), Summary)
    dom = parse(render_summary_html(summary))
    box = dom.find(cls="stapbench-summary")
    assert "stapbench-dataloss" in box.classes and box.attrs["data-loss"] == "true"
    assert "17 probe hits skipped" in box.text() and "2 probe errors" in box.text()
    ok = parse(render_summary_html(Summary(raw="", errors=0, skipped=0))).find(cls="stapbench-summary")
    assert "stapbench-dataloss" not in ok.classes and ok.attrs["data-loss"] == "false"


# --------------------------------------------------------------------------- whole runs

def test_render_html_is_self_contained_and_scoped():
    html = render_html(events_of("hits.txt"))
    dom = parse(html)
    root = dom.children[0]
    assert root.tag == "div" and "stapbench" in root.classes
    style = re.sub(r"/\*.*?\*/", "", root.find("style").text(), flags=re.S)
    rules = [r.split("{")[0].strip() for r in style.split("}") if "{" in r]
    assert rules and all(sel.strip().startswith(".stapbench") for r in rules for sel in r.split(","))
    assert ".stapbench .stapbench-source .hll" in style
    assert "http" not in style and "@import" not in style
    assert_inert(html)
    assert len(dom.find_all(cls="stapbench-backtrace")) == 2 and len(dom.find_all(cls="stapbench-tree")) == 2


def test_counts_per_probe_and_grouping():
    events = events_of("hits.txt")
    groups = group_events(events)
    assert [g.key for g in groups] == ["ngx_close_connection", "ngx_close_connection", "ngx_http_finalize_request"]
    assert [len(g.items) for g in groups] == [3, 1, 0]
    assert probe_counts(events) == {"ngx_close_connection": 2, "ngx_http_finalize_request": 1}
    chips = {c.attrs["data-key"]: c.attrs["data-count"] for c in parse(render_html(events)).find_all(cls="stapbench-count")}
    assert chips == {"ngx_close_connection": "2", "ngx_http_finalize_request": "1"}


@pytest.mark.parametrize("line,key", [
    ("ngx_close_connection: fd=3", "ngx_close_connection"), ("1700000000.123 close 7", "close"),
    ("fd=3 c=7", "fd"), ("   ", "(blank)"), ('process("/x").function("f") hit', 'process("/x").function("f")'),
])
def test_text_key(line, key):
    assert text_key(line) == key


def test_repeated_dumps_without_text_start_new_hits():
    events = parse_bytes(b"$c$={.fd=1}\n$c$={.fd=2}\n$c$={.fd=3}\n")
    assert [len(g.items) for g in group_events(events)] == [0, 0, 0]


def test_long_run_render_is_bounded_but_keeps_errors_and_counts():
    events = [TextLine(raw=f"hit {i}\n", text=f"hit {i}") for i in range(20000)]
    events.insert(10000, Diagnostic(raw="", severity="error", kind="runtime", message="MAXACTION exceeded"))
    html = render_html(events, limit=500, head=100)
    dom = parse(html)
    shown = sum(int(p.attrs["data-lines"]) for p in dom.find_all("pre", "stapbench-text"))
    assert shown == 500  # the diagnostic fell in the left-out middle: every shown event is text
    assert dom.find(cls="stapbench-omitted").attrs["data-omitted"] == str(20001 - 500)
    assert "MAXACTION exceeded" in dom.find(cls="stapbench-diagnostic").text()
    assert dom.find(cls="stapbench-count", data_key="hit").attrs["data-count"] == "20000"
    texts = dom.find_all("pre", "stapbench-text")
    assert texts[0].text().startswith("hit 0\n") and texts[-1].text().endswith("hit 19999")


def test_render_text_covers_every_kind():
    text = render_text(events_of("hits.txt") + events_of("cell_errors.txt"), context=RenderContext(cell_source=CELL, script_path="/tmp/stapbench-cell/script.stp"))
    for needle in ("ngx_close_connection: fd=7 c=1", "#0  handle_leaf+0x0 [demo] {\u21a9 returning from}",
                   "-> print with $c->log$", "[cell line 3, column 10]", "DATA LOSS", "17 probe hits skipped"):
        assert needle in text, needle


# --------------------------------------------------------------------------- safety

PAYLOADS = ["<script>", "<img src=x onerror=alert(1)>", "<img src=x onerror=alert(2)>",
            "<script>alert(4)</script>", "<img src=x onerror=alert(5)>", "<img src=x onerror=alert(6)>",
            "<b>demo</b>", "int<script>"]


def test_xss_payloads_show_as_text_everywhere():
    events = events_of("xss.txt")
    assert {e.type for e in events} == {"text", "backtrace", "struct", "diagnostic", "listing"}
    html = render_html(events, context=RenderContext(cell_source='probe begin { x<script>("<img src=x onerror=alert(6)>") }\n'))
    dom = assert_inert(html)
    text = dom.text()
    for payload in PAYLOADS:
        assert payload in text, payload
    module = dom.find(cls="stapbench-frame-module")
    assert module.attrs["title"] == "/tmp/<script>alert(3)</script>"  # full path, escaped in the attribute
    text_out = render_text(events)
    assert "<img src=x onerror=alert(2)>+0xc" in text_out


def test_repeated_stacks_render_once_then_point_back():
    one = (FIX / "hits.txt").read_bytes()
    events = parse_bytes(one * 3)
    dom = parse(render_html(events))
    tables = dom.find_all("div", "stapbench-backtrace")
    assert [t.attrs["data-backtrace-index"] for t in tables] == ["0", "1"]
    repeats = dom.find_all("details", "stapbench-repeat")
    assert [r.attrs["data-same-as"] for r in repeats] == ["0", "1", "0", "1"]
    assert "same backtrace as #0 (6 frames, top handle_leaf)" in repeats[0].text()
    assert repeats[0].find("pre").text().splitlines()[1] == "Returning to  :  0x4011f5 : handle_middle+0x1f/0x2a [/opt/demo/bin/demo]"


def test_a_diagnostic_stap_repeats_is_shown_once():
    # real stap 4.8 output: the same semantic error once per derived probe, the second time
    # with the file name left out ("at :2:33")
    data = (b"semantic error: unable to find member 'numbr' for struct s (alternatives: number, fd): "
            b"operator '->' at /r/script.stp:2:33\n"
            b"        source:   printf(\"%d\\n\", $c->numbr)\n"
            b"                                    ^\n\n"
            b"semantic error: unable to find member 'numbr' for struct s (alternatives: number, fd): "
            b"operator '->' at :2:33\n"
            b"        source:   printf(\"%d\\n\", $c->numbr)\n"
            b"                                    ^\n\n"
            b"semantic error: unresolved function foo: identifier 'foo' at /r/script.stp:3:3\n"
            b"        source:   foo()\n"
            b"                  ^\n\n")
    events = parse_bytes(data, stream="stderr")
    assert len(events) == 3
    html = render_html(events, context=RenderContext(cell_source="probe x {\n  printf(\"%d\\n\", $c->numbr)\n  foo()\n}\n",
                                                 script_path="/r/script.stp"))
    assert html.count('class="stapbench-diagnostic ') == 2
    assert html.count("stapbench-repeat-diagnostic") == 1
    text = render_text(events)
    assert text.count("unable to find member") == 1 and "printed the diagnostic above again" in text


def test_run_view_shows_one_diagnostic_view_per_message_and_counts_repeats():
    from stapbench.views import RunView

    diag = (b"ERROR: division by 0 near operator '/' at /r/script.stp:3:9\n")
    view = RunView(symbolizer=False)
    view.push(parse_bytes(diag * 5 + b"ERROR: other failure\n", stream="stderr"))
    view.close()
    views = [c for c in view.diagnostics_box.children if type(c).__name__ == "DiagnosticView"]
    assert len(views) == 2
    assert any("repeated 4" in getattr(c, "value", "") for c in view.diagnostics_box.children)


def test_source_lines_mark_the_line_found_in_the_file_and_escape_it(tmp_path):
    """SourceLines: the line is looked up in the file (after an anchor), shown relative to a root,
    escaped in HTML, and a text that is not there is a LookupError naming it."""
    from stapbench.views.source import MARK, SourceLines

    src = tmp_path / "src" / "f.c"
    src.parent.mkdir()
    src.write_text("int a;\nvoid f(void) {\n  x = 1;\n}\nvoid g(void) {\n  x = 1; /* <b>&amp; */\n}\n")
    shown = SourceLines(src, "x = 1;", after="void g(", context=1, root=tmp_path, title="g's <x>")
    assert shown.line == 6
    html = shown._repr_html_()
    assert f'data-line="6">' in html and MARK in html and "<b>" not in html and "&lt;b&gt;" in html
    assert "g&#x27;s &lt;x&gt;" in html or "g's &lt;x&gt;" in html
    assert str(tmp_path) not in html and "src/f.c" in repr(shown)
    assert repr(shown).splitlines()[2:5] == ["  5 | void g(void) {", "> 6 |   x = 1; /* <b>&amp; */", "  7 | }"]
    assert SourceLines(src, "x = 1;").line == 3
    with pytest.raises(LookupError, match="no line holds 'y = 2;' after 'void g\\('"):
        SourceLines(src, "y = 2;", after="void g(")


def test_backtraces_past_the_first_forty_distinct_ones_render_as_their_frames_text():
    """A profile prints hundreds of distinct stacks: past TABLE_BACKTRACES they are a <details>
    with the top frames in the summary and every frame's line (escaped) inside."""
    from stapbench.views.static import TABLE_BACKTRACES

    events = []
    for n in range(TABLE_BACKTRACES + 5):
        events += parse_bytes(f"hit {n}\n 0x{0x400000 + n:x} : f{n}<b>+0x1/0x10 [/bin/x]\n"
                              " 0x400100 : main+0x5/0x20 [/bin/x]\n".encode())
    html = render_html(events)
    dom = assert_inert(html)
    assert len(dom.find_all("table", "stapbench-frames")) == TABLE_BACKTRACES
    compact = dom.find_all("details", "stapbench-backtrace-compact")
    assert [d.attrs["data-backtrace-index"] for d in compact] == [str(i) for i in range(TABLE_BACKTRACES, TABLE_BACKTRACES + 5)]
    last = compact[-1]
    assert last.find("summary").text() == f"backtrace, 2 frames: f{TABLE_BACKTRACES + 4}<b> \u2190 main"
    assert "<b>" not in html.split("stapbench-backtrace-compact", 1)[1] and "f44&lt;b&gt;+0x1/0x10 [/bin/x]" in html


# --------------------------------------------------------------------------- machine paths

class RootedSymbolizer:
    """Frames in files under a source root and the home folder, as a Symbolizer would locate them:
    ``files``: symbol -> (DWARF's file name, the path found on disk or None, line, problem, hint)."""

    def __init__(self, roots, files):
        self.source_roots = tuple(roots)
        self.files = files

    def locate(self, frame):
        from stapbench.symbols import SourceLocation

        file, path, line, problem, hint = self.files[frame.symbol]
        return SourceLocation(module=frame.module, function=frame.symbol, file=file, path=path, line=line,
                              problem=problem, hint=hint)

    def source_snippet(self, loc, context=6):
        from stapbench.symbols import SourceSnippet

        return SourceSnippet(path=loc.path, first_line=loc.line - 1, lines=["{", "  f();", "}"],
                             target_line=loc.line)


def machine_paths_backtrace(tmp_path, monkeypatch):
    """(backtrace, symbolizer, home, root): a build of nginx 1.22.1 under ``root`` whose DWARF names
    its files absolutely (the build machine's /build folder) or relatively, a file of the user's
    own under ``~``, a system header, and a libc without debuginfo found in a lab's rootfs."""
    home = tmp_path / "home"
    root = home / "src" / "nginx-1.22.1"
    monkeypatch.setenv("HOME", str(home))
    module = home / ".work" / "nginx" / "sbin" / "nginx"
    libc = home / ".cache" / "stapbench" / "lab" / "rootfs" / "usr" / "lib" / "libc.so.6"
    files = {
        "f_built": ("/build/nginx-1.22.1/src/core/a.c", root / "src" / "core" / "a.c", 10, None, None),
        "f_relative": ("src/http/c.c", root / "src" / "http" / "c.c", 30, None, None),
        "f_mine": (str(home / "proj" / "b.c"), home / "proj" / "b.c", 20, None, None),
        "f_system": ("/usr/include/x.h", None, 40, "no-source", "source not found"),
        "memcpy": (None, None, None, "no-debuginfo", f"{libc} (build-id 93f7) has no DWARF debuginfo"),
    }
    text = "".join(f" 0x{0x401000 + 16 * i:x} : {name}+0x4/0x10 [{libc if name == 'memcpy' else module}]\n"
                   for i, name in enumerate(files))
    bt = first(parse_bytes(text.encode()), Backtrace)
    return bt, RootedSymbolizer([root], files), home, root


def test_frames_name_their_files_relative_to_the_source_root_or_home_never_the_machines_folders(
        tmp_path, monkeypatch):
    """issue 7: a saved notebook showed /work/main/..., /root/... in frame titles and labels."""
    from stapbench.views import render_backtrace_text

    bt, symbolizer, home, root = machine_paths_backtrace(tmp_path, monkeypatch)
    html = render_backtrace_html(bt, symbolizer=symbolizer)
    dom = parse(html)
    where = [row.find(cls="stapbench-frame-source").text() for row in dom.find_all("tr", "stapbench-frame")]
    assert where == ["src/core/a.c:10", "src/http/c.c:30", "~/proj/b.c:20", "/usr/include/x.h:40 [source not found]",
                     "[no debuginfo]"]
    titles = [d.find("summary").text() for d in dom.find_all("details", "stapbench-frame-source-details")]
    assert titles == ["#1 f_relative \u2014 src/http/c.c:30", "#2 f_mine \u2014 ~/proj/b.c:20"]
    top = dom.find(cls="stapbench-top-source").find(cls="stapbench-source")
    assert top.find(cls="stapbench-source-title").text() == "#0 f_built \u2014 src/core/a.c:10"
    assert top.attrs["data-path"] == str(root / "src" / "core" / "a.c")  # the full path: kept, unseen
    modules = {row.find(cls="stapbench-frame-module").attrs["title"] for row in dom.find_all("tr", "stapbench-frame")}
    assert modules == {"~/.work/nginx/sbin/nginx", "~/.cache/stapbench/lab/rootfs/usr/lib/libc.so.6"}
    hint = dom.find(cls="stapbench-hint", data_problem="no-debuginfo").text()
    assert hint.endswith(": ~/.cache/stapbench/lab/rootfs/usr/lib/libc.so.6 (build-id 93f7) has no DWARF debuginfo")
    # what a reader sees, text and tooltips: no folder of this machine
    seen = dom.text() + " ".join(n.attrs.get("title") or "" for n in dom.find_all())
    assert str(tmp_path) not in seen
    text = render_backtrace_text(bt, symbolizer=symbolizer)
    assert str(tmp_path) not in text
    assert "#0  f_built+0x4 [nginx] at src/core/a.c:10" in text and "at ~/proj/b.c:20" in text
    assert "\nsrc/core/a.c:10\n" in text  # the top frame's snippet, named as its row names it
    assert "note: ~/.cache/stapbench/lab/rootfs/usr/lib/libc.so.6 (build-id 93f7)" in text


@pytest.mark.parametrize("path, roots, home, shown", [
    ("/r/src/a.c", ["/r"], "/home/u", "src/a.c"),
    ("/r/sub/a.c", ["/r", "/r/sub"], "/home/u", "a.c"),  # the innermost root that holds it
    ("/rx/a.c", ["/r"], "/home/u", "/rx/a.c"),  # a sibling folder sharing the prefix is not inside
    ("/r", ["/r"], "/home/u", "/r"),  # the root itself: no name left to show
    ("/usr/lib/a.so", ["/"], "/", "/usr/lib/a.so"),  # "/" as a root or a home says nothing
    ("/home/u/p/a.c", [], "/home/u", "~/p/a.c"),
    ("/home/user2/a.c", [], "/home/u", "/home/user2/a.c"),
    ("src/a.c", ["/r"], "/home/u", "src/a.c"),  # DWARF's relative name: as it is
])
def test_shown_path(monkeypatch, path, roots, home, shown):
    from stapbench.views.paths import shown_path, tidy_paths

    monkeypatch.setenv("HOME", home)
    assert shown_path(path, roots) == shown
    assert tidy_paths(f"see {path}: x") == f"see {shown if shown.startswith('~') else path}: x"
