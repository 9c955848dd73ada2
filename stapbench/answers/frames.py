"""``run.to_dataframe()``: one row per event, with the fields of its printf line.

Columns: ``time`` (seconds into the run, see :attr:`stapbench.model.Event.time`),
``probe`` (a hit's probe name, as the event log counts it), ``host``, ``pid`` and
``tid`` (where the line printed them: ``pid=123``, ``tid:7``, or ``name[123]`` as
``execname()."[".pid()."]"`` gives), ``type``, ``stream``, ``text``, then one
column per ``key=value`` / ``key:value`` field of the printf lines
(``Close conn 12 (fd:17) destroyed:1`` gives ``fd=17``, ``destroyed=1``).
A printf line holding a quoted string (``uri="/a"``) parses as a ``$$vars``
list (:class:`~stapbench.model.VarsDump`); its row is the same as a text line's.
Numbers become ints (decimal or ``0x`` hex) or floats; everything else stays
the exact string printed (quoted strings lose their quotes).

pandas is optional (``pip install 'stapbench[frames]'``): :func:`event_rows`
gives the same rows as dicts without it.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..model import Backtrace, Diagnostic, Event, StructDump, TextLine, VarsDump
from ..views.grouping import Grouper, text_key

__all__ = ["BASE_COLUMNS", "event_rows", "printf_fields", "to_dataframe"]

BASE_COLUMNS = ["time", "probe", "host", "pid", "tid", "type", "stream", "text"]
MAX_FIELDS = 64  # per line: a line of a thousand a=b pairs makes no table
_FIELD = re.compile(r"(?<![\w.\-])([A-Za-z_][\w.]*)[=:](\"(?:[^\"\\]|\\.)*\"|[^\s,;()\[\]{}\"=]+)")
_BRACKET_PID = re.compile(r"(?<![\w\-])[\w.\-:/]+\[([0-9]+)\]")
_INT = re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)\Z")
_FLOAT = re.compile(r"[-+]?[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")


def _value(text: str):
    if _INT.match(text):
        return int(text, 0)
    if _FLOAT.match(text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def printf_fields(text: str) -> dict[str, object]:
    """The ``key=value`` and ``key:value`` pairs of a line (the first of a repeated key wins)."""
    fields: dict[str, object] = {}
    if "=" not in text and ":" not in text:
        return fields
    for m in _FIELD.finditer(text):
        key, raw = m.groups()
        if raw.startswith("//"):  # a URL's scheme, not a field
            continue
        if key not in fields:
            fields[key] = _value(raw)
            if len(fields) >= MAX_FIELDS:
                break
    return fields


def _head_text(event: Event) -> str:
    if isinstance(event, TextLine):
        return event.text
    if isinstance(event, Diagnostic):
        return event.message
    if isinstance(event, Backtrace):
        return "\n".join(f.text.strip() for f in event.frames) or (event.note or "")
    if isinstance(event, (StructDump, VarsDump)):
        return event.raw.rstrip("\r\n")
    return event.raw.rstrip("\r\n")


def _own_probe(event: Event) -> bool:
    """A printf line with a quoted string parses as a $$vars list, which the grouping joins
    to the hit before it: such a line is a hit of its own probe."""
    return isinstance(event, VarsDump) and event.stream != "stderr" and bool(event.prefix.strip())


def probe_hits(events: Iterable[Event]):
    """``(event, probe)`` for the first event of every probe hit (see :func:`_own_probe`)."""
    grouper = Grouper()
    for event in events:
        group, new = grouper.feed(event)
        if _own_probe(event):
            yield event, text_key(event.raw)
        elif new and group.is_hit:
            yield event, group.key


def event_rows(events: Iterable[Event]) -> list[dict]:
    """One dict per event (see the module doc); fields only for stdout text lines."""
    grouper = Grouper()
    rows = []
    for event in events:
        group, _new = grouper.feed(event)
        row = {"time": event.time, "probe": group.key if group.is_hit else None, "host": event.host,
               "pid": None, "tid": None, "type": event.type, "stream": event.stream, "text": _head_text(event)}
        # a printf line holding a quoted string has a $$vars list's shape: a line all the same
        if isinstance(event, (TextLine, VarsDump)) and event.stream != "stderr":
            line = row["text"]
            if _own_probe(event):
                row["probe"] = text_key(line)
            fields = printf_fields(line)
            if "pid" not in fields:
                bracket = _BRACKET_PID.search(line)
                if bracket:
                    row["pid"] = int(bracket.group(1))
            for key, value in fields.items():
                if key in ("pid", "tid"):
                    row[key] = value
                elif key in row:
                    row[f"field_{key}"] = value  # never overwrite a base column
                else:
                    row[key] = value
        rows.append(row)
    return rows


def to_dataframe(events: Iterable[Event]):
    """A pandas DataFrame of :func:`event_rows` (the base columns first)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframe() needs pandas, an optional extra of stapbench: "
                          "pip install 'stapbench[frames]' (or pip install pandas)") from None
    rows = event_rows(events)
    frame = pd.DataFrame.from_records(rows)
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    extra = [c for c in frame.columns if c not in BASE_COLUMNS]
    return frame[BASE_COLUMNS + extra]
