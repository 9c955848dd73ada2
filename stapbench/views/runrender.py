"""A finished :class:`stapbench.runner.Run` as one mimebundle: its status line, stapbench's notes
and the static render of its events (HTML and text), the way pyinstrument renders a session.

``%load_ext stapbench`` registers :func:`run_bundle` as IPython's display of ``Run`` objects, so a
cell holding ``live`` (a run bound with ``--out live``) shows the run, not its repr.
:class:`~stapbench.views.RunView` puts the same header above its own static render.
"""

from __future__ import annotations

import re

from ._html import PageStyle, esc, wrap_root
from .context import RenderContext
from .static import render_html, render_text


# what a note asks only while the run goes on (the runner's interrupt note)
_WHILE_RUNNING = re.compile(r";\s*press again to kill it")


def header_bundle(status: str | None, notes: list[str], *, ended: bool = False) -> tuple[str, str]:
    """(html, text) of a run's status line and notes, to put above its events; ``ended``: the
    run is over, so what a note asked the user to do while it ran is left out."""
    if ended:
        notes = [_WHILE_RUNNING.sub("", n) for n in notes]
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


TRIGGER_LINES = 40  # of the trigger's output, the last ones


def _output_tail(output: str, stream_file: str) -> str:
    """The last TRIGGER_LINES lines of a workload's output, after a count of the earlier ones."""
    lines = output.splitlines()
    shown = lines[-TRIGGER_LINES:]
    more = (f"\u2026 {len(lines) - len(shown)} earlier lines (in the run folder's {stream_file})\n"
            if len(lines) > len(shown) else "")
    return (more + "\n".join(shown)) if shown else "(no output)"


def _workload_html_text(classes: str, head: str, command: str, aside: str, body: str, kind: str,
                        status=None) -> tuple[str, str]:
    data = f' data-status="{esc(status)}"' if kind == "trigger" else ""
    html = wrap_root(f'<div class="stapbench-trigger {classes}"{data}>'
                     f"<div><b>{esc(head)}</b> \u2014 <code>{esc(command)}</code>{esc(aside)}</div>"
                     f'<pre class="stapbench-trigger-output">{esc(body)}</pre></div>', kind=kind)
    text = f"{head} -- {command}\n" + "".join(f"  | {line}\n" for line in body.splitlines())
    return html, text


def trigger_bundle(run) -> tuple[str, str]:
    """(html, text) of the trigger: its command, exit status and the end of its output; a
    trigger that failed (curl could not connect: exit 7) is an error, not "finished"."""
    from ..runner.trigger import trigger_failure

    argv = getattr(run, "trigger_argv", None)
    if not argv:
        return "", ""
    status = getattr(run, "trigger_status", None)
    failure = trigger_failure(argv, status)
    if failure:
        head = f"error: {failure}"
    elif status is None and getattr(run, "running", False):
        head = "trigger running" if getattr(run, "ready_at", True) is not None else "trigger waiting for the probes"
    elif status is None:
        # started once the probes are live: a run that failed before (a compile error) never ran it
        head = ("trigger not started: stap ended before its probes were live"
                if getattr(run, "ready_at", True) is None else "trigger did not finish")
    else:
        head = "trigger exited with status 0"
    kind = "stapbench-trigger-failed stapbench-error" if failure else "stapbench-trigger-ok"
    body = _output_tail(getattr(run, "trigger_output", "") or "", "trigger.bin")
    return _workload_html_text(kind, head, " ".join(argv), "", body, "trigger", status)


def program_bundle(run) -> tuple[str, str]:
    """(html, text) of the ``-c`` program's own output, where it had a terminal of its own
    (runner.program): the end of it, apart from the probe output it used to be mixed into."""
    argv = getattr(run, "program_argv", None)
    output = (getattr(run, "program_output", "") or "") if argv else ""
    if not output:
        return "", ""
    return _workload_html_text("stapbench-program", "program output", " ".join(argv),
                               " (stap -c; not probe output)", _output_tail(output, "program.bin"), "program")


def workload_bundle(run) -> tuple[str, str]:
    """(html, text) of what ran beside the probes: the trigger, then the -c program's output."""
    trig_html, trig_text = trigger_bundle(run)
    prog_html, prog_text = program_bundle(run)
    return trig_html + prog_html, trig_text + prog_text


def run_bundle(run, *, symbolizer=None) -> dict[str, str]:
    """``{"text/html", "text/plain"}`` of a run (finished or running: what it has so far)."""
    context = RenderContext.for_run(run, symbolizer=symbolizer)
    events = getattr(run, "events", [])  # Run.events is already a copy, taken under the run's lock
    status = run.status_line() if hasattr(run, "status_line") else None
    finished = getattr(run, "finished", None)
    head_html, head_text = header_bundle(status, list(getattr(run, "notes", [])),
                                         ended=finished is not None and finished.is_set())
    trig_html, trig_text = workload_bundle(run)
    return {"text/html": PageStyle.once() + head_html + trig_html + render_html(events, context=context, style=False),
            "text/plain": head_text + trig_text + render_text(events, context=context)}
