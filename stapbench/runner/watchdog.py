"""A tiny process that stops a stap process group when its parent dies.

Why: atexit handlers and IPython's shutdown do not run when the Jupyter kernel
is SIGKILLed (or dies of an OOM kill).  The watchdog is started per run in a
session of its own, so a kill of the kernel's process group does not reach it.
It blocks reading a pipe whose only writer is the parent: ``done`` means the
run ended normally; end-of-file without it means the parent died, and the
watchdog stops the stap group (SIGINT, then SIGTERM, then SIGKILL), waits until
it is gone, removes the uprobes a killed stapbpf left loaded, and records the
end in the run folder's meta.json (the parent can't any more).

Run by :func:`start_watchdog` as ``python -c ... PGID GRACE TERM_GRACE [FOLDER]``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DONE = b"done\n"
# -c rather than -m: the package is imported first either way, and -m would
# warn that this module was already imported by it
_ENTRY = "import sys; from stapbench.runner.watchdog import main; sys.exit(main(sys.argv[1:]))"
#: how long the stopped group may take to be gone, and its uprobes to be free
GONE_S = 5.0


def start_watchdog(pgid: int, grace: float, term_grace: float, folder: Path | None = None) -> subprocess.Popen:
    """Start the watchdog for ``pgid`` (the run folder ``folder``); the caller keeps
    ``proc.stdin`` open until the run ends, then calls :func:`release_watchdog`."""
    return subprocess.Popen(
        [sys.executable, "-c", _ENTRY, str(pgid), repr(grace), repr(term_grace),
         *([os.fspath(folder)] if folder is not None else [])],
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
    folder = Path(argv[3]) if len(argv) > 3 else None
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
    from .process import group_members, stop_group, wait_group_gone
    from .record import update_meta
    from .transcript import read_meta
    from .uprobes import cleanup_note, remove_stale_stap_uprobes

    sent: list[str] = []
    if group_members(pgid):
        stop_group(pgid, grace=grace, term_grace=term_grace, sent=sent.append)
    wait_group_gone(pgid, GONE_S)
    note = cleanup_note(*remove_stale_stap_uprobes(busy_for=GONE_S))  # what a stapbpf killed above left
    if folder is not None and read_meta(folder).get("ended_at") is None:  # else the parent recorded it
        # stap's parent is gone, so its exit status is too: record the signal that ended it (the
        # terminal hang-up when this process's pty closed, if stap was gone before the watchdog looked)
        ended_by = sent[-1] if sent else "SIGHUP"
        how = f"the watchdog stopped stap ({ended_by})" if sent else "stap ended with its terminal's hang-up"
        update_meta(folder, ended_at=time.time(), stop_reason="parent died", stop_signal=ended_by,
                    exit_status=-signal.Signals[ended_by].value,
                    add_notes=[f"the Python side died; {how}"] + ([note] if note else []))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
