"""The live event log: an anywidget (``eventlog.js``, a plain ES module) fed by ``push(events)``.

Rows are probe hits (see :mod:`grouping`): a ``printf`` line with the
backtrace and dumps that followed it.  Bounds, so a run printing a million
lines stays responsive:

* memory: the most recent ``max_groups`` groups are kept (older ones are
  dropped; counts per probe and totals still cover the whole run);
* sync and DOM: only one page (``page_size`` rows, at most 1,000) is synced
  to the front end, which renders exactly those rows; filtering, ordering and
  paging happen here, on the kept groups;
* update rate: pushes are batched, at most one front-end update per
  ``min_interval`` (0.1 s: 10 a second); a push after a quiet spell is sent at
  once, so the first events show within a few milliseconds, well inside 250 ms.

Filter: case-insensitive substring of a group's text (its printf line and the
text of what joined it); ``key:NAME`` keeps the groups of one probe (what a
count chip sets).

Order and pages: a run's log reads as it happened, oldest row first (as its
static render does); ``newest_first`` turns each page around.  ``page`` counts
back from the newest rows whatever the order: page 0 holds the newest
``page_size`` rows, page 1 the ones before them.  So a log opens on the newest
rows (in chronological reading, its last page: the front end numbers the pages
that way and keeps the list scrolled to its end while the user is there), a
live run keeps showing what just arrived, and a filter starts from the newest
matches.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import anywidget
import traitlets as T

from ..model import Backtrace, Diagnostic, Event, StructDump, TextLine, VarsDump
from ._html import count, esc, wrap_root
from ._repr import StaticReprMixin
from .grouping import Group, Grouper, ProbeCounter
from .valuetree import render_struct_text, render_vars_text

_HERE = Path(__file__).parent
MAX_PAGE = 1000
MAX_TEXT = 2000  # characters of a row's head line sent to the front end
MAX_ITEM_TEXT = 8000  # characters of a joined backtrace/dump


_JOINABLE = (Backtrace, StructDump, VarsDump)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\u2026 [{len(text) - limit} more characters]"


def _item(event: Event) -> dict:
    if isinstance(event, Backtrace):
        n = len(event.frames)
        label = f"backtrace ({n} frame{'s' if n != 1 else ''})"
        text = "\n".join(f.text.strip() for f in event.frames) or (event.note or "")
    elif isinstance(event, StructDump):
        label = (event.prefix.strip() or "$dump") + (" (truncated)" if event.truncated else "")
        text = render_struct_text(event)
    elif isinstance(event, VarsDump):
        label = (event.prefix.strip() or "$$vars") + (" (truncated)" if event.truncated else "")
        text = render_vars_text(event)
    else:
        label, text = event.type, event.raw.rstrip("\r\n")
    return {"kind": event.type, "label": _clip(label, 200), "text": _clip(text, MAX_ITEM_TEXT)}


def _head_text(event: Event) -> str:
    if isinstance(event, TextLine):
        return event.text
    if isinstance(event, Diagnostic):
        where = f" ({event.file}:{event.line}:{event.column})" if event.line else ""
        return f"{event.severity}: {event.message}{where}"
    if isinstance(event, (StructDump, VarsDump)):
        return event.prefix
    return event.raw.rstrip("\r\n")


def _time_label(t: float | None) -> str:
    """``+1.234s `` before a row: when its first event arrived, in seconds into the run."""
    return "" if t is None else f"+{t:.3f}s "


def _host_label(host: str | None) -> str:
    """``[lab2] `` before a row of a several-host run: the host it came from."""
    return "" if host is None else f"[{host}] "


def _row_kind(group: Group) -> str:
    if isinstance(group.head, Diagnostic):
        return group.head.severity
    return "hit" if group.is_hit else "stap"


class _Scheduler:
    """Runs a callback after a delay on a daemon timer thread (replaced by a fake in tests)."""

    def __call__(self, delay: float, callback) -> None:
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()


class EventLogView(StaticReprMixin, anywidget.AnyWidget):
    _esm = _HERE / "eventlog.js"
    _css = _HERE / "eventlog.css"

    rows = T.List(T.Dict()).tag(sync=True)
    counts = T.List(T.List()).tag(sync=True)  # [[key, count], ...], most common first
    total_groups = T.Int(0).tag(sync=True)
    total_hits = T.Int(0).tag(sync=True)
    total_events = T.Int(0).tag(sync=True)
    retained = T.Int(0).tag(sync=True)
    matched = T.Int(0).tag(sync=True)
    filter_text = T.Unicode("").tag(sync=True)
    newest_first = T.Bool(False).tag(sync=True)  # chronological by default (see the module docstring)
    page = T.Int(0).tag(sync=True)  # 0: the newest rows, whatever the order
    page_size = T.Int(200).tag(sync=True)
    selected = T.Int(-1).tag(sync=True)  # group id the user clicked
    finished = T.Bool(False).tag(sync=True)

    def __init__(self, *, max_groups: int = 10000, page_size: int = 200, min_interval: float = 0.1,
                 max_counts: int = 50, list_diagnostics: bool = True, clock=time.monotonic, schedule=None,
                 **kwargs):
        """``list_diagnostics``: stap's messages get rows too (False where the view shows them
        apart, as RunView does: the same error twice says nothing new; they are still counted)."""
        super().__init__(page_size=min(max(page_size, 1), MAX_PAGE), **kwargs)
        self.list_diagnostics = list_diagnostics
        self.max_groups = max_groups
        self.min_interval = min_interval
        self.max_counts = max_counts
        self._clock = clock
        self._schedule = schedule or _Scheduler()
        self._lock = threading.RLock()
        self._groups: deque[Group] = deque(maxlen=max_groups)
        self._grouper = Grouper()
        self._counter = ProbeCounter()
        self._rows_cache: dict[int, tuple[int, dict]] = {}
        self._last_flush = float("-inf")
        self._timer_pending = False
        self._events_seen = 0
        self._flushing = False
        self.updates = 0  # front-end updates sent (flushes)
        self.observe(self._view_changed, names=["filter_text", "newest_first", "page", "page_size"])

    # ------------------------------------------------------------------ feeding
    def push(self, events) -> None:
        """Add events (any iterable; one event is fine too) and schedule a front-end update."""
        if isinstance(events, Event):
            events = (events,)
        with self._lock:
            for event in events:
                self._ingest(event)
            if self._timer_pending:  # a flush is due anyway: nothing more to do
                return
        self._request_flush()

    def _ingest(self, event: Event) -> None:
        self._events_seen += 1
        group, new = self._grouper.feed(event)
        if not new or (not self.list_diagnostics and isinstance(group.head, Diagnostic)):
            return
        groups = self._groups
        if len(groups) == groups.maxlen:
            self._rows_cache.pop(groups[0].id, None)
        groups.append(group)  # ids are consecutive: group(id) is an index into the deque
        self._counter.add(group)

    def group(self, group_id: int) -> Group | None:
        """A kept group by id (None once it was dropped for memory)."""
        with self._lock:
            if not self._groups or group_id < 0:
                return None
            index = group_id - self._groups[0].id
            return self._groups[index] if 0 <= index < len(self._groups) else None

    @property
    def groups(self) -> list[Group]:
        with self._lock:
            return list(self._groups)

    @property
    def lock(self):
        """Held while events are ingested and while a page is computed and sent."""
        return self._lock

    @property
    def counter(self) -> ProbeCounter:
        """Hits per probe over the whole run (shared with RunView's static window)."""
        return self._counter

    @property
    def probe_counts(self) -> dict[str, int]:
        return dict(self._counter.counts)

    # ------------------------------------------------------------------ batching
    def _request_flush(self) -> None:
        with self._lock:
            if self._timer_pending:
                return
            now = self._clock()
            due = self._last_flush + self.min_interval
            if now < due:
                self._timer_pending = True
                self._schedule(due - now, self._timer_fired)
                return
        self.flush()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer_pending = False
        self.flush()

    def finish(self) -> None:
        """The run ended: send the final state now."""
        self.finished = True
        self.flush()

    def _view_changed(self, change) -> None:
        if self._flushing:  # flush() itself clamped the page
            return
        if change["name"] == "page_size" and not 1 <= change["new"] <= MAX_PAGE:
            self.page_size = min(max(change["new"], 1), MAX_PAGE)
            return
        self.flush()

    # ------------------------------------------------------------------ the synced page
    def _row(self, group: Group) -> dict:
        cached = self._rows_cache.get(group.id)
        if cached is not None and cached[0] == len(group.items):
            return cached[1]
        row = {"id": group.id, "key": group.key, "kind": _row_kind(group),
               "text": _clip(_head_text(group.head), MAX_TEXT), "time": group.head.time,
               "host": group.head.host,
               # a group led by a backtrace or dump shows it as an item too
               "items": [_item(e) for e in (group.events if isinstance(group.head, _JOINABLE) else group.items)]}
        if len(self._rows_cache) > 4 * MAX_PAGE:
            self._rows_cache.clear()
        self._rows_cache[group.id] = (len(group.items), row)
        return row

    def _matches(self) -> list[Group] | None:
        """Kept groups that pass the filter (newest last), or None when there is no filter."""
        f = self.filter_text.strip()
        if not f:
            return None
        if f.startswith("key:"):
            key = f[4:].strip()
            return [g for g in self._groups if g.key == key]
        if f.startswith("host:"):  # a several-host run: one host's hits
            host = f[5:].strip()
            return [g for g in self._groups if g.head.host == host]
        needle = f.lower()
        out = []
        for g in self._groups:
            if needle in g.key.lower() or needle in _head_text(g.head).lower() or any(
                    needle in e.raw[:MAX_ITEM_TEXT].lower() for e in g.items):
                out.append(g)
        return out

    def flush(self) -> None:
        """Compute the visible page and send it (one comm message for all traits)."""
        with self._lock:
            matches = self._matches()
            pool = self._groups if matches is None else matches
            n = len(pool)
            size = self.page_size
            pages = max((n + size - 1) // size, 1)
            page = min(max(self.page, 0), pages - 1)
            end = n - page * size  # page 0 = newest
            start = max(end - size, 0)
            if isinstance(pool, deque):
                chosen = [pool[i] for i in range(start, end)]
            else:
                chosen = pool[start:end]
            rows = [self._row(g) for g in chosen]
            if self.newest_first:
                rows.reverse()
            state = dict(rows=rows, counts=[[k, c] for k, c in self._counter.most_common(self.max_counts)],
                         total_groups=self._grouper.next_id, total_hits=self._counter.total,
                         total_events=self._events_seen, retained=len(self._groups),
                         matched=n)
            self._last_flush = self._clock()
            self.updates += 1
            # still under the lock: a timer flush and a reader-thread flush must not interleave
            self._flushing = True
            try:
                with self.hold_sync():
                    for name, value in state.items():
                        setattr(self, name, value)
                    if page != self.page:
                        self.page = page
            finally:
                self._flushing = False

    # ------------------------------------------------------------------ static form
    def static_html(self) -> str:
        from .static import _counts_html

        with self._lock:
            recent = list(self._groups)[-200:]
            counts = _counts_html(self._counter)
        body = "".join(
            f'<pre class="stapbench-text stapbench-log-row" data-key="{esc(g.key)}">{esc(_host_label(g.head.host))}'
            f'{esc(_time_label(g.head.time))}'
            f'{esc(_head_text(g.head))}</pre>'
            + "".join(f'<details><summary>{esc(item["label"])}</summary><pre>{esc(item["text"])}</pre></details>'
                      for item in self._row(g)["items"])
            for g in recent)
        note = (f'<div class="stapbench-muted">{count(self._grouper.next_id, "group")}, '
                f"{count(self._events_seen, 'event')}; the last {len(recent)} are shown</div>")
        return wrap_root(counts + note + body, kind="log", style=True)

    def static_text(self) -> str:
        with self._lock:
            recent = list(self._groups)[-50:]
        lines = [f"{k}: {c}" for k, c in self._counter.most_common(20)]
        lines += [_head_text(g.head) for g in recent]
        return "\n".join(lines)
