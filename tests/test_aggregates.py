"""stap's end-of-run globals, statistics and ASCII histograms, parsed into tables.

Fixtures are written in the exact formats: the globals display in the format strings stap
4.8's translator generates (read from its pass-3 C code, ``stap -p3``; the test below checks
them against the installed stap where it runs), the histograms by a line-for-line
transcription of ``_stp_stat_print_histogram_buf`` (runtime/stat-common.c, the file Debian's
systemtap-runtime installs) fed random buckets."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from stapbench.model.aggregates import GlobalValue, Histogram, StatsValue
from stapbench.parser import StreamParser
from stapbench.parser.aggregates import AggregateParser, collect_aggregates, parse_aggregate_lines


HIST_WIDTH, HIST_ELISION = 50, 2
LOG_BUCKETS, BUCKET0 = 128, 64


# ------------------------------------------------------------------ the oracle: stat-common.c in Python

def _needed_space(v: int) -> int:
    return len(str(v))  # digits, plus one for the sign (needed_space())


def _bucket_to_val(num: int) -> int:
    if num == BUCKET0:
        return 0
    if num < BUCKET0:
        return -(1 << (63 - num))  # 0x8000000000000000 >> num, arithmetic
    return 1 << (num - BUCKET0 - 1)


def stap_histogram(buckets: list[int], *, linear: tuple[int, int] | None = None) -> str:
    """What ``print(@hist_log(x))`` (buckets indexed like stap's 128) or
    ``print(@hist_linear(x, start, stop, interval))`` (``linear=(start, interval)``, buckets
    with underflow first and overflow last) prints."""
    n = len(buckets)
    low, high, valmax = -1, 0, 0
    for i, c in enumerate(buckets):
        if c > 0 and low == -1:
            low = i
        if c > 0:
            high = i
        valmax = max(valmax, c)
    under = over = 0
    for _ in range(2):
        if linear is None:
            if low != BUCKET0 and low > 0:
                low -= 1
        elif low > 0:
            low -= 1
        if high < n - 1:
            high += 1
    if linear is not None:
        if low == 0 and buckets[0] == 0:
            low += 1
        if high == n - 1 and buckets[high] == 0:
            high -= 1
        under, over = int(low == 0), int(high == n - 1)
    scale = 1 if valmax <= HIST_WIDTH else -(-valmax // HIST_WIDTH)
    cnt_space = _needed_space(valmax)
    if linear is not None:
        start, interval = linear
        val_space = max(_needed_space(start) + under, _needed_space(start + interval * high) + over)
    else:
        val_space = max(_needed_space(_bucket_to_val(high)), _needed_space(_bucket_to_val(low)))
    val_space = max(val_space, 5)
    out = [f"{'value':>{val_space}} |" + "-" * HIST_WIDTH + " count\n"]
    eliding = False
    for i in range(low, high + 1):
        lo_b, hi_b = max(low, i - HIST_ELISION), min(high, i + HIST_ELISION)
        if all(buckets[k] == 0 for k in range(lo_b, hi_b + 1)):
            eliding = True
            continue
        if eliding:
            out.append(" " * val_space + " ~\n")
            eliding = False
        prefix = ""
        if linear is not None:
            start, interval = linear
            if i == 0:
                val, prefix = start, "<"
            elif i == n - 1:
                val, prefix = start + (i - 2) * interval, ">"
            else:
                val = start + (i - 1) * interval
        else:
            val = _bucket_to_val(i)
        v = buckets[i] // scale
        out.append(f"{prefix:>{val_space - _needed_space(val)}}{val} |" + "@" * v
                   + f"{buckets[i]:>{HIST_WIDTH - v + 1 + cnt_space}}\n")
    out.append("\n")
    return "".join(out)


def _expected_rows(buckets, linear=None):
    """(value, count) of the buckets stap prints (elided zero rows left out)."""
    text = stap_histogram(buckets, linear=linear)
    rows = []
    for line in text.splitlines()[1:]:
        m = re.match(r" *([<>]?)(-?\d+) \|@* +(\d+)$", line)
        if m:
            rows.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return rows


# ------------------------------------------------------------------ histograms

def test_a_log_histogram_as_stap_prints_it():
    buckets = [0] * LOG_BUCKETS
    buckets[BUCKET0 + 1], buckets[BUCKET0 + 2], buckets[BUCKET0 + 3], buckets[BUCKET0 + 12] = 4, 10, 120, 1
    text = stap_histogram(buckets)
    assert text.splitlines()[:3] == [
        "value |-------------------------------------------------- count",
        "    0 |                                                     0",
        "    1 |@                                                    4",
    ]
    assert "      ~" in text.splitlines()
    [hist] = parse_aggregate_lines(["latency (us):", *text.splitlines()])
    assert isinstance(hist, Histogram) and hist.kind == "log" and hist.title == "latency (us):"
    assert [(r.value, r.count) for r in hist.rows] == [(0, 0), (1, 4), (2, 10), (4, 120), (8, 0), (16, 0),
                                                         (512, 0), (1024, 0), (2048, 1), (4096, 0), (8192, 0)]
    assert [r.after_gap for r in hist.rows].index(True) == 6  # the ~ line sat before 512
    assert hist.total == 135
    assert hist.label(hist.rows[3]) == "4..7" and hist.label(hist.rows[0]) == "0"


def test_a_linear_histogram_with_underflow_and_overflow():
    # @hist_linear(x, 0, 100, 10): underflow, 11 buckets (0, 10, ... 100), overflow
    buckets = [3] + [0, 5, 9, 0, 0, 0, 0, 0, 0, 2, 0] + [7]
    [hist] = parse_aggregate_lines(stap_histogram(buckets, linear=(0, 10)).splitlines())
    assert hist.kind == "linear"
    assert [(r.prefix, r.value, r.count) for r in hist.rows] == [
        ("<", 0, 3), ("", 0, 0), ("", 10, 5), ("", 20, 9), ("", 30, 0), ("", 40, 0),
        ("", 70, 0), ("", 80, 0), ("", 90, 2), ("", 100, 0), (">", 100, 7)]
    assert hist.label(hist.rows[2]) == "10..19" and hist.label(hist.rows[-1]) == ">100"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, LOG_BUCKETS - 1), st.integers(1, 10**7), min_size=1, max_size=12))
def test_any_log_histogram_parses_back_to_its_buckets(filled):
    buckets = [0] * LOG_BUCKETS
    for i, c in filled.items():
        buckets[i] = c
    items = parse_aggregate_lines(stap_histogram(buckets).splitlines())
    assert len(items) == 1 and items[0].kind in ("log", "linear")
    assert [("", r.value, r.count) for r in items[0].rows] == _expected_rows(buckets)
    assert items[0].total == sum(buckets)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=3, max_size=40).filter(any),
       st.integers(-1000, 1000), st.integers(1, 500))
def test_any_linear_histogram_parses_back_to_its_buckets(buckets, start, interval):
    [hist] = parse_aggregate_lines(stap_histogram(buckets, linear=(start, interval)).splitlines())
    assert [(r.prefix, r.value, r.count) for r in hist.rows] == _expected_rows(buckets, (start, interval))
    assert hist.total == sum(buckets)


# ------------------------------------------------------------------ globals

# the end-of-run display, in the format strings of stap 4.8's generated C (stap -p3)
END_DISPLAY = """\
s=42
str="hi \\"there\\""
arr["a"]=1
arr["b"]=2
multi[1,"x"]=3
multi[-2,"y z"]=-4
agg @count=3 @min=5 @max=10 @sum=22 @avg=7
empty @count=0x0
aggarr["k"] @count=1 @min=7 @max=7 @sum=7 @avg=7
"""


def test_the_end_of_run_display_becomes_tables():
    found = collect_aggregates(END_DISPLAY.splitlines())
    assert found.scalars == {"s": 42, "str": 'hi "there"'}
    assert found.arrays == {"arr": {("a",): 1, ("b",): 2}, "multi": {(1, "x"): 3, (-2, "y z"): -4}}
    agg = found.stats["agg"][None]
    assert (agg.count, agg.min, agg.max, agg.sum, agg.avg) == (3, 5, 10, 22, 7)
    assert found.stats["empty"][None].count == 0 and found.stats["empty"][None].min is None
    assert found.stats["aggarr"][("k",)].max == 7


def test_probe_lines_that_are_not_globals_stay_out():
    lines = ["close #3 fd=4", "fd=0x3 c={...}", "ngx_close_connection: fd=3", "a=1 b=2", "x[1]=", "=3",
             "value |--- count extra", "  12 |@@ 2"]  # the last: a row with no header before it
    assert parse_aggregate_lines(lines) == []


def test_a_histogram_ends_at_any_other_line_and_that_line_still_counts():
    buckets = [0] * LOG_BUCKETS
    buckets[BUCKET0 + 2] = 5
    lines = stap_histogram(buckets).splitlines()[:-1] + ["s=1"]  # no blank line at the end
    hist, value = parse_aggregate_lines(lines)
    assert isinstance(hist, Histogram) and value == GlobalValue("s", 1, None, "s=1")


def test_events_of_a_transcript_give_the_same_tables_as_its_lines():
    buckets = [0] * LOG_BUCKETS
    buckets[BUCKET0 + 3] = 9
    text = "hit 1\nhit 2\n" + END_DISPLAY + "latency:\n" + stap_histogram(buckets)
    parser = StreamParser("stdout")
    events = parser.feed(text.encode()) + parser.close()
    from_events = collect_aggregates(events)
    from_lines = collect_aggregates(text.splitlines())
    assert from_events == from_lines and from_events.histograms[0].title == "latency:"


def test_any_bytes_parse_without_error_in_linear_time():
    parser = AggregateParser()
    for line in ["value |" + "-" * 10**5 + " count", "a" * 10**6 + "=1", "x[" + '"\\' * 10**5 + "]=1",
                 "\x00\udcff=1", "  ~"]:
        parser.feed_line(line)
    parser.close()
    # four times the input, about four times the time (quadratic would be sixteen); the
    # margin is wide because a loaded machine's timings wobble
    row = "   4 |@@@@@@@@@@                                         10"
    def timed(n):
        lines = (["value |-------------------------------------------------- count"] + [row] * 500 + [""]) * n
        t0 = time.perf_counter()
        parse_aggregate_lines(lines)
        return time.perf_counter() - t0
    small, big = min(timed(20) for _ in range(5)), min(timed(80) for _ in range(5))
    assert big < 9 * small, (small, big)


@pytest.mark.samples
def test_conformance_samples_parse_and_hold_no_histogram(samples_dir):
    """The real transcripts hold backtraces, dumps and diagnostics, and no histogram or
    end-of-run display: the parser goes through all of them and finds none there."""
    files = sorted(Path(samples_dir).glob("*.txt"))
    assert len(files) > 50
    for path in files:
        parser = StreamParser("merged")
        events = parser.feed(path.read_bytes()) + parser.close()
        found = collect_aggregates(events)
        assert not found.histograms, path.name
        assert not found.stats, path.name
        # a global-shaped line is one of the sample's own lines, whole (a probe's printf of a
        # single name=value: pretty_parms_varwatch.txt's "fd=3")
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, table in found.values.items():
            for index, value in table.items():
                assert index is None and re.search(rf"^{name}=(?:{value}|{hex(value)})$", text, re.M), (path.name, name)


# ------------------------------------------------------------------ against the installed stap

def test_the_globals_display_formats_are_stap_48s(tmp_path):
    """stap's pass 3 (translation to C, no kernel needed) shows the format strings of the
    end-of-run display; the fixture above uses exactly these."""
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    script = tmp_path / "g.stp"
    script.write_text('global s, str, arr, multi, agg, empty, aggarr\n'
                      'probe begin { s = 42; str = "hi"; arr["a"] = 1; multi[1, "x"] = 3; agg <<< 5;'
                      ' empty <<< 1; aggarr["k"] <<< 7; exit() }\n')
    done = subprocess.run(["stap", "-p3", str(script)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"stap -p3 failed here: {done.stderr.strip()[-300:]}")
    formats = set(re.findall(r'_stp_printf \("((?:[^"\\]|\\.)*)"', done.stdout))
    for expected in ('s=%lld\\n', 'str=\\"%#s\\"\\n', 'arr[\\"%#s\\"]=%lld\\n', 'multi[%#lld,\\"%#s\\"]=%lld\\n',
                     'agg @count=%#lld @min=%#lld @max=%#lld @sum=%#lld @avg=%#lld\\n',
                     'aggarr[\\"%#s\\"] @count=%#lld @min=%#lld @max=%#lld @sum=%#lld @avg=%#lld\\n'):
        assert expected in formats, (expected, sorted(formats))
    assert '_stp_print ("agg @count=0x0\\n")' in done.stdout


def test_a_scripts_own_stats_line_may_print_some_of_the_fields():
    [stats] = parse_aggregate_lines(["agg @count=3 @sum=73 @avg=24"])
    assert (stats.count, stats.min, stats.max, stats.sum, stats.avg) == (3, None, None, 73, 24)
