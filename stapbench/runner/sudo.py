"""Running stap through sudo for a user who is not root.

sudo runs :mod:`~stapbench.runner.supervisor` (root's side of the run: stap's
parent, its stop and its clean-up), which takes what stap needs from the
environment (the memlock shim's LD_PRELOAD) as options: sudo resets the
environment; still an argv, no shell.  sudo is told to prompt with a unique
string (``-p``) so the prompt is recognised on the pty for sure and never
mistaken for stap output; the supervisor's ``started`` line says sudo took the
password, and a second prompt that it did not (the run fails at once).

The password comes from ``RunOptions.sudo_password`` or a masked
``getpass`` prompt (in a notebook, ipykernel's password field), is written
to the pty once and dropped.  It is never logged: pexpect's logfile stays
unset, the pty's echo is off, and the prompt is consumed before the
transcript starts recording.
"""

from __future__ import annotations

import getpass
import os
import secrets
import subprocess

import pexpect

#: sudo -p expands %-escapes; the token keeps it unique to this run
PROMPT_TEMPLATE = "[stapbench {token}] sudo password for %p: "


class SudoError(RuntimeError):
    pass


def needs_password(sudo: str = "sudo") -> bool:
    """False if ``sudo -n`` runs without asking (NOPASSWD, cached credentials)."""
    try:
        return subprocess.run([sudo, "-n", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=10).returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        return True


def sudo_argv(sudo: str, command: list[str], *, prompt: str | None) -> list[str]:
    argv = [sudo]
    if prompt is None:
        argv.append("-n")  # never block on a prompt nobody answers
    else:
        argv += ["-k", "-p", prompt]  # -k: always ask, so the prompt comes for sure
    return argv + ["--", *command]


def new_prompt() -> tuple[str, bytes]:
    """The ``-p`` argument and the bytes sudo prints for it (``%p`` expanded)."""
    token = secrets.token_hex(6)
    return PROMPT_TEMPLATE.format(token=token), f"[stapbench {token}] sudo password for ".encode()


def await_start(child: pexpect.spawn, started: bytes, prompt_start: bytes | None, password: str | None, *,
                timeout: float = 30.0) -> None:
    """Answer sudo's prompt (if ``prompt_start``), then wait for the command's ``started`` line.

    Raises :class:`SudoError` at once when sudo asks again (a wrong password), exits,
    or neither prompts nor starts the command in time.
    """
    if prompt_start is not None:
        _expect(child, [prompt_start], timeout, "ask for a password")
        _expect(child, [b": "], 5, "finish its prompt")
        if password is None:
            password = getpass.getpass("sudo password (for stap): ")
        child.send(password.encode() + b"\n")
        password = None  # noqa: F841 - drop our reference at once
    if _expect(child, [started, prompt_start or started], timeout, "start stap") == 1:
        raise SudoError("the sudo password was not accepted (sudo asked for it again)")
    try:
        child.expect([rb"\r?\n"], timeout=5)  # the end of the started line
    except (pexpect.EOF, pexpect.TIMEOUT):
        pass


def _expect(child: pexpect.spawn, patterns: list[bytes], timeout: float, what: str) -> int:
    try:
        return child.expect_exact(patterns, timeout=timeout)
    except pexpect.EOF:
        raise SudoError(f"sudo exited before it could {what}: " + _tail(child)) from None
    except pexpect.TIMEOUT:
        raise SudoError(f"sudo did not {what} within {timeout:g} s") from None


def _tail(child: pexpect.spawn) -> str:
    data = child.before if isinstance(child.before, bytes) else b""
    return data[-300:].decode("utf-8", "replace").strip() or "(no output)"


def is_root() -> bool:
    return os.geteuid() == 0
