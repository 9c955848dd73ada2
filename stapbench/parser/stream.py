"""The streaming parser: bytes in, :mod:`stapbench.model` events out.

``StreamParser.feed(data)`` accepts chunks split anywhere (mid-line, mid-UTF-8
character) and returns the events completed by that chunk; ``close()`` returns
the rest.  The parser never raises on input.  Lines are cut out of the bytes
and each complete line is decoded as UTF-8 with ``surrogateescape`` (a newline
never falls inside a UTF-8 sequence, so this is how a whole-stream decoder
reads them), so the ``raw`` of all events, joined and encoded back the same way,
is the input exactly, for every input whose lines fit the bound:

Memory stays bounded whatever arrives (``/dev/zero``, a probe that never prints
a newline): of a line longer than ``max_line`` bytes (its newline not counted;
1 MiB by default) only the first ``max_line`` bytes are kept, the line is
interpreted from those, its event's ``raw`` is them plus the line's newline, and
its ``cut_bytes`` counts the bytes dropped (summed over the lines of a
multi-line event).  The raw transcript a run writes to disk keeps every byte.

Why line-based: every stap format is line-oriented.  A line is only
interpreted once its ``\\n`` arrived (or at ``close()``), which is what makes the
result independent of how the input was chunked.  Multi-line constructs
(backtraces, diagnostic blocks, summaries) stay pending in :mod:`.lines` until a
line that does not continue them arrives; ``flush()`` lets a live runner emit a
pending construct after stap has gone quiet.
"""

from __future__ import annotations

from ..gcpause import gc_paused
from ..model import Event
from .lines import LineMachine
from .streams import STREAMS

__all__ = ["MAX_LINE_BYTES", "STREAMS", "StreamParser", "parse_bytes", "parse_text"]
#: the default bound on the bytes of one line the parser holds
MAX_LINE_BYTES = 1 << 20


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class StreamParser:
    """Incremental parser of one output stream of stap.

    ``stream``: ``"merged"`` (a transcript where stdout and stderr are mixed:
    everything is recognized), ``"stdout"`` (probe output: never diagnostics,
    pass lines or summaries, so a probe's ``printf("ERROR: ...")`` stays text)
    or ``"stderr"`` (stap's own messages).  ``max_line``: the most bytes of one
    line kept (see the module docstring).
    """

    __slots__ = ("stream", "max_line", "_held", "_held_bytes", "_cut", "_machine", "_closed")

    def __init__(self, stream: str = "merged", max_line: int = MAX_LINE_BYTES):
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {', '.join(STREAMS)}, not {stream!r}")
        if max_line < 1:
            raise ValueError(f"max_line must be at least 1, not {max_line}")
        self.stream = stream
        self.max_line = max_line
        # the start of the current unfinished line, as byte pieces joined only when its
        # newline arrives (so a long line fed in small chunks costs linear time), at most
        # max_line bytes of it; _cut counts what came after those
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._cut = 0
        self._machine = LineMachine(stream)
        self._closed = False

    @property
    def bpf_noise_lines(self) -> int:
        """How many lines so far had stap 4.8's BPF debug text (``cleanup.BPF_NOISE``) taken
        out of their ``text`` (their ``raw`` keeps it)."""
        return self._machine.bpf_noise_lines

    def feed(self, data: bytes) -> list[Event]:
        """Parse a chunk; return the events it completed (possibly none)."""
        if self._closed:
            raise ValueError("feed() after close()")
        end = data.rfind(b"\n")
        if end < 0:
            self._hold(data)
            return []
        tail = data[end + 1:]
        events: list[Event] = []
        start = 0
        if self._held or self._cut:
            first = data.find(b"\n")
            self._hold(data[:first])
            line, cut = self._take_held()
            if cut:
                events += self._machine.feed_cut_line(_decode(line), cut, True)
                start = first + 1
            else:
                # joined to the chunk's other lines: one batch, one decode
                data = line + data[first:end + 1]
                end = len(data) - 1
        if start <= end:  # else the chunk's only newline ended the held line
            with gc_paused():
                events += self._feed_block(data[start:end])
        self._hold(tail)
        return events

    def _feed_block(self, block: bytes) -> list[Event]:
        """Whole lines, without the last one's newline (``b""`` is one empty line)."""
        lines = _decode(block).split("\n")
        limit = self.max_line
        if len(block) <= limit or max(map(len, lines)) * 4 <= limit:
            # no line can be longer than the bound (a code point is at most 4 bytes)
            return self._machine.feed_lines(lines)
        events: list[Event] = []
        done = 0
        for i, line in enumerate(lines):
            if len(line) * 4 <= limit:
                continue
            encoded = line.encode("utf-8", "surrogateescape")
            if len(encoded) <= limit:
                continue
            events += self._machine.feed_lines(lines[done:i])
            events += self._machine.feed_cut_line(_decode(encoded[:limit]), len(encoded) - limit, True)
            done = i + 1
        events += self._machine.feed_lines(lines[done:])
        return events

    def _hold(self, piece: bytes) -> None:
        if not piece:
            return
        room = self.max_line - self._held_bytes
        if len(piece) > room:
            self._cut += len(piece) - room
            piece = piece[:room]
            if not piece:
                return
        self._held.append(piece)
        self._held_bytes += len(piece)

    def _take_held(self) -> tuple[bytes, int]:
        line, cut = b"".join(self._held), self._cut
        self._held, self._held_bytes, self._cut = [], 0, 0
        return line, cut

    def flush(self) -> list[Event]:
        """Emit a pending multi-line construct now (stap has been idle).

        A partial line (no newline yet) stays buffered: it may still grow.
        """
        return self._machine.flush()

    def close(self) -> list[Event]:
        """End of input: emit the last line (it has no newline) and anything pending."""
        if self._closed:
            return []
        self._closed = True
        events: list[Event] = []
        if self._held or self._cut:
            line, cut = self._take_held()
            events += self._machine.feed_cut_line(_decode(line), cut, False)
        events.extend(self._machine.flush())
        return events


def parse_bytes(data: bytes, stream: str = "merged", max_line: int = MAX_LINE_BYTES) -> list[Event]:
    """Parse a whole transcript at once (same events as feeding it in any chunks)."""
    parser = StreamParser(stream, max_line)
    events = parser.feed(data)
    events.extend(parser.close())
    return events


def parse_text(text: str, stream: str = "merged") -> list[Event]:
    """Parse already-decoded text (``surrogateescape`` code points allowed)."""
    return parse_bytes(text.encode("utf-8", "surrogateescape"), stream)
