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
