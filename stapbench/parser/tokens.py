"""Where a stap message points: ``<kind> '<text>' at <file>:<line>:<col>``, in linear time.

stap prints a token's location as ``identifier 'x' at f.stp:3:5`` (keyword and
embedded-code tokens without the quoted text), at the end of a semantic error
or warning (``...: identifier 'x' at f.stp:3:5``) and in runtime errors
(``... near identifier 'x' at f.stp:3:5 (called from ...) in probe ...``).

The natural regular expressions (``(kind)(?: '(.*)')? at (.*):(\\d+):(\\d+)``)
backtrack: a header holding the shape many times took seconds per 10 KB, while
holding the GIL.  These functions find the same matches (the test suite holds them
to those expressions on random input) by locating the fixed parts with
``str.find``/``rfind`` first: the line and column are the last two ``:``-fields,
a greedy token ends at the last ``' at `` before them, a lazy one at the first.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["TokenAt", "near_token", "tail_token", "token_at"]

TOKEN_KINDS = ("identifier", "operator", "string", "number", "junk", "keyword", "embedded-code")
_KIND = re.compile("|".join(TOKEN_KINDS))
_TAIL_KIND = re.compile(": (" + "|".join(TOKEN_KINDS) + ")")
_NEAR_KIND = re.compile(" near (" + "|".join(TOKEN_KINDS) + ")")
# a file's end in a runtime error: ":LINE:COL" and then the end, " in probe " or " (called from "
_NEAR_FILE_END = re.compile(r":(?=(\d+):(\d+)(?:\Z| in probe | \(called from ))")
_CALLED_FROM = " (called from "

#: (kind, token or None, file, line text, column text)
TokenAt = tuple[str, "str | None", str, str, str]


def _line_column(text: str, start: int) -> tuple[int, str, str] | None:
    """``...:LINE:COL`` at the end of ``text`` (both after ``start``) -> (index of the
    colon before LINE, LINE, COL)."""
    last = text.rfind(":", start)
    if last < 0:
        return None
    column = text[last + 1:]
    before = text.rfind(":", start, last)
    if before < 0 or not column.isdecimal():
        return None
    line = text[before + 1:last]
    if not line.isdecimal():
        return None
    return before, line, column


def _greedy_token(text: str, at: int, file_end: int, last_quote_at: int) -> tuple[str | None, int] | None:
    """After a kind ending at ``at``: `` 'TOKEN' at `` (the longest TOKEN) or `` at ``;
    -> (token, index where the file starts)."""
    if text.startswith(" '", at) and last_quote_at >= at + 2:
        return text[at + 2:last_quote_at], last_quote_at + 5
    if text.startswith(" at ", at) and at + 4 <= file_end:
        return None, at + 4
    return None


def token_at(text: str) -> TokenAt | None:
    """The whole of ``text`` is a token location (``re.fullmatch`` semantics)."""
    kind = _KIND.match(text)
    if kind is None:
        return None
    found = _line_column(text, kind.end())
    if found is None:
        return None
    file_end, line, column = found
    token = _greedy_token(text, kind.end(), file_end, text.rfind("' at ", 0, file_end))
    if token is None:
        return None
    return kind.group(), token[0], text[token[1]:file_end], line, column


def tail_token(text: str) -> tuple[int, TokenAt] | None:
    """``...: <token location>`` at the end of ``text`` -> (where ``: `` starts, the parts);
    the leftmost such start, as ``re.search`` finds it."""
    found = _line_column(text, 0)
    if found is None:
        return None
    file_end, line, column = found
    last_quote_at = text.rfind("' at ", 0, file_end)
    for kind in _TAIL_KIND.finditer(text, 0, file_end):
        token = _greedy_token(text, kind.end(), file_end, last_quote_at)
        if token is not None:
            return kind.start(), (kind.group(1), token[0], text[token[1]:file_end], line, column)
    return None


def _trailer_fits(text: str, at: int, last_called_in_probe: int) -> bool:
    """``text[at:]`` is ``( \\(called from .*\\))*( in probe .*)?`` to the end."""
    if at == len(text) or text.startswith(" in probe ", at):
        return True
    if not text.startswith(_CALLED_FROM, at):
        return False
    # one or more "(called from ...)" groups: the last one's ")" ends the text or precedes " in probe "
    return (text.endswith(")") and len(text) - at > len(_CALLED_FROM)) \
        or last_called_in_probe >= at + len(_CALLED_FROM)


def near_token(text: str) -> tuple[int, TokenAt, str] | None:
    """`` near <token location>[ (called from ...)...][ in probe ...]`` at the end of
    ``text`` -> (where `` near`` starts, the parts, the trailer); token and file
    are the shortest that fit, as the lazy expression ``re.search`` used finds them."""
    last_called_in_probe = text.rfind(") in probe ")
    file_ends: list[int] = []  # every colon that can end a file, in order
    ends: dict[int, tuple[str, str, int]] = {}
    for m in _NEAR_FILE_END.finditer(text):
        after = m.end(2)
        if _trailer_fits(text, after, last_called_in_probe):
            file_ends.append(m.start())
            ends[m.start()] = (m.group(1), m.group(2), after)
    if not file_ends:
        return None
    last_end = file_ends[-1]
    next_quote_at = -2  # the first "' at " at or after some index (cached between candidates)
    for kind in _NEAR_KIND.finditer(text, 0, last_end):
        at = kind.end()
        token = None
        file_start = -1
        if text.startswith(" '", at):
            if next_quote_at != -1 and next_quote_at < at + 2:
                next_quote_at = text.find("' at ", at + 2)
            if next_quote_at >= 0 and next_quote_at + 5 <= last_end:
                token, file_start = text[at + 2:next_quote_at], next_quote_at + 5
        if file_start < 0 and text.startswith(" at ", at) and at + 4 <= last_end:
            file_start = at + 4
        if file_start < 0:
            continue
        file_end = file_ends[bisect.bisect_left(file_ends, file_start)]
        line, column, after = ends[file_end]
        return kind.start(), (kind.group(1), token, text[file_start:file_end], line, column), text[after:]
    return None
