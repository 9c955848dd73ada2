"""A tiny process that stops a stap process group when its parent dies.

Why: atexit handlers and IPython's shutdown do not run when the Jupyter kernel
is SIGKILLed (or dies of an OOM kill).  The watchdog is started per run in a
session of its own, so a kill of the kernel's process group does not reach it.
It blocks reading a pipe whose only writer is the parent: ``done`` means the
run ended normally; end-of-file without it means the parent died, and the
watchdog stops the stap group (SIGINT, then SIGTERM, then SIGKILL) and removes
the uprobes a killed stapbpf left loaded.

Run by :func:`start_watchdog` as ``python -c ... PGID GRACE TERM_GRACE``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

DONE = b"done\n"
# -c rather than -m: the package is imported first either way, and -m would
# warn that this module was already imported by it
_ENTRY = "import sys; from stapbench.runner.watchdog import main; sys.exit(main(sys.argv[1:]))"


def start_watchdog(pgid: int, grace: float, term_grace: float) -> subprocess.Popen:
    """Start the watchdog for ``pgid``; the caller keeps ``proc.stdin`` open
    until the run ends, then calls :func:`release_watchdog`."""
    return subprocess.Popen(
        [sys.executable, "-c", _ENTRY, str(pgid), repr(grace), repr(term_grace)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def release_watchdog(proc: subprocess.Popen | None) -> None:
    """Tell the watchdog the run ended normally, and reap it."""
    if proc is None:
        return
    try:
        proc.stdin.write(DONE)
        proc.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str]) -> int:
    pgid, grace, term_grace = int(argv[0]), float(argv[1]), float(argv[2])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    data = b""
    while True:
        try:
            chunk = os.read(0, 64)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    if data.startswith(DONE):
        return 0
    from .process import stop_group
    from .uprobes import remove_stale_stap_uprobes

    stop_group(pgid, grace=grace, term_grace=term_grace)
    remove_stale_stap_uprobes()  # what a stapbpf killed above left loaded
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
