"""Build stapbench's JupyterLab extension into stapbench/labextension (committed, so that
``pip install stapbench`` needs no node).

    cd labextension && npm ci && ../.venv/bin/python build.py

The builder runs against the installed JupyterLab's own core description
(``jupyterlab/staging/package.json``), so the shared packages (CodeMirror, Lezer, JupyterLab's
own) are the ones that JupyterLab provides at run time.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import util
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    spec = util.find_spec("jupyterlab")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("jupyterlab is not installed in this Python (pip install 'jupyterlab>=4.2,<5')")
    core = Path(list(spec.submodule_search_locations)[0]) / "staging"
    builder = HERE / "node_modules" / "@jupyterlab" / "builder" / "lib" / "build-labextension.js"
    if not builder.exists():
        sys.exit(f"{builder} is missing: run `npm ci` in {HERE} first")
    mode = sys.argv[1:]  # e.g. --development for readable output
    return subprocess.call(["node", str(builder), "--core-path", str(core), *mode, str(HERE)], cwd=HERE)


if __name__ == "__main__":
    sys.exit(main())
