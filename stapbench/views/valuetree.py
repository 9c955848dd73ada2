"""``$var$`` / ``$$parms`` dumps as collapsible trees (``<details>``, no JS needed).

Exact expressions for elided members
------------------------------------
stap prints a nested struct as ``{...}`` in a shallow ``$`` dump.  The tree
offers the stap expression that prints it: the dump's *root expression*
plus the member path, ``->`` between members (stap's ``->`` works on structs
and pointers alike), ``[i]`` for array items; anonymous members
(``<union>``, ``<class>``, ``<struct>``) add nothing, because C reaches their
members straight from the parent.  So ``$c$`` with ``.log={...}`` offers
``$c->log$``, and ``.pool={.log={...}}`` offers ``$c->pool->log$``.

The root is known when the caller passes ``expression`` (``"$c"`` or
``"$c$"``), or inferred from the dump's prefix when it ends with a
``$name$``-like token (``printf("$c$=%s\\n", $c$)`` prints ``$c$={...}``),
e.g. ``$c$=``, ``$c->pool$:``, ``@cast(p, "struct s")$ ``.  In a
``$$parms$`` / ``$$vars$`` list each variable is its own root (``$name``).
Otherwise the expression is shown relative (``…->log$``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..model import Array, Atom, Member, Struct, StructDump, VarsDump
from ._html import attrs, classes, esc

ANONYMOUS = ("<union>", "<class>", "<struct>")
RELATIVE_ROOT = "\u2026"  # …
DEFAULT_MAXSTRINGLEN = 512

_PREFIX_EXPR = re.compile(
    r"(?P<expr>(?:\$\$?[A-Za-z_]\w*|@cast\([^()]*(?:\([^()]*\)[^()]*)*\)|@var\([^()]*\))"
    r"(?:->[A-Za-z_]\w*|\.[A-Za-z_]\w*|\[\d+\])*)(?P<pretty>\$\$?)\s*[=:]?\s*\Z"
)


def normalize_expression(expression: str | None) -> str | None:
    """``"$c$"`` / ``"$c$$"`` / ``"$c"`` -> ``"$c"`` (the root without its pretty-print ``$``)."""
    if not expression:
        return None
    expr = re.sub(r"(?<=[\w)\]])\$+\Z", "", expression.strip())
    return expr or None


def infer_expression(prefix: str) -> str | None:
    """The root expression a prefix like ``"$c$="`` or ``"dump $c->pool$: "`` names, else None."""
    m = _PREFIX_EXPR.search(prefix or "")
    return m.group("expr") if m else None


def member_path(parent: str | None, name: str) -> str | None:
    if name in ANONYMOUS:
        return parent
    if parent is None:
        return None
    return f"{parent}->{name}"


def elided_expression(path: str | None, atom: Atom) -> str:
    """What to print instead of an elided ``{...}`` / ``[...]`` at ``path``."""
    path = path if path is not None else RELATIVE_ROOT
    if atom.kind == "elided_array":
        return f"{path}$$"  # deep print: char arrays as strings, other arrays' first element
    return f"{path}$"


def maxstringlen_fix(length: int) -> int:
    """A MAXSTRINGLEN comfortably above what was printed (at least 8192)."""
    want = max(8192, 4 * max(length, DEFAULT_MAXSTRINGLEN))
    size = 1
    while size < want:
        size *= 2
    return size


def dump_root(dump: StructDump, expression: str | None = None) -> str | None:
    return normalize_expression(expression) or infer_expression(dump.prefix)


def dump_title(dump: StructDump, expression: str | None = None) -> str | None:
    """The dump's expression as the script wrote it: ``$c$`` and ``$c$$`` print differently
    (``$$`` goes one level deeper), so their trees are titled apart."""
    if expression and expression.strip():
        return expression.strip()
    m = _PREFIX_EXPR.search(dump.prefix or "")
    return m.group("expr") + m.group("pretty") if m else None


def elided_expressions(dump: StructDump | VarsDump, *, expression: str | None = None) -> list[str]:
    """The stap expressions that print the dump's elided members, in tree order."""
    out: list[str] = []

    def walk(value, path):
        if isinstance(value, Atom):
            if value.kind in ("elided_struct", "elided_array"):
                out.append(elided_expression(path, value))
        elif isinstance(value, Struct):
            for m in value.members:
                walk(m.value, member_path(path, m.name))
        else:
            for i, item in enumerate(value.items):
                walk(item, f"{path}[{i}]")

    if isinstance(dump, StructDump):
        walk(dump.value, dump_root(dump, expression) or RELATIVE_ROOT)
    else:
        for m in dump.value:
            walk(m.value, "$" + m.name)
    return out


# --------------------------------------------------------------------------- HTML

def _atom_html(atom: Atom) -> str:
    return f'<span class="stapbench-value stapbench-v-{atom.kind}">{esc(atom.text)}</span>'


def _type_html(types: Mapping[str, str] | None, path: str | None) -> str:
    if not types or path is None or path not in types:
        return ""
    return f' <span class="stapbench-type">{esc(types[path])}</span>'


def _label_html(label: str) -> str:
    return f'<span class="stapbench-member">{esc(label)}</span>'


def _count_text(value) -> str:
    if isinstance(value, Struct):
        n = len(value.members)
        return f"{{{n} member{'s' if n != 1 else ''}{', cut' if not value.closed else ''}}}"
    n = len(value.items)
    return f"[{n} item{'s' if n != 1 else ''}{', more' if value.more else ''}]"


def _children_html(value, path, types, depth, open_depth) -> str:
    items = []
    if isinstance(value, Struct):
        for m in value.members:
            items.append(_node_html("." + m.name if m.name not in ANONYMOUS else m.name,
                                    m.value, member_path(path, m.name), types, depth + 1, open_depth))
        if value.more:
            items.append('<li class="stapbench-leaf stapbench-muted">... (stap prints at most 32 fields: '
                         'print the rest as members)</li>')
    else:
        for i, item in enumerate(value.items):
            items.append(_node_html(f"[{i}]", item, f"{path}[{i}]" if path is not None else None,
                                    types, depth + 1, open_depth))
        if value.more:
            items.append('<li class="stapbench-leaf stapbench-muted">... (stap printed only the first element)</li>')
    if not value.closed:
        items.append('<li class="stapbench-leaf stapbench-cut">\u2702 cut here (MAXSTRINGLEN)</li>')
    return "<ul>" + "".join(items) + "</ul>"


def _node_html(label: str, value, path: str | None, types, depth: int, open_depth: int) -> str:
    data = attrs(data_path=path, data_depth=depth)
    if isinstance(value, Atom):
        extra = ""
        if value.kind in ("elided_struct", "elided_array"):
            expr = elided_expression(path, value)
            # plain text, not a chip: nothing to click; the expression selects whole (CSS
            # user-select: all), ready to copy into the script
            extra = (f' <span class="stapbench-muted stapbench-print-with">\u2014 print it with</span> '
                     f'<code class="{classes("stapbench-expr", "stapbench-expr-relative" if expr.startswith(RELATIVE_ROOT) else None)}"'
                     f'{attrs(data_expression=expr)}>{esc(expr)}</code>')
        cls = classes("stapbench-leaf", "stapbench-elided" if extra else None)
        return (f'<li class="{cls}"{data}>{_label_html(label)}{_type_html(types, path)} = '
                f"{_atom_html(value)}{extra}</li>")
    is_open = " open" if depth < open_depth else ""
    return (f'<li class="stapbench-branch"{data}><details class="stapbench-node"{is_open}{data}>'
            f"<summary>{_label_html(label)}{_type_html(types, path)} "
            f'<span class="stapbench-muted">{esc(_count_text(value))}</span></summary>'
            f"{_children_html(value, path, types, depth, open_depth)}</details></li>")


def _truncated_html(length: int, last_path: str | None) -> str:
    size = maxstringlen_fix(length)
    direct = ""
    if last_path is not None:
        direct = (f' or print members directly, e.g. <code class="stapbench-expr"'
                  f'{attrs(data_expression=last_path + "$")}>{esc(last_path)}$</code>')
    return (f'<div class="stapbench-truncated" data-truncated="true">'
            f"<b>\u2702 truncated</b>: stap cut this dump at MAXSTRINGLEN ({length} characters printed); "
            f"the members after the cut are missing. Fix: "
            f'<code class="stapbench-chip stapbench-chip-fix" data-fix="stap">stap -DMAXSTRINGLEN={size}</code>'
            f'<code class="stapbench-chip stapbench-chip-fix" data-fix="magic">%%stap -D MAXSTRINGLEN={size}</code>'
            f"{direct}.</div>")


def _last_member_path(members: list[Member], root: str | None) -> str | None:
    if not members:
        return root
    return member_path(root, members[-1].name)


def render_struct_html(dump: StructDump, *, expression: str | None = None,
                       types: Mapping[str, str] | None = None, open_depth: int = 1) -> str:
    root = dump_root(dump, expression)
    label = dump_title(dump, expression) or (dump.prefix.strip() or "struct")
    body = _node_html(label, dump.value, root or RELATIVE_ROOT, types, 0, open_depth)
    prefix = (f'<div class="stapbench-prefix stapbench-mono">{esc(dump.prefix)}</div>'
              if dump.prefix and root is None else "")
    trunc = _truncated_html(len(dump.raw.rstrip("\r\n")), _last_member_path(dump.value.members, root)) if dump.truncated else ""
    return (f'<div class="stapbench-tree stapbench-block"{attrs(data_expression=root, data_truncated=dump.truncated)}>'
            f"{prefix}<ul>{body}</ul>{trunc}</div>")


def render_vars_html(dump: VarsDump, *, types: Mapping[str, str] | None = None, open_depth: int = 1) -> str:
    items = []
    for m in dump.value:
        root = "$" + m.name
        items.append(_node_html(m.name, m.value, root, types, 0, open_depth))
    prefix = f'<div class="stapbench-prefix stapbench-mono">{esc(dump.prefix)}</div>' if dump.prefix else ""
    last = ("$" + dump.value[-1].name) if dump.value else None
    trunc = _truncated_html(len(dump.raw.rstrip("\r\n")), last) if dump.truncated else ""
    return (f'<div class="stapbench-tree stapbench-vars stapbench-block"{attrs(data_truncated=dump.truncated)}>'
            f"{prefix}<ul>{''.join(items)}</ul>{trunc}</div>")


# --------------------------------------------------------------------------- text

def _node_text(label, value, path, types, indent, out):
    pad = "  " * indent
    tname = f" ({types[path]})" if types and path in types else ""
    if isinstance(value, Atom):
        hint = ""
        if value.kind in ("elided_struct", "elided_array"):
            hint = f"   -> print with {elided_expression(path, value)}"
        out.append(f"{pad}{label}{tname} = {value.text}{hint}")
        return
    out.append(f"{pad}{label}{tname}")
    if isinstance(value, Struct):
        for m in value.members:
            name = "." + m.name if m.name not in ANONYMOUS else m.name
            _node_text(name, m.value, member_path(path, m.name), types, indent + 1, out)
    else:
        for i, item in enumerate(value.items):
            _node_text(f"[{i}]", item, f"{path}[{i}]" if path is not None else None, types, indent + 1, out)
    if value.more:
        out.append(f"{pad}  ...")
    if not value.closed:
        out.append(f"{pad}  -- cut here (MAXSTRINGLEN) --")


def _truncated_text(length: int, last_path: str | None) -> str:
    size = maxstringlen_fix(length)
    direct = f", or print members directly (e.g. {last_path}$)" if last_path else ""
    return (f"[truncated at MAXSTRINGLEN ({length} characters printed): rerun with "
            f"stap -DMAXSTRINGLEN={size} / %%stap -D MAXSTRINGLEN={size}{direct}]")


def render_struct_text(dump: StructDump, *, expression: str | None = None, types=None) -> str:
    root = dump_root(dump, expression)
    out = [] if root is not None or not dump.prefix else [dump.prefix.rstrip()]
    _node_text(dump_title(dump, expression) or "struct", dump.value, root or RELATIVE_ROOT, types, 0, out)
    if dump.truncated:
        out.append(_truncated_text(len(dump.raw.rstrip("\r\n")), _last_member_path(dump.value.members, root)))
    return "\n".join(out)


def render_vars_text(dump: VarsDump, *, types=None) -> str:
    out = [dump.prefix.rstrip()] if dump.prefix else []
    for m in dump.value:
        _node_text(m.name, m.value, "$" + m.name, types, 0, out)
    if dump.truncated:
        out.append(_truncated_text(len(dump.raw.rstrip("\r\n")), ("$" + dump.value[-1].name) if dump.value else None))
    return "\n".join(out)


class DwarfTypes(Mapping):
    """Types of a dump's members, looked up lazily in the module's DWARF.

    ``roots`` gives the types of the root expressions (``{"$c": "ngx_connection_t *"}``:
    from ``Symbolizer.function_params`` of the probed function, or from ``-L``
    listings); a member path's type is the parent type's member, from
    ``symbolizer.member_types(module, parent_type)``; ``[i]`` drops one array
    dimension.  Anonymous members add nothing to a path, so their members are
    looked up in the parent, which the symbols layer flattens.  Unknown paths
    are simply absent (the tree shows no type).
    """

    def __init__(self, symbolizer, module: str, roots: Mapping[str, str]):
        self.symbolizer = symbolizer
        self.module = module
        self.roots = dict(roots)
        self._cache: dict[str, str | None] = {}

    def _lookup(self, path: str) -> str | None:
        if path in self.roots:
            return self.roots[path]
        if path in self._cache:
            return self._cache[path]
        found = None
        m = re.match(r"(?P<parent>.+)(?:->(?P<member>\w+)|\[(?P<index>\d+)\])\Z", path)
        if m:
            parent = self._lookup(m.group("parent"))
            if parent is not None and m.group("member"):
                try:
                    found = self.symbolizer.member_types(self.module, parent).get(m.group("member"))
                except Exception:  # a broken module must not break the tree
                    found = None
            elif parent is not None:
                if "[" in parent:  # char[8] -> char, int[4][2] -> int[2]
                    found = re.sub(r"\[\d*\]", "", parent, count=1)
                elif parent.endswith("*"):  # T * indexed like an array -> T
                    found = parent[:-1].rstrip()
        self._cache[path] = found
        return found

    def __getitem__(self, path: str) -> str:
        found = self._lookup(path)
        if found is None:
            raise KeyError(path)
        return found

    def __contains__(self, path) -> bool:
        return isinstance(path, str) and self._lookup(path) is not None

    def __iter__(self):
        return iter(self.roots)

    def __len__(self) -> int:
        return len(self.roots)


def dwarf_types_for(symbolizer, module: str | None, function: str | None,
                    extra: Mapping[str, str] | None = None) -> Mapping[str, str] | None:
    """``DwarfTypes`` rooted at ``function``'s parameters (``$name``), plus ``extra`` roots."""
    if symbolizer is None or not module or not hasattr(symbolizer, "member_types"):
        return extra
    roots = dict(extra or {})
    if function and hasattr(symbolizer, "function_params"):
        try:
            params = symbolizer.function_params(module, function)
        except Exception:
            params = {}
        for name, type_ in params.items():
            roots.setdefault("$" + name, type_)
    return DwarfTypes(symbolizer, module, roots)


_PROBED_FUNCTION = re.compile(r'process\(\s*"(?P<binary>[^"]+)"\s*\)\s*\.function\(\s*"(?P<function>[A-Za-z_]\w*)')


def script_probed_function(script: str | None, key: str | None = None) -> tuple[str, str] | None:
    """(binary, function) of a ``process("BIN").function("NAME")`` probe of the script: the one
    named ``key`` (a hit's probe name: the first word of its line) if there is one, else the
    first.  Where a hit has no backtrace to say what it probed (the BPF runtime), a dump's
    member types are read from this function's parameters."""
    if not script:
        return None
    found = [(m.group("binary"), m.group("function")) for m in _PROBED_FUNCTION.finditer(script)]
    if not found:
        return None
    return next((f for f in found if f[1] == key), found[0])


_PRINTF = re.compile(r"\bprintf\s*\(")
_CAST_DUMP = re.compile(r"@cast\([^()]*\)\$\$?")


def script_dump_prefixes(script: str | None) -> list[tuple[re.Pattern, str]]:
    """(prefix pattern, expression) for each ``$var$`` a script's printf prints with ``%s``:
    ``printf("sk = %s\\n", $sk$)`` prints a dump after "sk = ", which names no expression, so
    the view could neither root nor type its tree; the script says which it is.  The text
    before the ``%s`` becomes a pattern (other directives match anything)."""
    # a call's arguments (strings and parens honoured), as the $var$ fix reads them
    from ..authoring.structdump import DUMP, FORMAT_DIRECTIVE, call_args

    script = script or ""
    out: list[tuple[re.Pattern, str]] = []
    for m in _PRINTF.finditer(script):
        parsed = call_args(script, m.end() - 1)
        if parsed is None:
            continue
        args = [script[x:y].strip() for x, y in parsed[0]]
        if len(args) < 2 or not (args[0].startswith('"') and args[0].endswith('"')):
            continue
        fmt = args[0][1:-1]
        directives = [d for d in FORMAT_DIRECTIVE.finditer(fmt) if d.group(0) != "%%"]
        for i, d in enumerate(directives):
            if d.group(0) != "%s" or i + 1 >= len(args) or not (DUMP.fullmatch(args[i + 1])
                                                                 or _CAST_DUMP.fullmatch(args[i + 1])):
                continue
            text, at, pattern = fmt[: d.start()], 0, ""
            for other in FORMAT_DIRECTIVE.finditer(text):
                pattern += re.escape(text[at: other.start()].replace("%%", "%")) + ".*?"
                at = other.end()
            pattern += re.escape(text[at:].replace("%%", "%"))
            # the dump's line starts after the format's last newline before it
            pattern = pattern.rsplit(re.escape("\\n"), 1)[-1]
            out.append((re.compile(pattern.replace(re.escape("\\t"), "\t") + r"\Z", re.S), args[i + 1]))
    return out


def expression_for(prefix: str, patterns: list[tuple[re.Pattern, str]]) -> str | None:
    """The expression the script printed after ``prefix`` (:func:`script_dump_prefixes`), when
    exactly one pattern fits; None when none or several do (several would be a guess)."""
    if not prefix or infer_expression(prefix):
        return None  # the prefix names it ($c$=): the tree reads it from there
    found = {expr for pattern, expr in patterns if pattern.fullmatch(prefix)}
    return found.pop() if len(found) == 1 else None


def types_from_listings(listings) -> dict[str, str]:
    """``{"$c": "ngx_connection_t*"}`` from ``stap -L`` listings' ``$name:type`` parameters."""
    types: dict[str, str] = {}
    for listing in listings:
        for p in listing.params:
            name = p.name if p.name.startswith("$") else None
            if name:
                types.setdefault(name, p.type)
    return types
