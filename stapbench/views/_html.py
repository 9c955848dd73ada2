"""Small HTML helpers shared by the static renderers.

Every string that comes from stap output or from a source file goes through
:func:`esc` (``html.escape`` with quotes), or through Pygments, which escapes
on its own.  Nothing here emits ``<script>`` or loads anything external: the
static HTML must render the same in nbconvert, on GitHub (which strips
``<style>`` and classes, hence the visible text markers everywhere) and in a
JupyterLab without a kernel.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources

from pygments.formatters import HtmlFormatter

ROOT_CLASS = "stapbench"


def esc(text: object) -> str:
    """Escape anything for HTML text and attribute values (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


def printable(text: object) -> str:
    """Text safe in XML 1.0 (SVG): invalid UTF-8 (surrogate escapes) and control characters
    become U+FFFD; escape the result with :func:`esc` as usual."""
    s = str(text)
    if s.isprintable():
        return s
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c == " " else "\ufffd" for c in s)


def attrs(**values: object) -> str:
    """`` name="value"`` pairs for the non-None values; ``data_x`` becomes ``data-x``."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        if value is True:
            value = "true"
        parts.append(f' {name}="{esc(value)}"')
    return "".join(parts)


def classes(*names: str | None) -> str:
    return " ".join(n for n in names if n)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The scoped CSS: our own rules plus Pygments' under ``.stapbench .stapbench-source`` and ``-cell-source``."""
    own = resources.files(__package__).joinpath("stapbench.css").read_text(encoding="utf-8")
    pyg = HtmlFormatter(style="default").get_style_defs(  # C source, and stap on a diagnostic's cell line
        [f".{ROOT_CLASS} .stapbench-source", f".{ROOT_CLASS} .stapbench-cell-source"])
    # get_style_defs also emits unscoped ``pre``/``span.linenos`` rules: keep only scoped ones
    scoped = "\n".join(line for line in pyg.splitlines() if line.startswith(f".{ROOT_CLASS} "))
    return own + "\n" + scoped + "\n"


def wrap_root(body: str, *, kind: str = "run", style: bool = True) -> str:
    """Put rendered HTML in the ``.stapbench`` root, with the inline stylesheet."""
    css = f"<style>{stylesheet()}</style>" if style else ""
    return f'<div class="{ROOT_CLASS}" data-stapbench-view="{esc(kind)}">{css}{body}</div>'
