"""Flame graphs: a run's stacks, the tree and its merged layout, the static SVG/HTML (escaped),
and ``stapbench flame``.  The browser half is in test_browser_flame.py."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

from stapbench.answers.flame import MERGED, FlameData, looks_folded, parse_folded
from stapbench.answers.stacks import folded_stacks
from stapbench.parser import StreamParser
from stapbench.parser.fold import fold_bytes
from stapbench.runner import replay
from stapbench.views.flame import FlameGraph, flame_page, flame_svg

from .support.compose import NGINX_CLOSE_CHAIN, compose_chain, ubacktrace_text
from .support.recordings import XSS_IMG, XSS_SCRIPT, record_run

SVG = "{http://www.w3.org/2000/svg}"
SAMPLE_BT_SCRIPT = """\
global bts
probe process(@1).function("ngx_close_connection") { bts[ubacktrace()] <<< 1 }
probe end { foreach (bt in bts-) { print_ustack(bt); printf("\\t%d\\n", @count(bts[bt])) } }
"""


def _events(data: bytes):
    parser = StreamParser("stdout")
    return parser.feed(data) + parser.close()


def _stapbench_fold(path) -> str:
    out = subprocess.run([sys.executable, "-m", "stapbench", "fold", str(path)], capture_output=True, check=True)
    return out.stdout.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------- a run's stacks

def test_a_runs_folded_stacks_equal_stapbench_fold_on_its_transcript(tmp_path, nginx_binary):
    """sample-bt's output (stacks, each followed by its count) from real nginx symbols."""
    counts = [40, 7, 3, 1]
    stdout = b"".join(
        ubacktrace_text(compose_chain(nginx_binary, NGINX_CLOSE_CHAIN[depth:])).encode() + b"\t%d\n" % n
        for depth, n in enumerate(counts))
    folder = record_run(tmp_path / "run", SAMPLE_BT_SCRIPT, [("stdout", stdout)])
    graph = FlameGraph.from_run(replay(folder))
    assert graph.to_folded() == _stapbench_fold(folder / "stdout.bin")
    # and what that is: the root first, the probed function last, one stack per count
    root_first = ";".join(reversed(NGINX_CLOSE_CHAIN))
    assert graph.data.stacks[root_first] == 40
    assert graph.data.total == sum(counts)
    assert len(graph.data.stacks) == len(counts)


KERNEL_FRAMES = (" 0xffffffffa1c5e4b0 : tcp_send_fin+0x0/0x1d0 [kernel]\n"
                 " 0xffffffffa1c4b1f2 : __tcp_close+0x182/0x4a0 [kernel]\n"
                 " 0xffffffffa1c4b6b4 : tcp_close+0x24/0x80 [kernel]\n")


def test_a_hits_kernel_and_user_frames_join_into_one_stack(nginx_binary):
    """print_backtrace(); print_ubacktrace() per hit, no counts: each hit counts once, the
    user frames below (root first) and the kernel frames on top."""
    user = ubacktrace_text(compose_chain(nginx_binary, NGINX_CLOSE_CHAIN))
    hit = "tcp_send_fin sk=0xffff8880 fin\n" + KERNEL_FRAMES + user
    stacks = folded_stacks(_events((hit * 3).encode()))
    expected = ";".join([*reversed(NGINX_CLOSE_CHAIN), "tcp_close", "__tcp_close", "tcp_send_fin"])
    assert stacks == {expected: 3}


def test_stderr_and_dumps_do_not_become_frames(nginx_binary):
    user = ubacktrace_text(compose_chain(nginx_binary, NGINX_CLOSE_CHAIN[:3]))
    parser_out = StreamParser("stdout")
    events = parser_out.feed(("close 1\n" + user + "$c$={.fd=3}\nclose 2\n" + user).encode()) + parser_out.close()
    err = StreamParser("stderr")
    events[1:1] = err.feed(b"WARNING: Missing unwind data for a module, rerun with 'stap -d /bin/x'\n") + err.close()
    assert folded_stacks(events) == {";".join(reversed(NGINX_CLOSE_CHAIN[:3])): 2}


FRAME_LINE = st.sampled_from([
    " 0x4005d4 : main+0x2a/0x40 [/usr/bin/a b]", " 0x7f01 : __libc_start_main+0xf5/0x1c0 [/lib/libc.so.6]",
    "ngx_http_handler+0x1c [nginx]", " 0xffffffff81 : tcp_close+0x24/0x80 [kernel] (inexact)",
    " 0x7fff0001 : 0x7fff0001", "sym_with_%s_percent+0x1", " 0x0 (inexact)",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(FRAME_LINE, min_size=1, max_size=6), st.integers(1, 10**6),
                          st.sampled_from(["\t", "", "  "])), min_size=1, max_size=12))
def test_stacks_from_events_equal_fold_on_random_sample_bt_output(stacks):
    data = "".join("".join(f + "\n" for f in frames) + f"{pad}{n}\n" for frames, n, pad in stacks).encode()
    expected = parse_folded(fold_bytes(data).decode())
    assert folded_stacks(_events(data)) == expected


# ---------------------------------------------------------------------- tree and layout

def test_parse_folded_adds_repeats_and_skips_lines_without_a_count():
    assert parse_folded("a;b 2\nnot a count\na;b 3\nc\t4\n\n") == {"a;b": 5, "c": 4}
    assert looks_folded(b"a;b 2\nc 1\n") and not looks_folded(b" 0x1 : f+0x0/0x1 [m]\n 5\n")


def _check_layout(layout, stacks_total):
    """Widths add up: each node's children sum to at most its count; the root is the total."""
    assert layout.value[0] == stacks_total == layout.total
    child_sum = [0] * len(layout)
    parents: dict[int, int] = {}
    for i in range(1, len(layout)):
        d = layout.depth[i]
        parents[d] = i
        child_sum[parents[d - 1] if d > 1 else 0] += layout.value[i]
    assert all(child_sum[i] <= layout.value[i] for i in range(len(layout)))


def test_layout_merges_frames_below_the_threshold_and_keeps_widths():
    stacks = {"main;big": 9000, **{f"main;small{i:03d}": 1 for i in range(1000)}}
    data = FlameData(stacks)
    full = data.layout(0)
    assert len(full) == 1 + 1 + 1 + 1000
    merged = data.layout(1 / 100)  # 1% of 10,000 = 100: every small frame is under it
    labels = [merged.label(i) for i in range(len(merged))]
    assert labels == ["all", "main", "big", MERGED]
    assert merged.value[3] == 1000 and merged.merged[3] == 1000
    _check_layout(merged, 10_000)
    _check_layout(full, 10_000)


def test_200k_distinct_stacks_become_a_bounded_layout():
    stacks = {f"main;loop{i % 7};work{i % 113};leaf{i}": 1 + i % 5 for i in range(200_000)}
    data = FlameData(stacks)
    layout = data.layout()
    assert len(layout) < 5000, len(layout)  # every leaf is below 1/4000 of the total
    assert any(layout.merged)
    _check_layout(layout, sum(stacks.values()))
    assert data.layout(0, max_nodes=10_000).__len__() <= 10_000  # the bound holds whatever min_share


# ---------------------------------------------------------------------- static SVG / HTML

def _svg_frames(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return root.findall(f".//{SVG}g")


def test_static_svg_carries_the_frames_with_count_and_share():
    graph = FlameGraph.from_folded("main;ngx_close_connection 3\nmain;ngx_http_handler 1\n", title="t")
    groups = _svg_frames(graph.to_svg())
    names = [g.get("data-name") for g in groups]
    assert names == ["all", "main", "ngx_close_connection", "ngx_http_handler"]
    title = groups[2].find(f"{SVG}title").text
    assert title == "ngx_close_connection \u2014 3 samples, 75.00% of all"
    rect = groups[2].find(f"{SVG}rect")
    assert float(rect.get("width")) == pytest.approx(0.75 * 1200 - 1)
    assert groups[2].find(f"{SVG}text").text == "ngx_close_connection"


def test_flame_orientation_puts_the_root_at_the_bottom():
    data = FlameData.from_folded("a;b 1\n")
    icicle = _svg_frames(flame_svg(data.layout(), orientation="icicle"))
    flame = _svg_frames(flame_svg(data.layout(), orientation="flame"))
    y = lambda groups, i: float(groups[i].find(f"{SVG}rect").get("y"))  # noqa: E731
    assert y(icicle, 0) < y(icicle, 2) and y(flame, 0) > y(flame, 2)


def test_an_xss_payload_in_a_symbol_stays_text_in_svg_html_and_page():
    stack = f"main;{XSS_IMG};{XSS_SCRIPT}"
    graph = FlameGraph.from_folded(f"{stack} 2\nmain 1\n", title=XSS_SCRIPT)
    svg = graph.to_svg()
    for payload in (XSS_IMG, XSS_SCRIPT):
        assert payload not in svg
    groups = _svg_frames(svg)
    texts = {g.get("data-name") for g in groups}
    assert {XSS_IMG, XSS_SCRIPT} <= texts  # the names come back intact as text
    html = graph.to_html()
    assert XSS_IMG not in html and XSS_SCRIPT not in html and "<script" not in html
    page = graph.to_page()
    assert XSS_IMG not in page and XSS_SCRIPT not in page
    assert page.count("<script") == 2  # the JSON state and the module, nothing from the data
    assert "</script" not in page.split('id="stapbench-flame-state">', 1)[1].split("</script>", 1)[0]


def test_invalid_utf8_and_control_characters_still_give_well_formed_svg():
    data = FlameData.from_bytes(b"main;bad\xff\x01name 2\n")
    groups = _svg_frames(flame_svg(data.layout()))
    assert groups[2].get("data-name") == "bad\ufffd\ufffdname"


def test_the_widget_syncs_the_layout_and_keeps_the_static_svg_in_its_bundle():
    graph = FlameGraph.from_folded("a;b 2\na;c 1\n")
    view = graph.widget()
    assert view.data["total"] == 3 and view.data["names"][:2] == ["all", "a"]
    data = view._repr_mimebundle_()[0]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert 'data-name="b"' in data["text/html"] and "<script" not in data["text/html"]


# ---------------------------------------------------------------------- the command line

def _flame(*args, input_bytes=None):
    return subprocess.run([sys.executable, "-m", "stapbench", "flame", *map(str, args)],
                          input=input_bytes, capture_output=True)


def test_cli_writes_svg_html_and_folded_from_a_file_stdin_or_a_run_folder(tmp_path, nginx_binary):
    stdout = ubacktrace_text(compose_chain(nginx_binary, NGINX_CLOSE_CHAIN)).encode() + b"\t5\n"
    transcript = tmp_path / "out.txt"
    transcript.write_bytes(stdout)
    svg, html, folded = tmp_path / "g.svg", tmp_path / "g.html", tmp_path / "g.folded"
    assert _flame(transcript, "-o", svg).returncode == 0
    assert "ngx_close_connection" in {g.get("data-name") for g in _svg_frames(svg.read_text())}
    assert _flame("-", "-o", folded, input_bytes=stdout).returncode == 0
    assert folded.read_text() == _stapbench_fold(transcript)
    folder = record_run(tmp_path / "run", SAMPLE_BT_SCRIPT, [("stdout", stdout)])
    done = _flame(folder, "-o", html)
    assert done.returncode == 0 and b"5 samples, 1 distinct stacks" in done.stderr
    assert html.read_text().startswith("<!doctype html>")
    # a folded file is read as folded, not folded again
    assert _flame(folded, "-o", tmp_path / "again.folded").returncode == 0
    assert (tmp_path / "again.folded").read_text() == folded.read_text()


def test_cli_refuses_an_unknown_output_format(tmp_path):
    (tmp_path / "in.folded").write_text("a;b 1\n")
    done = _flame(tmp_path / "in.folded", "-o", tmp_path / "x.png")
    assert done.returncode == 2 and b"must end in one of" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_flame_page_is_self_contained():
    page = flame_page(FlameData.from_folded("a 1\n").layout())
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        "http://www.w3.org/2000/svg", "")
