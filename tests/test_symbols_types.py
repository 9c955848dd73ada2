"""C types from DWARF: struct members and function parameters, spelled as the source declares them."""

from __future__ import annotations

import re
import subprocess

import pytest

from stapbench.symbols import Symbolizer
from tests.support.nginx_build import nginx_build  # noqa: F401  (the fixture)
from tests.support.paths import FIXTURES
from tests.test_symbols import need

TYPES_C = FIXTURES / "symbols" / "types.c"


@pytest.fixture(scope="module")
def types_program(tmp_path_factory):
    out = tmp_path_factory.mktemp("types") / "types"
    subprocess.run([need("gcc"), "-g", "-O0", "-o", str(out), str(TYPES_C)], check=True)
    return out


def test_members_spelled_like_c(types_program):
    members = Symbolizer().member_types(str(types_program), "struct all")
    assert members == {
        "s": "const char *", "cp": "char *const", "ccp": "const char *const",
        "vp": "volatile long unsigned int *", "grid": "int[3][4]", "ptrs": "node_t *[2]",
        "parr": "char (*)[8]", "h": "handler_pt", "fp": "int (*)(const char *, int)",
        "flag": "unsigned int:1", "<union>": "union {...}", "<class>": "struct {...}",
        "n": "struct node", "vpp": "void **",
    }
    # the same struct through a typedef, a pointer, or its tag alone
    sym = Symbolizer()
    assert sym.member_types(str(types_program), "node_t") == {"v": "int"}
    assert sym.member_types(str(types_program), "const node_t *") == {"v": "int"}
    assert sym.member_types(str(types_program), "node") == {"v": "int"}
    assert sym.member_types(str(types_program), "struct no_such_type") == {}


def test_function_params_in_order(types_program, demo_program, demo_program_stripped):
    sym = Symbolizer()
    params = sym.function_params(str(types_program), "use")
    assert list(params.items()) == [("a", "struct all *"), ("n", "const node_t *"), ("h", "handler_pt")]
    assert sym.function_params(str(demo_program), "handle_middle") == {"r": "struct request *", "depth": "int"}
    assert sym.function_params(str(demo_program_stripped), "handle_middle") == {}  # no DWARF, no types


def declared_members(header_text: str, struct: str, names: list[str]) -> dict[str, str]:
    """``type name;`` lines of ``struct NAME {...}`` in a header, as 'type' / 'type *'."""
    body = header_text.split(f"struct {struct} {{", 1)[1].split("\n};", 1)[0]
    out = {}
    for name in names:
        m = re.search(rf"^\s+([\w ]+?)\s+(\**){name};", body, re.M)
        assert m, name
        out[name] = m.group(1) + (f" {m.group(2)}" if m.group(2) else "")
    return out


@pytest.mark.nginx
def test_nginx_connection_members_match_the_header(nginx_build):
    header = (nginx_build.source / "src/core/ngx_connection.h").read_text()
    names = ["data", "read", "fd", "log", "pool", "sockaddr", "number", "requests", "addr_text"]
    members = Symbolizer().member_types(str(nginx_build.binary), "ngx_connection_t")
    assert {n: members[n] for n in names} == declared_members(header, "ngx_connection_s", names)
    assert members["destroyed"] == "unsigned int:1"


@pytest.mark.nginx
def test_nginx_function_params_match_the_definition(nginx_build):
    text = (nginx_build.source / "src/http/ngx_http_request.c").read_text()
    signature = re.search(r"^ngx_http_finalize_request\((.*)\)$", text, re.M).group(1)
    expected = {}
    for decl in signature.split(","):
        m = re.match(r"\s*([\w ]+?)\s*(\**)(\w+)$", decl)
        expected[m.group(3)] = m.group(1) + (f" {m.group(2)}" if m.group(2) else "")
    assert Symbolizer().function_params(str(nginx_build.binary), "ngx_http_finalize_request") == expected
