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
