"""Re-execute a notebook here (nbclient, from this folder) and save it with its outputs.

    .venv/bin/python notebooks/refresh_outputs.py [notebooks/nginx_investigation.ipynb]

The saved outputs are the static renders (HTML and text) of each run, so the notebook
shows its backtraces, trees and diagnostics when opened without a kernel or on GitHub.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: float = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else HERE / "nginx_investigation.ipynb"
    nb = execute(path)
    nbformat.write(nb, path)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
