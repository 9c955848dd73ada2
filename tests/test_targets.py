"""The throw-away nginx the notebooks and tests trace."""

import os
import urllib.request

import pytest

from stapbench.targets import NginxServer


def test_nginx_serves_on_loopback_and_stops_cleanly(nginx_binary):
    server = NginxServer(nginx_binary).start()
    try:
        workers = server.worker_pids
        assert len(workers) == 1 and workers[0] != server.pid
        body = urllib.request.urlopen(server.url, timeout=5).read()
        assert b"stapbench test page" in body
        status = urllib.request.urlopen(server.url + "status", timeout=5).read().decode()
        assert "server accepts handled requests" in status
    finally:
        server.stop()
    for pid in [server.pid, *workers]:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_missing_binary_says_how_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="provision"):
        NginxServer(tmp_path / "nope")
