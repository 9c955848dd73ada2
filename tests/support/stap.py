"""``stap_bpf``: proof, once per session, that stap's BPF runtime really runs a
user-space probe here; tests that need stap skip with the reason otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

from stapbench.runner.options import RunOptions
from stapbench.runner.process import session_members
from stapbench.runner.uprobes import stale_stap_uprobes


def wait_sessions_empty(sids, timeout: float) -> list[tuple[int, str]]:
    """Poll until no session in ``sids`` has a live process; return what is left at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [m for sid in sids for m in session_members(sid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


@dataclass(frozen=True)
class StapBpf:
    runtime: str
    env: dict  # what stap needs in its environment here (the memlock shim)


def _probe_once(program) -> str | None:
    """Run a tiny real probe; None if it worked, else why not."""
    if shutil.which("stap") is None:
        return "stap is not installed (apt-get install systemtap; .ci/provision does it)"
    if shutil.which("stapbpf") is None:
        return "stapbpf is missing (Debian's systemtap package provides it)"
    if not os.path.exists("/sys/kernel/debug/tracing/uprobe_events"):
        return "debugfs is not mounted at /sys/kernel/debug (run .ci/provision)"
    env = dict(os.environ)
    shim = RunOptions(runtime="bpf").shim_path()
    if shim:
        env["LD_PRELOAD"] = shim
    script = f'probe process("{program}").function("handle_leaf") {{ printf("hit %d\\n", $r->number) }}'
    # The target sleeps between calls: stapbpf -c can miss the SIGCHLD of a target
    # that exits before stapbpf starts waiting for it, and then waits forever.
    proc = subprocess.Popen(["stap", "--runtime=bpf", "-e", script, "-c", f"{program} 2 100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return "a tiny stap --runtime=bpf probe did not finish within 300 s"
    if b"hit 1\n" in out and b"hit 2\n" in out:
        return None
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return ("stap --runtime=bpf cannot run a user-space probe here (run .ci/provision): "
            + (" | ".join(lines[-4:]) if lines else f"exit status {proc.returncode}"))


@pytest.fixture(scope="session")
def stap_bpf(demo_program) -> StapBpf:
    reason = _probe_once(demo_program)
    if reason:
        pytest.skip(reason)
    return StapBpf(runtime="bpf", env={})


@pytest.fixture
def no_stap_left():
    """Yields; afterwards asserts that no stap process this test started is left.

    Tests register the run pids (stap's pid is its session id) in the yielded list."""
    sessions: list[int] = []
    yield sessions
    left = wait_sessions_empty(sessions, timeout=15)
    assert not left, f"processes left behind: {left}"
    assert_no_stale_uprobes()


def assert_no_stale_uprobes(timeout: float = 10) -> None:
    """No probe point of a stapbpf that is gone is still loaded (a watchdog may still be at it)."""
    deadline = time.monotonic() + timeout
    while (stale := stale_stap_uprobes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stale, f"uprobes left loaded: {[u.name for u in stale]}"
