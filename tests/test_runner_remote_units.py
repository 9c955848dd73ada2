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
