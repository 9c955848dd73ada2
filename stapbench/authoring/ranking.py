"""Closeness of a name to what was typed: the order completions and the probe browser show.

A name starting with the query comes first, then one where the query starts a ``_``-separated
word (``close`` in ``ngx_close_connection``), then one containing it, then one holding its
characters in order (``ngxcc``); shorter names first within each rank.  Case-insensitive.
A query holding ``*`` or ``?`` is a glob, as in stap's own probe points (``ngx_http_*request``):
the names it matches whole, shortest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def closeness(query: str, name: str) -> int | None:
    """0 (best) to 3, or None when ``name`` does not match ``query`` at all."""
    if not query:
        return 0
    q, n = query.lower(), name.lower()
    if "*" in q or "?" in q:
        return 0 if fnmatchcase(n, q) else None
    if n.startswith(q):
        return 0
    at = n.find(q)
    if at > 0 and not n[at - 1].isalnum():
        return 1
    if at > 0:
        return 2
    it = iter(n)
    return 3 if all(c in it for c in q) else None


def rank(query: str, names: Iterable[str], limit: int | None = None, *, keep_order: bool = False) -> list[str]:
    """The names that match, closest first; ``keep_order``: within a rank, the given order
    (a curated list, most used first) instead of the shortest first."""
    scored = []
    for i, name in enumerate(names):
        score = closeness(query, name)
        if score is not None:
            scored.append((score, i if keep_order else len(name), name))
    scored.sort()
    out = [name for _, _, name in scored]
    return out if limit is None else out[:limit]
