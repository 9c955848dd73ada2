"""``stapbench flame``: a flame graph from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_subparser"]

FORMATS = (".html", ".svg", ".folded", ".txt")


def add_subparser(subparsers) -> None:
    p = subparsers.add_parser(
        "flame", help="a flame graph (HTML page or SVG) from folded stacks, stap output or a run folder",
        description="Draw a flame graph from FlameGraph folded stacks, from stap output holding "
                    "backtraces (folded as `stapbench fold` does), or from a recorded run folder. "
                    "OUT.html is an interactive page (click to zoom, search, hover for counts; no network), "
                    "OUT.svg a static image, OUT.folded / OUT.txt the folded stacks.")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|RUN_FOLDER|-")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html|OUT.svg",
                   help="where to write; the extension chooses the format")
    p.add_argument("--title", default=None, help="the graph's title (default: the input's name)")
    p.add_argument("--orientation", choices=("icicle", "flame"), default="icicle",
                   help="icicle: the root on top (default); flame: the root at the bottom")
    p.add_argument("--width", type=int, default=1200, help="SVG width in pixels")
    p.set_defaults(func=run_flame)


def run_flame(args: argparse.Namespace) -> int:
    from ..views.flame import FlameGraph
    from .flame import FlameData

    out = Path(args.output)
    if out.suffix.lower() not in FORMATS:
        print(f"stapbench flame: error: {out}: the output must end in one of {', '.join(FORMATS)}",
              file=sys.stderr)
        return 2
    source = Path(args.file)
    if args.file == "-":
        data = FlameData.from_bytes(sys.stdin.buffer.read())
    elif source.is_dir():
        from ..runner import replay

        data = FlameData.from_run(replay(source))
    else:
        data = FlameData.from_file(source)
    graph = FlameGraph(data, title=args.title if args.title is not None else ("stdin" if args.file == "-" else source.name),
                       orientation=args.orientation)
    suffix = out.suffix.lower()
    if suffix == ".html":
        text = graph.to_page()
    elif suffix == ".svg":
        text = graph.to_svg(width=args.width)
    else:
        text = graph.to_folded()
    out.write_text(text, encoding="utf-8", errors="surrogateescape")
    print(f"stapbench flame: {data.total} samples, {len(data.stacks)} distinct stacks -> {out}", file=sys.stderr)
    return 0
