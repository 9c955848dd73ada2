"""A lab's owner watchdog: takes the lab down when the process that started it dies.

Same pattern as :mod:`stapbench.runner.watchdog` for stap: a tiny process in a session of its own
(a kill of the owner's process group does not reach it) blocks reading a pipe whose only writer is
the owner.  The owner writes ``pid N`` once qemu runs, and ``done`` (release) when the lab is no longer
its to stop (``stapbench lab up``'s detached lab once it is ready, or after ``down``).  End of file
without ``done``: the owner died (SIGKILL, OOM, a Jupyter kernel killed), so the watchdog stops
qemu and removes the lab's state.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from ..runner.watchdog import DONE, release_watchdog

__all__ = ["start_owner_watchdog", "tell", "release", "RELEASE"]

# the runner's watchdog protocol: the same word releases, the same helper sends it and reaps
RELEASE = DONE
release = release_watchdog
_ENTRY = "import sys; from stapbench.lab.watchdog import main; sys.exit(main(sys.argv[1:]))"


def start_owner_watchdog(state_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _ENTRY, str(state_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def tell(proc: subprocess.Popen | None, message: bytes) -> None:
    if proc is None:
        return
    try:
        proc.stdin.write(message)
        proc.stdin.flush()
    except (OSError, ValueError):
        pass


def main(argv: list[str]) -> int:
    state_dir = Path(argv[0])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    try:
        data = sys.stdin.buffer.read()  # until the owner closes its end, or dies
    except OSError:
        data = b""
    if RELEASE in data:
        return 0
    pid = None
    for line in data.decode("ascii", "replace").splitlines():
        if line.startswith("pid "):
            pid = int(line.split()[1])
    from .machine import stop_qemu

    stop_qemu(state_dir, pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
