"""stap's globals, statistics and ASCII histograms, from its printed lines.

Pure and streaming: :class:`AggregateParser` takes one line at a time (the
text of stdout's :class:`~stapbench.model.TextLine` events, or any lines) and
returns what each completes: :class:`~stapbench.model.aggregates.GlobalValue`,
:class:`~stapbench.model.aggregates.StatsValue`, or a
:class:`~stapbench.model.aggregates.Histogram` when its last row is followed by
another line (``close()`` ends one still open).  It never raises, works in
time linear in the input (each line is matched once by regexes without
nested repetition, lines longer than :data:`MAX_LINE` are not matched at all)
and keeps at most one histogram of at most :data:`MAX_ROWS` rows pending.

The formats are those of stap 4.8 (see :mod:`stapbench.model.aggregates`); a
probe's own ``printf("x=%d\\n", x)`` has the end-of-run display's shape and
is read the same way: the globals of a run are the lines of that shape,
wherever they are (the last value of a name and index wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from ..model import TextLine, VarsDump
from ..model.aggregates import GlobalValue, Histogram, HistogramRow, StatsValue

__all__ = ["AggregateParser", "Aggregates", "collect_aggregates", "parse_aggregate_lines"]

MAX_LINE = 4096
MAX_ROWS = 1024  # stap's log histograms have 128 buckets, linear ones at most STP_MAX_BUCKETS
MAX_ENTRIES = 100_000  # per run, kept by Aggregates
MAX_HISTOGRAMS = 1000

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_STRING = r'"(?:[^"\\]|\\.)*"'  # %#s: quotes and backslashes escaped
_NUMBER = r"-?(?:0x[0-9a-fA-F]+|[0-9]+)"
_ATOM = rf"(?:{_STRING}|{_NUMBER})"
_INDEX = rf"\[({_ATOM}(?:,{_ATOM})*)\]"
_ATOMS = re.compile(_ATOM)
_VALUE_LINE = re.compile(rf"({_NAME})(?:{_INDEX})?=({_ATOM})\Z")
_STATS_LINE = re.compile(
    rf"({_NAME})(?:{_INDEX})? @count=({_NUMBER})"
    rf"(?: @min=({_NUMBER}))?(?: @max=({_NUMBER}))?(?: @sum=({_NUMBER}))?(?: @avg=({_NUMBER}))?\Z")
_HIST_HEAD = re.compile(r" *value \|(-+) count\Z")
_HIST_ROW = re.compile(r" *([<>]?)(-?[0-9]+) \|(@*) +([0-9]+)\Z")
_HIST_GAP = re.compile(r" +~\Z")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|(.))", re.S)


def _unquote(token: str) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)) if m.group(1) else _ESCAPES.get(m.group(2), m.group(2)),
                       body)


def _atom(token: str) -> int | str:
    return _unquote(token) if token.startswith('"') else int(token, 0)


def _index(text: str | None) -> tuple | None:
    return None if text is None else tuple(_atom(t) for t in _ATOMS.findall(text))


def _int(text: str | None) -> int | None:
    return None if text is None else int(text, 0)


def _kind(rows: list[HistogramRow]) -> str:
    """``linear`` when an underflow/overflow row shows, or the printed values do not double."""
    if any(r.prefix for r in rows):
        return "linear"
    for a, b in zip(rows, rows[1:]):
        if b.after_gap:
            continue
        x, y = a.value, b.value
        log_step = (x == 0 and y == 1) or (x == -1 and y == 0) or (x > 0 and y == 2 * x) or (x < 0 and 2 * y == x)
        if not log_step:
            return "linear"
    return "log"


@dataclass
class _OpenHistogram:
    hist: Histogram
    gap: bool = False


class AggregateParser:
    """Feed lines (without their line ending); each call returns the items it completed."""

    def __init__(self):
        self._open: _OpenHistogram | None = None
        self._previous: str | None = None  # the last non-blank line that was nothing of ours

    def feed_line(self, line: str) -> list:
        try:
            return self._feed(line)
        except Exception:  # never raise on input: a line that breaks a rule is just not ours
            self._open = None
            return []

    def close(self) -> list:
        done = self._finish()
        return [done] if done is not None else []

    def _finish(self):
        if self._open is None:
            return None
        hist = self._open.hist
        self._open = None
        hist.kind = _kind(hist.rows)
        return hist

    def _feed(self, line: str) -> list:
        line = line.rstrip("\r\n")
        if len(line) > MAX_LINE:
            done = self._finish()
            self._previous = None
            return [done] if done else []
        if self._open is not None:
            row = _HIST_ROW.match(line)
            if row and len(self._open.hist.rows) < MAX_ROWS:
                prefix, value, _bar, count = row.groups()
                self._open.hist.rows.append(HistogramRow(int(value), int(count), prefix, self._open.gap))
                self._open.hist.lines.append(line)
                self._open.gap = False
                return []
            if _HIST_GAP.match(line):
                self._open.gap = True
                self._open.hist.lines.append(line)
                return []
            done = [self._finish()]
            if not line.strip():
                return done  # stap ends each histogram with an empty line
            return done + self._feed(line)
        head = _HIST_HEAD.match(line)
        if head:
            self._open = _OpenHistogram(Histogram(title=self._previous, width=len(head.group(1)), lines=[line]))
            self._previous = None
            return []
        if "=" in line and (line[:1].isalpha() or line[:1] == "_"):
            m = _VALUE_LINE.match(line)
            if m:
                name, index, value = m.groups()
                return [GlobalValue(name, _atom(value), _index(index), line)]
            m = _STATS_LINE.match(line)
            if m:
                name, index, count, lo, hi, total, avg = m.groups()
                return [StatsValue(name, int(count, 0), _int(lo), _int(hi), _int(total), _int(avg), _index(index), line)]
        if line.strip():
            self._previous = line.strip()
        return []


def parse_aggregate_lines(lines: Iterable[str]) -> list:
    """Every item in ``lines``, in order."""
    parser = AggregateParser()
    out = []
    for line in lines:
        out += parser.feed_line(line)
    return out + parser.close()


@dataclass
class Aggregates:
    """A run's globals by name (scalars, arrays, statistics) and its histograms, bounded."""

    values: dict[str, dict] = field(default_factory=dict)  # name -> {index or None: value}
    stats: dict[str, dict] = field(default_factory=dict)  # name -> {index or None: StatsValue}
    histograms: list[Histogram] = field(default_factory=list)
    dropped: int = 0  # items over the bounds
    _entries: int = 0

    def add(self, item) -> None:
        if isinstance(item, Histogram):
            if len(self.histograms) < MAX_HISTOGRAMS:
                self.histograms.append(item)
            else:
                self.dropped += 1
            return
        table = (self.values if isinstance(item, GlobalValue) else self.stats).setdefault(item.name, {})
        if item.index not in table:
            if self._entries >= MAX_ENTRIES:
                self.dropped += 1
                return
            self._entries += 1
        table[item.index] = item.value if isinstance(item, GlobalValue) else item

    def __bool__(self) -> bool:
        return bool(self.values or self.stats or self.histograms)

    @property
    def scalars(self) -> dict[str, int | str]:
        return {name: t[None] for name, t in self.values.items() if list(t) == [None]}

    @property
    def arrays(self) -> dict[str, dict]:
        return {name: t for name, t in self.values.items() if any(k is not None for k in t)}


def collect_aggregates(events_or_lines: Iterable) -> Aggregates:
    """:class:`Aggregates` of a run's events (stdout text lines) or of plain lines."""
    parser = AggregateParser()
    result = Aggregates()
    for item in events_or_lines:
        if isinstance(item, (TextLine, VarsDump)):  # str="hi" has a $$vars list's shape
            if item.stream == "stderr":
                continue
            item = item.text if isinstance(item, TextLine) else item.raw.rstrip("\r\n")
        elif not isinstance(item, str):
            continue
        for found in parser.feed_line(item):
            result.add(found)
    for found in parser.close():
        result.add(found)
    return result
