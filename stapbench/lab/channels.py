"""The host ends of the guest's sockets: QMP (qemu's control), the guest agent (lab exec), stapsh.

QMP and the guest agent both speak JSON objects, one per line, over a unix socket.  A qemu chardev
socket serves one client at a time, so callers hold :func:`channel_lock` while talking.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import random
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import LabError

__all__ = ["JsonChannel", "qmp_quit", "agent_exec", "stapsh_hello", "channel_lock", "take_stapsh_turn", "agent_write_file"]


@contextmanager
def channel_lock(path: Path):
    """An exclusive lock (across processes) on one of the lab's sockets."""
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class JsonChannel:
    """One connection to a JSON-lines unix socket."""

    def __init__(self, path: Path, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except OSError as exc:
            self.sock.close()
            raise LabError(f"cannot connect to {path}: {exc.strerror or exc}") from None
        self._buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def receive(self, deadline: float) -> dict:
        while True:
            line, sep, rest = self._buffer.partition(b"\n")
            if sep:
                self._buffer = rest
                try:
                    value = json.loads(line.strip(b"\xff \r").decode("utf-8", "replace"))
                except ValueError:
                    continue  # a stale or partial line from a previous client
                if isinstance(value, dict):
                    return value
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no reply") from None
            if not chunk:
                raise LabError("the channel closed")
            self._buffer += chunk

    def call(self, command: str, arguments: dict | None = None, timeout: float = 10.0) -> object:
        """Send a command and return its ``return`` value (events and stale replies skipped)."""
        message: dict = {"execute": command}
        if arguments is not None:
            message["arguments"] = arguments
        self.send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(deadline)
            if "error" in reply:
                error = reply["error"]
                raise LabError(f"{command}: {error.get('desc', error) if isinstance(error, dict) else error}")
            if "return" in reply:
                return reply["return"]


def qmp_quit(path: Path, timeout: float = 3.0) -> bool:
    """Ask qemu to quit now (the guest is disposable: no shutdown inside it)."""
    try:
        with JsonChannel(path, timeout) as qmp:
            deadline = time.monotonic() + timeout
            qmp.receive(deadline)  # the greeting
            qmp.call("qmp_capabilities", timeout=timeout)
            qmp.send({"execute": "quit"})
        return True
    except (LabError, TimeoutError, OSError):
        return False


def _agent_sync(agent: JsonChannel, timeout: float) -> None:
    """guest-sync: skip whatever a previous client left unread."""
    token = random.randrange(1, 2**31)
    agent.send({"execute": "guest-sync", "arguments": {"id": token}})
    deadline = time.monotonic() + timeout
    while True:
        reply = agent.receive(deadline)
        if reply.get("return") == token:
            return


def agent_exec(path: Path, argv: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    """Run ``argv`` in the guest through qemu-guest-agent: (exit status, stdout, stderr).

    The guest kills the command at ``timeout`` (coreutils ``timeout``), so nothing is left running
    there; a signal death is reported as 128 + the signal's number, as a shell would."""
    guarded = ["timeout", "-s", "KILL", f"{timeout:g}", *argv]
    with channel_lock(path), JsonChannel(path, timeout=10) as agent:
        _agent_sync(agent, 10)
        started = agent.call("guest-exec", {"path": guarded[0], "arg": guarded[1:], "capture-output": True})
        pid = started["pid"]
        begun = time.monotonic()
        deadline = time.monotonic() + timeout + 10
        while True:
            status = agent.call("guest-exec-status", {"pid": pid})
            if status.get("exited"):
                break
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(argv, timeout)
            time.sleep(0.05)
    out = base64.b64decode(status.get("out-data", ""))
    err = base64.b64decode(status.get("err-data", ""))
    if "signal" in status:
        code = 128 + int(status["signal"])
    else:
        code = int(status.get("exitcode", 0))
    if code == 128 + 9 and time.monotonic() >= begun + timeout:  # timeout -s KILL killed it
        raise subprocess.TimeoutExpired(argv, timeout, output=out, stderr=err)
    return code, out, err


def agent_write_file(path: Path, guest_path: str, data: bytes) -> None:
    """Write a file in the guest (guest-file-open/write/close: no shell, any bytes)."""
    with channel_lock(path), JsonChannel(path, timeout=10) as agent:
        _agent_sync(agent, 10)
        handle = agent.call("guest-file-open", {"path": guest_path, "mode": "w"})
        try:
            for start in range(0, len(data), 48 * 1024):
                chunk = data[start:start + 48 * 1024]
                agent.call("guest-file-write", {"handle": handle, "buf-b64": base64.b64encode(chunk).decode()})
        finally:
            agent.call("guest-file-close", {"handle": handle})


def stapsh_hello(path: Path, timeout: float = 5.0) -> str:
    """stapsh's handshake (``stap VERSION`` -> ``stapsh VERSION MACHINE RELEASE``); returns the reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        sock.sendall(b"stap 5.1\n")
        data = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in data and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\n", 1)[0].decode("utf-8", "replace")
        if not line.startswith("stapsh "):
            raise LabError(f"stapsh did not answer the handshake (got {line!r})")
        try:
            sock.sendall(b"quit\n")
        except OSError:
            pass
        return line
    except OSError as exc:
        raise LabError(f"stapsh: {exc}") from None
    finally:
        sock.close()


STAPSH_LISTENER = "^/usr/lib/systemtap/stapsh -l "


def _guest_stapsh_pids(agent: Path) -> list[str]:
    code, out, _err = agent_exec(agent, ["pgrep", "-f", STAPSH_LISTENER], timeout=10)
    return out.decode("ascii", "replace").split() if code == 0 else []


def take_stapsh_turn(state_dir: Path, wait: float = 15.0) -> int:
    """Wait for this process's turn on a lab's stapsh; returns the lock's fd, left open and
    inheritable so the command exec'd next (stap) holds the turn until it exits.

    Why: the guest's stapsh serves one client and exits when it leaves, and whatever reaches the
    port while that stapsh is closing is discarded by the guest, so a stap that connects right
    after another one left (or queued behind it) loses its handshake and waits forever.  So runs
    take turns (an flock), and each waits until the guest runs a stapsh other than the one the
    previous run had (its pid is kept in the lock file)."""
    lock_path = Path(state_dir) / "stapsh.sock.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    previous = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    agent = Path(state_dir) / "agent.sock"
    deadline = time.monotonic() + wait
    current: list[str] = []
    while time.monotonic() < deadline:
        try:
            current = _guest_stapsh_pids(agent)
        except (LabError, OSError, TimeoutError, subprocess.TimeoutExpired):
            current = []
        if len(current) == 1 and current[0] != previous:
            break
        time.sleep(0.1)
    if current:
        os.ftruncate(fd, 0)
        os.pwrite(fd, current[0].encode() + b"\n", 0)
    os.set_inheritable(fd, True)
    return fd
