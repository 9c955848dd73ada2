"""The flagship notebook, notebooks/01-nginx-fin-vs-rst.ipynb: when nginx aborts a request, why
does the client see a FIN and not an RST?

* Executed live (nbclient, from the notebooks folder): the lab's kernel runtime (its own lab,
  ``fin``, in the session's labs folder), the host's BPF runtime on a real nginx, tcpdump on
  loopback. No cell errs, no cell fell back to a recording, and each claim of its markdown is
  in its outputs: every line its "Evidence:" quotes, and the facts behind them in order (per
  request: timed out or not, what the kernel sent, what the wire and the client saw).
* Executed where nothing can run (a stand-in stap that fails, no lab, a tcpdump that fails): no
  cell errs, every %%stap cell says it is not live and shows its recording, and the same claims
  hold on the recordings' outputs.
"""

from __future__ import annotations

import html
import os
import re
import shutil

import nbformat
import pytest

from tests.support.lab import lab_unavailable, wait_no_qemu
from tests.support.paths import PROJECT

NOTEBOOK = PROJECT / "notebooks" / "01-nginx-fin-vs-rst.ipynb"
RECORDINGS = NOTEBOOK.parent / "recordings" / "fin-rst"
STAP_CELL = "%%stap"


def execute(env: dict | None = None, notebook=NOTEBOOK) -> nbformat.NotebookNode:
    """``notebook`` run from its folder with its saved outputs cleared, ``env`` added to the kernel's."""
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    for c in nb.cells:  # start from a clean slate: nothing saved can satisfy the checks
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(notebook.parent)}})
    # the kernel's environment (jupyter_client's start_kernel takes env=)
    client.execute(**({"env": {**os.environ, **env}} if env else {}))
    return nb


def output_text(c) -> str:
    """A code cell's outputs as text: streams, text/plain, and text/html without its tags."""
    parts = []
    for o in c.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            data = o.get("data", {})
            parts.append(data.get("text/plain", ""))
            if "text/html" in data:
                parts.append(html.unescape(re.sub(r"<[^>]+>", " ", data["text/html"])))
    return "\n".join(parts)


def all_output(nb) -> str:
    return "\n".join(output_text(c) for c in nb.cells if c.cell_type == "code")


def cell_holding(nb, text: str):
    """The one code cell whose source holds ``text``."""
    found = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, f"{len(found)} cells hold {text!r}"
    return found[0]


def stap_cells(nb) -> dict[str, object]:
    """The %%stap cells by their --out name."""
    cells = {}
    for c in nb.cells:
        if c.cell_type == "code" and c.source.startswith(STAP_CELL):
            cells[re.search(r"--out (\w+)", c.source.splitlines()[0])[1]] = c
    return cells


def claims(nb) -> dict[int, list[str]]:
    """Each ``**Claim N.**`` of the markdown and the output lines its ``Evidence:`` quotes."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    found = {}
    for number, body in re.findall(r"\*\*Claim (\d+)\.\*\*(.*?)(?=\*\*Claim \d+\.\*\*|\n\n)", text, re.S):
        evidence = body.split("Evidence:", 1)
        assert len(evidence) == 2, f"claim {number} quotes no evidence"
        found[int(number)] = re.findall(r"`([^`]+)`", evidence[1])
    return found


def table_rows(c) -> list[list[str]]:
    """A DataFrame's text/plain rows (its header first), split into words."""
    data = [o.get("data", {}).get("text/plain", "") for o in c.outputs if o.output_type == "execute_result"]
    assert data, "the cell shows no table"
    return [line.split() for line in data[-1].splitlines() if line.strip()]


def check_claims(nb) -> None:
    assert not [f"{c.source.splitlines()[0]}: {o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
                for o in c.outputs if o.output_type == "error"]
    every = claims(nb)
    assert sorted(every) == list(range(1, len(every) + 1)) and len(every) >= 6, sorted(every)
    out = all_output(nb)
    missing = {n: [q for q in quotes if q not in out] for n, quotes in every.items()}
    assert not any(missing.values()), missing

    # the lab (kernel runtime): per freed request, timed out or not and what the kernel sent
    lab_default = table_rows(cell_holding(nb, "closes(lab_default)"))
    lab_reset = table_rows(cell_holding(nb, "closes(lab_reset)"))
    assert [r[1:] for r in lab_default[1:]] == [["/index.html", "0", "FIN"], ["/abort", "1", "FIN"]], lab_default
    assert [r[1:] for r in lab_reset[1:]] == [["/index.html", "0", "FIN"], ["/abort", "1", "RST"]], lab_reset
    # the abort's close comes from the terminate path; the RST from close() through tcp_disconnect
    frames = output_text(cell_holding(nb, "def frames_of(run, text):")).split()
    assert frames.index("ngx_close_connection") < frames.index("ngx_http_close_connection") \
        < frames.index("ngx_http_close_request") < frames.index("ngx_http_terminate_handler"), frames
    rst = output_text(cell_holding(nb, "frames_of(lab_reset,")).split()
    assert rst[rst.index("from:") + 1] == "tcp_send_active_reset" and "tcp_disconnect" in rst and "tcp_close" in rst

    # the host (BPF runtime, tcpdump, the client): one row per request and setting
    rows = table_rows(cell_holding(nb, "def host_rows(run, wire, setting):"))
    assert rows[0][:2] == ["reset_timedout_connection", "request"], rows[0]
    assert [r[1:] for r in rows[1:]] == [
        ["off", "/", "0", "False", "FIN", "EOF"], ["off", "/abort", "1", "False", "FIN", "EOF"],
        ["off", "/slow", "1", "False", "FIN", "EOF"],
        ["on", "/", "0", "False", "FIN", "EOF"], ["on", "/abort", "1", "True", "RST", "ECONNRESET"],
        ["on", "/slow", "1", "True", "RST", "ECONNRESET"]], rows


@pytest.fixture(scope="module")
def live(stap_bpf, nginx_build, labs_folder):
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump not installed (apt-get install tcpdump; .ci/provision does)")
    nb = execute()
    yield nb
    assert wait_no_qemu(labs_folder / "fin", 30) == []


@pytest.mark.stap
def test_live_the_notebook_answers_with_evidence(live):
    check_claims(live)
    out = all_output(live)
    assert "not live here" not in out and "showing the recorded capture" not in out
    assert "no lab here" not in out and "lab: down" in out  # its own lab went down at the end
    # every run went live: the runs' folders are the scratch ones, not the recordings
    for name, c in stap_cells(live).items():
        assert "recordings/fin-rst" not in output_text(c).split("transcript:")[1].split("]")[0], name


@pytest.mark.stap
def test_live_backtraces_resolve_into_nginx_source(live, nginx_build):
    from tests.support.browser import function_call_line

    html_out = "".join(o.get("data", {}).get("text/html", "") for o in stap_cells(live)["lab_default"].outputs)
    call = function_call_line(nginx_build.source / "src/http/ngx_http_request.c", "ngx_http_close_connection",
                              "ngx_close_connection(c);")
    assert f"src/http/ngx_http_request.c:{call}" in html_out


STAND_IN = "#!/bin/sh\necho \"$(basename \"$0\"): cannot run here (a stand-in)\" >&2\nexit 1\n"


def test_where_nothing_runs_the_notebook_shows_its_recordings(tmp_path, nginx_build):
    """No stap, no lab, no tcpdump: the same answer from the recordings beside the notebook."""
    if not (RECORDINGS / "lab-default" / "meta.json").exists():
        pytest.fail(f"no recordings in {RECORDINGS}: run the notebook with STAPBENCH_RERECORD=1")
    for tool in ("stap", "tcpdump"):
        (tmp_path / tool).write_text(STAND_IN)
        (tmp_path / tool).chmod(0o755)
    nb = execute({"PATH": f"{tmp_path}:{os.environ['PATH']}", "STAPBENCH_LAB_DIR": str(tmp_path / "no-lab"),
                  "STAPBENCH_LABS_DIR": str(tmp_path / "labs")})
    check_claims(nb)
    for name, c in stap_cells(nb).items():
        text = output_text(c)
        assert "not live here" in text and f"recorded in recordings/fin-rst/{name.replace('_', '-')}" in text, name
    assert all_output(nb).count("showing the recorded capture") == 2
