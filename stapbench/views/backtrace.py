"""Backtraces: one row per frame, the frame's kind visible, the source beside it.

Frame kinds (CSS class ``stapbench-frame-<kind>`` and a visible text marker,
so they stay distinct where CSS is stripped):

``returning-from`` / ``returning-to``
    the two leading lines of a return probe's backtrace (``Frame.role``);
``inexact``
    a frame the unwinder guessed (`` (inexact)``);
``module-only``
    an address inside a known module but without a symbol (``[mod+0x../0x..]``);
``unknown``
    a bare address: no symbol, no module;
``resolved``
    an ordinary ``symbol+offset [module]`` frame.

Inexact and returning frames are also module-only or unknown when they lack a
symbol; the row then carries both classes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..model import Backtrace, Frame
from ._html import attrs, classes, esc
from .paths import root_relative, shown_path, tidy_paths
from .source import snippet_html, snippet_text

MARKERS = {
    "returning-from": "\u21a9 returning from",  # ↩
    "returning-to": "\u21aa returning to",  # ↪
    "inexact": "~ inexact",
    "module-only": "module only",
    "unknown": "? unknown",
}

PROBLEM_LABELS = {
    "kernel": "kernel frame",
    "no-module": "module not found",
    "no-debuginfo": "no debuginfo",
    "no-symbol": "symbol not found",
    "no-line": "no line info",
    "no-source": "source not found",
    "error": "lookup failed",
}


def frame_kinds(frame: Frame) -> list[str]:
    """The kinds of a frame, most specific first (see the module docstring)."""
    kinds = []
    if frame.role == "returning_from":
        kinds.append("returning-from")
    elif frame.role == "returning_to":
        kinds.append("returning-to")
    if frame.inexact:
        kinds.append("inexact")
    if not frame.symbol:
        kinds.append("module-only" if frame.module else "unknown")
    if not kinds:
        kinds.append("resolved")
    return kinds


def module_basename(module: str | None) -> str:
    if not module:
        return ""
    return os.path.basename(module.rstrip("/")) or module


@dataclass(slots=True)
class FrameInfo:
    """A frame plus what the symbols layer said about it (None: not asked).  ``roots``: the
    symbolizer's source roots, which the file is shown relative to (:mod:`.paths`)."""

    index: int
    frame: Frame
    location: object | None = None  # stapbench.symbols.SourceLocation
    snippet: object | None = None  # stapbench.symbols.SourceSnippet
    roots: tuple = ()

    @property
    def kinds(self) -> list[str]:
        return frame_kinds(self.frame)

    def _file_and_line(self) -> tuple[str, int | None]:
        loc = self.location
        if loc is not None and getattr(loc, "file", None):
            file = str(loc.file)
            found = getattr(loc, "path", None)
            if os.path.isabs(file) and found is not None:
                # DWARF's absolute name (the build machine's folder): the file as found under a root
                file = root_relative(found, self.roots) or file
            return shown_path(file, self.roots), getattr(loc, "line", None)
        if self.frame.file:
            return shown_path(self.frame.file, self.roots), self.frame.line
        return "", None

    @property
    def file_shown(self) -> str:
        """The frame's source file as shown: relative to its source root, or ``~/...``."""
        return self._file_and_line()[0]

    @property
    def file_line(self) -> str:
        """``file:line`` as shown (see :attr:`file_shown`)."""
        file, line = self._file_and_line()
        return f"{file}:{line}" if file and line else file

    @property
    def file_basename_line(self) -> str:
        """``ngx_http_request.c:3834``: the short form a frame list shows."""
        file, line = self._file_and_line()
        name = os.path.basename(file) or file
        return f"{name}:{line}" if name and line else name

    @property
    def problem(self) -> str | None:
        return getattr(self.location, "problem", None) if self.location is not None else None

    @property
    def hint(self) -> str | None:
        return getattr(self.location, "hint", None) if self.location is not None else None


class _LookupFailed:
    """Stands in for a SourceLocation when the symbolizer raised: the view must still render."""

    def __init__(self, exc: Exception):
        self.module = self.function = self.file = self.path = self.line = None
        self.problem = "error"
        self.hint = f"symbol lookup failed: {type(exc).__name__}: {exc}"


def analyse(backtrace: Backtrace, symbolizer=None, *, context: int = 6, snippets: str = "all") -> list[FrameInfo]:
    """Locate every frame (and read the source snippets: ``"all"``, ``"first"`` resolvable one, or ``"none"``)."""
    if symbolizer is None:
        return [FrameInfo(i, f) for i, f in enumerate(backtrace.frames)]
    roots = tuple(getattr(symbolizer, "source_roots", None) or ())
    infos = [FrameInfo(i, f, roots=roots) for i, f in enumerate(backtrace.frames)]
    want_snippet = snippets != "none"
    locations = None
    if hasattr(symbolizer, "locate_backtrace"):
        # callers' addresses are return addresses: the symbolizer looks them up at -1
        try:
            locations = symbolizer.locate_backtrace(backtrace.frames)
        except Exception:
            locations = None
    for info in infos:
        if locations is not None:
            info.location = locations[info.index]
        else:
            try:
                info.location = symbolizer.locate(info.frame)
            except Exception as exc:  # a broken binary must not break the view
                info.location = _LookupFailed(exc)
        loc = info.location
        if want_snippet and getattr(loc, "line", None) and getattr(loc, "path", None):
            try:
                info.snippet = symbolizer.source_snippet(loc, context=context)
            except OSError:
                info.snippet = None
            if info.snippet is not None and snippets == "first":
                want_snippet = False
    return infos


def top_resolvable(infos: list[FrameInfo]) -> FrameInfo | None:
    return next((i for i in infos if i.snippet is not None), None)


def _symbol_cell(frame: Frame) -> str:
    if frame.symbol:
        return esc(frame.symbol)
    return f'<span class="stapbench-muted">0x{frame.address:x}</span>' if frame.address is not None else "?"


def frame_row_html(info: FrameInfo) -> str:
    f = info.frame
    kinds = info.kinds
    markers = "".join(f'<span class="stapbench-marker">{esc(MARKERS[k])}</span>' for k in kinds if k in MARKERS)
    offset = f"+0x{f.offset:x}" if f.offset is not None else ""
    size = f"/0x{f.size:x}" if f.size is not None else ""
    address = f"0x{f.address:x}" if f.address is not None else ""
    where = esc(info.file_line)
    if info.problem:
        label = PROBLEM_LABELS.get(info.problem, info.problem)
        # the hint itself is said once per backtrace (problems_html): a profile's 5,000 frames
        # each carrying it as a title made a 4 MB static render
        where += (f'<span class="stapbench-problem"{attrs(data_problem=info.problem)}>'
                  f"{' ' if where else ''}[{esc(label)}]</span>")
    module_title = shown_path(f.module, info.roots) if f.module else None  # ~/... rather than /root/...
    row_classes = classes("stapbench-frame", *(f"stapbench-frame-{k}" for k in kinds),
                          "stapbench-frame-has-source" if info.snippet is not None else None)
    return (f'<tr class="{row_classes}"{attrs(data_frame_index=info.index, data_kind=" ".join(kinds))}>'
            f'<td class="stapbench-frame-index">#{info.index}</td>'
            f'<td class="stapbench-frame-symbol">{markers}{_symbol_cell(f)}</td>'
            f'<td class="stapbench-frame-offset">{esc(offset + size)}</td>'
            f'<td class="stapbench-frame-module"{attrs(title=module_title)}>{esc(module_basename(f.module))}</td>'
            f'<td class="stapbench-frame-source">{where}</td>'
            f'<td class="stapbench-frame-address stapbench-muted">{esc(address)}</td></tr>')


def frames_table_html(infos: list[FrameInfo]) -> str:
    head = ("<thead><tr><th>#</th><th>symbol</th><th>offset</th><th>module</th>"
            "<th>source</th><th>address</th></tr></thead>")
    rows = "".join(frame_row_html(i) for i in infos)
    return f'<table class="stapbench-frames">{head}<tbody>{rows}</tbody></table>'


def problems_html(infos: list[FrameInfo]) -> str:
    """One hint per distinct (problem, module): what is missing and what to do."""
    seen = {}
    for info in infos:
        if info.problem and info.hint:
            seen.setdefault((info.problem, info.frame.module, info.hint), info)
    out = []
    for (problem, module, hint), info in seen.items():
        label = PROBLEM_LABELS.get(problem, problem)
        out.append(f'<div class="stapbench-hint"{attrs(data_problem=problem)}><b>{esc(label)}</b>'
                   f'{" in " + esc(module_basename(module)) if module else ""}: {esc(tidy_paths(hint))}</div>')
    return "".join(out)


def render_backtrace_html(backtrace: Backtrace, *, symbolizer=None, context: int = 6,
                          infos: list[FrameInfo] | None = None, snippets: str = "all",
                          index: int | None = None) -> str:
    """The frames table; beside it the source of the top resolvable frame (open), the
    other frames' sources in collapsed ``<details>`` (so clicking through works without JS).
    ``snippets``: ``"all"``, ``"first"`` (only the top resolvable frame's) or ``"none"``."""
    if infos is None:
        infos = analyse(backtrace, symbolizer, context=context, snippets=snippets)
    if backtrace.note and not infos:
        return f'<div class="stapbench-backtrace stapbench-block"><span class="stapbench-muted">{esc(backtrace.note)}</span></div>'
    top = top_resolvable(infos)
    sources = []
    for info in infos:
        if info.snippet is None:
            continue
        label = f"#{info.index} {info.frame.symbol or ''} \u2014 {info.file_line}"
        block = snippet_html(info.snippet, title=label, frame_index=info.index)
        if info is top:
            sources.append(f'<div class="stapbench-top-source"{attrs(data_frame_index=info.index)}>{block}</div>')
        else:
            sources.append(f'<details class="stapbench-frame-source-details"{attrs(data_frame_index=info.index)}>'
                           f"<summary>{esc(label)}</summary>{block}</details>")
    note = f'<div class="stapbench-muted">{esc(backtrace.note)}</div>' if backtrace.note else ""
    side = f'<div class="stapbench-sources">{"".join(sources)}</div>' if sources else ""
    return (f'<div class="stapbench-backtrace stapbench-block"'
            f'{attrs(data_frames=len(infos), data_style=backtrace.style, data_backtrace_index=index)}>'
            f'{note}<div class="stapbench-bt-layout">{frames_table_html(infos)}{side}</div>{problems_html(infos)}</div>')


def render_backtrace_text(backtrace: Backtrace, *, symbolizer=None, context: int = 6) -> str:
    infos = analyse(backtrace, symbolizer, context=context, snippets="first")
    lines = [backtrace.note] if backtrace.note else []
    for info in infos:
        f = info.frame
        tags = [MARKERS[k] for k in info.kinds if k in MARKERS]
        sym = f.symbol or (f"0x{f.address:x}" if f.address is not None else "?")
        off = f"+0x{f.offset:x}" if f.offset is not None else ""
        mod = module_basename(f.module)
        parts = [f"#{info.index:<2}", f"{sym}{off}"]
        if mod:
            parts.append(f"[{mod}]")
        if info.file_line:
            parts.append(f"at {info.file_line}")
        if info.problem:
            parts.append(f"({PROBLEM_LABELS.get(info.problem, info.problem)})")
        if tags:
            parts.append("{" + ", ".join(tags) + "}")
        lines.append(" ".join(parts))
    seen = set()
    for info in infos:
        if info.problem and info.hint and (info.problem, info.hint) not in seen:
            seen.add((info.problem, info.hint))
            lines.append(f"  note: {tidy_paths(info.hint)}")
    top = top_resolvable(infos)
    if top is not None:
        lines.append(snippet_text(top.snippet, name=top.file_shown))
    return "\n".join(lines)


def backtrace_signature(backtrace: Backtrace) -> tuple:
    """What makes two backtraces the same stack (addresses aside: ASLR moves them)."""
    return (backtrace.note, tuple((f.symbol, f.offset, f.module, f.role, f.inexact, f.address if not f.symbol and not f.module else None)
                                  for f in backtrace.frames))


def render_repeat_html(backtrace: Backtrace, same_as: int) -> str:
    """A backtrace identical to one rendered above: its frames as text, collapsed, pointing there."""
    top = next((f.symbol for f in backtrace.frames if f.symbol), None) or "?"
    lines = "\n".join(esc(f.text.strip()) for f in backtrace.frames)
    return (f'<details class="stapbench-backtrace stapbench-repeat stapbench-block"'
            f'{attrs(data_frames=len(backtrace.frames), data_same_as=same_as)}>'
            f"<summary>\u21bb same backtrace as #{same_as} ({len(backtrace.frames)} frames, top {esc(top)})</summary>"
            f'<pre class="stapbench-repeat-frames">{lines}</pre></details>')
