"""The events a stap run produces, as plain dataclasses.

Every event keeps ``raw``: the exact text it was parsed from, line endings
included.  Joining the ``raw`` of all events of a stream gives back the stream
byte for byte (text is decoded as UTF-8 with ``surrogateescape``, so invalid
bytes survive the round trip: ``"".join(e.raw for e in events).encode("utf-8",
"surrogateescape") == data``).

``stream`` says where the text came from: ``"stdout"`` (probe output and
listings), ``"stderr"`` (stap's own messages) or ``"merged"`` (a transcript
where the two were already mixed, e.g. a file given to ``stapbench parse``).
``host`` names the remote target a line of a several-host run came from (the
runner sets it; None for a run on one machine, and for stap's own stderr).

A line longer than the parser's bound (1 MiB by default) keeps only its first
bytes in ``raw``; ``cut_bytes`` counts the bytes dropped after them (0 when
nothing was cut), so the rebuild is exact for every input whose lines fit.

Numbers parsed from the text are ints; one too long to convert (over 4,300
digits, :mod:`.numbers`) is None, its text still in ``raw``.

Layers: this module imports nothing from stapbench; the parser builds these,
the views and magics read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .values import Struct, Member


@dataclass(kw_only=True, slots=True)
class Event:
    raw: str
    stream: str = "merged"
    host: str | None = None
    #: bytes of over-long lines the parser dropped from ``raw`` (see StreamParser's max_line)
    cut_bytes: int = 0
    #: seconds from the start of the run's transcript to the arrival of the bytes that completed
    #: the event (index.jsonl's ``t``: the runner sets it, live and in a replay alike; None elsewhere)
    time: float | None = None
    #: the event's JSON ``type`` field; each subclass sets it
    type: ClassVar[str] = "event"


@dataclass(kw_only=True, slots=True)
class TextLine(Event):
    """A line that is nothing more specific: usually a probe's printf output."""

    type: ClassVar[str] = "text"
    text: str  # the line without its line ending


@dataclass(kw_only=True, slots=True)
class Frame:
    """One backtrace line.

    ``role`` is ``"frame"`` for an ordinary frame, ``"returning_from"`` /
    ``"returning_to"`` for the two leading lines of a return probe's backtrace.
    Absent parts are None.  ``file``/``line`` come from the ``*_fileline``
    (FULLER) format when stap printed them; the symbols layer fills them in
    otherwise, on its own objects, never by mutating the parsed frame.
    """

    address: int | None
    symbol: str | None = None
    offset: int | None = None
    size: int | None = None
    module: str | None = None
    inexact: bool = False
    role: str = "frame"
    file: str | None = None
    line: int | None = None
    text: str = ""  # the frame's line, without line ending


@dataclass(kw_only=True, slots=True)
class Backtrace(Event):
    """Consecutive frame lines (print_[u]backtrace, print_[u]syms, sprint_*, ...).

    ``style``: ``"full"`` (`` 0x.. : sym+0x1/0x2 [mod]``), ``"simple"``
    (``sym+0x1 [mod]``), ``"brief"`` (``sym+0x1``), ``"syms"`` (print_syms'
    `` 0x.. : 0x..`` unresolved form mixed in), ``"hex"`` (``0x.. 0x..`` on one
    line).  ``note`` holds ``<no user backtrace at ...>``-style lines, which
    produce a backtrace with no frames.
    """

    type: ClassVar[str] = "backtrace"
    frames: list[Frame] = field(default_factory=list)
    style: str = "full"
    note: str | None = None


@dataclass(kw_only=True, slots=True)
class StructDump(Event):
    """A ``$var$`` / ``$var$$`` / ``@cast(...)$`` dump, possibly after text on its line."""

    type: ClassVar[str] = "struct"
    prefix: str = ""  # text before the opening brace on the same line
    value: Struct
    truncated: bool = False  # cut at MAXSTRINGLEN: braces left open


@dataclass(kw_only=True, slots=True)
class VarsDump(Event):
    """A ``$$vars`` / ``$$parms`` / ``$$locals`` / ``$$return`` list (``name=value ...``)."""

    type: ClassVar[str] = "vars"
    prefix: str = ""
    value: list[Member] = field(default_factory=list)
    truncated: bool = False


@dataclass(kw_only=True, slots=True)
class Diagnostic(Event):
    """An error or warning from stap (translator or runtime).

    ``severity``: ``"error"`` | ``"warning"`` | ``"info"`` (Tip lines and
    ``Number of similar ... suppressed`` notes).
    ``kind``: ``"parse"`` | ``"semantic"`` | ``"runtime"`` | ``"pass"`` (a
    ``Pass N: ... failed.`` line) | ``"warning"`` | ``"tip"`` | ``"note"`` |
    ``"internal"`` (``stap: ...: Assertion `...' failed.``: stap itself aborted).
    ``line``/``column`` are 1-based as stap prints them; ``file`` is the
    script file (``<input>`` for ``-e``).  ``caret_column`` is the 0-based
    column of the ``^`` under ``source``.  ``similar`` collects stap's own
    suggestions (``similar: a, b``, ``similar functions: ...``,
    ``alternatives: ...``).  ``man`` lists ``[man X]`` references (``X`` only).
    """

    type: ClassVar[str] = "diagnostic"
    severity: str
    kind: str
    message: str
    token_kind: str | None = None  # identifier, operator, keyword, string, number, junk, embedded-code
    token: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    source: str | None = None
    caret_column: int | None = None
    similar: list[str] = field(default_factory=list)
    man: list[str] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # continuation lines, verbatim
    pass_number: int | None = None


@dataclass(kw_only=True, slots=True)
class PassLine(Event):
    """A ``-v`` ``Pass N: ...`` line that is not a failure."""

    type: ClassVar[str] = "pass"
    number: int | None  # None only for a number too long to convert (stapbench.model.numbers)
    text: str  # everything after ``Pass N: ``
    cached: bool = False  # ``using cached ...``
    real_ms: int | None = None


@dataclass(kw_only=True, slots=True)
class Summary(Event):
    """End-of-run figures: ``WARNING: Number of errors: N, skipped probes: M``,
    the ``-t`` ``Skipped due to ...: N`` lines, ``staprun exited with status: N``."""

    type: ClassVar[str] = "summary"
    errors: int | None = None
    skipped: int | None = None
    skipped_reasons: dict[str, int | None] = field(default_factory=dict)
    staprun_status: int | None = None


@dataclass(kw_only=True, slots=True)
class Param:
    name: str  # with its ``$`` for context variables, without for alias locals
    type: str


@dataclass(kw_only=True, slots=True)
class Listing(Event):
    """One ``stap -l`` / ``-L`` line."""

    type: ClassVar[str] = "listing"
    probe: str
    function: str | None = None  # ``f`` of ``function("f@file:line")``
    file: str | None = None
    line: int | None = None
    params: list[Param] = field(default_factory=list)
    pc: str | None = None  # ``-vL``'s ``/* pc=... */``


EVENT_TYPES: tuple[type[Event], ...] = (
    TextLine, Backtrace, StructDump, VarsDump, Diagnostic, PassLine, Summary, Listing,
)
