"""The privileged side of a ``--sudo`` run: stap's parent, as root.

A user who is not root can neither signal root's stap nor write ``uprobe_events``,
so neither the runner nor its watchdog could stop such a stap or remove what a
killed stapbpf left loaded.  ``sudo`` therefore starts this module, which runs stap
as its child in a session of its own and, as root:

* says ``TOKEN started`` on stdout at once, so the runner knows sudo took the password;
* passes the runner's stop requests on (sudo relays the signals it gets): SIGINT to
  stap alone (its end probes run), SIGTERM to stap's group (SIGKILL after the term
  grace), SIGQUIT: SIGKILL to stap's group at once;
* stops stap (SIGINT, SIGTERM, SIGKILL) when its parent or the runner's process goes away;
* once stap ended, whatever the cause: ends what stap left in its session, waits until
  it is gone, removes stale stap uprobes, and says so on stderr as ``TOKEN note TEXT``
  lines (the runner makes them run notes, not stap output);
* exits as stap did (the same status, or the same signal), which sudo passes on.

Started as ``python -c ENTRY IMPORT_PATH --token T --watch PID --grace G --term-grace T
[--setenv NAME=VALUE]... -- STAP_ARGV...`` (sudo resets the environment, so the import
path is named and stap's environment additions are options, never a shell).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from .process import is_alive, session_members, stop_group, wait_group_gone
from .uprobes import cleanup_note, remove_stale_stap_uprobes

# sudo resets PYTHONPATH: the runner's import path comes first on the command line
ENTRY = ("import os, sys; sys.path[:0] = sys.argv[1].split(os.pathsep); "
         "from stapbench.runner.supervisor import main; sys.exit(main(sys.argv[2:]))")
#: how often the parent and the runner are checked for being alive
WATCH_S = 0.2
#: after stap ended: how long what it left may take to be gone, and its uprobes to be free
GONE_S = 5.0


def import_path() -> str:
    """The folders this Python imports from (stapbench and pexpect among them), for root's."""
    return os.pathsep.join(p for p in sys.path if os.path.isabs(p) and os.path.isdir(p))


def supervisor_argv(python: str, import_path: str, *, token: str, watch_pid: int, grace: float,
                    term_grace: float, env_add: dict[str, str], stap_argv: list[str]) -> list[str]:
    argv = [python, "-c", ENTRY, import_path, "--token", token, "--watch", str(watch_pid),
            "--grace", repr(grace), "--term-grace", repr(term_grace)]
    for name, value in env_add.items():
        argv += ["--setenv", f"{name}={value}"]
    return argv + ["--", *stap_argv]


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.stap: subprocess.Popen | None = None
        self.parent = os.getppid()
        self._stopping = threading.Lock()

    def run(self) -> int:
        args = self.args
        env = dict(os.environ)
        env.update(dict(item.split("=", 1) for item in args.setenv))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.stap = subprocess.Popen(args.stap_argv, env=env, start_new_session=True)
        self._say("started", stream=sys.stdout)
        threading.Thread(target=self._watch, daemon=True).start()
        while True:
            try:
                status = self.stap.wait()
                break
            except InterruptedError:
                continue
        self._clean_up()
        return status

    def _on_signal(self, signum, frame) -> None:
        pid = self.stap.pid
        if signum == signal.SIGINT:
            _send(pid, signal.SIGINT, group=False)
        elif signum == signal.SIGTERM:
            _send(pid, signal.SIGTERM, group=True)
            timer = threading.Timer(self.args.term_grace, _send, (pid, signal.SIGKILL, True))
            timer.daemon = True
            timer.start()
        elif signum == signal.SIGQUIT:
            _send(pid, signal.SIGKILL, group=True)
        else:  # SIGHUP: the terminal went away with the runner
            self._stop_in_background()

    def _watch(self) -> None:
        while self.stap.poll() is None:
            if os.getppid() != self.parent or not is_alive(self.args.watch):
                self._stop_in_background()
                return
            time.sleep(WATCH_S)

    def _stop_in_background(self) -> None:
        if self._stopping.acquire(blocking=False):
            threading.Thread(target=stop_group, args=(self.stap.pid,), daemon=True,
                             kwargs={"grace": self.args.grace, "term_grace": self.args.term_grace}).start()

    def _clean_up(self) -> None:
        sid = self.stap.pid
        if session_members(sid):  # a -c target, a stapbpf: stap's session ends with stap
            stop_group(sid, grace=0.0, term_grace=self.args.term_grace, is_done=lambda: True)
        wait_group_gone(sid, GONE_S)
        note = cleanup_note(*remove_stale_stap_uprobes(busy_for=GONE_S))
        if note:
            self._say(f"note {note}", stream=sys.stderr)

    def _say(self, text: str, stream) -> None:
        try:
            stream.write(f"{self.args.token} {text}\n")
            stream.flush()
        except OSError:  # the runner is gone: nobody to tell
            pass


def _send(pid: int, sig: int, group: bool) -> None:
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stapbench.runner.supervisor")
    parser.add_argument("--token", required=True)
    parser.add_argument("--watch", type=int, required=True, help="the runner's pid")
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--term-grace", type=float, default=2.0)
    parser.add_argument("--setenv", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("stap_argv", nargs="+")
    status = Supervisor(parser.parse_args(argv)).run()
    if status < 0:  # die of the same signal, so sudo and the runner see what ended stap
        if -status not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status
