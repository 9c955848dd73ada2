"""``stapbench run`` and ``stapbench doctor`` (registered by stapbench.cli).

``stapbench run SCRIPT.stp [options] [--json]`` runs the script like
``%%stap`` does (same options), streams what stap prints as it comes (probe
output on stdout, stap's messages on stderr; with ``--json`` every parsed
event as one JSON Lines record on stdout, in the ``parse --json`` format) and
exits with stap's exit status.  Ctrl-C stops stap gracefully (end probes run);
a second Ctrl-C kills it.
"""

from __future__ import annotations

import argparse
import sys
import threading

from ..parser.lines import BPF_NOISE
from .doctor import add_doctor_arguments, doctor_command
from .options import add_run_arguments, options_from_args


def add_subparser(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="run a stap script and stream its parsed output",
        description="Run SCRIPT with stap (no shell), stream its output (parsed events with --json) "
                    "and exit with stap's status.  Ctrl-C stops it gracefully.")
    p.add_argument("script", metavar="SCRIPT.stp", help="the script file, or - for stdin")
    add_run_arguments(p)
    p.add_argument("--json", action="store_true", help="print every parsed event as a JSON Lines record")
    p.add_argument("--transcript-dir", metavar="DIR", help="where the run folder goes (default ~/.cache/stapbench/runs)")
    p.set_defaults(func=run_command)

    d = subparsers.add_parser("doctor", help="check what stap needs here, with remedies",
                              description="Check stap, its runtimes, the kernel build tree, debugfs, "
                                          "privileges, the memlock limit and (--target) a binary's debuginfo.")
    add_doctor_arguments(d)
    d.set_defaults(func=doctor_command)


def exit_code(status: int | None) -> int:
    """A shell-style exit code for stap's status (``-N`` for a signal -> 128+N)."""
    if status is None:
        return 1
    return 128 - status if status < 0 else status


def run_command(args: argparse.Namespace) -> int:
    from ..model.serialize import dumps_event
    from .run import Run, RunError

    if args.script == "-":
        script = sys.stdin.read()
    else:
        with open(args.script, encoding="utf-8", errors="surrogateescape") as f:
            script = f.read()
    defaults = {"transcript_dir": args.transcript_dir} if args.transcript_dir else {}
    try:
        options = options_from_args(args, **defaults)
    except ValueError as exc:
        print(f"stapbench run: error: {exc}", file=sys.stderr)
        return 2
    run = Run(script, options)
    out, err = sys.stdout, sys.stderr
    lock = threading.Lock()

    def write(stream, text):
        with lock:
            try:
                stream.write(text)
                stream.flush()
            except BrokenPipeError:  # | head: the reader has gone, stop tracing for it
                run.stop(reason="output closed")

    if args.json:
        from ..authoring.fixes import json_with_fixes, magic_line_for  # each diagnostic's `fixes`

        with_fixes = json_with_fixes(script, magic_line=magic_line_for(options))
        run.on_event.append(lambda e: write(out, with_fixes(e) + "\n"))
    else:
        # stap's bytes as they came, less the BPF tapset's debug text (the parser drops it too)
        run.on_event.append(lambda e: write(out if e.stream == "stdout" else err,
                                            e.raw.replace(BPF_NOISE, "") if BPF_NOISE in e.raw else e.raw))
    run.on_trigger_output.append(lambda data: write(err, data.decode("utf-8", "replace")))
    # the -c program's own output goes where it would without stap, but apart from the probe output
    run.on_program_output.append(lambda data: write(err, data.decode("utf-8", "replace")))
    run.on_note.append(lambda note: write(err, f"[stapbench] {note}\n"))
    try:
        run.start()
    except RunError as exc:
        print(f"stapbench run: error: {exc}", file=sys.stderr)
        return 1
    run.wait()
    if run.stop_reason not in ("exited", None):
        write(err, f"[stapbench] stopped ({run.stop_reason}); transcript: {run.folder}\n")
    return exit_code(run.exit_status)
