"""The ``stapbench`` command line.

Each layer brings its own subcommands: a module listed in ``SUBCOMMANDS``
exposes ``add_subparser(subparsers)``, which adds its parsers and sets
``func`` (called with the parsed arguments; returns the exit status).  To add
``run``/``doctor``, append the runner's module name here; a listed module
that does not exist yet is skipped, so layers can land in any order.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS = [
    "stapbench.parser.commands",   # parse, fold
    "stapbench.runner.commands",   # run, doctor
    "stapbench.lab.commands",      # lab build|up|down|status|exec
    "stapbench.answers.commands",  # flame
    "stapbench.authoring.commands",  # probes
]

EXIT_USAGE = 2
# commands whose module is known up front: only that module is imported for them, so that
# `stapbench fold`/`parse` (often run once per file, timed as whole processes) start in a
# few milliseconds instead of importing every layer (pexpect, the lab, ...)
COMMAND_MODULES = {"parse": "stapbench.parser.commands", "fold": "stapbench.parser.commands"}


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="stapbench", description="A workbench for SystemTap output.")
    parser.add_argument("--version", action="version", version=f"stapbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if modules is None else modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that layer has not landed yet
            raise
        module.add_subparser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    module = COMMAND_MODULES.get(argv[0]) if argv else None
    parser = build_parser(None if module is None else [module])
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        target = exc.filename if exc.filename is not None else ""
        print(f"stapbench {args.command}: error: {target}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (``| head``): not an error of ours; silence the final flush
        try:
            sys.stdout = None  # type: ignore[assignment]
        finally:
            return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
