"""Folded stacks merged into a tree, and the tree laid out for drawing.

:class:`FlameData` holds the stacks (``{"root;...;leaf": count}``), from a
folded file, a run or its events.  :meth:`FlameData.layout` turns them into
the flat form the views draw: nodes in depth-first order (children sorted by
name, as FlameGraph does), each with its name, total count and depth; a
node's x position is the sum of the counts before it among its siblings, so
the front end rebuilds the geometry in one pass.

Frames narrower than ``min_share`` of the total (by default 1/4000: less
than a third of a pixel on a 1,200 px wide graph) are merged: the siblings
below the threshold become one node named :data:`MERGED` whose count is their
sum, so the widths still add up and 200,000 distinct stacks become a few
thousand nodes before anything is sent to a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from ..gcpause import gc_paused

__all__ = ["FlameData", "FlameLayout", "MERGED", "ROOT", "parse_folded"]

ROOT = "all"
MERGED = "\u2026"  # a node standing for sibling frames too narrow to draw
DEFAULT_MIN_SHARE = 1 / 4000
_FOLDED_LINE = re.compile(r"(.*)\s([0-9]+)\s*\Z")


def parse_folded(text: str) -> dict[str, int]:
    """FlameGraph's folded text (``root;...;leaf COUNT`` per line) -> ``{stack: count}``.

    Lines that do not end in a count are skipped; a stack seen twice adds up."""
    stacks: dict[str, int] = {}
    get = stacks.get
    for line in text.splitlines():
        stack, sep, count = line.rpartition(" ")
        if not sep or not count.isdigit():
            m = _FOLDED_LINE.match(line)  # tabs, trailing blanks
            if m is None:
                continue
            stack, count = m.group(1), m.group(2)
        stacks[stack] = get(stack, 0) + int(count)
    return stacks


@dataclass(slots=True)
class FlameLayout:
    """The drawable form: parallel lists in depth-first order (node 0 is the root).

    ``merged[i]`` is how many sibling frames node ``i`` stands for (0 for an
    ordinary frame)."""

    names: list[str]  # distinct frame names; ``name[i]`` indexes into it
    name: list[int]
    value: list[int]
    depth: list[int]
    merged: list[int]
    total: int
    max_depth: int

    def __len__(self) -> int:
        return len(self.name)

    def as_json(self) -> dict:
        return {"names": self.names, "name": self.name, "value": self.value, "depth": self.depth,
                "merged": self.merged, "total": self.total, "max_depth": self.max_depth}

    def label(self, i: int) -> str:
        return self.names[self.name[i]]


class FlameData:
    """Stacks and their counts, merged into a tree on demand."""

    def __init__(self, stacks: Mapping[str, int]):
        self.stacks = dict(stacks)
        self.total = sum(self.stacks.values())
        self._tree = None

    # ------------------------------------------------------------------ sources
    @classmethod
    def from_folded(cls, folded: str | bytes) -> "FlameData":
        if isinstance(folded, bytes):
            folded = folded.decode("utf-8", "surrogateescape")
        return cls(parse_folded(folded))

    @classmethod
    def from_file(cls, path: str | Path) -> "FlameData":
        """A folded file, or a stap transcript (anything else is folded as ``stapbench fold`` does)."""
        data = Path(path).read_bytes()
        return cls.from_bytes(data)

    @classmethod
    def from_bytes(cls, data: bytes) -> "FlameData":
        """Folded text as it is; otherwise stap output, folded like ``stapbench fold``."""
        if looks_folded(data):
            return cls.from_folded(data)
        from ..parser.fold import collapse_bytes

        return cls({k.decode("utf-8", "surrogateescape"): v for k, v in collapse_bytes(data).items()})

    @classmethod
    def from_events(cls, events: Iterable) -> "FlameData":
        from .stacks import folded_stacks

        return cls(folded_stacks(events))

    @classmethod
    def from_run(cls, run) -> "FlameData":
        return cls.from_events(run.events)

    # ------------------------------------------------------------------ outputs
    def to_folded(self) -> str:
        """FlameGraph's folded text, sorted as ``stapbench fold`` sorts it (bytewise)."""
        keys = sorted(self.stacks, key=lambda s: s.encode("utf-8", "surrogateescape"))
        return "".join(f"{k} {self.stacks[k]}\n" for k in keys)

    def _build(self):
        """The tree as flat lists: per node its name, parent-independent total, children."""
        if self._tree is not None:
            return self._tree
        names = [ROOT]
        value = [self.total]
        kids: list[dict[str, int]] = [{}]
        with gc_paused():
            for stack, count in self.stacks.items():
                node = 0
                for frame in stack.split(";") if stack else ():
                    children = kids[node]
                    child = children.get(frame)
                    if child is None:
                        child = children[frame] = len(names)
                        names.append(frame)
                        value.append(0)
                        kids.append({})
                    value[child] += count
                    node = child
        self._tree = (names, value, kids)
        return self._tree

    def layout(self, min_share: float = DEFAULT_MIN_SHARE, *, max_nodes: int = 200_000) -> FlameLayout:
        """Depth-first nodes, siblings below ``min_share`` of the total merged (see the module doc).

        ``max_nodes`` bounds the result whatever the input: the threshold is
        raised until the layout fits."""
        while True:
            layout = self._layout(min_share)
            if len(layout) <= max_nodes or min_share >= 1:
                return layout
            min_share = max(min_share * 2, 1 / max(self.total, 1))

    def _layout(self, min_share: float) -> FlameLayout:
        names, value, kids = self._build()
        threshold = max(self.total * min_share, 0)
        table: dict[str, int] = {}
        out_name: list[int] = []
        out_value: list[int] = []
        out_depth: list[int] = []
        out_merged: list[int] = []

        def intern(label: str) -> int:
            at = table.get(label)
            if at is None:
                at = table[label] = len(table)
            return at

        max_depth = 0
        # (node, depth, merged): merged > 0 marks a merged node, whose "node" is its count
        stack: list[tuple[int, int, int]] = [(0, 0, 0)]
        with gc_paused():
            while stack:
                node, depth, merged = stack.pop()
                if depth > max_depth:
                    max_depth = depth
                out_depth.append(depth)
                out_merged.append(merged)
                if merged:
                    out_name.append(intern(MERGED))
                    out_value.append(node)
                    continue
                out_name.append(intern(names[node]))
                out_value.append(value[node])
                children = kids[node]
                if not children:
                    continue
                kept = []
                small_total = small_count = 0
                for label, child in children.items():
                    v = value[child]
                    if v >= threshold and v > 0:
                        kept.append((label, child))
                    else:
                        small_total += v
                        small_count += 1
                if small_total > 0:  # drawn after the named siblings (pushed first, popped last)
                    stack.append((small_total, depth + 1, small_count))
                kept.sort(reverse=True)  # popped in name order
                stack.extend((child, depth + 1, 0) for _label, child in kept)
        return FlameLayout(names=list(table), name=out_name, value=out_value, depth=out_depth,
                           merged=out_merged, total=self.total, max_depth=max_depth)


def looks_folded(data: bytes) -> bool:
    """Is this FlameGraph's folded text (every line of the first few ``stack COUNT``, a
    ``;`` somewhere) rather than stap output?"""
    head = data[:65536].splitlines()[:50]
    lines = [line for line in head if line.strip()]
    if not lines:
        return False
    saw_semicolon = False
    for line in lines:
        stack, sep, count = line.rstrip().rpartition(b" ")
        if not sep or not count.isdigit() or not stack or stack.startswith((b" ", b"\t")):
            return False
        saw_semicolon = saw_semicolon or b";" in stack
    return saw_semicolon or len(lines) == 1
