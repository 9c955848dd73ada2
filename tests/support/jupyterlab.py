"""A real JupyterLab 4 server and Debian's chromium driven by Playwright, for browser tests.

The server runs on 127.0.0.1 with a token, an isolated config/data/runtime folder and
``--LabApp.expose_app_in_browser`` so tests can call JupyterLab commands
(``window.jupyterapp.commands.execute(...)``).  Screenshots go to ``artifacts/screenshots``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .paths import PROJECT

CHROMIUM = os.environ.get("STAPBENCH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT / "artifacts"
# Without the background-networking flags chromium keeps trying to reach Google's hosts,
# which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    env: dict  # the server's JUPYTER_* folders: `jupyter trust` with it signs into the server's db

    def api(self, path: str):
        req = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_lab(root: Path, home: Path, log_path: Path):
    """A JupyterLab server on 127.0.0.1 serving ``root``, its config and data under ``home``;
    stopped (its kernels first, then its process group) on leaving the block."""
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
        IPYTHONDIR=str(home / "ipython"),
    )
    # The kernel must see the venv's kernelspec (python3 from this interpreter).
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.allow_root=True",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    # The checkout's own prebuilt JupyterLab extension (stapbench/labextension), found first in
    # the user data folder, so the tests see what this checkout ships (an installed wheel puts
    # the same files under share/jupyter/labextensions).
    extensions = home / "data" / "labextensions"
    extensions.mkdir(parents=True, exist_ok=True)
    if not (extensions / "stapbench").exists():
        (extensions / "stapbench").symlink_to(PROJECT / "stapbench" / "labextension", target_is_directory=True)
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root=root, process=proc, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.api("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {log_path}") from None
                time.sleep(0.3)
        yield server
    finally:
        try:
            for k in server.api("/api/kernels") or []:
                req = urllib.request.Request(f"{server.url}/api/kernels/{k['id']}", method="DELETE",
                                             headers={"Authorization": f"token {token}"})
                urllib.request.urlopen(req, timeout=10)
        except OSError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> LabServer:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (bash .ci/provision installs Debian's chromium)")
    with running_lab(tmp_path_factory.mktemp("lab-notebooks"), tmp_path_factory.mktemp("lab-home"),
                     ARTIFACTS_DIR() / "jupyterlab.log") as server:
        yield server


def ARTIFACTS_DIR() -> Path:
    d = ARTIFACTS / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def chromium_browser():
    pw_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    with pw_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser, request):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # tests assert no alert() ever fired
    yield pg
    try:
        pg.screenshot(path=str(ARTIFACTS_DIR() / f"{request.node.name}.png"), full_page=True)
    except Exception:
        pass
    context.close()


def open_notebook(page, server: LabServer, name: str, *, timeout_ms: int = 60_000):
    page.goto(server.notebook_url(name))
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)


def run_all_cells(page, *, timeout_ms: int = 120_000):
    """Run every cell and wait until the kernel is idle again."""
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=timeout_ms,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const cells = w.content.widgets.filter(c => c.model.type === 'code');"
        " return cells.every(c => c.model.executionCount !== null)"
        " && w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=timeout_ms,
    )


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def copy_notebook(server: LabServer, src: Path, name: str | None = None) -> str:
    """Put a notebook in the server's root; give it the python3 kernelspec so no dialog asks."""
    import nbformat

    name = name or src.name
    nb = nbformat.read(src, as_version=4)
    nb.metadata.setdefault("kernelspec", KERNELSPEC)
    nbformat.write(nb, server.root / name)
    return name
