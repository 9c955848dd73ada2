"""``--remote``: stap's kernel runtime for real, compiled here in the lab's rootfs, run in its guest.

The investigation's own script against the lab's nginx while a client requests a normal location
and a ``return 444`` one; every format the kernel runtime prints; stopping a remote run every way
(SIGINT, --timeout, a SIGKILLed Python side, a killed Jupyter kernel) leaves no stap module in the
guest and no stap on this machine, and the next run starts cleanly; two labs in one run.

One lab is booted per session (tests/support/lab.py); each new script compiles once (tens of
seconds: kernel DWARF), reruns of the same script come from stap's cache.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import stapbench
from stapbench.lab import Lab
from stapbench.model.events import Backtrace, Diagnostic, StructDump, TextLine, VarsDump
from stapbench.runner import Run, replay
from stapbench.runner.process import live_processes_named
from stapbench.symbols import Symbolizer
from stapbench.views.static import render_html
from tests.support.lab import lab_unavailable, qemu_pids, wait_until
from stapbench.targets.nginx import default_nginx_source as nginx_source_dir

pytestmark = [pytest.mark.timeout(900), pytest.mark.stap]

if lab_unavailable():
    pytest.skip(lab_unavailable(), allow_module_level=True)

NGINX = "/opt/stapbench/nginx/sbin/nginx"

#: the investigation's script (README, issue 8)
INVESTIGATION = textwrap.dedent(f"""\
    probe process("{NGINX}").function("ngx_close_connection") {{
        printf("close #%d fd=%d\\n", $c->number, $c->fd)
        print_ubacktrace()
    }}
    probe kernel.function("tcp_reset") {{
        printf("RST received\\n")
    }}
    probe kernel.function("tcp_send_fin") {{
        printf("FIN sent %s\\n", $sk$)
    }}
    """)


def client(lab: Lab, *paths: str) -> list[str]:
    """A trigger (argv, no shell) requesting each path of the lab's nginx on a new connection;
    an empty reply (``return 444``) is expected, not a failure."""
    code = ("import sys, urllib.request\n"
            "for url in sys.argv[1:]:\n"
            "    try:\n"
            "        print(url, urllib.request.urlopen(url, timeout=20).status)\n"
            "    except Exception as exc:\n"
            "        print(url, type(exc).__name__)\n")
    return [sys.executable, "-c", code, *(lab.nginx_url + p.lstrip("/") for p in paths)]


def guest_stap_modules(lab: Lab) -> list[str]:
    modules = lab.exec(["cat", "/proc/modules"]).stdout
    return [line.split()[0] for line in modules.splitlines() if line.startswith("stap_")]


def host_stap_processes() -> list[tuple[int, str]]:
    # live ones only: where PID 1 does not reap, a stap the watchdog killed stays a zombie
    return live_processes_named("stap", "staprun", "stapio", "stapbpf")


def assert_nothing_left(lab: Lab) -> None:
    assert wait_until(lambda: not host_stap_processes(), 20), host_stap_processes()
    assert wait_until(lambda: not guest_stap_modules(lab), 60), guest_stap_modules(lab)
    listing = lab.exec(["pgrep", "-a", "staprun"])
    assert listing.returncode == 1, listing.stdout


def run_until(script: str, lab_names: list[str], trigger: list[str], done, folder: Path,
              seconds: float = 500, **options) -> Run:
    """Run ``script`` on the labs with ``trigger``; stop it (SIGINT) once ``done(run)`` holds
    or ``seconds`` passed: the guest's output reaches us seconds later under TCG, so a fixed
    pause after the trigger would be a guess."""
    run = Run(script, remote=lab_names, trigger=trigger, stop_after_trigger=None, timeout=seconds,
              transcript_dir=folder, **options).start()
    deadline = time.monotonic() + seconds
    while not run.finished.is_set() and time.monotonic() < deadline:
        if run.trigger_status is not None and done(run):
            break
        time.sleep(0.5)
    run.stop()
    run.wait(120)
    assert run.finished.is_set()
    return run


def texts(run: Run, start: str) -> list[str]:
    return [e.text for e in run.events if isinstance(e, TextLine) and e.text.startswith(start)]


@pytest.fixture(scope="module")
def investigation(lab, tmp_path_factory):
    """The investigation's script run once with --remote, its Run and run folder."""
    return run_until(INVESTIGATION, [lab.name], client(lab, "/", "/abort"),
                     lambda run: len(texts(run, "close #")) >= 2
                     and any(isinstance(e, StructDump) for e in run.events),
                     tmp_path_factory.mktemp("runs"))


def test_the_investigation_on_the_kernel_runtime(investigation, lab):
    run = investigation
    assert run.ready_at is not None, (run.notes, run.raw("stderr")[-3000:])
    assert run.stop_reason == "stopped" and run.exit_status == 0, (run.notes, run.raw("stderr")[-3000:])
    assert "/abort RemoteDisconnected" in run.trigger_output, run.trigger_output  # return 444: no reply
    assert "--remote=unix:" in " ".join(run.argv) and run.argv[0].endswith("unshare")
    meta = json.loads((run.folder / "meta.json").read_text())
    assert meta["hosts"] == [{"spec": lab.name, "url": lab.remote, "label": lab.name,
                              "sysroot": str(lab.sysroot)}]
    assert len(texts(run, "close #")) >= 2, (run.trigger_output, run.text()[-3000:])
    backtraces = [e for e in run.events if isinstance(e, Backtrace)]
    assert backtraces, run.text()[-2000:]
    frames = backtraces[0].frames
    assert frames[0].symbol == "ngx_close_connection" and frames[0].module == NGINX
    # the callers: nginx's HTTP code, found in the lab's rootfs and its DWARF
    symbolizer = Symbolizer(sysroot=run.record.sysroot_for(None), source_roots=[nginx_source_dir()])
    located = symbolizer.locate_backtrace(frames)
    assert located[0].file.endswith("src/core/ngx_connection.c") and located[0].path is not None
    assert any(loc.file and loc.file.startswith("src/http/") for loc in located[1:4]), located[:4]
    assert all(loc.problem is None for loc in located[:5]), [loc.hint for loc in located[:5]]
    # $sk$: a struct tree, with its unions and nested structs
    fins = [e for e in run.events if isinstance(e, StructDump) and e.prefix.startswith("FIN sent")]
    assert fins, run.text()[-2000:]
    members = {m.name for m in fins[0].value.members}
    assert {".__sk_common", ".sk_rcvbuf", ".sk_sndbuf"} <= {f".{n.lstrip('.')}" for n in members}
    # the view shows the frames beside nginx's source
    html = render_html(run.events, symbolizer=symbolizer)
    source = (nginx_source_dir() / "src/core/ngx_connection.c").read_text().splitlines()
    shown = html_lib.unescape(re.sub(r"<[^>]+>", "", html))  # the text a reader sees (highlighting spans off)
    assert "ngx_connection.c" in shown and "ngx_close_connection" in shown
    context = [line.strip() for line in source[located[0].line - 3:located[0].line + 2] if len(line.strip()) > 3]
    assert context and all(line in shown for line in context), context


def test_the_recorded_remote_run_replays_alike(investigation):
    again = replay(investigation.folder)
    assert [e.raw for e in again.events] == [e.raw for e in investigation.events]
    assert again.record.hosts == investigation.record.hosts
    assert again.record.sysroot_for(None) == investigation.record.sysroot_for(None)


FORMATS = textwrap.dedent(f"""\
    global sizes
    probe process("{NGINX}").function("ngx_close_connection") {{
        printf("conn %s\\n", $c$)
        print_ubacktrace()
        sizes <<< $c->sent
    }}
    probe process("{NGINX}").function("ngx_http_finalize_request").return {{
        printf("finalized %s\\n", $$parms$)
    }}
    probe kernel.function("tcp_send_fin") {{
        print_backtrace()
    }}
    probe kernel.trace("sock:inet_sock_set_state") {{
        printf("state %d -> %d\\n", $oldstate, $newstate)
    }}
    probe end {{
        print(@hist_log(sizes))
    }}
    """)


@pytest.mark.timeout(1800)  # a first compile with a tracepoint (stap builds its tracepoint query too)
def test_every_kernel_runtime_format_parses_live(lab, tmp_path):
    # ngx_connection_t's bit-fields are its last members: the dump must not be cut before them
    run = run_until(FORMATS, [lab.name], client(lab, "/", "/abort", "/"),
                    lambda run: len(texts(run, "state ")) >= 4
                    and sum(isinstance(e, VarsDump) and e.prefix.startswith("finalized") for e in run.events) >= 3
                    and sum(isinstance(e, Backtrace) for e in run.events) >= 4, tmp_path, seconds=1500,
                    macros={"MAXSTRINGLEN": "8192"})
    assert run.ready_at is not None and run.exit_status == 0, run.raw("stderr")[-3000:]
    events = run.events
    conns = [e for e in events if isinstance(e, StructDump) and e.prefix.startswith("conn")]
    assert conns, run.text()[-3000:]
    conn = {m.name.lstrip("."): m.value for m in conns[0].value.members}
    # ngx_connection_t's bit-fields print as plain members
    assert {"timedout", "destroyed", "close", "number", "fd"} <= set(conn), sorted(conn)
    assert conn["destroyed"].text in ("0", "1")
    user = [e for e in events if isinstance(e, Backtrace) and e.frames and e.frames[0].symbol == "ngx_close_connection"]
    kernel = [e for e in events if isinstance(e, Backtrace) and e.frames and e.frames[0].symbol == "tcp_send_fin"]
    assert user and kernel, run.text()[-3000:]
    assert kernel[0].frames[0].module == "kernel"
    assert any(f.symbol in ("__tcp_close", "tcp_close") for f in kernel[0].frames)
    parms = [e for e in events if isinstance(e, VarsDump) and e.prefix.startswith("finalized")]
    assert parms, run.text()[-3000:]
    names = [m.name for m in parms[0].value]
    assert names[:2] == ["r", "rc"], names
    states = [e.text for e in events if isinstance(e, TextLine) and e.text.startswith("state ")]
    assert states, run.text()[-3000:]
    # @hist_log printed at end: its rows reach the run
    text = run.text()
    assert "value |" in text and "count" in text, text[-2000:]
    # the missing-unwind warning of the end of a run is a parsed warning, not text
    warnings = [e for e in events if isinstance(e, Diagnostic) and e.severity == "warning"]
    assert any("unwind" in w.message for w in warnings), [w.message for w in warnings]


def test_sigint_and_timeout_stop_a_remote_run_and_leave_no_module(lab, tmp_path):
    run = Run(INVESTIGATION, remote=[lab.name], transcript_dir=tmp_path).start()
    assert run.wait_ready(400), run.raw("stderr")[-3000:]
    assert guest_stap_modules(lab)  # live: the module is loaded in the guest
    run.stop()  # SIGINT to the guest's stapio: the end probes run, stap here ends by itself
    run.wait(120)
    assert run.finished.is_set() and run.stop_reason == "stopped" and run.exit_status == 0
    assert run.stop_signal is None and any("stopped in the guest" in n for n in run.notes), run.notes
    assert_nothing_left(lab)
    timed = stapbench.run(INVESTIGATION, remote=[lab.name], timeout=60, transcript_dir=tmp_path)
    assert timed.stop_reason == "timeout" and timed.ready_at is not None, timed.notes
    assert_nothing_left(lab)


CHILD = textwrap.dedent("""\
    import sys, time
    from stapbench.runner import Run
    run = Run(open(sys.argv[1]).read(), remote=[sys.argv[2]], transcript_dir=sys.argv[3]).start()
    print("ready" if run.wait_ready(400) else "never ready", flush=True)
    time.sleep(600)
    """)


def test_a_killed_python_side_leaves_no_module_and_the_next_run_starts(lab, tmp_path):
    script = tmp_path / "investigation.stp"
    script.write_text(INVESTIGATION)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(script), lab.name, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ), stdin=subprocess.DEVNULL)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert guest_stap_modules(lab)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert_nothing_left(lab)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["ended_at"] is not None  # the watchdog recorded the end
    again = stapbench.run("probe timer.ms(200) { println(\"again\"); exit() }", remote=[lab.name],
                          timeout=300, transcript_dir=tmp_path)
    assert again.exit_status == 0 and "again" in again.text(), again.raw("stderr")[-2000:]


def test_a_killed_jupyter_kernel_leaves_no_module(lab, tmp_path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=dict(os.environ), cwd=str(tmp_path))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        cell = (f"%load_ext stapbench\n%config StapMagics.transcript_dir = {str(tmp_path)!r}\n"
                f"from stapbench.runner import Run\n"
                f"r = Run({INVESTIGATION!r}, remote=[{lab.name!r}]).start()\n"
                f"print('ready' if r.wait_ready(400) else 'never')\n")
        reply = kc.execute_interactive(cell, timeout=500, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok"
        assert guest_stap_modules(lab)
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert_nothing_left(lab)


def test_two_labs_one_run_one_stream_per_host(lab, labs_folder, tmp_path):
    second = Lab("t-fleet").up(progress=print, owned=True)
    try:
        script = textwrap.dedent(f"""\
            probe process("{NGINX}").function("ngx_close_connection") {{
                printf("close #%d\\n", $c->number)
                print_ubacktrace()
            }}
            """)
        trigger = [sys.executable, "-c",
                   "import sys, urllib.request\n"
                   "for url in sys.argv[1:]: urllib.request.urlopen(url, timeout=20).read()\n",
                   lab.nginx_url, second.nginx_url, lab.nginx_url]
        run = run_until(script, [lab.name, second.name], trigger,
                        lambda run: {e.host for e in run.events if isinstance(e, Backtrace)} >= {lab.name, second.name}
                        and len(texts(run, "close #")) >= 3, tmp_path)
        assert run.ready_at is not None and run.exit_status == 0, run.raw("stderr")[-3000:]
        assert "--remote-prefix" in run.argv
        by_host = {}
        for event in run.events:
            by_host.setdefault(event.host, []).append(event)
        assert {lab.name, second.name} <= set(by_host)
        for host in (lab.name, second.name):
            bts = [e for e in by_host[host] if isinstance(e, Backtrace)]
            assert bts and bts[0].frames[0].symbol == "ngx_close_connection", host
            own = (run.folder / f"stdout@{host}.bin").read_bytes()
            assert b"close #" in own and not own.startswith(b"0: ") and b"\n1: " not in own
        assert len([e for e in by_host[lab.name] if isinstance(e, TextLine)]) >= 2
        # the merged stream on disk keeps the prefixes; a replay splits it the same way
        assert run.raw("stdout").startswith((b"0: ", b"1: "))
        again = replay(run.folder)
        assert [(e.host, e.raw) for e in again.events] == [(e.host, e.raw) for e in run.events]
    finally:
        second.down()
    assert not qemu_pids(second.state_dir)
