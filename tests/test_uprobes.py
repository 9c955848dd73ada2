"""Uprobes a killed stapbpf leaves loaded: found in uprobe_events and removed (a stand-in file
for the parsing and the writes; the real file in test_runner_stap.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from stapbench.runner.uprobes import cleanup_note, remove_stale_stap_uprobes, stale_stap_uprobes, stap_uprobes


@pytest.fixture
def live_stapbpf(tmp_path):
    """A process whose name is stapbpf (a copy of sleep), as a running stapbpf looks in /proc."""
    exe = tmp_path / "stapbpf"
    shutil.copy(shutil.which("sleep"), exe)
    proc = subprocess.Popen([str(exe), "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_entries_are_read_and_only_those_of_gone_stapbpfs_are_stale(tmp_path, live_stapbpf):
    gone = dead_pid()
    events = tmp_path / "uprobe_events"
    events.write_text(
        f"p:uprobes/stapprobe_{live_stapbpf}_0 /usr/sbin/nginx:0x00000000000011d4\n"
        f"p:uprobes/stapprobe_{gone}_0 /tmp/demo:0x0000000000001149\n"
        f"r:uprobes/stapprobe_{gone}_1 /tmp/demo:0x0000000000001160\n"
        "p:uprobes/myprobe /bin/bash:0x00000000000a1b2c\n"
        f"p:uprobes/stapprobe_{os.getpid()}_0 /tmp/x:0x10\n")  # a pid that is alive but no stapbpf
    assert [(u.name, u.pid, u.target) for u in stap_uprobes(str(events))][:2] == [
        (f"stapprobe_{live_stapbpf}_0", live_stapbpf, "/usr/sbin/nginx:0x00000000000011d4"),
        (f"stapprobe_{gone}_0", gone, "/tmp/demo:0x0000000000001149")]
    stale = stale_stap_uprobes(str(events))
    assert [u.name for u in stale] == [f"stapprobe_{gone}_0", f"stapprobe_{gone}_1", f"stapprobe_{os.getpid()}_0"]
    removed, errors = remove_stale_stap_uprobes(str(events))
    assert removed == stale and errors == []
    # each removal is one appended command; nothing else is touched
    tail = events.read_text().splitlines()[5:]
    assert tail == [f"-:uprobes/stapprobe_{gone}_0", f"-:uprobes/stapprobe_{gone}_1",
                    f"-:uprobes/stapprobe_{os.getpid()}_0"]
    note = cleanup_note(removed, errors)
    assert note.startswith("removed 3 uprobes that a killed stapbpf (pid ") and str(gone) in note


def test_no_file_means_nothing_to_do(tmp_path):
    missing = str(tmp_path / "none")
    assert stap_uprobes(missing) == [] and remove_stale_stap_uprobes(missing) == ([], [])
    assert cleanup_note([], []) is None


def test_a_removal_that_fails_says_how_to_do_it_by_hand(tmp_path, monkeypatch):
    import stapbench.runner.uprobes as uprobes

    events = tmp_path / "uprobe_events"
    events.write_text(f"p:uprobes/stapprobe_{dead_pid()}_0 /tmp/demo:0x10\n")

    def refuse(*args):  # what a user without root gets
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(uprobes.os, "open", refuse)
    removed, errors = remove_stale_stap_uprobes(str(events))
    assert removed == [] and errors == [f"{stale_stap_uprobes(str(events))[0].name}: Permission denied"]
    assert "as root: echo '-:uprobes/NAME'" in cleanup_note(removed, errors)


def test_an_entry_still_in_use_is_left_alone_quietly(tmp_path, monkeypatch):
    """EBUSY: a stapbpf in another PID namespace (invisible in this /proc) still uses it."""
    import errno

    import stapbench.runner.uprobes as uprobes

    events = tmp_path / "uprobe_events"
    events.write_text(f"p:uprobes/stapprobe_{dead_pid()}_0 /tmp/demo:0x10\n")

    def busy(*args):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(uprobes.os, "open", busy)
    assert remove_stale_stap_uprobes(str(events)) == ([], [])
