"""Re-execute the workbench notebooks here (nbclient, from the notebooks folder) and save them
with their outputs: a maintainer's step after a change to what the views show.

    .venv/bin/python tools/refresh_notebooks.py [NOTEBOOK ...]   # default: every notebook

The saved outputs are the static renders (HTML and text) of each run, so a notebook shows
its backtraces, trees and diagnostics when opened without a kernel or on GitHub.  The
notebooks compute their paths when they run (stapbench.targets, the demo built in a
temporary folder), so they run on any machine provisioned by .ci/provision.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path: Path, timeout: float = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        nb = execute(path)
        nbformat.write(nb, path)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
