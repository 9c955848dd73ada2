"""Finding a DWARF file name on disk, and reading lines around a target line."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .location import SourceSnippet


def candidate_paths(file: str, source_roots: tuple[Path, ...], comp_dir: str | None) -> list[Path]:
    """Where ``file`` may be, most specific first.

    Relative names (``src/http/ngx_http_request.c``) are tried under each
    source root, then under the DWARF compilation directory.  Absolute names
    are tried as they are, then, for a tree built elsewhere (a distribution's
    ``/build/nginx-XYZ/src/...``), each shorter tail of the name under each
    source root.
    """
    name = PurePosixPath(file)
    out: list[Path] = []
    if name.is_absolute():
        out.append(Path(name))
        parts = name.parts[1:]
        for start in range(1, len(parts)):
            tail = Path(*parts[start:])
            out.extend(root / tail for root in source_roots)
    else:
        out.extend(root / name for root in source_roots)
        if comp_dir:
            out.append(Path(comp_dir) / name)
            # the source root may be the *parent* of a relocated compilation directory
            out.extend(root / Path(comp_dir).name / name for root in source_roots)
    return out


def find_source(file: str, source_roots: tuple[Path, ...], comp_dir: str | None) -> Path | None:
    for path in candidate_paths(file, source_roots, comp_dir):
        if path.is_file():
            return path
    return None


class SourceCache:
    """Source files read once, kept as lists of lines (keyed by path and mtime)."""

    def __init__(self, max_files: int = 256):
        self._files: dict[Path, tuple[int, list[str]]] = {}
        self._max = max_files

    def lines(self, path: Path) -> list[str] | None:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._files.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None
        lines = text.splitlines()
        if len(self._files) >= self._max:
            self._files.pop(next(iter(self._files)))
        self._files[path] = (mtime, lines)
        return lines

    def snippet(self, path: Path, line: int, context: int) -> SourceSnippet | None:
        lines = self.lines(path)
        if lines is None or not 1 <= line <= max(len(lines), 1):
            return None
        first = max(1, line - context)
        last = min(len(lines), line + context)
        return SourceSnippet(path=path, first_line=first, lines=lines[first - 1:last], target_line=line)
