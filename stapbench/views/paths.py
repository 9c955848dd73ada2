"""Paths as the views show them: a saved notebook names no folder of the machine it ran on.

A source file found under one of the symbolizer's source roots is shown relative to that root
(``src/http/ngx_http_request.c``), as DWARF names it when it was compiled there; any other path
under the home folder starts with ``~``; the rest is shown as it is (``/usr/lib/...`` says
something, and shortening it further would make two files look alike).  The views keep the full
path only where no one reads it: the ``data-path`` attribute of a source snippet.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable


def _home() -> str | None:
    home = os.path.normpath(os.path.expanduser("~"))
    return home if os.path.isabs(home) and home != os.sep else None


def _under(path: str, folder: str) -> str | None:
    """``path`` relative to ``folder`` when it lies inside it (lexically: no symlink is followed)."""
    folder = os.path.normpath(folder)
    if folder == os.sep or not os.path.isabs(folder):
        return None  # everything is under "/": that says nothing
    prefix = folder + os.sep
    return path[len(prefix):] if path.startswith(prefix) and len(path) > len(prefix) else None


def root_relative(path: object, roots: Iterable[object] = ()) -> str | None:
    """``path`` relative to the innermost source root holding it, or None."""
    p = os.path.normpath(str(path))
    if not os.path.isabs(p):
        return None
    found = [rel for rel in (_under(p, str(root)) for root in roots) if rel is not None]
    return min(found, key=len) if found else None


def shown_path(path: object, roots: Iterable[object] = ()) -> str:
    """The path to show: relative to a source root holding it, else ``~/...`` under the home
    folder, else unchanged (a relative path, as DWARF recorded it, is shown as it is)."""
    text = str(path)
    if not os.path.isabs(text):
        return text
    relative = root_relative(text, roots)
    if relative is not None:
        return relative
    home = _home()
    inside = _under(os.path.normpath(text), home) if home else None
    return f"~{os.sep}{inside}" if inside is not None else text


def tidy_paths(text: str) -> str:
    """Free text (a symbolizer's hint) with each path under the home folder written ``~/...``."""
    home = _home()
    if not home or home not in text:
        return text
    return re.sub(r"(?<![\w.~/-])" + re.escape(home) + r"(?=/)", "~", text)
