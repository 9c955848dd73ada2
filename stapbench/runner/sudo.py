"""Running stap through sudo for a user who is not root.

sudo resets the environment, so what stap needs from it (the memlock shim's
LD_PRELOAD) is passed through ``env NAME=VALUE`` after ``--``: still an argv,
no shell.  sudo is told to prompt with a unique string (``-p``) so the prompt
is recognised on the pty for sure and never mistaken for stap output.

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


def sudo_argv(sudo: str, stap_argv: list[str], env_add: dict[str, str], *, prompt: str | None) -> list[str]:
    argv = [sudo]
    if prompt is None:
        argv.append("-n")  # never block on a prompt nobody answers
    else:
        argv += ["-k", "-p", prompt]  # -k: always ask, so the prompt comes for sure
    argv.append("--")
    if env_add:
        argv += ["env", *(f"{k}={v}" for k, v in env_add.items())]
    return argv + stap_argv


def new_prompt() -> tuple[str, bytes]:
    """The ``-p`` argument and the bytes sudo prints for it (``%p`` expanded)."""
    token = secrets.token_hex(6)
    return PROMPT_TEMPLATE.format(token=token), f"[stapbench {token}] sudo password for ".encode()


def answer_prompt(child: pexpect.spawn, prompt_start: bytes, password: str | None, *, timeout: float = 30.0) -> None:
    """Wait for sudo's prompt on the pty and answer it.

    Raises :class:`SudoError` if sudo exits or does not prompt in time.
    """
    try:
        child.expect_exact([prompt_start], timeout=timeout)
        child.expect_exact([b": "], timeout=5)
    except pexpect.EOF:
        raise SudoError("sudo exited before asking for a password: " + _tail(child)) from None
    except pexpect.TIMEOUT:
        raise SudoError(f"sudo did not ask for a password within {timeout:g} s") from None
    if password is None:
        password = getpass.getpass("sudo password (for stap): ")
    child.send(password.encode() + b"\n")
    password = None  # noqa: F841 - drop our reference at once
    try:
        # sudo answers a no-echo read with a bare newline; it is not stap output
        child.expect([rb"\r?\n"], timeout=5)
    except (pexpect.EOF, pexpect.TIMEOUT):
        pass


def _tail(child: pexpect.spawn) -> str:
    data = child.before if isinstance(child.before, bytes) else b""
    return data[-300:].decode("utf-8", "replace").strip() or "(no output)"


def is_root() -> bool:
    return os.geteuid() == 0
