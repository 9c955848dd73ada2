"""fold: FlameGraph's folded format with stackcollapse-stap.pl's rules."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from stapbench.parser.fold import collapse_bytes, fold_bytes, fold_stream
from tests.support.paths import FIXTURES

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
