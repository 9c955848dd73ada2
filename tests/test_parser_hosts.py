"""HostSplitter: per-host streams back from stap's --remote-prefix output."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from stapbench.parser.hosts import HostSplitter, split_hosts


def stap_prefixed(writes: list[tuple[int, bytes]]) -> bytes:
    """What stap's remote.cxx ``printout`` writes for these (host, data) blocks with
    --remote-prefix, described from its source: each line of a block is led by the
    host's prefix; a block from another host first ends an open line with "\\n".
    ``last_prefix``/``on_same_line`` only change after a whole block, so every line of
    a block that interrupted an open line gets that extra "\\n" (stap's own quirk)."""
    out = bytearray()
    last_prefix, on_same_line = None, False
    for host, buf in writes:
        if not buf:
            continue
        prefix = f"{host}: ".encode()
        *whole, last = buf.split(b"\n")  # split_lines: on "\n" only, ends kept
        lines = [line + b"\n" for line in whole] + ([last] if last else [])
        for line in lines:
            if last_prefix != prefix:
                if on_same_line:
                    out += b"\n"
                out += prefix
            elif not on_same_line:
                out += prefix
            out += line
        on_same_line = not lines[-1].endswith(b"\n")
        last_prefix = prefix
    return bytes(out)


def split_in_chunks(data: bytes, cuts: list[int]) -> dict:
    splitter = HostSplitter()
    streams: dict = {}
    pos = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        for host, piece in splitter.feed(data[pos:cut]):
            streams[host] = streams.get(host, b"") + piece
        pos = max(pos, cut)
    for host, piece in splitter.close():
        streams[host] = streams.get(host, b"") + piece
    return streams


def test_two_hosts_lines_go_to_their_host():
    data = b"0: close #1\n1: close #7\n0:  0x4a : ngx_close_connection+0x0/0x1f [nginx]\n"
    assert split_hosts(data) == {0: b"close #1\n 0x4a : ngx_close_connection+0x0/0x1f [nginx]\n",
                                 1: b"close #7\n"}


def test_unprefixed_lines_and_lookalikes_belong_to_the_line_before():
    data = b"plain\n12:x\n0: ok\n3:\n: no\n1: b\nmore\n"
    assert split_hosts(data) == {None: b"plain\n12:x\n", 0: b"ok\n3:\n: no\n", 1: b"b\nmore\n"}


def test_prefix_split_across_chunks():
    splitter = HostSplitter()
    pieces = []
    for chunk in (b"1", b"0", b":", b" ", b"hit\n0", b": x"):
        pieces += splitter.feed(chunk)
    pieces += splitter.close()
    assert [(h, p) for h, p in pieces if p] == [(10, b"hit\n"), (0, b"x")]


def test_very_long_digit_run_is_no_prefix_and_no_int_overflow():
    data = b"9" * 10000 + b": x\n"
    assert split_hosts(data) == {None: data}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3),
                          st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), min_size=1,
                                   max_size=4)),
                max_size=20),
       st.lists(st.integers(0, 10**6), max_size=12))
def test_whole_lines_come_back_exactly_whatever_the_chunking(blocks, cuts):
    writes = [(host, b"".join(line + b"\n" for line in lines)) for host, lines in blocks]
    expected: dict = {}
    for host, buf in writes:
        expected[host] = expected.get(host, b"") + buf
    got = split_in_chunks(stap_prefixed(writes), cuts)
    assert {h: v for h, v in got.items() if v} == {h: v for h, v in expected.items() if v}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=20)), max_size=25),
       st.lists(st.integers(0, 10**6), max_size=12))
def test_open_lines_lose_nothing_but_prefixes(writes, cuts):
    """Blocks ending mid-line: every byte a host wrote reaches that host, in order;
    the only additions are stap's own line ends, which carry no data (a block that
    continues its host's open line leaves its later lines unprefixed: still that host's)."""
    merged = stap_prefixed(writes)
    got = split_in_chunks(merged, cuts)
    for host in {h for h, _ in writes}:
        sent = b"".join(buf for h, buf in writes if h == host)
        assert got.get(host, b"").replace(b"\n", b"") == sent.replace(b"\n", b"")
    assert got.get(None, b"") == b""
