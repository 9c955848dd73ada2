"""Fixes that fix: for a stap diagnostic, whole fixed scripts, closest first.

stap's own suggestions are five names in its order ("similar functions: ...") or forty
alternatives in DWARF order; :class:`FixFinder` turns a diagnostic into :class:`Fix` es, each a
title and the complete fixed script (what one click puts in the cell, under its ``%%stap``
line), ranked by closeness to what was written:

- ``no match`` on ``.function("NAME")``: the closest names of the binary's cached listing
  (:mod:`.catalog`), not only stap's five;
- ``no match`` on ``.mark("NAME")``: the binary's closest markers, or, when it has no SDT
  markers at all (said in the title), the ``.function`` probes closest to the marker's name;
- an unknown member (``unable to find member 'numbr' ... (alternatives: ...)``): the
  alternatives, closest first, replacing that member at the ``->`` stap points at;
- any other diagnostic carrying ``similar`` names: each one put in place of the token;
- ``unsupported sprintf in bpf`` where the cell prints ``$c$`` / ``$c$$``: the cell with those
  structs printed member by member by a generated printer (:mod:`.structdump`), which the BPF
  runtime runs and stapbench shows as the same struct tree.

It is fed diagnostics in the order stap prints them (``no match`` comes after the
``while resolving probe point`` line that says where), so it works on a live stream.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..model import Diagnostic
from .completion import target_binary

MAX_FIXES = 12
_MEMBER = re.compile(r"unable to find member '(?P<name>\w+)' for (?P<what>.*?) \(alternatives: ")
_POINT_FUNCTION = re.compile(r'\.(?P<kind>function|mark)\("(?P<name>[^"@]*)(?P<rest>(?:@[^"]*)?)"\)')


@dataclass(frozen=True)
class Fix:
    title: str
    script: str

    def to_json(self) -> dict:
        return {"title": self.title, "script": self.script}


def closest(wrong: str, names, limit: int = MAX_FIXES) -> list[str]:
    """``names`` by similarity to ``wrong``, the best first: how many of its words (``_``-separated,
    three letters or more) a name holds, then difflib's ratio, then a shared prefix."""
    words = [w for w in re.split(r"_+", wrong.lower()) if len(w) >= 3]

    def score(name: str):
        low = name.lower()
        matcher = difflib.SequenceMatcher(None, wrong.lower(), low)
        internal = name.startswith("_") and not wrong.startswith("_")  # _start, __libc_*: rarely meant
        return (-sum(w in low for w in words), internal, -matcher.ratio(), -len(_common_prefix(wrong, name)), len(name), name)

    candidates = {n for n in names if n and n != wrong}
    # a quick filter first: a listing has thousands of names
    if len(candidates) > 200:
        quick = set(difflib.get_close_matches(wrong, candidates, n=60, cutoff=0.4))
        quick |= {n for n in candidates if any(w in n.lower() for w in words) or n.lower() in wrong.lower()}
        candidates = quick
    return sorted(candidates, key=score)[:limit]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def magic_line_for(options) -> str:
    """A ``%%stap`` line naming the run's ``-x``/``-c`` target (RunOptions), so a pathless
    ``process.function(...)`` resolves to the binary the run probed."""
    import shlex

    from ..runner.options import stap_command

    if options is None:
        return "%%stap"
    if options.pid is not None:
        return f"%%stap -x {int(options.pid)}"
    if options.cmd is not None:
        return "%%stap -c " + shlex.quote(stap_command(options.cmd))
    return "%%stap"


class FixFinder:
    def __init__(self, script: str, *, catalogs=None, magic_line: str = "%%stap", symbolizer=None):
        self.script = script
        self.lines = script.splitlines(keepends=True)
        self._catalogs = catalogs
        self._symbolizer = symbolizer
        self.magic_line = magic_line
        self._resolving: Diagnostic | None = None  # the last "while resolving probe point" seen
        self._dumps_offered = False  # the $var$ rewrite is one fix for the cell, offered once

    @property
    def symbolizer(self):
        if self._symbolizer is None:
            from ..symbols import Symbolizer

            self._symbolizer = Symbolizer()
        return self._symbolizer

    @property
    def catalogs(self):
        if self._catalogs is None:
            from .catalog import shared_cache

            self._catalogs = shared_cache()
        return self._catalogs

    def fixes(self, diag: Diagnostic) -> list[Fix]:
        message = diag.message or ""
        if "while resolving probe point" in message:
            self._resolving = diag
            return []
        if message.startswith("no match") and self._resolving is not None:
            return self._no_match(diag, self._resolving)
        # stap's two ways of refusing $c$ on BPF: its pretty-printer's sprintf (reported in a
        # tapset), or the format it makes for a big struct (reported at the $c$ of the cell)
        if "unsupported sprintf in bpf" in message or (
                "Format string for print too long" in message and diag.token and diag.token.endswith("$")):
            return self._struct_dumps()
        m = _MEMBER.search(message)
        if m and diag.line:
            return self._member(diag, m.group("name"))
        if diag.similar and diag.line and diag.token:
            return self._similar(diag)
        return []

    # -- helpers -------------------------------------------------------------------------
    def _line(self, number: int | None) -> str | None:
        if number is None or not 1 <= number <= len(self.lines):
            return None
        return self.lines[number - 1]

    def _with_line(self, number: int, text: str) -> str:
        lines = list(self.lines)
        lines[number - 1] = text
        return "".join(lines)

    def _no_match(self, diag: Diagnostic, where: Diagnostic) -> list[Fix]:
        line = self._line(where.line)
        if line is None:
            return []
        start = max((where.column or 1) - 1, 0)
        point = _POINT_FUNCTION.search(line, start)
        if point is None:
            return self._similar_at(where.line, line, diag)
        binary = target_binary(line[start: point.start()], self.magic_line)
        catalog = self.catalogs.get(binary) if binary else None
        wrong, kind = point.group("name"), point.group("kind")

        def replaced(new_kind: str, name: str, rest: str = "") -> str:
            text = line[: point.start()] + f'.{new_kind}("{name}{rest}")' + line[point.end():]
            return self._with_line(where.line, text)

        if kind == "function":
            names = catalog.function_names if catalog is not None and catalog.functions else diag.similar
            out = []
            for name in closest(wrong, set(names) | set(diag.similar)):
                entry = catalog.function(name) if catalog is not None else None
                place = f"  {entry.file}:{entry.line}" if entry is not None and entry.file else ""
                out.append(Fix(f'function("{name}"){place}', replaced("function", name, point.group("rest"))))
            return out
        if catalog is None:
            return []
        if catalog.marks:
            # its closest markers first, then the functions that fit the name (a marker is often
            # named after the function it sits in: function__entry in _PyEval_EvalFrameDefault)
            marks = [Fix(f'mark("{name}")', replaced("mark", name))
                     for name in closest(wrong, {m.name for m in catalog.marks}, MAX_FIXES // 2)]
            functions = [Fix(f'function("{name}")', replaced("function", name))
                         for name in closest(wrong, catalog.function_names, MAX_FIXES - len(marks))]
            return marks + functions
        # no SDT markers at all: a .mark probe can never match; the functions that fit its name
        return [Fix(f'{catalog.binary.rsplit("/", 1)[-1]} has no SDT markers: function("{name}")',
                    replaced("function", name)) for name in closest(wrong, catalog.function_names)]

    def _struct_dumps(self) -> list[Fix]:
        if self._dumps_offered:
            return []
        self._dumps_offered = True
        from .structdump import rewrite_struct_dumps

        rewrite = rewrite_struct_dumps(self.script, catalogs=self.catalogs, symbolizer=self.symbolizer,
                                       magic_line=self.magic_line)
        return [Fix(rewrite.title, rewrite.script)] if rewrite is not None else []

    def _member(self, diag: Diagnostic, wrong: str) -> list[Fix]:
        line = self._line(diag.line)
        if line is None:
            return []
        start = max((diag.column or 1) - 1, 0)
        m = re.compile(r"->\s*" + re.escape(wrong) + r"\b").search(line, start)
        if m is None:
            m = re.compile(r"->\s*" + re.escape(wrong) + r"\b").search(line)
        if m is None:
            return []
        return [Fix(f"->{name}", self._with_line(diag.line, line[: m.start()] + "->" + name + line[m.end():]))
                for name in closest(wrong, diag.similar)]

    def _similar(self, diag: Diagnostic) -> list[Fix]:
        line = self._line(diag.line)
        return self._similar_at(diag.line, line, diag) if line is not None else []

    def _similar_at(self, number: int, line: str, diag: Diagnostic) -> list[Fix]:
        token = diag.token
        if not token or not diag.similar:
            return []
        at = line.find(token, max((diag.column or 1) - 1, 0))
        if at < 0:
            at = line.find(token)
        if at < 0:
            return []
        return [Fix(name, self._with_line(number, line[:at] + name + line[at + len(token):]))
                for name in closest(token, diag.similar)]


def fixes_for(diagnostics, script: str, *, catalogs=None, magic_line: str = "%%stap") -> list[list[Fix]]:
    """The fixes of each diagnostic, in order (a list per diagnostic)."""
    finder = FixFinder(script, catalogs=catalogs, magic_line=magic_line)
    return [finder.fixes(d) for d in diagnostics]


def json_with_fixes(script: str, *, catalogs=None, magic_line: str = "%%stap"):
    """``event -> JSON line`` as ``parse --json`` prints it, a diagnostic with its ``fixes`` list
    (``stapbench run --json``, ``--check`` above all); ``magic_line``: :func:`magic_line_for`
    the run's options."""
    from ..model.serialize import dumps_event

    finder = FixFinder(script, catalogs=catalogs, magic_line=magic_line)

    def dumps(event) -> str:
        if isinstance(event, Diagnostic):
            return dumps_event(event, {"fixes": [f.to_json() for f in finder.fixes(event)]})
        return dumps_event(event)

    return dumps
