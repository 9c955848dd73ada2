"""The live flame graph: an anywidget running ``flame.js`` (click zooms, search highlights,
hover tells the count and share), with the static SVG in its mime bundle for saved notebooks."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as T

from ._repr import StaticReprMixin

_HERE = Path(__file__).parent


class FlameGraphView(StaticReprMixin, anywidget.AnyWidget):
    _esm = _HERE / "flame.js"
    _css = _HERE / "flame.css"
    data = T.Dict().tag(sync=True)  # FlameLayout.as_json()
    title = T.Unicode("").tag(sync=True)
    orientation = T.Unicode("icicle").tag(sync=True)
    zoom = T.Int(0).tag(sync=True)  # the node drawn full width (0: the root)
    search = T.Unicode("").tag(sync=True)

    def __init__(self, graph, **kwargs):
        self.graph = graph
        super().__init__(data=graph.layout.as_json(), title=graph.title, orientation=graph.orientation, **kwargs)

    def static_html(self) -> str:
        return self.graph.to_html()

    def static_text(self) -> str:
        return self.graph.to_text()
