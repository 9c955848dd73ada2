"""``nginx_server``: the provisioned nginx (-g -O0) running on 127.0.0.1.

A generated config in a temporary prefix, a free port, ``master_process on``
with one worker, in the foreground (``daemon off``) so the test owns the
master; stopped (QUIT, then KILL) after the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .paths import WORK

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
error_log {prefix}/logs/error.log info;
pid {prefix}/logs/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello from stapbench\\n"; }}
    }}
}}
"""


@dataclass(frozen=True)
class NginxServer:
    binary: Path
    prefix: Path
    port: int
    master_pid: int
    worker_pids: tuple[int, ...]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on port {port} within {timeout} s")


@pytest.fixture
def nginx_server(tmp_path) -> NginxServer:
    from .nginx_build import find_nginx_build  # late: that module is a plugin of its own

    build = find_nginx_build()
    binary = build.binary if build else WORK / "nginx" / "sbin" / "nginx"
    if not binary.is_file():
        pytest.skip(f"nginx is not built at {binary}: run .ci/provision (it builds nginx 1.22.1 with -g -O0)")
    prefix = tmp_path / "nginx"
    for sub in ("conf", "logs", "tmp"):
        (prefix / sub).mkdir(parents=True)
    port = free_port()
    conf = prefix / "conf" / "nginx.conf"
    conf.write_text(CONFIG.format(prefix=prefix, port=port))
    proc = subprocess.Popen([str(binary), "-p", str(prefix), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_listening(port, proc, 20)
        deadline = time.monotonic() + 10
        while not (workers := _children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 1, f"expected one nginx worker, found {workers}"
        yield NginxServer(binary=binary, prefix=prefix, port=port, master_pid=proc.pid,
                          worker_pids=tuple(workers))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
