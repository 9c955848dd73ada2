"""Events as JSON-ready dicts: the ``stapbench parse --json`` (JSON Lines) format.

One object per event with a ``type`` field; every object also carries
``stream`` and ``raw`` (the exact text, so a consumer can always show what
stap printed).  Values follow issue 2 item 4:

* a struct becomes an object keyed by member name without the dot; an
  anonymous member keeps stap's label (``<union>``); a label repeated in one
  struct (two anonymous unions) gets `` #2``, `` #3``... appended so no member
  is lost; stap's own ``...`` (over 32 members) becomes the key ``"..."``;
* an array becomes a list; ``[first, ...]`` ends with the string ``"..."``;
* a decimal number becomes an integer; every other token (hex, quoted strings
  and chars with their quotes, ``{...}``, ``[...]``, ``?``, ``ERROR``) stays
  the exact string stap printed;
* a dump cut at MAXSTRINGLEN has ``"truncated": true`` (its open structs are
  simply shorter).

Text holding bytes that are not UTF-8 carries them as lone surrogates
(``surrogateescape``); :func:`dumps_event` writes those as ``\\udcXX`` escapes.
"""

from __future__ import annotations

import json
from typing import Any

from .events import (
    Backtrace, Diagnostic, Event, Frame, Listing, PassLine, StructDump, Summary, TextLine, VarsDump,
)
from .numbers import decimal_or_none
from .values import Array, Atom, Member, Struct, Value

__all__ = ["dumps_event", "json_lines", "event_to_json", "frame_to_json", "value_to_json", "members_to_json"]

ELLIPSIS = "..."


def value_to_json(value: Value) -> Any:
    if isinstance(value, Atom):
        if value.kind == "int":
            number = decimal_or_none(value.text)
            return value.text if number is None else number
        return value.text
    if isinstance(value, Struct):
        obj = members_to_json(value.members)
        if value.more:
            obj[ELLIPSIS] = ELLIPSIS
        return obj
    if isinstance(value, Array):
        items = [value_to_json(v) for v in value.items]
        if value.more:
            items.append(ELLIPSIS)
        return items
    raise TypeError(f"not a stap value: {value!r}")


def members_to_json(members: list[Member]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    # the last number given to each repeated label: looking for the first free " #n" from 2
    # each time made k repeats of one label cost k*k/2 lookups
    numbered: dict[str, int] = {}
    for member in members:
        key = member.name
        if key in obj:
            n = numbered.get(key, 1) + 1
            while f"{key} #{n}" in obj:  # only a label that itself looks like "x #2" is taken
                n += 1
            numbered[key] = n
            key = f"{key} #{n}"
        obj[key] = value_to_json(member.value)
    return obj


def frame_to_json(frame: Frame) -> dict[str, Any]:
    return {
        "address": frame.address, "symbol": frame.symbol, "offset": frame.offset,
        "size": frame.size, "module": frame.module, "inexact": frame.inexact,
        "role": frame.role, "file": frame.file, "line": frame.line,
    }


def event_to_json(event: Event) -> dict[str, Any]:
    """The JSON object for one event (see the module docstring)."""
    d: dict[str, Any] = {"type": event.type}
    if isinstance(event, TextLine):
        d["text"] = event.text
    elif isinstance(event, Backtrace):
        d["style"] = event.style
        d["frames"] = [frame_to_json(f) for f in event.frames]
        d["note"] = event.note
    elif isinstance(event, StructDump):
        d["prefix"] = event.prefix
        d["value"] = value_to_json(event.value)
        d["truncated"] = event.truncated
    elif isinstance(event, VarsDump):
        d["prefix"] = event.prefix
        d["value"] = members_to_json(event.value)
        d["truncated"] = event.truncated
    elif isinstance(event, Diagnostic):
        d.update(
            severity=event.severity, kind=event.kind, message=event.message,
            file=event.file, line=event.line, column=event.column, source=event.source,
            similar=list(event.similar), token_kind=event.token_kind, token=event.token,
            caret_column=event.caret_column, man=list(event.man), tips=list(event.tips),
            details=list(event.details), pass_number=event.pass_number,
        )
    elif isinstance(event, Listing):
        d.update(
            probe=event.probe, function=event.function, file=event.file, line=event.line,
            params=[{"name": p.name, "type": p.type} for p in event.params], pc=event.pc,
        )
    elif isinstance(event, PassLine):
        d.update(number=event.number, text=event.text, cached=event.cached, real_ms=event.real_ms)
    elif isinstance(event, Summary):
        d.update(
            errors=event.errors, skipped=event.skipped,
            skipped_reasons=dict(event.skipped_reasons), staprun_status=event.staprun_status,
        )
    d["stream"] = event.stream
    if event.host is not None:
        d["host"] = event.host
    d["cut_bytes"] = event.cut_bytes
    if event.time is not None:
        d["time"] = event.time
    d["raw"] = event.raw
    return d


def _dumps_dict(event: Event, extra: dict[str, Any] | None = None) -> str:
    d = event_to_json(event)
    if extra:
        d.update(extra)
    text = json.dumps(d, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(d, ensure_ascii=True)
    return text


def dumps_event(event: Event, extra: dict[str, Any] | None = None) -> str:
    """One JSON Lines record (no newline), with ``extra`` fields added.  Readable UTF-8 where possible;
    a line holding undecodable bytes falls back to ASCII escapes so it stays valid JSON."""
    if extra:
        return _dumps_dict(event, extra)
    return json_lines([event])[:-1].decode("utf-8")


class _Writer:
    """``json.dumps(event_to_json(event), ensure_ascii=False)``, faster for the events
    that make up the bulk of a profile: text lines, backtraces and their frames are
    written as strings (C's ``encode_basestring`` for each text) instead of dicts, and
    each frame's JSON is made once per Frame object (the parser shares one object
    among identical frame lines), and each stack's once per sequence of such objects.
    The test suite holds the result to the dict route."""

    __slots__ = ("frame_json", "frames", "stacks", "backtraces", "backtrace_chars")

    #: frames whose JSON is kept, and backtraces; each cache is dropped when full
    FRAME_LIMIT = 1 << 16
    STACK_LIMIT = 1 << 13
    #: the backtraces' JSON kept, in characters (a profile's distinct stacks: thousands of a few kB)
    BACKTRACE_CHARS = 32 << 20

    def __init__(self) -> None:
        self.frame_json: dict[int, str] = {}  # id(frame) -> its JSON
        self.frames: dict[int, Frame] = {}  # the frames themselves, so that each id stays its own
        # the ids of a backtrace's frames -> the JSON of them all: a profile prints its hot stacks
        # over and over (each id is of a frame kept in self.frames; both are dropped together)
        self.stacks: dict[tuple[int, ...], str] = {}
        # a backtrace's raw text -> (style, note, frame count, its JSON up to its "note", its raw as
        # JSON): what the parser makes of a backtrace depends on its text alone, so a profile's
        # hot stacks, printed over and over, are written once (hashing the text costs far less
        # than encoding its frames and itself again)
        self.backtraces: dict[str, tuple] = {}
        self.backtrace_chars = 0

    def _tail(self, event: Event, raw: str | None = None) -> str:
        """The fields after an event's own: stream, host, cut_bytes, time, raw; ``raw``: the raw
        text already as JSON, where the caller has it."""
        host = "" if event.host is None else f', "host": {_string(event.host)}'
        time = "" if event.time is None else f', "time": {json.dumps(event.time)}'
        return (f', "stream": {_string(event.stream)}{host}, "cut_bytes": {event.cut_bytes}{time}, '
                f'"raw": {_string(event.raw) if raw is None else raw}}}')

    def _frames(self, frames: list[Frame]) -> str:
        ids = tuple(map(id, frames))
        text = self.stacks.get(ids)
        if text is not None:
            return text
        parts = list(map(self.frame_json.get, ids))
        if None in parts:
            if len(self.frame_json) + len(frames) > self.FRAME_LIMIT:
                self.frame_json.clear()
                self.frames.clear()
                self.stacks.clear()
                parts = [None] * len(parts)  # this stack's frames are all kept again
            for i, part in enumerate(parts):
                if part is None:
                    parts[i] = self.frame_json[ids[i]] = _frame_json(frames[i])
                    self.frames[ids[i]] = frames[i]
        text = ", ".join(parts)
        if len(self.stacks) >= self.STACK_LIMIT:
            self.stacks.clear()
        self.stacks[ids] = text
        return text

    def _backtrace(self, event: Backtrace) -> str:
        raw = event.raw
        known = self.backtraces.get(raw)
        frames = event.frames
        # the parser makes a backtrace's frames from its lines' text alone (no state carried
        # from earlier lines), so the same text, style and count mean the same frames
        if known is None or known[0] != event.style or known[1] != event.note or known[2] != len(frames):
            note = "null" if event.note is None else _string(event.note)
            head = (f'{{"type": "backtrace", "style": {_string(event.style)}, "frames": [{self._frames(event.frames)}], '
                    f'"note": {note}')
            known = (event.style, event.note, len(frames), head, _string(raw))
            size = len(raw) + len(head) + len(known[4])
            if self.backtrace_chars + size > self.BACKTRACE_CHARS:
                self.backtraces.clear()
                self.backtrace_chars = 0
            self.backtraces[raw] = known
            self.backtrace_chars += size
        return known[3] + self._tail(event, known[4])

    def dumps(self, event: Event) -> str:
        cls = event.__class__
        if cls is TextLine:
            text = _string(event.text)
            # the common line: its raw is its text and a newline, so one encoding makes both
            raw = text[:-1] + '\\n"' if event.raw == event.text + "\n" else None
            return '{"type": "text", "text": ' + text + self._tail(event, raw)
        if cls is Backtrace:
            return self._backtrace(event)
        return json.dumps(event_to_json(event), ensure_ascii=False)


def _frame_json(frame: Frame) -> str:
    """``json.dumps(frame_to_json(frame), ensure_ascii=False)``, without building the dict."""
    def number(n: int | None) -> str:
        return "null" if n is None else str(n)

    def string(t: str | None) -> str:
        return "null" if t is None else _string(t)

    return (f'{{"address": {number(frame.address)}, "symbol": {string(frame.symbol)}, '
            f'"offset": {number(frame.offset)}, "size": {number(frame.size)}, "module": {string(frame.module)}, '
            f'"inexact": {"true" if frame.inexact else "false"}, "role": {_string(frame.role)}, '
            f'"file": {string(frame.file)}, "line": {number(frame.line)}}}')


_string = json.encoder.encode_basestring  # C: a JSON string literal, non-ASCII kept as is
_WRITER = _Writer()


def json_lines(events: list[Event]) -> bytes:
    """The JSON Lines records of ``events``, each ended by a newline, as UTF-8: the
    same text as ``dumps_event`` of each, made in one go."""
    if not events:
        return b""
    text = "\n".join(map(_WRITER.dumps, events))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes somewhere: those records fall back to ASCII
        return "".join(_dumps_dict(e) + "\n" for e in events).encode("utf-8")
