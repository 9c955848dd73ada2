"""stap's globals and statistics as it prints them: the end-of-run display and histograms.

At the end of a run the kernel runtime prints every global that was written
and never read, in formats its translator generates (checked against stap
4.8's pass-3 C code, ``stap -p3``):

* scalars: ``s=42``, ``str="hi"``;
* arrays: ``arr["a"]=1``, ``multi[1,"x"]=3``;
* statistics: ``agg @count=2 @min=5 @max=10 @sum=15 @avg=7`` (``agg @count=0x0``
  when empty), ``aggarr["k"] @count=...``;

and ``print(@hist_log(x))`` / ``print(@hist_linear(x, lo, hi, step))`` print
an ASCII histogram (``runtime/stat-common.c``)::

    value |-------------------------------------------------- count
        0 |                                                    0
        1 |@@@@                                                4
        2 |@@@@@@@@@@                                         10
          ~
       64 |@                                                   1

Layers: plain dataclasses, imported by the parser (which builds them) and the
views (which draw them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Index = tuple  # of int | str: an array element's index (strings unquoted)


@dataclass(slots=True)
class GlobalValue:
    """``name=value`` or ``name[index]=value``; ``index`` is None for a scalar."""

    name: str
    value: int | str
    index: Index | None = None
    line: str = ""


@dataclass(slots=True)
class StatsValue:
    """``name[index] @count=N @min=N @max=N @sum=N @avg=N`` (only ``count`` when empty)."""

    name: str
    count: int
    min: int | None = None
    max: int | None = None
    sum: int | None = None
    avg: int | None = None
    index: Index | None = None
    line: str = ""


@dataclass(slots=True)
class HistogramRow:
    """One bucket: ``value`` is its low end as printed; ``prefix`` ``<`` / ``>`` marks a
    linear histogram's underflow / overflow bucket; ``after_gap``: stap elided zero rows
    (its ``~`` line) just before this one."""

    value: int
    count: int
    prefix: str = ""
    after_gap: bool = False


@dataclass(slots=True)
class Histogram:
    """An ASCII histogram.  ``kind`` is ``"log"`` or ``"linear"``, inferred from the bucket
    values (stap does not print it); ``title`` is the text line printed just before it, if
    any (``printf("latency (us):\\n"); print(@hist_log(t))``)."""

    rows: list[HistogramRow] = field(default_factory=list)
    kind: str = "log"
    title: str | None = None
    width: int = 50  # HIST_WIDTH: the dashes in the header
    lines: list[str] = field(default_factory=list)  # the text as printed, header first

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)

    def label(self, row: HistogramRow) -> str:
        """The bucket as a range: ``4..7`` (log), ``10..19`` (linear), ``<0``, ``>=100``."""
        if row.prefix == "<":
            return f"<{row.value}"
        if row.prefix == ">":
            return f">{row.value}"
        if self.kind == "log":
            if row.value > 0:
                return f"{row.value}..{2 * row.value - 1}" if row.value > 1 else "1"
            if row.value < 0:
                return f"{2 * row.value + 1}..{row.value}" if row.value < -1 else "-1"
            return "0"
        step = _linear_step(self.rows)
        return f"{row.value}..{row.value + step - 1}" if step and step > 1 else str(row.value)


def _linear_step(rows: list[HistogramRow]) -> int | None:
    values = [r.value for r in rows if not r.prefix]
    steps = {b - a for a, b in zip(values, values[1:]) if b > a}
    return min(steps) if steps else None


AGGREGATE_TYPES = (GlobalValue, StatsValue, Histogram)
