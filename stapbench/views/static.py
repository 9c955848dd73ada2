"""Whole-run static renders: ``render_html`` (self-contained, no JS) and ``render_text``.

Events render in order; consecutive text lines share one ``<pre>``,
consecutive listings one table, consecutive ``-v`` pass lines one collapsed
``<details>``.  Runs can print millions of lines, so at most ``limit`` events
are rendered (the first ``head`` and the most recent rest, with a visible
note of how many were left out); diagnostics and summaries are always all
shown because they report errors and data loss.  Counts per probe (see
``grouping``) cover every event.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping

from ..model import Backtrace, Diagnostic, Event, Listing, PassLine, StructDump, Summary, TextLine, VarsDump
from ._html import attrs, count, esc, wrap_root
from .context import RenderContext
from .backtrace import backtrace_signature, render_backtrace_html, render_backtrace_text, render_repeat_html
from .diagnostics import (
    diagnostic_key, render_diagnostic_html, render_diagnostic_text, render_summary_html, render_summary_text,
)
from .grouping import Grouper, ProbeCounter, group_events
from .listing import render_listings_html, render_listings_text
from .valuetree import (
    dwarf_types_for, render_struct_html, render_struct_text, render_vars_html, render_vars_text,
    expression_for, script_dump_prefixes, script_probed_function, types_from_listings,
)

MAX_KEPT = 200
ALL_SNIPPETS_BACKTRACES = 10  # distinct backtraces rendered with every frame's source, then the top frame's
#: distinct backtraces rendered as frame tables; later ones as their frames' text (a profile's
#: 300 stacks of 20 frames were a 2.9 MB static render as tables)
TABLE_BACKTRACES = 40


class EventWindow:
    """What a static render of a long run keeps, in bounded memory, fed event by event:
    the first ``head`` events, the most recent ``limit - head``, up to ``MAX_KEPT``
    diagnostics and summaries from the part in between, the counts per probe, and the
    types the run's ``-L`` listings declared."""

    def __init__(self, limit: int = 2000, head: int = 200, max_keys: int = 5000,
                 counter: ProbeCounter | None = None):
        """``counter``: a ProbeCounter someone else fills (a live EventLogView groups the
        same events already); without one the window groups and counts itself."""
        self.head_size = min(head, limit)
        self.head: list[Event] = []
        self.tail: deque[Event] = deque(maxlen=max(limit - self.head_size, 0))
        self.kept: list[Event] = []
        self.total = 0
        self.grouper = Grouper() if counter is None else None
        self.counter = counter if counter is not None else ProbeCounter(max_keys)
        self.types: dict[str, str] = {}

    def add(self, event: Event) -> None:
        self.total += 1
        if self.grouper is not None:
            group, new = self.grouper.feed(event)
            if new:
                self.counter.add(group)
        if type(event) is Listing and len(self.types) < 10000:
            for name, type_ in types_from_listings([event]).items():
                self.types.setdefault(name, type_)
        if len(self.head) < self.head_size:
            self.head.append(event)
            return
        tail = self.tail
        if tail.maxlen:
            if len(tail) == tail.maxlen:
                dropped = tail[0]
                if type(dropped) in (Diagnostic, Summary) and len(self.kept) < MAX_KEPT:
                    self.kept.append(dropped)
            tail.append(event)
        elif isinstance(event, (Diagnostic, Summary)) and len(self.kept) < MAX_KEPT:
            self.kept.append(event)

    def extend(self, events) -> "EventWindow":
        for e in events:
            self.add(e)
        return self

    @property
    def omitted(self) -> int:
        return self.total - len(self.head) - len(self.tail)


def probe_counts(events) -> Counter:
    return Counter(g.key for g in group_events(events) if g.is_hit)


def _counts_html(counter: ProbeCounter) -> str:
    counts = counter.counts
    if not counts:
        return ""
    # ", " between the chips: where the stylesheet is stripped (GitHub) they would run together
    chips = ", ".join(f'<span class="stapbench-chip stapbench-count"{attrs(data_key=k, data_count=n)}>'
                      f"{esc(k)} \u00d7 {n}</span>" for k, n in counter.most_common(50))
    more = f' <span class="stapbench-muted">(+{len(counts) - 50} more)</span>' if len(counts) > 50 else ""
    return f'<div class="stapbench-counts stapbench-block">hits per probe: {chips}{more}</div>'


class _Renderer:
    def __init__(self, *, context: RenderContext, types, expressions):
        self.context = context
        self.symbolizer = context.symbolizer
        self.types = types
        self.expressions = expressions or {}
        self.context_frame = None  # the current hit's probed frame, for DWARF types
        self.hit_key: str | None = None  # the current hit's first word (its probe's name)
        self._prefixes = None  # the cell's printf prefixes of $var$ dumps, once asked
        self.seen: dict[tuple, int] = {}  # backtrace signature -> index of its first rendering
        self.seen_diagnostics: set[tuple] = set()

    @classmethod
    def for_window(cls, window: EventWindow, *, types, **options) -> "_Renderer":
        return cls(types=window.types if types is None else types, **options)

    def _call(self, e: Event, fns) -> str | None:
        """Call the html or text renderer of ``e``'s kind with the arguments that kind needs."""
        html_or_text = fns.get(type(e))
        if html_or_text is None:
            return None
        if isinstance(e, Backtrace):
            if html_or_text is render_backtrace_html:
                return self.backtrace_html(e)
            return html_or_text(e, symbolizer=self.symbolizer)
        if isinstance(e, StructDump):
            return html_or_text(e, expression=self.dump_expression(e), types=self.dump_types())
        if isinstance(e, VarsDump):
            return html_or_text(e, types=self.dump_types())
        if isinstance(e, Diagnostic):
            key = diagnostic_key(e)
            if key in self.seen_diagnostics:
                # stap prints a semantic error once per derived probe (an inlined copy, a second
                # address): the same message on the same line says nothing new
                note = "(stap printed the diagnostic above again)"
                return (f'<div class="stapbench-muted stapbench-repeat-diagnostic">{esc(note)}</div>'
                        if html_or_text is render_diagnostic_html else note)
            self.seen_diagnostics.add(key)
            return html_or_text(e, self.context)
        return html_or_text(e)

    def backtrace_html(self, bt: Backtrace) -> str:
        """A stack seen before in this render is shown collapsed, pointing at the first one;
        distinct stacks get every frame's source for the first few, the top frame's for the
        next ones, none after: a long run's saved output stays small."""
        sig = backtrace_signature(bt)
        if sig in self.seen:
            return render_repeat_html(bt, self.seen[sig])
        index = self.seen[sig] = len(self.seen)
        if index >= TABLE_BACKTRACES:
            return self.compact_backtrace_html(bt, index)
        mode = "all" if index < ALL_SNIPPETS_BACKTRACES else "first"
        return render_backtrace_html(bt, symbolizer=self.symbolizer, snippets=mode, index=index)

    def compact_backtrace_html(self, bt: Backtrace, index: int) -> str:
        """A backtrace past the first :data:`TABLE_BACKTRACES` distinct ones: its top frames in
        the summary, every frame's line as stap printed it inside (the live view has the table)."""
        names = [f.symbol or (f"0x{f.address:x}" if f.address is not None else "?") for f in bt.frames]
        top = " \u2190 ".join(names[:3]) + (" \u2190 \u2026" if len(names) > 3 else "")
        body = "\n".join(esc(f.text or f.symbol or "") for f in bt.frames)
        return (f'<details class="stapbench-backtrace stapbench-backtrace-compact stapbench-block"'
                f'{attrs(data_backtrace_index=index, data_frames=len(bt.frames))}>'
                f"<summary>backtrace, {count(len(bt.frames), 'frame')}: {esc(top)}</summary>"
                f"<pre>{body}</pre></details>")

    def dump_expression(self, dump: StructDump) -> str | None:
        """The expression a dump prints: given for its prefix, else the one the cell's printf
        prints after that text (``printf("sk = %s\\n", $sk$)``: "sk = " names none itself)."""
        given = self.expressions.get(dump.prefix)
        if given is not None:
            return given
        if self._prefixes is None:
            self._prefixes = script_dump_prefixes(self.context.cell_source)
        return expression_for(dump.prefix, self._prefixes)

    def dump_types(self):
        """Types for a dump: the run's listings, plus DWARF rooted at the hit's probed function
        (the top frame of the backtrace printed in the same hit, when there is one)."""
        frame = self.context_frame
        if self.symbolizer is None:
            return self.types
        if frame is None:  # no backtrace in this hit (BPF): the script's probed function says
            probed = script_probed_function(self.context.cell_source, self.hit_key)
            return dwarf_types_for(self.symbolizer, *probed, extra=self.types) if probed else self.types
        return dwarf_types_for(self.symbolizer, frame.module, frame.symbol, extra=self.types)

    def track(self, e: Event) -> None:
        if isinstance(e, TextLine):
            self.context_frame = None
            self.hit_key = e.text.split(None, 1)[0] if e.text.strip() else None
        elif isinstance(e, StructDump) and e.prefix.strip():  # a dump printed after its probe's name
            self.hit_key = e.prefix.split(None, 1)[0]
        elif isinstance(e, Backtrace):
            self.context_frame = next((f for f in e.frames if f.role != "returning_to" and f.symbol), None)

    def html(self, e: Event) -> str:
        self.track(e)
        out = self._call(e, _HTML)
        return out if out is not None else f'<pre class="stapbench-text">{esc(e.raw.rstrip(chr(10)))}</pre>'

    def text(self, e: Event) -> str:
        self.track(e)
        out = self._call(e, _TEXT)
        if out is not None:
            return out
        if isinstance(e, Listing):
            return render_listings_text([e])
        return e.text if isinstance(e, TextLine) else e.raw.rstrip("\r\n")


_HTML = {Backtrace: render_backtrace_html, StructDump: render_struct_html, VarsDump: render_vars_html,
         Diagnostic: render_diagnostic_html, Summary: render_summary_html}
_TEXT = {Backtrace: render_backtrace_text, StructDump: render_struct_text, VarsDump: render_vars_text,
         Diagnostic: render_diagnostic_text, Summary: render_summary_text}


def _runs(events: list[Event]):
    """Consecutive events of the same mergeable type, as (type, [events])."""
    run: list[Event] = []
    for e in events:
        if run and type(e) is type(run[0]) and isinstance(e, (TextLine, Listing, PassLine)):
            run.append(e)
            continue
        if run:
            yield run
        run = [e]
    if run:
        yield run


def _window(events, limit: int, head: int) -> EventWindow:
    return events if isinstance(events, EventWindow) else EventWindow(limit, head).extend(events)


def _context(context: RenderContext | None, symbolizer) -> RenderContext:
    if context is not None and symbolizer is not None:
        raise TypeError("give the symbolizer in the context, or alone")
    return context if context is not None else RenderContext(symbolizer=symbolizer)


def render_html(events, *, context: RenderContext | None = None, symbolizer=None,
                types: Mapping[str, str] | None = None,
                expressions: Mapping[str, str] | None = None, limit: int = 2000, head: int = 200,
                title: str | None = None, style: bool = True) -> str:
    """Self-contained HTML (inline scoped CSS, no JS, no external resources) of a run's events.

    ``events``: any iterable of events, or an :class:`EventWindow` a live view
    filled as the run went.  ``context``: the cell and symbolizer
    (:class:`~stapbench.views.context.RenderContext`); ``symbolizer`` alone is
    short for ``RenderContext(symbolizer=...)``.  ``types`` maps expressions (``"$c"``,
    ``"$c->log"``) to type names; by default they come from the run's own
    ``-L`` listings.  ``expressions`` maps a dump's prefix to its root
    expression, for prefixes that don't name it.  ``style``: include the
    stylesheet (False where the page has it already, see ``PageStyle``).
    """
    w = _window(events, limit, head)
    r = _Renderer.for_window(w, context=_context(context, symbolizer), types=types, expressions=expressions)
    parts = [f'<div class="stapbench-title">{esc(title)}</div>'] if title else []
    if len(w.counter.counts) > 1 or w.counter.total > 1:
        parts.append(_counts_html(w.counter))
    for e in w.kept:  # errors and data loss from the part not shown
        parts.append(r.html(e))
    parts += _runs_html(r, w.head)
    if w.omitted:
        parts.append(f'<div class="stapbench-omitted stapbench-muted stapbench-block" data-omitted="{w.omitted}">'
                     f"\u2026 {count(w.omitted, 'event')} not shown here (the first {len(w.head)} and the last "
                     f"{len(w.tail)} are; the run's transcript keeps everything) \u2026</div>")
    parts += _runs_html(r, list(w.tail))
    return wrap_root("".join(parts), kind="run", style=style)


def _runs_html(r: _Renderer, events: list[Event]) -> list[str]:
    parts = []
    for run in _runs(events):
        first = run[0]
        if isinstance(first, TextLine):
            r.track(first)
            body = "\n".join(esc(e.text) for e in run)
            parts.append(f'<pre class="stapbench-text" data-lines="{len(run)}">{body}</pre>')
        elif isinstance(first, Listing):
            parts.append(render_listings_html(run))
        elif isinstance(first, PassLine):
            body = "\n".join(esc(e.raw.rstrip("\r\n")) for e in run)
            parts.append(f'<details class="stapbench-passes"><summary>stap passes ({count(len(run), "line")})</summary>'
                         f"<pre>{body}</pre></details>")
        else:
            parts.append(r.html(first))
    return parts


def render_text(events, *, context: RenderContext | None = None, symbolizer=None,
                types: Mapping[str, str] | None = None,
                expressions: Mapping[str, str] | None = None, limit: int = 2000, head: int = 200) -> str:
    """Plain text of a run's events (same selection rules as :func:`render_html`)."""
    w = _window(events, limit, head)
    r = _Renderer.for_window(w, context=_context(context, symbolizer), types=types, expressions=expressions)
    out = [r.text(e) for e in w.kept]
    out += [r.text(e) for e in w.head]
    if w.omitted:
        out.append(f"... {count(w.omitted, 'event')} not shown (the run's transcript keeps everything) ...")
    out += [r.text(e) for e in w.tail]
    return "\n".join(out)
