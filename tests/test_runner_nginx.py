"""A -x run on a real nginx worker, driven by a curl trigger."""

from __future__ import annotations

import re
import shutil

import pytest

from stapbench.runner import run

pytestmark = [pytest.mark.stap, pytest.mark.nginx]


def test_close_connection_numbers_on_a_worker(stap_bpf, nginx_server, tmp_path, no_stap_left):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = (f'probe process("{nginx_server.binary}").function("ngx_close_connection") {{\n'
              '  printf("close c=%d fd=%d pid=%d\\n", $c->number, $c->fd, pid())\n'
              '}\n')
    worker = nginx_server.worker_pids[0]
    trigger = ["curl", "-s", "-H", "Connection: close", nginx_server.url, nginx_server.url, nginx_server.url]
    r = run(script, pid=worker, runtime="bpf", trigger=trigger, timeout=120, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished", (r.stop_reason, r.raw("stderr"))
    assert r.trigger_status == 0
    assert r.trigger_output.count("hello from stapbench") == 3
    closes = [re.fullmatch(r"close c=(\d+) fd=(\d+) pid=(\d+)", e.text) for e in r.events if e.type == "text"]
    closes = [m for m in closes if m]
    numbers = [int(m[1]) for m in closes]
    assert len(numbers) == 3, [e.raw for e in r.events]
    assert numbers == sorted(set(numbers))  # distinct and increasing: one new connection per request
    assert all(int(m[3]) == worker for m in closes)
    assert all(int(m[2]) > 0 for m in closes)
