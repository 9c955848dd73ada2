"""Symbolization against the real nginx 1.22.1 build (-g -O0, Debian's source package).

Skipped, with the reason, when the build is not provisioned.  Expected lines come from the
nginx source text and from binutils' addr2line, never from the code under test.
"""

from __future__ import annotations

import shutil

import pytest

from stapbench.model.events import Frame
from stapbench.symbols import Symbolizer
from tests.test_symbols import addr2line, call_return_offset, nm_function, source_line

pytestmark = pytest.mark.nginx
CONNECTION_C = "src/core/ngx_connection.c"
REQUEST_C = "src/http/ngx_http_request.c"


def nginx_frame(build, symbol: str, offset: int, **kw) -> Frame:
    return Frame(address=None, symbol=symbol, offset=offset, module=str(build.binary), **kw)


def test_close_connection_offsets_match_addr2line(nginx_build):
    start, size = nm_function(nginx_build.binary, "ngx_close_connection")
    sym = Symbolizer()
    locs = [sym.locate(nginx_frame(nginx_build, "ngx_close_connection", off)) for off in range(size)]
    assert {loc.file for loc in locs} == {CONNECTION_C}
    assert all(loc.path == nginx_build.source / CONNECTION_C for loc in locs)
    assert [loc.line for loc in locs] == addr2line(nginx_build.binary, [start + off for off in range(size)])
    # the entry is the line after `ngx_close_connection(ngx_connection_t *c)`: its opening brace
    signature = source_line(nginx_build.source / CONNECTION_C, "ngx_close_connection(ngx_connection_t *c)")
    assert locs[0].line == signature + 1
    # the function's own call to free the connection (the other one is in another function)
    free_lines = [i for i, row in enumerate((nginx_build.source / CONNECTION_C).read_text().splitlines(), 1)
                  if row == "    ngx_free_connection(c);"]
    assert len(free_lines) == 1 and free_lines[0] in {loc.line for loc in locs}

def test_caller_frame_points_at_the_call(nginx_build):
    # ngx_http_close_connection -> ngx_close_connection: the return address's line is the call's
    offset = call_return_offset(nginx_build.binary, "ngx_http_close_connection", "ngx_close_connection")
    sym = Symbolizer()
    leaf, caller = sym.locate_backtrace([nginx_frame(nginx_build, "ngx_close_connection", 0),
                                         nginx_frame(nginx_build, "ngx_http_close_connection", offset)])
    assert leaf.file == CONNECTION_C and caller.file == REQUEST_C
    assert caller.line == source_line(nginx_build.source / REQUEST_C, "    ngx_close_connection(c);")
    snippet = sym.source_snippet(caller, context=2)
    assert snippet.lines[2].strip() == "ngx_close_connection(c);" and snippet.target_line == caller.line


def test_relative_names_resolve_against_a_source_root(nginx_build, tmp_path):
    root = tmp_path / "my-nginx-checkout"
    (root / "src" / "core").mkdir(parents=True)
    shutil.copy(nginx_build.source / CONNECTION_C, root / CONNECTION_C)
    sym = Symbolizer(source_roots=[root])
    loc = sym.locate(nginx_frame(nginx_build, "ngx_close_connection", 0x20))
    assert loc.file == CONNECTION_C and loc.path == root / CONNECTION_C  # source roots come before comp_dir
    # a file not under the root still falls back to the DWARF compilation directory
    other = sym.locate(nginx_frame(nginx_build, "ngx_http_close_connection", 0x10))
    assert other.path == nginx_build.source / REQUEST_C


def test_locate_function_in_nginx(nginx_build):
    loc = Symbolizer().locate_function(str(nginx_build.binary), "ngx_close_connection")
    text = (nginx_build.source / CONNECTION_C).read_text().splitlines()
    assert text[loc.line - 1].startswith("ngx_close_connection(")
    assert text[loc.end_line - 1] == "}" and loc.end_line > loc.line + 20
    assert all(row != "}" for row in text[loc.line:loc.end_line - 1])  # no function ended earlier


def test_second_symbolizer_lookup_is_cached(nginx_build):
    sym = Symbolizer()
    sym.locate(nginx_frame(nginx_build, "ngx_close_connection", 4))
    opened = sym.stats.modules_opened
    debug = sym.module(str(nginx_build.binary)).debug
    decoded = debug.tables_decoded
    sym.locate(nginx_frame(nginx_build, "ngx_close_connection", 8))
    assert sym.stats.modules_opened == opened and debug.tables_decoded == decoded


def test_listing_file_names_found_through_the_module(nginx_build):
    # `stap -L` prints `process(".../nginx").function("ngx_close_connection@src/core/ngx_connection.c:1176")`
    sym = Symbolizer()
    loc = sym.locate_source(CONNECTION_C, 1176, module=str(nginx_build.binary))
    assert loc.problem is None and loc.path == nginx_build.source / CONNECTION_C
    assert sym.source_snippet(loc, context=0).lines == [
        (nginx_build.source / CONNECTION_C).read_text().splitlines()[1175]]
    alone = sym.locate_source(CONNECTION_C, 1176)
    assert alone.problem == "no-source" and "source_roots" in alone.hint
    assert Symbolizer(source_roots=[nginx_build.source]).locate_source(CONNECTION_C, 1).problem is None
