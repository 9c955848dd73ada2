"""The ``-c`` program's own output, kept apart from stap's.

stap forks its ``-c`` program itself, and the program inherits stap's stdout
and stderr: what it prints would land among the probe output (and be counted
as hits) or among stap's messages.  A wrapper command could redirect it, but
stap resolves a pathless ``process.function(...)`` from ``-c``'s first word,
so the word must stay the program.  Instead the program gets a terminal of its
own: this module opens a pty, and program_output_shim.c (preloaded into stap,
acting only in the process whose executable is the program) points the
program's fds 1 and 2 at its slave before ``main()``.  A terminal, not a pipe,
so the program line-buffers as it would under stap alone.

Not on ``--remote`` targets (the program runs there), not for a statically
linked or set-uid program (LD_PRELOAD does not reach it), and not for a
``#!`` script (its executable is the interpreter): there the output stays
mixed, as stap alone would have it, and the run says so.
"""

from __future__ import annotations

import os
import select
import shutil
import termios
import threading
from typing import Callable

from .options import as_argv

#: where .ci/provision installs the shim (see program_output_shim.c)
DEFAULT_PROGRAM_SHIM = "/usr/local/lib/stapbench/program_output_shim.so"
READ_SIZE = 65536


def program_shim_path() -> str | None:
    path = os.environ.get("STAPBENCH_PROGRAM_SHIM") or DEFAULT_PROGRAM_SHIM
    return path if os.path.isfile(path) else None


def program_executable(cmd, path: str | None = None) -> str | None:
    """The real path of the executable ``cmd``'s first word names, found the way
    execvp finds it (``path``: the PATH stap will have), or None."""
    word = as_argv(cmd)[0]
    found = word if "/" in word else shutil.which(word, path=path)
    if not found or not os.path.isfile(found):
        return None
    return os.path.realpath(found)


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


class ProgramOutput:
    """A pty for the ``-c`` program and the thread that reads it.

    :meth:`env` is what stap's environment needs for the shim; ``on_output(bytes)``
    gets what the program writes; :meth:`close` (after stap and the program are
    gone) hands on the rest and ends the reader.
    """

    def __init__(self, executable: str, shim: str, on_output: Callable[[bytes], None]):
        self.executable = executable
        self._shim = shim
        self._on_output = on_output
        self._master, self._slave = os.openpty()
        attrs = termios.tcgetattr(self._slave)
        attrs[1] &= ~termios.ONLCR  # byte-exact: no \n -> \r\n
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.tty = os.ttyname(self._slave)
        self.bytes_read = 0
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, name="stapbench-program", daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, cmd, on_output: Callable[[bytes], None], path: str | None = None) -> tuple["ProgramOutput | None", str | None]:
        """(the ProgramOutput, None), or (None, why the output stays mixed)."""
        shim = program_shim_path()
        if shim is None:
            return None, (f"the -c program's output is mixed into stap's: no {DEFAULT_PROGRAM_SHIM} "
                          "(.ci/provision builds it)")
        executable = program_executable(cmd, path)
        if executable is None:
            return None, None  # stap will say it cannot find the program
        if _is_script(executable):
            return None, (f"the -c program's output is mixed into stap's: {executable} is a #! script "
                          "(its process runs the interpreter, which the output shim cannot tell apart)")
        return cls(executable, shim, on_output), None

    def env(self, ld_preload: str | None) -> dict[str, str]:
        preload = ":".join(p for p in (ld_preload, self._shim) if p)
        return {"LD_PRELOAD": preload, "STAPBENCH_PROGRAM_EXE": self.executable,
                "STAPBENCH_PROGRAM_OUTPUT": self.tty}

    def _read(self) -> None:
        while True:
            try:
                readable, _, _ = select.select([self._master], [], [], 0.2)
            except InterruptedError:
                continue
            if not readable:
                if self._closing.is_set():
                    break  # something the program started still holds the slave: stop waiting for it
                continue
            try:
                data = os.read(self._master, READ_SIZE)
            except OSError:  # EIO: every slave is closed (ours too: close())
                break
            if not data:
                break
            self.bytes_read += len(data)
            self._on_output(data)

    def close(self, timeout: float = 5.0) -> None:
        """Drop our end of the slave; the reader hands on what is left and ends."""
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        self._closing.set()
        self._reader.join(timeout)
        if not self._reader.is_alive() and self._master is not None:
            os.close(self._master)
            self._master = None
