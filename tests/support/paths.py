"""Where things are: the project, the shared stap samples, the provisioned work folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
# Real stap transcripts live beside the project (never copied into it).
SAMPLES = Path(os.environ.get("STAPBENCH_SAMPLES", PROJECT.parent / "shared" / "stap-samples"))
# What .ci/provision builds (nginx, the memlock shim) lives here, outside git.
WORK = Path(os.environ.get("STAPBENCH_WORK", PROJECT / ".work"))
FIXTURES = PROJECT / "tests" / "fixtures"


def sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.glob("*.txt"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared stap samples are not at {SAMPLES} (set STAPBENCH_SAMPLES)")
    return SAMPLES
