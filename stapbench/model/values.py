"""Value trees of ``$var$`` pretty-printing and ``$$vars`` lists.

A value is a :class:`Struct`, an :class:`Array` or an :class:`Atom`.  Atoms keep
the token exactly as stap printed it (``0x0``, ``-3``, ``"GET"``, ``'A'``,
``{...}``, ``[...]``, ``?``, ``ERROR``, ``<function>:0x4011d6``); ``kind`` and
``as_int`` interpret it without losing the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .numbers import decimal_or_none

_DECIMAL = re.compile(r"-?[0-9]+\Z")


@dataclass(kw_only=True, slots=True)
class Atom:
    text: str

    @property
    def kind(self) -> str:
        t = self.text
        if _DECIMAL.match(t):
            return "int"
        if t.startswith("0x"):
            return "hex"
        if t.startswith('"'):
            return "string"
        if t.startswith("'"):
            return "char"
        if t == "{...}":
            return "elided_struct"
        if t == "[...]":
            return "elided_array"
        if t == "?":
            return "unavailable"
        if t == "ERROR":
            return "error"
        if t.startswith("<function>:"):
            return "function"
        return "other"

    @property
    def as_int(self) -> int | None:
        """The number an ``int`` or ``hex`` atom stands for, else None (also for a
        decimal too long to convert, see :mod:`.numbers`)."""
        t = self.text
        if _DECIMAL.match(t):
            return decimal_or_none(t)
        if t.startswith("0x"):
            try:
                return int(t, 16)
            except ValueError:
                return None
        return None


@dataclass(kw_only=True, slots=True)
class Member:
    """``.name=value`` in a struct (``name`` without the dot; anonymous
    members keep stap's label, e.g. ``<union>``), or ``name=value`` in a
    ``$$vars`` list."""

    name: str
    value: "Value"


@dataclass(kw_only=True, slots=True)
class Struct:
    members: list[Member] = field(default_factory=list)
    closed: bool = True  # False when the dump was cut before the closing brace
    more: bool = False  # stap appended ``...`` (over 32 printf arguments)


@dataclass(kw_only=True, slots=True)
class Array:
    items: list["Value"] = field(default_factory=list)
    more: bool = False  # ``[first, ...]``: stap printed only the first element(s)
    closed: bool = True


Value = Struct | Array | Atom
