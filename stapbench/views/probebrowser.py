"""The probe browser (``%stap_probes BIN|PID [PATTERN]``): a search box over every function and
SDT marker of a binary, ranked by closeness as you type; selecting one shows its source, and a
button inserts a ready probe cell below (through stapbench's JupyterLab extension).

The whole listing goes to the browser once (the nginx build's 1,434 functions are ~150 kB) and
is filtered there, so a keystroke costs no kernel round trip; the ranking is the same as
:mod:`stapbench.authoring.ranking`'s.  Selecting a row asks the kernel for the source snippet
(DWARF, :class:`~stapbench.symbols.Symbolizer`) and the probe cell
(:func:`stapbench.authoring.probes.skeleton`).  The static render (a saved notebook, nbconvert)
is the closest matches as a table.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as T

from ..authoring.highlight import cell_html, stap_css
from ..authoring.printer import member_tree, members_printer_probe
from ..authoring.probes import Match, magic_line, probe_point, search, skeleton, where
from ._html import attrs, esc, wrap_root
from ._repr import StaticReprMixin
from .paths import shown_path
from .source import snippet_html

_HERE = Path(__file__).parent
STATIC_ROWS = 50
SOURCE_CONTEXT = 12


class ProbeBrowser(StaticReprMixin, anywidget.AnyWidget):
    _esm = _HERE / "probebrowser.js"
    # the probe cell is shown highlighted as SystemTap (authoring.highlight)
    _css = "\n".join([(_HERE / "probebrowser.css").read_text(encoding="utf-8"), stap_css(".stapbench-probebrowser .sbp-cell"),
                      stap_css(".stapbench-probebrowser .sbp-printer-cell")])

    binaries = T.List(T.Unicode()).tag(sync=True)
    entries = T.List(T.List()).tag(sync=True)  # [binary index, kind, name, file:line, params text]
    query = T.Unicode("").tag(sync=True)
    selected = T.Int(-1).tag(sync=True)  # index into entries
    detail = T.Dict().tag(sync=True)  # {index, title, source_html, cell, cell_html, structs}
    #: the struct browser: the browser asks for a printer of these members...
    printer_request = T.Dict().tag(sync=True)  # {index, param, paths}
    #: ...and gets its cell
    printer = T.Dict().tag(sync=True)  # {index, param, cell, html}
    problems = T.List(T.Unicode()).tag(sync=True)
    pid = T.Int(0).tag(sync=True)

    def __init__(self, catalogs, *, pattern: str = "", pid: int | None = None, symbolizer=None, **kwargs):
        self._catalogs = list(catalogs)
        self._symbolizer = symbolizer
        self._matches = search(self._catalogs, "")
        super().__init__(
            binaries=[c.binary for c in self._catalogs],
            entries=[[self._binary_index(m.binary), m.entry.kind, m.entry.name, where(m.entry),
                      " ".join(f"{n}:{t}" for n, t in m.entry.params)] for m in self._matches],
            query=pattern, pid=pid or 0,
            problems=[f"{c.binary}: {c.problem}" for c in self._catalogs if c.problem], **kwargs)
        self.observe(self._on_select, names="selected")
        self.observe(self._on_printer_request, names="printer_request")

    def _binary_index(self, binary: str) -> int:
        return [c.binary for c in self._catalogs].index(binary)

    def match(self, index: int) -> Match:
        return self._matches[index]

    def _on_select(self, change) -> None:
        index = change["new"]
        if 0 <= index < len(self._matches):
            self.detail = self.describe(index)

    def describe(self, index: int) -> dict:
        """What selecting row ``index`` shows: the function's source and a ready probe cell."""
        m = self._matches[index]
        source = ""
        if self._symbolizer is not None and m.entry.kind in ("function", "mark"):
            location, title = self._location(m)
            snippet = self._symbolizer.source_snippet(location, context=SOURCE_CONTEXT) if location and location.line else None
            if snippet is not None:
                source = snippet_html(snippet, title=title)
            elif location is not None:
                inside = (f"the marker is in {location.function} ({m.binary.rsplit('/', 1)[-1]}); "
                          if m.entry.kind == "mark" and location.function else "")
                if inside or location.hint:
                    source = f'<div class="stapbench-muted">{esc(inside + (location.hint or ""))}</div>'
        cell = skeleton(m.entry, m.binary, pid=self.pid or None, symbolizer=self._symbolizer)
        return {"index": index, "title": f"{m.entry.name}  {where(m.entry)}", "source_html": wrap_root(source, kind="source", style=True) if source else "",
                "cell": cell, "cell_html": cell_html(cell), "structs": self._structs(m)}

    def _location(self, m: Match):
        """(SourceLocation, snippet title) of a function's start, or of an SDT marker (its
        address from the ELF note: stap -L says nothing of where a marker is)."""
        if m.entry.kind == "function":
            return self._symbolizer.locate_function(m.binary, m.entry.name), f"{m.entry.name} \u2014 {where(m.entry)}"
        from ..symbols.sdt import sdt_markers

        marker = next((k for k in sdt_markers(m.binary) if k.name == m.entry.name
                       and (m.entry.provider is None or k.provider == m.entry.provider)), None)
        if marker is None:
            return None, ""
        location = self._symbolizer.locate_address(m.binary, marker.address)
        inside = f" in {location.function}" if location.function else ""
        shown = shown_path(location.path or location.file, self._symbolizer.source_roots) if location.file else "?"
        return location, f'mark("{m.entry.name}"){inside} \u2014 {shown}:{location.line}'

    # -- the struct browser ----------------------------------------------------------------
    def _struct_params(self, m: Match) -> dict[str, str]:
        """``$name`` -> type of the function's formal parameters that point to a struct."""
        if self._symbolizer is None or m.entry.kind != "function":
            return {}
        formal = set(self._symbolizer.function_params(m.binary, m.entry.name))
        return {("$" + n.lstrip("$")): t for n, t in m.entry.params
                if n.lstrip("$") in formal and t.rstrip().endswith("*") and t.count("*") == 1}

    def _structs(self, m: Match) -> list[dict]:
        out = []
        for param, type_ in self._struct_params(m).items():
            members = member_tree(self._symbolizer, m.binary, type_)
            if members:
                out.append({"param": param, "type": type_, "members": [x.to_json() for x in members]})
        return out

    def printer_cell(self, index: int, param: str, paths) -> str:
        """A ``%%stap`` cell printing the chosen member ``paths`` of ``param`` at row ``index``'s
        probe point (authoring.printer: right on the BPF runtime, shown as struct trees)."""
        m = self._matches[index]
        type_ = self._struct_params(m)[param]
        members = member_tree(self._symbolizer, m.binary, type_)
        probe = members_printer_probe(probe_point(m.entry, m.binary), param, members, paths, name=m.entry.name)
        return f"{magic_line(self.pid or None)}\n{probe}"

    def _on_printer_request(self, change) -> None:
        request = change["new"] or {}
        index, param, paths = request.get("index"), request.get("param"), request.get("paths") or []
        if not isinstance(index, int) or not 0 <= index < len(self._matches) or not paths:
            self.printer = {}
            return
        try:
            cell = self.printer_cell(index, param, paths)
        except KeyError:  # not a struct parameter of that function (a stale request)
            self.printer = {}
            return
        self.printer = {"index": index, "param": param, "cell": cell, "html": cell_html(cell)}

    # -- static forms --------------------------------------------------------------------
    def _static_matches(self) -> list[Match]:
        return search(self._catalogs, self.query, STATIC_ROWS)

    def static_html(self) -> str:
        rows = "".join(
            f"<tr{attrs(data_kind=m.entry.kind)}><td><code>{esc(m.entry.name)}</code></td><td>{esc(where(m.entry))}</td>"
            f"<td>{esc(' '.join(f'{n}:{t}' for n, t in m.entry.params))}</td></tr>"
            for m in self._static_matches())
        heads = "".join(f"<div><code>{esc(b)}</code></div>" for b in self.binaries)
        total = len(self._matches)
        return wrap_root(f'<div class="stapbench-probes">{heads}<div class="stapbench-muted">{total} probe points'
                    + (f", closest to <code>{esc(self.query)}</code>" if self.query else "")
                    + '</div><table class="stapbench-probes-table"><thead><tr><th>function</th><th>source</th>'
                    f"<th>parameters</th></tr></thead><tbody>{rows}</tbody></table></div>", kind="probes", style=True)

    def static_text(self) -> str:
        lines = [*self.binaries, f"{len(self._matches)} probe points" + (f", closest to {self.query!r}" if self.query else "")]
        for m in self._static_matches():
            params = " ".join(f"{n}:{t}" for n, t in m.entry.params)
            lines.append(f"  {m.entry.name}  {where(m.entry)}  {params}".rstrip())
        return "\n".join(lines)
