"""Widget models: what the front end receives (synced traits, mime bundles), driven from Python.

The browser side (eventlog.js, clicks) is covered by the Playwright suite; here we
check the state those clicks produce and that the Python side bounds what it sends.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stapbench.model import Backtrace, Diagnostic, TextLine
from stapbench.parser import parse_bytes
from stapbench.runner.run import Run
from stapbench.symbols import Symbolizer
from stapbench.views import BacktraceView, DiagnosticView, EventLogView, RenderContext, RunView, ValueTreeView
from tests.test_views_symbols import composed  # noqa: F401  (fixture)

from .test_views_dom import assert_inert, parse

FIX = Path(__file__).parent / "fixtures" / "views"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def events_of(*names):
    return [e for n in names for e in parse_bytes((FIX / n).read_bytes())]


class FakeTime:
    """A clock and a scheduler the tests advance by hand (simulated seconds)."""

    def __init__(self):
        self.now = 0.0
        self.pending: list[tuple[float, object]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay, callback) -> None:
        self.pending.append((self.now + delay, callback))

    def advance_to(self, t: float) -> None:
        self.now = t
        while True:
            due = [p for p in self.pending if p[0] <= t]
            if not due:
                return
            for p in due:
                self.pending.remove(p)
                p[1]()


# --------------------------------------------------------------------------- backtrace view

def test_selecting_a_frame_shows_its_source_line(composed):  # noqa: F811
    data, expected = composed
    bt = next(e for e in parse_bytes(data) if isinstance(e, Backtrace))
    view = BacktraceView(bt, symbolizer=Symbolizer())
    assert [v for _, v in view.frames.options] == list(range(6))
    assert view.selected == 0 and view.frames.value == 0

    def marked(html):
        pane = parse(html).find(cls="stapbench-source")
        return pane.attrs["data-frame-index"], pane.find(cls="hll").attrs["data-line"]

    assert marked(view.source.value) == ("0", str(expected[0][1]))
    view.selected = 2
    assert marked(view.source.value) == ("2", str(expected[2][1]))
    view.frames.value = 3  # what a click in the Select does
    assert view.selected == 3 and marked(view.source.value) == ("3", str(expected[3][1]))
    view.selected = 4  # the libc frame: no module on disk -> the problem and its hint
    hint = parse(view.source.value).find(cls="stapbench-hint")
    assert hint.attrs["data-problem"] == "no-module" and "not on disk" in hint.text()
    labels = [label for label, _ in view.frames.options]
    assert labels[4].startswith("#4 [module only] libc.so.6+0x29d90") and labels[5].startswith("#5 ~ ? 0x0")
    bundle = view._repr_mimebundle_()
    assert WIDGET_MIME in bundle and "#0  handle_leaf" in bundle["text/plain"]
    rows = parse(bundle["text/html"]).find_all("tr", "stapbench-frame")
    assert len(rows) == 6


def test_frame_labels_name_the_function_and_the_files_base_name(tmp_path, monkeypatch):
    """The list stays narrow enough to show whole: each label holds the function and its file's
    name; the source pane's title says where the file is (relative to its root, or ``~``)."""
    from tests.test_views_static import machine_paths_backtrace

    bt, symbolizer, _home, _root = machine_paths_backtrace(tmp_path, monkeypatch)
    view = BacktraceView(bt, symbolizer=symbolizer)
    labels = [label for label, _ in view.frames.options]
    assert labels == ["#0 f_built+0x4 [nginx]  a.c:10", "#1 f_relative+0x4 [nginx]  c.c:30",
                      "#2 f_mine+0x4 [nginx]  b.c:20", "#3 f_system+0x4 [nginx]  x.h:40",
                      "#4 memcpy+0x4 [libc.so.6]  [no debuginfo]"]
    title = parse(view.source.value).find(cls="stapbench-source-title").text()
    assert title == "#0 f_built+0x4 [nginx]  src/core/a.c:10"
    view.selected = 2
    assert parse(view.source.value).find(cls="stapbench-source-title").text().endswith("  ~/proj/b.c:20")
    assert str(tmp_path) not in parse(view.source.value).text()


def test_backtrace_view_xss_stays_text():
    bt = next(e for e in events_of("xss.txt") if isinstance(e, Backtrace))
    view = BacktraceView(bt)
    assert view.frames.options[0][0].startswith("#0 <img src=x onerror=alert(2)>+0xc")  # Select renders text
    assert_inert(view._repr_mimebundle_()["text/html"])
    assert_inert(view.source.value)


# --------------------------------------------------------------------------- value tree

def test_value_tree_view_is_collapsible_html_with_expressions():
    dump = events_of("hits.txt")[2]
    view = ValueTreeView(dump, types={"$c": "ngx_connection_t *"})
    dom = parse(view.value)
    nodes = dom.find_all("details", "stapbench-node")
    assert [n.attrs["data-path"] for n in nodes] == ["$c", "$c->pool"]
    assert dom.find("details", data_path="$c").find(cls="stapbench-type").text() == "ngx_connection_t *"
    assert view.expressions == ["$c->log$", "$c->pool->log$", "$c->name$$"]
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", WIDGET_MIME}
    assert "-> print with $c->log$" in bundle["text/plain"]


# --------------------------------------------------------------------------- diagnostic

def test_diagnostic_view_fix_buttons_apply_the_suggestion():
    cell = (FIX / "cell.stp").read_text()
    diag = events_of("cell_errors.txt")[0]
    view = DiagnosticView(diag, context=RenderContext(cell_source=cell, script_path="/tmp/stapbench-cell/script.stp"))
    assert [b.description for b in view.buttons] == diag.similar
    assert not any(b.disabled for b in view.buttons)
    seen = []
    view.on_fix(lambda s, fixed: seen.append((s, fixed)))
    view.buttons[1].click()
    assert seen and seen[0][0] == "printk"
    assert view.fixed_source.splitlines()[2] == '\thits++; printk("%d\\n", $depth)'
    assert parse(view.preview.value).find("pre", "stapbench-fixed-source").text() == view.fixed_source
    box = parse(view.message.value).find(cls="stapbench-diagnostic")
    assert box.attrs["data-cell-line"] == "3"
    # without the cell there is nothing safe to edit: buttons shown but disabled
    blind = DiagnosticView(diag)
    assert all(b.disabled for b in blind.buttons)


def test_diagnostic_view_escapes_messages():
    diag = next(e for e in events_of("xss.txt") if isinstance(e, Diagnostic))
    view = DiagnosticView(diag, context=RenderContext(cell_source='probe begin { x<script>("<img src=x onerror=alert(6)>") }\n'))
    dom = assert_inert(view.message.value)
    assert "x<script>y" in dom.text()
    assert view.buttons[1].description == "<img src=x onerror=alert(5)>"  # button text, not HTML


# --------------------------------------------------------------------------- event log

def make_log(fake: FakeTime, **kw) -> EventLogView:
    return EventLogView(clock=fake.clock, schedule=fake.schedule, **kw)


def lines(n, start=0, word=lambda i: "close" if i % 3 else "open"):
    return [TextLine(raw=f"{word(i)} fd={i}\n", text=f"{word(i)} fd={i}") for i in range(start, start + n)]


def test_first_events_are_sent_at_once_then_batched():
    fake = FakeTime()
    log = make_log(fake)
    log.push(lines(1))
    assert log.updates == 1 and len(log.rows) == 1  # nothing sent for 100 ms: sent immediately
    for k in range(1, 50):  # a push every 2 ms for 0.1 s
        fake.advance_to(k * 0.002)
        log.push(lines(1, k))
    assert log.updates == 1 and len(fake.pending) == 1  # batched behind one timer
    fake.advance_to(0.1)
    assert log.updates == 2 and log.total_events == 50 and len(log.rows) == 50
    fake.advance_to(0.5)  # quiet for 400 ms: the next push goes out at once again
    log.push(lines(1, 50))
    assert log.updates == 3 and log.total_events == 51


def test_a_million_lines_stay_bounded_with_right_counts():
    fake = FakeTime()
    log = make_log(fake, max_groups=5000, page_size=300)
    total, batch, seconds = 1_000_000, 500, 10.0
    per_second: dict[int, int] = {}
    last = 0
    for start in range(0, total, batch):
        fake.advance_to(start / total * seconds)
        log.push(lines(batch, start))
        if log.updates != last:
            per_second[int(fake.now)] = per_second.get(int(fake.now), 0) + log.updates - last
            last = log.updates
        assert len(log.rows) <= 300
    log.finish()
    assert max(per_second.values()) <= 11 and sum(per_second.values()) >= 10 * seconds - 1
    assert log.total_events == total and log.total_hits == total
    assert log.probe_counts == {"open": 333334, "close": 666666}
    assert dict(map(tuple, log.counts)) == log.probe_counts
    assert log.retained == 5000 and len(log.groups) == 5000 and len(log.rows) == 300
    assert log.rows[-1]["text"] == f"open fd={total - 1}"  # the newest page, oldest first (999999 % 3 == 0)
    assert log.group(0) is None and log.group(total - 1).head.text == f"open fd={total - 1}"


def test_filter_order_and_pages():
    fake = FakeTime()
    log = make_log(fake, page_size=10)
    log.push(lines(100))
    log.finish()
    log.newest_first = True
    ids = [r["id"] for r in log.rows]
    assert ids == list(range(99, 89, -1))  # page 0 = newest, newest first
    log.newest_first = False
    assert [r["id"] for r in log.rows] == list(range(90, 100))
    log.page = 1
    assert [r["id"] for r in log.rows] == list(range(80, 90))
    log.page = 99  # past the end: clamped to the oldest page
    assert log.page == 9 and [r["id"] for r in log.rows] == list(range(0, 10))
    log.page, log.newest_first, log.filter_text = 0, True, "key:open"
    assert log.matched == 34 and all(r["key"] == "open" for r in log.rows)
    log.filter_text = "FD=42"  # substring, case-insensitive
    assert [r["text"] for r in log.rows] == ["open fd=42"] and log.matched == 1


def test_a_runs_log_reads_oldest_first_and_opens_on_its_newest_rows():
    """As it happened, like its static render: oldest row first.  Page 0 stays the newest rows
    (the last page, read chronologically), so a live run shows what just arrived; ``newest_first``
    still turns the page around."""
    fake = FakeTime()
    log = make_log(fake, page_size=10)
    log.push(lines(25))
    assert not log.newest_first and log.page == 0
    assert [r["id"] for r in log.rows] == list(range(15, 25))  # the newest ten, in order
    static = [row.text() for row in parse(log.static_html()).find_all("pre", "stapbench-log-row")]
    assert [r["text"] for r in log.rows] == static[-10:]  # the same order as the saved render
    fake.advance_to(1.0)
    log.push(lines(3, 25))  # live: the new rows arrive at the end of the page on show
    assert [r["id"] for r in log.rows] == list(range(18, 28))
    log.page = 2  # back in time: the oldest rows, still in order
    assert [r["id"] for r in log.rows] == list(range(0, 8))
    log.page, log.newest_first = 0, True  # the toggle: the newest page, turned around
    assert [r["id"] for r in log.rows] == list(range(27, 17, -1))


def test_rows_group_a_hit_with_its_backtrace_and_dumps():
    fake = FakeTime()
    log = make_log(fake)
    log.push(events_of("hits.txt"))
    rows = {r["id"]: r for r in log.rows}
    first = rows[0]
    assert first["key"] == "ngx_close_connection" and first["kind"] == "hit"
    assert [i["kind"] for i in first["items"]] == ["backtrace", "struct", "vars"]
    assert first["items"][0]["label"] == "backtrace (6 frames)"
    assert "-> print with $c->log$" in first["items"][1]["text"]


def test_event_log_sends_payloads_as_text_and_js_never_parses_html():
    fake = FakeTime()
    log = make_log(fake)
    log.push(events_of("xss.txt"))
    assert log.rows[0]["text"] == 'ngx_log: <script>alert("text")</script> <img src=x onerror=alert(1)>'
    js = (Path(__file__).parents[1] / "stapbench" / "views" / "eventlog.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    assert "textContent" in js
    data, metadata = log._repr_mimebundle_()  # anywidget's (data, metadata) form
    assert WIDGET_MIME in data and isinstance(metadata, dict)
    assert_inert(data["text/html"])


def test_real_timer_delivers_the_trailing_batch():
    log = EventLogView()  # the default scheduler: a daemon timer thread
    log.push(lines(1))
    log.push(lines(5, 1))  # within 100 ms of the first: waits for the timer
    assert log.total_events == 1
    deadline = time.monotonic() + 2
    while log.total_events != 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.total_events == 6 and len(log.rows) == 6


# --------------------------------------------------------------------------- run view

class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj, raw=False):
        self.updates.append((obj, raw))


def test_run_view_follows_a_run_and_ends_with_the_static_render():
    cell = (FIX / "cell.stp").read_text()
    run = Run(cell)  # the real Run class, not started: we play its reader thread's callbacks
    run.folder = Path("/tmp/stapbench-cell")
    view = RunView(run, log_options={"min_interval": 0.0})
    handle = view._handle = FakeHandle()
    events = events_of("hits.txt", "cell_errors.txt")
    for event in events:
        for callback in run.on_event:
            callback(event)
    assert view.log.total_events == len(events) == 10
    # the diagnostic sits on the cell's line 3: script_path comes from the run folder
    diag_view = view.diagnostics_box.children[0]
    assert parse(diag_view.message.value).find(cls="stapbench-diagnostic").attrs["data-cell-line"] == "3"
    assert "stapbench-dataloss" in view.summary.value
    # selecting a hit in the log shows its backtrace and dumps
    view.log.selected = 0
    kinds = [type(w).__name__ for w in view.detail.children]
    assert kinds == ["BacktraceView", "ValueTreeView", "ValueTreeView"]
    for callback in run.on_end:
        callback(run)
    assert view.closed and view.log.finished
    (final, raw), = handle.updates
    assert raw and set(final) == {"text/html", "text/plain"}  # final="replace"
    dom = parse(final["text/html"])
    assert dom.find(cls="stapbench-summary").attrs["data-loss"] == "true"
    assert dom.find(cls="stapbench-diagnostic").attrs["data-cell-line"] == "3"
    assert len(dom.find_all("tr", "stapbench-frame")) == 7
    assert "DATA LOSS" in final["text/plain"]


def test_run_view_accompany_keeps_the_widget_and_fills_the_static_output():
    view = RunView(final="accompany", log_options={"min_interval": 0.0})
    view._handle, view._static_handle = FakeHandle(), FakeHandle()
    view.push(events_of("hits.txt"))
    bundle = view._repr_mimebundle_()
    assert WIDGET_MIME in bundle and "ngx_close_connection" in bundle["text/html"]
    view.close()
    assert WIDGET_MIME in view._handle.updates[0][0]
    assert set(view._static_handle.updates[0][0]) == {"text/html", "text/plain"}
    with pytest.raises(ValueError):
        RunView(final="sometimes")


def test_run_view_static_render_while_events_stream_from_another_thread():
    import threading

    view = RunView(symbolizer=False)
    stop = threading.Event()
    words = [f"probe{i}" for i in range(300)]  # many keys: the counts dict keeps growing

    def reader():
        i = 0
        while not stop.is_set():
            view._on_event(TextLine(raw="x\n", text=f"{words[i % 300]}{i // 300 % 50} {i}"))
            i += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(30):
            parse(view.static_html())
            view.static_text()
    finally:
        stop.set()
        thread.join()
    view.close()
    assert view.log.total_events == view.window.total > 0


def _widget_state():
    """(models, bytes of state) of every widget alive in this process: what a page reload
    fetches from the kernel before it can draw any widget."""
    import json

    from ipywidgets.widgets.widget import _instances

    widgets = list(_instances.values())
    return len(widgets), sum(len(json.dumps(w.get_state(), default=str)) for w in widgets)


def test_a_run_views_widget_state_stays_small_and_selections_do_not_pile_up():
    events = events_of("hits.txt", "cell_errors.txt")
    RunView(symbolizer=False, final="accompany")  # the page's shared style widget exists from here on
    models0, bytes0 = _widget_state()
    view = RunView(symbolizer=False, final="accompany", log_options={"min_interval": 0.0})
    view.push(events)
    view.close()
    models1, bytes1 = _widget_state()
    # the stylesheet is in no widget of the run: the page's one style widget carries it (it was
    # in each HTML widget's value, 12 KB nine times a run, 100 KB of state in all)
    from ipywidgets.widgets.widget import _instances

    from stapbench.views._html import PageStyle

    styled = [w for w in _instances.values() if "<style>" in str(getattr(w, "value", ""))]
    assert styled == [PageStyle.widget()]
    assert bytes1 - bytes0 < 60_000, bytes1 - bytes0
    hits = sorted((row["id"] for row in view.log.rows), reverse=True)  # newest first
    for n in range(20):  # a user clicking through the hits
        view.log.selected = hits[n % len(hits)]
    models2, _ = _widget_state()
    view.log.selected = hits[0]
    models3, _ = _widget_state()
    assert models3 - models1 <= models2 - models1 < 60  # the last selection's views only


def test_each_diagnostic_shows_once_and_stap_tips_once_a_session():
    """stap's messages sit above the log, each once (they were also log rows); its Tip
    (README.Debian, printed after every error) is folded, and left out of the next runs."""
    events = events_of("cell_errors.txt")
    tips = {t for e in events if isinstance(e, Diagnostic) for t in e.tips}
    assert any("README.Debian" in t for t in tips)
    first = RunView(symbolizer=False, log_options={"min_interval": 0.0})
    first.push(events)
    first.close()
    assert first.diagnostics_box.children
    assert [r for r in first.log.rows if r["kind"] in ("error", "warning")] == []
    assert first.log.total_events == len(events)  # still counted
    shown = "".join(d.message.value for d in first.diagnostics_box.children if isinstance(d, DiagnosticView))
    tip = parse(shown).find("details", "stapbench-tip")
    assert tip is not None and "README.Debian" in tip.text()
    later = RunView(context=RenderContext(tips_said=frozenset(tips)), log_options={"min_interval": 0.0})
    later.push(events)
    later.close()
    assert "README.Debian" not in later.static_html() and "README.Debian" not in later.static_text()
    assert "README.Debian" in first.static_text()


def test_a_several_host_run_groups_each_hosts_hits_and_filters_by_host():
    """Two hosts interleave: each backtrace joins its own host's printf line; rows carry the
    host, and ``host:NAME`` keeps one host's hits."""
    from stapbench.model.events import Backtrace, Frame, TextLine
    from stapbench.views.eventlog import EventLogView

    def line(host, text):
        return TextLine(raw=text + "\n", stream="stdout", text=text, host=host)

    def trace(host, symbol):
        return Backtrace(raw=f" 0x1 : {symbol}+0x0/0x10 [nginx]\n", stream="stdout", host=host,
                         frames=[Frame(address=1, symbol=symbol, offset=0, size=16, module="nginx",
                                         text=f" 0x1 : {symbol}+0x0/0x10 [nginx]")])

    log = EventLogView(min_interval=0)
    log.push([line("lab", "close #1"), line("lab2", "close #7"), trace("lab", "from_lab"),
              trace("lab2", "from_lab2")])
    log.flush()
    rows = {row["text"]: row for row in log.rows}
    assert rows["close #1"]["host"] == "lab" and rows["close #7"]["host"] == "lab2"
    assert [i["text"] for i in rows["close #1"]["items"]] == ["0x1 : from_lab+0x0/0x10 [nginx]"]
    assert [i["text"] for i in rows["close #7"]["items"]] == ["0x1 : from_lab2+0x0/0x10 [nginx]"]
    log.filter_text = "host:lab2"
    assert [row["text"] for row in log.rows] == ["close #7"]
    assert "[lab2] " in log.static_html() and "[lab] " in log.static_html()


def test_ranked_fixes_replace_stap_s_own_list_of_names():
    """A bad member: stap lists 40 alternatives in DWARF order; with ranked fix buttons the
    message and the chips do not repeat them above the buttons."""
    from stapbench.authoring.fixes import Fix
    from stapbench.model import Diagnostic
    from stapbench.views.widgets import DiagnosticView

    names = [f"m{i}" for i in range(40)] + ["number"]
    diag = Diagnostic(raw="", severity="error", kind="semantic", similar=names,
                      message=f"unable to find member 'numbr' for struct s (alternatives: {' '.join(names)})")
    with_fixes = DiagnosticView(diag, fixes=[Fix("->number", "x"), Fix("->m1", "y")])
    html = with_fixes.message.value
    assert "m17" not in html and "stapbench-chip" not in html
    assert "(stap lists 41 names: the closest are the fixes below)" in html
    plain = DiagnosticView(diag)
    assert "m17" in plain.message.value and "stapbench-chip" in plain.message.value
