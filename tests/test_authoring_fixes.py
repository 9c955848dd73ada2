"""Fixes that fix: ``stapbench run --check --json`` gives each diagnostic its ``fixes`` (a title
and the whole fixed script), closest first, and the top fix of a misspelled function, a wrong
``.mark`` and a misspelled member passes ``--check`` itself (real stap, the nginx build)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from stapbench.authoring.fixes import closest

from .support.paths import PROJECT


@pytest.fixture(scope="module")
def nginx(nginx_for_listing):
    return nginx_for_listing.binary.resolve()


def check(script: str, tmp_path, name: str):
    path = tmp_path / f"{name}.stp"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(PROJECT), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "stapbench", "run", str(path), "--check", "--runtime", "bpf", "--json",
                           "--transcript-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, env=env, timeout=300)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    errors = [e for e in events if e["type"] == "diagnostic" and e["severity"] == "error"]
    return proc.returncode, events, errors


def top_fix(errors, needle: str):
    found = [e for e in errors if needle in e["message"]]
    assert found, [e["message"] for e in errors]
    assert all("fixes" in e for e in errors)
    return found[0]["fixes"]


@pytest.mark.parametrize("case, wrong, right", [
    ("function", 'function("ngx_close_conection")', 'function("ngx_close_connection")'),
    ("member", "$c->numbr", "$c->number"),
])
def test_top_fix_is_the_closest_and_passes_check(nginx, tmp_path, case, wrong, right):
    script = f'probe process("{nginx}").function("ngx_close_connection") {{\n    printf("%ld\\n", $c->number)\n}}\n'
    script = script.replace('function("ngx_close_connection")' if case == "function" else "$c->number", wrong)
    status, events, errors = check(script, tmp_path, case)
    assert status != 0 and errors
    fixes = top_fix(errors, "no match" if case == "function" else "unable to find member")
    assert right in fixes[0]["script"] and wrong not in fixes[0]["script"]
    assert fixes[0]["script"] == script.replace(wrong, right)  # the rest of the script is untouched
    if case == "member":
        assert fixes[0]["title"] == "->number" and len(fixes) <= 12  # not stap's forty, in DWARF order
    status, _, errors = check(fixes[0]["script"], tmp_path, case + "-fixed")
    assert status == 0 and errors == []


def test_a_mark_on_a_binary_without_markers_gets_function_probes_that_pass_check(nginx, tmp_path):
    script = f'probe process("{nginx}").mark("request__finalize") {{\n    printf("done\\n")\n}}\n'
    status, _, errors = check(script, tmp_path, "mark")
    assert status != 0
    fixes = top_fix(errors, "no match")
    assert fixes and all("has no SDT markers" in f["title"] for f in fixes)
    assert '.function("ngx_http_finalize_request")' in fixes[0]["script"] or \
        any("finalize" in f["title"] for f in fixes[:3])
    status, _, errors = check(fixes[0]["script"], tmp_path, "mark-fixed")
    assert status == 0 and errors == []


def test_closest_beats_stap_order_on_its_own_list():
    # stap lists alternatives in DWARF order; the one a typo meant comes first here
    alternatives = ["fd", "udp", "buffer", "error", "log", "number", "buffered", "requests"]
    assert closest("numbr", alternatives)[0] == "number"
    assert closest("requets", alternatives)[0] == "requests"
    assert closest("ngx_close_conection", ["ngx_free_connection", "ngx_close_connection", "ngx_get_connection"])[0] \
        == "ngx_close_connection"


@pytest.mark.stap
def test_stap_fix_lists_the_fixes_and_puts_one_below_as_the_next_cell(stap_bpf, demo_program, tmp_path, capsys):
    """Where no JupyterLab extension rewrites the cell, %stap_fix N gives the fixed cell as the
    next input (set_next_input), under the failed cell's own %%stap line."""
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "stapbench")
    ip.run_line_magic("config", f"StapMagics.transcript_dir = {str(tmp_path / 'runs')!r}")
    try:
        with pytest.raises(UsageError, match="no %%stap cell has run yet"):
            ip.run_line_magic("stap_fix", "")
        line = f"--check --runtime bpf -c '{demo_program} 1'"
        cell = f'probe process("{demo_program}").function("handle_request") {{\n  printf("%d\\n", $r->numbr)\n}}\n'
        ip.run_cell_magic("stap", line, cell)
        capsys.readouterr()
        ip.run_line_magic("stap_fix", "")
        listed = capsys.readouterr().out.splitlines()
        assert listed[0] == "1. ->number", listed
        assert listed[-1] == "%stap_fix N puts fix N below as a new cell"
        ip.rl_next_input = None
        ip.run_line_magic("stap_fix", "1")
        assert ip.rl_next_input == f"%%stap {line}\n" + cell.replace("numbr", "number")
        assert "the cell with ->number is below" in capsys.readouterr().out
        with pytest.raises(UsageError, match="not 99"):
            ip.run_line_magic("stap_fix", "99")
    finally:
        ip.run_line_magic("unload_ext", "stapbench")


def test_a_fix_bar_carries_each_script_highlighted_and_escaped():
    from stapbench.authoring.fixes import Fix
    from stapbench.views.fixbar import FixBar

    bar = FixBar([Fix("->number", '%%stap -x 1 <b>\nprobe begin { printf("<img src=x>\\n") }\n')])
    html = bar.fixes[0]["html"]
    assert "<img" not in html and "&lt;img src=x&gt;" in html and "&lt;b&gt;" in html
    assert '<span class="k">probe</span>' in html and html.startswith('<span class="cm">%%stap -x 1 &lt;b&gt;</span>\n')
    assert ".stapbench-fixbar .sbf-script .k {" in bar._css  # Pygments' colours, scoped to the script
