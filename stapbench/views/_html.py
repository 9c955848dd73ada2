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
import re
import threading
from functools import lru_cache
from importlib import resources

from pygments.formatters import HtmlFormatter

ROOT_CLASS = "stapbench"
NO_MATHJAX = "tex2jax_ignore mathjax_ignore"  # MathJax 2 and 3 skip elements with these


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


def count(n: int, word: str, plural: str | None = None) -> str:
    """``1 event``, ``2 events``: a number and its noun, plural when it is not 1."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


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


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_SPACE = re.compile(r"\s*([{};,>])\s*|\s+")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The scoped CSS, minified: our own rules plus Pygments' under ``.stapbench .stapbench-source`` and ``-cell-source``."""
    own = resources.files(__package__).joinpath("stapbench.css").read_text(encoding="utf-8")
    pyg = HtmlFormatter(style="default").get_style_defs(  # C source, and stap on a diagnostic's cell line
        [f".{ROOT_CLASS} .stapbench-source", f".{ROOT_CLASS} .stapbench-cell-source"])
    # get_style_defs also emits unscoped ``pre``/``span.linenos`` rules: keep only scoped ones
    scoped = "\n".join(line for line in pyg.splitlines() if line.startswith(f".{ROOT_CLASS} "))
    css = _CSS_COMMENT.sub("", own + "\n" + scoped)
    return _CSS_SPACE.sub(lambda m: m.group(1) or " ", css).strip()


def style_tag() -> str:
    return f"<style>{stylesheet()}</style>"


def wrap_root(body: str, *, kind: str = "run", style: bool = False) -> str:
    """Put rendered HTML in the ``.stapbench`` root; ``style``: with the inline stylesheet
    (a self-contained render).  A ``<style>`` in an output styles the whole page (JupyterLab,
    nbconvert), so the views of a notebook carry it once (see :class:`PageStyle`)."""
    css = style_tag() if style else ""
    # stap's text is full of $ ($var$, $$parms): the MathJax that JupyterLab and nbconvert run on
    # HTML outputs would typeset "$c$ ... $c$" as maths; these classes make it skip the view
    return f'<div class="{ROOT_CLASS} {NO_MATHJAX}" data-stapbench-view="{esc(kind)}">{css}{body}</div>'


class PageStyle:
    """The stylesheet, once per page.  A notebook's outputs share one page (JupyterLab, nbconvert's
    HTML), and a ``<style>`` in any of them applies to all: so the first static output of a
    kernel session carries it (:meth:`once`), the later ones none.  Live widgets share one
    style widget (:meth:`widget`): one model in the kernel, rendered inside each view."""

    _lock = threading.Lock()
    _sent = False
    _widget = None

    @classmethod
    def once(cls) -> str:
        with cls._lock:
            if cls._sent:
                return ""
            cls._sent = True
        return style_tag()

    @classmethod
    def widget(cls):
        import ipywidgets as W

        with cls._lock:
            if cls._widget is None or cls._widget.comm is None:  # none yet, or closed
                cls._widget = W.HTML(style_tag(), layout=W.Layout(display="none"))
                cls._widget.add_class("stapbench-style")
            return cls._widget
