"""stap's own messages (FORMATS.md §3): headers, continuation lines, tokens.

A diagnostic block is collected line by line by :class:`DiagnosticBuilder`
(driven by :mod:`.lines`) and turned into one :class:`~stapbench.model.Diagnostic`
when it ends.  Pure functions here; the only state is ``FileMemory``, the
"file of the previously printed token" that stap elides (``at :2:3``).
"""

from __future__ import annotations

import re

from ..model import Diagnostic, Summary
from ..model.numbers import decimal_or_none
from .tokens import near_token, tail_token, token_at

__all__ = [
    "DiagnosticBuilder", "FileMemory", "SummaryBuilder", "classify_stap_line", "parse_token",
]

# Every expression here runs in time linear in the line (possessive quantifiers where a
# backtracking one was quadratic); token locations are found by .tokens, without regexes.
_SIMILAR = re.compile(r"\((similar(?: functions)?|alternatives): ([^()]*+(?:\([^()]*+\)[^()]*+)*+)\)")
_MAN = re.compile(r"\[man ([^\]]+)\]")
_CARET = re.compile(r"[ \t]*\^\Z")
_SOURCE = re.compile(r"[ \t]*source: ")
_PASS = re.compile(r"Pass (\d+): (.*)\Z")
_PASS_FAILED = re.compile(r"Pass (\d+): .*? failed\.(?:  .*)?\Z")
_REAL_MS = re.compile(r"(?<!\d)(\d++)real ms")
# stap 5.6 --semantic-keep-going: SEMANTIC_ERROR<TAB>file<TAB>line<TAB>col<TAB>token<TAB>message
_CATALOG = re.compile(r"SEMANTIC_ERROR\t([^\t]*)\t(\d*)\t(\d*)\t([^\t]*)\t(.*)\Z")
_CATALOG_FRAME = re.compile(r"SEMANTIC_ERRORS(?:: \d+|_END)\Z")
_SUPPRESSED = re.compile(r"Number of similar (?:error|warning) messages suppressed: \d+\.\Z")
_PARSE_ERRORS = re.compile(r"\d+ parse error(?:s|\(s\))?\.\Z")
_ERRORS_SKIPPED = re.compile(r"Number of errors: (\d+), skipped probes: (\d+)\Z")
_SKIPPED_DUE = re.compile(r"Skipped due to (.*): (\d+)\Z")
_STAPRUN_EXITED = "staprun exited with status: "
_STATUS = re.compile(r"-?\d+\Z")
# stap's free-form hint lines (rpm_finder.cxx, buildrun.cxx, main.cxx), shown as notes
_NOTE_PREFIXES = (
    "Missing separate debuginfos, use: ",
    "Checking \"",
    "Incorrect version or missing kernel-devel package",
    "Ensure kernel development headers",
    "Kernel version ",
    "Rerun with -v to see them.",
)

# glibc's assert(): "stap: FILE:LINE: FUNCTION: Assertion `EXPR' failed."
_ASSERTION, _FAILED = ": Assertion `", "' failed."
# first characters of every line classify_stap_line recognises (a cheap gate for probe output)
_FIRST_CHARS = frozenset("spWEPTSN0123456789" + "".join(p[0] for p in _NOTE_PREFIXES))


class FileMemory:
    """What a diagnostic needs from the ones before it.

    ``last``: stap drops a token's file name when it equals the previous
    token's (``at :2:3``).  ``resolving``: a ``while resolving probe point``
    error is followed by the real cause (``no match (similar functions: ...)``,
    ``cannot find executable``) as a block of its own with no location; the
    cause takes the probe point's location, so it lands on the cell line and
    its suggestions can be applied there.
    """

    __slots__ = ("last", "resolving")

    def __init__(self) -> None:
        self.last: str | None = None
        self.resolving: Diagnostic | None = None

    def resolve(self, file: str) -> str | None:
        if file == "":
            return self.last
        self.last = file
        return file


def parse_token(text: str, files: FileMemory) -> tuple[str, str | None, str | None, int | None, int | None] | None:
    """``identifier 'x' at f.stp:3:5`` -> (kind, token, file, line, column)."""
    found = token_at(text)
    if found is None:
        return None
    kind, token, file, line, col = found
    return kind, token, files.resolve(file), decimal_or_none(line), decimal_or_none(col)


def _man(text: str) -> list[str]:
    """``[man X]`` references; the search stops at the last ``]``, so that each ``[man ``
    is scanned to the next ``]`` at most once."""
    return _MAN.findall(text, 0, text.rfind("]") + 1)


def _similar(message: str) -> list[str]:
    found: list[str] = []
    for m in _SIMILAR.finditer(message):
        items = m.group(2).strip()
        found.extend(x for x in (items.split(", ") if ", " in items else items.split()) if x)
    return found


class DiagnosticBuilder:
    """Collects one diagnostic block.

    ``kind``: ``semantic`` and ``parse`` blocks take indented continuation lines
    and end with (and include) an empty line; ``warning``/``runtime`` take only
    `` source:``/caret/macro-expansion lines; ``pass``/``note`` take only their
    known follow-up lines.  Every kind then takes adjacent ``Tip:`` lines.
    """

    __slots__ = ("kind", "severity", "header", "raws", "lines", "state", "tips", "files", "cut_bytes")

    def __init__(self, kind: str, severity: str, header: str, raw: str, files: FileMemory):
        self.kind = kind
        self.severity = severity
        self.header = header
        self.raws = [raw]
        self.lines: list[str] = []  # continuation lines (interpreted text)
        self.tips: list[str] = []
        self.files = files
        self.cut_bytes = 0  # bytes the parser cut from over-long lines of the block
        # "block": continuation lines allowed; "tail": only Tip lines
        self.state = "block" if kind in ("semantic", "parse", "warning", "runtime") else "tail"

    def offer(self, text: str, raw: str) -> bool:
        """Take ``text`` if it continues this diagnostic."""
        if text.startswith("Tip: "):
            self.tips.append(text[5:])
            self.raws.append(raw)
            self.state = "tail"
            return True
        if self.state != "block":
            if self.kind == "note" and text == "Rerun with -v to see them." and not self.lines:
                self.lines.append(text)
                self.raws.append(raw)
                return True
            if self.kind == "pass" and text.startswith("Kernel version ") and not self.lines:
                self.lines.append(text)
                self.raws.append(raw)
                return True
            return False
        if self.kind in ("semantic", "parse"):
            if text == "":
                self.raws.append(raw)
                self.state = "tail"
                return True
            if text[0] in " \t" or _CARET.match(text):
                self.lines.append(text)
                self.raws.append(raw)
                return True
            return False
        # warning/runtime: a source line, the caret under it, macro expansion lines
        if _SOURCE.match(text) or text.startswith(("\tin expansion of macro: ", "\tin synthesized code from: ", "   thrown from: ")) \
                or (self.lines and _CARET.match(text) and _SOURCE.match(self.lines[-1])):
            self.lines.append(text)
            self.raws.append(raw)
            return True
        return False

    def finish(self, stream: str) -> Diagnostic:
        header = self.header
        diag = Diagnostic(raw="".join(self.raws), stream=stream, severity=self.severity,
                          kind=self.kind, message=header, tips=self.tips, cut_bytes=self.cut_bytes)
        if self.kind in ("semantic", "warning"):
            found = tail_token(header)
            if found is not None:
                diag.message = header[: found[0]].rstrip()
                self._set_token(diag, found[1])
        elif self.kind == "runtime":
            found = near_token(header)
            if found is not None:
                start, token, trailer = found
                diag.message = header[:start]
                self._set_token(diag, token)
                if trailer:
                    diag.details.append(trailer.strip())
        elif self.kind == "pass":
            diag.pass_number = decimal_or_none(header[5: header.index(":")])
        source_prefix = 0
        for line in self.lines:
            src = _SOURCE.match(line)
            if src is not None:
                if diag.source is None:
                    diag.source = line[src.end():]
                    source_prefix = src.end()
                else:
                    diag.details.append(line)
                continue
            if _CARET.match(line):
                if diag.caret_column is None and diag.source is not None:
                    diag.caret_column = max(0, line.index("^") - source_prefix)
                else:
                    diag.details.append(line)
                continue
            stripped = line.strip()
            if self.kind == "parse" and stripped.startswith(("saw: ", "at: ")) and diag.token_kind is None:
                token = stripped.split(": ", 1)[1]
                if token.endswith(" EOF"):
                    diag.token_kind = "eof"
                    diag.file = self.files.resolve(token[:-4])
                else:
                    found = token_at(token)
                    if found is not None:
                        self._set_token(diag, found)
                continue
            diag.details.append(line)
        for text in (header, *diag.details):
            diag.similar.extend(_similar(text))
            diag.man.extend(_man(text))
        if self.kind == "semantic":
            self._follow_probe_point(diag)
        return diag

    def _follow_probe_point(self, diag: Diagnostic) -> None:
        resolving, self.files.resolving = self.files.resolving, None
        if diag.message.startswith("while resolving probe point"):
            self.files.resolving = diag
        elif resolving is not None and diag.line is None:
            for name in ("token_kind", "token", "file", "line", "column", "source", "caret_column"):
                setattr(diag, name, getattr(resolving, name))

    def _set_token(self, diag: Diagnostic, groups) -> None:
        kind, token, file, line, col = groups
        diag.token_kind = kind
        diag.token = token
        diag.file = self.files.resolve(file)
        diag.line = decimal_or_none(line)
        diag.column = decimal_or_none(col)


class SummaryBuilder:
    """Adjacent end-of-run lines merged into one Summary."""

    __slots__ = ("summary", "raws")

    def __init__(self) -> None:
        self.summary = Summary(raw="")
        self.raws: list[str] = []

    @property
    def cut_bytes(self) -> int:
        return self.summary.cut_bytes

    @cut_bytes.setter
    def cut_bytes(self, value: int) -> None:
        self.summary.cut_bytes = value

    def offer(self, text: str, raw: str) -> bool:
        body = text[9:] if text.startswith("WARNING: ") else text
        s = self.summary
        m = _ERRORS_SKIPPED.match(body)
        if m is not None and s.errors is None:
            s.errors, s.skipped = decimal_or_none(m.group(1)), decimal_or_none(m.group(2))
        elif (m := _SKIPPED_DUE.match(body)) is not None:
            s.skipped_reasons[m.group(1)] = decimal_or_none(m.group(2))
        elif text is not body and s.staprun_status is None and (status := _staprun_status(body)) is not None:
            s.staprun_status = decimal_or_none(status)
        else:
            return False
        self.raws.append(raw)
        return True

    def finish(self, stream: str) -> Summary:
        self.summary.raw = "".join(self.raws)
        self.summary.stream = stream
        return self.summary


def _staprun_status(body: str) -> str | None:
    """``.../staprun exited with status: N`` -> ``N`` (only the last such text can end the line)."""
    at = body.rfind(_STAPRUN_EXITED)
    if at < 0 or _STATUS.match(body, at + len(_STAPRUN_EXITED)) is None:
        return None
    return body[at + len(_STAPRUN_EXITED):]


def _catalog_entry(m: re.Match, raw: str) -> Diagnostic:
    """One line of stap 5.6's machine-readable catalog; ``details`` says where it came from."""
    file, line, col, token, message = m.groups()
    return Diagnostic(
        raw=raw, severity="error", kind="semantic", message=message, token=token or None,
        file=file or None, line=decimal_or_none(line) if line else None, column=decimal_or_none(col) if col else None,
        similar=_similar(message), man=_man(message), details=["SEMANTIC_ERROR catalog entry"])


def classify_stap_line(text: str, raw: str, files: FileMemory) -> DiagnosticBuilder | SummaryBuilder | None | tuple:
    """A line that starts one of stap's own messages -> its builder; ``("pass", n, rest, ms)`` for a
    ``-v`` pass line; a finished Diagnostic for a one-line catalog entry; None when the line is
    nothing of stap's."""
    c = text[:1]
    if c not in _FIRST_CHARS:
        return None
    if c == "s" and text.startswith("semantic error: "):
        return DiagnosticBuilder("semantic", "error", text[16:], raw, files)
    if c == "s" and text.startswith("stap: ") and text.endswith(_FAILED) \
            and text.find(_ASSERTION, 0, len(text) - len(_FAILED)) >= 0:
        # stap itself aborted (stap 4.8's BPF backend does, e.g. on a full BPF stack)
        return DiagnosticBuilder("internal", "error", text[6:], raw, files)
    if c == "p" and text.startswith("parse error: "):
        return DiagnosticBuilder("parse", "error", text[13:], raw, files)
    if c == "W" and text.startswith("WARNING: "):
        summary = SummaryBuilder()
        if summary.offer(text, raw):
            return summary
        return DiagnosticBuilder("warning", "warning", text[9:], raw, files)
    if c == "E" and text.startswith("ERROR: "):
        return DiagnosticBuilder("runtime", "error", text[7:], raw, files)
    if c == "P" and text.startswith("Pass "):
        if _PASS_FAILED.match(text):
            return DiagnosticBuilder("pass", "error", text, raw, files)
        m = _PASS.match(text)
        if m is not None:
            ms = _REAL_MS.search(m.group(2))
            return ("pass", decimal_or_none(m.group(1)), m.group(2), decimal_or_none(ms.group(1)) if ms else None)
        return None
    if c == "T" and text.startswith("Tip: "):
        return DiagnosticBuilder("tip", "info", text[5:], raw, files)
    if c == "S" and text.startswith("SEMANTIC_ERROR"):
        m = _CATALOG.match(text)
        if m is not None:
            return _catalog_entry(m, raw)
        if _CATALOG_FRAME.match(text):
            return DiagnosticBuilder("note", "info", text, raw, files)
    if c == "S" and text.startswith("Skipped due to "):
        summary = SummaryBuilder()
        return summary if summary.offer(text, raw) else None
    if c == "N" and _SUPPRESSED.match(text):
        return DiagnosticBuilder("note", "info", text, raw, files)
    if c.isdigit() and _PARSE_ERRORS.match(text):
        return DiagnosticBuilder("note", "info", text, raw, files)
    if text.startswith(_NOTE_PREFIXES):
        return DiagnosticBuilder("note", "info", text, raw, files)
    return None
