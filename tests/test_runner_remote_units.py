"""--remote without a lab VM: target resolution, stap's argv, a lab that is not up."""

from __future__ import annotations

import pytest

from stapbench.runner import Run, RunError
from stapbench.runner.options import RunOptions, build_stap_argv
from stapbench.runner.remote import RemoteError, resolve_targets


def test_urls_go_to_stap_as_written_and_two_add_the_prefix(tmp_path):
    assert [t.url for t in resolve_targets(["root@box.example", "box.example"])] == ["root@box.example",
                                                                                     "box.example"]
    targets = resolve_targets(["unix:/tmp/a.sock", "ssh://user@box"])
    assert [(t.url, t.label, t.sysroot) for t in targets] == [
        ("unix:/tmp/a.sock", "unix:/tmp/a.sock", None), ("ssh://user@box", "ssh://user@box", None)]
    argv = build_stap_argv(RunOptions(remote=["x"]), tmp_path / "s.stp", [t.url for t in targets])
    assert argv[1:4] == ["--remote=unix:/tmp/a.sock", "--remote=ssh://user@box", "--remote-prefix"]
    one = build_stap_argv(RunOptions(remote=["unix:/tmp/a.sock"]), tmp_path / "s.stp")
    assert "--remote=unix:/tmp/a.sock" in one and "--remote-prefix" not in one


def test_a_target_named_twice_or_empty_is_refused():
    with pytest.raises(RemoteError, match="named twice"):
        resolve_targets(["unix:/x", "unix:/x"])
    with pytest.raises(RemoteError, match="empty"):
        resolve_targets([" "])


def test_a_lab_that_is_not_up_fails_the_run_at_once_with_the_way_out(tmp_path, monkeypatch):
    from stapbench.lab import Lab

    monkeypatch.setenv("STAPBENCH_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert not Lab("sleepy").is_up
    run = Run("probe begin { exit() }", remote=["sleepy"], transcript_dir=tmp_path / "runs")
    with pytest.raises(RunError, match=r"lab 'sleepy' is not up: start it with `stapbench lab up sleepy`"):
        run.start()
    assert run.finished.is_set() and run.stop_reason == "error" and run.pid is None
    assert "--remote: lab 'sleepy' is not up" in run.notes[-1]


def test_a_run_on_labs_stops_inside_the_guests_and_falls_back_when_it_cannot():
    from stapbench.runner.remote import RemoteTarget, stop_in_labs

    class Lab:
        name = "lab"

        def __init__(self, fail=False):
            self.calls, self.fail = [], fail

        def exec(self, argv, timeout):
            if self.fail:
                raise TimeoutError("no answer")
            self.calls.append(argv)

    notes = []
    lab = Lab()
    target = RemoteTarget(spec="lab", url="unix:/x", label="lab", lab=lab)
    assert stop_in_labs([target], 1.0, lambda: bool(lab.calls), notes.append)
    assert lab.calls == [["pkill", "-INT", "-x", "stapio"]] and "stopped in the guest" in notes[-1]
    # stap never ends: a second SIGINT, then the caller's own signals
    slow = Lab()
    assert not stop_in_labs([RemoteTarget(spec="lab", url="unix:/x", label="lab", lab=slow)], 0.2, lambda: False, notes.append)
    assert len(slow.calls) == 2
    broken = RemoteTarget(spec="lab", url="unix:/x", label="lab", lab=Lab(fail=True))
    assert not stop_in_labs([broken], 1.0, lambda: False, notes.append) and "could not stop stapio" in notes[-1]
    ssh = RemoteTarget(spec="ssh://h", url="ssh://h", label="h")
    assert not stop_in_labs([target, ssh], 1.0, lambda: True, notes.append)  # not all labs
