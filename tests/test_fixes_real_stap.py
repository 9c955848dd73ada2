"""stap's own suggestions, applied to the cell, really fix it: checked by running stap -p2 again."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from stapbench.model import Diagnostic
from stapbench.parser import parse_bytes
from stapbench.views.diagnostics import apply_suggestion

pytestmark = pytest.mark.stap


def check(script: str) -> tuple[int, list[Diagnostic]]:
    """stap -p2 (parse and elaborate only, as %%stap --check does) on a script given with -e."""
    proc = subprocess.run(["stap", "-p2", "-e", script], capture_output=True, timeout=300)
    events = parse_bytes(proc.stderr, stream="stderr")
    return proc.returncode, [e for e in events if isinstance(e, Diagnostic) and e.severity == "error"]


@pytest.fixture(scope="module", autouse=True)
def stap_installed():
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")


@pytest.mark.parametrize("typo, fixed_part", [
    ('probe process("{prog}").function("handle_lef") {{ printf("%d\\n", $r->number) }}', '.function("handle_leaf")'),
    ('probe process("{prog}").function("handle_leaf") {{ printf("%d\\n", $r->numbr) }}', "$r->number"),
    ('probe process("{prog}").function("handle_leaf") {{ printf("%s\\n", execnam()) }}', "execname()"),
])
def test_first_suggestion_fixes_the_cell(demo_program, typo, fixed_part):
    script = typo.format(prog=demo_program)
    status, errors = check(script)
    assert status != 0
    diag = next(d for d in errors if d.similar)
    assert diag.line == 1 and diag.column is not None
    fixed = next(f for f in (apply_suggestion(script, diag, s) for s in diag.similar) if f and fixed_part in f)
    assert fixed != script
    status, errors = check(fixed)
    assert status == 0, errors
