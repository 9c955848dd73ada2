"""Stop every live run when the interpreter exits, or is asked to by SIGTERM.

atexit covers a normal exit and a Jupyter kernel shut down from the front end
(ipykernel stops its loop and the interpreter exits).  Python's default SIGTERM
ends the process without atexit, so while runs are live a SIGTERM (where nobody
else handles it) first stops them the same way, then ends the process with the
default action.  The grace periods are short because Jupyter kills a kernel that
takes more than about 5 s to go; if that happens, each run's watchdog process
finishes the job.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import weakref

_live: "weakref.WeakSet" = weakref.WeakSet()
_lock = threading.Lock()
_registered = False
#: True once the interpreter is exiting: displays stop sending (the kernel's sockets are closing)
exiting = False

#: grace periods used at exit (seconds): SIGINT, then SIGTERM, then SIGKILL
EXIT_GRACE = 2.0
EXIT_TERM_GRACE = 1.0


def register(run) -> None:
    global _registered
    with _lock:
        _live.add(run)
        if not _registered:
            atexit.register(_at_exit)
            _registered = True
    _handle_sigterm()


def _handle_sigterm() -> None:
    """Take SIGTERM where it has its default action (signal handlers belong to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        pass


def _on_sigterm(signum, frame) -> None:
    _at_exit()
    # then what SIGTERM would have done: the sender sees the process end by it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def unregister(run) -> None:
    with _lock:
        _live.discard(run)


def live_runs() -> list:
    with _lock:
        return [r for r in _live if r.running]


def _at_exit() -> None:
    global exiting
    exiting = True
    stop_all()


def stop_all(grace: float = EXIT_GRACE, wait: float | None = None) -> None:
    """Stop all live runs (in parallel) and wait for them to end."""
    runs = live_runs()
    for run in runs:
        run.stop(reason="shutdown", grace=grace)
    limit = grace + EXIT_TERM_GRACE + 2.0 if wait is None else wait
    for run in runs:
        run.finished.wait(limit)
