"""Decimal numbers read from stap's text, without ever raising.

Python refuses ``int()`` of more than 4,300 decimal digits (and converting one
is quadratic in its length), while stap's output, or whatever reaches the parser,
may hold any run of digits.  A number that long is no line, column or count
stap means; it becomes None and its text stays where it came from (every
event's ``raw``; a value's ``Atom.text``).  The process-wide limit is left alone.
"""

from __future__ import annotations

__all__ = ["MAX_DECIMAL_DIGITS", "decimal_or_none"]

#: Python's default limit; shorter numbers convert in linear time
MAX_DECIMAL_DIGITS = 4300


def decimal_or_none(text: str | bytes) -> int | None:
    """``int(text)`` for a decimal number, or None when it is too long to be exact
    (over :data:`MAX_DECIMAL_DIGITS` characters, or over a lower limit the process set)."""
    if len(text) > MAX_DECIMAL_DIGITS:
        return None
    try:
        return int(text)
    except ValueError:
        return None
