"""The magics in an in-process IPython shell, with a stand-in stap (no BPF needed)
for option handling and output rate limiting; the real stap is in test_notebook_stap.py."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from stapbench.magics.output import TextRunDisplay
from stapbench.runner import Run
from tests.support.paths import FIXTURES


@pytest.fixture
def fake_stap(tmp_path):
    path = tmp_path / "stap"
    path.write_text(f"#!{sys.executable}\n" + (FIXTURES / "runner" / "fake_stap.py").read_text())
    path.chmod(0o755)
    return path


@pytest.fixture
def shell(tmp_path, fake_stap, monkeypatch):
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "stapbench")
    ip.run_line_magic("config", f"StapMagics.stap_path = {str(fake_stap)!r}")
    ip.run_line_magic("config", f"StapMagics.transcript_dir = {str(tmp_path / 'runs')!r}")
    ip.run_line_magic("config", "StapMagics.max_lines = 50")
    yield ip
    ip.run_line_magic("config", "StapMagics.stap_path = 'stap'")
    ip.run_line_magic("unload_ext", "stapbench")


def test_expanded_values_reach_stap_as_literal_arguments(shell, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FAKE_STAP_ARGV", "1")
    monkeypatch.setenv("FAKE_STAP_LINES", "100")  # long enough for the trigger to run
    monkeypatch.setenv("FAKE_STAP_DELAY", "0.05")
    value = "a b;$(touch PWNED) `id` \"q' *"
    shell.user_ns.update(val=value, n=21)
    shell.run_cell_magic("stap", "-G msg={val} -D N={n*2} -x {n} --trigger 'echo {val} x' --out r",
                         'probe begin { printf("hi\\n") }')
    r = shell.user_ns["r"]
    assert isinstance(r, Run) and r.finished.is_set()
    got = json.loads(r.text().splitlines()[0])  # the argv the stand-in stap received
    assert got[got.index("-G") + 1] == f"msg={value}"
    assert got[got.index("-D") + 1] == "N=42" and got[got.index("-x") + 1] == "21"
    assert r.trigger_argv == ["echo", value, "x"]
    assert r.trigger_output == f"{value} x\n"
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("line, cell, message", [
    ("-x notanumber", "probe begin {}", "%%stap: argument -x/--pid: invalid int value"),
    ("-x 1 -c true", "probe begin {}", "either pid (-x) or cmd (-c)"),
    ("-G {undefined_name}", "probe begin {}", "cannot expand '{undefined_name}'"),
    ("--runtime nosuch", "probe begin {}", "argument --runtime: invalid choice"),
    ("--trigger", "probe begin {}", "--trigger needs a command"),
    ("--timeout 'unclosed", "probe begin {}", "No closing quotation"),
    ("--out r", "\n", "the cell has no script"),
])
def test_a_bad_line_fails_the_cell_with_a_usage_error(shell, line, cell, message):
    """A UsageError: IPython shows it without a traceback and the cell fails (Run All stops)."""
    with pytest.raises(UsageError, match=re.escape(message)):
        shell.run_cell_magic("stap", line, cell)
    result = shell.run_cell(f"%%stap {line}\n{cell}")
    assert isinstance(result.error_in_exec, UsageError)


def test_stap_help_works_on_an_empty_cell(shell, capsys):
    result = shell.run_cell("%%stap --help")  # what a cell holding only that line sends
    assert result.success
    out = capsys.readouterr().out
    assert out.startswith("%%stap [-h]") and "--trigger CMD" in out and "--bg" in out
    # the options come from the runner's one definition, shared with `stapbench run`
    assert "--after-trigger S" in out and "--record PATH" in out


@pytest.mark.parametrize("name, value, message", [
    ("view", "'bogus'", "expected any of ['auto', 'widget', 'text']"),
    ("final_view", "'keep'", "expected any of ['accompany', 'replace']"),
    ("runtime", "'bogus'", "StapMagics.runtime must be 'auto', ''"),
    ("max_lines", "0", "should not be less than 1"),
    ("timeout", "0", "StapMagics.timeout must be a number of seconds above 0"),
    ("max_updates_per_second", "0", "should not be less than 0.1"),
])
def test_config_refuses_a_bad_value_when_it_is_set(shell, caplog, name, value, message):
    magics = next(c for c in shell.configurables if type(c).__name__ == "StapMagics")
    before = getattr(magics, name)
    try:
        shell.run_line_magic("config", f"StapMagics.{name} = {value}")
        assert getattr(magics, name) == before
        assert message in caplog.text  # IPython's %config reports the refusal
    finally:
        shell.config.StapMagics.pop(name, None)  # %config keeps what it was given in the shell's config


def test_terminal_output_is_capped_and_counts_what_it_leaves_out(shell, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_STAP_LINES", "5000")
    shell.run_cell_magic("stap", "--out r", "probe begin {}")
    out = capsys.readouterr().out
    r = shell.user_ns["r"]
    hits = [line for line in out.splitlines() if line.startswith("hit ")]
    assert hits == [f"hit {n}" for n in range(50)]  # max_lines
    assert "[… 4,950 more lines not shown; all are in" in out
    assert "[stap exited with status 0" in out
    assert r.raw("stdout").count(b"\nhit ") == 5000


def test_bg_run_and_stap_stop(shell, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_STAP_LINES", "100000")
    monkeypatch.setenv("FAKE_STAP_DELAY", "0.01")
    t0 = time.monotonic()
    shell.run_cell_magic("stap", "--bg --out bg", "probe begin {}")
    assert time.monotonic() - t0 < 5  # returned at once
    bg = shell.user_ns["bg"]
    assert bg.running and bg.wait_ready(10)
    time.sleep(0.5)
    capsys.readouterr()
    shell.run_line_magic("stap_stop", "")
    assert bg.finished.is_set() and bg.stop_reason == "stopped"
    assert bg.events_total >= 5
    said = capsys.readouterr().out.strip().splitlines()[-1]
    assert said.startswith("%stap_stop: stopped bg (") and f"transcript: {bg.folder}" in said
    shell.run_line_magic("stap_stop", "")
    assert "no background run is going" in capsys.readouterr().out


def test_stap_stop_all_and_by_name(shell, monkeypatch):
    monkeypatch.setenv("FAKE_STAP_LINES", "100000")
    monkeypatch.setenv("FAKE_STAP_DELAY", "0.01")
    for name in ("a", "b", "c"):
        shell.run_cell_magic("stap", f"--bg --out {name}", "probe begin {}")
    a, b, c = (shell.user_ns[n] for n in "abc")
    shell.run_line_magic("stap_stop", "a")
    assert a.finished.is_set() and b.running and c.running
    with pytest.raises(UsageError, match="nosuch is not a stapbench Run"):
        shell.run_line_magic("stap_stop", "nosuch")
    shell.run_line_magic("stap_stop", "--all")
    assert b.finished.is_set() and c.finished.is_set()
    assert {a.stop_reason, b.stop_reason, c.stop_reason} == {"stopped"}


def test_after_trigger_option_keeps_or_ends_the_run(shell, monkeypatch):
    monkeypatch.setenv("FAKE_STAP_LINES", "100000")
    monkeypatch.setenv("FAKE_STAP_DELAY", "0.01")
    shell.run_cell_magic("stap", "--trigger true --after-trigger 0.2 --timeout 30 --out quick", "probe begin {}")
    assert shell.user_ns["quick"].stop_reason == "trigger finished"
    shell.run_cell_magic("stap", "--trigger true --after-trigger inf --timeout 1.5 --out kept", "probe begin {}")
    kept = shell.user_ns["kept"]
    assert kept.stop_reason == "timeout" and kept.trigger_status == 0


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, bundle, raw=False):
        self.updates.append((time.monotonic(), bundle["text/plain"]))


def test_a_flood_of_100k_lines_a_second_is_coalesced(fake_stap, tmp_path, monkeypatch):
    """The kernel-side display: at most ~10 updates a second, a bounded text each time."""
    monkeypatch.setenv("FAKE_STAP_LINES", "400000")
    r = Run("probe begin {}", stap=str(fake_stap), transcript_dir=tmp_path)
    # the handle stands for what display(display_id=True) returns in a kernel
    display = TextRunDisplay(r, max_lines=100, max_rate=10, handle=_Handle()).show()
    r.start().wait()
    display.finish()
    took = r.ended_at - r.ready_at
    assert display.lines_total == 400000
    # speed is the benchmark's business; here: many lines were coalesced into each update
    print(f"{400000 / took:.0f} lines/s, {len(display._handle.updates)} updates")
    assert 400000 / len(display._handle.updates) >= 1000
    times = [t for t, _ in display._handle.updates]
    span = max(times[-1] - times[0], 1e-9)
    assert len(times) <= span * 10 + 2
    assert all(len(text.splitlines()) <= 100 + 10 for _, text in display._handle.updates)
    final = display._handle.updates[-1][1]
    assert "[… 399,900 earlier lines not shown; all 400,000 are in" in final
    assert final.rstrip().endswith("hit 399999")


def test_record_then_replay_shows_the_same_output(shell, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FAKE_STAP_LINES", "30")
    shell.user_ns["where"] = tmp_path / "kept run"
    shell.run_cell_magic("stap", "--record {where} --out r", "probe begin {}")
    first = capsys.readouterr().out
    assert (tmp_path / "kept run" / "meta.json").exists()
    shell.run_line_magic("stap_replay", "{where} --out again")
    replayed = capsys.readouterr().out
    again = shell.user_ns["again"]
    assert [e.raw for e in again.events] == [e.raw for e in shell.user_ns["r"].events]
    hits = [line for line in replayed.splitlines() if line.startswith("hit ")]
    assert hits == [line for line in first.splitlines() if line.startswith("hit ")] == [f"hit {n}" for n in range(30)]
    with pytest.raises(UsageError, match="already holds a recorded run"):
        shell.run_cell_magic("stap", "--record {where}", "probe begin {}")


def test_a_missing_stap_is_reported(shell, capsys, tmp_path):
    shell.run_line_magic("config", f"StapMagics.stap_path = {str(tmp_path / 'no-such-stap')!r}")
    with pytest.raises(UsageError, match="%%stap: could not start .*no-such-stap"):
        shell.run_cell_magic("stap", "--out r", "probe begin {}")
    r = shell.user_ns["r"]
    assert r.finished.is_set() and r.stop_reason == "error"


def test_widget_view_is_plugged_in_by_config(shell, monkeypatch, tmp_path):
    pytest.importorskip("anywidget")
    from stapbench.views import RunView

    monkeypatch.setenv("FAKE_STAP_LINES", "20")
    shell.run_line_magic("config", "StapMagics.view = 'widget'")
    shell.run_line_magic("config", f"StapMagics.source_roots = [{str(tmp_path)!r}]")
    try:
        shell.run_cell_magic("stap", "--out r", "probe begin {}")
    finally:
        shell.run_line_magic("config", "StapMagics.view = 'text'")
    magics = next(c for c in shell.configurables if type(c).__name__ == "StapMagics")
    view = magics._displays[shell.user_ns["r"]]
    assert isinstance(view, RunView) and view.closed
    assert "hit 19" in view.static_text()
    assert [str(p) for p in view.symbolizer.source_roots] == [str(tmp_path)]


@pytest.mark.parametrize("auto, line, runtime, noted", [
    (("bpf", "no kernel headers/Makefile in the build tree"), "", "bpf", True),
    (("bpf", "no kernel headers/Makefile in the build tree"), "--runtime kernel", "kernel", False),
    ((None, None), "", None, False),
    # a remote cell: the target's kernel runtime is the point, 'auto' keeps stap's default
    (("bpf", "no kernel headers/Makefile in the build tree"), "--remote unix:/tmp/no-such.sock", None, False),
])
def test_runtime_auto_picks_bpf_where_the_kernel_runtime_cannot_work(shell, monkeypatch, auto, line, runtime, noted):
    import stapbench.magics.stap as magics

    monkeypatch.setattr(magics, "auto_runtime", lambda: auto)
    monkeypatch.setenv("FAKE_STAP_ARGV", "1")
    monkeypatch.setenv("FAKE_STAP_LINES", "3")
    shell.run_cell_magic("stap", f"{line} --out r", 'probe begin { printf("hi\\n") }')
    r = shell.user_ns["r"]
    argv = json.loads(r.text().splitlines()[0])  # what the stand-in stap received
    assert r.options.runtime == runtime
    assert (f"--runtime={runtime}" in argv) == (runtime is not None)
    assert any("StapMagics.runtime = 'auto'" in n and "no kernel headers" in n for n in r.notes) == noted
    # ... and says where the kernel runtime is to be had
    assert any("`%stap_lab up`, then `%%stap --remote lab`" in n for n in r.notes) == noted
    assert ("--remote=unix:/tmp/no-such.sock" in argv) == ("--remote" in line)
    shell.run_cell_magic("stap", f"{line} --out again", 'probe begin { printf("hi\\n") }')
    assert shell.user_ns["again"].options.runtime == runtime
    assert not any("'auto'" in n for n in shell.user_ns["again"].notes)  # said once a session


def test_runtime_config_still_takes_a_runtime_or_stap_default(shell, monkeypatch):
    import stapbench.magics.stap as magics

    monkeypatch.setattr(magics, "auto_runtime", lambda: ("bpf", "why"))
    monkeypatch.setenv("FAKE_STAP_LINES", "3")
    try:
        shell.run_line_magic("config", "StapMagics.runtime = ''")
        shell.run_cell_magic("stap", "--out r", 'probe begin { printf("hi\\n") }')
        assert shell.user_ns["r"].options.runtime is None and not shell.user_ns["r"].notes
        shell.run_line_magic("config", "StapMagics.runtime = 'dyninst'")
        shell.run_cell_magic("stap", "--out r", 'probe begin { printf("hi\\n") }')
        assert shell.user_ns["r"].options.runtime == "dyninst"
    finally:
        shell.run_line_magic("config", "StapMagics.runtime = 'auto'")


def test_auto_runtime_here_matches_the_build_tree():
    from stapbench.runner.doctor import auto_runtime, kernel_build_tree

    runtime, why = auto_runtime()
    if (kernel_build_tree() / "Makefile").exists():
        assert runtime is None or why is not None
    elif __import__("shutil").which("stapbpf"):
        assert (runtime, why) == ("bpf", "no kernel headers/Makefile in the build tree")


def test_a_run_in_a_cell_shows_as_the_run(shell, monkeypatch):
    """jupysql/pyinstrument style: the Run bound with --out displays as its status, notes and
    static render (HTML and text), not as its repr; unloading the extension takes that back."""
    monkeypatch.setenv("FAKE_STAP_LINES", "3")
    shell.run_cell_magic("stap", "--out r", 'probe begin { printf("hi\\n") }')
    r = shell.user_ns["r"]
    r.add_note("a <note>")
    data, _ = shell.display_formatter.format(r)
    assert data["text/plain"].startswith("[stap exited with status 0")
    assert "[stapbench] a <note>" in data["text/plain"] and "hit 2" in data["text/plain"]
    html = data["text/html"]
    assert "stapbench-status" in html and "a &lt;note&gt;" in html and "hit 2" in html
    assert "<note>" not in html
    shell.run_line_magic("unload_ext", "stapbench")
    try:
        data, _ = shell.display_formatter.format(r)
        assert "text/html" not in data and data["text/plain"].startswith("<stapbench Run finished")
    finally:
        shell.run_line_magic("load_ext", "stapbench")


def test_run_all_stops_at_a_cell_with_a_bad_line(fake_stap, tmp_path):
    """In a real kernel, as Run All runs a notebook: the broken %%stap cell fails, with the
    reason, and the cells after it do not run."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        f"%load_ext stapbench\n%config StapMagics.stap_path = {str(fake_stap)!r}",
        "%%stap -x notanumber\nprobe begin {}",
        "ran_after = True",
    )]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failed:
        client.execute()
    assert failed.value.ename == "UsageError"
    assert "%%stap: argument -x/--pid: invalid int value: 'notanumber'" in failed.value.evalue
    assert nb.cells[2].execution_count is None and not nb.cells[2].outputs


def test_or_replay_shows_the_recording_where_the_run_cannot_go_live(shell, monkeypatch, capsys, tmp_path):
    """--or-replay: a run that can't start (-x of no process) or that fails before its probes
    are live is followed by the recorded run, bound to --out and marked as a recording; a run
    that went live is not replaced."""
    monkeypatch.setenv("FAKE_STAP_LINES", "3")
    shell.user_ns["kept"] = tmp_path / "kept"
    shell.run_cell_magic("stap", "--record {kept} --out live", "probe begin {}")
    recorded = shell.user_ns["live"]
    assert recorded.ready.is_set() and recorded.text().splitlines() == ["hit 0", "hit 1", "hit 2"]
    capsys.readouterr()

    shell.run_cell_magic("stap", "-x 4194305 --or-replay {kept} --out r", "probe begin {}")
    out = capsys.readouterr().out
    r = shell.user_ns["r"]
    assert r is not recorded and r.text() == recorded.text()
    assert "not live here (-x 4194305: there is no process 4194305" in out and f"recorded in {tmp_path / 'kept'}" in out

    monkeypatch.setenv("FAKE_STAP_FAIL", "semantic error: no match while resolving probe point")
    shell.run_cell_magic("stap", "--or-replay {kept} --out failed", "probe begin {}")
    assert shell.user_ns["failed"].text() == recorded.text()
    assert "not live here (" in capsys.readouterr().out

    monkeypatch.delenv("FAKE_STAP_FAIL")
    monkeypatch.setenv("FAKE_STAP_LINES", "1")
    shell.run_cell_magic("stap", "--or-replay {kept} --out went_live", "probe begin {}")
    assert shell.user_ns["went_live"].text() == "hit 0\n" and "not live here" not in capsys.readouterr().out

    with pytest.raises(UsageError, match="--or-replay .*nowhere"):
        shell.run_cell_magic("stap", f"-x 4194305 --or-replay {tmp_path / 'nowhere'}", "probe begin {}")


@pytest.mark.parametrize("line, message", [
    ("", "the following arguments are required: BIN|PID"),
    ("/bin/true a b", "unrecognized arguments: b"),
    ("/nonexistent/binary", "/nonexistent/binary"),
])
def test_stap_probes_refuses_a_bad_line_with_a_usage_error(shell, line, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        shell.run_line_magic("stap_probes", line)


def test_run_all_stops_at_a_bad_stap_probes_line(shell):
    result = shell.run_cell("%stap_probes\nafter = 1")
    assert isinstance(result.error_in_exec, UsageError) and "after" not in shell.user_ns


def test_a_cells_bpf_format_note_names_the_cell_line(shell):
    shell.run_cell_magic("stap", "--runtime bpf --out r", 'probe begin {\n  printf("%d\\n", 1)\n}')
    notes = shell.user_ns["r"].notes
    assert any(n.startswith("%d (cell line 3) prints only the low 32 bits") for n in notes), notes
