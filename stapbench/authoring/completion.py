"""Completion inside a ``%%stap`` cell, from what stap itself would accept there.

:class:`StapCompleter` is pure Python (the IPython glue is ``stapbench.magics.authoring``): given
the cell's text and the cursor offset it says which fragment before the cursor to replace and
with what.  It reads the cell with the SystemTap lexer (so strings and comments are told apart)
and offers, by where the cursor is:

- on the ``%%stap`` line: the magic's options (and ``--runtime``'s values);
- in a probe point: the probe point kinds that may come next (``process(``, ``.function(``,
  ``.return``, ``timer.s(``...), and inside ``.function("`` / ``.mark("`` the target binary's
  functions or markers from its cached ``stap -L`` listing (:mod:`.catalog`); the binary is the
  ``process("...")`` path, a ``process(PID)``'s executable, or the ``-x``/``-c`` target of the
  ``%%stap`` line for a bare ``process``;
- in a probe's body: after ``$``, the ``$context`` variables of the probe the cursor is in (its
  function's parameters, ``$return`` in a return probe, ``$$vars``...); after ``$c->`` (any
  depth, ``$c->log->``), the members of the pointed-to struct from DWARF; after ``@``, the
  ``@cast``/``@var``/``@count``... operators; otherwise keywords, tapset functions and the
  script's own functions and globals.

Every list is ranked by closeness to the typed fragment (:mod:`.ranking`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pygments.token import Comment, Keyword, Name, Punctuation, String

from .lexer import AT_OPERATORS, KEYWORDS, SystemTapLexer
from .ranking import rank
from .tapsets import tapset_functions

MAX_ITEMS = 200
_LEXER = SystemTapLexer(stripnl=False, ensurenl=False)

# What may follow a probe point component, by the component's name ("" is the start).
TOP_LEVEL = ["process(", "process.", "kernel.", "module(", "begin", "end", "error", "never", "timer.",
             "syscall.", "kprobe.", "perf.", "procfs(", "netfilter.", "tp_syscall.", "java("]
AFTER = {
    "process": ["function(", "statement(", "mark(", "provider(", "plt(", "begin", "end", "thread.begin",
                "thread.end", "syscall", "insn", "library("],
    "kernel": ["function(", "statement(", "trace(", "mark(", "data("],
    "module": ["function(", "statement("],
    "function": ["return", "call", "inline", "exported", "callee(", "callees(", "label("],
    "statement": ["nearest", "absolute"],
    "mark": [],
    "provider": ["mark("],
    "library": ["function(", "statement(", "mark(", "plt("],
    "plt": ["return"],
    "timer": ["s(", "ms(", "us(", "ns(", "hz(", "jiffies(", "profile", "sec("],
    "syscall": ["*", "open", "read", "write", "close", "openat"],
    "kprobe": ["function(", "statement(", "module("],
    "thread": ["begin", "end"],
    "procfs": ["read", "write", "umask("],
}
PSEUDO_VARIABLES = ["$$vars", "$$parms", "$$locals", "$$vars$", "$$parms$", "$$locals$"]
STATEMENT_KEYWORDS = sorted(set(KEYWORDS) - {"probe", "function", "global", "private"}) + ["long", "string"]
TOP_KEYWORDS = ["probe", "function", "global", "private", "@define"]
RUNTIMES = ("kernel", "bpf", "dyninst")


@dataclass(frozen=True)
class Completion:
    text: str
    kind: str  # option, probe, function, mark, context, member, operator, tapset, keyword, script
    detail: str = ""  # a type, a signature, a file:line


@dataclass
class CompletionResult:
    start: int  # offset in the cell of the fragment the completions replace (it ends at the cursor)
    end: int
    items: list[Completion] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.items]


@dataclass
class _Probe:
    """The probe point the cursor is in or below, as far as completion needs it."""

    text: str  # between `probe` and `{` (or up to the cursor)
    body_start: int | None  # offset just after its `{`, None when the cursor is still in the point


class StapCompleter:
    def __init__(self, *, catalogs=None, symbolizer=None, options: Callable[[], list[str]] | None = None,
                 resolve_name: Callable[[str], object] | None = None, listing_wait: float | None = None):
        """``listing_wait``: how long a completion waits for a binary's first ``stap -L`` (None:
        until it is there); past it the answer has no names and the listing goes on, for the
        next Tab (the kernel answers nothing else while a completion runs)."""
        from .catalog import shared_cache

        self.catalogs = catalogs if catalogs is not None else shared_cache()
        self.listing_wait = listing_wait
        self.symbolizer = symbolizer
        self._options = options
        self.resolve_name = resolve_name  # `{name}` on the %%stap line -> its Python value

    # -- entry point ------------------------------------------------------------------
    def complete(self, cell: str, cursor: int) -> CompletionResult | None:
        """None when the cell is no ``%%stap`` cell, or the cursor is in a ``{python}`` expansion."""
        if not cell.startswith("%%stap"):
            return None
        newline = cell.find("\n")
        if newline < 0 or cursor <= newline:
            return self._magic_line(cell[: cursor])
        magic_line = cell[:newline]
        before = cell[newline + 1: cursor]
        body_offset = newline + 1
        tokens = list(_LEXER.get_tokens_unprocessed(before))
        if tokens and _in_comment(tokens, before):
            return CompletionResult(cursor, cursor)
        probe = _current_probe(tokens, before)
        if probe is not None and probe.body_start is None:
            return self._probe_point(probe.text, magic_line, cursor)
        return self._body(before, tokens, probe, magic_line, cursor, body_offset)

    # -- the %%stap line ----------------------------------------------------------------
    def _magic_line(self, line: str) -> CompletionResult | None:
        if line.count("{") > line.count("}"):
            return None  # a Python expression: IPython's own completion
        fragment = re.search(r"\S*$", line).group(0)
        end = len(line)
        words = line.split()
        previous = words[-2] if fragment and len(words) >= 2 else (words[-1] if words and not fragment else "")
        if previous == "--runtime" or fragment.startswith("--runtime="):
            value = fragment.split("=", 1)[1] if "=" in fragment else fragment
            return CompletionResult(end - len(value), end, [Completion(r, "option") for r in rank(value, RUNTIMES)])
        if fragment.startswith("-") or fragment == "":
            names = rank(fragment, self.options()) if fragment else self.options()
            return CompletionResult(end - len(fragment), end, [Completion(n, "option") for n in names])
        return CompletionResult(end - len(fragment), end)

    def options(self) -> list[str]:
        if self._options is not None:
            return self._options()
        return magic_options()

    # -- a probe point --------------------------------------------------------------------
    def _probe_point(self, point: str, magic_line: str, cursor: int) -> CompletionResult:
        m = re.search(r'\.(function|mark)\("([^"@]*)$', point)
        if m:
            fragment = m.group(2)
            binary = target_binary(point[: m.start()], magic_line, self.resolve_name)
            items = self._binary_items(binary, m.group(1), fragment) if binary else []
            return CompletionResult(cursor - len(fragment), cursor, items)
        if point.replace('\\"', "").count('"') % 2:
            return CompletionResult(cursor, cursor)  # some other string: a path, a pattern
        m = re.search(r"[A-Za-z_*][\w*]*$", point)
        fragment = m.group(0) if m else ""
        head = point[: len(point) - len(fragment)]
        after = re.search(r"([A-Za-z_]\w*)(?:\([^()]*\))?\.$", head)
        if after:
            choices = AFTER.get(after.group(1), [])
        elif re.search(r"(^|[\s,=]|%[?:(])$", head):
            choices = TOP_LEVEL
        else:
            choices = []
        return CompletionResult(cursor - len(fragment), cursor,
                                [Completion(c, "probe") for c in rank(fragment, choices, keep_order=True)])

    def _catalog(self, binary: str):
        if self.listing_wait is None or not hasattr(self.catalogs, "get_within"):
            return self.catalogs.get(binary)
        return self.catalogs.get_within(binary, self.listing_wait)

    def _binary_items(self, binary: str, kind: str, fragment: str) -> list[Completion]:
        catalog = self._catalog(binary)
        if catalog is None:
            return []  # still listing (the next Tab has it)
        entries = catalog.functions if kind == "function" else catalog.marks
        by_name = {}
        for e in entries:
            by_name.setdefault(e.name, e)
        out = []
        for name in rank(fragment, by_name, MAX_ITEMS):
            e = by_name[name]
            where = f"{e.file}:{e.line}" if e.file else ""
            out.append(Completion(name, kind, where))
        return out

    # -- a probe's body ----------------------------------------------------------------------
    def _body(self, before: str, tokens, probe: _Probe | None, magic_line: str, cursor: int,
              body_offset: int) -> CompletionResult:
        if tokens and tokens[-1][1] in String and not before.endswith('"'):
            return CompletionResult(cursor, cursor)  # inside a string
        m = re.search(r"(\$\w+)((?:->\w+|\[[^\]\n]*\])*)->(\w*)$", before)
        if m:
            fragment = m.group(3)
            members = self._members(probe, magic_line, m.group(1), re.findall(r"->(\w+)", m.group(2)))
            return CompletionResult(cursor - len(fragment), cursor,
                                    [Completion(n, "member", members[n]) for n in rank(fragment, members, MAX_ITEMS)])
        m = re.search(r"\$\$?\w*\$?$", before)
        if m:
            fragment = m.group(0)
            variables = self._context_variables(probe, magic_line)
            return CompletionResult(cursor - len(fragment), cursor,
                                    [Completion(n, "context", variables[n]) for n in rank(fragment, variables)])
        m = re.search(r"@\w*$", before)
        if m:
            fragment = m.group(0)
            names = {f"@{n}(": "" for n in AT_OPERATORS} | {f"@{n}(": "" for n in
                                                            ("count", "sum", "min", "max", "avg", "hist_log", "hist_linear", "variance")}
            return CompletionResult(cursor - len(fragment), cursor,
                                    [Completion(n, "operator") for n in rank(fragment, names)])
        m = re.search(r"(?<![\w$@>.])[A-Za-z_]\w*$", before)
        fragment = m.group(0) if m else ""
        if not fragment and not re.search(r"(^|[\s;{}()=,!&|+\-*/<>])$", before):
            return CompletionResult(cursor, cursor)
        names: dict[str, tuple[str, str]] = {}
        for word in (STATEMENT_KEYWORDS if probe is not None and probe.body_start is not None
                     and _depth(before[probe.body_start:]) > 0 else TOP_KEYWORDS + STATEMENT_KEYWORDS):
            names.setdefault(word, ("keyword", ""))
        for name, kind in _script_names(tokens).items():
            names.setdefault(name, ("script", kind))
        for name, signature in tapset_functions().items():
            names.setdefault(name, ("tapset", signature))
        return CompletionResult(cursor - len(fragment), cursor,
                                [Completion(n, *names[n]) for n in rank(fragment, names, MAX_ITEMS)])

    def _probe_function(self, probe: _Probe | None, magic_line: str):
        """(binary, catalog entry, is a return probe) of the probe's first process function point,
        or its SDT marker (``.mark("NAME")``: the entry lists its ``$argN``)."""
        if probe is None:
            return None, None, False
        m = re.search(r'\.(function|mark)\("([^"@*?]+)[^"]*"\)', probe.text)
        binary = target_binary(probe.text[: m.start()] if m else probe.text, magic_line, self.resolve_name)
        if m is None or binary is None:
            return binary, None, False
        catalog = self._catalog(binary)
        if catalog is None:
            return binary, None, False
        if m.group(1) == "mark":
            return binary, catalog.mark(m.group(2)), False
        is_return = bool(re.match(r"\.return\b", probe.text[m.end():].lstrip()))
        return binary, catalog.function(m.group(2)), is_return

    def _context_variables(self, probe: _Probe | None, magic_line: str) -> dict[str, str]:
        _binary, entry, is_return = self._probe_function(probe, magic_line)
        found = {}
        if entry is not None:
            for name, type_ in entry.params:
                found["$" + name.lstrip("$")] = type_
        if is_return:
            found["$return"] = "the return value"
        for name in PSEUDO_VARIABLES + (["$$return"] if is_return else []):
            found[name] = ""
        return found

    def _members(self, probe: _Probe | None, magic_line: str, variable: str, path: list[str]) -> dict[str, str]:
        binary, entry, _ = self._probe_function(probe, magic_line)
        if binary is None or entry is None or self.symbolizer is None:
            return {}
        type_ = entry.param_types.get(variable.lstrip("$"))
        for member in path:
            if type_ is None:
                return {}
            type_ = self.symbolizer.member_types(binary, _pointee(type_)).get(member)
        if type_ is None:
            return {}
        return self.symbolizer.member_types(binary, _pointee(type_))


def _pointee(type_: str) -> str:
    """``ngx_connection_t*`` -> ``ngx_connection_t`` (arrays and one pointer level off)."""
    return re.sub(r"\s*(\[\d*\]|\*)\s*$", "", type_.strip())


def _depth(text: str) -> int:
    return text.count("{") - text.count("}")


def _in_comment(tokens, before: str) -> bool:
    _, kind, value = tokens[-1]
    return kind in Comment and not kind in Comment.Preproc and not before.endswith("\n")


def _current_probe(tokens, before: str) -> _Probe | None:
    """The last ``probe`` before the cursor: its point's text, and where its body starts."""
    start = None
    for i in range(len(tokens) - 1, -1, -1):
        _, kind, value = tokens[i]
        if kind in Keyword and value == "probe":
            start = i
            break
    if start is None:
        return None
    point_start = tokens[start][0] + len("probe")
    for offset, kind, value in tokens[start + 1:]:
        if (kind in Punctuation and value == "{") or (kind in Keyword and value == "if"):
            brace = before.find("{", offset)
            return _Probe(text=before[point_start:offset], body_start=(brace + 1) if brace >= 0 else len(before))
    return _Probe(text=before[point_start:], body_start=None)


def _script_names(tokens) -> dict[str, str]:
    """The script's own functions and globals, from its tokens."""
    found = {}
    words = [(kind, value) for _, kind, value in tokens if value.strip()]
    for i, (kind, value) in enumerate(words):
        if kind in Name.Function:
            found[value] = "function"
        elif kind in Keyword and value == "global":
            for kind2, value2 in words[i + 1:]:
                if kind2 is Name:
                    found.setdefault(value2, "global")
                elif value2 not in (",", "[", "]", "%") and kind2 not in Name and not value2.isdigit():
                    break
    return found


def target_binary(point: str, magic_line: str, resolve_name=None) -> str | None:
    """The executable a ``process`` probe point (the text before ``.function(``) names."""
    m = None
    for m in re.finditer(r'process(?:\(\s*(?:"([^"]*)"|(\d+))\s*\))?', point):
        pass
    if m is None:
        return None
    path, pid = m.group(1), m.group(2)
    if path:
        return _executable(path)
    if pid:
        return _pid_executable(pid)
    return _magic_target(magic_line, resolve_name)


def _executable(path: str) -> str | None:
    if "/" in path:
        return path if Path(path).is_file() else None
    return shutil.which(path)


def _pid_executable(pid) -> str | None:
    try:
        return str(Path(f"/proc/{int(pid)}/exe").resolve(strict=True))
    except (OSError, ValueError):
        return None


def _magic_target(magic_line: str, resolve_name=None) -> str | None:
    """``-x PID`` / ``-c CMD`` of the ``%%stap`` line (``{name}`` looked up, nothing evaluated)."""
    import shlex

    try:
        words = shlex.split(magic_line)[1:]
    except ValueError:
        return None

    def value(word: str):
        m = re.fullmatch(r"\{([A-Za-z_]\w*)\}", word)
        if m:
            return resolve_name(m.group(1)) if resolve_name is not None else None
        return word

    for i, word in enumerate(words[:-1]):
        if word in ("-x", "--pid"):
            return _pid_executable(value(words[i + 1]))
        if word in ("-c", "--cmd"):
            command = value(words[i + 1])
            first = shlex.split(command)[0] if isinstance(command, str) and command.strip() else None
            return _executable(first) if first else None
    return None


def magic_options() -> list[str]:
    """The ``%%stap`` line's option strings, from the magic's own argument parser."""
    from ..magics import stap as stap_magic

    parser = None
    if hasattr(stap_magic, "stap_arg_parser"):
        parser = stap_magic.stap_arg_parser()
    elif hasattr(getattr(stap_magic, "StapMagics", None), "stap"):
        parser = getattr(stap_magic.StapMagics.stap, "parser", None)
    if parser is None:
        return []
    seen = []
    for action in parser._actions:  # argparse keeps no public list of its options
        for option in action.option_strings:
            if option not in seen:
                seen.append(option)
    return sorted(seen, key=lambda o: (not o.startswith("--"), o))
