"""What the symbols layer hands to the views: where a frame is, or why we can't tell.

Plain dataclasses; nothing here opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: ``SourceLocation.problem`` values, from "nothing to look at" to "almost there".
KERNEL = "kernel"  # a kernel or kernel-module frame: no kernel debuginfo on these machines
NO_MODULE = "no-module"  # the module file is not on disk (or stap printed no module)
NO_DEBUGINFO = "no-debuginfo"  # the module has no DWARF and no separate debug file was found
NO_SYMBOL = "no-symbol"  # the symbol (or address) is not in the module's symbol table
NO_LINE = "no-line"  # DWARF exists but has no line-table row for this address
NO_SOURCE = "no-source"  # file:line known, but the source file is not on disk
PROBLEMS = (KERNEL, NO_MODULE, NO_DEBUGINFO, NO_SYMBOL, NO_LINE, NO_SOURCE)


@dataclass(kw_only=True, slots=True)
class SourceLocation:
    """Where a frame points, as far as the module on disk could tell.

    ``module`` is the path that was used (or the name stap printed when no
    file was found).  ``file`` is the file name as DWARF records it (relative
    to the compilation directory, e.g. ``src/http/ngx_http_request.c``, or
    absolute), ``path`` the file found on disk for it, or None.  ``address``
    is the module-relative (ELF virtual) address that was looked up: for a
    return address that is the call instruction's address, ``return - 1``.
    ``problem`` is None when everything was found, else one of
    :data:`PROBLEMS`, and ``hint`` then says in one sentence what to do.
    ``end_line`` is set by :meth:`Symbolizer.locate_function`: the last line of
    the function's code.
    """

    module: str | None = None
    function: str | None = None
    file: str | None = None
    path: Path | None = None
    line: int | None = None
    problem: str | None = None
    hint: str | None = None
    address: int | None = None
    build_id: str | None = None
    end_line: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """``file:line`` (or the function, or the problem) for a one-line view."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        if self.file:
            return self.file
        return self.function or self.problem or "?"


@dataclass(kw_only=True, slots=True)
class SourceSnippet:
    """Lines of a source file around a target line.

    ``first_line`` is the 1-based number of ``lines[0]``; ``lines`` hold the
    text without line endings (decoded as UTF-8 with replacement: never
    escaped here, the views escape).
    """

    path: Path
    first_line: int
    lines: list[str] = field(default_factory=list)
    target_line: int | None = None

    @property
    def last_line(self) -> int:
        return self.first_line + len(self.lines) - 1

    def numbered(self) -> list[tuple[int, str]]:
        return [(self.first_line + i, text) for i, text in enumerate(self.lines)]
