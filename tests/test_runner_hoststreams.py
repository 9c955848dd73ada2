"""HostStdout: a several-host run's stdout becomes labelled events, one parser per host."""

from __future__ import annotations

from stapbench.model.events import Backtrace, TextLine
from stapbench.runner.hoststreams import HostStdout

MARK = "__stapbench_ready_0123456789abcdef__"

FRAMES = [" 0x55d0c3e4a1b0 : ngx_close_connection+0x0/0x2a1 [/opt/stapbench/nginx/sbin/nginx]\n",
          " 0x55d0c3e9b2c4 : ngx_http_close_connection+0x8e/0xa6 [/opt/stapbench/nginx/sbin/nginx]\n"]


def prefixed(host: int, text: str) -> bytes:
    return "".join(f"{host}: {line}" for line in text.splitlines(keepends=True)).encode()


STREAM = (prefixed(0, MARK + "\n") + prefixed(0, "close #1\n") + prefixed(0, FRAMES[0])
          + prefixed(1, "close #7\n")  # host 1 between host 0's frames
          + prefixed(0, FRAMES[1]) + prefixed(1, MARK + "\n") + prefixed(1, "close #8\n"))


def run_through(chunks: list[bytes], kept: dict | None = None):
    out = HostStdout(["lab", "lab2"], MARK,
                     on_host_bytes=(lambda label, data: kept.setdefault(label, bytearray()).extend(data))
                     if kept is not None else None)
    events, ready_at = [], None
    for i, chunk in enumerate(chunks):
        got, ready = out.feed(chunk)
        events += got
        if ready:
            assert ready_at is None
            ready_at = i
    events += out.close()
    return out, events, ready_at


def test_each_host_gets_its_own_parser_and_label():
    out, events, _ = run_through([STREAM])
    texts = [(e.host, e.text) for e in events if isinstance(e, TextLine)]
    assert texts == [("lab", "close #1"), ("lab2", "close #7"), ("lab2", "close #8")]
    (bt,) = [e for e in events if isinstance(e, Backtrace)]
    assert bt.host == "lab"
    assert [f.symbol for f in bt.frames] == ["ngx_close_connection", "ngx_http_close_connection"]
    assert not any(MARK in e.raw for e in events)  # each host's marker is taken out of its stream
    assert out.ready_hosts == ["lab", "lab2"]


def test_ready_only_once_every_host_printed_its_marker_whatever_the_chunking():
    second_marker = STREAM.index(prefixed(1, MARK + "\n"))
    for size in (1, 3, 7, 64):
        chunks = [STREAM[i:i + size] for i in range(0, len(STREAM), size)]
        kept: dict = {}
        _, events, ready_at = run_through(chunks, kept)
        consumed = sum(len(c) for c in chunks[:ready_at + 1])
        assert consumed >= second_marker + len(prefixed(1, MARK + "\n")) - 1
        assert consumed < second_marker + len(prefixed(1, MARK + "\n")) + size
        assert [e.host for e in events if isinstance(e, TextLine)] == ["lab", "lab2", "lab2"]
        # each host's transcript: its own bytes, prefixes off, marker kept
        assert bytes(kept["lab"]) == (MARK + "\nclose #1\n" + FRAMES[0] + FRAMES[1]).encode()
        assert bytes(kept["lab2"]) == ("close #7\n" + MARK + "\nclose #8\n").encode()


def test_a_host_that_never_gets_ready_keeps_the_run_not_ready():
    out, events, ready_at = run_through([prefixed(0, MARK + "\n") + prefixed(1, "semantic trouble\n")])
    assert ready_at is None and not out.ready and out.ready_hosts == ["lab"]
    assert [(e.host, e.text) for e in events] == [("lab2", "semantic trouble")]
