"""fold: FlameGraph's folded format with stackcollapse-stap.pl's rules."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapbench.parser.fold import collapse_bytes, fold_bytes, fold_stream
from tests.support.paths import FIXTURES, sample_files

HERE = FIXTURES / "parser"


def test_fixture_matches_expected_output():
    # expected output worked out by hand from the script's rules (see fold.py)
    assert fold_bytes((HERE / "fold_input.txt").read_bytes()) == (HERE / "fold_expected.txt").read_bytes()


def test_counts_of_identical_stacks_add_up_and_root_comes_first():
    data = b" 0x1 : leaf+0x1/0x2 [k]\n 0x2 : root+0x3/0x4 [k]\n\t5\n 0x9 : leaf+0x7/0x2 [k]\n 0x8 : root+0x0/0x4 [k]\n7\n"
    assert fold_bytes(data) == b"root;leaf 12\n"


def test_frame_cleaning_rules():
    assert collapse_bytes(b"   spaced+0x1 [m]\n\t1\n") == {b"spaced": 1}
    # only the last '+' starts the offset; everything up to the last ' : ' goes
    assert collapse_bytes(b" 0x1 : a : b+c+0x1/0x2\n1\n") == {b"b+c": 1}
    # nothing left -> '-'
    assert collapse_bytes(b"+0x10\n1\n") == {b"-": 1}
    # whitespace-only lines are skipped, a count with no frames adds to the empty stack
    assert collapse_bytes(b" \t \n3\n") == {b"": 3}
    # a count line with a CR is no count (perl's $ does not match before \r)
    assert collapse_bytes(b"f+0x1\n2\r\n4\n") == {b"2\r;f": 4}


def test_frames_without_a_following_count_are_dropped():
    assert fold_bytes(b"a+0x1\n1\nb+0x1\n") == b"a 1\n"


def test_output_sorted_bytewise():
    data = b"b+0x1\n1\nB+0x1\n1\n_+0x1\n1\n\xc3\xa9+0x1\n1\n"
    assert fold_bytes(data).split(b"\n")[:-1] == [b"B 1", b"_ 1", b"b 1", b"\xc3\xa9 1"]


@given(st.lists(st.sampled_from([b" 0x1 : f+0x1/0x2 [k]", b"g+0x3", b"\t12", b"", b" 7", b"x : y", b"\xff+\x00"]),
                max_size=60),
       st.integers(1, 40))
def test_stream_in_chunks_equals_whole(lines, chunk):
    data = b"\n".join(lines)
    assert fold_stream(io.BytesIO(data), chunk_size=chunk) == fold_bytes(data)


# --------------------------------------------------------------------------- the script itself

_PERL_COUNT = re.compile(rb"\s*(\d+)+\Z")  # m/^\s*(\d+)+$/ on a chomped line
_PERL_BLANK = re.compile(rb"\s*\Z")  # m/^\s*$/


def stackcollapse_stap(data: bytes) -> bytes:
    """stackcollapse-stap.pl transcribed statement by statement (the reference the fast
    Folder is held to); its printf-as-format mangling of ``%`` is the one difference."""
    collapsed: dict[bytes, int] = {}
    stack: list[bytes] = []
    for line in _perl_lines(data):
        line = line[:-1] if line.endswith(b"\n") else line  # chomp
        m = _PERL_COUNT.match(line)
        if m:
            key = b";".join(stack)
            collapsed[key] = collapsed.get(key, 0) + int(m.group(1))
            stack = []
            continue
        if _PERL_BLANK.match(line):
            continue
        frame = re.sub(rb"^\s*", b"", line, count=1)
        frame = re.sub(rb"\+[^+]*\Z", b"", frame, count=1)
        frame = re.sub(rb"^.* : ", b"", frame, count=1, flags=re.S)
        stack.insert(0, frame or b"-")
    return b"".join(b"%s %d\n" % (k, collapsed[k]) for k in sorted(collapsed))


def _perl_lines(data: bytes) -> list[bytes]:
    """``<>``: lines end at "\\n" only (not at "\\r", "\\v", ... as bytes.splitlines would)."""
    lines = data.split(b"\n")
    last = lines.pop()
    return [line + b"\n" for line in lines] + ([last] if last else [])


def test_reference_reads_lines_as_perl_does():
    assert _perl_lines(b"a\r\nb\x0bc\nd") == [b"a\r\n", b"b\x0bc\n", b"d"]


@pytest.mark.samples
@pytest.mark.parametrize("path", sample_files(), ids=[p.name for p in sample_files()])
def test_every_sample_folds_as_the_script_does(path, samples_dir):
    data = path.read_bytes()
    assert fold_bytes(data) == stackcollapse_stap(data)
    assert fold_stream(io.BytesIO(data), chunk_size=97) == fold_bytes(data)


def test_the_fixture_folds_as_the_script_does():
    data = (HERE / "fold_input.txt").read_bytes()
    assert fold_bytes(data) == stackcollapse_stap(data) != b""


_PIECES = [b" 0x1 : f+0x1/0x2 [k]", b" 0xffffffff8103ce3b : native_safe_halt+0xb/0x10 [kernel]", b"g+0x3",
           b"\t12", b" 7", b"0", b"", b"  \t ", b"x : y", b"a : b : c+d+0x1", b"+0x1", b" : ", b"\xff+\x00",
           b"12 ", b"1\r", b"\r3", b"\x0b4", b"0x7f : 0x7f", b"Returning from:  0x1 : g+0x0/0x1 [k]", b"%s%d"]


@given(st.lists(st.sampled_from(_PIECES) | st.binary(max_size=12), max_size=80), st.integers(1, 64))
def test_random_input_folds_as_the_script_does(lines, chunk):
    data = b"\n".join(lines)
    assert fold_bytes(data) == stackcollapse_stap(data)
    assert fold_stream(io.BytesIO(data), chunk_size=chunk) == stackcollapse_stap(data)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_fold_as_the_script_does(data):
    assert fold_bytes(data) == stackcollapse_stap(data)
