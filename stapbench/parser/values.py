"""Parse stap's pretty-printed values: ``$var$`` structs and ``$$vars`` lists.

Pure functions over one line of text.  Grammar (FORMATS.md §2):

* struct ``{.m1=V, .m2=V, <union>=V, ...}`` (``...`` = over 32 printf
  arguments), array ``[V, ...]``, elided ``{...}`` / ``[...]``;
* atoms: quoted strings (escapes, ``"...`` when cut), chars ``'\\000'``, and any
  other token (``0x0``, ``-3``, ``?``, ``ERROR``, ``<function>:0x...``) kept
  verbatim;
* ``$$vars`` lists: ``name=V name=V ...`` separated by single spaces.

A dump cut at MAXSTRINGLEN simply stops: the containers left open get
``closed=False`` and the scan reports ``truncated``.
"""

from __future__ import annotations

import re

from ..model.values import Array, Atom, Member, Struct, Value

__all__ = ["ValueSyntaxError", "parse_value", "parse_vars", "scan_value", "scan_vars"]


class ValueSyntaxError(ValueError):
    """The text is not a pretty-printed stap value."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# a bare token: everything up to the next separator (space only ends it in $$vars lists)
_BARE_IN_CONTAINER = re.compile(r"[^,}\]]*")
_BARE_IN_LIST = re.compile(r"[^ ,}\]]*")
_MEMBER_NAME = re.compile(r"\.([^=,{}\[\] ]*)=|(<[A-Za-z_]+>)=")


# stap nests as deep as the C types do; far deeper is no stap output (and would exhaust the stack)
MAX_DEPTH = 64


class _Cut(Exception):
    """Input ended inside a value (MAXSTRINGLEN truncation)."""


def _scan_quoted(text: str, pos: int, quote: str) -> int:
    """End index of the quoted token starting at ``pos`` (``text[pos] == quote``)."""
    n = len(text)
    i = pos + 1
    j = -1  # the next quote at or after i (n: none); looked for again only once i passed it
    while True:
        if j < i:
            j = text.find(quote, i)
            if j < 0:
                j = n
        k = text.find("\\", i, j)
        if k >= 0:
            if k + 1 >= n:
                raise _Cut
            i = k + 2
            continue
        if j == n:
            raise _Cut
        end = j + 1
        if quote == '"' and text.startswith("...", end):
            end += 3  # a cut string: "abc"...
        return end


def _scan(text: str, pos: int, bare: re.Pattern, containers: list) -> tuple[Value, int]:
    """Scan one value at ``pos``; ``containers`` collects open containers so a
    cut can mark them unclosed.  Raises _Cut at end of input, ValueSyntaxError
    on anything that is no value."""
    n = len(text)
    if pos >= n:
        raise _Cut
    c = text[pos]
    if len(containers) >= MAX_DEPTH and (c == "{" or c == "["):
        raise ValueSyntaxError(f"nested deeper than {MAX_DEPTH} levels")
    if c == "{":
        if text.startswith("{...}", pos):
            return Atom(text="{...}"), pos + 5
        return _scan_struct(text, pos, containers)
    if c == "[":
        if text.startswith("[...]", pos):
            return Atom(text="[...]"), pos + 5
        return _scan_array(text, pos, containers)
    if c == '"' or c == "'":
        try:
            end = _scan_quoted(text, pos, c)
        except _Cut:
            end = n  # keep the cut string as it is; the container notices the end
        return Atom(text=text[pos:end]), end
    m = bare.match(text, pos)
    end = m.end()
    if end == pos:
        raise ValueSyntaxError(f"no value at column {pos}")
    if end == n:
        # a bare token that reaches the end may itself be cut; it is still a value
        return Atom(text=text[pos:end]), end
    return Atom(text=text[pos:end]), end


def _scan_struct(text: str, pos: int, containers: list) -> tuple[Struct, int]:
    struct = Struct()
    containers.append(struct)
    members = struct.members
    n = len(text)
    i = pos + 1
    if i < n and text[i] == "}":
        containers.pop()
        return struct, i + 1
    while True:
        if i >= n:
            raise _Cut
        if text.startswith("...", i):
            struct.more = True
            i += 3
        else:
            m = _MEMBER_NAME.match(text, i)
            if m is None:
                if n - i < 64 and "=" not in text[i:] and text[i] in ".<":
                    raise _Cut  # the member name itself was cut
                raise ValueSyntaxError(f"no member at column {i}")
            name = m.group(1) if m.group(1) is not None else m.group(2)
            # appended before its value is scanned, so a cut inside the value
            # can still hang the open container here (see _link_cut)
            member = Member(name=name, value=None)
            members.append(member)
            member.value, i = _scan(text, m.end(), _BARE_IN_CONTAINER, containers)
        if i >= n:
            raise _Cut
        c = text[i]
        if c == "}":
            containers.pop()
            return struct, i + 1
        if c == ",":
            if i + 1 >= n:
                raise _Cut
            if text[i + 1] != " ":
                raise ValueSyntaxError(f"expected ', ' at column {i}")
            i += 2
            continue
        raise ValueSyntaxError(f"expected ',' or '}}' at column {i}")


def _scan_array(text: str, pos: int, containers: list) -> tuple[Array, int]:
    array = Array()
    containers.append(array)
    items = array.items
    n = len(text)
    i = pos + 1
    if i < n and text[i] == "]":
        containers.pop()
        return array, i + 1
    while True:
        if i >= n:
            raise _Cut
        if text.startswith("...", i) and (i + 3 >= n or text[i + 3] in "]"):
            array.more = True
            i += 3
        else:
            value, i = _scan(text, i, _BARE_IN_CONTAINER, containers)
            items.append(value)
        if i >= n:
            raise _Cut
        c = text[i]
        if c == "]":
            containers.pop()
            return array, i + 1
        if c == "," and text.startswith(", ", i):
            i += 2
            continue
        if c == "," and i + 1 >= n:
            raise _Cut
        raise ValueSyntaxError(f"expected ',' or ']' at column {i}")


def _link_cut(containers: list) -> None:
    """After a cut: mark the open containers unclosed and attach each to its parent."""
    for parent, child in zip(containers, containers[1:]):
        if isinstance(parent, Struct):
            if parent.members and parent.members[-1].value is None:
                parent.members[-1].value = child
        else:
            parent.items.append(child)
    for container in containers:
        container.closed = False
        if isinstance(container, Struct) and container.members and container.members[-1].value is None:
            container.members.pop()  # ``.name=`` with nothing after it


def scan_value(text: str, pos: int = 0, in_list: bool = False) -> tuple[Value, int, bool]:
    """Scan one value starting at ``pos``.

    Returns ``(value, end, truncated)``; ``truncated`` means the text ended
    inside the value (its open containers have ``closed=False``).  Raises
    :class:`ValueSyntaxError` when ``text[pos:]`` does not start with a value.
    """
    containers: list = []
    try:
        value, end = _scan(text, pos, _BARE_IN_LIST if in_list else _BARE_IN_CONTAINER, containers)
        return value, end, False
    except _Cut:
        _link_cut(containers)
        if containers:
            return containers[0], len(text), True
        # a cut string/char at top level
        return Atom(text=text[pos:]), len(text), True


def parse_value(text: str) -> Value:
    """Parse a whole pretty-printed value (``{.a=1, .b="x"}``, ``[0, ...]``, ``0x1f``).

    A value cut at MAXSTRINGLEN parses with ``closed=False`` on its open
    containers.  Raises :class:`ValueSyntaxError` for anything else, including
    text after the value.
    """
    value, end, _ = scan_value(text, 0)
    if end != len(text):
        raise ValueSyntaxError(f"unexpected text after the value at column {end}")
    return value


def scan_vars(text: str, pos: int = 0) -> tuple[list[Member], bool] | None:
    """Scan a ``$$vars``-style list ``name=V name=V`` from ``pos`` to the end.

    Returns ``(members, truncated)``, or None if ``text[pos:]`` is not such a list.
    """
    members: list[Member] = []
    n = len(text)
    i = pos
    while True:
        m = _NAME.match(text, i)
        if m is None:
            return None
        start = m.end()
        if start >= n:
            # ``name=`` at the very end: $$return of a void function prints nothing,
            # otherwise the list was cut here
            members.append(Member(name=m.group()[:-1], value=Atom(text="")))
            return members, False
        try:
            value, i, truncated = scan_value(text, start, in_list=True)
        except ValueSyntaxError:
            return None
        members.append(Member(name=m.group()[:-1], value=value))
        if truncated or i == n:
            return members, truncated
        if text[i] != " " or i + 1 >= n:
            return None
        i += 1


def parse_vars(text: str) -> list[Member]:
    """Parse a whole ``$$vars`` / ``$$parms`` / ``$$locals`` line into members."""
    result = scan_vars(text)
    if result is None:
        raise ValueSyntaxError("not a name=value list")
    return result[0]
