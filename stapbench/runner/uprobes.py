"""Uprobes a killed stapbpf left loaded, found and removed.

stapbpf registers each user-space probe point in the kernel's tracing
``uprobe_events`` file as ``p:uprobes/stapprobe_<stapbpf pid>_<n> BIN:OFFSET``
(``r:`` for a return probe) and removes them when it exits normally.  A
stapbpf that dies by SIGKILL (the last step of a stop, a watchdog after the
kernel died, an OOM kill) cannot: its probe points stay in the kernel and
every later run sees them.  An entry whose stapbpf process is gone is stale by
definition; removing one is writing ``-:GROUP/NAME`` to the same file.  Its
perf events closed with the dead process, so the kernel lets it go.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass

from .process import process_status

UPROBE_EVENTS = "/sys/kernel/debug/tracing/uprobe_events"
#: how long the kernel may still call an entry busy after its stapbpf is gone
RELEASE_S = 1.0
_ENTRY = re.compile(r"^[pr]:(?P<group>[^/\s]+)/(?P<name>stapprobe_(?P<pid>\d+)_\d+)\s+(?P<target>\S+)")


@dataclass(frozen=True)
class StapUprobe:
    group: str
    name: str
    pid: int  # the stapbpf that registered it
    target: str  # BIN:OFFSET

    @property
    def removal(self) -> str:
        return f"-:{self.group}/{self.name}"


def _is_stapbpf(pid: int) -> bool:
    """A running stapbpf (a zombie one is gone: its probes are stale)."""
    status = process_status(pid)
    return status is not None and status[0] == "stapbpf" and status[1] != "Z"


def stap_uprobes(events_file: str = UPROBE_EVENTS, *, missing_ok: bool = True) -> list[StapUprobe]:
    """Every probe point stapbpf processes have registered.  If the file can't be read
    (absent; unreadable without root): none, or the OSError unless ``missing_ok``."""
    try:
        with open(events_file, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        if not missing_ok:
            raise
        return []
    out = []
    for line in lines:
        m = _ENTRY.match(line)
        if m is not None:
            out.append(StapUprobe(m["group"], m["name"], int(m["pid"]), m["target"]))
    return out


def stale_stap_uprobes(events_file: str = UPROBE_EVENTS, *, missing_ok: bool = True) -> list[StapUprobe]:
    """The entries whose stapbpf is no longer running."""
    return [u for u in stap_uprobes(events_file, missing_ok=missing_ok) if not _is_stapbpf(u.pid)]


def remove_stale_stap_uprobes(events_file: str = UPROBE_EVENTS, *, busy_for: float = 0.0,
                              poll: float = 0.05) -> tuple[list[StapUprobe], list[str]]:
    """Remove the stale entries: (removed, errors).  Needs write access to the file (root).

    An entry the kernel calls busy (EBUSY) is still in use: its stapbpf is dying, or just
    died and its perf events are still being released, or it runs where this /proc can't
    see it (another PID namespace).  Busy entries are retried for ``busy_for`` seconds
    while their stapbpf is still in /proc, for at most :data:`RELEASE_S` once it is not;
    then they are left alone quietly."""
    removed, errors = [], []
    start = time.monotonic()
    pending = stale_stap_uprobes(events_file)
    while pending:
        busy = []
        for probe in pending:
            try:
                _write_removal(events_file, probe)
                removed.append(probe)
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    errors.append(f"{probe.name}: {exc.strerror or exc}")
                else:
                    dying = process_status(probe.pid) is not None
                    if time.monotonic() - start < (busy_for if dying else min(busy_for, RELEASE_S)):
                        busy.append(probe)
        if not busy:
            break
        time.sleep(poll)
        pending = busy
    return removed, errors


def _write_removal(events_file: str, probe: StapUprobe) -> None:
    # one write(2) per entry, O_APPEND (O_TRUNC would clear every probe on the machine);
    # no buffered file object: its seek to the end fails on tracefs (EINVAL)
    fd = os.open(events_file, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (probe.removal + "\n").encode())
    finally:
        os.close(fd)


def cleanup_note(removed: list[StapUprobe], errors: list[str]) -> str | None:
    """One line on what :func:`remove_stale_stap_uprobes` did, or None when there was nothing."""
    if not removed and not errors:
        return None
    pids = sorted({p.pid for p in removed})
    parts = []
    if removed:
        parts.append(f"removed {len(removed)} uprobe{'s' if len(removed) != 1 else ''} that a killed stapbpf "
                     f"(pid {', '.join(map(str, pids))}) left loaded")
    if errors:
        parts.append(f"could not remove {len(errors)} stale uprobe{'s' if len(errors) != 1 else ''} "
                     f"({'; '.join(errors[:3])}); as root: echo '-:uprobes/NAME' >> {UPROBE_EVENTS}")
    return "; ".join(parts)


__all__ = ["UPROBE_EVENTS", "StapUprobe", "cleanup_note", "remove_stale_stap_uprobes", "stale_stap_uprobes",
           "stap_uprobes"]
