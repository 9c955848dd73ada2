"""Which lines are value dumps: ``$var$`` structs and ``$$vars`` lists (FORMATS.md §2).

The value grammar lives in :mod:`.values`; this module decides whether a whole
line (after an optional text prefix) is a dump.

The ``$$vars`` heuristic, so that an ordinary ``printf("x=%d\\n", x)`` stays text:
the list must run to the end of the line, with single spaces between
``name=value`` pairs, and every value must look like stap printed it:
``0x...`` hex (plain ``$$vars`` print ``%#x``), ``?``, ``{...}``, ``[...]``, a
struct or array, a quoted string or char, ``ERROR`` or ``<function>:0x...``.
Decimal numbers are accepted only when the same list also holds a struct,
array, string or char (the ``$$parms$`` pretty forms print ``%i``/``%u``).
Any other word makes the line text.  Text before the list is the ``prefix``;
it must end with a space and its last word must not itself be ``name=value``.
So ``x=3`` and ``a=1 b=2`` are text, ``fd=0x3`` and ``fd=?`` are vars, and
``sk={.a=1}`` is a vars list holding one struct.
"""

from __future__ import annotations

import re

from ..model import StructDump, VarsDump
from ..model.values import Array, Atom, Struct
from .values import ValueSyntaxError, scan_value, scan_vars

__all__ = ["match_struct_line", "match_vars_line"]

_PAIR_START = re.compile(r"(?:^| )([A-Za-z_][A-Za-z0-9_]*)=")
_STRUCT_START = re.compile(r"\{[.<}]")
_MAX_CANDIDATES = 8
# A dump cut at MAXSTRINGLEN is at least this long (stap's smallest sensible
# MAXSTRINGLEN is 64); shorter unclosed "dumps" are prose, e.g. format strings.
MIN_TRUNCATED = 63

_SHAPED = frozenset(("hex", "unavailable", "elided_struct", "elided_array", "string", "char", "error", "function"))
_RICH = frozenset(("string", "char"))


def _acceptable(members) -> bool:
    decimals = False
    rich = False
    for member in members:
        value = member.value
        if isinstance(value, Atom):
            kind = value.kind
            if kind == "int":
                decimals = True
            elif kind in _RICH:
                rich = True
            elif kind not in _SHAPED:
                return False
        elif isinstance(value, (Struct, Array)):
            rich = True
    return rich or not decimals


def match_vars_line(text: str, raw: str, stream: str) -> VarsDump | None:
    tried = 0
    for m in _PAIR_START.finditer(text):
        start = m.start(1)
        prefix = text[:start]
        if prefix and "=" in prefix[:-1].rpartition(" ")[2]:
            return None  # the pair before failed, so this is no clean list
        found = scan_vars(text, start)
        if found is not None and _acceptable(found[0]) and (not found[1] or len(text) - start >= MIN_TRUNCATED):
            return VarsDump(raw=raw, stream=stream, prefix=prefix, value=found[0], truncated=found[1])
        tried += 1
        if tried >= _MAX_CANDIDATES:
            return None
    return None


def match_struct_line(text: str, raw: str, stream: str) -> StructDump | None:
    m = _STRUCT_START.search(text)
    if m is None:
        return None
    start = m.start()
    try:
        value, end, truncated = scan_value(text, start)
    except ValueSyntaxError:
        return None
    if end != len(text) or not isinstance(value, Struct):
        return None
    if truncated and end - start < MIN_TRUNCATED:
        return None
    return StructDump(raw=raw, stream=stream, prefix=text[:start], value=value, truncated=truncated)
