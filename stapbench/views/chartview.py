"""Charts as a live widget: an ``ipywidgets.HTML`` that follows a running run and redraws its
chart (hits per second, or the globals and histograms) at most once per ``min_interval``
seconds, and once more when the run ends; its mime bundle carries the static render too."""

from __future__ import annotations

import threading

import ipywidgets as W

from ._repr import StaticReprMixin
from .charts import aggregate_charts, timeline_chart

CHARTS = {"timeline": timeline_chart, "aggregates": aggregate_charts}


class ChartView(StaticReprMixin, W.HTML):
    def __init__(self, source, *, chart: str = "timeline", min_interval: float = 1.0, **kwargs):
        if chart not in CHARTS:
            raise ValueError(f"chart must be one of {sorted(CHARTS)}")
        super().__init__(**kwargs)
        self.source = source
        self.chart = chart
        self.min_interval = min_interval
        self.updates = 0
        self._lock = threading.Lock()
        self._pending = False
        self.redraw()
        if getattr(source, "running", False):
            source.on_event.append(self._on_event)
            source.on_end.append(lambda _run: self.redraw())

    def charts(self):
        return CHARTS[self.chart](self.source)

    def redraw(self) -> None:
        with self._lock:
            self._pending = False
        self.value = self.charts().to_html()
        self.updates += 1

    def _on_event(self, _event) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
        timer = threading.Timer(self.min_interval, self.redraw)
        timer.daemon = True
        timer.start()

    def static_html(self) -> str:
        return self.charts().to_html()

    def static_text(self) -> str:
        return self.charts().to_text()
