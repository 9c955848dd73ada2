"""What every view of a run needs to know besides its events: one value passed along.

A diagnostic is shown on the cell line it points at, a backtrace frame beside its source:
for that the renderers need the cell's source, the path stap read it from, how the runner
shifted its lines, how the editor numbers them, and the symbolizer.  :class:`RenderContext`
holds those, so a view hands on one object instead of the same arguments each time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..model import Diagnostic

SCRIPT_NAME = "script.stp"  # the runner writes the cell to RUN_FOLDER/script.stp


@dataclass(frozen=True)
class RenderContext:
    #: a :class:`stapbench.symbols.Symbolizer` for frames' source; None: no source lookup
    symbolizer: object | None = None
    #: the script the run ran (a ``%%stap`` cell's body)
    cell_source: str | None = None
    #: the path stap read the script from (stap's diagnostics name it)
    script_path: str | os.PathLike | None = None
    #: lines the runner put before the cell in that file (stap's line = cell line + offset)
    line_offset: int = 0
    #: the number the notebook editor gives the script's first line: 2 in a ``%%stap`` cell,
    #: whose line 1 is the magic line the runner removed; 1 for a script shown on its own
    first_line: int = 1
    #: stap's ``Tip:`` lines said in an earlier run of the session: not said again
    tips_said: frozenset[str] = frozenset()

    @classmethod
    def for_run(cls, run, **values) -> "RenderContext":
        """The context of a Run: its script and the file stap read it from; ``values`` add to them."""
        folder = getattr(run, "folder", None)
        values.setdefault("cell_source", getattr(run, "script", None))
        values.setdefault("script_path", Path(folder) / SCRIPT_NAME if folder else None)
        return cls(**values)

    def replace(self, **changes) -> "RenderContext":
        return replace(self, **changes)

    def with_run(self, run) -> "RenderContext":
        """This context, with the script and script path of ``run`` where it has none."""
        base = RenderContext.for_run(run)
        return replace(self, cell_source=self.cell_source if self.cell_source is not None else base.cell_source,
                       script_path=self.script_path if self.script_path is not None else base.script_path)

    def is_cell_file(self, file: str | None) -> bool:
        """True when stap's ``file`` is the cell's script (``<input>``: ``stap -e``)."""
        if file is None:
            return False
        if file == "<input>":
            return True
        if not self.script_path:
            return False
        script = str(self.script_path)
        if file == script:
            return True
        if not os.path.isabs(file):  # stap printed the path it was given, relative to its cwd
            return script.endswith(os.sep + file)
        return os.path.realpath(file) == os.path.realpath(script)

    def cell_line(self, diag: Diagnostic) -> tuple[int, str] | None:
        """(1-based line of the script, its text) when the diagnostic points into the cell."""
        if self.cell_source is None or diag.line is None or not self.is_cell_file(diag.file):
            return None
        number = diag.line - self.line_offset
        lines = self.cell_source.splitlines()
        if not 1 <= number <= len(lines):
            return None
        return number, lines[number - 1]

    def editor_line(self, script_line: int) -> int:
        """The editor's number for a line of the script."""
        return script_line + self.first_line - 1


NO_CONTEXT = RenderContext()
