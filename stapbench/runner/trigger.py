"""The trigger: a workload started (argv, no shell) once the probes are live.

Its output (stdout and stderr together) goes to the run's transcript and
callbacks, apart from stap's.  It runs in a session of its own so that
stopping it takes its children too (``curl`` in a loop, a load generator).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Callable

from .process import signal_group

READ_SIZE = 65536

#: what curl's exit statuses mean (curl(1), EXIT CODES): the usual trigger's usual failures
CURL_EXIT = {
    2: "curl could not initialize", 3: "malformed URL", 5: "could not resolve the proxy",
    6: "could not resolve the host", 7: "could not connect to the server (is it listening on that port?)",
    22: "the server answered with an HTTP error (>= 400, with -f)", 28: "the operation timed out",
    35: "TLS handshake failed", 47: "too many redirects", 52: "the server sent nothing (an empty reply)",
    56: "the connection broke while receiving (reset by the peer?)",
}


def trigger_failure(argv: list[str] | None, status: int | None) -> str | None:
    """None when the trigger succeeded (or did not run); else what went wrong, in one line."""
    if status is None or status == 0:
        return None
    name = os.path.basename(argv[0]) if argv else "trigger"
    if status < 0:
        return f"trigger {name} was killed by signal {-status}"
    if status == 127:
        return f"trigger {name} could not start (exit status 127: not found?)"
    meaning = CURL_EXIT.get(status) if name == "curl" else None
    return f"trigger {name} failed with exit status {status}" + (f": {meaning}" if meaning else "")


class Trigger:
    def __init__(self, argv: list[str], on_output: Callable[[bytes], None], on_exit: Callable[[int], None]):
        self.argv = argv
        self._on_output = on_output
        self._on_exit = on_exit
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        """Start it; raises OSError if it cannot be started."""
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read, name="stapbench-trigger", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, READ_SIZE)
            except OSError:
                data = b""
            if not data:
                break
            self._on_output(data)
        self.proc.stdout.close()
        self._on_exit(self.proc.wait())

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM to its session, SIGKILL after ``grace`` s."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)

    def join(self, timeout: float) -> None:
        """Wait until its last output was handed on."""
        if self._reader is not None:
            self._reader.join(timeout)
