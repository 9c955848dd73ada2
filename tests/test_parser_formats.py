"""Every format of FORMATS.md, on fixtures written for this suite (tests/fixtures/parser/)."""

from __future__ import annotations

import pytest

from stapbench.model import Backtrace, Diagnostic, Listing, PassLine, StructDump, Summary, TextLine, VarsDump
from stapbench.model.serialize import event_to_json
from stapbench.parser import parse_bytes
from tests.support.paths import FIXTURES

HERE = FIXTURES / "parser"


def parse_fixture(name: str, stream: str = "merged"):
    return parse_bytes((HERE / name).read_bytes(), stream)


def of_type(events, cls):
    return [e for e in events if isinstance(e, cls)]


@pytest.fixture(scope="module")
def backtraces():
    return of_type(parse_fixture("backtraces.txt"), Backtrace)


def test_full_backtrace_user_space(backtraces):
    bt = backtraces[0]
    assert bt.style == "full" and len(bt.frames) == 6
    f = bt.frames[1]
    assert (f.address, f.symbol, f.offset, f.size, f.module) == (
        0x55D0C0A4C1D7, "ngx_http_close_connection", 0x87, 0xD0, "/usr/local/openresty/nginx/sbin/nginx")
    module_only = bt.frames[4]
    assert module_only.symbol is None and module_only.module == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert (module_only.offset, module_only.size) == (0x29E40, 0x1B5000)
    last = bt.frames[5]
    assert (last.address, last.symbol, last.module, last.inexact) == (0, None, None, True)


def test_return_probe_lines(backtraces):
    bt = backtraces[1]
    assert [f.role for f in bt.frames] == ["returning_from", "returning_to", "frame"]
    assert [f.symbol for f in bt.frames] == ["expand_files", "alloc_fd", "sock_alloc_file"]
    assert bt.frames[0].text.startswith("Returning from:  0x")


def test_no_user_backtrace_note(backtraces):
    bt = backtraces[2]
    assert bt.frames == [] and bt.note.startswith("<no user backtrace at kernel.function(")


def test_simple_and_brief_styles(backtraces):
    simple, brief = backtraces[3], backtraces[4]
    assert simple.style == "simple" and len(simple.frames) == 4
    assert (simple.frames[0].symbol, simple.frames[0].offset, simple.frames[0].module) == ("groups_search", 6, "kernel")
    assert simple.frames[2].module == "stap_deadbeef_1234" and simple.frames[2].offset == 0x1234
    assert simple.frames[3].address == 0xFFFFFFFFC0A05678 and simple.frames[3].symbol is None
    assert brief.style == "brief" and [f.symbol for f in brief.frames] == ["g_type_create_instance", "g_object_new"]
    assert brief.frames[0].address is None and brief.frames[0].offset == 0x20B


def test_print_syms_go_symbols_and_unresolved(backtraces):
    bt = backtraces[5]
    assert bt.style == "syms"
    assert bt.frames[0].symbol == "github.com/docker/libnetwork/networkdb.(*NetworkDB).LeaveNetwork"
    assert bt.frames[1].address == 0xC4214ACCC0 and bt.frames[1].symbol is None


def test_hex_lists_one_stack_per_line(backtraces):
    a, b = backtraces[6], backtraces[7]
    assert a.style == b.style == "hex"
    assert [f.address for f in a.frames] == [0xFFFFFFFF8103CE3B, 0xFFFFFFFF8101C6A3, 0xFFFFFFFF81013236]
    assert [f.address for f in b.frames] == [0x4116C0, 0x4116FC]


def test_pre_1_3_padded_and_pre_4_2_module_forms(backtraces):
    padded, xfs = backtraces[8], backtraces[9]
    assert padded.frames[0].address == 0x384F07F958 and padded.frames[0].module == "libc-2.12.so"
    assert [(f.module, f.offset, f.inexact) for f in xfs.frames] == [("xfs", None, False), ("xfs", None, True)]


def test_fileline_and_mapping_symbol(backtraces):
    bt = backtraces[10]
    assert (bt.frames[0].file, bt.frames[0].line, bt.frames[0].module) == ("/tmp/demo.c", 27, "/tmp/demo")
    assert (bt.frames[1].file, bt.frames[1].line, bt.frames[1].offset) == ("/tmp/demo.c", 40, 0x1190)
    assert bt.frames[2].symbol == "$x"


def test_separators_stay_text():
    texts = [e.text for e in parse_fixture("backtraces.txt") if isinstance(e, TextLine)]
    assert texts == ["ngx_close_connection c=42"] + ["---"] * 9


@pytest.fixture(scope="module")
def dumps():
    return parse_fixture("dumps.txt")


def test_struct_dumps(dumps):
    structs = of_type(dumps, StructDump)
    assert len(structs) == 6
    assert structs[1].prefix == "conn: "
    assert event_to_json(structs[1])["value"]["number"] == 42
    assert event_to_json(structs[2])["value"]["cb"] == "<function>:0x4011d6"
    assert event_to_json(structs[3])["value"] == {"<union>": {"i": 1, "f": "?"}, "<union> #2": {"j": 2},
                                                  "<class>": {"anon_x": 5}, "tag": "'\\n'"}


def test_text_before_struct_and_maxstringlen_truncation(dumps):
    tcp = of_type(dumps, StructDump)[5]
    assert tcp.prefix == "TCP FIN sent" and tcp.truncated
    assert len(tcp.raw.rstrip("\n")) - len(tcp.prefix) == 511
    sk = tcp.value.members[0].value
    assert not tcp.value.closed and not sk.closed
    assert event_to_json(tcp)["value"]["__sk_common"]["skc_num"] == 38402


def test_vars_dumps_and_heuristic(dumps):
    vars_ = of_type(dumps, VarsDump)
    assert [v.prefix for v in vars_] == ["", "cat[23342] fs/open.c:992 $$parms: ", "", "", ""]
    j = event_to_json(vars_[0])
    assert j["value"] == {"dfd": "0xffffffffffffff9c", "filename": "0x7ffc0f9546b9", "flags": "0x8000",
                          "mode": "?", "op": "{...}", "fd": "?", "tmp": "?"}
    assert event_to_json(vars_[2])["value"]["pos"] == -131938753921208
    assert event_to_json(vars_[3])["value"] == {"return": "0xfffffffffffffffe"}
    texts = [e.text for e in dumps if isinstance(e, TextLine)]
    assert texts == ["x=3", "a=1 b=2", "total x=3 y=0x10", "name=bob age=unknown"]


@pytest.fixture(scope="module")
def diagnostics():
    return parse_fixture("diagnostics.txt")


def test_semantic_error_with_similar_and_caret(diagnostics):
    d = diagnostics[0]
    assert (d.severity, d.kind, d.token_kind, d.token) == ("error", "semantic", "identifier", "printff")
    assert (d.file, d.line, d.column) == ("/home/u/t.stp", 4, 3)
    assert d.similar == ["printk", "__int32", "qsq_print", "tid", "HZ"]
    assert d.source == '  printff("x")' and d.caret_column == 2
    assert d.raw.endswith("^\n\n")


def test_elided_file_means_previous_file(diagnostics):
    d = diagnostics[1]
    assert (d.file, d.line, d.column) == ("/home/u/t.stp", 2, 9)
    assert d.details == ["   thrown from: elaborate.cxx:7618"]


def test_no_match_similar_functions(diagnostics):
    assert diagnostics[2].similar == ["ngx_http_close_connection", "ngx_close_connection"]
    assert diagnostics[2].file is None


def test_macro_expansion_kept_in_details(diagnostics):
    d = diagnostics[3]
    assert (d.token, d.line, d.column) == ("->", 16, 21)
    assert d.details[0].startswith("\tin expansion of macro: operator '@_nfs_data_server_ip'")
    assert len(d.details) == 3


def test_pass_failure_note_and_tip(diagnostics):
    p, note = diagnostics[4], diagnostics[5]
    assert (p.kind, p.pass_number, p.man) == ("pass", 2, ["error::pass2"])
    assert note.kind == "note" and note.details == ["Rerun with -v to see them."]
    assert note.tips == ["/usr/share/doc/systemtap/README.Debian should help you get started."]


def test_parse_errors(diagnostics):
    junk, eof, count, fail = diagnostics[6:10]
    assert (junk.kind, junk.token_kind, junk.token, junk.line, junk.column, junk.caret_column) == (
        "parse", "junk", "`", 1, 21, 20)
    assert (eof.token_kind, eof.file, eof.line) == ("eof", "<input>", None)
    assert count.message == "2 parse errors." and fail.pass_number == 1


def test_warnings_and_runtime_errors(diagnostics):
    warn, unwind, div, fault, maxaction, called = diagnostics[10:16]
    assert warn.severity == "warning" and warn.similar == ["count"] and warn.caret_column == 33
    assert unwind.message.startswith("Missing unwind data") and unwind.source is None
    assert (div.kind, div.message, div.token_kind, div.token, div.column) == ("runtime", "division by 0", "operator", "/", 9)
    assert fault.man == ["error::fault"] and fault.token == "$j"
    assert (maxaction.token_kind, maxaction.token, maxaction.line) == ("keyword", None, 86)
    assert called.line == 128 and "called from identifier 'user_string'" in called.details[0]


def test_summary_merges_adjacent_lines():
    (summary,) = of_type(parse_fixture("diagnostics.txt"), Summary)
    assert (summary.errors, summary.skipped, summary.staprun_status) == (3, 17, 1)
    assert summary.skipped_reasons == {"global 'counts' lock timeout": 2, "reentrancy": 15}
    assert summary.raw.count("\n") == 4


def test_pass_lines():
    events = parse_fixture("verbose.txt")
    passes = of_type(events, PassLine)
    assert [p.number for p in passes] == [1, 2, 3, 4, 5, 5]
    assert passes[0].real_ms == 145 and passes[2].cached and passes[2].real_ms is None
    assert passes[5].raw.startswith("^CPass 5: run completed")
    (fail,) = of_type(events, Diagnostic)
    assert fail.pass_number == 4 and fail.details == ["Kernel version 6.3.12 is within tested range 2.6.32 ... 6.5"]


def test_listings():
    events = parse_fixture("listings.txt")
    listings = of_type(events, Listing)
    assert len(listings) == 9
    nginx = listings[0]
    assert (nginx.function, nginx.file, nginx.line) == ("ngx_close_connection", "src/core/ngx_connection.c", 1180)
    assert [(p.name, p.type) for p in nginx.params] == [("$c", "ngx_connection_t*")]
    types = dict((p.name, p.type) for p in listings[1].params)
    assert types == {"$arr2d": "int[]*", "$fp": "void (*) (int)", "$un": "union u",
                     "$cvs": "short unsigned int const volatile", "$sp": "struct {...}*", "$fparr": "int (*[]) (void)"}
    assert listings[2].pc == ".dynamic+0x1157" and len(listings[2].params) == 3
    assert listings[3].params == [] and listings[3].file is None
    assert (listings[4].file, listings[4].line) == ("/tmp/stlocal/demo.c", None)
    assert [p.name for p in listings[5].params] == ["name", "filename", "task", "$dfd", "$filename"]
    assert listings[7].probe == 'process("/opt/my app/bin").mark("req start")'
    assert listings[8].probe == "timer.s(1)"
    assert events[-1] == TextLine(raw="syscall.accept\n", text="syscall.accept")


def test_semantic_error_catalog_of_stap_5_6():
    events = parse_fixture("catalog.txt")
    assert [e.kind for e in events] == ["note", "semantic", "semantic", "note"]
    entry = events[1]
    assert (entry.file, entry.line, entry.column, entry.token) == ("/home/u/t.stp", 4, 3, "printff")
    assert entry.message == "unresolved function printff (similar: printk, tid)" and entry.similar == ["printk", "tid"]
    assert (events[2].message, events[2].file, events[2].line) == ("no match", None, None)
    # complete as soon as read: no need to wait for the next line
    from stapbench.parser import StreamParser

    parser = StreamParser("stderr")
    first = parser.feed((HERE / "catalog.txt").read_bytes().split(b"\n", 2)[1] + b"\n")
    assert [e.kind for e in first] == ["semantic"] and first[0].stream == "stderr"


def test_no_match_takes_the_location_of_its_probe_point():
    # stap 4.8 on a typo'd process function: the cause comes as a second block with no location
    data = (b"semantic error: while resolving probe point: identifier 'process' at <input>:2:7\n"
            b"        source: probe process(\"/tmp/demo\").function(\"handle_lef\") { }\n"
            b"                      ^\n"
            b"\n"
            b"semantic error: no match (similar functions: handle_leaf, handle_middle, _fini)\n"
            b"\n"
            b"semantic error: unresolved function foo: identifier 'foo' at <input>:3:1\n"
            b"        source: foo()\n"
            b"                ^\n"
            b"\n"
            b"semantic error: no match\n"
            b"\n")
    resolving, cause, other, unrelated = [e for e in parse_bytes(data) if e.type == "diagnostic"]
    assert (cause.file, cause.line, cause.column, cause.token) == ("<input>", 2, 7, "process")
    assert cause.source == resolving.source and cause.caret_column == resolving.caret_column
    assert cause.similar == ["handle_leaf", "handle_middle", "_fini"]
    # only the block right after a "while resolving probe point" error inherits
    assert other.line == 3 and unrelated.line is None
