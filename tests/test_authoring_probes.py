"""The probe browser's data: ``stapbench probes --json`` on the real nginx build, a pid's
libraries, the ready probe cell (it runs on the BPF runtime and prints real values)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from stapbench.authoring.catalog import CatalogCache
from stapbench.authoring.probes import format_of, mapped_libraries, search, skeleton, targets
from stapbench.runner import run
from stapbench.symbols import Symbolizer

from .support.paths import PROJECT


@pytest.fixture(scope="module")
def nginx_catalog(tmp_path_factory, nginx_for_listing):
    return CatalogCache(directory=tmp_path_factory.mktemp("probes")).get(nginx_for_listing.binary)


def test_cli_probes_json_lists_the_function_with_source_and_params(nginx_catalog, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(PROJECT), XDG_CACHE_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "stapbench", "probes", nginx_catalog.binary, "close_conn", "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    first = rows[0]
    assert first["name"] == "ngx_close_connection"
    assert first["file"] == "src/core/ngx_connection.c" and first["line"] > 0
    assert {"name": "$c", "type": "ngx_connection_t*"} in first["params"]
    assert all("close" in r["name"] for r in rows)
    # the second run reads the build-id cache the first one wrote
    assert list((tmp_path / "stapbench" / "probes").glob("*.json"))
    # a name that matches nothing: exit status 1, nothing printed
    miss = subprocess.run([sys.executable, "-m", "stapbench", "probes", nginx_catalog.binary, "zzzzqqq"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert miss.returncode == 1 and miss.stdout == ""


def test_search_ranks_by_closeness(nginx_catalog):
    names = [m.entry.name for m in search([nginx_catalog], "close_connection", 4)]
    assert names[0] == "ngx_close_connection" or names[0].endswith("close_connection")
    assert "ngx_close_connection" in names[:2]
    assert [m.entry.name for m in search([nginx_catalog], "ngx_close_connection")][0] == "ngx_close_connection"


def test_a_pid_is_its_executable_and_mapped_libraries():
    binaries, pid = targets(os.getpid())
    assert pid == os.getpid()
    assert binaries[0] == os.path.realpath(sys.executable)
    assert any(re.search(r"/libc[.-]", b) for b in binaries)  # the C library, mapped executable
    assert len(binaries) == len(set(binaries)) == 1 + len([b for b in mapped_libraries(pid) if b != binaries[0]])


@pytest.mark.parametrize("type_, directive", [
    ("ngx_connection_t*", "0x%lx"), ("char *", "0x%lx"), ("int", "%ld"), ("ngx_int_t", "%ld"),
    ("ngx_uint_t", "%lu"), ("size_t", "%lu"), ("unsigned int", "%lu"), ("struct ngx_str_s", None),
    ("char[16]", None), ("double", None),
])
def test_formats_are_64_bit_and_skip_what_printf_cannot_take(type_, directive):
    assert format_of(type_) == directive


def test_skeleton_prints_formal_parameters_only(nginx_catalog):
    s = Symbolizer()
    cell = skeleton(nginx_catalog.function("ngx_http_process_request_line"), nginx_catalog.binary, symbolizer=s)
    # stap -L lists its locals (n, rc, rv, host, c, r) too: unset at entry, left out
    assert 'printf("ngx_http_process_request_line rev=0x%lx\\n", $rev)' in cell
    cell = skeleton(nginx_catalog.function("ngx_http_finalize_request"), nginx_catalog.binary, pid=42, symbolizer=s)
    assert cell.startswith("%%stap -x 42\nprobe process(")
    assert "r=0x%lx rc=%ld" in cell


def test_skeleton_runs_on_bpf_and_prints_real_values(nginx_catalog, stap_bpf, nginx_server, tmp_path, no_stap_left):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    entry = nginx_catalog.function("ngx_http_finalize_request")
    cell = skeleton(entry, str(nginx_server.binary), symbolizer=Symbolizer())
    script = cell.split("\n", 1)[1]  # the body under the %%stap line
    trigger = ["curl", "-s", "-H", "Connection: close", nginx_server.url, nginx_server.url]
    r = run(script, pid=nginx_server.worker_pids[0], runtime="bpf", trigger=trigger, timeout=120, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished", (r.stop_reason, r.raw("stderr"))
    hits = [re.fullmatch(r"ngx_http_finalize_request r=0x([0-9a-f]+) rc=(-?\d+)", e.text)
            for e in r.events if e.type == "text"]
    hits = [m for m in hits if m]
    assert len(hits) >= 2, [e.raw for e in r.events]
    assert all(int(m[1], 16) > 0x1000 for m in hits)  # a real request pointer
    assert {int(m[2]) for m in hits} & {0, -4, 200}  # NGX_OK / NGX_DONE / an HTTP status


PYTHON_WITH_SDT = "/usr/bin/python3.11"  # Debian's python3.11 is built with SDT markers


@pytest.fixture(scope="module")
def sdt_catalog(tmp_path_factory):
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    if not os.path.exists(PYTHON_WITH_SDT):
        pytest.skip(f"no {PYTHON_WITH_SDT} (Debian's python3.11 package has SDT markers)")
    cache = CatalogCache(directory=tmp_path_factory.mktemp("probes"))
    return cache, cache.get(PYTHON_WITH_SDT)


def test_sdt_markers_are_listed_searched_and_get_a_probe_cell(sdt_catalog):
    _cache, sdt_catalog = sdt_catalog
    names = {m.name for m in sdt_catalog.marks}
    assert {"function__entry", "function__return", "gc__done"} <= names
    top = search([sdt_catalog], "function__ent", 1)[0]
    assert top.entry.kind == "mark" and top.entry.name == "function__entry"
    cell = skeleton(top.entry, sdt_catalog.binary)
    assert 'probe process("/usr/bin/python3.11").mark("function__entry") {' in cell
    assert 'printf("function__entry arg1=%ld arg2=%ld arg3=%ld\\n", $arg1, $arg2, $arg3)' in cell


def test_a_misspelled_mark_gets_the_closest_marker(sdt_catalog):
    cache, _catalog = sdt_catalog  # the listing is in this cache: no second stap -L
    from stapbench.authoring.fixes import FixFinder
    from stapbench.model import Diagnostic

    script = 'probe process("/usr/bin/python3.11").mark("function_entry") { printf("x\\n") }\n'
    finder = FixFinder(script, catalogs=cache)
    where = Diagnostic(raw="", severity="error", kind="semantic", message="while resolving probe point", line=1, column=7)
    assert finder.fixes(where) == []
    fixes = finder.fixes(Diagnostic(raw="", severity="error", kind="semantic", message="no match", line=1, column=7))
    assert fixes[0].title == 'mark("function__entry")'
    assert fixes[0].script == script.replace('"function_entry"', '"function__entry"')
    # after the markers, the .function probes that fit the name
    kinds = [f.title.split("(")[0] for f in fixes]
    assert "function" in kinds and kinds.index("function") > kinds.index("mark") and "mark" not in kinds[kinds.index("function"):]
    assert any(f.script.count('.function("') == 1 for f in fixes)


def test_a_glob_query_matches_whole_names_as_stap_globs_do():
    from stapbench.authoring.ranking import rank

    names = ["ngx_http_request_body", "ngx_http_finalize_request", "ngx_http_free_request", "a.b", "axb", "A_B"]
    assert rank("ngx_http_*request", names) == ["ngx_http_free_request", "ngx_http_finalize_request"]
    assert rank("a?b", names) == ["A_B", "a.b", "axb"]  # case-insensitive, ? is one character
    assert rank("a.b", names) == ["a.b"]  # no glob: '.' is itself
    assert rank("*zzz*", names) == []


def test_a_mark_probe_completes_its_marker_names_and_its_args(sdt_catalog):
    cache, _catalog = sdt_catalog  # the listing is in this cache: no second stap -L
    from stapbench.authoring.completion import StapCompleter

    engine = StapCompleter(catalogs=cache)
    head = f'%%stap\nprobe process("{PYTHON_WITH_SDT}").mark("'
    result = engine.complete(head + "function__e", len(head) + len("function__e"))
    assert result.texts[0] == "function__entry"
    cell = head + 'function__entry") {\n  printf("%d\\n", $ar'
    texts = engine.complete(cell, len(cell)).texts
    assert texts[:3] == ["$arg1", "$arg2", "$arg3"] and "$return" not in texts


def test_selecting_a_marker_shows_where_it_is(tmp_path):
    """stap -L says nothing of where an SDT marker is: its ELF note's address does, so the probe
    browser shows the function holding it and its source line (DWARF), like a function's."""
    import re

    from stapbench.symbols import Symbolizer
    from stapbench.symbols.sdt import sdt_markers
    from stapbench.views.probebrowser import ProbeBrowser

    from .support.programs import PROGRAMS, build_program

    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    if not any(os.path.exists(p) for p in ("/usr/include/sys/sdt.h", "/usr/include/x86_64-linux-gnu/sys/sdt.h")):
        pytest.skip("no sys/sdt.h (apt-get install systemtap-sdt-dev; .ci/provision does it)")
    program = build_program("marks", tmp_path)
    markers = {m.name: m for m in sdt_markers(str(program))}
    assert set(markers) == {"request__start", "request__done"} and markers["request__start"].provider == "demo"
    catalog = CatalogCache(directory=tmp_path / "probes").get(program)
    browser = ProbeBrowser([catalog], symbolizer=Symbolizer())
    index = next(i for i, m in enumerate(browser._matches) if m.entry.kind == "mark" and m.entry.name == "request__done")
    html = browser.describe(index)["source_html"]
    source = (PROGRAMS / "marks.c").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "DTRACE_PROBE1(demo, request__done" in text)
    assert 'mark(&quot;request__done&quot;) in serve' in html and f"marks.c:{line}" in html
    # the snippet holds the marker's own line, numbered as in the file
    text = re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    assert f"{line}" in text and "DTRACE_PROBE1(demo, request__done, cost);" in text.replace("&#x27;", "'")
