"""Group a run's events into probe hits, and name each hit's probe.

Grouping rule (one pass, O(1) per event, so a live log can use it):

* a text line (a probe's ``printf``) starts a new hit;
* a backtrace or a dump joins the current hit, unless the hit already holds
  a backtrace (for a backtrace) or a dump of the same kind with the same
  prefix (for a dump): a probe prints each thing once per hit, so a repeat
  means the next hit began (scripts that print only dumps or only
  backtraces still get one hit per print); with no current hit it starts one;
* stap's own messages (diagnostics, ``-v`` pass lines, the summary,
  listings) are groups of their own; pass lines, the summary and listings
  end the current hit, diagnostics do not (stderr arrives asynchronously,
  a runtime WARNING may land between a hit's printf and its backtrace).

Group key (what "counts per probe" counts): for a text line, its first
word that is not a number or a timestamp, with trailing ``:,;=`` dropped and
anything from an ``=`` on cut (``ngx_close_connection: fd=3`` ->
``ngx_close_connection``; ``1700000000.123 close 7`` -> ``close``;
``fd=3 c=7`` -> ``fd``); a prefix-led dump uses its prefix the same way;
a dump without prefix is ``$dump`` / ``$$vars``; a bare backtrace is
``backtrace <top symbol>``; stap's messages are ``stap:error``,
``stap:warning``, ``stap:info``, ``stap:pass``, ``stap:summary``,
``stap:listing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model import Backtrace, Diagnostic, Event, Listing, PassLine, StructDump, Summary, TextLine, VarsDump

_NUMBERISH = re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|[0-9][0-9.:/\-T]*)\Z")
MAX_KEY = 80


def text_key(text: str) -> str:
    # fast path: the first word is usually the key (one split, no regex)
    head = text.split(None, 1)
    if head:
        token = head[0]
        if not token[0].isdigit() and token[0] not in "+-=:,;" and "=" not in token:
            token = token.rstrip(":,;")
            if token:
                return token[:MAX_KEY]
    for token in text.split():
        token = token.split("=", 1)[0].rstrip(":,;")
        if not token or _NUMBERISH.match(token):
            continue
        return token[:MAX_KEY]
    return "(blank)"


def _attachable(event: Event) -> bool:
    return isinstance(event, (Backtrace, StructDump, VarsDump))


def _signature(event: Event):
    if isinstance(event, Backtrace):
        return ("backtrace",)
    return (event.type, event.prefix)


def _own_key(event: Event) -> str:
    if isinstance(event, TextLine):
        return text_key(event.text)
    if isinstance(event, Backtrace):
        top = next((f.symbol for f in event.frames if f.symbol), None)
        return f"backtrace {top}" if top else "backtrace"
    if isinstance(event, (StructDump, VarsDump)):
        if event.prefix.strip():
            return text_key(event.prefix)
        return "$dump" if isinstance(event, StructDump) else "$$vars"
    if isinstance(event, Diagnostic):
        return f"stap:{event.severity}"
    if isinstance(event, PassLine):
        return "stap:pass"
    if isinstance(event, Summary):
        return "stap:summary"
    if isinstance(event, Listing):
        return "stap:listing"
    return f"stap:{event.type}"


@dataclass(slots=True)
class Group:
    id: int
    key: str
    head: Event  # the event that started the group
    items: list[Event] = field(default_factory=list)  # backtraces and dumps that joined it
    signatures: set | None = None  # what joined (see _signature); None until something does
    is_hit: bool = True  # a probe's output, not one of stap's own messages (key "stap:...")

    @property
    def events(self) -> list[Event]:
        return [self.head, *self.items]


class Grouper:
    """Feed events in order; ``feed`` returns the group the event went into and
    whether that group is new.  A several-host run's hosts interleave their lines,
    so each host (``Event.host``) has its current group: a backtrace joins its own
    host's printf line, never the other host's that arrived between them."""

    def __init__(self):
        self._current: dict[str | None, Group | None] = {}
        self.next_id = 0

    @property
    def current(self) -> Group | None:
        """The group a one-host run's next backtrace or dump would join."""
        return self._current.get(None)

    def feed(self, event: Event) -> tuple[Group, bool]:
        host = event.host
        if type(event) is TextLine:  # the hot path: a probe's printf line starts a hit
            group = self._current[host] = Group(self.next_id, text_key(event.text), event)
            self.next_id += 1
            return group, True
        cur = self._current.get(host)
        attachable = _attachable(event)
        if attachable and cur is not None:
            sig = _signature(event)
            if cur.signatures is None:
                cur.signatures = set()
            if sig not in cur.signatures:
                cur.items.append(event)
                cur.signatures.add(sig)
                return cur, False
        key = _own_key(event)
        group = Group(self.next_id, key, event, is_hit=not key.startswith("stap:"))
        self.next_id += 1
        if isinstance(event, TextLine) or attachable:
            if attachable:
                group.signatures = {_signature(event)}
            self._current[host] = group
        elif not isinstance(event, Diagnostic):
            self._current[host] = None
        return group, True


def group_events(events) -> list[Group]:
    grouper = Grouper()
    groups = []
    for event in events:
        group, new = grouper.feed(event)
        if new:
            groups.append(group)
    return groups


OTHER_KEYS = "(other keys)"


class ProbeCounter:
    """Hits per group key over a whole run, in bounded memory.

    At most ``max_keys`` distinct keys are tracked (a script whose lines
    start with ever-changing words would otherwise grow without end); hits of
    further keys count under ``(other keys)``, so the total stays right.
    """

    def __init__(self, max_keys: int = 5000):
        from collections import Counter

        self.max_keys = max_keys
        self.counts: Counter = Counter()
        self.total = 0

    def add(self, group: Group) -> None:
        if not group.is_hit:
            return
        key = group.key
        if key not in self.counts and len(self.counts) >= self.max_keys:
            key = OTHER_KEYS
        self.counts[key] += 1
        self.total += 1

    def most_common(self, n: int) -> list[tuple[str, int]]:
        return self.counts.most_common(n)
