"""Flame graphs: the static SVG/HTML a saved notebook keeps, a standalone interactive page,
and :class:`FlameGraph`, which shows as the live widget (``flamewidget.py``) plus the static form.

All three draw a :class:`~stapbench.answers.flame.FlameLayout` (frames too narrow to see
already merged in Python), icicle by default (the root on top, callees below), or as a
flame (the root at the bottom).  Every frame name is escaped (``esc``) in the SVG and the
HTML; the standalone page carries the layout as JSON inside a ``<script
type="application/json">`` whose ``<``, ``>`` and ``&`` are ``\\u`` escapes, so no symbol
can close it, and the page's script puts names in with ``textContent`` only.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..answers.flame import DEFAULT_MIN_SHARE, FlameData, FlameLayout
from ._html import esc, printable as _printable, wrap_root

__all__ = ["FlameGraph", "flame_page", "flame_svg", "frame_color"]

_HERE = Path(__file__).parent
ROW = 18
CHAR_PX = 7  # monospace 12px, for fitting labels in the static SVG
STATIC_WIDTH = 1200
ORIENTATIONS = ("icicle", "flame")


def frame_color(name: str, merged: bool = False) -> str:
    """The colour of a frame (FlameGraph's "hot" palette), the same as flame.js gives it."""
    if merged:
        return "rgb(200,200,200)"
    h = 0x811C9DC5
    data = name.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return f"rgb({205 + h % 50},{(h >> 8) % 230},{(h >> 16) % 55})"


def _geometry(layout: FlameLayout) -> list[int]:
    """x of every node, in counts from the left edge (siblings follow each other)."""
    xs = [0] * len(layout)
    nxt = [0] * (layout.max_depth + 2)
    for i, (depth, value) in enumerate(zip(layout.depth, layout.value)):
        xs[i] = nxt[depth]
        nxt[depth] += value
        nxt[depth + 1] = xs[i]
    return xs


def _share(value: int, total: int) -> str:
    return f"{100 * value / total:.2f}" if total else "0.00"


def _describe(layout: FlameLayout, i: int) -> str:
    merged = layout.merged[i]
    what = f"{merged} frames merged (each too narrow to draw)" if merged else layout.label(i)
    return f"{what} \u2014 {layout.value[i]} samples, {_share(layout.value[i], layout.total)}% of all"


def flame_svg(layout: FlameLayout, *, width: int = STATIC_WIDTH, title: str = "",
              orientation: str = "icicle") -> str:
    """A self-contained SVG (no script): one rectangle per frame at least one pixel wide, its
    name clipped to fit, and a ``<title>`` (shown on hover) with its count and share."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}")
    top = 20 if title else 0
    height = top + (layout.max_depth + 1) * ROW
    scale = width / max(layout.total, 1)
    xs = _geometry(layout)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="stapbench-flame-svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">']
    if title:
        out.append(f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-size="14">{esc(_printable(title))}</text>')
    skip_until = -1
    ends = _subtree_ends(layout)
    for i in range(len(layout)):
        if i < skip_until:
            continue
        w = layout.value[i] * scale
        if w < 1:
            skip_until = ends[i]
            continue
        name = _printable(layout.label(i))
        row = layout.depth[i] if orientation == "icicle" else layout.max_depth - layout.depth[i]
        x, y = xs[i] * scale, top + row * ROW
        merged = layout.merged[i] > 0
        out.append(f'<g class="stapbench-flame-frame" data-name="{esc(name)}"><title>{esc(_printable(_describe(layout, i)))}</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{max(w - 1, 0.5):.1f}" height="{ROW - 1}" '
                   f'fill="{frame_color(name, merged)}"/>')
        chars = int((w - 6) // CHAR_PX)
        if chars >= 3:
            text = name if len(name) <= chars else name[:chars - 2] + ".."
            out.append(f'<text x="{x + 3:.1f}" y="{y + ROW - 5}">{esc(text)}</text>')
        out.append("</g>")
    out.append("</svg>\n")
    return "".join(out)


def _subtree_ends(layout: FlameLayout) -> list[int]:
    """For each node, one past the last node of its subtree (depth-first order)."""
    n = len(layout)
    ends = [n] * n
    open_nodes: list[int] = []
    depth = layout.depth
    for i in range(n):
        d = depth[i]
        while open_nodes and depth[open_nodes[-1]] >= d:
            ends[open_nodes.pop()] = i
        open_nodes.append(i)
    return ends


@lru_cache(maxsize=1)
def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def _json_for_script(value) -> str:
    """JSON that cannot end the ``<script>`` holding it (nor open a comment or CDATA there)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def flame_page(layout: FlameLayout, *, title: str = "flame graph", orientation: str = "icicle") -> str:
    """A standalone HTML page: the interactive flame graph (flame.js, inlined), no network."""
    state = {"data": layout.as_json(), "title": title, "orientation": orientation, "zoom": 0, "search": ""}
    module = _asset("flame.js").replace("export function frameColor", "function frameColor").replace(
        "export default { render };", "")
    boot = """
const state = JSON.parse(document.getElementById("stapbench-flame-state").textContent);
const handlers = {};
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); },
  save_changes() {},
  on(event, f) { (handlers[event] = handlers[event] || []).push(f); },
};
render({ model, el: document.getElementById("stapbench-flame-root") });
document.documentElement.dataset.ready = "1";
"""
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{esc(_printable(title))}</title><style>{_asset('flame.css')}</style></head><body>"
            '<div id="stapbench-flame-root"></div>'
            f'<script type="application/json" id="stapbench-flame-state">{_json_for_script(state)}</script>'
            f'<script type="module">{module}\n{boot}</script>'
            "</body></html>\n")


class FlameGraph:
    """A flame graph of stacks: ``FlameGraph.from_run(run)``, ``.from_folded(text)``,
    ``.from_file(path)``.  In a notebook it shows as the live widget plus its static SVG (for a
    saved notebook); ``to_svg()``, ``to_html()``, ``to_page()`` and ``to_folded()`` export it."""

    def __init__(self, data: FlameData, *, title: str = "", min_share: float = DEFAULT_MIN_SHARE,
                 orientation: str = "icicle"):
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}")
        self.data = data
        self.title = title
        self.min_share = min_share
        self.orientation = orientation
        self._layout: FlameLayout | None = None

    @classmethod
    def from_run(cls, run, **kwargs) -> "FlameGraph":
        return cls(FlameData.from_run(run), **kwargs)

    @classmethod
    def from_events(cls, events, **kwargs) -> "FlameGraph":
        return cls(FlameData.from_events(events), **kwargs)

    @classmethod
    def from_folded(cls, folded: str | bytes, **kwargs) -> "FlameGraph":
        return cls(FlameData.from_folded(folded), **kwargs)

    @classmethod
    def from_file(cls, path, **kwargs) -> "FlameGraph":
        return cls(FlameData.from_file(path), **kwargs)

    @property
    def layout(self) -> FlameLayout:
        if self._layout is None:
            self._layout = self.data.layout(self.min_share)
        return self._layout

    def to_folded(self) -> str:
        return self.data.to_folded()

    def to_svg(self, *, width: int = STATIC_WIDTH) -> str:
        # for a static image only frames of at least a pixel matter: merge below that
        layout = self.data.layout(max(self.min_share, 1 / width))
        return flame_svg(layout, width=width, title=self.title, orientation=self.orientation)

    def to_html(self) -> str:
        """The static form for saved notebooks: the SVG in the ``.stapbench`` root, no script."""
        summary = (f'<div class="stapbench-muted">flame graph: {self.data.total} samples, '
                   f'{len(self.data.stacks)} distinct stacks; hover a frame for its count</div>')
        return wrap_root(summary + self.to_svg(), kind="flame", style=True)

    def to_text(self) -> str:
        top = sorted(self.data.stacks.items(), key=lambda kv: -kv[1])[:10]
        lines = [f"flame graph: {self.data.total} samples, {len(self.data.stacks)} distinct stacks"]
        lines += [f"{count:>10}  {_printable(stack)}" for stack, count in top]
        return "\n".join(lines)

    def to_page(self) -> str:
        return flame_page(self.layout, title=self.title or "flame graph", orientation=self.orientation)

    def widget(self):
        from .flamewidget import FlameGraphView

        return FlameGraphView(self)

    def _repr_mimebundle_(self, **kwargs):
        try:
            return self.widget()._repr_mimebundle_(**kwargs)
        except ImportError:  # no anywidget: the static form
            return {"text/html": self.to_html(), "text/plain": self.to_text()}
