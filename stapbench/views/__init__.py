"""Views: static HTML/text renders of a run's events, and the widgets built on them.

Static renderers (pure functions, no widgets imported) come first; the
widget classes import ipywidgets/anywidget lazily through ``__getattr__`` so
the command line and the static renders work without them.
"""

from .context import RenderContext
from .backtrace import frame_kinds, render_backtrace_html, render_backtrace_text
from .diagnostics import (
    apply_suggestion, render_diagnostic_html, render_diagnostic_text, render_summary_html,
    render_summary_text,
)
from .grouping import Group, Grouper, group_events, text_key
from .listing import (
    render_listings_html, render_listings_text, render_probe_listing_html, render_probe_listing_text,
)
from .static import probe_counts, render_html, render_text
from .valuetree import (
    infer_expression, render_struct_html, render_struct_text, render_vars_html, render_vars_text,
    types_from_listings,
)

_WIDGETS = {
    "BacktraceView": ".widgets",
    "ValueTreeView": ".widgets",
    "DiagnosticView": ".widgets",
    "EventLogView": ".eventlog",
    "RunView": ".runview",
    "FlameGraphView": ".flamewidget",
    "ChartView": ".chartview",
}

__all__ = [
    "Group", "Grouper", "RenderContext", "apply_suggestion", "frame_kinds", "group_events", "infer_expression",
    "probe_counts", "render_backtrace_html", "render_backtrace_text", "render_diagnostic_html",
    "render_diagnostic_text", "render_html", "render_listings_html", "render_listings_text",
    "render_probe_listing_html", "render_probe_listing_text",
    "render_struct_html", "render_struct_text", "render_summary_html", "render_summary_text",
    "render_text", "render_vars_html", "render_vars_text", "text_key", "types_from_listings",
    *_WIDGETS,
]


def __getattr__(name):
    if name in _WIDGETS:
        from importlib import import_module

        return getattr(import_module(_WIDGETS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
