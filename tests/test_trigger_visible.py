"""The trigger is visible: its output and exit status are in the run's render, and a trigger
that fails (curl could not connect: exit 7) is an error on the cell, not "trigger finished".
Real stap (BPF runtime) and a real curl against a port nothing listens on."""

from __future__ import annotations

import shutil
import socket

import pytest

from stapbench.runner import replay, run
from stapbench.runner.trigger import trigger_failure
from stapbench.views.runrender import run_bundle, trigger_bundle, workload_bundle

REQUESTS = 'probe process("{prog}").function("handle_request") {{ printf("req %d\\n", $r->number) }}\n'


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.mark.stap
def test_a_trigger_that_fails_is_an_error_on_the_cell(stap_bpf, demo_program, tmp_path, no_stap_left):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    url = f"http://127.0.0.1:{_closed_port()}/"
    r = run(REQUESTS.format(prog=demo_program), runtime="bpf", trigger=["curl", "-sS", url], timeout=60,
            transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.trigger_status == 7 and r.stop_reason == "trigger failed"
    failure = "trigger curl failed with exit status 7: could not connect to the server"
    assert any(n.startswith(failure) for n in r.notes)
    assert "trigger failed, trigger exit status 7" in r.status_line()
    bundle = run_bundle(r)
    assert 'class="stapbench-trigger stapbench-trigger-failed stapbench-error"' in bundle["text/html"]
    assert f"error: {failure}" in bundle["text/plain"]
    assert "Failed to connect" in bundle["text/plain"]  # curl's own message (-sS), shown apart
    assert "trigger finished" not in bundle["text/plain"]
    # a replay says the same
    again = replay(r.folder)
    assert again.stop_reason == "trigger failed" and trigger_bundle(again) == trigger_bundle(r)


@pytest.mark.stap
def test_a_trigger_that_succeeds_shows_its_output_and_status(stap_bpf, demo_program, tmp_path, no_stap_left):
    r = run(REQUESTS.format(prog=demo_program), runtime="bpf", trigger=[str(demo_program), "2", "50"],
            timeout=60, transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.stop_reason == "trigger finished" and r.trigger_status == 0
    html, text = trigger_bundle(r)
    assert "stapbench-trigger-ok" in html and "error" not in text
    assert text.startswith("trigger exited with status 0 -- ") and "  | total=" in text


def test_failures_are_named():
    assert trigger_failure(["curl", "x"], 0) is None and trigger_failure(None, None) is None
    assert trigger_failure(["/usr/bin/curl"], 6).endswith("could not resolve the host")
    assert trigger_failure(["wrk"], 1) == "trigger wrk failed with exit status 1"
    assert trigger_failure(["ab"], -9) == "trigger ab was killed by signal 9"


def test_trigger_output_is_escaped_in_the_render():
    class FakeRun:  # a finished run's trigger fields, as replay() gives them
        trigger_argv = ["sh-less", "<b>"]
        trigger_status = 3
        trigger_output = "<img src=x onerror=alert(1)>\n"
        running = False

    html, text = trigger_bundle(FakeRun())
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;" in html
    assert "error: trigger sh-less failed with exit status 3" in text


def test_the_cmd_programs_output_is_shown_apart_and_escaped():
    class FakeRun:  # a finished run's -c fields, as replay() gives them
        trigger_argv = None
        program_argv = ["./demo", "<b>"]
        program_output = "<img src=x onerror=alert(1)>\ntotal=3\n"
        running = False

    html, text = workload_bundle(FakeRun())
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;" in html
    assert 'class="stapbench-trigger stapbench-program"' in html and "not probe output" in html
    assert text.startswith("program output -- ./demo <b>\n") and "  | total=3\n" in text
    FakeRun.program_output = ""
    assert workload_bundle(FakeRun()) == ("", "")  # nothing printed: nothing shown


def test_a_trigger_of_a_run_that_failed_to_compile_was_not_started():
    class FakeRun:
        trigger_argv = ["curl", "-s", "http://127.0.0.1:1/"]
        trigger_status = None
        trigger_output = ""
        running = False
        ready_at = None  # stap ended before its probes were live

    html, text = trigger_bundle(FakeRun())
    assert text.startswith("trigger not started: stap ended before its probes were live -- curl")
    FakeRun.ready_at = 12.0  # live, then stopped before curl exited
    assert trigger_bundle(FakeRun())[1].startswith("trigger did not finish -- curl")
