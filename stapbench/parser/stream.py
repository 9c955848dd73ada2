"""The streaming parser: bytes in, :mod:`stapbench.model` events out.

``StreamParser.feed(data)`` accepts chunks split anywhere (mid-line, mid-UTF-8
character) and returns the events completed by that chunk; ``close()`` returns
the rest.  The parser never raises on input and never drops a byte: the text is
decoded incrementally as UTF-8 with ``surrogateescape``, so the ``raw`` of all
events, joined and encoded back the same way, is the input exactly.

Why line-based: every stap format is line-oriented.  A line is only
interpreted once its ``\\n`` arrived (or at ``close()``), which is what makes the
result independent of how the input was chunked.  Multi-line constructs
(backtraces, diagnostic blocks, summaries) stay pending in :mod:`.lines` until a
line that does not continue them arrives; ``flush()`` lets a live runner emit a
pending construct after stap has gone quiet.
"""

from __future__ import annotations

import codecs
from ..gcpause import gc_paused
from ..model import Event
from .lines import LineMachine

STREAMS = ("merged", "stdout", "stderr")


class StreamParser:
    """Incremental parser of one output stream of stap.

    ``stream``: ``"merged"`` (a transcript where stdout and stderr are mixed:
    everything is recognized), ``"stdout"`` (probe output: never diagnostics,
    pass lines or summaries, so a probe's ``printf("ERROR: ...")`` stays text)
    or ``"stderr"`` (stap's own messages).
    """

    __slots__ = ("stream", "_decoder", "_partial", "_machine", "_closed")

    def __init__(self, stream: str = "merged"):
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {', '.join(STREAMS)}, not {stream!r}")
        self.stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        # pieces of the current unfinished line; joined only when its newline arrives,
        # so a 10 MB line fed in small chunks costs linear time
        self._partial: list[str] = []
        self._machine = LineMachine(stream)
        self._closed = False

    @property
    def bpf_noise_lines(self) -> int:
        """How many lines so far had stap 4.8's BPF debug text (``lines.BPF_NOISE``) taken
        out of their ``text`` (their ``raw`` keeps it)."""
        return self._machine.bpf_noise_lines

    def feed(self, data: bytes) -> list[Event]:
        """Parse a chunk; return the events it completed (possibly none)."""
        if self._closed:
            raise ValueError("feed() after close()")
        text = self._decoder.decode(data, False)
        if not text:
            return []
        if "\n" not in text:
            self._partial.append(text)
            return []
        lines = text.split("\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        last = lines.pop()
        if last:
            self._partial.append(last)
        with gc_paused():
            return self._machine.feed_lines(lines)

    def flush(self) -> list[Event]:
        """Emit a pending multi-line construct now (stap has been idle).

        A partial line (no newline yet) stays buffered: it may still grow.
        """
        return self._machine.flush()

    def close(self) -> list[Event]:
        """End of input: decode what is left, emit the last line and anything pending."""
        if self._closed:
            return []
        self._closed = True
        text = self._decoder.decode(b"", True)
        events: list[Event] = []
        if text:
            lines = text.split("\n")
            if self._partial:
                self._partial.append(lines[0])
                lines[0] = "".join(self._partial)
                self._partial = []
            last = lines.pop()
            if lines:
                events.extend(self._machine.feed_lines(lines))
            if last:
                self._partial.append(last)
        if self._partial:
            tail = "".join(self._partial)
            self._partial = []
            events.extend(self._machine.feed_last(tail))
        events.extend(self._machine.flush())
        return events


def parse_bytes(data: bytes, stream: str = "merged") -> list[Event]:
    """Parse a whole transcript at once (same events as feeding it in any chunks)."""
    parser = StreamParser(stream)
    events = parser.feed(data)
    events.extend(parser.close())
    return events


def parse_text(text: str, stream: str = "merged") -> list[Event]:
    """Parse already-decoded text (``surrogateescape`` code points allowed)."""
    return parse_bytes(text.encode("utf-8", "surrogateescape"), stream)
