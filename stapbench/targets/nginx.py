"""Start a throw-away nginx on 127.0.0.1 to trace, and stop it again.

Used by the tests and by the workbench notebooks: it runs the nginx that
``.ci/provision`` builds (``.work/nginx/sbin/nginx``, ``-g -O0``) in the
foreground (``daemon off``) under a temporary prefix, with one worker by
default so that ``-x <worker pid>`` sees every request.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_PROJECT = Path(__file__).resolve().parents[2]

CONFIG = """\
worker_processes {workers};
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    keepalive_timeout 0;
    # a client that sends half a header is timed out (and marked so) in 2 s, not the default 60 s
    client_header_timeout 2s;
    reset_timedout_connection {reset};
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/html;
        location /status {{ stub_status; }}
        # closes the connection without a reply (curl: exit 52, empty reply); the request is
        # marked timed out, so reset_timedout_connection decides between a FIN and an RST
        location /abort {{ return 444; }}
    }}
}}
"""


def default_nginx_binary() -> Path:
    """``$STAPBENCH_NGINX``, else the provisioned build under ``.work``."""
    env = os.environ.get("STAPBENCH_NGINX")
    if env:
        return Path(env)
    work = Path(os.environ.get("STAPBENCH_WORK", _PROJECT / ".work"))
    return work / "nginx" / "sbin" / "nginx"


def default_nginx_source() -> Path:
    """The source tree the provisioned nginx was compiled in (its DWARF names
    ``src/...`` relative to it): ``$STAPBENCH_NGINX_SOURCE``, else ``.work/nginx-source``
    (a link .ci/provision makes), else the newest ``.work/nginx-src/nginx-*``."""
    env = os.environ.get("STAPBENCH_NGINX_SOURCE")
    if env:
        return Path(env)
    work = Path(os.environ.get("STAPBENCH_WORK", _PROJECT / ".work"))
    if (work / "nginx-source" / "src" / "core").is_dir():
        return work / "nginx-source"
    trees = sorted(p for p in (work / "nginx-src").glob("nginx-*") if (p / "src" / "core").is_dir())
    return trees[-1] if trees else work / "nginx-source"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxServer:
    """A foreground nginx master with ``workers`` workers, listening on 127.0.0.1:``port``."""

    def __init__(self, binary: Path | str | None = None, *, port: int | None = None, workers: int = 1,
                 reset_timedout_connection: bool = False):
        self.binary = Path(binary) if binary else default_nginx_binary()
        if not self.binary.exists():
            raise FileNotFoundError(f"no nginx at {self.binary}: run `bash .ci/provision` to build it")
        self.port = port or _free_port()
        self.workers = workers
        self.reset_timedout_connection = reset_timedout_connection
        self._tmp = tempfile.TemporaryDirectory(prefix="stapbench-nginx-")
        self.prefix = Path(self._tmp.name)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        """The master's pid."""
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(p) for p in children]

    def start(self, timeout: float = 15.0) -> "NginxServer":
        # Workers of a root master run as nobody: they must be able to read the page.
        self.prefix.chmod(0o755)
        (self.prefix / "html").mkdir()
        (self.prefix / "tmp").mkdir()
        (self.prefix / "logs").mkdir()
        (self.prefix / "html" / "index.html").write_text("<h1>stapbench test page</h1>\n")
        conf = self.prefix / "nginx.conf"
        conf.write_text(CONFIG.format(workers=self.workers, prefix=self.prefix, port=self.port,
                                     reset="on" if self.reset_timedout_connection else "off"))
        self.process = subprocess.Popen(
            [str(self.binary), "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "wb"),
            start_new_session=True,
        )
        # its own session survives the kernel: a notebook closed without its clean-up cell
        # must not leave nginx behind
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: "
                                   + (self.prefix / "stderr.log").read_text(errors="replace"))
            if self._listening() and len(self.worker_pids) >= self.workers:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"nginx did not listen on 127.0.0.1:{self.port} in {timeout}s")
            time.sleep(0.05)

    def _listening(self) -> bool:
        """Is 127.0.0.1:port in LISTEN state?  Read from /proc/net/tcp rather than by
        connecting: a test connection would be connection #1 of the worker, and its
        close would show up in the very traces the user is about to take."""
        want = f"0100007F:{self.port:04X}"
        try:
            rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            return False
        return any(cols[1] == want and cols[3] == "0A" for cols in (row.split() for row in rows) if len(cols) > 3)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self.process is not None and self.process.poll() is None:
            # QUIT is nginx's graceful stop; the session group catches any straggling worker.
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._tmp.cleanup()

    def __enter__(self) -> "NginxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
