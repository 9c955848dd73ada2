"""``stap -L PATTERN``: probe points, their source file:line and ``$parameters:types``.

The first step of every investigation.  stap answers a pattern that matches
nothing with an empty stdout and exit status 1 (the ``no match`` error is
silent in listing mode), which leaves the user guessing; so for a
``process("BIN").function("NAME")`` or ``kernel.function("NAME")`` pattern
that matches nothing, :func:`list_probes` lists the functions of that module
once and offers the closest names (``difflib``, plus names that contain the
one asked for).

stap runs with an argv list (no shell), with a time limit, in its own
session, and is killed with its whole group if the limit passes.
"""

from __future__ import annotations

import difflib
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field

from ..model import Diagnostic, Listing
from ..parser import parse_bytes

# process("...").function("NAME...") / kernel.function("NAME...") / module("m").function(...)
_FUNCTION_PATTERN = re.compile(r'^(?P<head>.*\.function)\("(?P<name>[^"@]*)(?P<rest>@[^"]*)?"\)(?P<tail>.*)$')
MAX_SUGGESTIONS = 8


@dataclass
class ProbeListing:
    pattern: str
    argv: list[str]
    exit_status: int | None
    listings: list[Listing] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    stderr: str = ""
    suggestions: list[str] = field(default_factory=list)  # probe points close to a pattern that matched nothing
    timed_out: bool = False

    @property
    def matched(self) -> bool:
        return bool(self.listings)


def _run_stap(argv: list[str], timeout: float, env: dict | None) -> tuple[int | None, bytes, bytes, bool]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err, True
    except BaseException:  # KeyboardInterrupt included: never leave stap behind
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def list_probes(pattern: str, *, stap: str = "stap", verbose: bool = False, timeout: float = 120.0,
                suggest: bool = True, env: dict | None = None) -> ProbeListing:
    """``stap -L PATTERN`` (``-vL`` with ``verbose``: one line per derived probe, with its pc)."""
    argv = [stap, "-vL" if verbose else "-L", pattern]
    status, out, err, timed_out = _run_stap(argv, timeout, env)
    events = parse_bytes(out, stream="stdout") + parse_bytes(err, stream="stderr")
    result = ProbeListing(
        pattern=pattern, argv=argv, exit_status=status, timed_out=timed_out,
        listings=[e for e in events if isinstance(e, Listing)],
        diagnostics=[e for e in events if isinstance(e, Diagnostic)],
        stderr=err.decode("utf-8", "replace"),
    )
    if suggest and not result.listings and not timed_out:
        result.suggestions = suggest_probes(pattern, stap=stap, timeout=timeout, env=env)
    return result


def suggest_probes(pattern: str, *, stap: str = "stap", timeout: float = 120.0, env: dict | None = None) -> list[str]:
    """Probe points of the same module whose function names are close to the one in ``pattern``."""
    m = _FUNCTION_PATTERN.match(pattern)
    if m is None or not m.group("name"):
        return []
    wanted = m.group("name")
    everything = f'{m.group("head")}("*"){m.group("tail")}'
    _status, out, _err, timed_out = _run_stap([stap, "-l", everything], timeout, env)
    if timed_out:
        return []
    names = {e.function for e in parse_bytes(out, stream="stdout") if isinstance(e, Listing) and e.function}
    plain = wanted.replace("*", "").replace("?", "")
    close = difflib.get_close_matches(plain, sorted(names), n=MAX_SUGGESTIONS, cutoff=0.6)
    containing = sorted((n for n in names if plain and plain in n and n not in close), key=len)
    head, tail = m.group("head"), m.group("tail")
    return [f'{head}("{n}"){tail}' for n in (close + containing)[:MAX_SUGGESTIONS]]
