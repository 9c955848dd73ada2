"""``stapbench probes BIN|PID [PATTERN] [--json]``: what can be probed, closest to PATTERN first."""

from __future__ import annotations

import json
import sys


def add_subparser(subparsers) -> None:
    p = subparsers.add_parser("probes", help="list a binary's (or a process's) functions and SDT markers",
                              description="Functions (with source file:line and $params:types) and SDT markers "
                                          "of BIN, or of a running PID's executable and mapped libraries, from "
                                          "stap -L, cached per build-id; closest to PATTERN first.")
    p.add_argument("target", metavar="BIN|PID")
    p.add_argument("pattern", nargs="?", default="", metavar="PATTERN")
    p.add_argument("--json", action="store_true", help="one JSON object per probe point")
    p.add_argument("--limit", type=int, default=None, help="at most N results")
    p.add_argument("--stap", default="stap", help="the stap program")
    p.set_defaults(func=_probes)


def _probes(args) -> int:
    from .catalog import CatalogCache
    from .probes import catalogs_for, search, where

    catalogs, _pid = catalogs_for(args.target, CatalogCache(stap=args.stap))
    for catalog in catalogs:
        if catalog.problem:
            print(f"stapbench probes: {catalog.binary}: {catalog.problem}", file=sys.stderr)
    matches = search(catalogs, args.pattern, args.limit)
    out = sys.stdout
    for m in matches:
        if args.json:
            out.write(json.dumps(m.to_json()) + "\n")
        else:
            params = " ".join(f"{n}:{t}" for n, t in m.entry.params)
            lib = "" if len(catalogs) == 1 else f"  [{m.binary}]"
            out.write(f"{m.entry.name}  {where(m.entry)}  {params}{lib}\n".replace("  \n", "\n"))
    return 0 if matches else 1
