"""Source snippets: Pygments-highlighted lines around a target line, marked.

The snippet comes from the symbols layer (``SourceSnippet``: ``path``,
``first_line``, ``lines``, ``target_line``).  We highlight the whole snippet
at once (so a comment or string spanning lines keeps its colour) with
``nowrap=True``, split Pygments' output per line (it closes its spans at
every line end) and build our own ``<pre>``: a line-number span per line and,
on the target line, ``<span class="hll" data-line="N">`` plus a visible
``▶`` marker, which still shows where CSS is stripped (GitHub).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePath

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import CLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from ._html import attrs, esc

MARK = "\u25b6"  # ▶


@lru_cache(maxsize=32)
def _lexer_for(name: str):
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return CLexer(stripnl=False, ensurenl=False)


def highlight_lines(lines: list[str], filename: str = "x.c") -> list[str]:
    """HTML of each line, highlighted as one piece of code (C unless the name says otherwise).

    Cached: a long run's backtraces repeat the same frames, so the same snippets."""
    return list(_highlight(tuple(lines), PurePath(filename).name or "x.c"))


@lru_cache(maxsize=4096)
def _highlight(lines: tuple[str, ...], filename: str) -> tuple[str, ...]:
    if not lines:
        return ()
    code = "\n".join(lines)
    out = highlight(code, _lexer_for(filename), HtmlFormatter(nowrap=True))
    pieces = out.split("\n")
    # Pygments may add a trailing newline; keep exactly one entry per input line
    if len(pieces) > len(lines):
        pieces = pieces[: len(lines)]
    while len(pieces) < len(lines):
        pieces.append("")
    return tuple(pieces)


def snippet_html(snippet, *, title: str | None = None, frame_index: int | None = None) -> str:
    """A ``.stapbench-source`` block for a ``SourceSnippet``; the target line is marked."""
    path = str(snippet.path)
    first = snippet.first_line
    target = snippet.target_line
    width = len(str(first + max(len(snippet.lines) - 1, 0)))
    rows = []
    for i, code in enumerate(highlight_lines(list(snippet.lines), path)):
        number = first + i
        lineno = f'<span class="stapbench-lineno" data-line="{number}">{number:>{width}}</span>'
        if number == target:
            rows.append(f'<span class="hll" data-line="{number}">{lineno}'
                        f'<span class="stapbench-here">{MARK}</span> {code}</span>')
        else:
            rows.append(f"{lineno}  {code}")
    head = title if title is not None else (f"{path}:{target}" if target else path)
    return (f'<div class="stapbench-source"{attrs(data_path=path, data_target_line=target, data_frame_index=frame_index)}>'
            f'<div class="stapbench-source-title">{esc(head)}</div>'
            f'<pre>{chr(10).join(rows)}</pre></div>')


def snippet_text(snippet, *, name: str | None = None) -> str:
    """Plain text: numbered lines, ``>`` before the target line; ``name``: the file as shown
    (default: its path)."""
    first = snippet.first_line
    width = len(str(first + max(len(snippet.lines) - 1, 0)))
    name = str(snippet.path) if name is None else name
    out = [f"{name}:{snippet.target_line}" if snippet.target_line else name]
    for i, line in enumerate(snippet.lines):
        number = first + i
        mark = ">" if number == snippet.target_line else " "
        out.append(f"{mark} {number:>{width}} | {line}")
    return "\n".join(out)


class SourceLines:
    """Lines of a source file around the first line holding ``text`` (after ``after``'s first
    occurrence, e.g. a function's name), marked: the code a notebook's argument rests on, shown
    like the backtrace view shows a frame's line.  ``line`` is the number found; a
    :class:`LookupError` says what was not found (the file on disk is the truth, not a number
    copied into the notebook)."""

    def __init__(self, path, text: str, *, after: str | None = None, context: int = 4,
                 title: str | None = None, root=None):
        from pathlib import Path

        from ..symbols.location import SourceSnippet

        self.path = Path(path)
        # shown relative to ``root`` (a source tree): a saved notebook names no folder of this machine
        shown = self.path.relative_to(root) if root is not None and self.path.is_relative_to(root) else self.path
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        start = 0
        if after is not None:
            start = next((i for i, line in enumerate(lines) if after in line), None)
            if start is None:
                raise LookupError(f"{self.path}: no line holds {after!r}")
        index = next((i for i in range(start, len(lines)) if text in lines[i]), None)
        if index is None:
            raise LookupError(f"{self.path}: no line holds {text!r}" + (f" after {after!r}" if after else ""))
        self.line = index + 1
        first = max(0, index - context)
        self.snippet = SourceSnippet(path=shown, first_line=first + 1, lines=lines[first:index + context + 1],
                                     target_line=self.line)
        self.title = title

    def _repr_html_(self) -> str:
        from ._html import PageStyle, wrap_root

        return PageStyle.once() + wrap_root(snippet_html(self.snippet, title=self.title), kind="source")

    def __repr__(self) -> str:
        return (f"{self.title}\n" if self.title else "") + snippet_text(self.snippet)
