"""Backtrace lines (FORMATS.md §1): one frame per line, in every style stap prints.

* FULL (``print_[u]backtrace``) and DATA (``print_[u]syms``): a leading space,
  `` 0xADDR : sym+0xOFF/0xSIZE [module]``, `` 0xADDR [module+0xOFF/0xSIZE]``,
  `` 0xADDR [module]`` (pre-4.2), `` 0xADDR`` alone, `` 0xADDR : 0xADDR``
  (print_syms, unresolved), optional `` at FILE:LINE`` (``*_fileline``) and
  `` (inexact)``; ``Returning from:  ...`` / ``Returning to  :  ...`` lead a
  return probe's backtrace.  Pre-1.3 zero-padded addresses parse the same way.
* SIMPLE (``sprint_backtrace``): ``sym+0xOFF [module]``, ``0xADDR [mod+0xOFF]``;
  BRIEF (``print_ubacktrace_brief``): ``sym+0xOFF``; a bare ``0xADDR`` only
  inside such a backtrace.
* NONE (``backtrace()``): ``0x.. 0x.. `` hex lists, one stack per line.

Leading indentation (TABs or spaces, as in blogs or NEWS) is tolerated.
"""

from __future__ import annotations

import re
import sys

from ..model import Frame
from ..model.numbers import decimal_or_none
from .cleanup import is_clean

__all__ = [
    "FrameCache", "parse_full_frame", "parse_simple_frame", "parse_hex_list", "RETURNING_FROM", "RETURNING_TO",
]

RETURNING_FROM = "Returning from: "
RETURNING_TO = "Returning to  : "

_HEX = r"0x[0-9a-fA-F]+"
# A module name holds no "[": with "[" allowed, each "+" the lazy symbol tries would rescan the
# rest for a "]" (quadratic, 50 ms for a 4 KB line of " [" pieces); without it each scan stops at
# the next "[", so a line is read a bounded number of times.
_FULL = re.compile(
    rf"[ \t]*({_HEX})"
    rf"(?: : (?:({_HEX})|(.+?)\+({_HEX})(?:/({_HEX}))?(?: at ([^ ]+?)(?::(\d+))?)?))?"
    rf"(?: \[([^\[\]]*?)(?:\+({_HEX})/({_HEX}))?\])?"
    rf"(?: at ([^ ]+?)(?::(\d+))?)?"
    r"( \(inexact\))?\Z"
)
_SIMPLE = re.compile(
    rf"[ \t]*(?:({_HEX}) \[([^\]]+?)\+({_HEX})(?:/({_HEX}))?\]"
    rf"|([^ \t\[\]]+?)\+({_HEX})(?:/({_HEX}))?(?: \[([^\]]+)\])?)"
    r"( \(inexact\))?\Z"
)
_BARE = re.compile(rf"[ \t]*({_HEX})( \(inexact\))?\Z")
_HEX_LIST = re.compile(rf"{_HEX}(?: {_HEX})+ ?\Z|{_HEX} \Z")

# frames are short; never run the frame regexes over a huge line
MAX_FRAME_LINE = 4096


def _int(text: str | None) -> int | None:
    return int(text, 16) if text is not None else None


def parse_full_frame(text: str) -> Frame | None:
    """A FULL/DATA-style frame line (leading space included, or a
    ``Returning from:``/``Returning to  :`` line), or None."""
    if len(text) > MAX_FRAME_LINE or "0x" not in text:
        return None
    role = "frame"
    start = 0
    if text[:1] == "R":
        if text.startswith(RETURNING_FROM):
            role = "returning_from"
        elif text.startswith(RETURNING_TO):
            role = "returning_to"
        else:
            return None
        start = len(RETURNING_FROM)
    m = _FULL.match(text, start)
    if m is None:
        return None
    (addr, unresolved, symbol, offset, size, file1, line1,
     module, moff, msize, file2, line2, inexact) = m.groups()
    if symbol is None and module is not None and moff is not None:
        offset, size = moff, msize  # `` 0xADDR [module+0xOFF/0xSIZE]``: offset into the module
    file = file1 if file1 is not None else file2
    line = line1 if line1 is not None else line2
    return Frame(
        address=int(addr, 16), symbol=symbol, offset=_int(offset), size=_int(size),
        module=module, inexact=inexact is not None, role=role,
        file=file, line=decimal_or_none(line) if line is not None else None, text=text,
    )


def parse_simple_frame(text: str, bare_ok: bool = False) -> Frame | None:
    """A SIMPLE/BRIEF-style frame (``sym+0xOFF [mod]``), or a bare ``0xADDR`` when ``bare_ok``."""
    if len(text) > MAX_FRAME_LINE or "0x" not in text:
        return None
    m = _SIMPLE.match(text)
    if m is not None:
        addr, mod1, moff, msize, symbol, offset, size, mod2, inexact = m.groups()
        if addr is not None:
            return Frame(address=int(addr, 16), offset=int(moff, 16), size=_int(msize),
                         module=mod1, inexact=inexact is not None, text=text)
        return Frame(address=None, symbol=symbol, offset=int(offset, 16), size=_int(size),
                     module=mod2, inexact=inexact is not None, text=text)
    if bare_ok:
        m = _BARE.match(text)
        if m is not None:
            return Frame(address=int(m.group(1), 16), inexact=m.group(2) is not None, text=text)
    return None


def parse_hex_list(text: str) -> list[Frame] | None:
    """``backtrace()``/``callers()`` output: ``0x.. 0x.. `` (two or more, or one with its trailing space)."""
    if len(text) > MAX_FRAME_LINE or _HEX_LIST.match(text) is None:
        return None
    return [Frame(address=int(tok, 16), text=tok) for tok in text.split()]


# a Frame with its slots and ints, and its entries in two dicts
_ENTRY_OVERHEAD = 400


def _entry_bytes(text: str, frame: Frame) -> int:
    size = sys.getsizeof(text) + _ENTRY_OVERHEAD
    if frame.symbol is not None:
        size += sys.getsizeof(frame.symbol)
    if frame.module is not None:
        size += sys.getsizeof(frame.module)
    return size


class FrameCache:
    """Parsed frames by line text.

    Profiles print the same frame lines over and over; parsing each distinct
    line once is what makes the full parse fast.  Only text that
    :func:`.cleanup.is_clean` (interpreting it changes nothing) is cached: the
    hot loop looks raw lines up directly, so a hit must mean the same as
    parsing that raw line, whatever clean-up it would need.  Identical lines therefore
    share one :class:`Frame` object: treat frames as read-only (the model's
    rule anyway).  Only frames are cached.  Each family (FULL, SIMPLE/BRIEF) is
    dropped when it reaches ``limit`` entries or ``max_bytes / 2`` bytes (the
    text, symbol and module strings plus a fixed cost per entry, as
    ``sys.getsizeof`` counts them): 140,000 distinct 1.9 KB frame lines once held
    582 MB.
    """

    __slots__ = ("full_frames", "plain_full_frames", "simple_frames", "brief_frames", "limit", "max_bytes",
                 "_full_bytes", "_simple_bytes")

    def __init__(self, limit: int = 1 << 17, max_bytes: int = 64 << 20):
        self.full_frames: dict[str, Frame] = {}
        # the subsets a backtrace's hot loop may take without a second look:
        # FULL frames with role "frame" and a symbol, SIMPLE frames without a module
        self.plain_full_frames: dict[str, Frame] = {}
        self.simple_frames: dict[str, Frame] = {}
        self.brief_frames: dict[str, Frame] = {}
        self.limit = limit
        self.max_bytes = max_bytes
        self._full_bytes = self._simple_bytes = 0

    def full(self, text: str) -> Frame | None:
        frame = self.full_frames.get(text)
        if frame is None:
            frame = parse_full_frame(text)
            if frame is not None and is_clean(text):
                size = _entry_bytes(text, frame)
                if len(self.full_frames) >= self.limit or self._full_bytes + size > self.max_bytes // 2:
                    self.full_frames.clear()
                    self.plain_full_frames.clear()
                    self._full_bytes = 0
                self._full_bytes += size
                self.full_frames[text] = frame
                if frame.role == "frame" and frame.symbol is not None:
                    self.plain_full_frames[text] = frame
        return frame

    def simple(self, text: str, bare_ok: bool = False) -> Frame | None:
        frame = self.simple_frames.get(text)
        if frame is None:
            frame = parse_simple_frame(text, bare_ok)
            # bare hex only counts inside a backtrace, so only frames with a symbol are cached
            if frame is not None and frame.symbol is not None and is_clean(text):
                size = _entry_bytes(text, frame)
                if len(self.simple_frames) >= self.limit or self._simple_bytes + size > self.max_bytes // 2:
                    self.simple_frames.clear()
                    self.brief_frames.clear()
                    self._simple_bytes = 0
                self._simple_bytes += size
                self.simple_frames[text] = frame
                if frame.module is None:
                    self.brief_frames[text] = frame
        return frame
