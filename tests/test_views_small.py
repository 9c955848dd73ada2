"""The small things a new user noticed (issue 7), each held here: plurals, the interrupt note once
the run is over, ``$c$`` and ``$c$$`` titled apart, the ``--bg`` header's clock, and both displays
keeping the one protocol a run talks to."""

from __future__ import annotations

import threading
import time

from stapbench.magics.output import TextRunDisplay
from stapbench.model import StructDump
from stapbench.parser import parse_bytes
from stapbench.views import RunView
from stapbench.views._html import count
from stapbench.views.display import RunDisplay
from stapbench.views.runrender import header_bundle
from stapbench.views.valuetree import dump_title


def test_counts_are_singular_for_one():
    assert count(1, "event") == "1 event" and count(2, "event") == "2 events" and count(0, "event") == "0 events"
    assert count(1_000, "match", "matches") == "1,000 matches"


def test_the_interrupt_note_loses_its_press_again_once_the_run_ended():
    note = "interrupted: stopping stap (SIGINT; press again to kill it)"
    html, text = header_bundle("[stap finished]", [note], ended=True)
    assert "press again" not in html + text and "interrupted: stopping stap (SIGINT)" in text
    assert "press again" in header_bundle("[stap running]", [note], ended=False)[1]


def test_a_dump_and_a_deep_dump_are_titled_apart():
    [shallow, deep] = [e for e in parse_bytes(b"$c$={.fd=3, .log=0x1}\n$c$$={.fd=3, .log={.level=2}}\n")
                       if isinstance(e, StructDump)]
    assert dump_title(shallow) == "$c$" and dump_title(deep) == "$c$$"  # from the line's own prefix
    assert dump_title(deep, "$c$$") == "$c$$"  # from the script's expression


class _LiveRun:
    """A run still going, as a display sees one (its callbacks and status line)."""

    def __init__(self):
        self.on_event, self.on_note, self.on_end, self.on_ready = [], [], [], []
        self.on_trigger_output, self.on_program_output = [], []
        self.events, self.notes, self.diagnostics = [], [], []
        self.finished = threading.Event()
        self.ready = threading.Event()
        self.started_at = time.time()
        self.script = "probe begin {}\n"
        self.folder = None
        self.trigger_argv = self.program_argv = None

    def status_line(self):
        return f"[stap running, {time.time() - self.started_at:.1f} s]"


def test_the_bg_header_clock_moves_without_events():
    run = _LiveRun()
    view = RunView(run)
    first = view.status.value
    deadline = time.monotonic() + 5
    while view.status.value == first and time.monotonic() < deadline:
        time.sleep(0.1)
    assert view.status.value != first and "stap running" in view.status.value
    run.finished.set()
    view.close()


def test_both_displays_keep_the_run_display_protocol():
    run = _LiveRun()
    assert isinstance(TextRunDisplay(run), RunDisplay)
    view = RunView(run)
    assert isinstance(view, RunDisplay)
    view.close()
