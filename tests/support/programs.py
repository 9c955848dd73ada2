"""Test programs built with ``gcc -g -O0`` once per session."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .paths import PROJECT

PROGRAMS = PROJECT / "tests" / "programs"


def build_program(name: str, out_dir: Path, *extra_flags: str) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (gcc) on this machine")
    out = out_dir / name
    subprocess.run([cc, "-g", "-O0", *extra_flags, "-o", str(out), str(PROGRAMS / f"{name}.c")], check=True)
    return out


@pytest.fixture(scope="session")
def demo_program(tmp_path_factory) -> Path:
    """tests/programs/demo.c built with debuginfo: ``demo [COUNT [DELAY_MS [URI]]]``."""
    return build_program("demo", tmp_path_factory.mktemp("programs"))


@pytest.fixture(scope="session")
def demo_program_stripped(tmp_path_factory, demo_program) -> Path:
    """The same program with its debuginfo stripped (for missing-debuginfo paths)."""
    out = tmp_path_factory.mktemp("stripped") / "demo"
    subprocess.run(["strip", "--strip-debug", "-o", str(out), str(demo_program)], check=True)
    return out
