"""What a run is asked to do, and the stap argv that follows from it.

:class:`RunOptions` is plain data; :func:`build_stap_argv` turns it into an
argv list (never a shell string).  :func:`add_run_arguments` defines the
options once for both the ``%%stap`` magic and ``stapbench run`` so the two
stay the same.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path

RUNTIMES = ("kernel", "bpf", "dyninst")

#: where .ci/provision installs the LD_PRELOAD shim (see memlock_shim.c)
DEFAULT_MEMLOCK_SHIM = "/usr/local/lib/stapbench/memlock_shim.so"


def as_argv(command: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """A command given as an argv list, or a string split like a shell would
    split words (quotes honoured) but never run through a shell."""
    if command is None:
        return None
    if isinstance(command, str):
        argv = shlex.split(command)
    else:
        argv = [os.fspath(a) for a in command]
    if not argv:
        raise ValueError("empty command")
    return argv


@dataclass(kw_only=True)
class RunOptions:
    """Everything that decides how stap is started and stopped.

    ``cmd`` is stap's own ``-c`` (stap starts it once the probes are live and
    the run ends with it): an argv list, or a string split into words like a
    shell splits them (quotes honoured; ``;``, ``|``, ``$(...)`` are plain
    characters of a word).  stap hands its ``-c`` string to wordexp(3), and to
    ``/bin/sh -c`` when that refuses it, so every word goes to stap quoted
    (:func:`stap_command`): wordexp then gives back exactly these words and no
    shell ever sees them.  ``trigger`` is a workload stapbench
    starts (argv, no shell) once the probes are live; its output is kept apart
    from stap's.
    """

    pid: int | None = None
    cmd: str | list[str] | None = None
    trigger: str | list[str] | None = None
    #: stop the run this many seconds after the trigger exits (None: keep running)
    stop_after_trigger: float | None = 0.5
    timeout: float | None = None
    #: with ``pid``: stop the run when that process exits (stap itself would go on)
    stop_when_target_exits: bool = True
    runtime: str | None = None  # None: stap's default (the kernel module runtime)
    modules: list[str] = field(default_factory=list)  # -d
    ldd: bool = False
    globals: dict[str, str] = field(default_factory=dict)  # -G NAME=VALUE
    macros: dict[str, str | None] = field(default_factory=dict)  # -D NAME[=VALUE]
    guru: bool = False  # -g
    check: bool = False  # stop after pass 2 (-p2): diagnostics only
    last_pass: int | None = None  # -p N (check sets 2)
    verbose: int = 0  # -v count
    extra_args: list[str] = field(default_factory=list)  # passed to stap verbatim, before the script
    script_args: list[str] = field(default_factory=list)  # after the script: @1, $1, ... in the script
    stap: str = "stap"
    use_sudo: bool = False
    sudo: str = "sudo"
    #: password answered at sudo's prompt; None: ask through getpass when prompted
    sudo_password: str | None = field(default=None, repr=False)
    #: SIGINT -> (grace) -> SIGTERM -> (term_grace) -> SIGKILL
    grace: float = 5.0
    term_grace: float = 2.0
    #: keep at most this many events in memory (diagnostics are always kept)
    max_events: int = 100_000
    #: run folder; None: a new folder under transcript_dir
    record: str | os.PathLike | None = None
    transcript_dir: str | os.PathLike | None = None
    #: LD_PRELOAD shim for --runtime=bpf; None: $STAPBENCH_MEMLOCK_SHIM or the provisioned one
    memlock_shim: str | None = None
    #: start a watchdog process that stops stap if this process dies
    watchdog: bool = True
    env: dict[str, str] = field(default_factory=dict)  # added to stap's environment
    #: stap --remote targets: lab names or stap URLs (runner.remote); two or more add --remote-prefix
    remote: list[str] = field(default_factory=list)
    #: the editor's number of the script's first line, for stapbench's own notes (a %%stap cell: 2)
    first_line: int = 1

    def __post_init__(self):
        if self.runtime is not None and self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {self.runtime!r}")
        if self.pid is not None and self.cmd is not None:
            raise ValueError("give either pid (-x) or cmd (-c), not both")
        if self.check:
            self.last_pass = 2
        if self.cmd is not None:
            stap_command(self.cmd)  # refuse at once what can't be split (an open quote, nothing)

    @property
    def runs_probes(self) -> bool:
        """True when stap gets to pass 5, i.e. probes go live."""
        return self.last_pass is None or self.last_pass >= 5

    def trigger_argv(self) -> list[str] | None:
        return as_argv(self.trigger)

    def shim_path(self) -> str | None:
        """The memlock shim to preload, if this run needs one and it exists."""
        if self.runtime != "bpf":
            return None
        path = self.memlock_shim or os.environ.get("STAPBENCH_MEMLOCK_SHIM") or DEFAULT_MEMLOCK_SHIM
        return path if path and os.path.isfile(path) else None

    def replace(self, **changes) -> "RunOptions":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return RunOptions(**values)


def stap_command(cmd: str | list[str] | tuple[str, ...]) -> str:
    """The ``-c`` string for stap: every word of ``cmd`` quoted (:func:`as_argv` splits a string),
    so stap's wordexp splits it back into exactly those words and never falls back to a shell."""
    return " ".join(shlex.quote(word) for word in as_argv(cmd))


def build_stap_argv(options: RunOptions, script_path: str | os.PathLike,
                    remote_urls: list[str] | None = None) -> list[str]:
    """stap's argv (without sudo or a lab's launcher) for a script file; ``remote_urls``:
    what ``options.remote`` resolved to (runner.remote), in the same order."""
    argv = [options.stap]
    if options.runtime:
        argv.append(f"--runtime={options.runtime}")
    urls = list(options.remote if remote_urls is None else remote_urls)
    argv += [f"--remote={url}" for url in urls]
    if len(urls) > 1:
        argv.append("--remote-prefix")  # one stream per host (runner.hoststreams)
    if options.last_pass is not None:
        argv.append(f"-p{options.last_pass}")
    if options.verbose:
        argv.append("-" + "v" * options.verbose)
    if options.guru:
        argv.append("-g")
    if options.ldd:
        argv.append("--ldd")
    for module in options.modules:
        argv += ["-d", os.fspath(module)]
    for name, value in options.macros.items():
        argv += ["-D", name if value is None else f"{name}={value}"]
    for name, value in options.globals.items():
        argv += ["-G", f"{name}={value}"]
    if options.pid is not None:
        argv += ["-x", str(int(options.pid))]
    if options.cmd is not None:
        argv += ["-c", stap_command(options.cmd)]
    argv += [str(a) for a in options.extra_args]
    argv.append(os.fspath(script_path))
    argv += [str(a) for a in options.script_args]
    return argv


# --- the shared command-line surface (magic and CLI) ---------------------------------


def _name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _macro(text: str) -> tuple[str, str | None]:
    name, sep, value = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"expected MACRO[=VALUE], got {text!r}")
    return name, (value if sep else None)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``%%stap`` and ``stapbench run``."""
    parser.add_argument("-x", "--pid", type=int, help="probe this running process (stap -x)")
    parser.add_argument("-c", "--cmd", help="command stap starts once the probes are live; the run ends with it "
                                             "(split into words like a shell would, never run by one)")
    parser.add_argument("--trigger", metavar="CMD",
                        help="workload to run (no shell) once the probes are live; its output is shown apart")
    parser.add_argument("--after-trigger", dest="stop_after_trigger", type=float, metavar="S",
                        help="stop the run S seconds after the trigger exits (default 0.5; inf: keep running)")
    parser.add_argument("--timeout", type=float, metavar="S", help="stop the run after S seconds")
    parser.add_argument("--runtime", choices=RUNTIMES, help="stap runtime")
    parser.add_argument("--remote", action="append", default=[], metavar="TARGET",
                        help="run pass 5 on TARGET through stap's own --remote: a lab's name (stapbench lab up) "
                             "or a URL stap takes (unix:SOCKET, ssh://HOST, user@host.domain); repeat for several hosts")
    parser.add_argument("-d", dest="modules", action="append", default=[], metavar="MODULE",
                        help="add symbol/unwind data for MODULE (stap -d)")
    parser.add_argument("--ldd", action="store_true", help="add the target's shared libraries (stap --ldd)")
    parser.add_argument("-G", dest="globals", action="append", type=_name_value, default=[],
                        metavar="NAME=VALUE", help="set a global variable (stap -G)")
    parser.add_argument("-D", dest="macros", action="append", type=_macro, default=[],
                        metavar="MACRO=VALUE", help="define a C macro (stap -D), e.g. MAXSTRINGLEN=1024")
    parser.add_argument("-g", "--guru", action="store_true", help="guru mode (stap -g)")
    parser.add_argument("-v", dest="verbose", action="count", default=0, help="stap -v (repeatable)")
    parser.add_argument("--arg", dest="script_args", action="append", default=[], metavar="VALUE",
                        help="a script argument, @1/$1 for the first (repeatable)")
    parser.add_argument("--check", action="store_true", help="stop after pass 2 and show diagnostics (stap -p2)")
    parser.add_argument("--record", metavar="PATH", help="keep the run folder (transcript) at PATH")
    parser.add_argument("--sudo", dest="use_sudo", action="store_true", default=None,
                        help="run stap through sudo (asks for the password)")


def options_from_args(args: argparse.Namespace, **defaults) -> RunOptions:
    """RunOptions from parsed :func:`add_run_arguments` options; ``defaults``
    fill what the options left unset (e.g. the magic's configured runtime)."""
    values = dict(defaults)
    for name in ("pid", "cmd", "trigger", "timeout", "runtime", "record", "use_sudo", "stop_after_trigger"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if values.get("stop_after_trigger") == float("inf"):
        values["stop_after_trigger"] = None
    values["modules"] = list(args.modules)
    values["ldd"] = args.ldd
    values["globals"] = dict(args.globals)
    values["macros"] = dict(args.macros)
    values["guru"] = args.guru
    values["verbose"] = args.verbose
    values["check"] = args.check
    values["script_args"] = list(args.script_args)
    values["remote"] = list(getattr(args, "remote", None) or [])
    if values.get("record") is not None:
        values["record"] = Path(values["record"]).expanduser()
    return RunOptions(**values)
