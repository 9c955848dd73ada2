"""The runner against the real stap (BPF runtime) and the C demo program."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from stapbench.model import TextLine
from stapbench.runner import Run, RunError, replay, run
from stapbench.runner.process import _live_processes
from stapbench.runner.uprobes import stap_uprobes
from tests.support.paths import FIXTURES
from tests.support.stap import assert_no_stale_uprobes, session_members, wait_sessions_empty

pytestmark = pytest.mark.stap
FIXTURES = FIXTURES / "runner"

REQUESTS = 'probe process("{prog}").function("handle_request") {{ printf("req %d\\n", $r->number) }}\n'
END = 'probe end { printf("END\\n") }\n'


def demo_total(count, uri="/index.html"):
    """What demo.c prints: the sum over requests of number + depth 2 + strlen(uri) + 1."""
    return sum(n + 2 + len(uri) + 1 for n in range(1, count + 1))


def texts(r):
    return [e.text for e in r.events if isinstance(e, TextLine)]


def test_cmd_run_streams_parsed_events(stap_bpf, demo_program, tmp_path, no_stap_left):
    script = REQUESTS.format(prog=demo_program) + 'probe begin { printf("ERROR: not a stap error\\n") }\n' + END
    r = run(script, cmd=f"{demo_program} 4 50", runtime="bpf", transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status == 0 and r.stop_reason == "exited"
    assert r.ready.is_set()
    lines = texts(r)
    # the probe's own "ERROR:" line is probe output on stdout, not a diagnostic
    assert lines[0] == "ERROR: not a stap error"
    assert all("not a stap error" not in d.message for d in r.diagnostics)
    assert [t for t in lines if t.startswith("req ")] == ["req 1", "req 2", "req 3", "req 4"]
    # the -c program's own output has a terminal of its own (runner.program): not probe output
    assert f"total={demo_total(4)}" not in lines
    assert r.program_output == f"total={demo_total(4)}\n"
    assert (r.folder / "program.bin").read_bytes() == f"total={demo_total(4)}\n".encode()
    assert lines[-1] == "END"
    # the readiness marker is in the raw transcript, not in the events
    raw = r.raw("stdout")
    assert r.marker.encode() in raw
    assert not any(r.marker in e.raw for e in r.events)
    # byte-exact: no \r from the pty, and the events join back to the raw stream minus the marker line
    assert b"\r" not in raw
    joined = "".join(e.raw for e in r.events if e.stream == "stdout").encode("utf-8", "surrogateescape")
    assert joined == raw.replace(r.marker.encode() + b"\n", b"")
    assert r.raw("stderr") and all(e.stream == "stderr" for e in r.diagnostics)
    # the script file keeps the cell's lines first and 1:1
    assert (r.folder / "script.stp").read_text().startswith(script)


def test_replay_rebuilds_the_same_events(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = run(REQUESTS.format(prog=demo_program) + END, cmd=f"{demo_program} 3 50", runtime="bpf",
            record=tmp_path / "rec")
    no_stap_left.append(r.pid)
    again = replay(tmp_path / "rec")
    for stream in ("stdout", "stderr"):  # within a stream the order is exact; across, timing decides
        live = [(e.type, e.raw) for e in r.events if e.stream == stream]
        assert [(e.type, e.raw) for e in again.events if e.stream == stream] == live
    assert len(again.events) == len(r.events) and any(e.type == "text" for e in again.events)
    assert again.exit_status == r.exit_status == 0
    assert again.stop_reason == "exited" and again.ready.is_set()


def test_timeout_stops_with_sigint_and_keeps_output(stap_bpf, demo_program, tmp_path, no_stap_left):
    t0 = time.monotonic()
    r = run(REQUESTS.format(prog=demo_program) + END, cmd=f"{demo_program} 100000 20", runtime="bpf",
            timeout=3, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    elapsed = time.monotonic() - t0
    assert r.stop_reason == "timeout"
    assert r.stop_signal == "SIGINT"  # a graceful stop sufficed: end probes ran
    lines = texts(r)
    assert lines[-1] == "END"
    reqs = [t for t in lines if t.startswith("req ")]
    assert len(reqs) >= 5 and reqs[:3] == ["req 1", "req 2", "req 3"]
    assert elapsed < 3 + r.options.grace + 5


def test_keyboard_interrupt_in_wait_stops_and_keeps_output(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = Run(REQUESTS.format(prog=demo_program) + END, cmd=f"{demo_program} 100000 20", runtime="bpf",
            transcript_dir=tmp_path).start()
    no_stap_left.append(r.pid)
    assert r.wait_ready(60)
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    r.wait()  # the KeyboardInterrupt is taken by wait(), which stops the run
    assert r.stop_reason == "interrupted"
    lines = texts(r)
    assert lines[-1] == "END" and sum(t.startswith("req ") for t in lines) >= 3
    assert session_members(r.pid) == []


def test_semantic_error_gives_its_diagnostic_on_the_cell_line(stap_bpf, demo_program, tmp_path, no_stap_left):
    script = f'probe process("{demo_program}").function("handle_request") {{\n  printf("x\\n")\n  nosuchfn(1)\n}}\n'
    r = run(script, runtime="bpf", trigger=["touch", str(tmp_path / "triggered")], transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status not in (0, None)
    assert not r.ready.is_set()
    assert not (tmp_path / "triggered").exists()  # probes never went live: no trigger
    errors = [d for d in r.diagnostics if d.severity == "error"]
    assert errors, r.raw("stderr")
    first = errors[0]
    assert first.kind == "semantic" and "nosuchfn" in first.message
    assert first.line == 3 and first.column == 3


def test_check_stops_after_pass_2_without_the_marker(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = run(REQUESTS.format(prog=demo_program), runtime="bpf", check=True, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert "-p2" in r.argv and r.marker is None
    assert r.exit_status == 0
    assert "probe begin" not in (r.folder / "script.stp").read_text()
    assert "handle_request" in r.raw("stdout").decode()


def test_trigger_runs_once_probes_are_live_and_its_output_is_apart(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = run(REQUESTS.format(prog=demo_program), runtime="bpf", trigger=[str(demo_program), "3", "50"],
            timeout=60, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished" and r.trigger_status == 0
    assert [t for t in texts(r) if t.startswith("req ")] == ["req 1", "req 2", "req 3"]
    assert r.trigger_output == f"total={demo_total(3)}\n"
    assert f"total={demo_total(3)}" not in texts(r)


def test_values_with_shell_metacharacters_reach_stap_literally(stap_bpf, tmp_path, no_stap_left):
    value = "a b;$(touch PWNED)`id`\"q'"
    r = run('global msg = "d"\nprobe begin { printf("%s\\n", msg) exit() }\n', runtime="bpf",
            globals={"msg": value}, trigger=["echo", "$(id)", "*"], transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert ["-G", f"msg={value}"] == r.argv[r.argv.index("-G"):r.argv.index("-G") + 2]
    # stap itself refuses the value, quoting it verbatim: it arrived as one literal argument
    assert f"msg={value}" in r.raw("stderr").decode()
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_cmd_words_with_shell_metacharacters_reach_the_program_literally(stap_bpf, tmp_path, no_stap_left):
    """stap runs a -c string holding ; | & or $(...) through /bin/sh -c: the runner's quoting
    keeps each word one literal argument of the program, and no shell runs it."""
    made = [tmp_path / "by-semicolon", tmp_path / "by-substitution"]
    value = f"x;touch {made[0]} $(touch {made[1]}) a|b&c"
    # what `%%stap -c "PROGRAM {value}"` hands on: a shell would run two touch commands.  The
    # program lingers a moment: stapbpf -c can miss the exit of a target that ends at once.
    echo = f"{sys.executable} -c 'import sys, time; time.sleep(1); print(*sys.argv[1:])'"
    r = run('probe begin { printf("live\\n") }\n', runtime="bpf", cmd=f"{echo} {value}", timeout=60,
            transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status == 0 and r.stop_reason == "exited", r.raw("stderr")
    assert r.program_output == value + "\n"  # the program got the words, split at the spaces only
    assert [p for p in made if p.exists()] == []


def test_the_cmd_programs_own_output_is_neither_a_hit_nor_a_diagnostic(stap_bpf, tmp_path, no_stap_left):
    """What the -c program prints on stdout and stderr goes to program.bin and the run's
    program_output, apart from the probe output (which counts hits) and stap's messages."""
    prog = (f"{sys.executable} -c 'import sys, time; time.sleep(1); print(\"hit 99\"); "
            f"print(\"ERROR: semantic error: from the program\", file=sys.stderr)'")
    r = run('probe begin { printf("hit 1\\n") }\n', runtime="bpf", cmd=prog, timeout=60, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status == 0 and r.stop_reason == "exited", r.raw("stderr")
    assert texts(r) == ["hit 1"]
    assert "from the program" not in r.raw("stderr").decode()
    assert not any("from the program" in d.raw for d in r.diagnostics)
    assert "hit 99\n" in r.program_output and "ERROR: semantic error: from the program\n" in r.program_output
    # a replay shows the same, from the run folder
    again = replay(r.folder)
    assert texts(again) == ["hit 1"] and again.program_output == r.program_output
    assert again.program_argv[0] == sys.executable


def test_memory_is_bounded_but_diagnostics_are_kept(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = run(REQUESTS.format(prog=demo_program), cmd=f"{demo_program} 200 1", runtime="bpf",
            max_events=10, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert len(r.events) == 10 and r.events_dropped == r.events_total - 10 >= 190
    assert r.diagnostics  # the symbol-table warning, from the start of the run
    assert r.raw("stdout").count(b"req ") == 200  # the transcript has everything


def test_trigger_argv_runs_without_a_shell(stap_bpf, tmp_path, no_stap_left):
    r = run('probe begin { printf("live\\n") }\n', runtime="bpf", trigger='echo "$(id)" * ;', timeout=60,
            transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.trigger_argv == ["echo", "$(id)", "*", ";"]
    assert r.trigger_output == "$(id) * ;\n"
    assert texts(r) == ["live"]


@pytest.mark.parametrize("how, stop_reason", [("SIGKILL", "parent died"), ("SIGTERM", "shutdown")])
def test_nothing_outlives_a_killed_parent(stap_bpf, demo_program, tmp_path, how, stop_reason):
    """The parent dies without running atexit (SIGKILL: the watchdog and the pty hang-up end
    the run, and the watchdog records its end) or is asked to end (SIGTERM: stopped like at
    interpreter exit, then the process ends by SIGTERM all the same)."""
    child = subprocess.Popen([sys.executable, str(FIXTURES / "run_and_linger.py"), str(demo_program), str(tmp_path)],
                             stdout=subprocess.PIPE, start_new_session=True)
    line = child.stdout.readline().decode()
    assert line.startswith("READY "), line
    stap_pid = int(line.split()[1])
    assert any(comm == "stapbpf" for _pid, comm in session_members(stap_pid))
    os.kill(child.pid, getattr(signal, how))
    assert child.wait(20) == -getattr(signal, how)
    assert wait_sessions_empty([stap_pid], timeout=20) == []
    assert_no_stale_uprobes()
    [meta_file] = tmp_path.glob("*/meta.json")
    deadline = time.monotonic() + 20  # the watchdog writes it once stap's group is gone
    while (meta := json.loads(meta_file.read_text()))["ended_at"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert meta["ended_at"] is not None and meta["stop_reason"] == stop_reason, meta
    assert meta["exit_status"] is not None and meta["stop_signal"] in ("SIGINT", "SIGTERM", "SIGKILL", "SIGHUP")


def test_a_killed_stapbpf_leaves_no_probe_loaded(stap_bpf, demo_program, tmp_path, no_stap_left):
    """An OOM kill or a SIGKILL escalation gives stapbpf no chance to remove its uprobes from
    the kernel: the run removes them when it ends, and says so."""
    r = Run(REQUESTS.format(prog=demo_program), cmd=f"{demo_program} 1000000 20", runtime="bpf",
            transcript_dir=tmp_path).start()
    no_stap_left.append(r.pid)
    try:
        assert r.wait_ready(120)
        bpf = _stapbpf_of(r)
        mine = [u for u in stap_uprobes() if u.pid == bpf]
        assert mine, "stapbpf registered no uprobe in uprobe_events"
        os.kill(bpf, signal.SIGKILL)
        r.wait(60)
    finally:
        r.stop(wait=True)
    assert [u for u in stap_uprobes() if u.pid == bpf] == []
    assert any(n.startswith(f"removed {len(mine)} uprobe") and str(bpf) in n for n in r.notes), r.notes


def _stapbpf_of(run) -> int:
    """stap's child stapbpf (its own -c child is a stapbpf too until it execs the target);
    rest[1] of the runner's own /proc reader is the parent pid."""
    [bpf] = [pid for pid, comm, rest in _live_processes() if comm == "stapbpf" and int(rest[1]) == run.pid]
    return bpf


def test_two_interrupts_kill_stap_and_leave_no_probe_loaded(stap_bpf, demo_program, tmp_path, no_stap_left):
    """The second Ctrl-C SIGKILLs the group while stapbpf is still busy ending: the run's
    clean-up waits for the group to be gone, the run says which signal ended stap, and its
    last note says how the run ended (not "press again").  The second comes while the first
    is being handled (its note is being shown): wait() takes it too, nothing escapes."""
    r = Run(REQUESTS.format(prog=demo_program) + END, cmd=f"{demo_program} 1000000 20", runtime="bpf",
            transcript_dir=tmp_path).start()
    no_stap_left.append(r.pid)
    assert r.wait_ready(120)
    bpf = _stapbpf_of(r)
    assert [u for u in stap_uprobes() if u.pid == bpf]

    def second_ctrl_c(note):
        if note.startswith("interrupted: "):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # a slow display: the KeyboardInterrupt lands in here

    r.on_note.append(second_ctrl_c)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    r.wait()
    assert [u.name for u in stap_uprobes() if u.pid == bpf] == []  # at the end of the run, not later
    meta = json.loads((r.folder / "meta.json").read_text())
    assert r.exit_status == meta["exit_status"] == -signal.SIGKILL
    assert r.stop_signal == meta["stop_signal"] == "SIGKILL"
    assert "press again" not in r.notes[-1] and "SIGKILL" in r.notes[-1], r.notes


def test_sudo_prompt_is_answered_and_the_password_is_written_nowhere(
        stap_bpf, demo_program, tmp_path, monkeypatch, no_stap_left):
    run_module = importlib.import_module("stapbench.runner.run")

    password = "s3cret-Pw-7781"
    fake = tmp_path / "sudo"
    fake.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake_sudo.py").read_text())
    fake.chmod(0o755)
    monkeypatch.setattr(run_module, "is_root", lambda: False)
    monkeypatch.setattr(run_module, "needs_password", lambda sudo: True)
    monkeypatch.setenv("FAKE_SUDO_PASSWORD", password)
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or password)
    r = run(REQUESTS.format(prog=demo_program) + END, cmd=f"{demo_program} 2 50", runtime="bpf",
            use_sudo=True, sudo=str(fake), transcript_dir=tmp_path / "runs")
    no_stap_left.append(r.pid)
    assert asked, "the password was not asked through getpass"
    assert r.argv[:3] == [str(fake), "-k", "-p"] and r.argv[4:7] == ["--", sys.executable, "-c"]
    assert ("--setenv" in r.argv) == bool(r.options.shim_path())  # for stap, through the supervisor
    assert r.exit_status == 0, r.raw("stderr")
    assert [t for t in texts(r) if t.startswith("req ")] == ["req 1", "req 2"]
    assert not r.raw("stdout").startswith(b"\n") and b"sudo password" not in r.raw("stdout")
    everything = b"".join(p.read_bytes() for p in (tmp_path / "runs").rglob("*") if p.is_file())
    assert password.encode() not in everything
    assert password not in repr(r) and password not in repr(r.options) and password not in " ".join(r.notes)


def test_a_wrong_sudo_password_fails_cleanly(stap_bpf, demo_program, tmp_path, monkeypatch, no_stap_left):
    run_module = importlib.import_module("stapbench.runner.run")

    fake = tmp_path / "sudo"
    fake.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake_sudo.py").read_text())
    fake.chmod(0o755)
    monkeypatch.setattr(run_module, "is_root", lambda: False)
    monkeypatch.setenv("FAKE_SUDO_PASSWORD", "right")
    r = Run(REQUESTS.format(prog=demo_program), cmd=f"{demo_program} 2 50", runtime="bpf", use_sudo=True,
            sudo=str(fake), sudo_password="wrong-guess-123", transcript_dir=tmp_path / "runs")
    t0 = time.monotonic()
    with pytest.raises(RunError, match="password was not accepted"):
        r.start()  # at once: not waiting at sudo's second prompt
    no_stap_left.append(r.pid)
    assert time.monotonic() - t0 < 10 and r.finished.is_set() and not r.ready.is_set()
    everything = b"".join(p.read_bytes() for p in (tmp_path / "runs").rglob("*") if p.is_file())
    assert b"wrong-guess-123" not in everything


def test_no_password_to_give_leaves_nothing_behind(stap_bpf, demo_program, tmp_path, monkeypatch, no_stap_left):
    """E.g. a notebook run by nbclient: getpass cannot ask, sudo waits at its prompt."""
    run_module = importlib.import_module("stapbench.runner.run")
    fake = tmp_path / "sudo"
    fake.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake_sudo.py").read_text())
    fake.chmod(0o755)
    monkeypatch.setattr(run_module, "is_root", lambda: False)
    monkeypatch.setattr(run_module, "needs_password", lambda sudo: True)

    def no_stdin(prompt=""):
        raise RuntimeError("stdin is not available")

    monkeypatch.setattr("getpass.getpass", no_stdin)
    r = Run(REQUESTS.format(prog=demo_program), runtime="bpf", use_sudo=True, sudo=str(fake),
            transcript_dir=tmp_path / "runs")
    with pytest.raises(run_module.RunError, match="stdin is not available"):
        r.start()
    no_stap_left.append(r.pid)
    assert r.finished.is_set() and r.stop_reason == "error"


def test_a_pid_that_does_not_exist_is_refused_before_stap_starts(tmp_path, no_stap_left):
    gone = subprocess.Popen(["true"])
    gone.wait()
    t0 = time.monotonic()
    with pytest.raises(RunError, match=f"there is no process {gone.pid}"):
        run('probe begin { printf("x\\n") }\n', pid=gone.pid, runtime="bpf", transcript_dir=tmp_path)
    assert time.monotonic() - t0 < 2  # at once: no stap compiled, nothing said to have "exited"
    [meta_file] = tmp_path.glob("*/meta.json")
    meta = json.loads(meta_file.read_text())
    assert meta["stop_reason"] == "error" and meta["stap_pid"] is None and meta["ended_at"] is not None


def test_a_pid_run_ends_when_its_target_exits(stap_bpf, demo_program, tmp_path, no_stap_left):
    target = subprocess.Popen([str(demo_program), "40", "100"], stdout=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        r = run(REQUESTS.format(prog=demo_program) + END, pid=target.pid, runtime="bpf", timeout=120,
                transcript_dir=tmp_path)
        no_stap_left.append(r.pid)
    finally:
        target.kill()
        target.wait()
    assert r.stop_reason == "target exited", r.notes
    assert time.monotonic() - t0 < 60
    assert texts(r)[-1] == "END" and any(t.startswith("req ") for t in texts(r))
    assert any(f"target process {target.pid} exited" in n for n in r.notes)
