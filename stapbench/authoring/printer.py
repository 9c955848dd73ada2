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
        bit_size = a["DW_AT_bit_size"].value if "DW_AT_bit_size" in a else None
        position = None
        if bit_size is not None:
            if "DW_AT_data_bit_offset" in a:  # DWARF 4+: from the struct's start
                position = a["DW_AT_data_bit_offset"].value
            elif "DW_AT_bit_offset" in a:  # DWARF 2/3: from the storage unit's most significant bit
                storage = a["DW_AT_byte_size"].value if "DW_AT_byte_size" in a else 4
                position = offset * 8 + storage * 8 - a["DW_AT_bit_offset"].value - bit_size
            else:
                position = offset * 8
        if bit_size is None and not type_.rstrip().endswith("*") and symbolizer.member_types(binary, type_):
            continue  # a struct or union held by value (ngx_str_t): a printer of its own
        fields.append(Field(name, type_, offset if position is None else position // 8, bit_size, position))
    return fields


def _reader(expr: str, field: Field) -> tuple[str, str] | None:
    """(printf directive, stap expression) for one member, or None to leave it out."""
    if field.bit_size is not None:
        byte, shift = field.bit_position // 8, field.bit_position % 8
        word = "user_uint32" if shift + field.bit_size <= 32 else "user_uint64"
        mask = (1 << field.bit_size) - 1
        return "%lu", f"(({word}({expr} + {byte}) >> {shift}) & {mask:#x})"
    directive = format_of(field.type)
    if directive is None or field.type.startswith(("char[", "const char[")):
        return None
    return directive, f"{expr}->{field.name}"


MAX_FORMAT = 180  # stap's BPF runtime refuses longer printf formats ("Format string for print too long")
MAX_ARGS = 8


def printer(expr: str, fields: list[Field], *, label: str | None = None, end: str = "\\n") -> str:
    """stap statements printing ``expr``'s members on one line as ``LABEL {.a=1, .b=0x7f...}``
    (``label=""``: just the braces, as ``$c$`` prints): several printf calls (each format short
    enough for the BPF runtime), the last ending with ``end`` (a format's text: ``\\n``)."""
    pieces = []
    for field in fields:
        read = _reader(expr, field)
        if read is not None:
            pieces.append((f".{field.name}={read[0]}", read[1]))
    head = "{" if label == "" else (label if label is not None else expr) + " {"
    calls, fmt, values = [], head, []
    for i, (part, value) in enumerate(pieces):
        part = part + (", " if i < len(pieces) - 1 else "")
        if values and (len(fmt) + len(part) > MAX_FORMAT or len(values) >= MAX_ARGS):
            calls.append((fmt, values))
            fmt, values = "", []
        fmt += part
        values.append(value)
    calls.append((fmt + "}" + end, values))
    return "\n".join(f'printf("{f}"' + "".join(", " + v for v in vs) + ")" for f, vs in calls)


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
