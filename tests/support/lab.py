"""The lab VM for tests: one lab booted per session and shared (``lab``), in a labs folder of
the session's own (``labs_folder``); helpers to find a lab's qemu.

Skips (with the reason) where qemu, debootstrap or the built lab are absent or we are not root;
CI provisions all of them (.ci/provision builds the lab), so nothing skips there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from stapbench.lab import Lab, is_built, lab_dir


def lab_unavailable() -> str | None:
    """Why the lab can't run here, or None."""
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86"), ("debootstrap", "debootstrap")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt-get install {package})"
    if os.geteuid() != 0:
        return "the lab's chroot and mount namespace need root"
    if not is_built():
        return f"the lab is not built in {lab_dir()} (stapbench lab build)"
    return None


def qemu_pids(state_dir: Path) -> list[int]:
    """``pgrep -x qemu-system-x86`` narrowed to the qemu of one lab (others may run here)."""
    done = subprocess.run(["pgrep", "-x", "qemu-system-x86"], capture_output=True, text=True)
    pids = []
    for word in done.stdout.split():
        try:
            cmdline = Path(f"/proc/{word}/cmdline").read_bytes()
        except OSError:
            continue
        if str(state_dir).encode() + b"/" in cmdline:
            pids.append(int(word))
    return pids


def wait_until(predicate, seconds: float, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` passed; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def wait_no_qemu(state_dir: Path, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while qemu_pids(state_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    return qemu_pids(state_dir)


@pytest.fixture(scope="session")
def labs_folder(tmp_path_factory):
    folder = Path(tmp_path_factory.mktemp("labs"))
    old = os.environ.get("STAPBENCH_LABS_DIR")
    os.environ["STAPBENCH_LABS_DIR"] = str(folder)
    yield folder
    for lab in Lab.all():
        lab.down()
    if old is None:
        os.environ.pop("STAPBENCH_LABS_DIR", None)
    else:
        os.environ["STAPBENCH_LABS_DIR"] = old
    assert not qemu_pids(folder)


@pytest.fixture(scope="session")
def lab(labs_folder):
    if lab_unavailable():
        pytest.skip(lab_unavailable())
    booted = Lab("t-main").up(progress=print, owned=True)
    yield booted
    booted.down()


