"""``stap -L`` for real: probe points with file:line and typed parameters, and suggestions
where stap answers a pattern with silence."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest
from IPython.core.interactiveshell import InteractiveShell

from stapbench.runner.listing import list_probes

pytestmark = pytest.mark.stap


@pytest.fixture(scope="module")
def stap_installed():
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")


def demo_line(program_source, text: str) -> int:
    return next(i for i, line in enumerate(program_source.read_text().splitlines(), 1) if text in line)


def test_listing_gives_source_lines_and_typed_parameters(stap_installed, demo_program):
    from tests.support.programs import PROGRAMS

    result = list_probes(f'process("{demo_program}").function("handle_*")')
    assert result.exit_status == 0 and result.matched and not result.suggestions
    by_name = {item.function: item for item in result.listings}
    assert set(by_name) == {"handle_leaf", "handle_middle", "handle_request"}
    leaf = by_name["handle_leaf"]
    assert leaf.file.endswith("demo.c")
    assert leaf.line == demo_line(PROGRAMS / "demo.c", "int handle_leaf(struct request *r, int depth)")
    assert [(p.name, p.type) for p in leaf.params] == [("$r", "struct request*"), ("$depth", "int")]


def test_no_match_offers_the_closest_probe_points(stap_installed, demo_program):
    result = list_probes(f'process("{demo_program}").function("handle_lef")')
    assert result.exit_status == 1 and not result.matched
    assert result.suggestions[0] == f'process("{demo_program}").function("handle_leaf")'
    # every suggestion is itself a pattern stap matches
    again = list_probes(result.suggestions[0], suggest=False)
    assert [item.function for item in again.listings] == ["handle_leaf"]


def test_nginx_listing_knows_ngx_close_connection(stap_installed, nginx_binary):
    result = list_probes(f'process("{nginx_binary}").function("ngx_close_conection")')
    assert not result.matched
    assert f'process("{nginx_binary}").function("ngx_close_connection")' in result.suggestions
    exact = list_probes(f'process("{nginx_binary}").function("ngx_close_connection")')
    (item,) = exact.listings
    assert (item.file, item.params[0].name, item.params[0].type) == (
        "src/core/ngx_connection.c", "$c", "ngx_connection_t*")


def test_a_listing_that_hangs_is_killed_with_its_group(tmp_path):
    slow = tmp_path / "stap"
    slow.write_text(f"#!{sys.executable}\nimport os, time\nos.fork()\ntime.sleep(60)\n")
    slow.chmod(0o755)
    started = time.monotonic()
    result = list_probes("begin", stap=str(slow), timeout=1.0)
    assert result.timed_out and result.exit_status is None and not result.suggestions
    assert time.monotonic() - started < 30
    # the stap stand-in and its forked child are gone (their session is empty)
    deadline = time.monotonic() + 10
    while processes_running(slow) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_running(slow) == []


def processes_running(path) -> list[int]:
    """Live (not zombie) processes whose command line runs ``path``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(arg == str(path).encode() for arg in cmdline):
            found.append(int(pid))
    return found


def test_stap_list_magic_shows_an_escaped_table(stap_installed, demo_program, capsys):
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "stapbench")
    shown = []
    try:
        import IPython.display as display_module

        original = display_module.display
        display_module.display = lambda obj, raw=False, **kw: shown.append(obj)
        ip.user_ns["prog"] = str(demo_program)
        ip.run_line_magic("stap_list", '--out found process("{prog}").function("handle_*")')
        ip.run_line_magic("stap_list", 'process("{prog}").function("<img src=x onerror=alert(1)>")')
    finally:
        display_module.display = original
        ip.run_line_magic("unload_ext", "stapbench")
    table, nomatch = shown
    assert table["text/html"].count('class="stapbench-listing-row"') == 3
    assert "struct request*" in table["text/html"] and "handle_leaf" in table["text/plain"]
    assert ip.user_ns["found"].matched
    assert "<img" not in nomatch["text/html"] and "&lt;img src=x" in nomatch["text/html"]
    assert "no match" in nomatch["text/plain"]
