"""A whole run in one view: diagnostics on the cell, the live event log, the selected hit's
backtrace beside its source and its dumps as trees, and the end-of-run summary.

``RunView(run)`` hangs off a :class:`stapbench.runner.Run` (its ``on_event``, ``on_note`` and
``on_end`` callbacks; create the view before ``run.start()`` so no event falls between the
snapshot of ``run.events`` and the callbacks); without a run, feed it with :meth:`push` and
end it with :meth:`close`.  It is a :class:`~stapbench.views.display.RunDisplay`: ``show()``,
``close()`` (the run ended: final render; never destroys the widget) and ``finish()`` (wait for
that render).  ``context``: a :class:`~stapbench.views.context.RenderContext` (symbolizer, cell,
line numbering); without one, ``symbolizer=None`` uses one shared default Symbolizer and
``False`` turns source lookup off.  ``.widget`` is the ipywidgets tree.

When the run ends, :meth:`close` updates the displayed output with the final render:

* ``final="replace"`` (default): the output becomes the static HTML and text only, which
  nbconvert, GitHub and a JupyterLab without a kernel all show; ``.widget`` stays usable;
* ``final="accompany"`` (the magics' default): the output keeps the live widget, and a second
  output (the twin) receives the static render; the twin's CSS shows exactly one of the two.
"""

from __future__ import annotations

import threading

import ipywidgets as W

from ..model import Backtrace, Diagnostic, Event, Listing, StructDump, Summary, TextLine, VarsDump
from ._html import PageStyle, count, esc, wrap_root
from .diagnostics import diagnostic_key, render_summary_html
from .eventlog import EventLogView
from .listing import render_listings_html
from .context import RenderContext
from .runrender import header_bundle, workload_bundle
from .static import EventWindow, render_html, render_text
from .valuetree import dwarf_types_for, expression_for, script_dump_prefixes, script_probed_function
from .widgets import BacktraceView, DiagnosticView, ValueTreeView, close_widget_tree

MAX_DIAGNOSTIC_VIEWS = 50
MAX_LISTING_ROWS = 5000


# ipywidgets marks a view whose model is gone from the kernel (a kernel restart, a dead kernel)
# with .jupyter-widgets-disconnected: the twin shows then, the stale widget hides
_TWIN_CSS = (
    ".jp-OutputArea:has(.stapbench-run-view:not(.jupyter-widgets-disconnected))"
    " .jp-OutputArea-child:has(.stapbench-twin){display:none}"
    ".jp-OutputArea:has(.stapbench-twin) .jp-OutputArea-child:has(.stapbench-live-fallback){display:none}"
    ".jp-OutputArea:has(.stapbench-twin) .jp-OutputArea-child:has(.jupyter-widgets-disconnected){display:none}"
    # a widget output that can't render ("Loading widget...", "model not found") has no mime type
    ".jp-OutputArea:has(.stapbench-twin) .jp-OutputArea-child:not(:has(.stapbench-run-view))"
    ":not(:has(.stapbench-twin)):not(:has([data-mime-type])){display:none}"
)

_default_symbolizer = None
_default_lock = threading.Lock()


def default_symbolizer():
    """One Symbolizer shared by the RunViews that were given none (its caches outlive a run)."""
    global _default_symbolizer
    with _default_lock:
        if _default_symbolizer is None:
            from ..symbols import Symbolizer

            _default_symbolizer = Symbolizer()
        return _default_symbolizer


class RunView:
    def __init__(self, run=None, *, context: RenderContext | None = None, symbolizer=None,
                 final: str = "replace", log_options: dict | None = None, static_limit: int = 2000):
        if final not in ("replace", "accompany"):
            raise ValueError("final must be 'replace' or 'accompany'")
        if context is None:
            context = RenderContext(symbolizer=default_symbolizer() if symbolizer is None else (symbolizer or None))
        elif symbolizer is not None:
            raise TypeError("give the symbolizer in the context, or alone")
        self.run = run
        self._context = context
        self.final = final
        self.closed = False
        self._closed_event = threading.Event()  # set once the final render is in place
        self._lock = threading.RLock()
        self._diagnostics: list[Diagnostic] = []
        self._diagnostics_total = 0
        self._diagnostic_keys: set[tuple] = set()
        self._diagnostic_repeats = 0
        self._diagnostic_views: list = []
        self._diagnostic_notes = W.HTML()
        self._listings: list[Listing] = []
        self._summaries: list[Summary] = []
        self._dirty = False
        self._handle = None
        self._static_handle = None

        # stap's messages show above the log, each once (DiagnosticView): not again as log rows
        self.log = EventLogView(**{"list_diagnostics": False, **(log_options or {})})
        # the log groups and counts the same events: the static window shares its counts
        self.window = EventWindow(limit=static_limit, counter=self.log.counter)
        self.status = W.HTML(self._status_html())
        self._run_notes: list[str] = []  # stapbench's remarks on the run (Run.notes)
        self.notes = W.HTML()
        self.diagnostics_box = W.VBox()
        self.summary = W.HTML()
        self.listing = W.HTML()
        self.detail = W.VBox()
        self.detail.add_class("stapbench-detail")
        # errors and data loss first: they say how far to trust what follows
        self.widget = W.VBox([PageStyle.widget(), self.status, self.notes, self.summary, self.diagnostics_box,
                              self.listing, self.log, self.detail])
        self.widget.add_class("stapbench-run-view")
        self.log.observe(self._refresh, names="total_events")
        self.log.observe(self._select, names="selected")
        if run is not None:
            self.attach(run)

    # ------------------------------------------------------------------ inputs
    @property
    def context(self) -> RenderContext:
        """The view's context, with the run's script and script path where it gave none
        (the run's folder exists once the run started)."""
        return self._context if self.run is None else self._context.with_run(self.run)

    @property
    def symbolizer(self):
        return self._context.symbolizer

    def attach(self, run) -> None:
        """Follow a Run: its events so far, then its callbacks; close when it ends."""
        self.run = run
        run.on_event.append(self._on_event)
        if hasattr(run, "on_note"):
            run.on_note.append(self._on_run_note)
        run.on_end.append(lambda _run: self.close())
        for note in list(getattr(run, "notes", [])):
            self._on_run_note(note)
        self.push(list(getattr(run, "events", [])))
        if getattr(run, "finished", None) is not None and run.finished.is_set():
            self.close()
        else:
            threading.Thread(target=self._tick, name="stapbench-run-status", daemon=True).start()

    def _tick(self, interval: float = 1.0) -> None:
        """The status line's elapsed time (and compiling -> probes live) moves on while the run
        goes, events or not (a quiet --bg run); it stops when the run ends."""
        while not self._closed_event.wait(interval):
            if self.closed:
                return
            try:
                self.status.value = self._status_html()
            except Exception:  # the kernel is going away: nothing to update
                return

    def _on_event(self, event: Event) -> None:
        # called once per event on the runner's reader thread: keep it short
        with self._lock:
            self.window.add(event)
            if type(event) is not TextLine:
                self._note(event)
        self.log.push((event,))

    def _on_run_note(self, text: str) -> None:
        with self._lock:
            if text in self._run_notes:
                return
            self._run_notes.append(text)
            notes = list(self._run_notes)
        self.notes.value = header_bundle(None, notes, ended=self.closed)[0]

    def push(self, events) -> None:
        """Add events (from any thread); the views update at most 10 times a second."""
        if isinstance(events, Event):
            events = (events,)
        events = list(events)
        with self._lock:
            for e in events:
                self.window.add(e)
                if type(e) is not TextLine:
                    self._note(e)
        self.log.push(events)

    def _note(self, e: Event) -> None:
        """Keep what the live parts above the log show (caller holds the lock)."""
        if isinstance(e, Diagnostic):
            key = diagnostic_key(e)
            if key in self._diagnostic_keys:
                # one view per distinct message; the repeats are counted (all are in the transcript)
                self._diagnostic_repeats += 1
                self._dirty = True
                return
            if len(self._diagnostic_keys) < 10_000:
                self._diagnostic_keys.add(key)
            self._diagnostics_total += 1
            if len(self._diagnostics) < MAX_DIAGNOSTIC_VIEWS:
                self._diagnostics.append(e)
        elif isinstance(e, Listing) and len(self._listings) < MAX_LISTING_ROWS:
            self._listings.append(e)
        elif isinstance(e, Summary):
            self._summaries.append(e)
        else:
            return
        self._dirty = True

    def close(self) -> None:
        """The run ended: final update of the live views and of the displayed output."""
        if self.closed:
            return
        self.closed = True
        self.log.finish()
        self._refresh()
        with self._lock:
            notes = list(self._run_notes)
        trigger = workload_bundle(self.run)[0] if self.run is not None else ""
        if notes or trigger:
            self.notes.value = header_bundle(None, notes, ended=True)[0] + trigger
        if self._handle is not None:
            if self.final == "replace":
                self._handle.update(self._static_bundle(PageStyle.once()), raw=True)
            else:
                self._handle.update(self._repr_mimebundle_(), raw=True)
                if self._static_handle is not None:
                    self._static_handle.update(self._twin_bundle(), raw=True)
        self._closed_event.set()

    def finish(self, timeout: float = 10.0) -> bool:
        """Wait until :meth:`close` has put the final render in place (it runs on the
        run's reader thread); the magics call this so the output lands while the cell
        still executes (nbclient only takes output for the executing cell)."""
        return self._closed_event.wait(timeout)

    # ------------------------------------------------------------------ live parts
    def _status_html(self) -> str:
        state = "finished" if self.closed else "running"
        status = self._run_status() or f"stap run {state}"
        return wrap_root(f'<div class="stapbench-status" data-state="{state}">{esc(status)} '
                         f"{count(self.window.total, 'event')}</div>", kind="status")

    def _refresh(self, change=None) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, False
            diags = list(self._diagnostics)
            listings = list(self._listings)
            summaries = list(self._summaries)
            total_diags = self._diagnostics_total
            repeats = self._diagnostic_repeats
        self.status.value = self._status_html()
        if not dirty:
            return
        views = self._diagnostic_views
        for d in diags[len(views):]:
            views.append(DiagnosticView(d, context=self.context, fixes=self._fixes_of(d)))
        notes = []
        if total_diags > len(diags):
            notes.append(f"\u2026 and {count(total_diags - len(diags), 'more diagnostic')} (the transcript keeps them)")
        if repeats:
            notes.append(f"stap repeated {count(repeats, 'of these messages', 'of these messages')} "
                         "(the transcript keeps every one)")
        self._diagnostic_notes.value = "<br>".join(esc(n) for n in notes)
        children = (*views, self._diagnostic_notes) if notes else tuple(views)
        if children != self.diagnostics_box.children:
            self.diagnostics_box.children = children
        if listings and self.listing.value.count("stapbench-listing-row") != len(listings):
            self.listing.value = wrap_root(render_listings_html(listings), kind="listing")
        if summaries:
            self.summary.value = wrap_root("".join(render_summary_html(s) for s in summaries), kind="summary")

    def _dump_prefixes(self):
        """The cell's printf prefixes of $var$ dumps (valuetree.script_dump_prefixes), once."""
        if getattr(self, "_prefixes", None) is None:
            self._prefixes = script_dump_prefixes(self.context.cell_source)
        return self._prefixes

    def _fixes_of(self, diagnostic) -> list:
        """Whole-script fixes (stapbench.authoring.fixes), fed the run's diagnostics in order."""
        cell_source = self.context.cell_source
        if cell_source is None or diagnostic.severity != "error":
            return []
        if getattr(self, "_fix_finder", None) is None:
            from ..authoring.fixes import FixFinder, magic_line_for

            # the run's -x/-c: a pathless process.function(...) is that binary's
            self._fix_finder = FixFinder(cell_source, symbolizer=self.context.symbolizer,
                                         magic_line=magic_line_for(getattr(self.run, "options", None)))
        try:
            return self._fix_finder.fixes(diagnostic)
        except Exception:  # a fix is a help, never a reason for the run's view to fail
            return []

    def _select(self, change) -> None:
        group = self.log.group(change["new"])
        old = self.detail.children
        self.detail.children = ()
        # the views of the hit selected before are closed, with their parts: each selection
        # would otherwise leave a dozen widget models in the kernel, which a page reload then
        # fetches all (JupyterLab waits 2 s for a model before "widget model not found")
        for view in old:
            close_widget_tree(view)
        if group is None:
            return
        views = []
        top = next((f for e in group.events if isinstance(e, Backtrace) for f in e.frames
                    if f.role != "returning_to" and f.symbol), None)
        probed = (top.module, top.symbol) if top is not None else script_probed_function(self.context.cell_source, group.key)
        types = (dwarf_types_for(self.symbolizer, probed[0], probed[1], extra=self.window.types)
                 if probed is not None else self.window.types)
        for e in group.events:
            if isinstance(e, Backtrace):
                views.append(BacktraceView(e, symbolizer=self.symbolizer))
            elif isinstance(e, StructDump):
                views.append(ValueTreeView(e, types=types, expression=expression_for(e.prefix, self._dump_prefixes())))
            elif isinstance(e, VarsDump):
                views.append(ValueTreeView(e, types=types))
            elif isinstance(e, Diagnostic):
                views.append(DiagnosticView(e, context=self.context))
        self.detail.children = views

    # ------------------------------------------------------------------ output
    def static_html(self) -> str:
        # the log's lock too: its ingest updates the counts the render reads (order: log, then ours,
        # as on the flush path, which calls _refresh under the log's lock)
        with self.log.lock, self._lock:
            return render_html(self.window, context=self.context, style=False)

    def static_text(self) -> str:
        with self.log.lock, self._lock:
            return render_text(self.window, context=self.context)

    def _run_status(self) -> str | None:
        status_line = getattr(self.run, "status_line", None)
        return status_line() if status_line is not None else None

    def _static_bundle(self, style: str = "") -> dict:
        """The static render; ``style``: the stylesheet, for the outputs that keep it
        (:meth:`PageStyle.once`: the first of the page carries it)."""
        with self._lock:
            notes = list(self._run_notes)
        head_html, head_text = header_bundle(self._run_status(), notes, ended=self.closed)
        trig_html, trig_text = workload_bundle(self.run) if self.run is not None else ("", "")
        return {"text/html": style + head_html + trig_html + self.static_html(),
                "text/plain": head_text + trig_text + self.static_text()}

    def _repr_mimebundle_(self, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs) or {}
        if self.final == "accompany" and self.closed:
            # the twin output carries the static render (see _twin_bundle); where the widget can't
            # render (an untrusted notebook, nbconvert, GitHub) this output only points to it
            note = f"{self._run_status() or 'stap run finished'} (interactive view; the full render is in the next output)"
            data.update({"text/html": f'<div class="stapbench-live-fallback">{esc(note)}</div>', "text/plain": note})
        else:
            data.update(self._static_bundle())
        return data

    def _twin_bundle(self) -> dict:
        """The static render for the second output of ``final="accompany"``.

        Its CSS (``:has()``, JupyterLab and nbconvert's lab template share the
        ``jp-OutputArea`` classes) hides it while the live widget renders in the same
        cell, and hides the widget's output where the widget cannot render (a
        reopened notebook: "model not found") or the fallback HTML copy: the cell
        shows exactly one of the two.  Where ``<style>`` is stripped (an untrusted
        notebook, GitHub) both stay visible, the static render among them."""
        bundle = self._static_bundle(PageStyle.once())
        bundle["text/html"] = f"<style>{_TWIN_CSS}</style><div class=\"stapbench-twin\">{bundle['text/html']}</div>"
        return bundle

    def _unfinished_twin_bundle(self) -> dict:
        """The twin while the run goes on: what a reader sees if the kernel goes away before the
        run ends (a restart, a crash), instead of the widget frozen mid-run."""
        folder = getattr(self.run, "folder", None)
        note = ("this run had not finished when its kernel went away (restarted or stopped); "
                + (f"its transcript: {folder}" if folder else "nothing of it was kept"))
        return {"text/html": f'<style>{_TWIN_CSS}</style><div class="stapbench-twin">'
                             f'<div class="stapbench-muted">{esc(note)}</div></div>',
                "text/plain": note}

    def show(self):
        """Display with a display id, so :meth:`close` can put the final render in place."""
        from IPython.display import display

        if self.closed and self.final == "replace":  # the run ended before it was shown
            self._handle = display(self._static_bundle(PageStyle.once()), raw=True, display_id=True)
            return self._handle
        self._handle = display(self, display_id=True)
        if self.final == "accompany":
            # a run that already ended gets no close() any more: its static render goes in now
            self._static_handle = display(self._twin_bundle() if self.closed else self._unfinished_twin_bundle(),
                                          raw=True, display_id=True)
        return self._handle
