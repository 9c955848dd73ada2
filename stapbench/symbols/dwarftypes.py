"""C type names from DWARF, for showing types beside ``$var$`` members and ``$$parms``.

``type_string`` renders a type DIE the way C spells it (``ngx_connection_t *``,
``const char *``, ``u_char[16]``, ``void (*)(ngx_event_t *)``).  ``find_type``
looks a struct, union, enum or typedef up by name, CU by CU, stopping at the
first complete definition.  Member keys follow stap's pretty-printer: an
anonymous union is ``<union>``, an anonymous struct ``<class>`` (stap's own
label, FORMATS.md §2).
"""

from __future__ import annotations

_TAG_WORD = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
             "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}
#: stap labels anonymous members by their kind, with struct and class swapped (tapsets.cxx)
_ANON_LABEL = {"DW_TAG_union_type": "<union>", "DW_TAG_structure_type": "<class>", "DW_TAG_class_type": "<struct>"}
_QUALIFIERS = {"DW_TAG_const_type": "const", "DW_TAG_volatile_type": "volatile", "DW_TAG_restrict_type": "restrict"}


def _name(die) -> str | None:
    attr = die.attributes.get("DW_AT_name")
    if attr is None:
        return None
    value = attr.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _target(die):
    return die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None


def _array_dims(die) -> str:
    dims = []
    for sub in die.iter_children():
        if sub.tag != "DW_TAG_subrange_type":
            continue
        if "DW_AT_count" in sub.attributes:
            dims.append(f"[{sub.attributes['DW_AT_count'].value}]")
        elif "DW_AT_upper_bound" in sub.attributes and isinstance(sub.attributes["DW_AT_upper_bound"].value, int):
            dims.append(f"[{sub.attributes['DW_AT_upper_bound'].value + 1}]")
        else:
            dims.append("[]")
    return "".join(dims) or "[]"


def _params(die) -> str:
    params = [type_string(_target(p)) for p in die.iter_children() if p.tag == "DW_TAG_formal_parameter"]
    if any(p.tag == "DW_TAG_unspecified_parameters" for p in die.iter_children()):
        params.append("...")
    return ", ".join(params) or "void"


def type_string(die, declarator: str = "", depth: int = 0) -> str:
    """``die`` as C spells it, wrapped around ``declarator`` (``*``, ``[4]``...)."""
    if depth > 32:  # a cycle in broken DWARF
        return "?"
    suffix = f" {declarator}" if declarator and not declarator.startswith("[") else declarator
    if die is None:
        return f"void{suffix}"
    tag = die.tag
    if tag in ("DW_TAG_base_type", "DW_TAG_typedef", "DW_TAG_unspecified_type"):
        return f"{_name(die) or '?'}{suffix}"
    if tag in _TAG_WORD:
        return f"{_TAG_WORD[tag]} {_name(die) or '{...}'}{suffix}"
    if tag == "DW_TAG_pointer_type" or tag == "DW_TAG_reference_type":
        mark = "*" if tag == "DW_TAG_pointer_type" else "&"
        return type_string(_target(die), mark + declarator, depth + 1)
    if tag in _QUALIFIERS:
        word, target = _QUALIFIERS[tag], _target(die)
        if target is not None and target.tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type"):
            return type_string(target, f"{word} {declarator}".strip(), depth + 1)  # char *const p
        return f"{word} {type_string(target, declarator, depth + 1)}"  # const char *p
    if tag == "DW_TAG_array_type":
        inner = f"({declarator})" if declarator.startswith("*") else declarator
        return type_string(_target(die), inner + _array_dims(die), depth + 1)
    if tag == "DW_TAG_subroutine_type":
        return f"{type_string(_target(die), depth=depth + 1)} ({declarator}){('(' + _params(die) + ')')}"
    return f"{_name(die) or tag}{suffix}"


def strip_type_name(text: str) -> tuple[str | None, str]:
    """``'struct ngx_log_s *'`` -> (``'struct'``, ``'ngx_log_s'``); ``'ngx_log_t'`` -> (None, ``'ngx_log_t'``)."""
    words = text.replace("*", " ").replace("&", " ").split()
    words = [w for w in words if w not in ("const", "volatile", "restrict")]
    if len(words) >= 2 and words[0] in ("struct", "union", "enum", "class"):
        return words[0], words[1]
    return None, words[-1] if words else ""


def find_type(dwarf, text: str):
    """The first complete struct/union/enum/typedef DIE called like ``text``, typedefs followed."""
    kind, name = strip_type_name(text)
    tags = {f"DW_TAG_{'structure' if kind == 'struct' else kind}_type"} if kind else (
        set(_TAG_WORD) | {"DW_TAG_typedef"})
    for cu in dwarf.iter_CUs():
        for die in cu.get_top_DIE().iter_children():
            if die.tag in tags and _name(die) == name and "DW_AT_declaration" not in die.attributes:
                return resolve_typedefs(die)
    return None


def resolve_typedefs(die):
    seen = 0
    while die is not None and die.tag in ("DW_TAG_typedef", *_QUALIFIERS) and seen < 32:
        die, seen = _target(die), seen + 1
    return die


def members(die) -> dict[str, str]:
    """Member name -> C type of a struct/union DIE (bitfields as ``unsigned int:1``)."""
    out: dict[str, str] = {}
    if die is None:
        return out
    for child in die.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        target = _target(child)
        name = _name(child) or _ANON_LABEL.get(getattr(target, "tag", ""), "<anonymous>")
        text = type_string(target)
        if "DW_AT_bit_size" in child.attributes:
            text += f":{child.attributes['DW_AT_bit_size'].value}"
        out[name] = text
    return out


def parameters(subprogram) -> dict[str, str]:
    """Parameter name -> C type of a subprogram DIE, in order."""
    return {(_name(p) or f"arg{i}"): type_string(_target(p))
            for i, p in enumerate(c for c in subprogram.iter_children() if c.tag == "DW_TAG_formal_parameter")}
