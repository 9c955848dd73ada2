"""The stdout of a run on several hosts: one stream per host.

With two or more ``--remote`` targets the runner adds ``--remote-prefix``, and
stap leads each line with the target's index (``0: ``, ``1: ``).
:class:`HostStdout` splits that stdout per host (:class:`~stapbench.parser.hosts.HostSplitter`),
takes each host's readiness marker out of its own stream (every host prints
it), parses each host's stream with a parser of its own (so a backtrace of one
host is never broken by another host's line) and labels the events with the
host's name.  The run is ready once every host printed its marker.

The merged stdout on disk keeps every byte; ``on_host_bytes`` hands each
host's bytes (prefixes taken off) to whoever keeps a per-host transcript.
"""

from __future__ import annotations

from typing import Callable

from ..model import Event
from ..parser import StreamParser
from ..parser.hosts import HostSplitter
from .marker import MarkerFilter

__all__ = ["HostStdout"]


class _HostStream:
    __slots__ = ("label", "marker", "parser")

    def __init__(self, label: str | None, marker: str | None):
        self.label = label
        self.marker = MarkerFilter(marker)
        self.parser = StreamParser("stdout")

    def label_events(self, events: list[Event]) -> list[Event]:
        for event in events:
            event.host = self.label
        return events


class HostStdout:
    """Splits, filters and parses a prefixed stdout (see the module doc).

    ``labels``: the hosts' names in ``--remote`` order (index = stap's prefix).
    """

    def __init__(self, labels: list[str], marker: str | None,
                 on_host_bytes: Callable[[str, bytes], None] | None = None):
        self.labels = list(labels)
        self._splitter = HostSplitter()
        self._hosts = [_HostStream(label, marker) for label in self.labels]
        # lines before any prefix: stap's own stdout (no marker in it)
        self._unprefixed = _HostStream(None, None)
        self._on_host_bytes = on_host_bytes
        self.ready = marker is None

    @property
    def ready_hosts(self) -> list[str]:
        return [h.label for h in self._hosts if h.marker.found]

    @property
    def bpf_noise_lines(self) -> int:
        return sum(h.parser.bpf_noise_lines for h in (*self._hosts, self._unprefixed))

    def _host(self, index: int | None) -> _HostStream:
        if index is None or index >= len(self._hosts):
            return self._unprefixed  # an index stap would not print: kept, not lost
        return self._hosts[index]

    def feed(self, data: bytes) -> tuple[list[Event], bool]:
        """Events completed by this chunk, and whether the run became ready with it."""
        return self._take(self._splitter.feed(data))

    def _take(self, pieces) -> tuple[list[Event], bool]:
        events: list[Event] = []
        for index, piece in pieces:
            host = self._host(index)
            if self._on_host_bytes is not None and host.label is not None:
                self._on_host_bytes(host.label, piece)
            piece, _ = host.marker.feed(piece)
            if piece:
                events += host.label_events(host.parser.feed(piece))
        became_ready = not self.ready and all(h.marker.found for h in self._hosts)
        if became_ready:
            self.ready = True
        return events, became_ready

    def flush(self) -> list[Event]:
        events: list[Event] = []
        for host in (*self._hosts, self._unprefixed):
            events += host.label_events(host.parser.flush())
        return events

    def close(self) -> list[Event]:
        events, _ = self._take(self._splitter.close())
        for host in (*self._hosts, self._unprefixed):
            tail = host.marker.close()
            if tail:
                events += host.label_events(host.parser.feed(tail))
            events += host.label_events(host.parser.close())
        return events
