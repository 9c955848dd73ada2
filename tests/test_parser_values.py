"""parse_value / parse_vars: stap's pretty-printed values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapbench.model import Array, Atom, Struct
from stapbench.parser.values import ValueSyntaxError, parse_value, parse_vars, scan_value


def names(struct):
    return [m.name for m in struct.members]


def test_chars_with_escapes():
    v = parse_value(r"{.a='A', .b='\000', .c='\b', .d='\354', .e='\'', .f='\\'}")
    assert [m.value.text for m in v.members] == ["'A'", r"'\000'", r"'\b'", r"'\354'", r"'\''", r"'\\'"]
    assert all(m.value.kind == "char" for m in v.members)


def test_nested_structs_arrays_and_atoms():
    v = parse_value('{.foo=42, .bar={.x=3, .y=-4}, .arr=[1, ...], .el={...}, .ea=[...], .p=0x0, '
                    '.u=?, .e=ERROR, .cb=<function>:0x4011d6}')
    assert names(v) == ["foo", "bar", "arr", "el", "ea", "p", "u", "e", "cb"]
    assert v.members[1].value.members[1].value.as_int == -4
    arr = v.members[2].value
    assert isinstance(arr, Array) and arr.more and arr.items[0].text == "1"
    kinds = [m.value.kind for m in v.members if isinstance(m.value, Atom)]
    assert kinds == ["int", "elided_struct", "elided_array", "hex", "unavailable", "error", "function"]


def test_strings_with_quotes_braces_and_cut_marker():
    v = parse_value(r'{.q="say \"hi\", {then} bye", .cut="abc"..., .e=""}')
    assert [m.value.text for m in v.members] == [r'"say \"hi\", {then} bye"', '"abc"...', '""']


def test_anonymous_members_keep_their_labels():
    v = parse_value("{<union>={.i=1}, <union>={.j=2}, <class>={.x=5}}")
    assert names(v) == ["<union>", "<union>", "<class>"]


def test_truncated_dump_marks_open_containers():
    text = "{.f_u={.next=0x1}, .f_ra={.start=0, .ra_pages=32, ."
    value, end, truncated = scan_value(text)
    assert truncated and end == len(text)
    assert not value.closed and value.members[0].value.closed
    ra = value.members[1].value
    assert not ra.closed and names(ra) == ["start", "ra_pages"]


def test_truncated_inside_string_and_array():
    value, _, truncated = scan_value('{.a=[1, {.b="xy')
    assert truncated
    inner = value.members[0].value
    assert isinstance(inner, Array) and not inner.closed
    assert inner.items[1].members[0].value.text == '"xy'


def test_more_than_32_members_ellipsis():
    v = parse_value("{.a=1, .b=2, ...}")
    assert v.more and names(v) == ["a", "b"]


def test_parse_value_rejects_trailing_text_and_non_values():
    with pytest.raises(ValueSyntaxError):
        parse_value("{.a=1} extra")
    with pytest.raises(ValueSyntaxError):
        parse_value("{a=1}")


def test_vars_list():
    members = parse_vars('file={.f_pos=0} buf="a b" count=8196 pos=-13 fd=? op={...}')
    assert [m.name for m in members] == ["file", "buf", "count", "pos", "fd", "op"]
    assert isinstance(members[0].value, Struct)
    assert members[1].value.text == '"a b"'
    assert members[3].value.as_int == -13


def test_vars_rejects_words_with_spaces():
    with pytest.raises(ValueSyntaxError):
        parse_vars("a=1 and b")


@given(st.text(max_size=200))
def test_scan_value_never_raises_anything_but_syntax_errors(text):
    try:
        scan_value(text)
    except ValueSyntaxError:
        pass
