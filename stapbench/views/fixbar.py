"""A diagnostic's fixes as buttons: the closest few, the rest behind "more"; one click replaces
the cell's script with the fixed one and keeps its ``%%stap`` line.

The fixes come from :class:`stapbench.authoring.fixes.FixFinder` (whole fixed scripts, ranked).
A click sends a DOM event that stapbench's JupyterLab extension answers by rewriting the cell
that holds the widget; where no extension answers (another front end), the fixed script is
shown to copy, with a pointer to ``%stap_fix N`` (the magics' ``set_next_input`` way: a
widget's message carries no execute reply to put a next cell in), and ``on_fix`` callbacks still
hear of the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets as T

from ..authoring.highlight import cell_html, stap_css

_HERE = Path(__file__).parent
SHOWN = 3


class FixBar(anywidget.AnyWidget):
    _esm = _HERE / "fixbar.js"
    # the fixed script is shown highlighted as SystemTap (authoring.highlight)
    _css = (_HERE / "fixbar.css").read_text(encoding="utf-8") + "\n" + stap_css(".stapbench-fixbar .sbf-script")

    fixes = T.List(T.Dict()).tag(sync=True)  # [{title, script, html}], closest first
    shown = T.Int(SHOWN).tag(sync=True)
    chosen = T.Int(-1).tag(sync=True)

    def __init__(self, fixes, **kwargs):
        fixes = [f.to_json() if hasattr(f, "to_json") else dict(f) for f in fixes]
        for fix in fixes:  # escaped by Pygments: the JS puts it in as HTML
            fix["html"] = cell_html(fix["script"])
        super().__init__(fixes=fixes, **kwargs)
        self._callbacks: list[Callable[[str, str], None]] = []
        self.observe(self._on_choose, names="chosen")

    def on_fix(self, callback: Callable[[str, str], None]) -> None:
        self._callbacks.append(callback)

    def _on_choose(self, change) -> None:
        if 0 <= change["new"] < len(self.fixes):
            fix = self.fixes[change["new"]]
            for cb in self._callbacks:
                cb(fix["title"], fix["script"])
