"""Hits per second per probe, from the events' arrival times.

A hit is what :func:`~stapbench.answers.frames.probe_hits` yields: the first event of
each hit the event log groups (:mod:`stapbench.views.grouping`), and a printf line
that parsed as a ``$$vars`` list; its time is that event's.
Events without a time (a transcript parsed outside a run) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..model import Event
from .frames import probe_hits

__all__ = ["Timeline", "hits_timeline"]

MAX_BINS = 100_000
MAX_SERIES = 50


@dataclass
class Timeline:
    """``series[probe][i]``: hits of that probe in ``[start + i*bin, start + (i+1)*bin)``."""

    bin: float
    start: float = 0.0
    series: dict[str, list[int]] = field(default_factory=dict)
    other: str = "(other probes)"

    @property
    def bins(self) -> int:
        return max((len(v) for v in self.series.values()), default=0)

    def rate(self, probe: str) -> list[float]:
        return [n / self.bin for n in self.series.get(probe, [])]


def hits_timeline(events: Iterable[Event], *, bin: float = 1.0) -> Timeline:
    """Hits per ``bin`` seconds for each probe (the ``MAX_SERIES`` most frequent; the rest
    are summed under ``(other probes)``), from the run's start (time 0)."""
    if bin <= 0:
        raise ValueError("bin must be positive")
    counts: dict[str, dict[int, int]] = {}
    totals: dict[str, int] = {}
    for event, key in probe_hits(events):
        if event.time is None:
            continue
        slot = min(int(event.time / bin), MAX_BINS - 1)
        per = counts.setdefault(key, {})
        per[slot] = per.get(slot, 0) + 1
        totals[key] = totals.get(key, 0) + 1
    timeline = Timeline(bin=bin)
    if not counts:
        return timeline
    width = max(max(per) for per in counts.values()) + 1
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    for rank, key in enumerate(ranked):
        name = key if rank < MAX_SERIES else timeline.other
        row = timeline.series.setdefault(name, [0] * width)
        for slot, n in counts[key].items():
            row[slot] += n
    return timeline
