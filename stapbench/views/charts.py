"""Charts of a run's numbers: stap's globals and histograms, and hits per second per probe.

Static SVG inside HTML (no script), so the same output shows live, in a saved notebook,
in nbconvert and on GitHub; hovering a bar or a point shows its exact value (SVG
``<title>``).  Every label (array indices, histogram titles, probe names: all stap
output) is escaped.

* :func:`aggregate_charts` (a run, its events, or lines): a table per scalar, array and
  statistic, a bar chart per array of numbers and per histogram;
* :func:`timeline_chart`: hits per second of each probe, one line each.

Both return a :class:`Charts`, which a notebook cell shows (``_repr_mimebundle_``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..answers.timeline import Timeline, hits_timeline
from ..model.aggregates import Histogram
from ..parser.aggregates import Aggregates, collect_aggregates
from ._html import esc, printable as _printable, wrap_root

__all__ = ["Charts", "aggregate_charts", "bar_svg", "histogram_svg", "timeline_chart", "timeline_svg"]

BAR_H = 16
LABEL_PX = 7  # monospace 12px
MAX_BARS = 200  # an array of more is drawn as its first bars and said so
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d"]


def _label(index) -> str:
    if index is None:
        return ""
    return ",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in index)


def bar_svg(rows: list[tuple[str, float]], *, width: int = 640, gaps: set[int] | None = None) -> str:
    """Horizontal bars, one per ``(label, value)``; ``gaps``: indices after which stap elided rows."""
    rows = rows[:MAX_BARS]
    gaps = gaps or set()
    label_w = min(max((len(_printable(l)) for l, _ in rows), default=1) * LABEL_PX + 8, width // 3)
    value_w = max((len(f"{v:g}") for _, v in rows), default=1) * LABEL_PX + 8
    plot_w = max(width - label_w - value_w, 10)
    top = max((v for _, v in rows), default=0)
    neg = min((v for _, v in rows), default=0)
    span = (top - min(neg, 0)) or 1
    zero = label_w + plot_w * (-min(neg, 0)) / span
    out, y = [], 0
    for i, (label, value) in enumerate(rows):
        if i in gaps:
            out.append(f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end" fill="#888">~</text>')
            y += BAR_H
        w = plot_w * abs(value) / span
        x = zero if value >= 0 else zero - w
        text = _printable(label)
        out.append(f'<g class="stapbench-bar" data-label="{esc(text)}" data-value="{value:g}">'
                   f"<title>{esc(text)}: {value:g}</title>"
                   f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end">{esc(text)}</text>'
                   f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 0.5 if value else 0):.1f}" height="{BAR_H - 4}" fill="{PALETTE[0]}"/>'
                   f'<text x="{max(zero + (w if value >= 0 else 0), zero) + 4:.1f}" y="{y + 12}">{value:g}</text></g>')
        y += BAR_H
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="stapbench-chart" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}" font-family="monospace" font-size="12">{"".join(out)}</svg>')


def histogram_svg(hist: Histogram, *, width: int = 640) -> str:
    rows = [(hist.label(r), r.count) for r in hist.rows]
    gaps = {i for i, r in enumerate(hist.rows) if r.after_gap}
    return bar_svg(rows, width=width, gaps=gaps)


def timeline_svg(timeline: Timeline, *, width: int = 720, height: int = 220) -> str:
    """Hits per second of each probe against seconds into the run; a legend below."""
    series = list(timeline.series.items())
    left, bottom, right = 48, 24, 12
    legend_h = 16 * len(series)
    plot_w, plot_h = width - left - right, height - bottom - 8
    bins = max(timeline.bins, 1)
    top = max((n / timeline.bin for _, row in series for n in row), default=0) or 1
    out = [f'<line x1="{left}" y1="{8 + plot_h}" x2="{left + plot_w}" y2="{8 + plot_h}" stroke="#888"/>',
           f'<line x1="{left}" y1="8" x2="{left}" y2="{8 + plot_h}" stroke="#888"/>',
           f'<text x="{left - 4}" y="16" text-anchor="end">{top:g}</text>',
           f'<text x="{left - 4}" y="{8 + plot_h}" text-anchor="end">0</text>',
           f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end">{bins * timeline.bin:g} s</text>',
           f'<text x="{left}" y="{height - 6}">0 s (hits/s)</text>']

    def px(i: int, rate: float) -> tuple[float, float]:
        x = left + plot_w * (i + 0.5) / bins
        return x, 8 + plot_h - plot_h * rate / top

    for k, (probe, row) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        name = _printable(probe)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(i, n / timeline.bin) for i, n in enumerate(row)))
        out.append(f'<g class="stapbench-series" data-probe="{esc(name)}"><polyline fill="none" stroke="{color}" '
                   f'stroke-width="1.5" points="{points}"/>')
        for i, n in enumerate(row):
            if n:
                x, y = px(i, n / timeline.bin)
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"><title>{esc(name)}: '
                           f"{n / timeline.bin:g} hits/s at {i * timeline.bin:g}\u2013{(i + 1) * timeline.bin:g} s"
                           f"</title></circle>")
        out.append(f'<rect x="{left}" y="{height + 16 * k + 3}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{left + 14}" y="{height + 16 * k + 12}">{esc(name)} ({sum(row)} hits)</text></g>')
    total_h = height + legend_h + 4
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="stapbench-chart stapbench-timeline" width="{width}" '
            f'height="{total_h}" viewBox="0 0 {width} {total_h}" font-family="monospace" font-size="12">'
            f'{"".join(out)}</svg>')


@dataclass
class Charts:
    """Titled sections of HTML (tables, SVG charts) and their plain-text twins."""

    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (title, html, text)

    def add(self, title: str, html: str, text: str) -> None:
        self.sections.append((title, html, text))

    def __len__(self) -> int:
        return len(self.sections)

    def to_html(self) -> str:
        if not self.sections:
            return wrap_root('<div class="stapbench-muted">no globals, statistics or histograms in this run\'s output</div>',
                             kind="charts")
        body = "".join(f'<div class="stapbench-chart-section"><div><b>{esc(_printable(t))}</b></div>{h}</div>'
                       for t, h, _ in self.sections)
        return wrap_root(body, kind="charts")

    def to_text(self) -> str:
        if not self.sections:
            return "no globals, statistics or histograms in this run's output"
        return "\n\n".join(f"{_printable(t)}\n{x}" for t, _, x in self.sections)

    def _repr_mimebundle_(self, **kwargs):
        return {"text/html": self.to_html(), "text/plain": self.to_text()}


def _events(source):
    return getattr(source, "events", source)


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(_printable(c if c is not None else ''))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table class="stapbench-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text_table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[_printable("" if c is None else c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def aggregate_charts(source) -> Charts:
    """Tables and charts of the globals, statistics and histograms a run printed."""
    found = source if isinstance(source, Aggregates) else collect_aggregates(_events(source))
    charts = Charts()
    scalars = found.scalars
    if scalars:
        rows = [[name, value] for name, value in scalars.items()]
        charts.add("globals", _table(["name", "value"], rows), _text_table(["name", "value"], rows))
    for name, table in found.arrays.items():
        rows = [[_label(index), value] for index, value in table.items()]
        html = _table(["index", "value"], rows[:MAX_BARS])
        numeric = [(label, value) for label, value in rows if isinstance(value, int)]
        if numeric:
            html = bar_svg(numeric) + html
        if len(rows) > MAX_BARS:
            html += f'<div class="stapbench-muted">the first {MAX_BARS} of {len(rows)} entries</div>'
        charts.add(f"{name}[]", html, _text_table(["index", "value"], rows))
    for name, table in found.stats.items():
        header = ["index", "@count", "@min", "@max", "@sum", "@avg"]
        rows = [[_label(i), s.count, s.min, s.max, s.sum, s.avg] for i, s in table.items()]
        if all(r[0] == "" for r in rows):
            header, rows = header[1:], [r[1:] for r in rows]
        charts.add(f"{name} (statistics)", _table(header, rows), _text_table(header, rows))
    for k, hist in enumerate(found.histograms, 1):
        title = hist.title or f"histogram {k}"
        charts.add(f"{title} (@hist_{hist.kind}, {hist.total} values)", histogram_svg(hist),
                   "\n".join(hist.lines))
    if found.dropped:
        charts.add("note", f'<div class="stapbench-muted">{found.dropped} more entries were not kept</div>',
                   f"{found.dropped} more entries were not kept")
    return charts


def timeline_chart(source, *, bin: float = 1.0) -> Charts:
    """Hits per ``bin`` seconds of each probe (needs the events' arrival times: a run's)."""
    timeline = source if isinstance(source, Timeline) else hits_timeline(_events(source), bin=bin)
    charts = Charts()
    if not timeline.series:
        charts.add("hits per second", '<div class="stapbench-muted">no timed hits (events parsed outside a run '
                   "carry no arrival time)</div>", "no timed hits")
        return charts
    rows = [[probe, sum(row), max(row) / timeline.bin] for probe, row in timeline.series.items()]
    charts.add(f"hits per {timeline.bin:g} s", timeline_svg(timeline),
               _text_table(["probe", "hits", "peak hits/s"], rows))
    return charts
