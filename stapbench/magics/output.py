"""Plain streaming text for a run, rate-limited.

A run may print 100,000 lines a second; sending each to the browser would
freeze it.  :class:`TextRunDisplay` collects lines from the run's callbacks
(reader thread) and re-renders one output at most ``max_rate`` times a second:
a status line, stapbench's notes, stap's diagnostics, the last ``max_lines``
lines of probe output with a count of the lines not shown, and the trigger's
output apart.  The full output is always in the run folder.

In a Jupyter kernel the output is a display with a display id, updated in
place (this also keeps ``--bg`` output in its own cell while later cells run).
Elsewhere (a terminal, ``stapbench run``) new lines are printed as they come,
coalesced at the same rate, up to ``max_lines``.
"""

from __future__ import annotations

import collections
import sys
import threading
import time

from ..model import Diagnostic, Event, Summary
from ..runner import cleanup

MAX_LINE_CHARS = 2000


def _clip(line: str) -> str:
    if len(line) > MAX_LINE_CHARS:
        return line[:MAX_LINE_CHARS] + f"… [{len(line) - MAX_LINE_CHARS} more characters]"
    return line


def _in_kernel(shell) -> bool:
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _OutputTail:
    """The last lines of a workload's output (the trigger's, the -c program's), fed in chunks."""

    def __init__(self, max_lines: int):
        self._lines = collections.deque(maxlen=max_lines)
        self._partial = ""

    def feed(self, data: bytes) -> None:
        *lines, partial = (self._partial + data.decode("utf-8", "replace")).split("\n")
        self._lines.extend(_clip(line) for line in lines)
        # a line that never ends is kept to its first MAX_LINE_CHARS (all of it is in the run folder)
        self._partial = partial[:MAX_LINE_CHARS + 1]

    def lines(self) -> list[str]:
        return list(self._lines) + ([self._partial] if self._partial else [])


class TextRunDisplay:
    """Follows a :class:`~stapbench.runner.Run`; attach before ``run.start()``.  A
    :class:`~stapbench.views.display.RunDisplay`: ``show()``, ``close()`` (the run ended),
    ``finish()`` (wait for the final render)."""

    def __init__(self, run, *, shell=None, max_lines: int = 200, max_rate: float = 10.0, stream=None,
                 handle=None):
        """``handle``: an existing display handle to update (anything with
        ``update(bundle, raw=True)``); by default one is displayed in a kernel."""
        self.run = run
        self.max_lines = max(1, max_lines)
        self.interval = 1.0 / max(0.1, max_rate)
        self._tail = collections.deque(maxlen=self.max_lines)
        self._trigger_tail = _OutputTail(self.max_lines)
        self._program_tail = _OutputTail(self.max_lines)  # the -c program's own output
        self.lines_total = 0
        self.diagnostics: list[str] = []
        self.updates = 0  # how many times the output was (re)rendered
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._ended = False
        self._handle = handle
        self._live = handle is not None or _in_kernel(shell)
        self._stream = stream or sys.stdout
        self._printed = 0  # terminal mode: lines printed so far
        self._to_print: list[str] = []  # terminal mode: lines not printed yet
        run.on_event.append(self._on_event)
        run.on_trigger_output.append(lambda data: self._on_output(self._trigger_tail, data))
        run.on_program_output.append(lambda data: self._on_output(self._program_tail, data))
        run.on_note.append(lambda text: self._mark())
        run.on_ready.append(lambda _run: self._mark())
        run.on_end.append(lambda _run: self.close())
        self._thread = None
        for event in run.events:  # a replayed (already finished) run
            self._on_event(event)
        if run.finished.is_set():
            self.close()

    # --- fed from the run's reader thread ---------------------------------------

    def _on_event(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, (Diagnostic, Summary)):
                if len(self.diagnostics) < self.max_lines:
                    self.diagnostics.append(_clip(event.raw.rstrip("\n")))
            else:
                for line in event.raw.splitlines() or [""]:
                    line = _clip(line)
                    self._tail.append(line)
                    if not self._live and self.lines_total < self.max_lines:
                        self._to_print.append(line)  # terminal mode prints the first max_lines
                    self.lines_total += 1
        self._mark()

    def _on_output(self, tail: "_OutputTail", data: bytes) -> None:
        with self._lock:
            tail.feed(data)
        self._mark()

    def close(self) -> None:
        """The run ended: the updater makes its last render and stops."""
        self._ended = True
        self._mark()

    def _mark(self) -> None:
        self._dirty.set()

    # --- rendering ----------------------------------------------------------------

    def show(self) -> "TextRunDisplay":
        """Show the output and start the updater thread."""
        if self._live and self._handle is None:
            from IPython.display import display

            self._handle = display({"text/plain": self.render()}, raw=True, display_id=True)
        self._thread = threading.Thread(target=self._update_loop, name="stapbench-text-display", daemon=True)
        self._thread.start()
        return self

    def _update_loop(self) -> None:
        while True:
            self._dirty.wait()
            ended = self._ended
            self._dirty.clear()
            self._refresh()
            if ended:
                return
            time.sleep(self.interval)  # the rate limit: at most one update per interval

    def finish(self, timeout: float = 5.0) -> bool:
        """Wait for the final update (call after the run finished)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self._ended

    def _refresh(self) -> None:
        if cleanup.exiting:
            return
        self.updates += 1
        try:
            if self._live:
                self._handle.update({"text/plain": self.render()}, raw=True)
            else:
                self._print_new()
        except Exception:  # the kernel is going away (closed sockets): the transcript has it all
            pass

    def status(self) -> str:
        return self.run.status_line()

    def render(self) -> str:
        with self._lock:
            tail = list(self._tail)
            hidden = self.lines_total - len(tail)
            diagnostics = list(self.diagnostics)
            trigger = self._trigger_tail.lines()
            program = self._program_tail.lines()
        parts = [self.status()]
        parts += [f"[stapbench] {note}" for note in self.run.notes]
        parts += diagnostics
        if hidden:
            parts.append(f"[… {hidden:,} earlier lines not shown; all {self.lines_total:,} are in "
                         f"{self.run.folder}/stdout.bin]")
        parts += tail
        if trigger:
            argv = " ".join(self.run.trigger_argv or [])
            parts.append(f"── trigger output ({argv}) ──")
            parts += trigger
        if program:
            argv = " ".join(self.run.program_argv or [])
            parts.append(f"── program output ({argv}; stap -c, not probe output) ──")
            parts += program
        return "\n".join(parts)

    def _print_new(self) -> None:
        """Terminal mode: print lines not printed yet, up to max_lines, then a count."""
        with self._lock:
            total = self.lines_total
            out, self._to_print = self._to_print, []
        self._printed += len(out)
        if out:
            self._stream.write("\n".join(out) + "\n")
        if self._ended:
            extra = total - self._printed
            if extra > 0:
                self._stream.write(f"[… {extra:,} more lines not shown; all are in {self.run.folder}/stdout.bin]\n")
            for line in self.diagnostics:
                self._stream.write(line + "\n")
            for note in self.run.notes:  # a terminal shows them once, with the end (the live view: on top)
                self._stream.write(f"[stapbench] {note}\n")
            self._stream.write(self.status() + "\n")
        self._stream.flush()
