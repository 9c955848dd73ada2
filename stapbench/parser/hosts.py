"""One stdout per host: undo stap's ``--remote-prefix``.

With several ``--remote`` targets and ``--remote-prefix``, stap writes each
target's stdout to its own stdout line by line, every line led by the
target's index and ``": "`` (remote.cxx, ``printout``): ``0: hit 1\\n1: hit 1\\n``.
Two quirks of that code decide the rules here.  When a target's data arrives
while another target's line is still open, stap first ends that line with a
``\\n`` of its own (and, since it updates its state only after a whole block,
writes one more ``\\n`` before each further line of that block); and when a
block continues its own target's open line, the block's later lines get no
prefix at all.  So a line without a prefix belongs to the host of the line
before it (``None`` before any prefixed line: stap's own stdout), and the only
bytes a split stream can gain are those line ends of stap's: a line interrupted
mid-way shows as two lines, and an empty line may appear, as on stap's own
terminal.  stderr is never prefixed.

:class:`HostSplitter` does the split on a stream fed in chunks cut anywhere:
``feed(bytes)`` returns ``(host, bytes)`` pieces, host an ``int`` index (or
``None``).  It is pure and streaming, holds at most one line prefix (a few
bytes) between calls, and loses nothing but the prefixes: joining every piece
with its prefix put back at each prefixed line's start gives the input again.
"""

from __future__ import annotations

__all__ = ["HostSplitter", "split_hosts"]

#: a prefix is digits then ": "; longer digit runs are no index stap would print
MAX_INDEX_DIGITS = 6


class HostSplitter:
    """Splits ``--remote-prefix`` output into per-host byte pieces (see the module doc)."""

    __slots__ = ("_host", "_at_line_start", "_held")

    def __init__(self) -> None:
        self._host: int | None = None  # the host of the line being passed on
        self._at_line_start = True
        self._held = b""  # the start of a line that may still be a prefix

    def feed(self, data: bytes) -> list[tuple[int | None, bytes]]:
        out: list[tuple[int | None, list[bytes]]] = []
        if self._held:
            data, self._held = self._held + data, b""
        pos, end = 0, len(data)
        while pos < end:
            if self._at_line_start:
                host, after = _prefix_at(data, pos)
                if host == "partial":
                    self._held = data[pos:]
                    break
                if host is not None:
                    self._host = host
                self._at_line_start = False
                pos = after
                if pos >= end:
                    break
            nl = data.find(b"\n", pos)
            stop = end if nl < 0 else nl + 1
            if out and out[-1][0] == self._host:
                out[-1][1].append(data[pos:stop])
            else:
                out.append((self._host, [data[pos:stop]]))
            if nl >= 0:
                self._at_line_start = True
            pos = stop
        return [(host, b"".join(pieces)) for host, pieces in out]

    def close(self) -> list[tuple[int | None, bytes]]:
        """End of input: a held start of line that never became a prefix is an unprefixed line."""
        held, self._held = self._held, b""
        return [(None, held)] if held else []


def _prefix_at(data: bytes, pos: int):
    """(index, position after the prefix) if ``data[pos:]`` starts with ``N: ``;
    (None, pos) if it does not; ("partial", pos) if the bytes so far could still be one."""
    i, end = pos, len(data)
    while i < end and 0x30 <= data[i] <= 0x39 and i - pos < MAX_INDEX_DIGITS:
        i += 1
    digits = i - pos
    if i == end:
        return ("partial", pos) if digits < MAX_INDEX_DIGITS else (None, pos)
    if digits == 0 or data[i] != 0x3A:  # ':'
        return None, pos
    if i + 1 == end:
        return "partial", pos
    if data[i + 1] != 0x20:
        return None, pos
    return int(data[pos:i]), i + 2


def split_hosts(data: bytes) -> dict[int | None, bytes]:
    """The whole of a prefixed stdout, split: host -> its bytes."""
    splitter = HostSplitter()
    streams: dict[int | None, list[bytes]] = {}
    for host, piece in splitter.feed(data) + splitter.close():
        streams.setdefault(host, []).append(piece)
    return {host: b"".join(pieces) for host, pieces in streams.items()}
