"""``sudo_user``: a throwaway non-root account with password sudo, to run stapbench as.

Created per test (useradd, a random password set with chpasswd, a sudoers.d entry)
and removed afterwards with its processes, home and sudoers entry.  Skips with the
reason where that can't be done: not root, no sudo/useradd/runuser, or no Python
the account can run with stapbench's dependencies."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .paths import PROJECT


@dataclass(frozen=True)
class SudoUser:
    name: str
    password: str
    python: str
    pythonpath: str
    home: Path  # a folder the account owns, readable by root
    uid: int

    def argv(self, *command: str, password: str | None = None) -> list[str]:
        """``command`` (after the Python) run as this account, with stapbench importable."""
        return ["runuser", "-u", self.name, "--", "env", f"PYTHONPATH={self.pythonpath}",
                f"STAPBENCH_TEST_SUDO_PASSWORD={password or self.password}", f"HOME={self.home}", self.python,
                *command]

    def processes(self) -> list[int]:
        done = subprocess.run(["pgrep", "-u", str(self.uid)], capture_output=True, text=True)
        return [int(p) for p in done.stdout.split()]


def _runnable_python(name: str, pythonpath: str) -> str | None:
    """A Python this account can execute that imports stapbench's runner (the venv's may sit
    under /root, which the account can't enter)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{version}", shutil.which(version)):
        if not python:
            continue
        done = subprocess.run(["runuser", "-u", name, "--", "env", f"PYTHONPATH={pythonpath}", python, "-c",
                               "import stapbench.runner.run"], capture_output=True, timeout=60)
        if done.returncode == 0:
            return python
    return None


@pytest.fixture
def sudo_user():
    if os.geteuid() != 0:
        pytest.skip("creating a test account needs root")
    for tool in ("sudo", "useradd", "userdel", "chpasswd", "runuser", "pgrep"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install sudo passwd util-linux procps)")
    name = f"sbt{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    sudoers = Path("/etc/sudoers.d") / f"stapbench-test-{name}"
    home = Path(tempfile.mkdtemp(prefix="stapbench-sudo-"))
    home.chmod(0o755)
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name], check=True)
    try:
        shutil.chown(home, name)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        sudoers.parent.mkdir(exist_ok=True)
        sudoers.write_text(f"{name} ALL=(ALL:ALL) ALL\n")
        sudoers.chmod(0o440)
        pythonpath = os.pathsep.join([str(PROJECT), sysconfig.get_paths()["purelib"]])
        python = _runnable_python(name, pythonpath)
        if python is None:
            pytest.skip(f"no Python that {name} can run imports stapbench (the venv's is unreadable to it)")
        yield SudoUser(name, password, python, pythonpath, home, int(subprocess.check_output(["id", "-u", name])))
    finally:
        sudoers.unlink(missing_ok=True)
        left = subprocess.run(["pgrep", "-u", name], capture_output=True, text=True).stdout.split()
        for pid in left:  # what the test started as the account (by pid, after the test's checks)
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        # userdel refuses while a process of the account exists (a watchdog finishing, a zombie not reaped yet)
        deadline = time.monotonic() + 20
        while subprocess.run(["userdel", name], capture_output=True).returncode not in (0, 6):  # 6: no such user
            if time.monotonic() > deadline:
                left = subprocess.run(["pgrep", "-a", "-u", name], capture_output=True, text=True).stdout
                raise RuntimeError(f"test account {name} could not be removed; its processes: {left}")
            time.sleep(0.2)
        shutil.rmtree(home, ignore_errors=True)
