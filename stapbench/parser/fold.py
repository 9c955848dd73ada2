"""FlameGraph's folded format from stap stack output, as ``stackcollapse-stap.pl`` makes it.

The rules mirror that script (brendangregg/FlameGraph) line for line, on bytes:

* a line matching ``^\\s*(\\d+)+$`` is a count: the frames collected since the
  previous count form one stack (root first = the last frame line), and its
  count is added to that stack's total (a count with no frames adds to the
  empty stack, printed as `` N``);
* a line of only whitespace is skipped;
* any other line is a frame: leading whitespace removed, then everything from
  the last ``+`` on (``+0xOFF/0xSIZE [module]``), then everything up to the
  last `` : `` (the `` 0xADDR : `` of FULL lines); an empty result becomes
  ``-``;
* frames still collected when the input ends (no count after them) are dropped;
* output: ``root;...;leaf COUNT`` per distinct stack, sorted bytewise.

One deliberate difference: the script passes each stack to ``printf`` as the
*format*, so a ``%`` in a symbol is mangled there; here the stack is written
as it is.

How it is fast: each distinct line is cleaned once (a cache), so the per-line
work is a dict lookup done by ``map`` in C.  Every line becomes a token:
``b";" + frame``, ``b""`` for a skipped line, or ``b"\\n" + digits`` for a count
(a frame can never hold a newline).  Joining all tokens in *reverse* puts each
stack root-first right after its count, so one ``split(b"\\n")`` yields
``COUNT;root;...;leaf`` pieces: Python code runs per stack, not per line.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterable

__all__ = ["collapse_lines", "collapse_bytes", "format_folded", "fold_bytes"]

_COUNT = re.compile(rb"\s*([0-9]+)\Z")
_WHITESPACE = b" \t\n\r\f\v"
# bound the per-line cache so adversarial input (all lines distinct) stays bounded in memory
_CACHE_LIMIT = 1 << 20
_SLICE = 4096


def _token(line: bytes) -> bytes:
    """A line -> its token: b";" + the cleaned frame, b"" (skip) or b"\\n" + count digits."""
    m = _COUNT.match(line)
    if m is not None:
        return b"\n" + m.group(1)
    frame = line.lstrip(_WHITESPACE)
    if not frame:
        return b""
    plus = frame.rfind(b"+")
    if plus >= 0:
        frame = frame[:plus]
    colon = frame.rfind(b" : ")
    if colon >= 0:
        frame = frame[colon + 3:]
    return b";" + (frame or b"-")


class Folder:
    """Incremental folding: ``feed_lines`` any number of times, then ``collapsed()``."""

    def __init__(self) -> None:
        self.cache: dict[bytes, bytes] = {}
        self.tokens: list[bytes] = []

    def feed_lines(self, lines: list[bytes]) -> None:
        """Lines without their ``\\n``."""
        # in slices, so lines first seen early in the input are cache hits later on
        for start in range(0, len(lines), _SLICE):
            self._feed_slice(lines[start:start + _SLICE])

    def _feed_slice(self, lines: list[bytes]) -> None:
        cache = self.cache
        tokens = list(map(cache.get, lines))
        i = 0
        try:
            while True:
                i = tokens.index(None, i)  # only lines not seen before reach Python code
                line = lines[i]
                token = cache.get(line)
                if token is None:
                    token = _token(line)
                    if len(cache) < _CACHE_LIMIT:
                        cache[line] = token
                tokens[i] = token
                i += 1
        except ValueError:
            pass
        self.tokens += tokens

    def collapsed(self, into: dict[bytes, int] | None = None) -> dict[bytes, int]:
        collapsed: dict[bytes, int] = {} if into is None else into
        tokens = self.tokens
        tokens.reverse()
        pieces = b"".join(tokens).split(b"\n")
        tokens.reverse()
        get = collapsed.get
        # pieces[0] holds frames after the final count: the script drops them too
        for piece in pieces[1:]:
            count, _, stack = piece.partition(b";")
            collapsed[stack] = get(stack, 0) + int(count)
        return collapsed


def collapse_lines(lines: Iterable[bytes], collapsed: dict[bytes, int] | None = None) -> dict[bytes, int]:
    """Fold lines (without their ``\\n``) into ``{stack: count}``."""
    folder = Folder()
    folder.feed_lines(lines if isinstance(lines, list) else list(lines))
    return folder.collapsed(collapsed)


def collapse_bytes(data: bytes) -> dict[bytes, int]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the text after the final newline is no line
    return collapse_lines(lines)


def format_folded(collapsed: dict[bytes, int]) -> bytes:
    return b"".join(b"%s %d\n" % (key, collapsed[key]) for key in sorted(collapsed))


def fold_bytes(data: bytes) -> bytes:
    """The whole transformation: stap output bytes -> folded output bytes."""
    return format_folded(collapse_bytes(data))


def fold_stream(stream: BinaryIO, chunk_size: int = 1 << 22) -> bytes:
    """Fold a binary stream read in chunks (lines may straddle chunks)."""
    folder = Folder()
    tail = b""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        folder.feed_lines(lines)
    if tail:
        folder.feed_lines([tail])
    return format_folded(folder.collapsed())
