"""What a stap run produced: :class:`RunRecord`, plain data and no process.

A live :class:`~stapbench.runner.run.Run` fills one as stap runs; :func:`~stapbench.runner.run.replay`
builds one from a run folder (:meth:`RunRecord.from_folder`).  Either way the events come
through the same :class:`~stapbench.runner.pipeline.ParsePipeline`.  Memory stays bounded:
the newest ``options.max_events`` events are kept (the rest counted), diagnostics and
summaries always.  ``meta.json`` is :meth:`RunRecord.meta`, written by :meth:`write_meta`.
"""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path

from ..model import Diagnostic, Event, Summary
from .options import RunOptions, as_argv
from .transcript import SCRIPT, STREAM_FILES, read_meta, write_meta

META_VERSION = 1


class RunRecord:
    """A run's script, options, argv and folder, its events, and how it ended.

    ``exit_status`` is stap's exit code, or ``-signal`` when a signal ended it;
    ``stop_reason`` one of ``"exited"``, ``"timeout"``, ``"interrupted"``, ``"stopped"``,
    ``"trigger finished"``, ``"trigger failed"`` (it exited non-zero), ``"target exited"``, ``"shutdown"``, ``"parent died"``, ``"error"``;
    ``stop_signal`` the signal that ended stap (None when it ended by itself).
    """

    def __init__(self, script: str, options: RunOptions, *, marker: str | None = None,
                 folder: Path | None = None, argv: list[str] | None = None):
        self.script = script
        self.options = options
        self.marker = marker
        self.folder = folder
        self.argv: list[str] = list(argv or [])
        self.trigger_argv = options.trigger_argv()
        self.program_argv = as_argv(options.cmd)  # stap's -c program
        self.stap_pid: int | None = None
        #: with --sudo: how the supervisor's lines on stderr begin (they become notes)
        self.supervisor_token: str | None = None
        self._events: collections.deque[Event] = collections.deque(maxlen=max(1, options.max_events))
        self._lock = threading.Lock()
        self.events_total = 0
        self.diagnostics: list[Diagnostic] = []
        self.summaries: list[Summary] = []
        self.notes: list[str] = []
        self.started_at: float | None = None
        self.ready_at: float | None = None
        self.ended_at: float | None = None
        self.exit_status: int | None = None
        self.stop_reason: str | None = None
        self.stop_signal: str | None = None
        self.trigger_status: int | None = None
        self.replayed = False
        #: the --remote targets, in order: {"spec", "url", "label", "sysroot"} (runner.remote)
        self.hosts: list[dict] = []

    # --- contents ------------------------------------------------------------------

    def add_events(self, events: list[Event]) -> None:
        with self._lock:
            for event in events:
                self._events.append(event)
                if isinstance(event, Diagnostic):
                    self.diagnostics.append(event)
                elif isinstance(event, Summary):
                    self.summaries.append(event)
            self.events_total += len(events)

    @property
    def events(self) -> list[Event]:
        """The newest ``max_events`` events (a copy)."""
        with self._lock:
            return list(self._events)

    @property
    def events_dropped(self) -> int:
        return self.events_total - len(self._events)

    def text(self) -> str:
        """The probe output kept in memory as text (TextLine events)."""
        return "".join(e.raw for e in self.events if e.type == "text")

    def raw(self, stream: str = "stdout") -> bytes:
        """The raw bytes of a stream from the transcript (marker line included)."""
        path = self.folder / STREAM_FILES[stream] if self.folder else None
        return path.read_bytes() if path and path.exists() else b""

    @property
    def trigger_output(self) -> str:
        return self.raw("trigger").decode("utf-8", "replace")

    @property
    def program_output(self) -> str:
        """What the ``-c`` program wrote, where it had a terminal of its own (runner.program)."""
        return self.raw("program").decode("utf-8", "replace")

    def status_line(self) -> str:
        """One line on how the run ended (a live run says more: :meth:`Run.status_line`)."""
        if self.ended_at is None:
            return f"[stap run without a recorded end; transcript: {self.folder}]"
        took = self.ended_at - (self.started_at or self.ended_at)
        reason = f", {self.stop_reason}" if self.stop_reason and self.stop_reason != "exited" else ""
        if self.trigger_status is not None:
            reason += f", trigger exit status {self.trigger_status}"
        return f"[stap exited with status {self.exit_status} after {took:.1f} s{reason}; transcript: {self.folder}]"

    def sysroot_for(self, host: str | None) -> Path | None:
        """Where the files of ``host`` (an event's ``host``; None on a one-host run) are on
        this machine: a lab's rootfs; None for this machine's own files."""
        if host is None and len(self.hosts) == 1:
            host = self.hosts[0]["label"]
        for target in self.hosts:
            if target["label"] == host and target.get("sysroot"):
                return Path(target["sysroot"])
        return None

    # --- meta.json -------------------------------------------------------------------

    def meta(self) -> dict:
        opts = self.options
        return {
            "version": META_VERSION,
            "argv": self.argv,
            "stap_pid": self.stap_pid,
            "marker": self.marker,
            "supervisor_token": self.supervisor_token,
            "runtime": opts.runtime,
            "pid": opts.pid,
            "cmd": opts.cmd,
            "trigger": self.trigger_argv,
            "timeout": opts.timeout,
            "check": opts.check,
            "use_sudo": opts.use_sudo,
            "started_at": self.started_at,
            "ready_at": self.ready_at,
            "ended_at": self.ended_at,
            "exit_status": self.exit_status,
            "stop_reason": self.stop_reason,
            "stop_signal": self.stop_signal,
            "trigger_status": self.trigger_status,
            "events_total": self.events_total,
            "hosts": self.hosts,
            "notes": self.notes,
        }

    def write_meta(self) -> None:
        write_meta(self.folder, self.meta())

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, options: RunOptions | None = None) -> "RunRecord":
        """A record of a run folder's script and meta.json, without events (the pipeline's
        :meth:`~stapbench.runner.pipeline.ParsePipeline.feed_recorded` adds them)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"no run folder at {folder}")
        meta = read_meta(folder)
        script_file = folder / SCRIPT
        script = script_file.read_text(encoding="utf-8", errors="replace") if script_file.exists() else ""
        record = cls(script, options or RunOptions(), marker=meta.get("marker"), folder=folder,
                     argv=meta.get("argv"))
        record.replayed = True
        record.trigger_argv = meta.get("trigger")
        try:
            record.program_argv = as_argv(meta.get("cmd"))
        except ValueError:  # an empty or unsplittable cmd in a hand-edited meta.json
            record.program_argv = None
        record.stap_pid = meta.get("stap_pid")
        record.supervisor_token = meta.get("supervisor_token")
        for name in ("started_at", "ready_at", "ended_at", "exit_status", "stop_reason", "stop_signal",
                     "trigger_status"):
            setattr(record, name, meta.get(name))
        record.notes = list(meta.get("notes") or [])
        record.hosts = [h for h in meta.get("hosts") or [] if isinstance(h, dict) and "label" in h]
        return record


def update_meta(folder: Path, **changes) -> None:
    """Rewrite some fields of a run folder's meta.json (the watchdog's record of an end it saw)."""
    meta = read_meta(folder)
    if not meta:
        return
    notes = changes.pop("add_notes", [])
    meta.update(changes)
    meta["notes"] = list(meta.get("notes") or []) + notes
    write_meta(folder, meta)
