"""A run's backtraces as FlameGraph folded stacks.

The frames are cleaned exactly as ``stapbench fold`` cleans them (the text of
each backtrace is fed to the same :class:`~stapbench.parser.fold.Folder`), so
the stacks of a run equal ``stapbench fold`` on its stdout transcript.  How
stacks are counted:

* when a line holding only a number follows a backtrace, the output is in the
  ``sample-bt`` form (``foreach (bt in bts) { print_ustack(bt); printf("\\t%d\\n",
  @count(bts[bt])) }``): each number counts the lines before it, as
  ``stapbench fold`` reads them (stdout's text lines included);
* otherwise each hit counts once: the backtraces between two printf lines
  are one stack, joined in the order stap printed them (``print_backtrace();
  print_ubacktrace()`` gives the kernel frames above the user frames);
* blank lines, dumps and stap's own messages (stderr) are skipped.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..model import Backtrace, Event, TextLine
from ..parser.fold import Folder

__all__ = ["folded_stacks"]

# what fold takes for a count line (parser/fold.py's _COUNT_LINE, on one line's raw text)
_COUNT_RAW = re.compile(r"[ \t\r\f\v]*[0-9]+\n?\Z")
_ONE = b"1\n"


def _encoded(text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    return data if data.endswith(b"\n") else data + b"\n"


def _is_count(event: Event) -> bool:
    return isinstance(event, TextLine) and _COUNT_RAW.match(event.raw) is not None


def _counted(events: list[Event]) -> bool:
    """Does a count line follow a backtrace anywhere (the sample-bt form)?"""
    previous = None
    for event in events:
        if isinstance(event, TextLine) and not event.raw.strip():
            continue
        if isinstance(previous, Backtrace) and _is_count(event):
            return True
        previous = event
    return False


def folded_stacks(events: Iterable[Event]) -> dict[str, int]:
    """``{"root;...;leaf": count}`` from a run's events (see the module doc)."""
    events = [e for e in events if e.stream != "stderr" and isinstance(e, (Backtrace, TextLine))]
    folder = Folder()
    if _counted(events):
        for event in events:
            folder.feed(_encoded(event.raw))
    else:
        pending = False  # a backtrace was fed since the last hit ended
        for event in events:
            if isinstance(event, Backtrace):
                folder.feed(_encoded(event.raw))
                pending = True
            elif pending and event.raw.strip():  # the next hit began: the last one counts once
                folder.feed(_ONE)
                pending = False
        if pending:
            folder.feed(_ONE)
    return {stack.decode("utf-8", "surrogateescape"): count for stack, count in folder.close().items()}
