"""Completion inside ``%%stap`` cells: the engine on its own, then through the Jupyter protocol
(``complete_request`` to a real IPython kernel), with the real stap listing of the nginx build
and its DWARF."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from stapbench.authoring.catalog import CatalogCache
from stapbench.authoring.completion import StapCompleter
from stapbench.symbols import Symbolizer


def complete(engine, cell: str, cursor: int | None = None):
    cursor = len(cell) if cursor is None else cursor
    result = engine.complete(cell, cursor)
    assert result is not None, cell
    assert result.end == cursor
    return cell[result.start: cursor], result.texts


@pytest.fixture(scope="module")
def plain_engine(tmp_path_factory):
    return StapCompleter(catalogs=CatalogCache(directory=tmp_path_factory.mktemp("probes")))


@pytest.fixture(scope="module")
def stap_listing():
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")


@pytest.fixture(scope="module")
def nginx_engine(tmp_path_factory, stap_listing):
    from .support.nginx_build import find_nginx_build

    build = find_nginx_build()
    if build is None:
        pytest.skip("no nginx build in .work/nginx (run bash .ci/provision)")
    cache = CatalogCache(directory=tmp_path_factory.mktemp("probes"))
    return build.binary, StapCompleter(catalogs=cache, symbolizer=Symbolizer())


def test_not_a_stap_cell_is_left_to_python(plain_engine):
    assert plain_engine.complete("x = pro", 7) is None


def test_magic_line_options(plain_engine):
    fragment, texts = complete(plain_engine, "%%stap --run")
    assert fragment == "--run" and texts == ["--runtime"]
    fragment, texts = complete(plain_engine, "%%stap --runtime b")
    assert fragment == "b" and texts == ["bpf"]
    _, texts = complete(plain_engine, "%%stap -")
    assert {"-x", "--pid", "-c", "--trigger", "--check", "--bg", "--out", "--timeout"} <= set(texts)
    # a {python} expansion on the magic line is Python's to complete
    assert plain_engine.complete("%%stap -x {work", 15) is None


@pytest.mark.parametrize("cell, fragment, first", [
    ("%%stap\nprobe pro", "pro", "process("),
    ("%%stap\nprobe begin, ti", "ti", "timer."),
    ("%%stap\nprobe timer.", "", None),
    ('%%stap\nprobe process("/bin/true").fun', "fun", "function("),
    ('%%stap\nprobe process("/bin/true").function("main").re', "re", "return"),
    ('%%stap\nprobe kernel.tr', "tr", "trace("),
    ('%%stap\nprobe process("/bin/true").sta', "sta", "statement("),
    ('%%stap\nprobe process("/bin/true").ma', "ma", "mark("),
    ("%%stap\nprobe be", "be", "begin"),
    ("%%stap\nprobe en", "en", "end"),
])
def test_probe_point_kinds(plain_engine, cell, fragment, first):
    got_fragment, texts = complete(plain_engine, cell)
    assert got_fragment == fragment
    if first is None:
        assert {"s(", "ms(", "profile"} <= set(texts)
    else:
        assert texts[0] == first


def test_body_names_are_stap_names(plain_engine):
    fragment, texts = complete(plain_engine, "%%stap\nglobal counts\nprobe begin { cou")
    assert fragment == "cou" and texts[0] == "counts"  # the script's own global, closest first
    _, texts = complete(plain_engine, "%%stap\nprobe begin { exec")
    assert texts[0] == "execname"  # a tapset function
    _, texts = complete(plain_engine, "%%stap\nprobe begin { @ca")
    assert texts == ["@cast("]
    # nothing inside a string or a comment
    assert complete(plain_engine, '%%stap\nprobe begin { x = "exec')[1] == []
    assert complete(plain_engine, "%%stap\nprobe begin { # exec")[1] == []


def test_function_names_of_the_target_binary(nginx_engine):
    nginx, engine = nginx_engine
    fragment, texts = complete(engine, f'%%stap\nprobe process("{nginx}").function("ngx_close_con')
    assert fragment == "ngx_close_con"
    assert texts[0] == "ngx_close_connection"
    assert all("close" in t for t in texts)
    # a bare process probe takes its binary from -c on the %%stap line
    _, texts = complete(engine, f'%%stap -c "{nginx} -t"\nprobe process.function("ngx_close_con')
    assert texts[0] == "ngx_close_connection"


def test_context_variables_and_members_from_dwarf(nginx_engine):
    nginx, engine = nginx_engine
    head = f'%%stap\nprobe process("{nginx}").function("ngx_close_connection")'
    fragment, texts = complete(engine, head + ' {\n  printf("%d", $c->num')
    assert fragment == "num" and texts == ["number"]
    _, texts = complete(engine, head + " {\n  x = $c->log->")
    assert {"log_level", "file", "handler"} <= set(texts)  # ngx_log_t, two levels down
    _, texts = complete(engine, head + " {\n  x = $")
    assert {"$c", "$err", "$log_error", "$level", "$fd", "$$parms"} <= set(texts) and "$return" not in texts
    _, texts = complete(engine, head + ".return {\n  x = $")
    assert "$return" in texts


def test_listing_is_cached_per_build_id(nginx_engine, tmp_path):
    nginx, engine = nginx_engine
    cache = engine.catalogs
    cache.get(nginx)
    runs = cache.stap_runs
    assert cache.get(nginx).function("ngx_close_connection").file == "src/core/ngx_connection.c"
    assert cache.stap_runs == runs  # a memory hit
    # a new cache (a new kernel) reads the same build's listing from disk: no stap
    again = CatalogCache(directory=cache.directory, stap="/nonexistent/stap")
    entry = again.get(nginx).function("ngx_close_connection")
    assert again.stap_runs == 0 and ("$c", "ngx_connection_t*") in entry.params
    assert entry == cache.get(nginx).function("ngx_close_connection")  # the probe point string too


def test_a_cold_listing_does_not_hold_up_a_completion(tmp_path, demo_program):
    """A first stap -L takes seconds (nginx: many); a completion waits listing_wait at most, then
    answers without names while the listing goes on, once, for the next request."""
    slow = tmp_path / "stap"
    slow.write_text(f"#!{sys.executable}\n"
                    "import sys, time\n"
                    "time.sleep(2)\n"
                    "if 'function' in sys.argv[-1]:\n"
                    "    print(sys.argv[-1].replace('*', 'handle_request@demo.c:33') + ' $r:struct request*')\n")
    slow.chmod(0o755)
    engine = StapCompleter(catalogs=CatalogCache(directory=tmp_path / "probes", stap=str(slow)), listing_wait=0.2)
    cell = f'%%stap\nprobe process("{demo_program}").function("handle_r'
    started = time.monotonic()
    assert complete(engine, cell)[1] == []
    assert complete(engine, cell)[1] == []  # asked again while it lists: no second stap
    assert time.monotonic() - started < 1.5
    deadline = time.monotonic() + 30
    while not (texts := complete(engine, cell)[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert texts == ["handle_request"] and engine.catalogs.stap_runs == 1


# --- through the Jupyter protocol ------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")))
    try:
        reply = kc.execute_interactive("%load_ext stapbench\nurl = 'a python name'\nnumber_of_things = 3\n"
                                       "ngx_close_python = 1", timeout=120)
        assert reply["content"]["status"] == "ok"
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def complete_request(kc, code: str, cursor: int | None = None):
    cursor = len(code) if cursor is None else cursor
    msg_id = kc.complete(code, cursor)
    reply = kc.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == msg_id
    content = reply["content"]
    assert content["status"] == "ok"
    return code[content["cursor_start"]: content["cursor_end"]], content["matches"]


def test_kernel_completes_function_names_and_members(kernel, nginx_engine):
    nginx, _ = nginx_engine
    head = f'%%stap\nprobe process("{nginx}").function("'
    started = time.monotonic()
    fragment, matches = complete_request(kernel, head + "ngx_close_con")
    first = time.monotonic() - started
    assert first < 10, first  # a cold stap -L of nginx goes on in the background: the reply does not wait
    deadline = time.monotonic() + 300
    while not matches and time.monotonic() < deadline:  # the next Tab finds the listing
        time.sleep(0.5)
        fragment, matches = complete_request(kernel, head + "ngx_close_con")
    assert fragment == "ngx_close_con" and matches[0] == "ngx_close_connection"
    cell = head + 'ngx_close_connection") {\n  printf("%d\\n", $c->num'
    fragment, matches = complete_request(kernel, cell)
    assert fragment == "num" and matches == ["number"]


@pytest.mark.parametrize("cell", [
    "%%stap\nprobe begin { ur",  # no stap name starts so: still no Python `url`
    "%%stap\nprobe begin { num",
    '%%stap\nprobe begin { printf("%d", $r->ur',  # an unknown $r: nothing, not Python's `url`
    "%%stap\nprobe begin { x = 1 }\n",
])
def test_no_python_name_inside_a_stap_cell(kernel, cell):
    _, matches = complete_request(kernel, cell)
    assert not {"url", "number_of_things", "ngx_close_python", "__name__"} & set(matches), matches


def test_python_cells_still_complete_python(kernel):
    fragment, matches = complete_request(kernel, "number_of")
    assert fragment == "number_of" and "number_of_things" in matches
    # the {python} expansion of a %%stap line too
    _, matches = complete_request(kernel, "%%stap -x {number_of", len("%%stap -x {number_of"))
    assert "number_of_things" in matches
