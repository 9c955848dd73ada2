"""The struct printer for the BPF runtime (where stap refuses ``$c$``): generated from DWARF,
run on the real nginx, its output parsed as the same struct tree a kernel-runtime dump gives,
with the bit-fields right."""

from __future__ import annotations

import shutil

import pytest

from stapbench.authoring.printer import Field, printer, printer_probe, struct_fields
from stapbench.model import StructDump
from stapbench.runner import run
from stapbench.symbols import Symbolizer


def test_a_bit_field_is_read_through_its_word_with_shift_and_mask():
    fields = [Field("fd", "int", 24), Field("destroyed", "unsigned int", 217, 1, 1741),
              Field("log_error", "unsigned int", 217, 3, 1736), Field("name", "char[16]", 40)]
    code = printer("$c", fields)
    assert code == ('printf("$c {.fd=%ld, .destroyed=%lu, .log_error=%lu}\\n", $c->fd, '
                    "((user_uint32($c + 217) >> 5) & 0x1), ((user_uint32($c + 217) >> 0) & 0x7))")


def test_long_structs_are_split_into_short_printf_calls_on_one_line():
    fields = [Field(f"member_{i}", "long", 8 * i) for i in range(40)]
    calls = printer("$c", fields).splitlines()
    assert len(calls) > 1 and all(len(c.split('"')[1]) <= 200 for c in calls)
    assert sum(c.count("$c->") for c in calls) == 40
    assert [c.split('"')[1].endswith("\\n") for c in calls] == [False] * (len(calls) - 1) + [True]


def test_generated_printer_for_ngx_connection_runs_on_bpf_and_renders_as_a_tree(
        stap_bpf, nginx_server, tmp_path, no_stap_left):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    binary = str(nginx_server.binary)
    fields = struct_fields(Symbolizer(), binary, "ngx_connection_t*")
    names = {f.name for f in fields}
    assert {"fd", "number", "log", "timedout", "destroyed", "log_error", "tcp_nodelay"} <= names
    assert "addr_text" not in names  # an ngx_str_t held by value
    chosen = ["fd", "number", "requests", "sent", "log", "type", "buffered", "log_error", "timedout", "error",
              "destroyed", "pipeline", "idle", "reusable", "close", "tcp_nodelay"]
    script = printer_probe(f'process("{binary}").function("ngx_close_connection")', "$c",
                           [f for f in fields if f.name in chosen])
    assert "not printed" not in script
    everything = printer_probe("begin", "$c", fields)
    assert "# not printed (one BPF probe's stack holds 16): " in everything
    trigger = ["curl", "-s", "-H", "Connection: close", nginx_server.url, nginx_server.url]
    r = run(script, pid=nginx_server.worker_pids[0], runtime="bpf", trigger=trigger, timeout=180, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished", (r.stop_reason, r.raw("stderr"))
    dumps = [e for e in r.events if isinstance(e, StructDump)]
    assert len(dumps) == 2, [e.raw for e in r.events]
    from stapbench.model.serialize import event_to_json

    values = [event_to_json(d)["value"] for d in dumps]
    for v in values:
        assert v["fd"] > 0 and v["log"].startswith("0x") and v["type"] == 1, v  # SOCK_STREAM
        # ngx_http_close_connection sets c->destroyed = 1 before it calls ngx_close_connection;
        # ngx_http_init_connection gave it log_error = NGX_ERROR_INFO (2: ALERT, ERR, INFO; a
        # 3-bit field); nothing timed out, failed or idled
        assert (v["destroyed"], v["log_error"], v["timedout"], v["error"], v["idle"]) == (1, 2, 0, 0, 0), v
    assert values[1]["number"] == values[0]["number"] + 1  # one new connection per request


def test_member_tree_opens_structs_by_value_and_follows_pointers_one_hop(nginx_build_binary):
    from stapbench.authoring.printer import member_tree

    members = {m.path: m for m in member_tree(Symbolizer(), nginx_build_binary, "ngx_connection_t*")}
    # a struct held by value: a group, its members below with their own paths
    assert members["addr_text"].group and members["addr_text"].field is None
    assert members["addr_text->len"].depth == 1 and members["addr_text->len"].field.name == "addr_text->len"
    # a pointer to a struct: printable itself (its address) and followed one hop, read from it
    assert members["log"].group and members["log"].field is not None
    assert members["log->log_level"].base == "log" and members["log->log_level"].field.name == "log_level"
    assert members["log->log_level"].field.offset == 0  # from the ngx_log_t it points to
    assert "log->file->fd" not in members  # one hop only
    assert members["destroyed"].field.bit_size == 1  # a bit-field, read through its word
    assert members["listening->addr_text->data"].base == "listening"  # nested inside a followed pointer


@pytest.fixture
def nginx_build_binary():
    from tests.support.nginx_build import find_nginx_build

    build = find_nginx_build()
    if build is None:
        pytest.skip("no nginx build in .work/nginx (run bash .ci/provision)")
    return str(build.binary)


def test_a_printer_of_chosen_members_at_any_depth_runs_on_bpf(stap_bpf, nginx_server, tmp_path, no_stap_left):
    """What the struct browser writes, run on the real nginx: the root struct's members (one of
    them inside a struct held by value, one a bit-field) and a followed pointer's, each line
    parsed as a struct tree with the values nginx holds."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    from stapbench.authoring.printer import member_tree, members_printer_probe
    from stapbench.model.serialize import event_to_json

    binary = str(nginx_server.binary)
    members = member_tree(Symbolizer(), binary, "ngx_connection_t*")
    chosen = ["fd", "number", "addr_text->len", "destroyed", "log->log_level", "log->connection"]
    script = members_printer_probe(f'process("{binary}").function("ngx_close_connection")', "$c", members, chosen,
                                   name="ngx_close_connection")
    trigger = ["curl", "-s", "-H", "Connection: close", nginx_server.url]
    r = run(script, pid=nginx_server.worker_pids[0], runtime="bpf", trigger=trigger, timeout=180, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished", (r.stop_reason, r.raw("stderr"), script)
    dumps = [event_to_json(e) for e in r.events if isinstance(e, StructDump)]
    assert [d["prefix"].strip() for d in dumps] == ["ngx_close_connection $c$", "ngx_close_connection $c->log$"], \
        [e.raw for e in r.events]
    from stapbench.views.valuetree import dump_title

    assert [dump_title(e) for e in r.events if isinstance(e, StructDump)] == ["$c$", "$c->log$"]  # titled as $var$
    root, log = dumps[0]["value"], dumps[1]["value"]
    assert root["fd"] > 0 and root["destroyed"] == 1
    assert root["addr_text"] == {"len": len("127.0.0.1")}  # the client's address text, by value
    assert log["connection"] == root["number"]  # ngx_http_init_connection: c->log->connection = c->number
    assert log["log_level"] >= 0
