"""``--sudo`` as a real non-root user (a throwaway account, tests/support/sudo_user.py) with the
real sudo and stap: stap runs as root under the supervisor, which stops it and removes what a
killed stapbpf left loaded, whatever happens to the user's Python side."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from stapbench.runner.process import _live_processes, is_alive
from stapbench.runner.uprobes import stap_uprobes
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.stap
SCRIPT = FIXTURES / "runner" / "sudo_run.py"


def _start(user, demo_program, mode, **kwargs) -> tuple[subprocess.Popen, str]:
    demo = user.home / "demo"
    shutil.copy(demo_program, demo)
    demo.chmod(0o755)
    proc = subprocess.Popen(user.argv(str(SCRIPT), mode, str(demo), str(user.home / "runs"), **kwargs),
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    return proc, proc.stdout.readline()


def _stap_and_stapbpf(user) -> tuple[int, list[int]]:
    """root's stap of this run (its script lies in the account's folder) and its stapbpf children."""
    procs = list(_live_processes())
    [stap] = [pid for pid, comm, _rest in procs if comm == "stap" and str(user.home).encode() in _cmdline(pid)]
    return stap, [pid for pid, comm, rest in procs if comm == "stapbpf" and int(rest[1]) == stap]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _wait_gone(pids, timeout) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if is_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _uprobes_of(pids) -> list[str]:
    return [u.name for u in stap_uprobes() if u.pid in pids]


def test_a_killed_python_side_leaves_no_stap_and_no_uprobe(stap_bpf, sudo_user, demo_program):
    proc, line = _start(sudo_user, demo_program, "linger")
    assert line.startswith("READY "), line
    stap, bpfs = _stap_and_stapbpf(sudo_user)
    assert bpfs and _uprobes_of(bpfs), "stapbpf registered no uprobe"
    os.kill(int(line.split()[1]), signal.SIGKILL)  # the user's Python: no atexit, no goodbye
    assert _wait_gone([stap, *bpfs], 20) == []
    deadline = time.monotonic() + 10
    while _uprobes_of(bpfs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _uprobes_of(bpfs) == []
    proc.wait(10)
    [meta_file] = (sudo_user.home / "runs").glob("*/meta.json")
    deadline = time.monotonic() + 20  # the watchdog (the account's) records the end it saw
    while (meta := json.loads(meta_file.read_text()))["ended_at"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert meta["stop_reason"] == "parent died" and meta["exit_status"] is not None


def test_two_interrupts_under_sudo_leave_no_uprobe(stap_bpf, sudo_user, demo_program):
    """The second Ctrl-C while the first stop is under way: SIGKILL of root's stap group, no
    uprobe left when the run says it ended.  (Under sudo a first stop can be over in 0.1 s,
    before the second lands: then the run is tried again.)"""
    for _attempt in range(3):
        result, bpfs = _interrupt_twice(sudo_user, demo_program)
        assert _uprobes_of(bpfs) == []  # when the run says it ended, not later
        if result["stop_signal"] == "SIGKILL":
            break
    assert result["stop_signal"] == "SIGKILL" and result["exit_status"] == -signal.SIGKILL, result


def _interrupt_twice(user, demo_program):
    proc, line = _start(user, demo_program, "wait")
    while line.startswith("NOTE "):
        line = proc.stdout.readline()
    assert line.startswith("READY "), line
    stap, bpfs = _stap_and_stapbpf(user)
    assert bpfs and _uprobes_of(bpfs)
    python = int(line.split()[1])
    os.kill(python, signal.SIGINT)
    while not (said := proc.stdout.readline()).startswith(("NOTE interrupted:", "END ")):
        assert said, "the run's Python side ended without a word"
    os.kill(python, signal.SIGINT)
    end = said
    while not end.startswith("END "):
        end = proc.stdout.readline()
        assert end, "the run's Python side ended without a word"
    result = json.loads(end[4:])
    uprobes_left = _uprobes_of(bpfs)
    assert _wait_gone([stap, *bpfs], 5) == []
    assert proc.wait(10) == 0
    assert uprobes_left == [], (uprobes_left, result)
    return result, bpfs


def test_a_killed_stapbpf_under_sudo_is_cleaned_up_and_said(stap_bpf, sudo_user, demo_program):
    """root's supervisor removes what the killed stapbpf left; its note reaches the run as a
    note, while the transcript keeps its line as it came."""
    proc, line = _start(sudo_user, demo_program, "wait")
    while line.startswith("NOTE "):
        line = proc.stdout.readline()
    assert line.startswith("READY "), line
    _stap, bpfs = _stap_and_stapbpf(sudo_user)
    assert _uprobes_of(bpfs)
    for bpf in bpfs:
        os.kill(bpf, signal.SIGKILL)
    while (end := proc.stdout.readline()).startswith("NOTE "):
        pass
    assert end.startswith("END "), end
    result = json.loads(end[4:])
    assert _uprobes_of(bpfs) == []
    # root's supervisor removed them and said so in a note, its line kept in the transcript; unless
    # another root stapbench run on this machine, ending meanwhile, removed them first
    stderr = (Path(result["folder"]) / "stderr.bin").read_bytes()
    said = any(n.startswith("removed ") and str(bpfs[0]) in n for n in result["notes"])
    assert said == (b"[stapbench-supervisor " in stderr and b" note removed " in stderr), result["notes"]
    assert proc.wait(10) == 0


def test_a_wrong_sudo_password_fails_at_once(stap_bpf, sudo_user, demo_program):
    t0 = time.monotonic()
    proc, line = _start(sudo_user, demo_program, "wait", password="not-the-password")
    while line.startswith("NOTE "):
        line = proc.stdout.readline()
    assert line.startswith("START-ERROR ") and "password was not accepted" in line, line
    assert time.monotonic() - t0 < 15  # sudo's own delay after a wrong password, not a timeout
    assert proc.wait(10) == 3
    assert _wait_gone(sudo_user.processes(), 5) == []  # nothing of the run's left (sudo included)


def test_doctor_as_a_user_says_what_it_cannot_see(sudo_user):
    done = subprocess.run(sudo_user.argv("-m", "stapbench", "doctor", "--no-live"), capture_output=True,
                          text=True, timeout=300)
    out = done.stdout + done.stderr
    [uprobes] = [line for line in out.splitlines() if "loaded uprobes" in line]
    [debugfs] = [line for line in out.splitlines() if "] debugfs" in line]
    assert "can't tell without root" in uprobes and "none left" not in uprobes, out
    assert "unreadable" in debugfs and "not found" not in debugfs, out
    fails = sum(line.startswith("[FAIL]") for line in out.splitlines())
    assert f"\n{fails} problem(s)" in out, out
