"""Hostile input (issue 7): numbers of any length, BPF noise meeting the frame cache, ..."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stapbench.model import Atom, Backtrace, Diagnostic, Listing, PassLine, StructDump, Summary
from stapbench.model.serialize import dumps_event
from stapbench.parser import StreamParser, parse_bytes, parse_value
from stapbench.parser.lines import BPF_NOISE
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
