"""Runner pieces that need no stap: argv, the marker filter, transcripts, stopping, the watchdog."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from stapbench.runner.marker import MarkerFilter, TaggedLineFilter, script_with_marker
from stapbench.runner.options import RunOptions, as_argv, build_stap_argv
from stapbench.runner.process import group_members, stop_group
from stapbench.runner.transcript import TranscriptWriter, iter_chunks
from stapbench.runner.watchdog import release_watchdog, start_watchdog

MARK = "__stapbench_ready_0123456789abcdef__"


def test_argv_is_a_list_with_every_option_as_its_own_argument():
    opts = RunOptions(pid=42, runtime="bpf", modules=["/usr/lib/libc.so.6"], ldd=True,
                      globals={"msg": "a b;$(x)"}, macros={"MAXSTRINGLEN": "1024", "STP_NO_OVERLOAD": None},
                      guru=True, verbose=2, check=True)
    argv = build_stap_argv(opts, "/tmp/s.stp")
    assert argv == ["stap", "--runtime=bpf", "-p2", "-vv", "-g", "--ldd", "-d", "/usr/lib/libc.so.6",
                    "-D", "MAXSTRINGLEN=1024", "-D", "STP_NO_OVERLOAD", "-G", "msg=a b;$(x)",
                    "-x", "42", "/tmp/s.stp"]


def test_cmd_list_is_quoted_for_stap_which_splits_it_itself():
    argv = build_stap_argv(RunOptions(cmd=["./demo", "3", "/a b"]), "s.stp")
    assert argv[argv.index("-c") + 1] == "./demo 3 '/a b'"


@pytest.mark.parametrize("cmd, words", [
    ("./demo 'x;touch /tmp/M' \"$(id)\" a|b", ["./demo", "x;touch /tmp/M", "$(id)", "a|b"]),
    (["./demo", "it's", "~", "*", "a\nb", "$HOME"], ["./demo", "it's", "~", "*", "a\nb", "$HOME"]),
])
def test_cmd_reaches_stap_with_every_word_quoted(cmd, words):
    """stap gives its -c string to wordexp(3), and to /bin/sh -c when wordexp refuses it
    (an unquoted ; | & < > ( ) or $(...)): quoted words never reach a shell."""
    argv = build_stap_argv(RunOptions(cmd=cmd), "s.stp")
    value = argv[argv.index("-c") + 1]
    assert shlex.split(value) == words
    assert not set(_outside_quotes(value)) & set(";|&<>(){}$`\n*?[~")


def _outside_quotes(command: str) -> str:
    """The characters of a shell word list that no single or double quote covers."""
    out, quote = [], None
    for ch in command:
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif quote is None:
            out.append(ch)
    return "".join(out)


def test_cmd_that_cannot_be_split_is_refused():
    for cmd in ("./demo 'open", "", "   ", []):
        with pytest.raises(ValueError):
            RunOptions(cmd=cmd)


def test_pid_and_cmd_together_are_refused():
    with pytest.raises(ValueError):
        RunOptions(pid=1, cmd="true")
    with pytest.raises(ValueError):
        RunOptions(runtime="python")


def test_trigger_strings_are_split_without_a_shell():
    assert as_argv('curl -s "http://x/a b" ; rm -rf /') == ["curl", "-s", "http://x/a b", ";", "rm", "-rf", "/"]
    assert as_argv(["echo", "$(id)"]) == ["echo", "$(id)"]


def test_shim_only_for_bpf_and_env_overrides(tmp_path, monkeypatch):
    shim = tmp_path / "shim.so"
    shim.write_bytes(b"")
    monkeypatch.setenv("STAPBENCH_MEMLOCK_SHIM", str(shim))
    assert RunOptions(runtime="bpf").shim_path() == str(shim)
    assert RunOptions(runtime="kernel").shim_path() is None
    monkeypatch.setenv("STAPBENCH_MEMLOCK_SHIM", str(tmp_path / "missing.so"))
    assert RunOptions(runtime="bpf").shim_path() is None


def test_marker_is_appended_after_the_cell_lines():
    script = script_with_marker("probe begin {\n  exit()\n}", MARK, "bpf")
    lines = script.splitlines()
    assert lines[:3] == ["probe begin {", "  exit()", "}"]
    assert MARK in lines[3] and lines[3].startswith("probe begin") and len(lines) == 4


def test_on_the_kernel_runtime_the_marker_waits_for_a_running_session():
    """begin runs before the kprobes and uprobes are registered there: a one-shot timer says it."""
    for runtime in (None, "kernel"):
        lines = script_with_marker("probe begin { exit() }\n", MARK, runtime).splitlines()
        assert lines[0] == "probe begin { exit() }"
        (flag,) = [line.split()[1] for line in lines if line.startswith("global ")]
        (timer,) = [line for line in lines if MARK in line]
        assert timer.startswith("probe timer.ms(") and f"if (!{flag})" in timer and f"{flag} = 1" in timer


def feed_cut(stream_filter, stream: bytes, cuts: list[int]) -> tuple[bytes, list]:
    """Feed ``stream`` cut at ``cuts`` to a filter: (all it passed on, what each feed said besides)."""
    out, said = b"", []
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for a, b in zip(bounds, bounds[1:]):
        data, extra = stream_filter.feed(stream[a:b])
        out += data
        said.append(extra)
    return out + stream_filter.close(), said


@settings(max_examples=300, deadline=None)
@given(before=st.binary(max_size=80), after=st.binary(max_size=80), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_marker_filter_removes_the_marker_however_the_stream_is_cut(before, after, cuts):
    stream = before + MARK.encode() + b"\n" + after
    out, found_at = feed_cut(MarkerFilter(MARK), stream, cuts)
    # the first occurrence goes (it may start inside `before` if that ends like the marker)
    first = stream.find(MARK.encode() + b"\n")
    assert out == stream[:first] + stream[first + len(MARK) + 1:]
    assert found_at.count(True) == 1


TAG = "[stapbench-supervisor 0123abcd]"


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from([b"WARNING: x\n", b"[stapbench-super\n", b"Pass 5: run failed\n",
                                        TAG.encode() + b" note removed 1 uprobe\n", b"no newline"]), max_size=8),
       cuts=st.lists(st.integers(0, 400), max_size=8))
def test_tagged_line_filter_takes_out_whole_tagged_lines_however_cut(lines, cuts):
    stream = b"".join(lines)
    out, said = feed_cut(TaggedLineFilter(TAG), stream, cuts)
    texts = [text for chunk in said for text in chunk]
    expected = [line for line in stream.splitlines(keepends=True)]
    tagged = [i for i, line in enumerate(expected) if line.startswith(TAG.encode() + b" ") and line.endswith(b"\n")
              and (i == 0 or expected[i - 1].endswith(b"\n"))]
    assert texts == ["note removed 1 uprobe"] * len(tagged)
    assert out == b"".join(line for i, line in enumerate(expected) if i not in tagged)


def test_marker_filter_passes_everything_when_the_marker_never_comes():
    f = MarkerFilter(MARK)
    data, found = f.feed(b"hello\n__stapbench_rea")
    assert data == b"hello\n" and not found
    assert f.close() == b"__stapbench_rea"


def test_transcript_index_replays_the_arrival_order(tmp_path):
    w = TranscriptWriter(tmp_path)
    w.write("stdout", b"one\n")
    w.write("stderr", b"WARNING: x\n")
    w.write("stdout", b"two\n")
    w.write("trigger", b"curl says hi\n")
    w.close()
    assert [(s, d) for s, d, _t in iter_chunks(tmp_path)] == [
        ("stdout", b"one\n"), ("stderr", b"WARNING: x\n"), ("stdout", b"two\n"), ("trigger", b"curl says hi\n")]
    # bytes written after the last index line (a crash) are still replayed
    with open(tmp_path / "stdout.bin", "ab") as f:
        f.write(b"three\n")
    assert list(iter_chunks(tmp_path))[-1][:2] == ("stdout", b"three\n")


# --- stopping a process group ------------------------------------------------------

IGNORING = "import signal, time\nfor s in {sigs}: signal.signal(s, signal.SIG_IGN)\nprint('ok', flush=True)\ntime.sleep(120)\n"


def _group(sigs: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", IGNORING.format(sigs=sigs)], stdout=subprocess.PIPE,
                         start_new_session=True)
    assert p.stdout.readline() == b"ok\n"
    return p


@pytest.mark.parametrize("ignored, needed", [
    ("()", "SIGINT"),
    ("(signal.SIGINT,)", "SIGTERM"),
    ("(signal.SIGINT, signal.SIGTERM)", "SIGKILL"),
])
def test_stop_group_escalates_only_as_far_as_needed(ignored, needed):
    p = _group(ignored)
    notes = []
    t0 = time.monotonic()
    got = stop_group(p.pid, grace=0.5, term_grace=0.5, is_done=lambda: p.poll() is not None, log=notes.append)
    assert got == needed
    assert p.wait(5) is not None and group_members(p.pid) == []
    assert time.monotonic() - t0 < 5
    assert bool(notes) == (needed != "SIGINT")


def test_watchdog_stops_the_group_when_its_parent_goes_away():
    p = _group("()")
    dog = start_watchdog(p.pid, 1.0, 1.0)
    dog.stdin.close()  # what the kernel does to the pipe when the parent dies
    assert p.wait(10) == -signal.SIGINT
    assert dog.wait(10) == 0


def test_watchdog_leaves_the_group_alone_after_a_normal_end():
    p = _group("()")
    dog = start_watchdog(p.pid, 1.0, 1.0)
    release_watchdog(dog)
    assert dog.returncode == 0
    time.sleep(0.3)
    assert p.poll() is None
    p.kill()
    p.wait()


def test_replay_of_a_hand_made_folder(tmp_path):
    """A transcript composed by hand (no index, no meta): stdout then stderr, parsed and not lost."""
    from stapbench.runner import replay

    (tmp_path / "stdout.bin").write_bytes(b"ERROR: printed by a probe\nhit \xff\n")
    (tmp_path / "stderr.bin").write_bytes(
        b"semantic error: unresolved function foo (similar: log): identifier 'foo' at /tmp/a.stp:2:7\n"
        b"        source:   foo(1)\n"
        b"                  ^\n")
    r = replay(tmp_path)
    assert r.finished.is_set() and r.exit_status is None
    assert [(e.type, e.stream) for e in r.events if e.stream == "stdout"] == [("text", "stdout")] * 2
    assert r.events[1].raw.encode("utf-8", "surrogateescape") == b"hit \xff\n"
    assert [(d.kind, d.line, d.column) for d in r.diagnostics] == [("semantic", 2, 7)]


def test_replay_of_a_missing_folder_is_a_clear_error(tmp_path):
    from stapbench.runner import replay

    with pytest.raises(FileNotFoundError, match="no run folder"):
        replay(tmp_path / "nope")


def test_supervisor_lines_on_stderr_become_notes_not_events(tmp_path):
    from stapbench.runner.pipeline import ParsePipeline
    from stapbench.runner.record import RunRecord

    record = RunRecord("", RunOptions())
    record.supervisor_token = TAG
    pipeline = ParsePipeline(record)
    pipeline.feed("stderr", b"WARNING: Kernel function symbol table missing\n" + TAG.encode() + b" note rem")
    pipeline.feed("stderr", b"oved 1 uprobe that a killed stapbpf (pid 7) left loaded\n")
    pipeline.close()
    assert record.notes == ["removed 1 uprobe that a killed stapbpf (pid 7) left loaded"]
    assert [e.raw for e in record.events] == ["WARNING: Kernel function symbol table missing\n"]
