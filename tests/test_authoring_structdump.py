"""``$var$`` on the BPF runtime: stap refuses it (sprintf), and the fix rewrites the cell to a
generated printer whose output the parser reads as the same struct tree, with the user's text
around it kept in place.  The rewrite on its own (DWARF of the real demo program), then the
whole loop on the real stap: refused, fixed, run, parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stapbench.authoring.catalog import ProbeEntry
from stapbench.authoring.fixes import FixFinder, magic_line_for
from stapbench.authoring.structdump import rewrite_struct_dumps
from stapbench.model import Diagnostic, StructDump
from stapbench.runner import run
from stapbench.runner.options import RunOptions
from stapbench.symbols import Symbolizer

from .support.paths import PROJECT


class _Catalog:
    def __init__(self, entries):
        self._entries = {e.name: e for e in entries}

    def function(self, name):
        return self._entries.get(name)


class _Catalogs:
    """What stap -L lists for demo.c's handle_request (the listing itself is tested elsewhere)."""

    def __init__(self):
        self.asked = []

    def get(self, binary):
        self.asked.append(binary)
        return _Catalog([ProbeEntry("function", "handle_request", f'process("{binary}").function("handle_request")',
                                    "demo.c", 33, (("$r", "struct request*"),))])


def _point(program):
    return f'process("{program}").function("handle_request")'


def test_printf_of_a_dump_keeps_its_text_around_the_printed_members(demo_program):
    script = f'probe {_point(demo_program)} {{\n    printf("req %d %s!\\n", $r->number, $r$)\n}}\n'
    rewrite = rewrite_struct_dumps(script, catalogs=_Catalogs(), symbolizer=Symbolizer())
    assert rewrite is not None and rewrite.printed == {"r": (3, 3)}  # number, uri, next: `in` is a struct by value
    body = rewrite.script.splitlines()[1].strip()
    assert body == ('printf("req %d ", $r->number); printf("$r$={.number=%ld, .uri=0x%lx, .next=0x%lx}", '
                    '$r->number, $r->uri, $r->next); printf("!\\n")')
    assert ", $r$)" not in rewrite.script and rewrite.script.splitlines()[0] == script.splitlines()[0]
    assert rewrite.title.startswith("print $r (3 members) member by member")


def test_println_and_deep_dumps_and_one_line_probes(demo_program):
    script = (f'probe {_point(demo_program)} {{ println($r$$) }}\n'
              f'probe {_point(demo_program)}.return {{ printf("%s\\n", $r$) }}\n')
    rewrite = rewrite_struct_dumps(script, catalogs=_Catalogs(), symbolizer=Symbolizer())
    first, second = rewrite.script.splitlines()
    assert first.endswith('{ printf("$r$$={.number=%ld, .uri=0x%lx, .next=0x%lx}\\n", $r->number, $r->uri, $r->next) }')
    assert second.endswith('{ printf("$r$={.number=%ld, .uri=0x%lx, .next=0x%lx}\\n", $r->number, $r->uri, $r->next) }')


def test_a_members_dump_is_rewritten_through_its_type_in_dwarf(demo_program):
    """$r->in$ (a struct held by value) and $r->next$ (a pointer to one): their types come from
    the parameter's type and DWARF."""
    script = (f'probe {_point(demo_program)} {{ printf("%s\\n", $r->in$) }}\n'
              f'probe {_point(demo_program)} {{ printf("next=%s\\n", $r->next$) }}\n')
    rewrite = rewrite_struct_dumps(script, catalogs=_Catalogs(), symbolizer=Symbolizer())
    first, second = rewrite.script.splitlines()
    assert first.endswith('{ printf("$r->in$={.id=%ld}\\n", $r->in->id) }')  # tag (char[8]) is a string: left out
    assert second.endswith('{ printf("next="); printf("$r->next$={.number=%ld, .uri=0x%lx, .next=0x%lx}\\n", '
                           '$r->next->number, $r->next->uri, $r->next->next) }')
    assert set(rewrite.printed) == {"r->in", "r->next"} and "$r->in (1 members)" in rewrite.title


def test_what_it_cannot_rewrite_is_left_alone(demo_program):
    catalogs = _Catalogs()
    # not a parameter; a dump in a string; a process without a function; printf with a
    # format that does not match its arguments
    script = (f'probe {_point(demo_program)} {{ printf("%s\\n", $nope$); printf("$r$\\n") }}\n'
              f'probe process("{demo_program}").begin {{ printf("%s\\n", $r$) }}\n'
              f'probe {_point(demo_program)} {{ printf("%s %s\\n", $r$) }}\n')
    assert rewrite_struct_dumps(script, catalogs=catalogs, symbolizer=Symbolizer()) is None
    assert FixFinder(script, catalogs=catalogs).fixes(
        Diagnostic(raw="", severity="error", kind="semantic", message="unsupported sprintf in bpf kernel probe")) == []


def test_the_fix_names_the_run_target_for_a_pathless_process(demo_program):
    script = 'probe process.function("handle_request") { printf("%s\\n", $r$) }\n'
    catalogs = _Catalogs()
    finder = FixFinder(script, catalogs=catalogs, magic_line=magic_line_for(RunOptions(cmd=[str(demo_program), "1"])))
    fixes = finder.fixes(Diagnostic(raw="", severity="error", kind="semantic", message="unsupported sprintf in bpf kernel probe"))
    assert len(fixes) == 1 and "$r->number" in fixes[0].script
    assert catalogs.asked == [str(demo_program)]
    assert magic_line_for(RunOptions(pid=42)) == "%%stap -x 42" and magic_line_for(None) == "%%stap"


@pytest.mark.stap
def test_refused_fixed_run_and_shown_as_the_struct_tree(stap_bpf, demo_program, tmp_path, no_stap_left):
    """The real loop: stap refuses $r$ on BPF; `stapbench run --json` carries the fix; the fixed
    cell runs and its lines parse as StructDump events with the program's values."""
    script = f'probe {_point(demo_program)} {{\n    printf("req %d %s\\n", $r->number, $r$)\n}}\n'
    path = tmp_path / "dump.stp"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(PROJECT), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "stapbench", "run", str(path), "--runtime", "bpf", "--json",
                           "-c", f"{demo_program} 3 20", "--transcript-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, env=env, timeout=300)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    refused = [e for e in events if e["type"] == "diagnostic" and "unsupported sprintf in bpf" in e["message"]]
    assert proc.returncode != 0 and refused, proc.stdout + proc.stderr
    fixes = refused[0]["fixes"]
    assert len(fixes) == 1 and "member by member" in fixes[0]["title"], fixes
    fixed = run(fixes[0]["script"], cmd=f"{demo_program} 3 20", runtime="bpf", timeout=120,
                transcript_dir=tmp_path / "runs")
    no_stap_left.append(fixed.pid)
    assert fixed.exit_status == 0, fixed.raw("stderr")
    dumps = [e for e in fixed.events if isinstance(e, StructDump)]
    assert [d.prefix for d in dumps] == ["req 1 $r$=", "req 2 $r$=", "req 3 $r$="], [e.raw for e in fixed.events]
    from stapbench.model.serialize import event_to_json

    values = [event_to_json(d)["value"] for d in dumps]
    assert [v["number"] for v in values] == [1, 2, 3]
    assert all(v["uri"].startswith("0x") and v["next"] == "0x0" for v in values), values


@pytest.mark.stap
def test_a_big_structs_dump_refused_for_its_format_is_fixed_too(stap_bpf, nginx_server, tmp_path, no_stap_left):
    """$c$ of nginx's ngx_connection_t: stap 4.8 refuses it on BPF for its format's length (at the
    cell's $c$, not in a tapset); the fix prints it member by member, and the run shows the tree."""
    import shutil

    from stapbench.authoring.catalog import CatalogCache
    from stapbench.model.serialize import event_to_json

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    binary = str(nginx_server.binary)
    script = (f'probe process("{binary}").function("ngx_close_connection") {{\n'
              '    printf("close %d %s\\n", $c->number, $c$)\n}\n')
    trigger = ["curl", "-s", nginx_server.url]
    pid = nginx_server.worker_pids[0]
    refused = run(script, pid=pid, runtime="bpf", trigger=trigger, timeout=180, transcript_dir=tmp_path)
    no_stap_left.append(refused.pid)
    errors = [d for d in refused.diagnostics if d.severity == "error"]
    assert any("Format string for print too long" in d.message for d in errors), [d.raw for d in errors]
    finder = FixFinder(script, catalogs=CatalogCache(directory=tmp_path / "probes"), symbolizer=Symbolizer())
    fixes = [f for d in errors for f in finder.fixes(d)]
    assert len(fixes) == 1 and fixes[0].title.startswith("print $c (15 of "), fixes  # 16 values, $c->number one
    fixed = run(fixes[0].script, pid=pid, runtime="bpf", trigger=trigger, timeout=180, transcript_dir=tmp_path)
    no_stap_left.append(fixed.pid)
    assert fixed.stop_reason == "trigger finished", fixed.raw("stderr")
    [dump] = [e for e in fixed.events if isinstance(e, StructDump)]
    assert dump.prefix.startswith("close ")
    value = event_to_json(dump)["value"]
    assert value["fd"] > 0 and str(value["number"]) == dump.prefix.split()[1]
    # the line names its dump ("close 3 $c$={...}"): the tree is titled $c$, its members typed from DWARF
    from stapbench.views.context import RenderContext
    from stapbench.views.static import render_text

    tree = render_text([dump], context=RenderContext(symbolizer=Symbolizer(), cell_source=fixes[0].script))
    assert tree.splitlines()[0] == "$c$ (ngx_connection_t *)" and "  .fd (ngx_socket_t) = " in tree, tree


def test_two_dumps_in_one_call_are_both_rewritten_in_order(demo_program):
    script = f'probe {_point(demo_program)} {{ printf("%s and %s\\n", $r->in$, $r->next$) }}\n'
    rewrite = rewrite_struct_dumps(script, catalogs=_Catalogs(), symbolizer=Symbolizer())
    body = rewrite.script.split("{ ", 1)[1]
    assert set(rewrite.printed) == {"r->in", "r->next"}
    # the text and both dumps in the order the call printed them, one line in all
    assert body.index('"$r->in$={') < body.index('" and "') < body.index('"$r->next$={')
    assert body.count("\\n") == 1 and ", $r->in$" not in body and ", $r->next$" not in body
