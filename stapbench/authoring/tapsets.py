"""The functions the installed tapsets define (``/usr/share/systemtap/tapset``), for completion.

Read once per process from the tapset sources (their ``function NAME:type (args)`` lines);
private and ``_``-prefixed helpers are left out.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

TAPSET_DIRS = ("/usr/share/systemtap/tapset",)
_FUNCTION = re.compile(r"^[ \t]*function[ \t]+([A-Za-z][\w]*)[ \t]*(?::[ \t]*(\w+))?[ \t]*\(([^)]*)\)", re.M)


def tapset_dirs() -> list[Path]:
    extra = os.environ.get("SYSTEMTAP_TAPSET")
    return [Path(d) for d in ((extra,) if extra else ()) + TAPSET_DIRS if Path(d).is_dir()]


@lru_cache(maxsize=1)
def tapset_functions() -> dict[str, str]:
    """Function name -> its signature as written (``execname:string ()``)."""
    found: dict[str, str] = {}
    for root in tapset_dirs():
        for path in sorted(root.rglob("*.stp")):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for m in _FUNCTION.finditer(text):
                name, type_, args = m.group(1), m.group(2), " ".join(m.group(3).split())
                found.setdefault(name, f"{name}{':' + type_ if type_ else ''}({args})")
    return found
