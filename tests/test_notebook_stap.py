"""%%stap in a real Jupyter kernel with the real stap: a notebook run with nbclient,
interrupt, and nothing left behind when the kernel is shut down or killed mid-run."""

from __future__ import annotations

import json
import os
import queue
import signal
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from stapbench.runner.process import session_members
from tests.support.paths import PROJECT
from tests.support.stap import assert_no_stale_uprobes, wait_sessions_empty

pytestmark = pytest.mark.stap

NOTEBOOK = PROJECT / "notebooks" / "stap_quickstart.ipynb"


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_quickstart_notebook_runs_with_nbclient(stap_bpf, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_source = {c.source.splitlines()[0]: outputs_text(c) for c in code}
    run_out = next(text for first, text in by_source.items() if first.startswith("%%stap -c"))
    pids = {line.split()[-1] for line in run_out.splitlines() if line.startswith("request ")}
    assert [line.split()[1] for line in run_out.splitlines() if line.startswith("request ")] == ["1", "2", "3", "4", "5"]
    assert len(pids) == 1 and "[stap exited with status 0" in run_out
    check_out = next(text for first, text in by_source.items() if first.startswith("%%stap --check"))
    # in a kernel the run shows as a RunView: the error is placed on the cell's line and column
    # in the editor's numbering: the %%stap line is line 1
    assert "unresolved function no_such_function" in check_out and "[cell line 4, column 3]" in check_out
    diag_cell = next(text for first, text in by_source.items() if first.startswith("[(d.kind"))
    assert "('semantic',\n  3,\n  3," in diag_cell
    bg_out = next(text for first, text in by_source.items() if first.startswith("%%stap --bg"))
    # the --bg cell's own output was updated to the end of the run by %stap_stop
    assert "stopped; transcript:" in bg_out and "handle_leaf ran" in bg_out
    ran = int(bg_out.split("handle_leaf ran ")[1].split()[0])
    assert ran >= 5


# --- a kernel driven directly -----------------------------------------------------------


class Kernel:
    def __init__(self, tmp_path: Path):
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
        self.pid = self.km.provisioner.process.pid

    def execute(self, code: str, timeout: float = 120, wait: bool = True):
        msg_id = self.kc.execute(code)
        return self.collect(msg_id, timeout) if wait else msg_id

    def collect(self, msg_id: str, timeout: float) -> str:
        """Text of everything the cell printed or displayed, until the kernel is idle."""
        deadline = time.monotonic() + timeout
        texts = []
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            content = msg["content"]
            if msg["msg_type"] == "stream":
                texts.append(content["text"])
            elif msg["msg_type"] in ("display_data", "update_display_data", "execute_result"):
                texts.append(content["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                texts.append("\n".join(content["traceback"]))
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                    and content["execution_state"] == "idle":
                return "\n".join(texts)
        raise TimeoutError(f"the cell did not finish in {timeout} s: {''.join(texts)[-2000:]}")

    def stap_child(self, timeout: float = 60) -> int:
        """The pid of the stap the kernel started (its direct child named stap)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid, comm in session_members_of_children(self.pid):
                if comm == "stap":
                    return pid
            time.sleep(0.1)
        raise TimeoutError("no stap child of the kernel appeared")

    def close(self):
        try:
            self.kc.stop_channels()
        finally:
            if self.km.is_alive():
                self.km.shutdown_kernel(now=True)


def session_members_of_children(pid: int):
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    for child in children:
        try:
            comm = Path(f"/proc/{child}/comm").read_text().strip()
        except OSError:
            continue
        yield child, comm


@pytest.fixture
def kernel(tmp_path, demo_program):
    k = Kernel(tmp_path)
    k.execute(f"%load_ext stapbench\n%config StapMagics.runtime = 'bpf'\n"
              f"%config StapMagics.transcript_dir = {str(tmp_path / 'runs')!r}\nprog = {str(demo_program)!r}")
    yield k
    k.close()


CELL = ('%%stap -c "{prog} 1000000 20" --arg {prog} --out r\n'
        'probe process(@1).function("handle_request") { printf("req %d\\n", $r->number) }\n'
        'probe end { printf("END\\n") }\n')




def test_interrupting_the_kernel_stops_stap_and_keeps_the_output(stap_bpf, kernel, tmp_path):
    msg_id = kernel.execute(CELL, wait=False)
    stap = kernel.stap_child()
    deadline = time.monotonic() + 60  # until the probes are live and some requests went by
    while b"req 3\n" not in b"".join(p.read_bytes() for p in (tmp_path / "runs").rglob("stdout.bin")):
        assert time.monotonic() < deadline, "no probe output within 60 s"
        time.sleep(0.1)
    kernel.km.interrupt_kernel()
    out = kernel.collect(msg_id, 60)
    assert "req 1" in out and "END" in out and "interrupted" in out
    assert "Traceback" not in out
    assert wait_sessions_empty([stap], timeout=20) == []
    assert "interrupted 0" in kernel.execute("print(r.stop_reason, r.exit_status)")


@pytest.mark.parametrize("mode, how", [("fg", "shutdown"), ("fg", "SIGKILL"), ("bg", "shutdown"), ("bg", "SIGKILL")])
def test_no_stap_is_left_when_the_kernel_goes_mid_run(stap_bpf, kernel, tmp_path, mode, how):
    if mode == "fg":
        kernel.execute(CELL, wait=False)  # a foreground run: the kernel is busy in it
    else:
        kernel.execute(CELL.replace("%%stap", "%%stap --bg"))  # the kernel is idle, the run goes on
    stap = kernel.stap_child()
    deadline = time.monotonic() + 60
    while not any(comm == "stapbpf" for _pid, comm in session_members(stap)):
        assert time.monotonic() < deadline, "stapbpf never started"
        time.sleep(0.1)
    # the probes are live (a SIGINT while stapbpf still loads them ends it before its end probe)
    while b"req " not in b"".join(p.read_bytes() for p in (tmp_path / "runs").rglob("stdout.bin")):
        assert time.monotonic() < deadline, "no probe output within 60 s"
        time.sleep(0.1)
    if how == "shutdown":
        kernel.km.shutdown_kernel(now=False)  # a shutdown request, as JupyterLab sends it
    else:
        os.kill(kernel.pid, signal.SIGKILL)
    left = wait_sessions_empty([stap], timeout=30)
    assert left == [], f"left behind after kernel {how}: {left}"
    assert_no_stale_uprobes()
    if how == "shutdown":  # the graceful path: the runner's exit handler stopped it, end probes ran
        meta = json.loads(next((tmp_path / "runs").rglob("meta.json")).read_text())
        # jupyter_client interrupts a busy kernel before asking it to shut down;
        # an idle one exits, and the runner's exit handler stops the run
        assert meta["stop_reason"] == ("interrupted" if mode == "fg" else "shutdown")
        assert meta["stop_signal"] == "SIGINT"
        assert b"END\n" in next((tmp_path / "runs").rglob("stdout.bin")).read_bytes()
