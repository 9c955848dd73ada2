"""A finished :class:`stapbench.runner.Run` as one mimebundle: its status line, stapbench's notes
and the static render of its events (HTML and text), the way pyinstrument renders a session.

``%load_ext stapbench`` registers :func:`run_bundle` as IPython's display of ``Run`` objects, so a
cell holding ``live`` (a run bound with ``--out live``) shows the run, not its repr.
:class:`~stapbench.views.RunView` puts the same header above its own static render.
"""

from __future__ import annotations

from pathlib import Path

from ._html import esc, wrap_root
from .static import render_html, render_text

SCRIPT_NAME = "script.stp"  # the runner writes the cell to RUN_FOLDER/script.stp


def header_bundle(status: str | None, notes: list[str]) -> tuple[str, str]:
    """(html, text) of a run's status line and notes, to put above its events."""
    html = text = ""
    if status:
        html += wrap_root(f'<div class="stapbench-status">{esc(status)}</div>', kind="status")
        text += f"{status}\n"
    if notes:
        html += wrap_root('<div class="stapbench-run-notes">' + "".join(
            f'<div class="stapbench-run-note"><b>stapbench:</b> {esc(n)}</div>' for n in notes) + "</div>",
            kind="notes")
        text += "".join(f"[stapbench] {n}\n" for n in notes)
    return html, text


def run_bundle(run, *, symbolizer=None) -> dict[str, str]:
    """``{"text/html", "text/plain"}`` of a run (finished or running: what it has so far)."""
    options = dict(symbolizer=symbolizer, cell_source=getattr(run, "script", None),
                   script_path=Path(run.folder) / SCRIPT_NAME if getattr(run, "folder", None) else None)
    events = getattr(run, "events", [])  # Run.events is already a copy, taken under the run's lock
    status = run.status_line() if hasattr(run, "status_line") else None
    head_html, head_text = header_bundle(status, list(getattr(run, "notes", [])))
    return {"text/html": head_html + render_html(events, **options),
            "text/plain": head_text + render_text(events, **options)}
