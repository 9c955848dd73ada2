"""ipywidgets views of single events: a backtrace beside its source, a value tree, a diagnostic.

Each widget also carries its static render: ``_repr_mimebundle_`` returns the
widget view plus ``text/html`` and ``text/plain``, so a saved notebook shows
it in nbconvert HTML, on GitHub and in a JupyterLab without a kernel.  All
text shown goes through the escaping static renderers, or into widget
properties that the front end renders as text (``Select`` options, button
descriptions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as W
import traitlets as T

from ..model import Backtrace, Diagnostic, StructDump, VarsDump
from ._html import PageStyle, esc, wrap_root
from ._repr import StaticReprMixin
from .context import NO_CONTEXT, RenderContext
from .backtrace import PROBLEM_LABELS, analyse, module_basename, problems_html, render_backtrace_html, render_backtrace_text
from .diagnostics import apply_suggestion, render_diagnostic_html, render_diagnostic_text, suggestions_label
from .paths import tidy_paths
from .source import snippet_html
from .valuetree import elided_expressions, render_struct_html, render_struct_text, render_vars_html, render_vars_text


def close_widget_tree(widget) -> None:
    """Close a widget, its children and their ``layout``/``style`` widgets (ipywidgets closes
    none of those with their parent), leaving the shared page style alone."""
    if widget is PageStyle.widget():
        return
    for child in getattr(widget, "children", ()):
        close_widget_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, W.Widget):
            part.close()
    widget.close()


SHORT_MARKERS = {"returning-from": "\u21a9", "returning-to": "\u21aa", "inexact": "~", "module-only": "[module only]",
                 "unknown": "?"}


def _frame_label(info, *, where: str | None = None) -> str:
    """``#1 ngx_http_close_connection+0x8c [nginx]  ngx_http_request.c:3834``: a frame list's
    line, the file by its name (the source pane's title says where it is: ``where``)."""
    f = info.frame
    tags = "".join(SHORT_MARKERS[k] + " " for k in info.kinds if k in SHORT_MARKERS)
    off = f"+0x{f.offset:x}" if f.offset is not None else ""
    mod = module_basename(f.module)
    if f.symbol:
        sym = f.symbol
    elif mod:  # module-only: the offset is into the module, as stap prints it ([mod+0x..])
        sym, mod = mod, ""
    else:
        sym, off = (f"0x{f.address:x}" if f.address is not None else "?"), ""
    if where is None:
        where = info.file_basename_line
    where = where or (f"[{PROBLEM_LABELS.get(info.problem, info.problem)}]" if info.problem else "")
    return f"#{info.index} {tags}{sym}{off}" + (f" [{mod}]" if mod else "") + (f"  {where}" if where else "")


class BacktraceView(StaticReprMixin, W.VBox):
    """Frames on the left (a ``Select``: its options render as text), the selected frame's
    source on the right, Pygments-highlighted, its line marked (``.stapbench-source .hll``).

    Roomy at any width: the list is as wide as its longest label (each names the function and
    its file's base name; the pane's title gives the file's path), the source takes the rest
    and wraps its long lines, and below about 360 pixels left it moves under the list.  So no
    label is cut and nothing scrolls sideways (``.stapbench-bt-panes`` in stapbench.css).

    ``selected`` is the frame index; it starts on the top frame that has source.
    """

    selected = T.Int(0)

    def __init__(self, backtrace: Backtrace, *, symbolizer=None, context: int = 6, **kwargs):
        self.backtrace = backtrace
        self.symbolizer = symbolizer
        self.infos = analyse(backtrace, symbolizer, context=context)
        labels = [(_frame_label(i), i.index) for i in self.infos]
        self.frames = W.Select(options=labels, rows=min(max(len(labels), 2), 14),
                               layout=W.Layout(width="max-content", max_width="100%", flex="0 1 auto"))
        self.frames.add_class("stapbench-frame-list")
        self.source = W.HTML(layout=W.Layout(flex="1 1 360px", min_width="0"))
        self.source.add_class("stapbench-source-pane")
        hints = problems_html(self.infos)
        self.hints = W.HTML(wrap_root(hints, kind="hints") if hints else "")
        note = backtrace.note or ""
        header = W.HTML(wrap_root(f'<div class="stapbench-muted">{esc(note)}</div>', kind="note") if note else "")
        panes = W.HBox([self.frames, self.source], layout=W.Layout(flex_flow="row wrap"))
        panes.add_class("stapbench-bt-panes")
        super().__init__([PageStyle.widget(), header, panes, self.hints], **kwargs)
        self.add_class("stapbench-backtrace-view")
        first = next((i.index for i in self.infos if i.snippet is not None), 0)
        T.link((self.frames, "value"), (self, "selected"))
        self.observe(self._show, names="selected")
        if self.infos:
            self.selected = first
            self._show()

    def _show(self, change=None) -> None:
        if not self.infos:
            self.source.value = ""
            return
        index = min(max(self.selected, 0), len(self.infos) - 1)
        info = self.infos[index]
        if info.snippet is not None:
            body = snippet_html(info.snippet, title=_frame_label(info, where=info.file_line), frame_index=index)
        elif info.problem:
            body = (f'<div class="stapbench-hint" data-frame-index="{index}" data-problem="{esc(info.problem)}">'
                    f"<b>{esc(PROBLEM_LABELS.get(info.problem, info.problem))}</b>: {esc(tidy_paths(info.hint or ''))}</div>")
        else:
            body = (f'<div class="stapbench-hint" data-frame-index="{index}">no source for this frame '
                    "(no symbolizer, or no line information)</div>")
        self.source.value = wrap_root(body, kind="source")

    def static_html(self) -> str:
        return wrap_root(render_backtrace_html(self.backtrace, infos=self.infos), kind="backtrace", style=True)

    def static_text(self) -> str:
        return render_backtrace_text(self.backtrace, symbolizer=self.symbolizer)


class ValueTreeView(StaticReprMixin, W.HTML):
    """A ``$var$`` / ``$$parms`` dump as a tree of ``<details>`` nodes: expanding and
    collapsing works in the browser, with or without a kernel.  ``expressions`` lists the
    stap expressions offered for elided members."""

    def __init__(self, dump: StructDump | VarsDump, *, expression: str | None = None,
                 types: Mapping[str, str] | None = None, open_depth: int = 1, **kwargs):
        self.dump = dump
        self.expression = expression
        self.types = types
        if isinstance(dump, StructDump):
            body = render_struct_html(dump, expression=expression, types=types, open_depth=open_depth)
        else:
            body = render_vars_html(dump, types=types, open_depth=open_depth)
        self._body = body
        super().__init__(wrap_root(body, kind="tree"), **kwargs)
        self.add_class("stapbench-tree-view")

    @property
    def expressions(self) -> list[str]:
        return elided_expressions(self.dump, expression=self.expression)

    def static_html(self) -> str:
        return wrap_root(self._body, kind="tree", style=True)

    def static_text(self) -> str:
        if isinstance(self.dump, StructDump):
            return render_struct_text(self.dump, expression=self.expression, types=self.types)
        return render_vars_text(self.dump, types=self.types)


class DiagnosticView(StaticReprMixin, W.VBox):
    """A diagnostic on its cell line, with stap's suggestions as buttons.

    Clicking a suggestion computes the fixed cell (:func:`apply_suggestion`),
    stores it in ``fixed_source``, shows it, and calls the ``on_fix`` callbacks
    with ``(suggestion, fixed_source)``.  Suggestions with no safe edit are shown but disabled.
    With ranked whole-script fixes (a :class:`~.fixbar.FixBar`) those replace the buttons, and
    stap's own list of names is not repeated above them.
    """

    fixed_source = T.Unicode("", allow_none=True)

    def __init__(self, diagnostic: Diagnostic, *, context: RenderContext = NO_CONTEXT, fixes=None, **kwargs):
        """``fixes``: ranked whole-script fixes (stapbench.authoring.fixes); when there are any they
        replace the suggestion buttons with a FixBar (one click rewrites the cell)."""
        self.diagnostic = diagnostic
        self.context = context
        cell_source = context.cell_source
        self._callbacks: list[Callable[[str, str], None]] = []
        self.buttons = []
        # stap's "similar" names that a remedy calls unrelated stay text (in the HTML), not buttons
        self.fix_bar = None
        if fixes:
            from .fixbar import FixBar

            self.fix_bar = FixBar(fixes)
        self.message = W.HTML(self._message_html())
        suggestions = diagnostic.similar if suggestions_label(diagnostic) == "did you mean" and not fixes else []
        for suggestion in suggestions:
            fixed = (apply_suggestion(cell_source, diagnostic, suggestion, line_offset=context.line_offset)
                     if cell_source is not None else None)
            button = W.Button(description=suggestion, tooltip=f"use {suggestion}", disabled=fixed is None,
                              layout=W.Layout(width="auto"))
            button.add_class("stapbench-fix")
            button.on_click(lambda _b, s=suggestion, f=fixed: self.apply(s, f))
            self.buttons.append(button)
        self.preview = W.HTML("")
        rows = [PageStyle.widget(), self.message]
        if self.fix_bar is not None:
            rows.append(self.fix_bar)
        if self.buttons:
            rows.append(W.HBox([W.Label("fix:"), *self.buttons]))
        rows.append(self.preview)
        super().__init__(rows, **kwargs)
        self.add_class("stapbench-diagnostic-view")

    def on_fix(self, callback: Callable[[str, str], None]) -> None:
        self._callbacks.append(callback)

    def apply(self, suggestion: str, fixed: str | None = None) -> str | None:
        if fixed is None and self.context.cell_source is not None:
            fixed = apply_suggestion(self.context.cell_source, self.diagnostic, suggestion,
                                     line_offset=self.context.line_offset)
        if fixed is None:
            return None
        self.fixed_source = fixed
        self.preview.value = wrap_root(f'<div class="stapbench-fixed">fixed cell:</div><pre class="stapbench-fixed-source">'
                                       f"{esc(fixed)}</pre>", kind="fix")
        for cb in self._callbacks:
            cb(suggestion, fixed)
        return fixed

    def static_html(self) -> str:
        return wrap_root(render_diagnostic_html(self.diagnostic, self.context), kind="diagnostic", style=True)

    def _message_html(self) -> str:
        ranked = len(self.fix_bar.fixes) if getattr(self, "fix_bar", None) is not None else 0
        return wrap_root(render_diagnostic_html(self.diagnostic, self.context, ranked_fixes=ranked), kind="diagnostic")

    def static_text(self) -> str:
        return render_diagnostic_text(self.diagnostic, self.context)
