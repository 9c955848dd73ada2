"""SystemTap source as highlighted, escaped HTML (Pygments with :class:`.lexer.SystemTapLexer`)."""

from __future__ import annotations

from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter

from .lexer import SystemTapLexer

_LEXER = SystemTapLexer(stripnl=False, ensurenl=False)
_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=1024)
def stap_html(text: str) -> str:
    """``<span class="k">probe</span> ...``: Pygments' short classes, every character escaped;
    the visible text is ``text`` exactly (so carets under it stay aligned)."""
    out = highlight(text, _LEXER, _FORMATTER)
    return out[:-1] if out.endswith("\n") and not text.endswith("\n") else out  # the formatter ends every line


def cell_html(cell: str) -> str:
    """A ``%%stap`` cell as escaped HTML: its magic line plain, the script below it highlighted."""
    from html import escape

    if cell.startswith("%%"):
        line, newline, body = cell.partition("\n")
        return f'<span class="cm">{escape(line)}</span>{newline}' + (stap_html(body) if body else "")
    return stap_html(cell)


@lru_cache(maxsize=8)
def stap_css(scope: str) -> str:
    """Pygments' colours for the token classes :func:`stap_html` emits, under the CSS selector
    ``scope`` only (its unscoped ``pre`` rules left out): a widget's stylesheet takes it."""
    defs = HtmlFormatter(style="default").get_style_defs(scope)
    return "\n".join(line for line in defs.splitlines() if line.startswith(scope + " ."))  # not its background
