"""Every real transcript in ../shared/stap-samples renders (HTML and text) without an exception,
inert, with one frame row per parsed frame and every distinct diagnostic shown (repeats as notes); and arbitrary bytes do too."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapbench.model import Backtrace, Diagnostic, StructDump, VarsDump
from stapbench.parser import parse_bytes
from stapbench.views import RenderContext, render_html, render_text
from stapbench.views.diagnostics import diagnostic_key
from tests.support.paths import sample_files

from .test_views_dom import assert_inert

SAMPLES = sample_files()


def transcript(path) -> bytes:
    """A sample without its ``# source:`` / ``# note:`` header lines."""
    lines = path.read_bytes().splitlines(keepends=True)
    while lines and (lines[0].startswith(b"# source:") or lines[0].startswith(b"# note:")):
        lines.pop(0)
    return b"".join(lines)


@pytest.mark.samples
@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_renders(path, samples_dir):
    events = parse_bytes(transcript(path))
    html = render_html(events)
    dom = assert_inert(html)
    frames = sum(len(e.frames) for e in events if isinstance(e, Backtrace))
    # a stack repeated in the same transcript is shown once as a table, then as text pointing there
    repeated = sum(len(pre.text().splitlines()) for pre in dom.find_all("pre", "stapbench-repeat-frames"))
    assert len(dom.find_all("tr", "stapbench-frame")) + repeated == frames
    diags = [e for e in events if isinstance(e, Diagnostic)]
    # stap prints some diagnostics again (once per derived probe): each distinct one is shown
    # in full once, every repeat as a note pointing at it
    distinct = {diagnostic_key(d) for d in diags}
    assert len(dom.find_all(cls="stapbench-diagnostic")) == len(distinct)
    assert len(dom.find_all(cls="stapbench-repeat-diagnostic")) == len(diags) - len(distinct)
    for d in diags:
        assert d.message in dom.text()
    dumps = [e for e in events if isinstance(e, (StructDump, VarsDump))]
    assert len(dom.find_all(cls="stapbench-tree")) == len(dumps)
    assert len(dom.find_all(cls="stapbench-truncated")) == sum(1 for e in dumps if e.truncated)
    render_text(events)


def test_samples_are_there_when_the_folder_is(samples_dir):
    assert len(SAMPLES) >= 90


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | st.lists(st.sampled_from([
    b" 0x4011d6 : f+0x1/0x2 [/m]\n", b"$c$={.a={...}, .b=\"<script>\", .c=[...]\n", b"semantic error: x: identifier 'y' at <input>:1:2\n",
    b"        source: probe x\n", b"                 ^\n", b"\n", b"Returning from:  0x1 : g+0x0/0x1 [k]\n", b"<img src=x onerror=alert(1)>\n",
    b"WARNING: Number of errors: 1, skipped probes: 2\n", b"x=\x00\xff\xfe{.q=", b"Pass 2: analysis failed.  [man error::pass2]\n",
]), max_size=40).map(b"".join))
def test_any_bytes_render_inert(data):
    events = parse_bytes(data)
    assert_inert(render_html(events, context=RenderContext(cell_source="probe x\n")))
    render_text(events, context=RenderContext(cell_source="probe x\n"))
