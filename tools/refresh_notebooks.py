"""Re-execute the workbench notebooks here (nbclient, from the notebooks folder) and save them
with their outputs: a maintainer's step after a change to what the views show.

    .venv/bin/python tools/refresh_notebooks.py [NOTEBOOK ...]   # default: every notebook

The saved outputs are the static renders (HTML and text) of each run, so a notebook shows
its backtraces, trees and diagnostics when opened without a kernel or on GitHub.  The
notebooks compute their paths when they run (stapbench.targets, the demo built in a
temporary folder), so they run on any machine provisioned by .ci/provision; the paths of this
machine in their outputs are saved relative to the project, ``~`` or ``$TMPDIR``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path: Path, timeout: float = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


PROJECT = NOTEBOOKS.parent


def machine_paths() -> list[tuple[re.Pattern, str]]:
    """What of this machine a saved output would show, and what it is saved as: the project's
    folder as a relative path (the notebooks run from notebooks/, next to it), the home folder
    as ``~``, a temporary folder (the quickstart's demo build) as ``$TMPDIR``."""
    home = os.path.expanduser("~")
    return [
        (re.compile(re.escape(str(PROJECT)) + r"/"), ""),
        (re.compile(re.escape(home.rstrip("/")) + r"(?=/)"), "~"),
        (re.compile(re.escape(tempfile.gettempdir()) + r"/tmp[A-Za-z0-9_]{6,}(?=/)"), "$TMPDIR"),
    ]


def without_machine_paths(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The outputs with :func:`machine_paths` replaced (the cells' sources compute their paths
    when they run, so they hold none): a notebook saved here reads the same on any machine."""
    rules = machine_paths()

    def clean(value):
        if isinstance(value, str):
            for pattern, repl in rules:
                value = pattern.sub(repl, value)
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in nb.cells:
        if cell.get("outputs"):
            cell["outputs"] = nbformat.from_dict(clean(cell["outputs"]))
    return nb


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        nb = without_machine_paths(execute(path))
        nbformat.write(nb, path)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
