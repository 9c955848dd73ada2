"""``stap -l`` / ``-L`` / ``-vL`` lines (FORMATS.md §4).

``PROBE[ /* pc=... */][ /* <- ... */][ name:type ...][ $name:TYPE ...]``:
the probe point ends at the first space outside double quotes; alias locals
(no ``$``, one-word types) come first; context variables are split only
before `` $NAME:`` because their types hold spaces, ``*`` and parentheses.

Recognised: probe points with a parenthesised argument (``function("...")``,
``timer.s(1)``), and dotted alias names followed by their variables
(``syscall.open name:string $dfd:int``).  A bare ``syscall.accept`` or
``begin`` alone on a line is indistinguishable from printf output and stays text.
"""

from __future__ import annotations

import re

from ..model import Listing, Param
from ..model.numbers import decimal_or_none

__all__ = ["match_listing_line"]

# possessive: an unclosed string is scanned once, not once per way of backtracking into it
_ARG = r'\((?:"(?:[^"\\]|\\.)*+"|-?[0-9]++)\)'
_PROBE = re.compile(rf"[A-Za-z_][A-Za-z0-9_]*(?:{_ARG})?(?:\.[A-Za-z_*][A-Za-z0-9_*]*(?:{_ARG})?)*")
_COMMENT = re.compile(r" /\* (pc=[^*]*?|<- .*?) \*/")
_CONTEXT_SPLIT = re.compile(r" (?=\$[A-Za-z_][A-Za-z0-9_]*:)")
_CONTEXT_VAR = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*:.+", re.S)
_ALIAS_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_]\w*")
_FUNC_AT = re.compile(r'\.(?:function|statement)\("([^"@]*)@([^"]*)"\)')
_FUNC = re.compile(r'\.(?:function|statement)\("([^"@]*)"\)')


def match_listing_line(text: str, raw: str, stream: str) -> Listing | None:
    m = _PROBE.match(text)
    if m is None:
        return None
    probe = m.group()
    if "(" not in probe and ("." not in probe or m.end() == len(text)):
        return None  # a bare word: only a tapset alias with its variables counts
    pc = None
    at = m.end()
    while text.startswith(" /* ", at):  # by position: slicing off each comment would be quadratic
        c = _COMMENT.match(text, at)
        if c is None:
            return None
        if c.group(1).startswith("pc="):
            pc = c.group(1)[3:]
        at = c.end()
    rest = text[at:]
    params: list[Param] = []
    if rest:
        if rest[0] != " ":
            return None
        dollar = rest.find(" $")
        head, tail = (rest, "") if dollar < 0 else (rest[:dollar], rest[dollar:])
        for word in head.split(" ")[1:]:
            if not _ALIAS_LOCAL.fullmatch(word):
                return None
            name, _, typ = word.partition(":")
            params.append(Param(name=name, type=typ))
        if tail:
            for piece in _CONTEXT_SPLIT.split(tail)[1:]:
                if not _CONTEXT_VAR.fullmatch(piece):
                    return None
                name, _, typ = piece.partition(":")
                params.append(Param(name=name, type=typ))
            if _CONTEXT_SPLIT.split(tail)[0]:
                return None
    listing = Listing(raw=raw, stream=stream, probe=probe, params=params, pc=pc)
    f = _FUNC_AT.search(probe)
    if f is not None:
        listing.function = f.group(1)
        where = f.group(2)
        file, colon, line = where.rpartition(":")
        if colon and line.isdigit():
            listing.file, listing.line = file, decimal_or_none(line)
        elif colon and file:
            listing.file = file  # a line wildcard or range: ``work@demo.c:*``
        else:
            listing.file = where
    elif (f := _FUNC.search(probe)) is not None:
        listing.function = f.group(1)
    return listing
