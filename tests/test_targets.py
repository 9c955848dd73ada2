"""The throw-away nginx the notebooks and tests trace."""

import os
import urllib.request

import pytest

from stapbench.targets import NginxServer


def test_nginx_serves_on_loopback_and_stops_cleanly(nginx_binary):
    server = NginxServer(nginx_binary).start()
    try:
        workers = server.worker_pids
        assert len(workers) == 1 and workers[0] != server.pid
        body = urllib.request.urlopen(server.url, timeout=5).read()
        assert b"stapbench test page" in body
        status = urllib.request.urlopen(server.url + "status", timeout=5).read().decode()
        assert "server accepts handled requests" in status
    finally:
        server.stop()
    for pid in [server.pid, *workers]:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_missing_binary_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="provision"):
        NginxServer(tmp_path / "nope")


def test_nginx_is_stopped_when_the_process_that_started_it_exits(nginx_binary, tmp_path):
    """A notebook closed without its clean-up cell: the kernel's exit stops nginx (its own
    session would otherwise outlive the kernel)."""
    import subprocess
    import sys

    code = ("import sys; from stapbench.targets import NginxServer\n"
            f"s = NginxServer({str(nginx_binary)!r}).start()\n"
            "print(s.pid, *s.worker_pids, flush=True)\n")  # exits without s.stop()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_default_nginx_source_is_the_tree_the_build_names(nginx_build, monkeypatch):
    from stapbench.targets import default_nginx_source

    monkeypatch.delenv("STAPBENCH_NGINX_SOURCE", raising=False)
    tree = default_nginx_source()
    assert (tree / "src" / "core" / "ngx_connection.c").is_file()
    assert tree.resolve() == nginx_build.source.resolve()
    monkeypatch.setenv("STAPBENCH_NGINX_SOURCE", "/elsewhere")
    assert str(default_nginx_source()) == "/elsewhere"


# --------------------------------------------------------------------------- composed output

def test_composed_nginx_close_replays_as_the_kernel_runtime_prints_it(nginx_binary, tmp_path):
    """record_nginx_close: a run folder whose replay parses into the printf line, a 19-frame
    backtrace of real symbols, and $c$ / $c$$ with ngx_connection_t's DWARF members in order."""
    from stapbench.model import Backtrace, StructDump, TextLine
    from stapbench.runner import replay
    from stapbench.symbols import Symbolizer
    from stapbench.targets.compose import (
        NGINX_CLOSE_CHAIN, STAP_DUMP_ARGS, record_nginx_close, symbols,
    )

    folder = record_nginx_close(nginx_binary, tmp_path / "close", values={"number": "41", "fd": "9"}, hits=2)
    run = replay(folder)
    assert run.exit_status == 0 and "(@1)" in run.script and str(nginx_binary) in run.argv
    texts = [e.text for e in run.events if isinstance(e, TextLine)]
    assert texts == ["close #41 fd=9", "close #42 fd=9"]
    backtraces = [e for e in run.events if isinstance(e, Backtrace)]
    assert len(backtraces) == 2
    frames = backtraces[0].frames
    assert [f.symbol for f in frames] == NGINX_CLOSE_CHAIN
    syms = symbols(nginx_binary)
    for f in frames:
        assert f.size == syms[f.symbol].size and 0 <= f.offset < f.size and f.module == str(nginx_binary)
    shallow, deep = [e for e in run.events if isinstance(e, StructDump)][:2]
    assert shallow.prefix == "$c$=" and deep.prefix == "$c$$="
    members = list(Symbolizer().member_types(str(nginx_binary), "ngx_connection_t"))
    for dump in (shallow, deep):
        names = [m.name for m in dump.value.members]
        assert names == members[:len(names)] and dump.value.more  # stap's `...` after 32 values
        by_name = {m.name: m.value for m in dump.value.members}
        assert by_name["number"].text == "41" and by_name["fd"].text == "9"
    assert {m.name: m.value for m in shallow.value.members}["addr_text"].text == "{...}"
    addr = {m.name: m.value for m in deep.value.members}["addr_text"]
    assert [(m.name, getattr(m.value, "text", None)) for m in addr.members] == [("len", "9"), ("data", '"127.0.0.1"')]
    scalars = sum(1 for m in deep.value.members if not hasattr(m.value, "members"))
    nested = sum(len(m.value.members) for m in deep.value.members if hasattr(m.value, "members"))
    assert scalars + nested == STAP_DUMP_ARGS


def test_load_keeps_the_server_busy_and_says_what_it_got(nginx_binary):
    """python -m stapbench.targets.load: replies counted by status, exit 0; refused: exit 2."""
    import re
    import subprocess
    import sys

    with NginxServer(nginx_binary) as server:
        done = subprocess.run([sys.executable, "-m", "stapbench.targets.load", server.url, "--seconds", "1",
                               "--clients", "2"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done
    m = re.fullmatch(r"(\d+) requests in 1\.\d s \(\d+/s\) from 2 clients: (\d+) x 200; no errors\n", done.stdout)
    assert m and int(m[1]) == int(m[2]) > 10, done.stdout
    refused = subprocess.run([sys.executable, "-m", "stapbench.targets.load", f"http://127.0.0.1:{server.port}/",
                              "--seconds", "0.5"], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "0 requests" in refused.stdout and "ConnectionRefusedError" in refused.stdout
