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

from collections import Counter
from collections.abc import Mapping

from ..model import Backtrace, Diagnostic, Event, Listing, PassLine, StructDump, Summary, TextLine, VarsDump
from ._html import attrs, esc, wrap_root
from .backtrace import render_backtrace_html, render_backtrace_text
from .diagnostics import (
    render_diagnostic_html, render_diagnostic_text, render_summary_html, render_summary_text,
)
from .grouping import group_events
from .listing import render_listings_html, render_listings_text
from .valuetree import (
    render_struct_html, render_struct_text, render_vars_html, render_vars_text, types_from_listings,
)

MAX_DIAGNOSTICS = 200


def _selected(events: list[Event], limit: int, head: int) -> tuple[list[Event], int, list[Event]]:
    """(events to render, how many were left out, diagnostics/summaries from the left-out part)."""
    if len(events) <= limit:
        return events, 0, []
    head = min(head, limit)
    middle = events[head: len(events) - (limit - head)]
    kept = [e for e in middle if isinstance(e, (Diagnostic, Summary))][:MAX_DIAGNOSTICS]
    return events[:head] + events[len(events) - (limit - head):], len(middle), kept


def probe_counts(events) -> Counter:
    return Counter(g.key for g in group_events(events) if g.is_hit)


def _counts_html(counts: Counter) -> str:
    if len(counts) == 0:
        return ""
    chips = "".join(f'<span class="stapbench-chip stapbench-count"{attrs(data_key=k, data_count=n)}>'
                    f"{esc(k)} \u00d7 {n}</span>" for k, n in counts.most_common(50))
    more = f' <span class="stapbench-muted">(+{len(counts) - 50} more)</span>' if len(counts) > 50 else ""
    return f'<div class="stapbench-counts stapbench-block">hits per probe: {chips}{more}</div>'


class _Renderer:
    def __init__(self, *, symbolizer, cell_source, script_path, line_offset, types, expressions):
        self.symbolizer = symbolizer
        self.cell_source = cell_source
        self.script_path = script_path
        self.line_offset = line_offset
        self.types = types
        self.expressions = expressions or {}

    @classmethod
    def for_events(cls, events: list[Event], *, types, **options) -> "_Renderer":
        if types is None:  # what the run's own -L listings say
            types = types_from_listings(e for e in events if isinstance(e, Listing))
        return cls(types=types, **options)

    def _call(self, e: Event, fns) -> str | None:
        """Call the html or text renderer of ``e``'s kind with the arguments that kind needs."""
        html_or_text = fns.get(type(e))
        if html_or_text is None:
            return None
        if isinstance(e, Backtrace):
            return html_or_text(e, symbolizer=self.symbolizer)
        if isinstance(e, StructDump):
            return html_or_text(e, expression=self.expressions.get(e.prefix), types=self.types)
        if isinstance(e, VarsDump):
            return html_or_text(e, types=self.types)
        if isinstance(e, Diagnostic):
            return html_or_text(e, cell_source=self.cell_source, script_path=self.script_path,
                                line_offset=self.line_offset)
        return html_or_text(e)

    def html(self, e: Event) -> str:
        out = self._call(e, _HTML)
        return out if out is not None else f'<pre class="stapbench-text">{esc(e.raw.rstrip(chr(10)))}</pre>'

    def text(self, e: Event) -> str:
        out = self._call(e, _TEXT)
        if out is not None:
            return out
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


def render_html(events, *, symbolizer=None, cell_source: str | None = None, script_path=None,
                line_offset: int = 0, types: Mapping[str, str] | None = None,
                expressions: Mapping[str, str] | None = None, limit: int = 2000, head: int = 200,
                title: str | None = None) -> str:
    """Self-contained HTML (inline scoped CSS, no JS, no external resources) of a run's events.

    ``types`` maps expressions (``"$c"``, ``"$c->log"``) to type names; by
    default they come from the run's own ``-L`` listings.  ``expressions`` maps
    a dump's prefix to its root expression, for prefixes that don't name it.
    """
    events = list(events)
    r = _Renderer.for_events(events, symbolizer=symbolizer, cell_source=cell_source, script_path=script_path,
                             line_offset=line_offset, types=types, expressions=expressions)
    shown, omitted, kept = _selected(events, limit, head)
    parts = [f'<div class="stapbench-title">{esc(title)}</div>'] if title else []
    counts = probe_counts(events)
    if len(counts) > 1 or sum(counts.values()) > 1:
        parts.append(_counts_html(counts))
    for e in kept:  # errors and data loss from the part not shown
        parts.append(r.html(e))
    if omitted:
        cut = min(head, limit)
        parts += _runs_html(r, shown[:cut])
        parts.append(f'<div class="stapbench-omitted stapbench-muted stapbench-block" data-omitted="{omitted}">'
                     f"\u2026 {omitted} events not shown here (the first {cut} and the last {limit - cut} are; "
                     f"the run's transcript keeps everything) \u2026</div>")
        parts += _runs_html(r, shown[cut:])
    else:
        parts += _runs_html(r, shown)
    return wrap_root("".join(parts), kind="run")


def _runs_html(r: _Renderer, events: list[Event]) -> list[str]:
    parts = []
    for run in _runs(events):
        first = run[0]
        if isinstance(first, TextLine):
            body = "\n".join(esc(e.text) for e in run)
            parts.append(f'<pre class="stapbench-text" data-lines="{len(run)}">{body}</pre>')
        elif isinstance(first, Listing):
            parts.append(render_listings_html(run))
        elif isinstance(first, PassLine):
            body = "\n".join(esc(e.raw.rstrip("\r\n")) for e in run)
            parts.append(f'<details class="stapbench-passes"><summary>stap passes ({len(run)} lines)</summary>'
                         f"<pre>{body}</pre></details>")
        else:
            parts.append(r.html(first))
    return parts


def render_text(events, *, symbolizer=None, cell_source: str | None = None, script_path=None,
                line_offset: int = 0, types: Mapping[str, str] | None = None,
                expressions: Mapping[str, str] | None = None, limit: int = 2000, head: int = 200) -> str:
    events = list(events)
    r = _Renderer.for_events(events, symbolizer=symbolizer, cell_source=cell_source, script_path=script_path,
                             line_offset=line_offset, types=types, expressions=expressions)
    shown, omitted, kept = _selected(events, limit, head)
    out = [r.text(e) for e in kept]
    for i, e in enumerate(shown):
        if omitted and i == min(head, limit):
            out.append(f"... {omitted} events not shown (the run's transcript keeps everything) ...")
        if isinstance(e, Listing):
            out.append(render_listings_text([e]))
        else:
            out.append(r.text(e))
    return "\n".join(out)
