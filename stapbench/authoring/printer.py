"""A struct printer that runs on the BPF runtime: stap code printing chosen members of a
struct pointer directly, in the ``$var$`` text form, so stapbench's parser and tree view show it
as the kernel runtime's ``$c$`` dump would (which stap refuses on BPF).

From DWARF (the symbols layer's module): each member's type, byte offset and, for a bit-field,
its bit position and width.  Scalars print with 64-bit directives (BPF's ``%d``/``%x`` print 32
bits), pointers as ``0x%lx``; a bit-field, which the BPF verifier rejects when read as a member,
is read through its containing word (``user_uint32``/``user_uint64`` at the struct's address
plus its byte offset) with shift and mask (x86-64 and other little-endian targets).  Arrays,
strings and structs held by value are left out (a string costs BPF's one string per probe);
print them with a printer of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..symbols import dwarftypes
from .probes import format_of


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    offset: int  # bytes from the struct's start
    bit_size: int | None = None  # a bit-field's width
    bit_position: int | None = None  # its lowest bit, counted from the struct's start
    #: a pointer under a typedef (ngx_recv_pt: a function pointer), printed in hex like one
    pointer: bool = False


def struct_fields(symbolizer, binary: str, type_name: str) -> list[Field]:
    """The members of ``type_name`` (a struct, a typedef of one, or a pointer to either)."""
    module = symbolizer.module(binary)
    if module is None or module.debug is None:
        return []
    die = dwarftypes.find_type(module.debug.dwarf, type_name.replace("*", " ").strip())
    fields = []
    for child in die.iter_children() if die is not None else ():
        if child.tag != "DW_TAG_member" or "DW_AT_name" not in child.attributes:
            continue
        a = child.attributes
        name = a["DW_AT_name"].value.decode("utf-8", "replace")
        type_ = dwarftypes.type_string(dwarftypes._target(child))
        offset = a["DW_AT_data_member_location"].value if "DW_AT_data_member_location" in a else 0
        if not isinstance(offset, int):
            continue  # a location expression (virtual bases): not in C structs
        field = _field(child, name, type_, offset)
        if field.bit_size is None and not type_.rstrip().endswith("*") and symbolizer.member_types(binary, type_):
            continue  # a struct or union held by value (ngx_str_t): a printer of its own
        fields.append(field)
    return fields


def _field(member_die, name: str, type_: str, offset: int) -> Field:
    """How to read a member at byte ``offset`` (from the pointer it is read through): for a
    bit-field, its bit position from DWARF (DWARF 4+: ``data_bit_offset``, from the struct's
    start; DWARF 2/3: ``bit_offset``, from the storage unit's most significant bit)."""
    a = member_die.attributes
    bit_size = a["DW_AT_bit_size"].value if "DW_AT_bit_size" in a else None
    position = None
    if bit_size is not None:
        if "DW_AT_data_bit_offset" in a:
            position = offset * 8 + a["DW_AT_data_bit_offset"].value
        elif "DW_AT_bit_offset" in a:
            storage = a["DW_AT_byte_size"].value if "DW_AT_byte_size" in a else 4
            position = offset * 8 + storage * 8 - a["DW_AT_bit_offset"].value - bit_size
        else:
            position = offset * 8
    return Field(name, type_, offset if position is None else position // 8, bit_size, position,
                 pointer=_is_pointer(member_die))


def _is_pointer(member_die) -> bool:
    target = dwarftypes.resolve_typedefs(dwarftypes._target(member_die))
    return target is not None and target.tag == "DW_TAG_pointer_type"


def _reader(expr: str, field: Field) -> tuple[str, str] | None:
    """(printf directive, stap expression) for one member, or None to leave it out."""
    if field.bit_size is not None:
        byte, shift = field.bit_position // 8, field.bit_position % 8
        word = "user_uint32" if shift + field.bit_size <= 32 else "user_uint64"
        mask = (1 << field.bit_size) - 1
        return "%lu", f"(({word}({expr} + {byte}) >> {shift}) & {mask:#x})"
    directive = "0x%lx" if field.pointer else format_of(field.type)
    if directive is None or field.type.startswith(("char[", "const char[")):
        return None
    return directive, f"{expr}->{field.name}"


def first_fields(fields: list[Field], limit: int | None = None) -> list[Field]:
    """At most ``limit`` of ``fields`` in their order, numbers and flags before pointers (a
    connection's fd, counters and state bits tell more than its handlers' addresses)."""
    limit = MAX_FIELDS if limit is None else limit
    if len(fields) <= limit:
        return list(fields)
    ranked = sorted(range(len(fields)), key=lambda i: (fields[i].pointer or fields[i].type.rstrip().endswith("*"), i))
    return [fields[i] for i in sorted(ranked[:limit])]


MAX_FORMAT = 180  # stap's BPF runtime refuses longer printf formats ("Format string for print too long")
MAX_ARGS = 8


def printer(expr: str, fields: list[Field], *, label: str | None = None, end: str = "\\n") -> str:
    """stap statements printing ``expr``'s members on one line as ``LABEL {.a=1, .b=0x7f...}``
    (``label=""``: just the braces, as ``$c$`` prints): several printf calls (each format short
    enough for the BPF runtime), the last ending with ``end`` (a format's text: ``\\n``)."""
    label = expr if label is None else label
    head = label + "{" if label == "" or label.endswith("=") else label + " {"  # "$c$={", as stap prints it
    return "\n".join(_nested_printf(expr, fields, head, end))


MAX_FIELDS = 16  # what one BPF probe's stack holds (more fail with "insufficent BPF stack size")


def printer_probe(point: str, expr: str, fields: list[Field], *, max_fields: int = MAX_FIELDS, **kwargs) -> str:
    """A probe on ``point`` printing the chosen ``fields`` of ``expr`` as one ``$var$``-style line.

    One probe: stap does not run several probes of one point in the order they are written, so
    a line cannot be split across probes; the BPF runtime gives one probe a small stack, so at
    most ``max_fields`` members are printed and the script names the ones left out (choose them
    in a second probe)."""
    printable = [f for f in fields if _reader(expr, f) is not None]
    kept, left = printable[:max_fields], printable[max_fields:]
    note = (f"    # not printed (one BPF probe's stack holds {max_fields}): {', '.join(f.name for f in left)}\n"
            if left else "")
    body = "\n".join("    " + line for line in printer(expr, kept, **kwargs).splitlines())
    return f"probe {point} {{\n{note}{body}\n}}\n"


# --- the struct browser's model: members to any depth, and a printer for chosen ones ---------

#: how deep by-value structs and unions are opened (ngx_connection_t -> ngx_str_t -> ...)
MAX_DEPTH = 4


@dataclass(frozen=True)
class Member:
    """One row of a struct's member tree.  ``path`` is the stap expression after the root
    pointer (``fd``, ``addr_text->len``; stap writes ``->`` for ``.`` too); ``base`` is the
    pointer member it was reached through (``log`` for ``log->file``; "" inside the root
    struct); ``field`` says how to read it from that base (None: a group, or not printable
    on BPF: strings, arrays, floats)."""

    path: str
    name: str
    type: str
    depth: int
    base: str
    field: Field | None = None
    group: bool = False  # a by-value struct/union, or a followed pointer: its members follow

    def to_json(self) -> dict:
        return {"path": self.path, "name": self.name, "type": self.type, "depth": self.depth,
                "printable": self.field is not None, "group": self.group, "base": self.base}


def _struct_die(die):
    die = dwarftypes.resolve_typedefs(die)
    return die if die is not None and die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") else None


def _pointee_struct(die):
    die = dwarftypes.resolve_typedefs(die)
    if die is None or die.tag != "DW_TAG_pointer_type":
        return None
    return _struct_die(dwarftypes._target(die))


def _member_field(child, name: str, type_: str, offset: int) -> Field | None:
    """:func:`_field`, where a BPF printer can read it (not a string, an array, a float)."""
    field = _field(child, name, type_, offset)
    return field if _reader("$x", field) is not None else None


def _walk(die, prefix: str, offset: int, depth: int, base: str, follow: bool, out: list) -> None:
    for child in die.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        a = child.attributes
        target = dwarftypes._target(child)
        own = a["DW_AT_data_member_location"].value if "DW_AT_data_member_location" in a else 0
        if not isinstance(own, int):
            continue
        name = dwarftypes._name(child)
        type_ = dwarftypes.type_string(target)
        nested = _struct_die(target) if "DW_AT_bit_size" not in a else None
        if name is None:  # an anonymous struct/union: its members are the parent's
            if nested is not None and depth < MAX_DEPTH:
                _walk(nested, prefix, offset + own, depth, base, follow, out)
            continue
        path = prefix + name
        relative = path[len(base) + 2:] if base else path  # the expression after the base pointer
        if nested is not None:
            out.append(Member(path, name, type_, depth, base, group=depth < MAX_DEPTH))
            if depth < MAX_DEPTH:
                _walk(nested, path + "->", offset + own, depth + 1, base, follow, out)
            continue
        pointee = _pointee_struct(target) if follow else None
        field = _member_field(child, relative, type_, offset + own)
        out.append(Member(path, name, type_, depth, base, field, group=pointee is not None))
        if pointee is not None:  # one hop: what the pointer points to, read from it
            _walk(pointee, path + "->", 0, depth + 1, path, False, out)


def member_tree(symbolizer, binary: str, type_name: str) -> list[Member]:
    """The members of ``type_name`` (a struct, a typedef of one, or a pointer to either) in
    DWARF order, pre-order: by-value structs and unions opened to :data:`MAX_DEPTH`, anonymous
    ones merged into their parent (as C reads them), and pointers to structs followed one hop."""
    module = symbolizer.module(binary)
    if module is None or module.debug is None:
        return []
    die = dwarftypes.find_type(module.debug.dwarf, type_name.replace("*", " ").strip())
    die = _struct_die(die) if die is not None else None
    out: list[Member] = []
    if die is not None:
        _walk(die, "", 0, 0, "", True, out)
    return out


def _nested_printf(expr: str, fields: list[Field], head: str, end: str = "\\n") -> list[str]:
    """printf calls printing ``fields`` (names with ``->`` open by-value groups; what a BPF
    printer can't read left out) as one line ``HEAD.a=1, .s={.b=2}}END``, each format short
    enough for the BPF runtime and with at most :data:`MAX_ARGS` values."""
    tokens: list[tuple[str, str | None]] = [(head, None)]
    open_groups: list[str] = []
    first = [True]

    def sep():
        if not first[0]:
            tokens.append((", ", None))
        first[0] = False

    for field in fields:
        read = _reader(expr, field)
        if read is None:
            continue
        *groups, leaf = field.name.split("->")
        while open_groups and open_groups != groups[: len(open_groups)]:
            open_groups.pop()
            tokens.append(("}", None))
            first[0] = False
        for g in groups[len(open_groups):]:
            sep()
            tokens.append((f".{g}={{", None))
            open_groups.append(g)
            first[0] = True
        sep()
        tokens.append((f".{leaf}={read[0]}", read[1]))
    tokens += [("}", None)] * len(open_groups) + [("}" + end, None)]
    calls, fmt, values = [], "", []
    for text, value in tokens:
        if value is not None and values and (len(fmt) + len(text) > MAX_FORMAT or len(values) >= MAX_ARGS):
            calls.append((fmt, values))
            fmt, values = "", []
        fmt += text
        if value is not None:
            values.append(value)
    calls.append((fmt, values))
    return [f'printf("{f}"' + "".join(", " + v for v in vs) + ")" for f, vs in calls]


def members_printer_probe(point: str, expr: str, members: list[Member], chosen, *,
                          max_fields: int = MAX_FIELDS, name: str | None = None) -> str:
    """A probe on ``point`` printing the ``chosen`` paths of ``members`` (:func:`member_tree`):
    the root struct's on one line ``NAME $c$ {...}``, each followed pointer's on a line of its
    own (``NAME $c->log$ {...}``), so each parses as a struct tree titled like a ``$var$`` dump
    and counted under ``name`` (the probed function: the run's hits are grouped by a line's first
    word); at most ``max_fields`` in all (one BPF probe's stack), the rest named in a comment."""
    chosen = set(chosen)
    picked = [m for m in members if m.path in chosen and m.field is not None]
    kept, left = picked[:max_fields], picked[max_fields:]
    lines = []
    for base in dict.fromkeys(m.base for m in kept):
        target = f"{expr}->{base}" if base else expr
        fields = [m.field for m in kept if m.base == base]
        label = f"{name} {target}$" if name else target
        if base:
            lines.append(f"if ({target}) {{")  # a NULL pointer: no line for it
            lines += ["    " + c for c in _nested_printf(target, fields, f"{label} {{")]
            lines.append("}")
        else:
            lines += _nested_printf(target, fields, f"{label} {{")
    note = (f"    # not printed (one BPF probe's stack holds {max_fields}): {', '.join(m.path for m in left)}\n"
            if left else "")
    body = "\n".join("    " + line for line in lines)
    return f"probe {point} {{\n{note}{body}\n}}\n"
