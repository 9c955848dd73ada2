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
