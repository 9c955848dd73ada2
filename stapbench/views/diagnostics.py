"""stap's errors and warnings on the cell line that caused them, and the run summary.

A diagnostic whose file is the cell's script (the context's ``script_path``: the same
path, the same file through symlinks, or a relative path it ends with) or ``<input>``
(``stap -e``) is shown on the cell's own line, taken from the context's ``cell_source``
(see :class:`~stapbench.views.context.RenderContext`), numbered as the notebook editor
numbers it, with a caret under its column.  Otherwise the ``source:`` line stap printed is
shown with stap's caret.  stap's suggestions become fix chips; :func:`apply_suggestion`
computes the fixed cell for a chip.
"""

from __future__ import annotations

import os
import re

from ..authoring.highlight import stap_html  # the cell line, highlighted as SystemTap
from ..model import Diagnostic, Summary
from ._html import attrs, classes, count, esc
from .context import NO_CONTEXT, RenderContext
from .remedies import remedies

_IDENT = re.compile(r"[$@]?[A-Za-z_][\w.:]*\Z")
_FUNCTION_NAME = re.compile(r'(\.function\(")([^"@]*)')
# "unable to find member 'numbr' for struct ngx_connection_s (alternatives: number, ...)": operator '->' at the column
_MISSING_MEMBER = re.compile(r"member '([A-Za-z_]\w*)'")


def caret_prefix(line: str, column0: int) -> str:
    """Blanks up to ``column0``, keeping tabs (as stap does) so the caret lines up."""
    return "".join("\t" if ch == "\t" else " " for ch in line[:column0])


def diagnostic_key(diag: Diagnostic) -> tuple:
    """What makes two diagnostics the same message (stap repeats some, e.g. once per derived
    probe, the second time with the file name left out, which the parser already resolved)."""
    return (diag.severity, diag.kind, diag.message, diag.file, diag.line, diag.column)


def apply_suggestion(cell_source: str, diag: Diagnostic, suggestion: str, *, line_offset: int = 0) -> str | None:
    """The cell with stap's suggestion applied, or None when there is no safe edit.

    The token at ``line:column`` is replaced when it is an identifier (``printff``
    -> ``printk``); for ``unable to find member 'numbr'`` (token ``->`` or ``.``)
    the member name after the operator is replaced (``$c->numbr`` ->
    ``$c->number``); for ``no match (similar functions: ...)`` the function name
    inside the ``.function("...")`` that follows the column is replaced.
    """
    if diag.line is None or diag.column is None:
        return None
    lines = cell_source.splitlines(keepends=True)
    index = diag.line - line_offset - 1
    if not 0 <= index < len(lines):
        return None
    line = lines[index]
    col = diag.column - 1
    token = diag.token
    member = _MISSING_MEMBER.search(diag.message or "")
    if member and token in ("->", ".") and line[col:].startswith(token + member.group(1)) \
            and _IDENT.match(suggestion):
        start = col + len(token)
        fixed = line[:start] + suggestion + line[start + len(member.group(1)):]
    elif token and line[col:].startswith(token) and _IDENT.match(token) and _IDENT.match(suggestion) \
            and "no match" not in (diag.message or ""):
        fixed = line[:col] + suggestion + line[col + len(token):]
    else:
        m = _FUNCTION_NAME.search(line, max(col, 0))
        if m is None or not _IDENT.match(suggestion):
            return None
        fixed = line[: m.start(2)] + suggestion + line[m.end(2):]
    lines[index] = fixed
    return "".join(lines)


def _severity(diag: Diagnostic) -> str:
    return diag.severity if diag.severity in ("error", "warning", "info") else "info"


# stap's own list of names at the end of a message: "(alternatives: a b c ...)", "(similar functions: ...)"
_NAMES_IN_MESSAGE = re.compile(r"\s*\((?:alternatives|similar[\w ]*):[^()]*\)\s*$")


def cell_dumps(diag: Diagnostic, context: RenderContext) -> list[tuple[int, str, int]]:
    """Where the cell pretty-prints: (script line, its text, column) of each ``$var$``, for the
    BPF runtime's sprintf refusal, which stap reports inside a tapset (uconversions.stp), not
    at the cell's expression that needs it."""
    if context.cell_source is None or "unsupported sprintf in bpf" not in (diag.message or ""):
        return []
    if context.cell_line(diag) is not None:
        return []
    from ..authoring.structdump import DUMP  # $c$, $c$$, $c->log$ (not $$vars: no root)

    return [(number, text, m.start()) for number, text in enumerate(context.cell_source.splitlines(), 1)
            for m in DUMP.finditer(text)]


def _cell_code(number: int, text: str, col0: int | None, column: int | None = None) -> str:
    caret = ""
    if col0 is not None:
        caret = "\n" + " " * (len(str(number)) + 3) + esc(caret_prefix(text, col0)) + '<span class="stapbench-caret">^</span>'
    return (f'<pre class="stapbench-cell-source"{attrs(data_cell_line=number, data_column=column)}>'
            f'<span class="stapbench-lineno">{number}</span> | {stap_html(text)}{caret}</pre>')


def render_diagnostic_html(diag: Diagnostic, context: RenderContext = NO_CONTEXT, *, ranked_fixes: int = 0) -> str:
    """``ranked_fixes``: how many fix buttons the widget shows beside this render; then stap's own
    list of names (40 alternatives for a member, in DWARF order) is not repeated as text and
    chips above them: the buttons hold those names, closest first."""
    sev = _severity(diag)
    located = context.cell_line(diag)
    where = ""
    code = ""
    if located is not None:
        script_line, text = located
        number = context.editor_line(script_line)
        where = f"cell line {number}" + (f", column {diag.column}" if diag.column else "")
        code = _cell_code(number, text, (diag.column - 1) if diag.column else None, diag.column)
    else:
        if diag.file or diag.line:
            where = f"{diag.file or ''}:{diag.line or ''}" + (f":{diag.column}" if diag.column else "")
        if diag.source is not None:
            caret = ""
            if diag.caret_column is not None:
                caret = "\n" + esc(caret_prefix(diag.source, diag.caret_column)) + '<span class="stapbench-caret">^</span>'
            code = f'<pre class="stapbench-stap-source">{esc(diag.source)}{caret}</pre>'
    dumps = cell_dumps(diag, context)
    if dumps:  # stap points into its tapset: the cell's own lines that need the sprintf
        code += ('<div class="stapbench-muted">in the cell, what needs it:</div>'
                 + "".join(_cell_code(context.editor_line(n), t, c) for n, t, c in dumps[:5]))
    token = ""
    if diag.token_kind or diag.token:
        token = (f'<div class="stapbench-token stapbench-muted">at {esc(diag.token_kind or "")} '
                 f"<code>{esc(diag.token or '')}</code></div>")
    details = "".join(f'<div class="stapbench-detail stapbench-mono">{esc(d)}</div>' for d in diag.details)
    advice = remedies(diag)
    fixes = "".join(f'<div class="stapbench-remedy"><b>what to do:</b> {esc(r.text)}</div>' for r in advice)
    chips = ""
    message = diag.message
    if ranked_fixes and diag.similar:
        message = _NAMES_IN_MESSAGE.sub(f" (stap lists {count(len(diag.similar), 'name')}: the closest are the fixes below)",
                                        message)
    elif diag.similar:
        label = suggestions_label(diag, advice)
        unrelated = " stapbench-suggestions-unrelated" if label != "did you mean" else ""
        chips = (f'<div class="stapbench-suggestions{unrelated}">{esc(label)}: ' + "".join(
            f'<code class="stapbench-chip stapbench-chip-fix"{attrs(data_suggestion=s, title=_chip_title(diag, s))}>{esc(s)}</code>'
            for s in diag.similar) + "</div>")
    man = "".join(f'<div class="stapbench-man">see <code>man {esc(m)}</code></div>' for m in diag.man)
    # stap's tips are general advice (README.Debian after every error): folded, once a session
    tips = "".join(f'<details class="stapbench-tip"><summary><b>Tip</b> from stap</summary>{esc(_tip(t))}</details>'
                   for t in diag.tips if t not in context.tips_said)
    where_html = f' <span class="stapbench-where">{esc(where)}</span>' if where else ""
    # a message that changes nothing here (see remedies) folds to its first line
    harmless = any(r.harmless for r in advice)
    tag, head_tag = ("details", "summary") if harmless else ("div", "div")
    note = ' <span class="stapbench-muted">(harmless here)</span>' if harmless else ""
    return (f'<{tag} class="{classes("stapbench-diagnostic", f"stapbench-sev-{sev}", "stapbench-harmless" if harmless else None)}"'
            f'{attrs(data_severity=sev, data_kind=diag.kind, data_file=diag.file, data_line=diag.line, data_column=diag.column, data_cell_line=number if located else None)}>'
            f'<{head_tag}><span class="stapbench-severity">{esc(sev)}</span>'
            f'<span class="stapbench-kind stapbench-muted">{esc(diag.kind)}</span> '
            f'<span class="stapbench-message">{esc(message)}</span>{where_html}{note}</{head_tag}>'
            f"{code}{token}{details}{fixes}{chips}{man}{tips}</{tag}>")


def suggestions_label(diag: Diagnostic, advice=None) -> str:
    """What stap's ``similar`` names are called: fixes, unless a remedy says they are unrelated
    (``advice``: ``remedies(diag)`` when the caller has it already)."""
    if any(r.suggestions_unrelated for r in (remedies(diag) if advice is None else advice)):
        return "stap's similar names (spelled alike, no fix here)"
    return "did you mean"


def _tip(text: str) -> str:
    return text[4:].lstrip() if text.startswith("Tip:") else text


def _chip_title(diag: Diagnostic, suggestion: str) -> str:
    if diag.token:
        return f"replace {diag.token!r} with {suggestion!r}"
    return f"use {suggestion!r}"


def render_diagnostic_text(diag: Diagnostic, context: RenderContext = NO_CONTEXT) -> str:
    out = [f"{_severity(diag).upper()} ({diag.kind}): {diag.message}"]
    located = context.cell_line(diag)
    if located is not None:
        script_line, text = located
        number = context.editor_line(script_line)
        out[0] += f"  [cell line {number}" + (f", column {diag.column}]" if diag.column else "]")
        out.append(f"  {number} | {text}")
        if diag.column:
            out.append("  " + " " * len(str(number)) + " | " + caret_prefix(text, diag.column - 1) + "^")
    else:
        if diag.file or diag.line:
            out[0] += f"  [{diag.file or ''}:{diag.line or ''}" + (f":{diag.column}]" if diag.column else "]")
        if diag.source is not None:
            out.append("  " + diag.source)
            if diag.caret_column is not None:
                out.append("  " + caret_prefix(diag.source, diag.caret_column) + "^")
        dumps = cell_dumps(diag, context)
        if dumps:
            out.append("  in the cell, what needs it:")
            for n, t, c in dumps[:5]:
                number = context.editor_line(n)
                out += [f"  {number} | {t}", "  " + " " * len(str(number)) + " | " + caret_prefix(t, c) + "^"]
    out += [f"  {d}" for d in diag.details]
    advice = remedies(diag)
    out += [f"  what to do: {r.text}" for r in advice]
    if diag.similar:
        out.append(f"  {suggestions_label(diag, advice)}: " + ", ".join(diag.similar))
    out += [f"  see: man {m}" for m in diag.man]
    out += [f"  Tip: {_tip(t)}" for t in diag.tips if t not in context.tips_said]
    return "\n".join(out)


# --------------------------------------------------------------------------- summary

def data_lost(summary: Summary) -> bool:
    return bool(summary.errors) or bool(summary.skipped) or bool(summary.staprun_status)


def summary_sentences(summary: Summary) -> list[str]:
    out = []
    if summary.errors:
        out.append(f"{summary.errors} probe error{'s' if summary.errors != 1 else ''}: "
                   "the handlers that failed printed nothing after the error")
    if summary.skipped:
        out.append(f"{summary.skipped} probe hit{'s' if summary.skipped != 1 else ''} skipped: "
                   "their output is missing from this run (rerun with stap -t to see why)")
    for reason, count in summary.skipped_reasons.items():
        out.append(f"skipped due to {reason}: {count}")
    if summary.staprun_status:
        out.append(f"staprun exited with status {summary.staprun_status}")
    if not out:
        out.append("no probe errors, no skipped probes")
    return out


def render_summary_html(summary: Summary) -> str:
    lost = data_lost(summary)
    head = "\u26a0 data loss" if lost else "\u2713 run summary"
    body = "".join(f"<li>{esc(s)}</li>" for s in summary_sentences(summary))
    return (f'<div class="{classes("stapbench-summary", "stapbench-dataloss" if lost else None)}"'
            f'{attrs(data_errors=summary.errors, data_skipped=summary.skipped, data_loss="true" if lost else "false")}>'
            f"<b>{head}</b><ul>{body}</ul></div>")


def render_summary_text(summary: Summary) -> str:
    head = "DATA LOSS" if data_lost(summary) else "summary"
    return "\n".join([f"[{head}]"] + [f"  {s}" for s in summary_sentences(summary)])
