"""The line state machine: one complete line at a time -> events.

Each line is interpreted after four clean-ups that never touch ``raw``: a
trailing ``\\r`` is dropped, ANSI SGR colour codes are removed, a leading
``^C`` (the terminal's echo of Ctrl-C, glued to the next output line) is
removed, and so is stap 4.8's BPF debug text (:data:`BPF_NOISE`).
``TextLine.text`` is that interpreted text.

Dispatch is by the first character, so ordinary printf output costs a few
substring tests.  Multi-line constructs (backtraces, diagnostic blocks,
summaries) become the ``pending`` builder; the next line either continues it
(``offer`` returns True) or finishes it.
"""

from __future__ import annotations

from ..model import Backtrace, Diagnostic, Event, PassLine, TextLine
from .backtrace import RETURNING_FROM, RETURNING_TO, FrameCache, parse_hex_list
from .cleanup import BPF_NOISE, interpret
from .diagnostics import FileMemory, classify_stap_line
from .dumps import match_struct_line, match_vars_line
from .listing import match_listing_line

__all__ = ["BPF_NOISE", "LineMachine"]

_NO_BACKTRACE = ("<no user backtrace", "<no kernel backtrace")


def _frame_style(frame, simple: bool) -> str:
    """The style one frame implies; a backtrace takes "syms"/"simple" once any frame does."""
    if simple:
        return "brief" if frame.module is None and frame.symbol is not None else "simple"
    return "syms" if frame.symbol is None and " : 0x" in frame.text else "full"


class BacktraceBuilder:
    """Consecutive frame lines of one family (FULL/DATA, or SIMPLE/BRIEF).

    Keeps the lines without their ``\\n`` (``bodies``); only the input's very
    last line can lack it (``newline`` False), and nothing follows that one.
    ``style`` is kept up to date as frames arrive; the hot loop in
    :meth:`LineMachine.feed_lines` only appends frames that cannot change it.
    """

    __slots__ = ("simple", "frames", "bodies", "newline", "cache", "style", "cut_bytes")

    def __init__(self, simple: bool, frame, raw: str, cache: FrameCache, newline: bool | None = None):
        """``raw`` is the first line with its ``\\n``, or without it when ``newline``
        is given (the hot loop passes the bare line and ``newline=True``)."""
        self.simple = simple
        self.frames = [frame]
        if newline is None:
            newline = raw[-1:] == "\n"
            if newline:
                raw = raw[:-1]
        self.newline = newline
        self.bodies = [raw]
        self.cache = cache
        self.style = _frame_style(frame, simple)
        self.cut_bytes = 0

    def offer(self, text: str, raw: str) -> bool:
        if self.simple:
            frame = self.cache.simple(text, True)
        else:
            c = text[:1]
            if c == " " or c == "\t":
                frame = self.cache.full(text)
            elif c == "R" and text.startswith(RETURNING_TO) and len(self.frames) == 1 \
                    and self.frames[0].role == "returning_from":
                frame = self.cache.full(text)
            else:
                return False
        if frame is None:
            return False
        self.frames.append(frame)
        self.newline = raw[-1:] == "\n"
        self.bodies.append(raw[:-1] if self.newline else raw)
        if self.style == "full" or self.style == "brief":
            self.style = _frame_style(frame, self.simple)
        return True

    def continuation(self) -> dict:
        """The cache whose hits may be appended without going through offer()."""
        cache = self.cache
        if not self.simple:
            return cache.plain_full_frames
        return cache.brief_frames if self.style == "brief" else cache.simple_frames

    def finish(self, stream: str) -> Backtrace:
        bodies = self.bodies
        if self.newline:
            bodies.append("")  # so the join ends with the last line's newline
        return Backtrace(raw="\n".join(bodies), stream=stream, frames=self.frames, style=self.style,
                         cut_bytes=self.cut_bytes)


class LineMachine:
    """Turns complete lines into events; see the module docstring."""

    __slots__ = ("stream", "stap", "pending", "files", "frames", "bpf_noise_lines")

    def __init__(self, stream: str):
        self.stream = stream
        # stap's own messages only come on stderr; on stdout they are probe text
        self.stap = stream != "stdout"
        self.pending = None
        self.files = FileMemory()
        self.frames = FrameCache()
        self.bpf_noise_lines = 0  # lines BPF_NOISE was removed from

    def feed_lines(self, lines: list[str]) -> list[Event]:
        """``lines`` are complete lines without their ``\\n``.

        Fast paths, all equivalent to the general path in :meth:`_line`: frame
        lines seen before (a cache key is interpreted text, so an exact hit on
        the raw line means it needed no clean-up), empty lines and count lines.
        FULL frames (the bulk of a profile) are looked up for the whole batch at
        once (``map`` runs in C), and a run of consecutive hits joins the
        pending backtrace as two list slices; SIMPLE/BRIEF frames are looked up
        line by line.
        """
        out: list[Event] = []
        line = self._line
        cache = self.frames
        plain_full = cache.plain_full_frames
        simple_get = cache.simple_frames.get
        stream = self.stream
        n = len(lines)
        full_hits = list(map(plain_full.get, lines))
        # 1 where a line is a cached FULL frame: bytes.find locates the end of a run
        # in C (list.index(None) would call the dataclass __eq__ on every frame)
        hit_flags = bytes(map(bool, full_hits))
        pending = self.pending
        # how the pending backtrace continues: runs of full_hits, or one lookup per line
        runs = cont_get = None
        if pending.__class__ is BacktraceBuilder:
            runs, cont_get = self._continuation(pending, full_hits)
        i = 0
        while i < n:
            if runs is not None:
                if runs[i] is not None:
                    j = hit_flags.find(0, i)
                    if j < 0:
                        j = n
                    pending.frames += runs[i:j]
                    pending.bodies += lines[i:j]
                    i = j
                    continue
            elif cont_get is not None:
                frame = cont_get(lines[i])
                if frame is not None:
                    pending.frames.append(frame)
                    pending.bodies.append(lines[i])
                    i += 1
                    continue
            elif pending is None:
                frame = full_hits[i]
                simple = False
                if frame is None:
                    frame = simple_get(lines[i])
                    simple = True
                if frame is not None:
                    self.pending = pending = BacktraceBuilder(simple, frame, lines[i], cache, True)
                    runs, cont_get = self._continuation(pending, full_hits)
                    i += 1
                    continue
            body = lines[i]
            i += 1
            if pending is None or pending.__class__ is BacktraceBuilder:
                # nothing else takes an empty line or one holding only a number
                # (a profile's count line): they end a backtrace and are text
                if not body or (body[-1].isdigit() and body.strip().isdigit()):
                    if pending is not None:
                        out.append(pending.finish(stream))
                        self.pending = pending = None
                        runs = cont_get = None
                    out.append(TextLine(raw=body + "\n", stream=stream, text=body))
                    continue
            line(body, body + "\n", out)
            pending = self.pending
            if pending.__class__ is BacktraceBuilder:
                # a new backtrace, or offer() took a frame that may have changed the style
                runs, cont_get = self._continuation(pending, full_hits)
            else:
                runs = cont_get = None
        return out

    def _continuation(self, builder: BacktraceBuilder, full_hits: list):
        """(runs, None) for a FULL backtrace, (None, lookup) for a SIMPLE/BRIEF one."""
        if builder.simple:
            return None, builder.continuation().get
        return full_hits, None

    def feed_cut_line(self, body: str, cut: int, newline: bool) -> list[Event]:
        """One line outside the batches: cut to the parser's bound (``cut`` bytes dropped
        after ``body``), or the input's last line (``newline`` False)."""
        out: list[Event] = []
        self._line(body, body + "\n" if newline else body, out, cut)
        return out

    def flush(self) -> list[Event]:
        pending = self.pending
        if pending is None:
            return []
        self.pending = None
        return [pending.finish(self.stream)]

    def _line(self, body: str, raw: str, out: list, cut: int = 0) -> None:
        text, noisy = interpret(body)
        if noisy:
            self.bpf_noise_lines += 1
        pending = self.pending
        if pending is not None:
            if pending.offer(text, raw):
                pending.cut_bytes += cut
                return
            out.append(pending.finish(self.stream))
            self.pending = None
        self._classify(text, raw, out)
        if cut:  # _classify made exactly one event, or the builder of one
            (self.pending or out[-1]).cut_bytes += cut

    def _classify(self, text: str, raw: str, out: list) -> None:
        stream = self.stream
        c = text[:1]
        if c == " " or c == "\t":
            frame = self.frames.full(text)
            if frame is not None:
                self.pending = BacktraceBuilder(False, frame, raw, self.frames)
                return
        elif c == "0":
            frames = parse_hex_list(text)
            if frames is not None:
                out.append(Backtrace(raw=raw, stream=stream, frames=frames, style="hex"))
                return
        elif c == "R":
            if text.startswith((RETURNING_FROM, RETURNING_TO)):
                frame = self.frames.full(text)
                if frame is not None:
                    self.pending = BacktraceBuilder(False, frame, raw, self.frames)
                    return
        elif c == "<":
            if text.startswith(_NO_BACKTRACE) and text.endswith(">"):
                out.append(Backtrace(raw=raw, stream=stream, frames=[], note=text))
                return
        elif c == "":
            out.append(TextLine(raw=raw, stream=stream, text=text))
            return
        if self.stap:
            found = classify_stap_line(text, raw, self.files)
            if found is not None:
                if type(found) is tuple:
                    _, number, rest, ms = found
                    out.append(PassLine(raw=raw, stream=stream, number=number, text=rest,
                                        cached=rest.startswith("using cached "), real_ms=ms))
                elif type(found) is Diagnostic:
                    found.stream = stream
                    out.append(found)
                else:
                    self.pending = found
                return
        if "+0x" in text:
            frame = self.frames.simple(text)
            if frame is not None:
                self.pending = BacktraceBuilder(True, frame, raw, self.frames)
                return
        if "(" in text or ":" in text:
            listing = match_listing_line(text, raw, stream)
            if listing is not None:
                out.append(listing)
                return
        if "=" in text:
            dump = match_vars_line(text, raw, stream)
            if dump is not None:
                out.append(dump)
                return
        if "{" in text:
            dump = match_struct_line(text, raw, stream)
            if dump is not None:
                out.append(dump)
                return
        out.append(TextLine(raw=raw, stream=stream, text=text))
