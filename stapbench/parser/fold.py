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

Why bytes and a cache: stacks repeat the same frame lines over and over, so
each distinct line is cleaned once and then looked up; no decoding happens.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterable

__all__ = ["collapse_lines", "collapse_bytes", "format_folded", "fold_bytes"]

_COUNT = re.compile(rb"\s*([0-9]+)\Z")
_WHITESPACE = b" \t\n\r\f\v"
_SKIP = object()
# bound the per-line cache so adversarial input (all lines distinct) stays linear in memory
_CACHE_LIMIT = 1 << 20


def _classify(line: bytes):
    """A line -> cleaned frame (bytes), a count (int) or _SKIP."""
    m = _COUNT.match(line)
    if m is not None:
        return int(m.group(1))
    frame = line.lstrip(_WHITESPACE)
    if not frame:
        return _SKIP
    plus = frame.rfind(b"+")
    if plus >= 0:
        frame = frame[:plus]
    colon = frame.rfind(b" : ")
    if colon >= 0:
        frame = frame[colon + 3:]
    return frame or b"-"


def collapse_lines(lines: Iterable[bytes], collapsed: dict[bytes, int] | None = None) -> dict[bytes, int]:
    """Fold lines (without their ``\\n``) into ``{stack: count}``."""
    if collapsed is None:
        collapsed = {}
    cache: dict[bytes, object] = {}
    get = cache.get
    stack: list[bytes] = []
    push = stack.append
    for line in lines:
        v = get(line)
        if v is None:
            v = _classify(line)
            if len(cache) < _CACHE_LIMIT:
                cache[line] = v
        if v.__class__ is bytes:
            push(v)
        elif v is not _SKIP:
            stack.reverse()
            key = b";".join(stack)
            collapsed[key] = collapsed.get(key, 0) + v
            stack.clear()
    return collapsed


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
    collapsed: dict[bytes, int] = {}
    tail = b""
    # one cache and one open stack must survive across chunks, so feed a generator
    def lines():
        nonlocal tail
        while True:
            chunk = stream.read(chunk_size)
            if not chunk:
                break
            parts = (tail + chunk).split(b"\n")
            tail = parts.pop()
            yield from parts
        if tail:
            yield tail
    collapse_lines(lines(), collapsed)
    return format_folded(collapsed)
