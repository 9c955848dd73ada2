"""StreamParser: lossless, chunking-invariant, never raises, streams as it goes."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapbench.model import Backtrace, Diagnostic, StructDump, TextLine
from stapbench.parser import StreamParser, parse_bytes
from stapbench.parser.stream import MAX_LINE_BYTES
from stapbench.parser.lines import BPF_NOISE
from tests.support.paths import FIXTURES

PARSER_FIXTURES = sorted((FIXTURES / "parser").glob("*.txt"))


def joined_raw(events) -> bytes:
    return "".join(e.raw for e in events).encode("utf-8", "surrogateescape")


def feed_in_chunks(data: bytes, sizes, stream="merged", max_line=MAX_LINE_BYTES):
    parser = StreamParser(stream, max_line)
    events = []
    pos = 0
    i = 0
    while pos < len(data):
        n = max(1, sizes[i % len(sizes)]) if sizes else len(data)
        events += parser.feed(data[pos:pos + n])
        pos += n
        i += 1
    return events + parser.close()


# text made of the pieces stap output is made of, so the properties explore real formats
_PIECES = [
    " 0xffffffff81313793 : __blk_run_queue+0x33/0x40 [kernel]\n", "Returning from:  0x1 : f+0x0/0x3 [k]\n",
    "Returning to  :  0x2 : g+0x1/0x3 [k]\n", "sym+0x1a [mod]\n", "brief+0x3\n", " 0x0 (inexact)\n",
    "semantic error: no match\n", "        source: probe begin {\n", "                ^\n", "\n",
    "WARNING: Number of errors: 1, skipped probes: 2\n", "Tip: read the docs\n", "Pass 5: starting run.\n",
    "{.a=1, .b={...}, .s=\"x y\"}\n", "fd=0x3 x=?\n", "é€😀", "\r\n", "\x1b[01;31m", "^C", "\xff",
    "process(\"/bin/x\").function(\"f@x.c:3\") $a:int\n", "<no user backtrace at begin>\n", "\t12\n",
]


def _with_noise(line: str, at: int) -> str:
    return line[:at] + BPF_NOISE + line[at:]


# stap 4.8's BPF runtime prints its debug text before a printf's output; it may land anywhere
# in a line, also inside another copy of itself (then its removal leaves a copy behind)
_NOISY = ["\n", BPF_NOISE, BPF_NOISE + "\n"] + [
    variant
    for frame, at in ((" 0x1 : f+0x1/0x3 [k]\n", 7), ("Returning from:  0x1 : f+0x0/0x3 [k]\n", 0),
                      ("sym+0x1a [mod]\n", 11), ("brief+0x3\n", 0))
    for variant in (_with_noise(frame, at), _with_noise(_with_noise(frame, at), at + 10))
]


@st.composite
def stap_like_bytes(draw):
    parts = draw(st.lists(st.one_of(st.sampled_from(_PIECES), st.sampled_from(_NOISY), st.text(max_size=8)),
                          max_size=40))
    data = "".join(parts).encode("utf-8", "surrogateescape") if parts else b""
    # sprinkle raw bytes (invalid UTF-8, NUL) in
    extra = draw(st.binary(max_size=6))
    cut = draw(st.integers(0, len(data)))
    return data[:cut] + extra + data[cut:]


@st.composite
def stap_like_lines(draw):
    """Whole noisy lines, so that equal lines (a frame cache's hits) meet often."""
    lines = [piece for piece in _NOISY if piece.endswith("\n")] + ["\t12\n", " 0x1 : f+0x1/0x3 [k]\n"]
    return "".join(draw(st.lists(st.sampled_from(lines), max_size=40))).encode()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_roundtrip_without_exception(data):
    # exact, since every line is under the parser's bound (MAX_LINE_BYTES); past it a line keeps
    # its first bytes (test_parser_hardening states that rule)
    for stream in ("merged", "stdout", "stderr"):
        events = parse_bytes(data, stream)
        assert joined_raw(events) == data
        assert all(e.stream == stream for e in events)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=stap_like_bytes())
def test_stap_like_bytes_roundtrip(data):
    assert joined_raw(parse_bytes(data)) == data


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=stap_like_bytes() | stap_like_lines(), sizes=st.lists(st.integers(1, 17), min_size=1, max_size=8))
def test_any_chunking_gives_the_same_events(data, sizes):
    assert feed_in_chunks(data, sizes) == parse_bytes(data)


@pytest.mark.parametrize("path", PARSER_FIXTURES, ids=lambda p: p.name)
def test_fixtures_byte_by_byte_equal_whole(path):
    data = path.read_bytes()
    whole = parse_bytes(data)
    assert joined_raw(whole) == data
    assert feed_in_chunks(data, [1]) == whole
    assert feed_in_chunks(data, [7, 3, 64]) == whole


def test_split_inside_utf8_character():
    data = "naïve → 😀\n".encode()
    split = data.index("😀".encode()) + 2
    parser = StreamParser()
    assert parser.feed(data[:split]) == []
    events = parser.feed(data[split:]) + parser.close()
    assert [e.text for e in events] == ["naïve → 😀"]


def test_invalid_utf8_nul_and_garbage_survive():
    data = b"ok\n\xff\xfe\x00bin\x00ary\n" + os.urandom(4096) + b"\ntail\x80"
    events = parse_bytes(data)
    assert joined_raw(events) == data
    assert events[0].text == "ok"
    assert events[1].text == "\udcff\udcfe\x00bin\x00ary"


def test_ten_megabyte_line_in_small_chunks():
    line = b"x" * (10 * 1024 * 1024)
    data = b"start\n" + line + b"\nend\n"
    events = feed_in_chunks(data, [65536], max_line=len(line))
    assert [len(e.raw) for e in events] == [6, len(line) + 1, 4]
    assert joined_raw(events) == data
    # past the bound (1 MiB by default) the line keeps its first bytes and says how many went
    events = feed_in_chunks(data, [65536])
    assert [(len(e.raw), e.cut_bytes) for e in events] == [(6, 0), (MAX_LINE_BYTES + 1, len(line) - MAX_LINE_BYTES), (4, 0)]


def test_ten_megabyte_struct_like_line_does_not_hang():
    data = b" 0x1 : " + b"{.a=" * 2_000_000 + b"\n"
    events = parse_bytes(data, max_line=len(data))
    assert joined_raw(events) == data


def test_crlf_kept_in_raw_and_dropped_from_text():
    events = parse_bytes(b"hello\r\n 0x1 : f+0x0/0x1 [k]\r\n")
    assert events[0].raw == "hello\r\n" and events[0].text == "hello"
    assert isinstance(events[1], Backtrace) and events[1].frames[0].symbol == "f"
    assert events[1].raw.endswith("\r\n")


def test_events_come_as_soon_as_complete():
    parser = StreamParser()
    assert [e.text for e in parser.feed(b"first\nsec")] == ["first"]
    # a backtrace stays pending until a line that does not continue it
    assert parser.feed(b"ond\n 0x1 : f+0x0/0x1 [k]\n 0x2 : g+0x0/0x1 [k]\n") == [TextLine(raw="second\n", text="second")]
    events = parser.feed(b"after\n")
    assert isinstance(events[0], Backtrace) and len(events[0].frames) == 2
    assert events[1].text == "after"


def test_flush_emits_pending_backtrace_and_keeps_partial_line():
    parser = StreamParser()
    assert parser.feed(b" 0x1 : f+0x0/0x1 [k]\npart") == []
    flushed = parser.flush()
    assert len(flushed) == 1 and isinstance(flushed[0], Backtrace)
    assert parser.flush() == []
    rest = parser.feed(b"ial\n") + parser.close()
    assert [e.text for e in rest] == ["partial"]


def test_flush_then_more_frames_start_a_new_backtrace():
    parser = StreamParser()
    parser.feed(b" 0x1 : f+0x0/0x1 [k]\n")
    first = parser.flush()
    second = parser.feed(b" 0x2 : g+0x0/0x1 [k]\n") + parser.close()
    assert [len(e.frames) for e in first + second] == [1, 1]


def test_close_twice_and_feed_after_close():
    parser = StreamParser()
    parser.feed(b"x")
    assert [e.raw for e in parser.close()] == ["x"]
    assert parser.close() == []
    with pytest.raises(ValueError):
        parser.feed(b"y")


def test_unknown_stream_is_rejected():
    with pytest.raises(ValueError):
        StreamParser("both")


def test_stdout_mode_keeps_stap_lookalikes_as_text():
    data = (b"ERROR: probe printed this\nWARNING: Number of errors: 1, skipped probes: 2\n"
            b"Pass 5: starting run.\nsemantic error: no match\n\nTip: x\n")
    events = parse_bytes(data, "stdout")
    assert all(isinstance(e, TextLine) for e in events)
    merged = parse_bytes(data, "merged")
    assert {e.type for e in merged} >= {"diagnostic", "summary", "pass"}


def test_stdout_mode_still_finds_backtraces_and_dumps():
    events = parse_bytes(b" 0x1 : f+0x0/0x1 [k]\n{.a=1}\n", "stdout")
    assert [type(e) for e in events] == [Backtrace, StructDump]


def test_stderr_mode_finds_diagnostics():
    events = parse_bytes(b"ERROR: division by 0 near operator '/' at x.stp:3:9\n", "stderr")
    assert isinstance(events[0], Diagnostic) and events[0].stream == "stderr"
    assert (events[0].file, events[0].line, events[0].column) == ("x.stp", 3, 9)


def test_ctrl_c_echo_glued_to_next_line():
    events = parse_bytes(b"^CWARNING: Number of errors: 0, skipped probes: 5\n^C\n")
    assert events[0].type == "summary" and events[0].skipped == 5
    assert events[0].raw.startswith("^C")
    assert events[1].text == ""


def test_ansi_colors_are_interpreted_but_kept_in_raw():
    data = (FIXTURES / "parser" / "colored.txt").read_bytes()
    (diag,) = parse_bytes(data)
    assert isinstance(diag, Diagnostic)
    assert diag.message == "unresolved target-symbol expression"
    assert (diag.token, diag.file, diag.line, diag.column) == ("$foo", "<input>", 1, 23)
    assert diag.caret_column == 22 and diag.source[diag.caret_column:].startswith("$foo")
    assert "\x1b[01;31m" in diag.raw


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=stap_like_bytes())
def test_every_event_serializes_to_valid_json_lines(data):
    import json

    from stapbench.model.serialize import dumps_event

    records = []
    for event in parse_bytes(data):
        line = dumps_event(event)
        assert "\n" not in line
        line.encode("utf-8")  # always valid UTF-8 text
        records.append(json.loads(line))
    assert "".join(r["raw"] for r in records).encode("utf-8", "surrogateescape") == data


def test_cached_frames_never_stand_in_for_lines_that_need_clean_up():
    # the first line's text (after dropping one CR) still ends in a CR; a later
    # line that is exactly that text must be parsed on its own, in any chunking
    data = b" 0x1 : f+0x1/0x2 at a.c\r\r\n 0x1 : f+0x1/0x2 at a.c\r\nx\n 0x1 : f+0x1/0x2 at a.c\r\n"
    whole = parse_bytes(data)
    assert feed_in_chunks(data, [1]) == whole
    assert feed_in_chunks(data, [len(data) - 3, 3]) == whole
    files = [f.file for e in whole if isinstance(e, Backtrace) for f in e.frames]
    assert files[-1] == "a.c"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=stap_like_bytes() | stap_like_lines())
def test_fast_json_writer_writes_what_the_dict_route_writes(data):
    import json

    from stapbench.model.serialize import dumps_event, event_to_json, json_lines

    events = parse_bytes(data)
    for event in events[::2]:  # the runner's fields, when it sets them
        event.host, event.time = "host-1", 12.5
    expected = []
    for event in events:
        text = json.dumps(event_to_json(event), ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(event_to_json(event), ensure_ascii=True)
        expected.append(text)
        assert dumps_event(event) == text
    assert json_lines(events) == "".join(t + "\n" for t in expected).encode()
