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

__all__ = ["dumps_event", "event_to_json", "frame_to_json", "value_to_json", "members_to_json"]

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


def dumps_event(event: Event, extra: dict[str, Any] | None = None) -> str:
    """One JSON Lines record (no newline), with ``extra`` fields added.  Readable UTF-8 where possible;
    a line holding undecodable bytes falls back to ASCII escapes so it stays valid JSON."""
    d = event_to_json(event)
    if extra:
        d.update(extra)
    text = json.dumps(d, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(d, ensure_ascii=True)
    return text
