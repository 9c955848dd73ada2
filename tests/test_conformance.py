"""Conformance over every real transcript in ../shared/stap-samples (FORMATS.md).

Every sample file gets the generic checks (lossless, chunking-invariant, the
three stream modes) and its own assertions on real content below: frame counts
and symbols, member values, error locations, suggestions.  The whole suite is
skipped only when the samples folder is absent.
"""

from __future__ import annotations

import random

import pytest

from stapbench.model.serialize import event_to_json
from stapbench.parser import StreamParser, parse_bytes
from tests.support.paths import SAMPLES, sample_files

pytestmark = [
    pytest.mark.samples,
    pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"the shared stap samples are not at {SAMPLES}"),
]

FILES = sample_files()


def of(events, type_):
    return [e for e in events if e.type == type_]


def texts(events):
    return [e.text for e in of(events, "text")]


def symbols(bt):
    return [f.symbol for f in bt.frames]


def diag_at(d):
    return (d.file, d.line, d.column)


def semantic(events):
    return [e for e in of(events, "diagnostic") if e.kind == "semantic"]


def passes_failed(events):
    return [e.pass_number for e in of(events, "diagnostic") if e.kind == "pass"]


TIP = "/usr/share/doc/systemtap/README.Debian should help you get started."

# ---------------------------------------------------------------- backtraces


def check_backtrace_aarch64_mapping_symbol_and_bare_0x0(ev):
    a, b = of(ev, "backtrace")
    assert symbols(a) == ["$x", "proc_reg_read_iter", "vfs_read", None]
    assert symbols(b)[0] == "cmdline_proc_show"
    assert (a.frames[3].address, a.frames[3].module) == (0, None)
    assert (a.frames[1].offset, a.frames[1].size, a.frames[1].module) == (0x90, 0xD0, "kernel")


def check_backtrace_kernel_and_user_no_user_backtrace_missing_unwind(ev):
    bts = of(ev, "backtrace")
    assert len(bts) == 8
    assert bts[1].note == '<no user backtrace at kernel.function("kmalloc@./include/linux/slab.h:478")>'
    assert bts[0].frames[1].address == 0 and bts[0].frames[1].inexact
    user = bts[5].frames[0]
    assert (user.symbol, user.module, user.offset, user.size) == (None, "/lib/x86_64-linux-gnu/libc-2.24.so", 0xDBE07, 0x39B000)
    (warn,) = of(ev, "diagnostic")
    assert warn.severity == "warning" and "stap -d /lib/x86_64-linux-gnu/libc-2.24.so" in warn.message


def check_backtrace_kernel_print_backtrace_mbrwatch(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 12 and bt.frames[0].symbol == "generic_make_request"
    assert bt.frames[-1].symbol == "sysenter_do_call" and bt.frames[-1].address == 0xC04099BF
    assert "device sda sector 0 read, process dd[26847]" in texts(ev)


def check_backtrace_missing_unwind_warnings_vhost_net_bridge(ev):
    a, b = of(ev, "backtrace")
    assert [f.module for f in a.frames] == ["kernel", "kernel", "vhost_net", None]
    assert a.frames[2].symbol is None and a.frames[3].inexact
    assert len(b.frames) == 3 and b.frames[1].module == "bridge"
    assert [d.message.rsplit("'stap -d ", 1)[1] for d in of(ev, "diagnostic")] == ["vhost_net'", "bridge'"]


def check_backtrace_module_no_symbols_inexact_missing_unwind_xfs(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 14
    assert [f.module for f in bt.frames[2:11]] == ["xfs"] * 9
    assert not bt.frames[2].inexact and all(f.inexact for f in bt.frames[3:])
    assert bt.frames[11].symbol == "kthread" and of(ev, "diagnostic")[0].message.endswith("'stap -d xfs'")


def check_backtrace_print_backtrace_kernel_module_ext4(ev):
    bts = of(ev, "backtrace")
    assert [len(b.frames) for b in bts] == [11, 14, 8]
    first = bts[0].frames[0]
    assert (first.symbol, first.offset, first.size, first.module) == ("sampleblk_request", 0, 0, "sampleblk")
    assert bts[0].frames[5].module == "ext4" and bts[2].frames[-1].inexact
    assert texts(ev).count("===") == 3


def check_backtrace_print_backtrace_nosym_module_offset_inexact(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 12
    assert bt.frames[0].module == "stap_7a1114b3de11b6b97c907eafd2782_1404790" and bt.frames[0].offset == 0xB368
    assert bt.frames[0].symbol is None and bt.frames[0].size == 0
    assert bt.frames[-1].inexact and not bt.frames[-2].inexact
    assert bt.frames[-1].symbol == bt.frames[-2].symbol == "entry_SYSCALL_64_after_hwframe"


def check_backtrace_print_stack_hex_and_verbose_passes_kmem(ev):
    assert [p.number for p in of(ev, "pass")] == [1, 2, 3, 4, 5]
    assert of(ev, "pass")[3].real_ms == 19353
    (bt,) = of(ev, "backtrace")
    assert bt.style == "syms" and len(bt.frames) == 9
    assert bt.frames[-1].address == 0x7FF070008D50 and bt.frames[-1].symbol is None
    assert "Number of kmalloc-1024 slab allocations by process" in texts(ev)  # the ^C was glued to it
    assert "(unknown; retry with -DDEBUG_UNWIND)" in of(ev, "diagnostic")[0].message


def check_backtrace_print_ubacktrace_brief_gobject(ev):
    bts = of(ev, "backtrace")
    assert [b.style for b in bts] == ["brief"] * 3
    assert [len(b.frames) for b in bts] == [18, 14, 11]
    assert (bts[0].frames[0].symbol, bts[0].frames[0].offset) == ("g_type_create_instance", 0x20B)
    assert bts[2].frames[-1].symbol == "clone"


def check_backtrace_print_ubacktrace_from_kernel_probe_NEWS(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 10
    assert bt.frames[0].address == 0x384F07F958 and bt.frames[0].symbol == "__GI_strcmp"
    assert bt.frames[5].module == "sort" and bt.frames[5].address == 0x404199


def check_backtrace_print_usyms_go_symbols_unresolved_tail(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 11 and bt.style == "syms"
    assert bt.frames[0].symbol == ("github.com/docker/docker/vendor/github.com/docker/libnetwork/networkdb."
                                   "(*NetworkDB).LeaveNetwork")
    assert (bt.frames[0].offset, bt.frames[0].size, bt.frames[0].module) == (0x68, 0xE40, "/usr/bin/dockerd")
    assert bt.frames[-1].symbol is None and bt.frames[-1].address == 0xC4214ACCC0


def check_backtrace_print_usyms_ubacktrace_ls(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 11
    assert bt.frames[4].module == "/lib64/libc-2.12.so" and bt.frames[4].symbol == "__libc_start_main"
    assert symbols(bt).count("xmalloc") == 2


def check_backtrace_return_probe_print_regs_and_backtrace_path_get(ev):
    (bt,) = of(ev, "backtrace")
    assert [f.role for f in bt.frames[:3]] == ["returning_from", "returning_to", "frame"]
    assert symbols(bt)[:2] == ["path_get", "do_dentry_open"]
    assert len(bt.frames) == 10 and bt.frames[-1].address == 0 and bt.frames[-1].symbol is None
    assert "RIP: ffffffffba6724f5" in texts(ev)


def check_backtrace_return_probe_returning_from_to_expand_files(ev):
    (bt,) = of(ev, "backtrace")
    assert len(bt.frames) == 6
    assert (bt.frames[0].role, bt.frames[0].symbol, bt.frames[0].size) == ("returning_from", "expand_files", 0x220)
    assert (bt.frames[1].role, bt.frames[1].symbol, bt.frames[1].offset) == ("returning_to", "alloc_fd", 0x53)


def check_backtrace_sprint_backtrace_pf4(ev):
    (bt,) = of(ev, "backtrace")
    assert bt.style == "simple" and len(bt.frames) == 11
    assert (bt.frames[0].symbol, bt.frames[0].offset, bt.frames[0].module) == ("groups_search", 6, "kernel")
    assert bt.frames[8].symbol == "do_execve_common.isra.24"


def check_backtrace_sprint_backtrace_simple_inexact_stap_XXX(ev):
    (bt,) = of(ev, "backtrace")
    assert bt.style == "simple" and len(bt.frames) == 13
    assert [f.inexact for f in bt.frames] == [False] * 4 + [True] * 9
    assert bt.frames[3].module == "stap_XXX" and bt.frames[3].symbol == "stap_stop_task_finder"

# ---------------------------------------------------------------- translator diagnostics


def check_diag_missing_debuginfo_tip_debian_readme(ev):
    s = semantic(ev)
    assert len(s) == 4
    assert diag_at(s[0]) == ("/usr/share/systemtap/tapset/linux/signal.stp", 73, 37)
    assert diag_at(s[2]) == ("/usr/share/systemtap/tapset/linux/signal.stp", 40, 7)  # 'at :40:7'
    assert s[2].source == "\t\t    __signal.send.send_sigqueue," and s[2].caret_column == 6
    assert s[1].man == ["warning::debuginfo"]
    assert passes_failed(ev) == [2]
    note = [d for d in of(ev, "diagnostic") if d.kind == "note"][0]
    assert note.message == "Number of similar error messages suppressed: 1." and note.tips == [TIP]


def check_diag_missing_kernel_devel_and_debuginfo_install_hint(ev):
    s = semantic(ev)
    resolving = [d for d in s if d.message == "while resolving probe point"]
    assert [diag_at(d) for d in resolving] == [
        ("/usr/share/systemtap/tapset/linux/vfs.stp", 991, 25), ("<input>", 3, 7), ("<input>", 12, 7)]
    assert passes_failed(ev) == [2, 2]
    notes = [d.message for d in of(ev, "diagnostic") if d.kind == "note"]
    assert any(n.startswith("Missing separate debuginfos, use: debuginfo-install kernel-3.10.0") for n in notes)


def check_diag_parse_error_expected_probe_global_function(ev):
    (p,) = [d for d in of(ev, "diagnostic") if d.kind == "parse"]
    assert p.message == "expected 'probe', 'global', 'function', or '%{'"
    assert (p.token_kind, p.token, *diag_at(p)) == ("identifier", "ERROR", "<input>", 22, 43)
    assert p.caret_column == 42 and p.source[p.caret_column:].startswith("ERROR")
    assert passes_failed(ev) == [1]


def check_diag_pass2_failed_suppressed_messages_rerun_v(ev):
    assert semantic(ev)[0].message.startswith("unresolved arity-1 global array name")
    assert passes_failed(ev) == [2]
    note = [d for d in of(ev, "diagnostic") if d.kind == "note"][0]
    assert note.message == "Number of similar error messages suppressed: 71."


def check_diag_pass4_failed_kernel_range(ev):
    warn, fail = of(ev, "diagnostic")
    assert warn.message == "kbuild exited with status: 2"
    assert fail.pass_number == 4 and fail.details == ["Kernel version 6.3.12 is within tested range 2.6.32 ... 6.5"]


def check_diag_semantic_error_arity_old_format(ev):
    a, b = semantic(ev)  # no blank line between them (stap <= 1.7)
    assert a.message == "inconsistent arity (1 vs. 2)" and diag_at(a) == ("../testsuite/semko/six.stp", 6, 3)
    assert diag_at(b) == ("../testsuite/semko/six.stp", 5, 3) and b.source == "  bar[1] = 2;"


def check_diag_semantic_error_dwarf_not_accessible_details(ev):
    (d,) = semantic(ev)
    assert d.man == ["error::dwarf"] and d.token == "$call"
    assert diag_at(d) == ("/usr/local/share/systemtap/tapset/linux/sysc_accept.stp", 68, 14)
    assert [x.strip().split(":")[0] for x in d.details] == ["dieoffset", "function", "alternative locations"]
    assert d.source.strip().startswith("if (__int32($call)")


def check_diag_semantic_error_in_expansion_of_macro(ev):
    (d,) = semantic(ev)
    assert d.message == "invalid access '->task' vs 'void*'" and (d.token_kind, d.token) == ("operator", "->")
    assert diag_at(d) == ("/usr/share/systemtap/tapset/linux/nfs_proc.stpm", 16, 21)
    assert "in expansion of macro: operator '@_nfs_data_server_ip'" in d.details[0]
    assert of(ev, "pass")[0].number == 1


def check_diag_semantic_error_no_match_similar_functions(ev):
    resolving, nomatch = semantic(ev)
    assert diag_at(resolving) == ("<input>", 58, 7) and resolving.caret_column == 6
    assert nomatch.similar == ["ngx_http_lua_get_request", "ngx_http_create_request", "ngx_http_free_request",
                               "ngx_http_lua_post_subrequest", "ngx_http_scgi_create_request"]
    assert passes_failed(ev) == [2]


def check_diag_semantic_error_old_pass2_tryagain_vp(ev):
    (d,) = semantic(ev)
    assert d.message == "type definition 'struct dwarf2_per_objfile' not found"
    assert (d.token, *diag_at(d)) == ("@cast", "/tmp/q.stp", 2, 15)
    fail = [x for x in of(ev, "diagnostic") if x.kind == "pass"][0]
    assert fail.pass_number == 2 and "Try again with another '--vp 01' option." in fail.message


def check_diag_semantic_error_struct_instead_of_member(ev):
    (d,) = semantic(ev)
    assert (d.token_kind, d.token, *diag_at(d)) == ("operator", "->", "<input>", 1, 81)
    assert d.caret_column == 80 and d.source[80:82] == "->"


def check_diag_semantic_error_thrown_from_vv(ev):
    (d,) = semantic(ev)
    assert d.message == "unresolved type" and (d.line, d.column) == (22, 8)
    assert d.details == ["   thrown from: elaborate.cxx:5239"] and d.source == "global ActiveOpens"


def check_diag_semantic_error_type_mismatch_chained(ev):
    s = semantic(ev)
    assert [d.message for d in s[:2]] == ["type mismatch (long)", "type was first inferred here (string)"]
    assert [diag_at(d) for d in s[:2]] == [("test.stp", 8, 5), ("test.stp", 4, 5)]
    assert len(s) == 5 and passes_failed(ev) == [2, 2]


def check_diag_semantic_error_unresolved_function_no_suggestions(ev):
    (d,) = semantic(ev)
    assert d.message == "unresolved function pid" and d.similar == []
    assert (d.line, d.column, d.caret_column) == (5451, 41, 40)


def check_diag_semantic_error_unresolved_global_array(ev):
    # the test harness prefixed the error line with 'OUT ', so only the pass failure is stap's
    assert semantic(ev) == [] and passes_failed(ev) == [2]
    assert texts(ev)[2].startswith("OUT semantic error: unresolved arity-1 global array __syscall_32_num2name")


def check_diag_semantic_error_while_resolving_no_match_vs_cannot_find_exe(ev):
    s = semantic(ev)
    assert [d.message for d in s] == ["while resolving probe point", "no match",
                                      "while resolving probe point", "cannot find executable 'asdf'"]
    assert diag_at(s[2]) == ("<input>", 1, 7) and s[2].source.startswith('probe process("asdf")')


def check_diag_warning_cross_file_global_NEWS(ev):
    # NEWS indents the example by five spaces: an indented WARNING is not stap's, it stays text
    assert of(ev, "diagnostic") == []
    assert texts(ev)[-1].strip() == "WARNING: cross-file global variable reference to foo from some_tapset.stp"


def check_diag_warning_never_assigned_eliding(ev):
    w = of(ev, "diagnostic")
    assert [d.severity for d in w] == ["warning"] * 3
    assert w[0].similar[:3] == ["__tracepoint_arg_p", "name", "task"] and len(w[1].similar) == 15
    assert [diag_at(d)[1:] for d in w] == [(34, 19), (53, 19), (34, 19)]
    assert w[1].file == "testsuite/systemtap.examples/profiling/sched_switch.stp"
    assert w[2].message == "Eliding unused variable 'firefox'" and w[2].caret_column == 31

# ---------------------------------------------------------------- listings


def check_listing_L_kernel_function_do_unlinkat(ev):
    (lst,) = of(ev, "listing")
    assert (lst.function, lst.file, lst.line) == ("do_unlinkat", "fs/namei.c", 3857)
    assert [(p.name, p.type) for p in lst.params][1:3] == [("$pathname", "char const*"), ("$path", "struct path")]
    assert len(lst.params) == 6


def check_listing_L_kernel_function_vfs_read_beginners_guide(ev):
    (lst,) = of(ev, "listing")
    assert lst.probe == 'kernel.function("vfs_read@fs/read_write.c:277")'
    assert [(p.name, p.type) for p in lst.params] == [
        ("$file", "struct file*"), ("$buf", "char*"), ("$count", "size_t"), ("$pos", "loff_t*")]


def check_listing_L_kernel_trace_2009(ev):
    lst = of(ev, "listing")
    assert [x.probe for x in lst][0] == 'kernel.trace("block_bio_bounce")' and len(lst) == 5
    assert all([p.name for p in x.params] == ["$q", "$bio"] for x in lst)


def check_listing_L_module_function_wildcard_sampleblk(ev):
    lst = of(ev, "listing")
    assert len(lst) == 16 and lst[0].params == []
    ioctl = next(x for x in lst if x.function == "sampleblk_ioctl")
    assert ioctl.line == 109 and ioctl.params[3].type == "long unsigned int"


def check_listing_L_process_mark_sdt_manpage(ev):
    lst = of(ev, "listing")
    assert [len(x.params) for x in lst] == [3, 3, 1, 1, 3]
    assert lst[2].probe == 'process("/usr/lib64/libpython3.6m.so.1.0").mark("gc__done")'


def check_listing_L_tapset_alias_locals_and_dollar_vars(ev):
    (lst,) = of(ev, "listing")
    assert lst.probe == "__signal.send.send_sigqueue"
    assert [(p.name, p.type) for p in lst.params] == [
        ("name", "string"), ("task", "unknown"), ("sig", "long"), ("sinfo", "long"), ("shared", "long"),
        ("$tmr", "struct k_itimer*"), ("$q", "struct sigqueue*")]


def check_listing_l_L_kernel_function_statement_process(ev):
    lst = of(ev, "listing")
    assert len(lst) == 6
    assert (lst[2].probe.startswith("kernel.statement"), lst[2].line, len(lst[2].params)) == (True, 62, 2)
    assert lst[3].function == "SyS_open" and lst[5].function == "dp_netdev_input__"


def check_listing_l_kernel_statement_nearest(ev):
    lst = of(ev, "listing")
    assert [x.line for x in lst] == [397, 396]
    assert lst[0].probe.endswith(".nearest")


def check_listing_l_kernel_trace_with_subsystem(ev):
    lst = of(ev, "listing")
    assert len(lst) == 30 + 24
    assert lst[0].probe == 'kernel.trace("kvm:kvm_access_fault")' and lst[-1].probe == 'kernel.trace("sched:sched_waking")'


def check_listing_l_syscall_wildcard_manpage(ev):
    # bare alias names are indistinguishable from printf text: documented to stay text
    assert of(ev, "listing") == [] and "syscall.accept" in texts(ev)


def check_local_stap48_listing_L_process_function_wildcard(ev):
    lst = of(ev, "listing")
    assert len(lst) == 10
    main = next(x for x in lst if x.function == "main")
    assert (main.file, main.line) == ("/tmp/stlocal/demo.c", 32)
    assert [(p.name, p.type) for p in main.params] == [
        ("$argc", "int"), ("$argv", "char**"), ("$in2", "struct inner"), ("$o", "struct outer")]
    assert next(x for x in lst if x.function == "_start").file is None


def check_local_stap48_listing_L_process_mark_wildcard(ev):
    lst = of(ev, "listing")
    assert [x.probe.rsplit(".", 1)[1] for x in lst] == ['mark("start")', 'mark("work_mark")']
    assert [p.name for p in lst[1].params] == ["$arg1", "$arg2", "$arg3"]


def check_local_stap48_listing_L_process_statement(ev):
    lst = of(ev, "listing")
    assert [x.line for x in lst] == [25, 26, 27, 28, 29, 30]
    assert lst[0].params[1].type == "char const*"


def check_local_stap48_listing_L_types_rendering(ev):
    (lst,) = of(ev, "listing")
    types = {p.name: p.type for p in lst.params}
    assert types["$fp"] == "void (*) (int)" and types["$fparr"] == "int (*[]) (void)"
    assert types["$cvs"] == "short unsigned int const volatile" and types["$sp"] == "struct {...}*"
    assert len(lst.params) == 13


def check_local_stap48_listing_l_begin_end_timer(ev):
    (lst,) = of(ev, "listing")
    assert lst.probe == "timer.s(1)" and texts(ev)[-3:-1] == ["begin", "begin"]


def check_local_stap48_listing_no_match_silent(ev):
    (tip,) = of(ev, "diagnostic")
    assert (tip.kind, tip.severity, tip.message) == ("tip", "info", TIP)


def check_local_stap48_listing_vL_process_function_pc(ev):
    (lst,) = of(ev, "listing")
    assert lst.pc == ".dynamic+0x1157" and [p.name for p in lst.params] == ["$o", "$msg", "$n", "$local"]
    assert [p.number for p in of(ev, "pass")] == [1, 2]

# ---------------------------------------------------------------- local stap 4.8 diagnostics


def _parse_error(ev):
    return [d for d in of(ev, "diagnostic") if d.kind == "parse"]


def _common_local(ev, pass_number):
    assert of(ev, "diagnostic")[0].message == "Kernel function symbol table missing [man warning::symbols]"
    assert passes_failed(ev) == [pass_number]
    assert any(TIP in d.tips for d in of(ev, "diagnostic"))


def check_local_stap48_parse_bad_probe_kw(ev):
    (p,) = _parse_error(ev)
    assert (p.token, *diag_at(p), p.source, p.caret_column) == ("foo", "/tmp/stlocal/bad.stp", 2, 1, "foo bar", 0)
    _common_local(ev, 1)


def check_local_stap48_parse_const_need_guru(ev):
    a, b = _parse_error(ev)
    assert a.message == "using @const operator not permitted; need stap -g" and (a.token, a.column) == ("@const", 23)
    assert (b.token, b.column, b.caret_column) == ("(", 29, 28)
    assert any(d.message == "2 parse errors." for d in of(ev, "diagnostic"))
    _common_local(ev, 1)


def check_local_stap48_parse_embedded_c_needs_guru(ev):
    (p,) = _parse_error(ev)
    assert (p.token_kind, p.token, *diag_at(p)) == ("embedded-code", None, "<input>", 1, 14)
    _common_local(ev, 1)


def check_local_stap48_parse_eof(ev):
    (p,) = _parse_error(ev)
    assert (p.message, p.token_kind, p.file, p.line) == ("expected statement", "eof", "<input>", None)
    _common_local(ev, 1)


def check_local_stap48_parse_junk_char(ev):
    (p,) = _parse_error(ev)
    assert (p.message, p.token, p.column, p.caret_column) == ("expected literal string or number", "`", 21, 20)
    _common_local(ev, 1)


def check_local_stap48_parse_missing_paren(ev):
    (p,) = _parse_error(ev)
    assert (p.message, p.token, p.line, p.column) == ("expected one of ', )'", "}", 1, 26)
    _common_local(ev, 1)


def check_local_stap48_pass4_compile_fail(ev):
    assert [p.number for p in of(ev, "pass")] == [1, 2, 3, 4]
    notes = [d.message for d in of(ev, "diagnostic") if d.kind == "note"]
    assert notes == ['Checking " /lib/modules/6.18.44-fc-v657/build/Makefile " failed with error: No such file or directory',
                     "Ensure kernel development headers & makefiles are installed."]
    _common_local(ev, 4)


def check_local_stap48_pretty_translator_generated_formats_p2(ev):
    # translator dump (-p2): the probe line is a -vL style listing, the sprintf bodies are text
    (lst,) = of(ev, "listing")
    assert lst.function == "work" and lst.pc == ".dynamic+0x1157"
    assert any('return sprintf("{.a=%i, .b=%u, .name=[...]' in t for t in texts(ev))
    assert of(ev, "struct") == [] and of(ev, "vars") == []


def check_local_stap48_pretty_translator_generated_formats_types_p2(ev):
    (lst,) = of(ev, "listing")
    assert (lst.file, lst.line, lst.pc) == ("/tmp/stlocal/types.c", 6, ".dynamic+0x115e")
    assert texts(ev).count('return "ERROR"') == 16


def check_local_stap48_sem_kernel_function_no_debuginfo(ev):
    a, b = semantic(ev)
    assert diag_at(a) == ("<input>", 1, 7) and a.caret_column == 6
    assert b.message.startswith("missing x86_64 kernel/module debuginfo") and b.man == ["warning::debuginfo"]
    _common_local(ev, 2)


def check_local_stap48_sem_process_unknown_local(ev):
    a, b = semantic(ev)
    assert a.similar == ["$n", "$o", "$local", "$msg"] and a.man == ["error::dwarf"]
    assert diag_at(a) == ("<input>", 1, 63) and diag_at(b) == ("<input>", 1, 63)  # 'at :1:63'
    assert a.caret_column == 62
    _common_local(ev, 2)


def check_local_stap48_sem_type_mismatch_chain(ev):
    a, b = semantic(ev)
    assert diag_at(a) == ("/tmp/stlocal/tm.stp", 3, 3) and diag_at(b) == ("/tmp/stlocal/tm.stp", 2, 3)
    assert b.source == '  a = "stringcheese";'
    _common_local(ev, 2)


def check_local_stap48_sem_type_mismatch_chain_vv(ev):
    s = semantic(ev)
    assert [d.details for d in s] == [["   thrown from: elaborate.cxx:7610"]] * 2 + [["   thrown from: elaborate.cxx:7618"]]
    assert [diag_at(d)[1:] for d in s] == [(3, 3), (3, 3), (2, 3)]
    assert [p.number for p in of(ev, "pass")] == [1, 2]
    _common_local(ev, 2)


def check_local_stap48_sem_unresolved_function_similar(ev):
    (d,) = semantic(ev)
    assert d.message == "unresolved function printff (similar: printk, __int32, qsq_print, tid, HZ)"
    assert d.similar == ["printk", "__int32", "qsq_print", "tid", "HZ"] and diag_at(d) == ("<input>", 1, 15)
    _common_local(ev, 2)


def check_local_stap48_sem_unresolved_target_symbol_begin(ev):
    a, b = semantic(ev)
    assert (a.message, a.token, a.column) == ("unresolved target-symbol expression", "$foo", 23)
    assert (b.message, b.file) == ("unresolved type", "<input>")
    _common_local(ev, 2)


def check_local_stap48_warn_never_assigned_similar(ev):
    warns = [d for d in of(ev, "diagnostic") if d.kind == "warning"][1:]
    assert [w.similar for w in warns] == [["count"], [], []]
    assert [(w.token, w.column, w.caret_column) for w in warns] == [("cuont", 34, 33), ("=", 21, 20), ("count", 15, 14)]
    assert semantic(ev)[0].message == "unresolved type"
    _common_local(ev, 2)


def check_local_stap48_warn_unused_cmdline_option(ev):
    w = of(ev, "diagnostic")
    assert [d.message for d in w] == ["Kernel function symbol table missing [man warning::symbols]",
                                      "unused command line option $1/@1"]
    assert w[1].file is None and passes_failed(ev) == []

# ---------------------------------------------------------------- pretty-printing


def check_pretty_NEWS_dollardollar_vars_description(ev):
    # prose quoting "var1=0xdead var2=0xbeef var3=?" inside a sentence is no dump
    assert {e.type for e in ev} == {"text"}


def check_pretty_NEWS_fs_struct_format_strings(ev):
    # a short unclosed brace run in prose is not taken for a MAXSTRINGLEN-truncated dump
    assert any(t.strip().startswith('$fs$ : "{.users=%i') for t in texts(ev))


def check_pretty_atvar_dollar(ev):
    a, b = of(ev, "struct")
    assert (a.prefix, event_to_json(a)["value"]) == ('@var("foo", @1)$: ', {"bar": 42})
    assert b.prefix == '@var("foo", @1)$$: ' and not b.truncated


def check_pretty_cast_struct_bitfields(ev):
    (s,) = of(ev, "struct")
    assert event_to_json(s)["value"] == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3, "f": 5, "g": 8, "h": 13}


def check_pretty_cast_struct_chars_escapes(ev):
    (s,) = of(ev, "struct")
    assert event_to_json(s)["value"] == {"a": "'A'", "b": "'\\000'", "c": "'\\b'", "d": "'\\354'", "e": "'z'"}


def check_pretty_cxx_class_string_member(ev):
    structs = of(ev, "struct")
    assert [s.prefix for s in structs] == ["function direct: ", "function cast: ", "mark cast: ",
                                           "statement direct: ", "statement cast: "]
    assert all(event_to_json(s)["value"] == {"_str": '"Hello World!"', "_l": 12} for s in structs)


def check_pretty_cxx_inherit_dollar_vs_dollardollar(ev):
    shallow, deep = of(ev, "struct")
    assert event_to_json(shallow)["value"] == {"foo": 42, "bar": "{...}"}
    assert event_to_json(deep)["value"] == {"foo": 42, "bar": {"x": 3, "y": 4}}


def check_pretty_parms_dollar_and_dollardollar_anon_union_debian(ev):
    plain, shallow, deep = of(ev, "vars")
    assert event_to_json(plain)["value"] == {"file": "0xffff880036b3f700", "buf": "0x7ffd5c5bf850",
                                             "count": "0x2004", "pos": "0xffff880015d9bf58"}
    s = event_to_json(shallow)["value"]
    assert (s["file"]["f_flags"], s["file"]["f_u"], s["buf"], s["count"], s["pos"]) == (
        34818, "{...}", '""', 8196, -131941029150888)
    assert deep.truncated and len(deep.raw.rstrip("\n")) == 511
    d = event_to_json(deep)["value"]["file"]
    assert d["f_lock"]["<union>"]["rlock"]["raw_lock"]["<union>"]["tickets"] == {"head": 3, "tail": 3}
    assert d["f_pos_lock"]["wait_list"] == {"next": "0xffff88003a281a50"}


def check_pretty_parms_dollar_shallow_vfs_read_beginners_guide(ev):
    (v,) = of(ev, "vars")
    j = event_to_json(v)["value"]
    assert list(j) == ["file", "buf", "count", "pos"]
    assert (j["file"]["f_op"], j["file"]["f_mode"], j["count"], j["pos"]) == ("0xffffffffa06e1d80", 31, 8196, -131938753921208)


def check_pretty_parms_dollardollar_truncated_vfs_read_beginners_guide(ev):
    (v,) = of(ev, "vars")
    assert v.truncated and not v.value[0].value.closed
    j = event_to_json(v)["value"]["file"]
    assert j["f_owner"] == {"lock": {"raw_lock": {"lock": 16777216}}, "pid": "0x0", "pid_type": 0, "uid": 0,
                            "euid": 0, "signum": 0}
    assert j["f_ra"] == {"start": 0, "size": 0, "async_size": 0, "ra_pages": 32}


def check_pretty_parms_plain_vfs_read_beginners_guide(ev):
    # the source lost its transcript: only a stray XML tag is left after the header
    assert texts(ev)[-1] == "</para>" and of(ev, "vars") == []


def check_pretty_parms_varwatch(ev):
    v = of(ev, "vars")
    assert len(v) == 10
    assert event_to_json(v[1])["value"] == {"filename": "0x7f340e5ca048", "flags": "0x80000", "mode": "0x1"}
    assert [event_to_json(x)["value"] for x in v[2:4]] == [{"fd": "0x3"}, {"fd": "?"}]


def check_pretty_struct_array_elem_dollardollar(ev):
    s = of(ev, "struct")
    assert [x.prefix for x in s] == ["$times$$: ", "$times[1]$$: ", '@var("times")$$: ', '@var("times")[1]$$: ']
    assert event_to_json(s[1])["value"] == {"tv_sec": 3, "tv_nsec": 4000}


def check_pretty_struct_chars_utf_strings(ev):
    (s,) = of(ev, "struct")
    j = event_to_json(s)["value"]
    assert j["c16"] == "'t'" and j["s32"] == '"stap\\u0391\\u03A9\\u263A\\U0001F608"'


def check_pretty_vars_whythefail(ev):
    v = of(ev, "vars")
    assert len(v) == 11 and v[0].prefix == "cat[23342] fs/open.c:992 $$vars: "
    assert event_to_json(v[0])["value"] == {"dfd": "0xffffffffffffff9c", "filename": "0x7ffc0f9546b9",
                                            "flags": "0x8000", "mode": "?", "op": "{...}", "fd": "?", "tmp": "?"}
    assert "cat[23342] kernel function(do_sys_open) $return: -2" in texts(ev)

# ---------------------------------------------------------------- runtime


def check_runtime_error_buildid_mismatch_old_pass5(ev):
    err, fail = of(ev, "diagnostic")
    assert (err.kind, err.message) == ("runtime", 'Build-id mismatch: "kernel" vs. "vmlinux-2.6.32-5-amd64" byte 0 (0x5e vs 0xff)')
    assert fail.pass_number == 5


def check_runtime_error_call_site_stack_NEWS_5_6(ev):
    # the NEWS example is wrapped and indented: prose, not stap output
    assert of(ev, "diagnostic") == []
    assert any(t.strip().startswith("ERROR: user string copy fault") for t in texts(ev))


def check_runtime_error_maxaction_near_keyword_and_operator(ev):
    a, b = of(ev, "diagnostic")
    assert (a.message, a.token_kind, a.token, *diag_at(a)) == ("MAXACTION exceeded", "keyword", None, "debug_connection.stp", 86, 9)
    assert (b.token_kind, b.token, b.column) == ("operator", "->", 30)
    (s,) = of(ev, "summary")
    assert (s.errors, s.skipped) == (0, 82)


def check_runtime_error_probe_overhead_pass5_failed(ev):
    (s,) = of(ev, "summary")
    assert (s.errors, s.skipped, s.staprun_status) == (1, 0, 1)
    assert of(ev, "diagnostic")[0].message == "probe overhead exceeded threshold" and passes_failed(ev) == [5]


def check_runtime_error_read_fault_before_after(ev):
    before, after = of(ev, "diagnostic")
    assert before.man == ["error::fault"] and before.file is None
    assert (after.message, after.token, *diag_at(after)) == (
        "read fault [man error::fault] at 0x0", "$j", "../../systemtap2/testsuite/systemtap.base/implicitptr.stp", 4, 7)


def check_runtime_error_register_fault_near_identifier(ev):
    (d,) = of(ev, "diagnostic")  # the author wrapped the line; the location is on the next line
    assert d.kind == "runtime" and d.message.startswith("register access fault [man error::fault]")
    assert d.man == ["error::fault"]


def check_runtime_errors_warnings_maxaction_skipped_stapxx(ev):
    d = of(ev, "diagnostic")
    assert [x.kind for x in d] == ["warning", "warning", "warning", "runtime", "runtime", "pass"]
    assert (d[4].token, *diag_at(d[4])) == ("tmp_level", "stapxx-DpI245Th/luajit.stp", 565, 21)
    (s,) = of(ev, "summary")
    assert (s.errors, s.skipped, s.staprun_status) == (1, 105, 1)


def check_runtime_warning_user_string_copy_fault_hashed_ptr(ev):
    d = of(ev, "diagnostic")
    assert [x.message.rsplit(" ", 1)[1] for x in d] == ["00000000f9b56dac", "00000000fffb4196", "0000000004014212"]
    assert {x.severity for x in d} == {"warning"}

# ---------------------------------------------------------------- verbose


def check_verbose_passes_beginners_guide(ev):
    p = of(ev, "pass")
    assert [x.number for x in p] == [1, 2, 3, 4, 5, 5]
    assert [x.real_ms for x in p] == [358, 568, 938, 3714, None, 73]
    assert texts(ev)[-1] == "read performed"


def check_verbose_passes_hello_world_systemtap_4_8(ev):
    p = of(ev, "pass")
    assert p[1].text.startswith("analyzed script: 1 probe, 2 functions") and p[3].real_ms == 8873
    assert "hello world" in texts(ev)


def check_verbose_passes_module_version_mismatch_run_failed(ev):
    assert [x.number for x in of(ev, "pass")] == [1, 2, 3, 4, 5, 5]
    err = of(ev, "diagnostic")[0]
    assert err.kind == "runtime" and err.message.startswith("module version mismatch")
    (s,) = of(ev, "summary")
    assert (s.errors, s.staprun_status) == (None, 1)
    assert passes_failed(ev) == [5]


def check_verbose_passes_old_plural_s_and_missing_kernel_devel(ev):
    assert [x.number for x in of(ev, "pass")] == [1, 2, 3, 4, 5, 5]
    assert of(ev, "pass")[2].real_ms == 16
    notes = [d.message for d in of(ev, "diagnostic")]
    assert notes[0].startswith('Checking "/lib/modules/2.6.32-358.el6.x86_64/build/.config" failed')
    assert notes[1].startswith("Incorrect version or missing kernel-devel package")


def check_verbose_passes_using_cached(ev):
    p = of(ev, "pass")
    assert [x.cached for x in p] == [False, False, True, True, False, False]
    assert p[3].text.endswith("stap_d52fff0ada67237c2e53ff02d00f763c_2763.ko")


CHECKS = {name[len("check_"):]: fn for name, fn in list(globals().items()) if name.startswith("check_")}


def check_for(path):
    return CHECKS.get(path.stem.replace(".", "_")) or CHECKS.get(path.stem)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sample_generic(path):
    data = path.read_bytes()
    events = parse_bytes(data)
    assert "".join(e.raw for e in events).encode("utf-8", "surrogateescape") == data
    # any chunking, including one byte at a time, gives the same events
    rng = random.Random(path.name)
    parser = StreamParser()
    chunked = []
    pos = 0
    while pos < len(data):
        n = rng.randint(1, 40)
        chunked += parser.feed(data[pos:pos + n])
        pos += n
    assert chunked + parser.close() == events
    # probe output mode never yields stap's own messages
    stdout = parse_bytes(data, "stdout")
    assert not {e.type for e in stdout} & {"diagnostic", "pass", "summary"}
    for event in events:
        event_to_json(event)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sample_content(path):
    check = check_for(path)
    assert check is not None, f"no content assertions for {path.name}: add check_{path.stem}"
    check(parse_bytes(path.read_bytes()))


def test_every_check_has_its_sample():
    stems = {p.stem.replace(".", "_") for p in FILES}
    assert sorted(set(CHECKS) - stems) == []
