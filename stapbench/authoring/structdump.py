"""``$var$`` on the BPF runtime: the rewrite to a generated struct printer.

stap pretty-prints ``$c$`` (and ``$c$$``) with sprintf, which its BPF runtime refuses
(``semantic error: unsupported sprintf in bpf kernel probe``, pointing into a tapset, not at
the cell).  :func:`rewrite_struct_dumps` finds each ``$name$`` that a print call in the cell
prints, looks the parameter's type up in the probed function's listing (:mod:`.catalog`) and its
members in DWARF (:mod:`.printer`), and gives back the script with that argument printed by the
generated printer instead: a ``$c$={.fd=3, ...}`` line, which the parser reads as the struct
tree a kernel-runtime dump gives (named, so the view types it from DWARF), never cut at
MAXSTRINGLEN.

Only the parameters' own members (one level, as ``$c$``; ``$c$$`` follows pointers, which a
BPF probe's stack does not hold), and at most :data:`~.printer.MAX_FIELDS` of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .printer import MAX_FIELDS, _reader, first_fields, printer, struct_fields

# how stap's print calls are read here, and by the views (valuetree, diagnostics) too:
# a pretty-printed dump ($c$, $c$$, $c->log$; not $$vars, which has no root) ...
DUMP = re.compile(r"(?<![\w$])\$(?P<name>[A-Za-z_]\w*)(?P<path>(?:->[A-Za-z_]\w*)*)\$(?P<deep>\$?)(?![\w$])")
_CALL = re.compile(r"\b(?P<fn>printf|println|print)\s*\(")
# ... and a printf directive, as stap's format parser takes them; %% is a literal
FORMAT_DIRECTIVE = re.compile(r"%(?:%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlLjzt]*[a-zA-Z])")


@dataclass(frozen=True)
class DumpRewrite:
    """The rewritten script and what it did: ``printed`` maps each ``$name$`` rewritten to
    (members printed, members the struct has that a printer can take)."""

    script: str
    printed: dict[str, tuple[int, int]]

    @property
    def title(self) -> str:
        parts = []
        for name, (shown, total) in self.printed.items():
            parts.append(f"${name}" + (f" ({shown} of {total} members: numbers, flags first)" if shown < total
                                       else f" ({shown} members)"))
        return f"print {', '.join(parts)} member by member (BPF has no $var$)"


def call_args(text: str, open_paren: int) -> tuple[list[tuple[int, int]], int] | None:
    """The (start, end) spans of a call's top-level arguments and the offset just past its
    closing paren, strings and nested parens honoured; None if it does not close on the line."""
    depth, i, start, spans = 0, open_paren + 1, open_paren + 1, []
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0:
                spans.append((start, i))
                return spans, i + 1
            depth -= 1
        elif c == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
        i += 1
    return None


def _printf(text: str, args: list[str]) -> str:
    return f'printf("{text}"' + "".join(", " + a for a in args) + ")"


def _rewrite_call(line: str, call: re.Match, name: str, fields) -> tuple[str, int, int] | None:
    """``line`` with the print call at ``call`` printing ``$name$`` through the generated
    printer: the call's text before the dump, the struct as ``{.a=1, ...}``, the text after,
    in the order and with the line ends the call had (what the kernel runtime prints).  With it,
    where the new statements end in it, and how many members they print: what one BPF probe's
    stack holds, less the call's other values."""
    parsed = call_args(line, call.end() - 1)
    if parsed is None:
        return None
    spans, end = parsed
    args = [line[a:b].strip() for a, b in spans]
    target = [i for i, a in enumerate(args) if (m := DUMP.fullmatch(a)) and m.group("name") + m.group("path") == name]
    if not target:
        return None
    k = target[0]
    fn = call.group("fn")
    expr = f"${name}"
    # "$c$=" before the braces: the line names the dump it prints (as "$c$={...}" does), so the
    # view roots its tree at $c, titles it so and reads its members' types from DWARF
    label = args[k] + "="
    fields = first_fields(fields, MAX_FIELDS - max(0, len(args) - 2))
    if fn in ("print", "println"):
        if len(args) != 1:
            return None  # print(a, b) concatenates: rare with a struct; left as it is
        code = "; ".join(printer(expr, fields, label=label, end="\\n" if fn == "println" else "").splitlines())
        return line[: call.start()] + code + line[end:], call.start() + len(code), len(fields)
    fmt = args[0]
    if k == 0 or not (fmt.startswith('"') and fmt.endswith('"')):
        return None
    directives = [m for m in FORMAT_DIRECTIVE.finditer(fmt) if m.group(0) != "%%"]
    if len(directives) < k or len(directives) != len(args) - 1:
        return None
    d = directives[k - 1]
    before, after = fmt[1: d.start()], fmt[d.end(): -1]
    statements = [_printf(before, args[1:k])] if before or args[1:k] else []
    rest = ""  # what the call prints after the dump: it may hold the next dump, searched next
    if after == "\\n" and k == len(args) - 1:
        statements += printer(expr, fields, label=label, end="\\n").splitlines()
    else:
        statements += printer(expr, fields, label=label, end="").splitlines()
        if after or args[k + 1:]:
            rest = "; " + _printf(after, args[k + 1:])
    code = "; ".join(statements)
    return line[: call.start()] + code + rest + line[end:], call.start() + len(code), len(fields)


def _dump_type(symbolizer, binary: str, param_type: str, path: list[str]) -> str | None:
    """The C type of ``$param->a->b`` from the parameter's type and DWARF, or None."""
    from .completion import _pointee

    type_ = param_type
    for member in path:
        type_ = symbolizer.member_types(binary, _pointee(type_)).get(member)
        if type_ is None:
            return None
    return type_


def rewrite_struct_dumps(script: str, *, catalogs, symbolizer, magic_line: str = "%%stap") -> DumpRewrite | None:
    """The script with each printed ``$name$`` / ``$name$$`` / ``$name->member$`` of a process
    function's pointer parameter printed by a generated printer; None when there is none it can
    rewrite."""
    from .completion import StapCompleter, _current_probe, _LEXER

    completer = StapCompleter(catalogs=catalogs, symbolizer=symbolizer)
    lines = script.splitlines(keepends=True)
    offset = 0
    printed: dict[str, tuple[int, int]] = {}
    out = []
    for line in lines:
        new, at = line, 0
        # left to right over the line as it is rewritten: the search goes on after each rewrite's
        # statements (their labels hold "$c$=" too, inside strings)
        while (dump := DUMP.search(new, at)) is not None:
            at = dump.end()
            name = dump.group("name") + dump.group("path")
            before = script[:offset] + new[: dump.start()]
            probe = _current_probe(list(_LEXER.get_tokens_unprocessed(before)), before)
            binary, entry, _ = completer._probe_function(probe, magic_line)
            type_ = entry.param_types.get(dump.group("name")) if entry is not None else None
            if binary is None or type_ is None:
                continue
            type_ = _dump_type(symbolizer, binary, type_, re.findall(r"->(\w+)", dump.group("path")))
            if type_ is None:
                continue
            by_value = not type_.rstrip().endswith("*")
            if by_value and not dump.group("path"):
                continue  # a struct parameter passed by value: not what $c$ is about
            # a member struct held by value has no address to read a bit-field's word from
            fields = [f for f in struct_fields(symbolizer, binary, type_)
                      if _reader(f"${name}", f) is not None and not (by_value and f.bit_size is not None)]
            if not fields:
                continue
            call = None
            for m in _CALL.finditer(new):
                if m.start() < dump.start():
                    call = m
            if call is None:
                continue
            rewritten = _rewrite_call(new, call, name, fields)
            if rewritten is not None:
                new, at, shown = rewritten
                printed[name] = (shown, len(fields))
        out.append(new)
        offset += len(line)
    if not printed:
        return None
    return DumpRewrite("".join(out), printed)
