"""Checks of a script before it runs, for traps stap itself says nothing about.

On stap 4.8's BPF runtime, printf's ``%d``, ``%i``, ``%u``, ``%x``, ``%X`` and
``%o`` print only the low 32 bits of a value (checked here: a nanosecond
timestamp printed with ``%d`` comes out as a small or negative number), while
``%ld``/``%lu``/``%lx`` print all 64.  Counts and fds are unaffected; times,
sizes and addresses silently come out wrong.  Nothing in stap's output says so.
"""

from __future__ import annotations

import re

# printf("...") / sprintf("...") / sprintf with a literal format: the format string literal
_FORMAT_CALL = re.compile(r'\b(?:printf|sprintf)\s*\(\s*"((?:[^"\\\n]|\\.)*)"')
# a conversion: flags, width, precision, length, type; %% is no conversion
_CONVERSION = re.compile(r"%(?:%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?P<length>l{0,2})(?P<type>[a-zA-Z]))")
_INTEGER_TYPES = frozenset("diuxXo")
# string literals (kept) and stap's three comment styles (blanked, newlines kept for line numbers)
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|#[^\n]*|/\*.*?\*/', re.S)


def _without_comments(script: str) -> str:
    return _STRING_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "\n" * m.group(0).count("\n"),
                                  script)


def short_integer_formats(script: str) -> list[tuple[int, str]]:
    """(line, conversion) for each integer conversion without ``l`` in a printf/sprintf format
    literal, e.g. ``(2, "%d")``; lines are 1-based, as stap counts them."""
    found = []
    script = _without_comments(script)
    for m in _FORMAT_CALL.finditer(script):
        line = script.count("\n", 0, m.start()) + 1
        for conv in _CONVERSION.finditer(m.group(1)):
            if conv.group("type") in _INTEGER_TYPES and not conv.group("length"):
                found.append((line, conv.group(0)))
    return found


def bpf_format_note(script: str, first_line: int = 1) -> str | None:
    """The run note for :func:`short_integer_formats` on the BPF runtime, or None.  ``first_line``:
    the editor's number of the script's first line (a ``%%stap`` cell's body starts on the
    cell's line 2), so the note names the lines the way the diagnostics' "cell line" does."""
    found = short_integer_formats(script)
    if not found:
        return None
    lines = sorted({line + first_line - 1 for line, _ in found})
    convs = sorted({conv for _, conv in found})
    word = "cell line" if first_line != 1 else "line"
    where = f"{word}{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:5]))}{' ...' if len(lines) > 5 else ''}"
    return (f"{'/'.join(convs)} ({where}) print{'s' if len(convs) == 1 else ''} only the low 32 bits on stap "
            "4.8's BPF runtime: fine for counts and fds, wrong for times, sizes, addresses; %ld, %lu, %lx "
            "print all 64 bits")
