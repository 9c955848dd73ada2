"""stapbench's advice beside stap's messages: on the real stap here (BPF runtime limits, the
kernel runtime without headers), on fixtures in stap's formats, and on the real samples."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from stapbench.model import Diagnostic
from stapbench.parser import parse_bytes
from stapbench.runner.options import RunOptions
from stapbench.views import RenderContext, render_diagnostic_html, render_diagnostic_text
from stapbench.views.diagnostics import suggestions_label
from stapbench.views.remedies import remedies
from tests.support.paths import SAMPLES

from .test_views_dom import assert_inert


def diagnostics(data: bytes) -> list[Diagnostic]:
    return [e for e in parse_bytes(data, stream="stderr") if isinstance(e, Diagnostic)]


def advised(diags: list[Diagnostic]) -> list[tuple[Diagnostic, str]]:
    return [(d, r.text) for d in diags for r in remedies(d)]


def stap_bpf_p4(script: str, target) -> bytes:
    """stap --runtime=bpf up to pass 4 (translate and compile; nothing is loaded)."""
    env = dict(os.environ)
    shim = RunOptions(runtime="bpf").shim_path()
    if shim:
        env["LD_PRELOAD"] = shim
    proc = subprocess.run(["stap", "--runtime=bpf", "-p4", "-e", script, str(target)],
                          capture_output=True, timeout=300, env=env)
    assert proc.returncode != 0, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def stap_installed():
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")


@pytest.mark.stap
def test_print_ubacktrace_on_bpf_points_to_the_kernel_runtime_not_to_stap_guesses(stap_installed, demo_program):
    err = stap_bpf_p4('probe process(@1).function("handle_request") {\n  print_ubacktrace()\n}', demo_program)
    diag = next(d for d in diagnostics(err) if "unresolved function print_ubacktrace" in d.message)
    assert "python_print_backtrace" in diag.similar  # what stap offers: spelled alike, unrelated
    [(_, text)] = advised([diag])
    assert "print_ubacktrace() is part of the kernel runtime" in text and "--runtime kernel" in text
    html = render_diagnostic_html(diag, RenderContext(
        cell_source='probe process(@1).function("handle_request") {\n  print_ubacktrace()\n}', script_path="<input>"))
    dom = assert_inert(html)
    assert "kernel runtime" in dom.find(cls="stapbench-remedy").text()
    assert "no fix here" in dom.find(cls="stapbench-suggestions").text()
    assert dom.find_all(cls="stapbench-suggestions-unrelated")
    assert "what to do: print_ubacktrace()" in render_diagnostic_text(diag)


@pytest.mark.stap
@pytest.mark.parametrize("body, token, advice", [
    ('printf("%s\\n", $$parms)', "$$parms", "cannot format strings with sprintf, which pretty-printing $$parms needs"),
    ('printf("%s\\n", $r$)', None, "pretty-printing $var$, $var$$ and $$vars needs"),
    ('printf("%s\\n", pp())', "pp", "pp() is not available on the BPF runtime"),
])
def test_bpf_runtime_limits_get_their_rewrite(stap_installed, demo_program, body, token, advice):
    err = stap_bpf_p4(f'probe process(@1).function("handle_request") {{\n  {body}\n}}', demo_program)
    found = advised(diagnostics(err))
    assert any(advice in text for _, text in found), found
    if token:
        assert any(d.token == token for d, text in found if advice in text)


@pytest.mark.stap
def test_kernel_runtime_without_headers_suggests_bpf_once(stap_installed, demo_program):
    build = f"/lib/modules/{os.uname().release}/build"
    if os.path.exists(f"{build}/Makefile"):
        pytest.skip(f"this machine has kernel build files ({build}/Makefile): the kernel runtime compiles here")
    proc = subprocess.run(["stap", "-p4", "-e", f'probe process("{demo_program}").function("handle_leaf") {{ printf("%d\\n", $r->number) }}'],
                          capture_output=True, timeout=300)
    found = [text for _, text in advised(diagnostics(proc.stderr)) if "kernel runtime compiles" in text]
    assert len(found) == 1, found
    assert "--runtime bpf" in found[0] and "linux-headers" in found[0]


FIXTURES = {
    b"ERROR: MAXACTION exceeded near operator '->' at debug_connection.stp:84:30\n": "-D MAXACTION=",
    b"ERROR: Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details.\n": "-t",
    b"ERROR: probe overhead exceeded threshold\n": "STP_NO_OVERLOAD",
    b"ERROR: read fault [man error::fault] at 0x0 near identifier '$j' at x.stp:4:7\n": "try { } catch { }",
    b"WARNING: user string copy fault -14 at 000000006369641a [man error::fault]\n": "user_string_warn",
    b'ERROR: Build-id mismatch: "kernel" vs. "vmlinux-2.6.32-5-amd64" byte 0 (0x5e vs 0xff)\n': "rebuilt",
    b"semantic error: no match (similar functions: handle_leaf, handle_middle)\n": "%stap_list",
    (b"semantic error: missing x86_64 kernel/module debuginfo [man warning::debuginfo] under "
     b"'/lib/modules/6.1.0-9-amd64/build'\n"): "linux-image-$(uname -r)-dbg",
    b'Checking "/lib/modules/3.10.0/build/.config" failed with error: No such file or directory\n': "--runtime bpf",
    b"WARNING: Kernel function symbol table missing [man warning::symbols]\n": "harmless for process(...) probes",
}


@pytest.mark.parametrize("line", list(FIXTURES), ids=[k[:40].decode() for k in FIXTURES])
def test_fixture_messages_get_their_remedy(line):
    found = advised(diagnostics(line))
    assert len(found) == 1 and FIXTURES[line] in found[0][1], found


def test_most_messages_get_no_advice_and_a_typo_keeps_its_fix_label():
    typo = diagnostics(b"semantic error: unresolved function execnam (similar: execname, ppfunc): "
                       b"identifier 'execnam' at <input>:1:40\n        source: x\n")
    assert typo and advised(typo) == []
    assert suggestions_label(typo[0]) == "did you mean"
    html = render_diagnostic_html(typo[0])
    assert "stapbench-remedy" not in html and "did you mean" in html
    assert "stapbench-suggestions-unrelated" not in html


def test_remedy_text_is_escaped():
    [diag] = diagnostics(b"ERROR: MAXACTION exceeded near identifier '<img src=x onerror=alert(1)>' at a.stp:1:2\n")
    dom = assert_inert(render_diagnostic_html(diag))
    assert dom.find(cls="stapbench-remedy") is not None


@pytest.mark.samples
@pytest.mark.parametrize("name, advice", [
    ("runtime_error_maxaction_near_keyword_and_operator.txt", "-D MAXACTION="),
    ("runtime_error_probe_overhead_pass5_failed.txt", "STP_NO_OVERLOAD"),
    ("diag_missing_kernel_devel_and_debuginfo_install_hint.txt", "linux-headers"),
    ("diag_missing_kernel_devel_and_debuginfo_install_hint.txt", "linux-image-$(uname -r)-dbg"),
    ("runtime_warning_user_string_copy_fault_hashed_ptr.txt", "user_string_warn"),
])
def test_real_transcripts_get_their_remedy(samples_dir, name, advice):
    found = advised([e for e in parse_bytes((SAMPLES / name).read_bytes()) if isinstance(e, Diagnostic)])
    assert any(advice in text for _, text in found), found


def test_unrelated_suggestions_are_no_fix_buttons_in_the_widget():
    from stapbench.views import DiagnosticView

    cell = 'probe process("/bin/x").function("f") {\n  print_ubacktrace()\n}\n'
    [diag] = [d for d in diagnostics(
        b"semantic error: unresolved function print_ubacktrace (similar: python_print_backtrace, "
        b"print_java_backtrace): identifier 'print_ubacktrace' at <input>:2:3\n"
        b"        source:   print_ubacktrace()\n                  ^\n\n") if d.kind == "semantic"]
    assert diag.similar == ["python_print_backtrace", "print_java_backtrace"]
    view = DiagnosticView(diag, context=RenderContext(cell_source=cell))
    assert view.buttons == []
    assert "no fix here" in view.message.value and "what to do:" in view.message.value
    typo = diagnostics(b"semantic error: unresolved function execnam (similar: execname): "
                       b"identifier 'execnam' at <input>:1:2\n        source: x\n")[0]
    assert [b.description for b in DiagnosticView(typo, context=RenderContext(cell_source="probe begin { execnam() }\n")).buttons] == ["execname"]


@pytest.mark.stap
def test_missing_debuginfo_is_said_with_the_check_that_proves_it(stap_installed, demo_program_stripped, demo_program):
    """A stripped program: stap warns it has no DWARF and refuses $r; the remedy names the file
    and the check (run on it now) that shows there is no .debug_info and no separate debuginfo."""
    script = 'probe process(@1).function("handle_request") { printf("%d\\n", $r->number) }'
    proc = subprocess.run(["stap", "-p2", "-e", script, str(demo_program_stripped)], capture_output=True, timeout=300)
    assert proc.returncode != 0
    texts = [text for _, text in advised(diagnostics(proc.stderr)) if "debuginfo stap can use" in text]
    assert texts, proc.stderr.decode()  # the warning and the $r error both point at it
    assert all(t.startswith(f"{demo_program_stripped} has no debuginfo") for t in texts)
    assert f"readelf -S {demo_program_stripped} | grep -c debug_info prints 0" in texts[0]
    assert "rebuild it with -g" in texts[0]
    # the same message about a file that has DWARF now: said, not claimed missing
    rebuilt = Diagnostic(raw="", severity="warning", kind="warning",
                         message=f"cannot find module {demo_program} debuginfo: No DWARF information found")
    [(_, text)] = advised([rebuilt])
    assert "has DWARF" in text and "rebuilt or replaced since this run" in text
    kernel = Diagnostic(raw="", severity="warning", kind="warning",
                        message="cannot find module kernel debuginfo: No DWARF information found")
    assert not any("debuginfo stap can use" in t for _, t in advised([kernel]))


def test_missing_unwind_data_says_what_to_add_even_when_stap_cannot_name_the_module():
    named, unknown = diagnostics(
        b"WARNING: Missing unwind data for a module, rerun with 'stap -d vhost_net'\n"
        b"WARNING: Missing unwind data for a module, rerun with 'stap -d (unknown)'\n")
    [(_, text)] = advised([named])
    assert text.startswith("the backtrace stops in vhost_net") and "add -d vhost_net" in text
    [(_, text)] = advised([unknown])
    assert "could not name the module" in text and "--ldd" in text and "stap -d (unknown)" in text


def test_a_bpf_sprintf_refusal_in_a_tapset_points_at_the_cells_dumps():
    """stap reports the BPF runtime's sprintf refusal inside uconversions.stp; the view shows the
    cell's own $var$ that needs it, with its editor line number and a caret."""
    [diag] = [d for d in diagnostics(
        b"semantic error: unsupported sprintf in bpf kernel probe: identifier 'sprintf' at "
        b"/usr/share/systemtap/tapset/uconversions.stp:110:66\n"
        b"        source:   try { return string_quoted(user_string(addr)) } catch { return sprintf(\"0x%x\", addr) }\n"
        b"                                                                                 ^\n")]
    cell = 'probe process("x").function("f") {\n  printf("%d %s\\n", $c->fd, $c->log$)\n  x = $$vars\n}\n'
    context = RenderContext(cell_source=cell, first_line=2)
    text = render_diagnostic_text(diag, context)
    assert '  in the cell, what needs it:\n  3 |   printf("%d %s\\n", $c->fd, $c->log$)\n' in text
    section = text.split("in the cell, what needs it:\n")[1].splitlines()
    assert section[1].endswith("^") and not section[2].startswith("  4 |")  # $$vars has no root: not a $var$
    caret_line = text.split("in the cell, what needs it:\n")[1].splitlines()[1]
    assert caret_line.index("^") - len("  3 | ") == cell.splitlines()[1].index("$c->log$")
    dom = assert_inert(render_diagnostic_html(diag, context))
    assert [p.attrs.get("data-cell-line") for p in dom.find_all(cls="stapbench-cell-source")] == ["3"]
