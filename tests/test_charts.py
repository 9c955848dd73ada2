"""Charts of stap's globals, statistics and histograms (static SVG in HTML, escaped)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from stapbench.answers.timeline import Timeline
from stapbench.views.charts import aggregate_charts, bar_svg, timeline_chart, timeline_svg

from .support.recordings import XSS_IMG, XSS_SCRIPT
from .test_aggregates import BUCKET0, END_DISPLAY, LOG_BUCKETS, stap_histogram

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> dict[str, float]:
    root = ET.fromstring(svg)
    return {g.get("data-label"): float(g.find(f"{SVG}rect").get("width")) for g in root.iter(f"{SVG}g")}


def test_globals_arrays_stats_and_histograms_become_tables_and_charts():
    buckets = [0] * LOG_BUCKETS
    buckets[BUCKET0 + 1], buckets[BUCKET0 + 3], buckets[BUCKET0 + 12] = 10, 40, 1
    lines = END_DISPLAY.splitlines() + ["latency (us):"] + stap_histogram(buckets).splitlines()
    charts = aggregate_charts(lines)
    titles = [t for t, _, _ in charts.sections]
    assert titles == ["globals", "arr[]", "multi[]", "agg (statistics)", "empty (statistics)",
                      "aggarr (statistics)", "latency (us): (@hist_log, 51 values)"]
    html = charts.to_html()
    assert "<script" not in html and "<td>42</td>" in html and "<td>&quot;a&quot;</td>" in html
    arr_svg = charts.sections[1][1].split("<table", 1)[0]
    bars = _bars(arr_svg)
    assert bars["\"b\""] == pytest.approx(2 * bars["\"a\""], abs=0.2)
    hist_bars = _bars(charts.sections[-1][1])
    assert list(hist_bars)[:4] == ["0", "1", "2..3", "4..7"]
    assert hist_bars["4..7"] == pytest.approx(4 * hist_bars["1"], abs=0.5)
    assert "~" in charts.sections[-1][1]  # stap's elided rows stay marked
    assert "latency (us):" in charts.to_text() and "value |" in charts.to_text()


def test_payloads_in_indices_titles_and_values_stay_text():
    escaped = XSS_IMG.replace('"', '\\"')
    lines = [f'arr["{escaped}"]=1', f's="{XSS_SCRIPT.replace(chr(34), chr(92) + chr(34))}"', XSS_SCRIPT,
             *stap_histogram([0] * BUCKET0 + [0, 3] + [0] * 62).splitlines()]
    charts = aggregate_charts(lines)
    html = charts.to_html()
    assert XSS_IMG not in html and XSS_SCRIPT not in html and "<img" not in html
    for _, part, _ in charts.sections:
        for svg in part.split("<svg")[1:]:
            ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed
    assert f'"{XSS_IMG}"' in _bars(charts.sections[1][1].split("<table")[0])


def test_negative_values_draw_left_of_zero():
    root = ET.fromstring(bar_svg([("a", -2), ("b", 2)]))
    rects = [g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")]
    a, b = (float(r.get("x")) for r in rects)
    assert a < b and float(rects[0].get("width")) == pytest.approx(float(rects[1].get("width")))


def test_timeline_svg_has_a_series_per_probe_with_exact_values_on_hover():
    timeline = Timeline(bin=1.0, series={"close": [2, 0, 5], XSS_IMG: [1, 1, 0]})
    svg = timeline_svg(timeline)
    root = ET.fromstring(svg)
    series = {g.get("data-probe"): g for g in root.iter(f"{SVG}g")}
    assert set(series) == {"close", XSS_IMG} and XSS_IMG not in svg
    titles = [t.text for t in series["close"].iter(f"{SVG}title")]
    assert titles == ["close: 2 hits/s at 0\u20131 s", "close: 5 hits/s at 2\u20133 s"]


def test_empty_inputs_say_so():
    assert "no globals" in aggregate_charts(["just a line"]).to_text()
    assert "no timed hits" in timeline_chart([]).to_text()
