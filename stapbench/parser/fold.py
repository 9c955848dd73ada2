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

Two deliberate differences: the script passes each stack to ``printf`` as the
*format*, so a ``%`` in a symbol is mangled there; here the stack is written
as it is.  And counts add up exactly, however many digits they have (Perl's
numbers are doubles: past 2**53 they round, past about 309 digits they are
``Inf``).

How it is fast: the input is cut at its count lines by one regular expression
(C code over the whole buffer), so what lies between two counts, one stack's
text, is a single bytes object; identical stacks are the rule in profiles, and
each distinct stack text is folded once (a cache), so Python code runs per
stack, not per line.  The stacks seen for the first time in a slice of the input
are folded together, their lines looked up at once and each distinct line
cleaned once (a second cache).
"""

from __future__ import annotations

import decimal
import re
from itertools import accumulate
from operator import itemgetter, methodcaller
from typing import BinaryIO, Iterable

from ..gcpause import gc_paused

__all__ = ["Folder", "collapse_lines", "collapse_bytes", "format_folded", "fold_bytes", "fold_stream"]

# a count line, with the newline before it: every line starts after a "\n" once the
# input is prefixed with one; the lookahead keeps the newline after it for the next match
_COUNT_LINE = re.compile(rb"\n[ \t\r\f\v]*([0-9]+)(?![^\n])")
_WHITESPACE = b" \t\n\r\f\v"
# bound the caches so adversarial input (all lines distinct, huge lines) stays bounded in
# memory: at most this many entries, each key at most this long
_LINE_CACHE_LIMIT, _CACHED_LINE_BYTES = 1 << 18, 1 << 10
_STACK_CACHE_LIMIT, _CACHED_STACK_BYTES = 1 << 16, 1 << 13
_SLICE = 4096
# counts too long for int() (over 4,300 digits) add up as decimals, exactly
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _token(line: bytes) -> bytes:
    """A frame line -> b";" + the cleaned frame, or b"" for a line to skip."""
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


def _tokens(lines: list[bytes]) -> list[bytes]:
    """``[_token(line) for line in lines]``, with C loops (map over bytes methods): the
    same steps, each applied to the whole list."""
    frames = list(map(bytes.lstrip, lines))  # bytes.lstrip() strips exactly _WHITESPACE
    heads = map(itemgetter(0), map(methodcaller("rsplit", b"+", 1), frames))
    names = map(itemgetter(-1), map(methodcaller("rsplit", b" : ", 1), heads))
    tokens = list(map(b";".__add__, names))
    i = 0
    try:
        while True:  # an empty name: "-", or nothing at all for a blank line
            i = tokens.index(b";", i)
            tokens[i] = b";-" if frames[i] else b""
            i += 1
    except ValueError:
        pass
    return tokens


def _fill(values: list, keys: list, compute) -> None:
    """Replace each None in ``values`` by ``compute(keys[i])``; only misses reach Python code."""
    i = 0
    try:
        while True:
            i = values.index(None, i)
            values[i] = compute(keys[i])
            i += 1
    except ValueError:
        pass


class Folder:
    """Incremental folding: ``feed(bytes)`` any number of times (split anywhere), then
    ``close()`` returns ``{stack: count}``, stacks root first joined by ``;``."""

    def __init__(self, into: dict[bytes, int] | None = None) -> None:
        self.collapsed: dict[bytes, int] = {} if into is None else into
        self._stacks: dict[bytes, bytes] = {}  # text between two counts -> its folded stack
        self._frames: dict[bytes, bytes] = {}  # line -> its token
        self._open: list[bytes] = []  # the text since the last count, whole lines
        self._tail = b"\n"  # the line being read, after its newline
        self._growing: list[bytes] = []  # chunks without a newline, after _tail

    def feed(self, data: bytes) -> None:
        if b"\n" not in data:
            # a line longer than a chunk: gathered and joined once its end arrives (adding
            # each chunk to the tail would copy the tail again each time: quadratic)
            if data:
                self._growing.append(data)
            return
        if self._growing:
            self._tail = b"".join([self._tail, *self._growing])
            self._growing = []
        text = self._tail + data
        if text.endswith(b"\n"):
            # whole lines (no copy up to the cut); the empty line the next block's leading
            # newline makes is skipped like any blank line
            self._feed_lines(text)
            self._tail = b"\n"
            return
        cut = text.rfind(b"\n")  # >= 0: the tail starts with one
        if cut > 0:
            self._feed_lines(text[:cut])
        self._tail = text[cut:]

    def close(self) -> dict[bytes, int]:
        if self._growing:
            self._tail = b"".join([self._tail, *self._growing])
            self._growing = []
        if len(self._tail) > 1:
            self._feed_lines(self._tail)  # the last line had no newline
        self._tail = b"\n"
        self._open = []  # frames after the final count: the script drops them too
        return self.collapsed

    def _feed_lines(self, block: bytes) -> None:
        """``block``: whole lines, each after a newline (the block starts with one)."""
        pieces = _COUNT_LINE.split(block)
        # [before, count, between, count, between, ..., count, after]
        self._open.append(pieces[0])
        if len(pieces) == 1:
            return
        texts = pieces[2:-1:2]
        stacks = [self._fold(b"".join(self._open))]
        # in slices, so that stacks first seen early in the input are cache hits later on
        for at in range(0, len(texts), _SLICE):
            part = texts[at:at + _SLICE]
            found = list(map(self._stacks.get, part))
            if None in found:
                misses = [i for i, stack in enumerate(found) if stack is None]
                for i, stack in zip(misses, self._fold_many([part[i] for i in misses])):
                    found[i] = stack
            stacks += found
        self._open = [pieces[-1]]
        collapsed = self.collapsed
        get = collapsed.get
        try:
            counts = list(map(int, pieces[1::2]))
        except ValueError:
            counts = [decimal.Decimal(count.decode("ascii")) for count in pieces[1::2]]
        with decimal.localcontext(_EXACT):
            for stack, count in zip(stacks, counts):
                collapsed[stack] = get(stack, 0) + count

    def _fold_many(self, texts: list[bytes]) -> list[bytes]:
        """Stacks seen for the first time -> their folded form (and into the stack cache).

        All their lines are cut, looked up and reversed at once (C code over one list),
        so that what runs per stack is one slice and one join: in an aggregate's output
        every stack is new."""
        sizes = [text.count(b"\n") + 1 for text in texts]  # lines of each, as split() cuts them
        lines = b"\n".join(texts).split(b"\n")
        tokens = self._tokens_of(lines)
        tokens.reverse()  # the last stack first, each one root first
        ends = list(accumulate(reversed(sizes)))
        starts = [0, *ends[:-1]]
        join = b"".join
        stacks = [join(tokens[a:b])[1:] for a, b in zip(starts, ends)]  # every token starts with ";"
        stacks.reverse()
        cache = self._stacks
        for text, stack in zip(texts, stacks):
            if len(text) <= _CACHED_STACK_BYTES and len(cache) < _STACK_CACHE_LIMIT:
                cache[text] = stack
        return stacks

    def _fold(self, text: bytes) -> bytes:
        """One stack's lines (leaf first) -> ``root;...;leaf``."""
        lines = text.split(b"\n")
        tokens = list(map(self._frames.get, lines))
        _fill(tokens, lines, self._frame)
        tokens.reverse()
        return b"".join(tokens)[1:]  # every frame token starts with ";"

    def _tokens_of(self, lines: list[bytes]) -> list[bytes]:
        """The token of each line: cache hits, the misses cleaned all at once."""
        tokens = list(map(self._frames.get, lines))
        misses = tokens.count(None)
        if not misses:
            return tokens
        if misses * 4 >= len(tokens):  # mostly new lines: clean them all, in C loops
            tokens = _tokens(lines)
            self._remember(lines, tokens)
            return tokens
        at = [i for i, token in enumerate(tokens) if token is None]
        new_lines = [lines[i] for i in at]
        new_tokens = _tokens(new_lines)
        for i, token in zip(at, new_tokens):
            tokens[i] = token
        self._remember(new_lines, new_tokens)
        return tokens

    def _remember(self, lines: list[bytes], tokens: list[bytes]) -> None:
        if len(self._frames) + len(lines) > _LINE_CACHE_LIMIT:
            return
        pairs = zip(lines, tokens)
        if max(map(len, lines)) > _CACHED_LINE_BYTES:
            pairs = [(line, token) for line, token in pairs if len(line) <= _CACHED_LINE_BYTES]
        self._frames.update(pairs)

    def _frame(self, line: bytes) -> bytes:
        token = self._frames.get(line)
        if token is not None:
            return token
        token = _token(line)
        if len(line) <= _CACHED_LINE_BYTES and len(self._frames) < _LINE_CACHE_LIMIT:
            self._frames[line] = token
        return token


def collapse_lines(lines: Iterable[bytes], collapsed: dict[bytes, int] | None = None) -> dict[bytes, int]:
    """Fold lines (without their ``\\n``) into ``{stack: count}``."""
    folder = Folder(collapsed)
    folder.feed(b"\n".join(lines) + b"\n")
    return folder.close()


def collapse_bytes(data: bytes) -> dict[bytes, int]:
    folder = Folder()
    with gc_paused():
        folder.feed(data)
        return folder.close()


def format_folded(collapsed: dict[bytes, int]) -> bytes:
    keys = sorted(collapsed)  # the keys alone: sorting (key, count) pairs costs a third more
    try:
        return b"".join(map(b"%s %d\n".__mod__, zip(keys, map(collapsed.__getitem__, keys))))
    except ValueError:  # a total too long for int's str(): decimals print any length
        return b"".join(b"%s %s\n" % (key, str(decimal.Decimal(collapsed[key])).encode()) for key in keys)


def fold_bytes(data: bytes) -> bytes:
    """The whole transformation: stap output bytes -> folded output bytes."""
    return format_folded(collapse_bytes(data))


def fold_stream(stream: BinaryIO, chunk_size: int = 1 << 22) -> bytes:
    """Fold a binary stream read in chunks (lines may straddle chunks)."""
    folder = Folder()
    with gc_paused():
        while chunk := stream.read(chunk_size):
            folder.feed(chunk)
        return format_folded(folder.close())
