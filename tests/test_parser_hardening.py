"""Hostile input (issue 7): numbers of any length, BPF noise meeting the frame cache, ..."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stapbench.model import Atom, Backtrace, Diagnostic, Listing, PassLine, StructDump, Summary
from stapbench.model.serialize import dumps_event
from stapbench.parser import StreamParser, parse_bytes, parse_value
from stapbench.parser.lines import BPF_NOISE
from stapbench.parser.tokens import near_token, tail_token, token_at
from stapbench.parser.fold import fold_bytes
from tests.support.paths import PROJECT

# one digit past what int() converts (Python's int-string limit, sys.get_int_max_str_digits())
HUGE = "1" * 4301


def joined_raw(events) -> bytes:
    return "".join(e.raw for e in events).encode("utf-8", "surrogateescape")


def only(data: str, stream: str = "merged"):
    events = parse_bytes(data.encode(), stream)
    assert joined_raw(events) == data.encode()
    for event in events:
        json.loads(dumps_event(event))  # the JSON writer copes as well
    (event,) = events
    return event


# ------------------------------------------------------------------ numbers past 4,300 digits

def test_huge_pass_number_and_time():
    line = only(f"Pass {HUGE}: analyzed script in {HUGE}usr/{HUGE}sys/{HUGE}real ms.\n")
    assert isinstance(line, PassLine) and line.number is None and line.real_ms is None
    assert HUGE in line.text
    failed = only(f"Pass {HUGE}: compilation failed.  [man error::pass4]\n")
    assert isinstance(failed, Diagnostic) and failed.kind == "pass" and failed.pass_number is None


def test_huge_summary_numbers():
    s = only(f"WARNING: Number of errors: {HUGE}, skipped probes: 3\n")
    assert isinstance(s, Summary) and s.errors is None and s.skipped == 3
    s = only(f"Skipped due to global lock contention: {HUGE}\n")
    assert s.skipped_reasons == {"global lock contention": None}
    s = only(f"WARNING: /usr/bin/staprun exited with status: {HUGE}\n")
    assert isinstance(s, Summary) and s.staprun_status is None


@pytest.mark.parametrize("header", [
    f"semantic error: unresolved function: identifier 'f' at t.stp:{HUGE}:{HUGE}\n\n",
    f"WARNING: never assigned: identifier 'x' at t.stp:{HUGE}:3\n",
    f"ERROR: division by 0 near operator '/' at t.stp:{HUGE}:9\n",
    f"parse error: expected literal string\n\tat: identifier 'x' at t.stp:{HUGE}:1\n\n",
    f"SEMANTIC_ERROR\tt.stp\t{HUGE}\t{HUGE}\tfoo\tunresolved\n",
])
def test_huge_diagnostic_line_and_column(header):
    d = only(header)
    assert isinstance(d, Diagnostic) and d.file == "t.stp" and d.line is None
    assert HUGE in d.raw


def test_huge_frame_and_listing_line_numbers():
    (bt,) = parse_bytes(f" 0x1 : f+0x1/0x2 at a.c:{'9' * 4000} [k]\n".encode())
    assert isinstance(bt, Backtrace) and bt.frames[0].line == int("9" * 4000)
    listing = only(f'process("/bin/x").function("f@x.c:{HUGE}") $a:int\n')
    assert isinstance(listing, Listing) and listing.file == "x.c" and listing.line is None


def test_huge_struct_int_stays_its_exact_string():
    text = f"{{.a={HUGE}, .b=-{HUGE}, .c=7}}"
    value = parse_value(text)
    assert [m.value.as_int for m in value.members] == [None, None, 7]
    assert value.members[0].value.kind == "int"
    dump = only(text + "\n")
    assert isinstance(dump, StructDump)
    assert json.loads(dumps_event(dump))["value"] == {"a": HUGE, "b": "-" + HUGE, "c": 7}
    assert Atom(text=HUGE).as_int is None


def test_huge_fold_count_adds_up_exactly():
    data = f"f+0x1\n{HUGE}\nf+0x2\n{HUGE}\ng+0x1\n2\n".encode()
    assert fold_bytes(data) == b"f " + b"2" * 4301 + b"\ng 2\n"
    nines = "9" * 4300  # each converts, their sum has one digit more than int's str() prints
    assert fold_bytes(f"f+0x1\n{nines}\nf+0x1\n{nines}\n".encode()) == b"f 1" + b"9" * 4299 + b"8\n"


def test_cli_parse_of_a_huge_pass_line():
    data = ("Pass " + HUGE + ": x\n").encode()
    for extra in ([], ["--json"]):
        r = subprocess.run([sys.executable, "-m", "stapbench", "parse", "-", *extra], input=data,
                           capture_output=True, cwd=PROJECT, timeout=60)
        assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["number"] is None and json.loads(r.stdout)["raw"] == data.decode()


# ------------------------------------------------------------------ BPF noise and the frame cache

def test_noise_left_behind_by_its_own_removal_is_not_cached():
    # removing the noise once from a frame line leaves a copy of it; that text, arriving later as a
    # line of its own, must be parsed (noise removed: no frame), not taken from the frame cache
    inner = " 0x1 : hello from" + BPF_NOISE + " the new bpf assembler+0x1/0x2 [k]\n"
    later = " 0x1 : " + BPF_NOISE + "+0x1/0x2 [k]\n"
    data = (inner + later).encode()
    whole = parse_bytes(data)
    parser = StreamParser()
    by_line = [e for line in data.splitlines(True) for e in parser.feed(line)] + parser.close()
    assert by_line == whole
    assert [e.type for e in whole] == ["backtrace", "text"] and len(whole[0].frames) == 1


# ------------------------------------------------------------------ linear time on any line

# the expressions stap's token locations were first parsed with: they define the meaning, and
# backtrack (quadratic or worse); parser.tokens must find exactly what they find
_KINDS = r"identifier|operator|string|number|junk|keyword|embedded-code"
_REF_TOKEN = re.compile(rf"({_KINDS})(?: '(.*)')? at (.*):(\d+):(\d+)")
_REF_TAIL = re.compile(rf": ({_KINDS})(?: '(.*)')? at (.*):(\d+):(\d+)\Z")
_REF_NEAR = re.compile(rf" near ({_KINDS})(?: '(.*?)')? at (.*?):(\d+):(\d+)((?: \(called from .*\))*(?: in probe .*)?)\Z")

_TOKEN_PIECES = ["identifier", "keyword", "string", " '", "'", "' at ", " at ", ":", ": ", "1", "23", "٣", "x",
                 " ", "f.stp", " near ", " (called from ", ")", " in probe ", ") in probe ", "\r"]
_noise = st.sampled_from(["", "", "x", "f.stp", "a' at b", ": x", " at ", "x:1:2", " near x", " near identifier",
                          ": identifier 'a", " (called from ", ") in probe "]) \
    | st.lists(st.sampled_from(_TOKEN_PIECES), max_size=4).map("".join)


@st.composite
def token_texts(draw):
    """Mostly near-misses of a token location, so that both sides are held to many matches."""
    if draw(st.integers(0, 4)) == 0:
        return "".join(draw(st.lists(st.sampled_from(_TOKEN_PIECES), max_size=16)))
    pick = lambda options: draw(st.sampled_from(options))  # noqa: E731
    text = draw(_noise) + pick(["", ": ", " near "]) + pick(["identifier", "keyword", "junk"])
    if draw(st.booleans()):
        text += " '" + draw(_noise) + pick(["' at ", "'"])
    else:
        text += " at "
    text += draw(_noise) + pick([":1:", ":12:3:", ":", ":x:"]) + pick(["4", "56", ""])
    text += pick(["", "", " (called from x)", " (called from ", " in probe a", ")", ") in probe b", " x",
                  " (called from a) in probe x"])
    return text + pick(["", "", "", "x", " (called from "])


@settings(max_examples=600, deadline=None)
@given(token_texts())
def test_token_locations_match_the_reference_expressions(text):
    m = _REF_TOKEN.fullmatch(text)
    assert token_at(text) == (None if m is None else m.groups())
    m = _REF_TAIL.search(text)
    assert tail_token(text) == (None if m is None else (m.start(), m.groups()))
    m = _REF_NEAR.search(text)
    assert near_token(text) == (None if m is None else (m.start(), m.groups()[:5], m.group(6)))


_T = ": identifier 'a' at b:1:2 "
# every shape that made an expression backtrack (quadratic or worse), each as one line of about 1 MB
LINE_SHAPES = {
    "warning, token locations": "WARNING: x" + _T * 38_000,
    "semantic error, token locations": "semantic error: x" + _T * 38_000,
    "runtime error near, token locations": "ERROR: x near identifier 'a' at b:1:2 " + _T * 38_000,
    "runtime error, nears": "ERROR: x" + " near identifier 'a' at b:1:2 (called from " * 22_000,
    "warning, no spaces": "WARNING: " + "a" * 1_000_000,
    "warning, staprun": "WARNING: " + "staprun" * 140_000,
    "warning, digits": "WARNING: Number of errors: " + "1" * 1_000_000,
    "pass line, digits": "Pass 1: " + "1" * 1_000_000,
    "assertion": "stap: " + ": Assertion `" * 76_000,
    "man references": "ERROR: " + "[man " * 200_000,
    "similar, parentheses": "semantic error: (similar: " + "(x) " * 250_000,
    "listing, escaped quotes": 'a("' + 'x\\"' * 330_000,
    "listing, comments": "a.b(1)" + " /* <- a */" * 90_000,
    "struct, backslashes": '{.a="' + "\\\\" * 500_000,
    # frame lines are at most 4 KB (backtrace.MAX_FRAME_LINE); distinct, so none is a cache hit
    "frame lines, brackets": "\n".join(f" 0x{i:x} : a+0x1 [" + "a+0x1/0x1 [" * 370 for i in range(250)),
    "frame lines, plus": "\n".join(f" 0x{i:x} : " + "a+0x1/0x2" * 450 for i in range(250)),
}

_TIME_SHAPES = """
import json, sys, time
from stapbench.parser import parse_bytes
for name, text in json.load(sys.stdin).items():
    t0 = time.process_time()
    parse_bytes(text.encode() + b"\\n")
    print(f"{time.process_time() - t0:.3f} {name}", flush=True)
"""


def test_every_line_shape_parses_in_linear_time():
    # a guard, not a timing: each shape takes at most 0.3 s of CPU here and took minutes to hours
    # before; a child process, because a backtracking regex holds the GIL and can't be interrupted
    try:
        r = subprocess.run([sys.executable, "-c", _TIME_SHAPES], input=json.dumps(LINE_SHAPES).encode(),
                           capture_output=True, cwd=PROJECT, timeout=300)
    except subprocess.TimeoutExpired as exc:
        done = (exc.stdout or b"").decode().splitlines()
        pytest.fail(f"stuck on the shape after {done[-1] if done else 'none'}")
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    times = {line.split(" ", 1)[1]: float(line.split(" ", 1)[0]) for line in r.stdout.decode().splitlines()}
    assert set(times) == set(LINE_SHAPES)
    assert max(times.values()) < 5, times


# ------------------------------------------------------------------ --json of repeated member names

def test_repeated_member_names_are_numbered_in_order():
    (dump,) = parse_bytes(b"{.a=1, .a=2, .b=3, .a=4, <union>={.x=1}, <union>={.x=2}}\n")
    assert list(json.loads(dumps_event(dump))["value"]) == ["a", "a #2", "b", "a #3", "<union>", "<union> #2"]


_JSON_OF_REPEATS = """
import sys
from stapbench.model.serialize import dumps_event
from stapbench.parser import parse_bytes
import time
(dump,) = parse_bytes(sys.stdin.buffer.read())
sys.stdout.write(dumps_event(dump))
assert time.process_time() < 10, time.process_time()
"""


def test_json_of_many_repeated_member_names_is_linear():
    # 20,000 repeats: a fraction of a second now, minutes when each label was numbered from #2 up
    data = b"{" + b", ".join(b".a=1" for _ in range(20_000)) + b"}\n"
    r = subprocess.run([sys.executable, "-c", _JSON_OF_REPEATS], input=data, capture_output=True,
                       cwd=PROJECT, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    value = json.loads(r.stdout)["value"]
    assert len(value) == 20_000 and value["a #20000"] == 1


# ------------------------------------------------------------------ bounded memory

def cut_to(data: bytes, max_line: int) -> bytes:
    """The rule: each line keeps its first max_line bytes (and its newline)."""
    return b"\n".join(line[:max_line] for line in data.split(b"\n"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b" 0x1 : f+0x1/0x3 [k]", b"WARNING: x", b"source: y", b"\t12", b"", b"{.a=1}",
                                 b"\xe2\x82\xac\xe2\x82\xac", b"\xff"]) | st.binary(max_size=40), max_size=20),
       st.integers(1, 24), st.lists(st.integers(1, 9), min_size=1, max_size=4))
def test_lines_past_the_bound_keep_their_first_bytes_and_say_how_many_went(lines, max_line, sizes):
    data = b"\n".join(lines)
    events = parse_bytes(data, max_line=max_line)
    assert joined_raw(events) == cut_to(data, max_line)
    assert sum(e.cut_bytes for e in events) == len(data) - len(cut_to(data, max_line))
    parser = StreamParser(max_line=max_line)
    chunked, pos, i = [], 0, 0
    while pos < len(data):
        chunked += parser.feed(data[pos:pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    assert chunked + parser.close() == events


def test_cut_bytes_in_json_and_on_the_event_that_took_the_line():
    events = parse_bytes(b"WARNING: x\n source: " + b"y" * 40 + b"\nok\n", max_line=20)
    diag, text = events
    assert isinstance(diag, Diagnostic) and diag.source == "y" * 11 and diag.cut_bytes == 29
    assert json.loads(dumps_event(diag))["cut_bytes"] == 29 and json.loads(dumps_event(text))["cut_bytes"] == 0


# VmHWM, not getrusage's ru_maxrss: Linux carries that across exec from the forking process
# (this test process, large after hypothesis), VmHWM belongs to the new process's memory
_PEAK_RSS = """
import sys
from stapbench.cli import main
status = main(sys.argv[1:])
with open("/proc/self/status") as f:
    print(next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")), file=sys.stderr)
sys.exit(status)
"""


def peak_rss_mb(source_argv: list[str], *cli_args: str) -> int:
    """Peak RSS (MB) of ``stapbench parse`` reading what ``source_argv`` writes."""
    with subprocess.Popen(source_argv, stdout=subprocess.PIPE) as source:
        r = subprocess.run([sys.executable, "-c", _PEAK_RSS, "parse", "-", *cli_args], stdin=source.stdout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=PROJECT, timeout=240)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return int(r.stderr.decode().split()[-1])


def test_a_line_without_end_is_held_in_bounded_memory():
    # 300 MB of NULs and no newline (stapbench parse /dev/zero): 7.5 GB before, about 50 MB now
    assert peak_rss_mb(["head", "-c", "300M", "/dev/zero"], "--json") < 200


_DISTINCT_FRAMES = """
import sys
for i in range(60_000):
    sys.stdout.write(f" 0x{i:x} : " + "s" * 1800 + f"{i}+0x1/0x2 [k]\\n" + ("\\t7\\n" if i % 20 == 19 else ""))
"""


def test_the_frame_cache_is_bounded_in_bytes():
    # 60,000 distinct 1.9 KB frame lines, 20 to a stack: 250 MB when the cache counted entries only
    assert peak_rss_mb([sys.executable, "-c", _DISTINCT_FRAMES]) < 150


_FOLD_LONG_LINE = """
import io, time
from stapbench.parser.fold import fold_stream
data = b"x" * 128_000_000 + b"+0x1\\n5\\n"
assert fold_stream(io.BytesIO(data), chunk_size=1 << 16) == b"x" * 128_000_000 + b" 5\\n"
assert time.process_time() < 10, time.process_time()
"""


def test_fold_reads_a_line_longer_than_its_chunks_in_linear_time():
    # a 128 MB line in 64 KB chunks: a second of CPU now; each chunk copied the whole tail before
    r = subprocess.run([sys.executable, "-c", _FOLD_LONG_LINE], capture_output=True, cwd=PROJECT, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
