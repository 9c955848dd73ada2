"""Starting stap under a pty through pexpect, and stopping a process group.

Why a pty for stdout: stap (and stapbpf/staprun) line-buffer their output only
on a terminal; through a pipe a probe's printf would arrive in 4 KiB lumps.
The pty's ONLCR and ECHO are switched off in the child before exec so the
bytes we read are exactly the bytes stap wrote.  stderr goes to a separate
pipe (dup2'ed onto fd 2 in the child) so stap's own messages never mix with
probe output: a probe's ``printf("ERROR: ...")`` stays on stdout.

pty.fork() makes the child a session leader, so stap, stapbpf/staprun/stapio
and a ``-c`` target share one process group whose id is stap's pid; that group
is what :func:`stop_group` signals.  When this process dies, the pty master
closes and the kernel hangs up the terminal, sending SIGHUP to that group: a
second line of defence behind the watchdog (see watchdog.py).
"""

from __future__ import annotations

import os
import signal
import termios
import time
from dataclasses import dataclass

import pexpect
import ptyprocess


class _PtySpawn(pexpect.spawn):
    """pexpect.spawn that keeps chosen fds open in the child.

    ptyprocess closes every fd above 2 *before* calling preexec_fn, so the
    stderr pipe must be named in ``pass_fds`` to survive until preexec_fn
    dup2()s it onto fd 2; pexpect.spawn does not expose that argument.
    """

    def __init__(self, *args, pass_fds=(), **kwargs):
        self._pass_fds = tuple(pass_fds)
        super().__init__(*args, **kwargs)

    def _spawnpty(self, args, **kwargs):
        return ptyprocess.PtyProcess.spawn(args, pass_fds=self._pass_fds, **kwargs)


def _child_setup(stderr_fd: int):
    """Runs in the child between fork and exec (must not allocate much or raise lightly)."""

    def setup():
        attrs = termios.tcgetattr(0)
        attrs[1] &= ~termios.ONLCR  # oflag: no \n -> \r\n, the transcript stays byte-exact
        attrs[3] &= ~(termios.ECHO | termios.ECHONL)  # lflag: nothing we send comes back
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        os.dup2(stderr_fd, 2)
        os.close(stderr_fd)
        # Python ignores SIGPIPE and a kernel may ignore SIGINT; ignored signals
        # survive exec, and stap must react to both like a program run from a shell.
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)

    return setup


@dataclass
class StapProcess:
    """A started stap: the pexpect child (stdout on its pty) and the stderr pipe."""

    child: pexpect.spawn
    stderr_fd: int

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def stdout_fd(self) -> int:
        return self.child.child_fd


def spawn_stap(argv: list[str], env: dict[str, str], cwd: str | None = None) -> StapProcess:
    """Start ``argv`` (no shell) on a fresh pty; stderr on a pipe."""
    err_r, err_w = os.pipe()
    try:
        child = _PtySpawn(
            argv[0], argv[1:], env=env, cwd=cwd, echo=False, timeout=None,
            preexec_fn=_child_setup(err_w), pass_fds=(err_w,), dimensions=(24, 500),
        )
    except BaseException:
        os.close(err_r)
        raise
    finally:
        os.close(err_w)
    return StapProcess(child=child, stderr_fd=err_r)


# --- process groups --------------------------------------------------------------------


def process_status(pid: int) -> tuple[str, str] | None:
    """(command name, state letter) of a process from /proc, or None if there is none.
    State ``Z``: a zombie, dead but not yet reaped (where PID 1 does not reap, forever)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    close = stat.rfind(b")")
    return (stat[stat.find(b"(") + 1:close].decode(errors="replace"),
            stat[close + 2:close + 3].decode(errors="replace"))


def is_alive(pid: int) -> bool:
    """True if ``pid`` is a process that has not died (a zombie has)."""
    status = process_status(pid)
    return status is not None and status[1] != "Z"


def _live_processes():
    """(pid, comm, fields after comm) of every non-zombie process, from /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        close = stat.rfind(b")")
        rest = stat[close + 2:].split()  # state ppid pgrp session ...
        if len(rest) >= 4 and rest[0] != b"Z":
            yield int(entry), stat[stat.find(b"(") + 1:close].decode(errors="replace"), rest


def live_processes_named(*names: str) -> list[tuple[int, str]]:
    """(pid, command name) of live processes whose name is one of ``names`` (zombies left out)."""
    return [(pid, comm) for pid, comm, _rest in _live_processes() if comm in names]


def group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid``.

    Zombies are left out: a dead stap whose parent has gone may linger as a
    zombie where PID 1 does not reap, and it holds nothing.
    """
    return [pid for pid, _comm, rest in _live_processes() if int(rest[2]) == pgid]


def session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, command name) of live processes in session ``sid`` (stap's pid:
    pty.fork() made stap a session leader, and all it starts stays in it)."""
    return [(pid, comm) for pid, comm, rest in _live_processes() if int(rest[3]) == sid]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False if nothing could be signalled."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_group_gone(pgid: int, timeout: float, is_done=None, poll: float = 0.05) -> bool:
    """Wait until the group has no live member (or ``is_done()`` says so)."""
    deadline = time.monotonic() + timeout
    while True:
        if (is_done is not None and is_done()) or not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def stop_group(pgid: int, *, grace: float, term_grace: float, is_done=None, log=None, sent=None) -> str:
    """Stop a stap process group the polite way, then harder.

    1. SIGINT to stap itself (the group leader): stap runs the end probes,
       prints what it holds and tears its runtime down.  Only the leader: a
       terminal's Ctrl-C would also hit stapbpf and the ``-c`` target, which
       turns a clean stop into ``Pass 5: run failed``.
    2. After ``grace`` s, SIGTERM to the whole group; after ``term_grace`` s,
       SIGKILL to the whole group.
    3. When stap is gone, whatever it left in the group (a ``-c`` target)
       gets SIGTERM, then SIGKILL.

    Returns the last signal needed: ``"SIGINT"``, ``"SIGTERM"`` or ``"SIGKILL"``;
    ``sent(name)`` is called for each signal that reached a process.
    """
    note = log or (lambda msg: None)

    def send(sig, to_group: bool) -> None:
        try:
            (os.killpg if to_group else os.kill)(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sent is not None:
            sent(sig.name)

    send(signal.SIGINT, to_group=False)
    leader_done = is_done or (lambda: pgid not in group_members(pgid))
    if _wait(leader_done, grace):
        if wait_group_gone(pgid, 0.2):
            return "SIGINT"
        note("stap stopped; ending what it left in its process group (SIGTERM)")
    else:
        note(f"stap did not stop {grace:g} s after SIGINT; sending SIGTERM to its process group")
    send(signal.SIGTERM, to_group=True)
    if wait_group_gone(pgid, term_grace):
        return "SIGTERM"
    note(f"still running {term_grace:g} s after SIGTERM; sending SIGKILL")
    send(signal.SIGKILL, to_group=True)
    wait_group_gone(pgid, 2.0)
    return "SIGKILL"


def _wait(predicate, timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
