"""Each event's arrival time (live and replayed alike), ``run.to_dataframe()`` and the
hits-per-second timeline, on a real stap run (BPF runtime) and on fixtures."""

from __future__ import annotations

import json
import time

import pytest

from stapbench.answers.frames import BASE_COLUMNS, event_rows, printf_fields, to_dataframe
from stapbench.answers.timeline import hits_timeline
from stapbench.model.serialize import event_to_json
from stapbench.parser import parse_bytes
from stapbench.runner import replay, run

SCRIPT = """\
probe process("{prog}").function("handle_request") {{
  printf("Close conn %d (fd:%d) destroyed:1 pid=%d uri=\\"/a b\\"\\n", $r->number, $r->number + 16, pid())
}}
probe process("{prog}").function("handle_leaf") {{ printf("leaf %s[%d] depth=%d\\n", execname(), pid(), 2) }}
"""


@pytest.fixture(scope="module")
def timed_run(stap_bpf, demo_program, tmp_path_factory):
    # 6 requests 400 ms apart: the hits' times must show that spacing
    r = run(SCRIPT.format(prog=demo_program), cmd=f"{demo_program} 6 400", runtime="bpf",
            transcript_dir=tmp_path_factory.mktemp("runs"), timeout=120)
    assert r.exit_status == 0, [d.message for d in r.diagnostics]
    return r


def _hits(r, word):
    return [e for e in r.events if e.stream == "stdout" and e.raw.startswith(word)]


@pytest.mark.stap
def test_every_event_of_a_run_has_its_arrival_time_and_a_replay_has_the_same(timed_run):
    closes = _hits(timed_run, "Close conn")
    assert len(closes) == 6
    times = [e.time for e in closes]
    assert all(t is not None for t in times) and times == sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.25 < g < 1.5 for g in gaps), gaps  # the program sleeps 400 ms between requests
    assert all(e.time is not None for e in timed_run.events)
    again = replay(timed_run.folder)
    assert [(e.raw, e.time) for e in again.events] == [(e.raw, e.time) for e in timed_run.events]
    assert json.loads(json.dumps(event_to_json(closes[0])))["time"] == closes[0].time


@pytest.mark.stap
def test_to_dataframe_of_a_real_run(timed_run):
    pytest.importorskip("pandas")
    frame = timed_run.to_dataframe()
    assert list(frame.columns[:len(BASE_COLUMNS)]) == BASE_COLUMNS
    closes = frame[frame["probe"] == "Close"]
    assert len(closes) == 6
    assert list(closes["fd"]) == [17, 18, 19, 20, 21, 22]
    assert set(closes["destroyed"]) == {1} and set(closes["uri"]) == {"/a b"}
    target_pid = int(closes["pid"].iloc[0])
    assert target_pid > 1 and set(closes["pid"]) == {target_pid}
    leaves = frame[frame["probe"] == "leaf"]
    assert len(leaves) == 6 and set(leaves["pid"]) == {target_pid}  # from "demo[PID]"
    assert set(leaves["depth"]) == {2}
    assert closes["time"].is_monotonic_increasing and closes["time"].notna().all()


@pytest.mark.stap
def test_hits_per_second_of_a_real_run(timed_run):
    timeline = hits_timeline(timed_run.events, bin=1.0)
    assert sum(timeline.series["Close"]) == 6 and sum(timeline.series["leaf"]) == 6
    assert max(timeline.series["Close"]) <= 3  # 400 ms apart: at most 3 in one second
    assert timeline.bins >= 2


def test_printf_fields_from_the_issue_and_more():
    assert printf_fields("Close conn 12 (fd:17) destroyed:1") == {"fd": 17, "destroyed": 1}
    assert printf_fields("ngx_close_connection: fd=3 c=0x55d0 t=1.5 s=\"a b\" url=http://x/") == {
        "fd": 3, "c": 0x55D0, "t": 1.5, "s": "a b", "url": "http://x/"}
    assert printf_fields("GET http://example/ done") == {}  # a URL's scheme is no field
    assert printf_fields("no fields here") == {}
    assert printf_fields("a=1 a=2") == {"a": 1}


def test_rows_without_pandas_and_base_columns_never_overwritten():
    events = parse_bytes(b"hit text=x type=y time=3 tid:9\n", stream="stdout")
    [row] = event_rows(events)
    assert row["text"] == "hit text=x type=y time=3 tid:9" and row["type"] == "text"
    assert row["field_text"] == "x" and row["field_type"] == "y" and row["field_time"] == 3
    assert row["tid"] == 9 and row["time"] is None  # parsed outside a run: no arrival time


def test_to_dataframe_says_how_to_get_pandas_when_it_is_missing(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"stapbench\[frames\]"):
        to_dataframe([])


@pytest.mark.stap
def test_the_timeline_chart_of_a_real_run(timed_run):
    from stapbench.views.charts import timeline_chart

    charts = timeline_chart(timed_run)
    [(title, html, text)] = charts.sections
    assert title == "hits per 1 s" and 'data-probe="Close"' in html and 'data-probe="leaf"' in html
    assert text.splitlines()[1].split()[:2] in (["Close", "6"], ["leaf", "6"])


@pytest.mark.stap
def test_a_chart_view_follows_a_running_run(stap_bpf, demo_program, tmp_path, no_stap_left):
    from stapbench.views import ChartView

    r = run(SCRIPT.format(prog=demo_program), cmd=f"{demo_program} 8 250", runtime="bpf",
            transcript_dir=tmp_path, timeout=120, background=True)
    no_stap_left.append(r.pid)
    view = ChartView(r, chart="timeline", min_interval=0.5)
    r.wait(120)
    assert r.exit_status == 0
    deadline = time.monotonic() + 5
    while "(8 hits)" not in view.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 'data-probe="Close"' in view.value and "Close (8 hits)" in view.value
    took = r.ended_at - r.started_at
    assert 2 <= view.updates <= took / 0.5 + 3, (view.updates, took)  # redrawn while it ran, at most 2/s
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "Close (8 hits)" in data["text/html"] and "application/vnd.jupyter.widget-view+json" in data
