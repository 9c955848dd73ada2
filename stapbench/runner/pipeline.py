"""stap's bytes to events, the same way live and in a replay.

:class:`ParsePipeline` takes chunks of stap's two streams: stdout goes through the
readiness-marker filter (the marker line is not the user's output), stderr through
the filter that takes out the ``--sudo`` supervisor's notes, then each stream
through its own :class:`~stapbench.parser.StreamParser`; the events go into the
:class:`~stapbench.runner.record.RunRecord` and to the ``on_event`` callbacks.  A new
stream, filter or per-event hook belongs here, so a live run and a replay stay alike; a
several-host run's stdout is split per host here too (:class:`~stapbench.runner.hoststreams.HostStdout`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from ..model import Event
from ..parser import StreamParser
from .hoststreams import HostStdout
from .marker import MarkerFilter, TaggedLineFilter
from .record import RunRecord
from .transcript import iter_chunks

log = logging.getLogger(__name__)

#: after stap went quiet this long, a pending multi-line construct is emitted
IDLE_FLUSH_S = 0.1
#: said once per run whose output held the BPF tapset's debug text (parser.lines.BPF_NOISE)
BPF_NOISE_NOTE = ("\"hello from the new bpf assembler\", debug text of stap 4.8's BPF user_string functions, is "
                  "hidden from the lines (the transcript keeps it); those functions also give one character less "
                  "than asked: user_string_n(p, n) returns n-1, so pass n+1")


def call_each(callbacks, arg, errors: list[BaseException]) -> None:
    """Call every callback with ``arg``; a failing one is logged once and kept in ``errors``
    (a broken view must not stop the run)."""
    for callback in list(callbacks):
        try:
            callback(arg)
        except Exception as exc:
            if not errors:
                log.exception("stapbench: a run callback failed")
            errors.append(exc)


class ParsePipeline:
    def __init__(self, record: RunRecord, *, on_event: list[Callable[[Event], None]] | None = None,
                 errors: list[BaseException] | None = None, note: Callable[[str], None] | None = None):
        self.record = record
        self.on_event = on_event if on_event is not None else []
        self.errors = errors if errors is not None else []
        self._note = note or record.notes.append
        self._marker = MarkerFilter(record.marker)
        self._supervisor_lines = TaggedLineFilter(record.supervisor_token)
        self._parsers = {"stdout": StreamParser("stdout"), "stderr": StreamParser("stderr")}
        self._t: float | None = None  # arrival time of the last chunk fed
        self._hosts: HostStdout | None = None  # stdout of a several-host run, split per host
        if len(record.hosts) > 1:
            self.split_hosts()

    def split_hosts(self, on_host_bytes: Callable[[str, bytes], None] | None = None) -> None:
        """stdout comes from several hosts (``--remote-prefix``): one stream, marker and
        parser per host of ``record.hosts``; ``on_host_bytes(label, bytes)`` keeps each
        host's own transcript."""
        self._hosts = HostStdout([h["label"] for h in self.record.hosts], self.record.marker, on_host_bytes)

    def feed(self, stream: str, data: bytes, t: float | None = None) -> bool:
        """Parse a chunk that arrived ``t`` seconds into the run (the events it completes get
        that ``time``; a flush's events get the last chunk's); True if it held the readiness
        marker (which is not parsed)."""
        if t is not None:
            self._t = t
        if stream == "stdout" and self._hosts is not None:
            events, found = self._hosts.feed(data)
            self._deliver(events)
            self._note_bpf_noise(self._hosts)
            return found
        found = False
        if stream == "stdout":
            data, found = self._marker.feed(data)
        else:
            data, texts = self._supervisor_lines.feed(data)
            for text in texts:
                self._supervisor_said(text)
        if data:
            parser = self._parsers[stream]
            self._deliver(parser.feed(data))
            self._note_bpf_noise(parser)
        return found

    def _note_bpf_noise(self, parser) -> None:
        if parser.bpf_noise_lines and BPF_NOISE_NOTE not in self.record.notes:
            self._note(BPF_NOISE_NOTE)

    def flush(self) -> None:
        """stap went quiet: emit what waits for a next line (a backtrace's end)."""
        for parser in self._parsers.values():
            self._deliver(parser.flush())
        if self._hosts is not None:
            self._deliver(self._hosts.flush())

    def close(self) -> None:
        for stream, tail in (("stdout", self._marker.close()), ("stderr", self._supervisor_lines.close())):
            if tail:
                self._deliver(self._parsers[stream].feed(tail))
        for parser in self._parsers.values():
            self._deliver(parser.close())
        if self._hosts is not None:
            self._deliver(self._hosts.close())

    def feed_recorded(self, folder: Path) -> bool:
        """Parse a run folder's streams in their recorded interleaving, flushing where stap
        was idle as the live reader did, and close; True if the marker came."""
        ready = False
        last_t = 0.0
        for stream, data, t in iter_chunks(folder):
            if stream in ("trigger", "program"):  # not stap's: shown apart
                continue
            if t - last_t > IDLE_FLUSH_S:
                self.flush()
            last_t = t
            ready = self.feed(stream, data, t) or ready
        self.close()
        return ready

    def _supervisor_said(self, text: str) -> None:
        kind, _, rest = text.partition(" ")
        if kind == "note" and rest not in self.record.notes:  # (a replay has it from meta.json)
            self._note(rest)

    def _deliver(self, events: list[Event]) -> None:
        if not events:
            return
        if self._t is not None:
            for event in events:
                event.time = self._t
        self.record.add_events(events)
        for event in events:
            call_each(self.on_event, event, self.errors)
