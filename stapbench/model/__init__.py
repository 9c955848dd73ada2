"""Plain dataclasses for everything stap prints (see events.py, values.py)."""

from .events import (
    EVENT_TYPES, Backtrace, Diagnostic, Event, Frame, Listing, Param, PassLine, StructDump,
    Summary, TextLine, VarsDump,
)
from .values import Array, Atom, Member, Struct, Value

__all__ = [
    "EVENT_TYPES", "Array", "Atom", "Backtrace", "Diagnostic", "Event", "Frame", "Listing",
    "Member", "Param", "PassLine", "Struct", "StructDump", "Summary", "TextLine", "Value",
    "VarsDump",
]
