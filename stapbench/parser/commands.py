"""The parser's subcommands: ``stapbench parse`` and ``stapbench fold``."""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO

from .streams import STREAMS

# the parser, the model and the folder are imported by the command that needs them:
# a whole `stapbench fold` process is timed against a Perl script (benchmarks/bench_cli.py)

__all__ = ["add_subparser", "summarize_event"]

CHUNK = 1 << 16


def add_subparser(subparsers) -> None:
    p = subparsers.add_parser(
        "parse", help="parse stap output into events",
        description="Parse stap output (a transcript file, or - for stdin) into events: a readable "
                    "one-line summary per event, or JSON Lines with --json.")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    p.add_argument("--json", action="store_true", help="print one JSON object per event (JSON Lines)")
    p.add_argument("--stream", choices=STREAMS, default="merged",
                   help="what the input is: stap's merged stdout+stderr (default), or one of them")
    p.set_defaults(func=run_parse)

    f = subparsers.add_parser(
        "fold", help="FlameGraph folded stacks (like stackcollapse-stap.pl)",
        description="Collapse stacks, each followed by a line holding only its count, into "
                    "FlameGraph's folded format: root;...;leaf COUNT.")
    f.add_argument("file", nargs="?", default="-", metavar="FILE|-")
    f.set_defaults(func=run_fold)


def open_input(name: str) -> BinaryIO:
    """stdin for ``-``; otherwise the file, raising OSError with a clear message."""
    if name == "-":
        return sys.stdin.buffer
    return open(name, "rb")


def run_parse(args: argparse.Namespace) -> int:
    from ..gcpause import gc_paused
    from ..model.serialize import json_lines
    from .stream import StreamParser

    parser = StreamParser(args.stream)
    render = json_lines if args.json else _summary_lines
    out = sys.stdout
    # the collector would rescan the growing heap of each chunk's events (they form no cycles:
    # reference counting frees them); paused for the command, as the parser pauses it per chunk
    with gc_paused(), _input(args.file) as stream:
        while True:
            chunk = stream.read1(CHUNK) if hasattr(stream, "read1") else stream.read(CHUNK)
            if not chunk:
                break
            _write(out, parser.feed(chunk), render)
    _write(out, parser.close(), render)
    return 0


def run_fold(args: argparse.Namespace) -> int:
    from .fold import fold_stream

    with _input(args.file) as stream:
        folded = fold_stream(stream)
    sys.stdout.buffer.write(folded)
    sys.stdout.buffer.flush()
    return 0


class _input:
    """Context manager that leaves stdin open."""

    def __init__(self, name: str):
        self.name = name
        self.stream = open_input(name)

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc) -> None:
        if self.name != "-":
            self.stream.close()


def _write(out, events: list, render) -> None:
    if events:
        out.buffer.write(render(events))
        out.buffer.flush()  # events as soon as they are complete, for a live pipe


def _summary_lines(events: list) -> bytes:
    return "".join(summarize_event(e) + "\n" for e in events).encode("utf-8", "surrogateescape")


def _clip(text: str, width: int = 100) -> str:
    """Escape control characters and undecodable bytes; cut long text."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                       for ch in text)
    return text if len(text) <= width else text[: width - 3] + "..."


def summarize_event(event) -> str:
    """One readable line per event (``stapbench parse`` without ``--json``)."""
    from ..model import Backtrace, Diagnostic, Listing, PassLine, StructDump, Summary, TextLine, VarsDump

    if isinstance(event, TextLine):
        return f"text       {_clip(event.text)}"
    if isinstance(event, Backtrace):
        if event.note is not None:
            return f"backtrace  {_clip(event.note)}"
        names = [f.symbol or (f"[{f.module}]" if f.module else (hex(f.address) if f.address is not None else "?"))
                 for f in event.frames]
        return f"backtrace  {event.style}, {len(event.frames)} frames: {_clip(' <- '.join(names))}"
    if isinstance(event, StructDump):
        cut = " (truncated)" if event.truncated else ""
        return f"struct     {_clip(event.prefix)}{{{len(event.value.members)} members}}{cut}"
    if isinstance(event, VarsDump):
        cut = " (truncated)" if event.truncated else ""
        return f"vars       {_clip(event.prefix)}{' '.join(m.name for m in event.value)}{cut}"
    if isinstance(event, Diagnostic):
        where = ""
        if event.file is not None or event.line is not None:
            where = f" at {event.file or ''}:{event.line or ''}:{event.column or ''}"
        similar = ""
        if event.similar and event.similar[0] not in event.message:
            similar = f" (similar: {', '.join(event.similar)})"
        return f"{event.severity:<10} {event.kind}: {_clip(event.message)}{where}{similar}"
    if isinstance(event, PassLine):
        return f"pass {event.number}     {_clip(event.text)}"
    if isinstance(event, Summary):
        parts = []
        if event.errors is not None:
            parts.append(f"errors={event.errors} skipped={event.skipped}")
        parts.extend(f"{k}={v}" for k, v in event.skipped_reasons.items())
        if event.staprun_status is not None:
            parts.append(f"staprun status={event.staprun_status}")
        return f"summary    {' '.join(parts)}"
    if isinstance(event, Listing):
        where = f" @ {event.file}:{event.line}" if event.file else ""
        params = " ".join(f"{p.name}:{p.type}" for p in event.params)
        return f"listing    {event.probe}{where} {params}".rstrip()
    return f"{event.type:<10} {_clip(event.raw)}"
