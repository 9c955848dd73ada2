"""``stapbench run`` and ``stapbench doctor`` as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.support.stap import wait_sessions_empty

STAPBENCH = [sys.executable, "-m", "stapbench"]
REQUESTS = 'probe process(@1).function("handle_request") { printf("req %d\\n", $r->number) }\n'


@pytest.mark.stap
def test_run_json_streams_events_and_exits_with_stap_status(stap_bpf, demo_program, tmp_path):
    script = tmp_path / "s.stp"
    script.write_text(REQUESTS + 'probe begin { printf("ERROR: from a probe\\n") }\n')
    done = subprocess.run([*STAPBENCH, "run", str(script), "--runtime", "bpf", "-c", f"{demo_program} 3 20",
                           "--arg", str(demo_program), "--json", "--transcript-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    texts = [e["text"] for e in events if e["type"] == "text"]
    assert texts[:4] == ["ERROR: from a probe", "req 1", "req 2", "req 3"]
    assert all(e["stream"] == "stdout" for e in events if e["type"] == "text")
    assert any(e["type"] == "diagnostic" and e["stream"] == "stderr" for e in events)


@pytest.mark.stap
def test_run_exit_status_of_a_failed_compile(stap_bpf, tmp_path):
    script = tmp_path / "bad.stp"
    script.write_text("probe begin {\n  nosuchfn()\n}\n")
    done = subprocess.run([*STAPBENCH, "run", str(script), "--runtime", "bpf",
                           "--transcript-dir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "semantic error" in done.stderr and ":2:3" in done.stderr


@pytest.mark.stap
def test_ctrl_c_stops_gracefully(stap_bpf, demo_program, tmp_path):
    script = tmp_path / "s.stp"
    script.write_text(REQUESTS + 'probe end { printf("END\\n") }\n')
    proc = subprocess.Popen([*STAPBENCH, "run", str(script), "--runtime", "bpf", "-c", f"{demo_program} 1000000 20",
                             "--arg", str(demo_program), "--transcript-dir", str(tmp_path / "runs")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("req ") or first.startswith("total"), first
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends the command in a terminal
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("END")
    assert "[stapbench] interrupted" in err
    meta = json.loads(next((tmp_path / "runs").rglob("meta.json")).read_text())
    assert meta["stop_reason"] == "interrupted"
    assert meta["stap_pid"] and wait_sessions_empty([meta["stap_pid"]], timeout=10) == []


def test_doctor_reports_missing_debuginfo_with_a_remedy(demo_program_stripped, demo_program):
    done = subprocess.run([*STAPBENCH, "doctor", "--no-live", "--target", str(demo_program_stripped)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("[FAIL] debuginfo"))
    assert "-dbgsym" in lines[at + 1] and "-g" in lines[at + 1]
    assert any(line.startswith("[") and "stap" in line for line in lines)
    ok = subprocess.run([*STAPBENCH, "doctor", "--no-live", "--target", str(demo_program)],
                        capture_output=True, text=True, timeout=120)
    assert f"[ok  ] debuginfo {demo_program}: has DWARF" in ok.stdout
