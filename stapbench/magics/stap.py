"""``%%stap``, ``%stap_stop``, ``%stap_replay``, ``%stap_list`` and ``%stap_doctor``: thin glue
from a cell to the runner and the views.

Modelled on IPython's ``%%script`` (a subprocess per cell, ``--bg``,
KeyboardInterrupt handling) and jupysql (``Magics, Configurable`` so that
``%config StapMagics.runtime = "bpf"`` works).

Options are declared with IPython's ``magic_arguments`` (``%%stap?`` shows them), and a bad
line raises :class:`~IPython.core.error.UsageError`: IPython prints it without a traceback
and the cell fails, so *Run All* stops at it.  The line is split into words first
(shell-like quoting, but no shell), and only then is ``{expr}`` expanded in each word, so a
Python value holding spaces, quotes, ``;`` or ``$(...)`` stays one literal argument.
``--trigger`` is split into its own argv the same way.
"""

from __future__ import annotations

import argparse
import re
import shlex
import weakref

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import ArgDecorator, argument, magic_arguments, parse_argstring
from IPython.utils.text import FullEvalFormatter
from traitlets import Bool, Enum, Float, Int, List, TraitError, Unicode, validate
from traitlets.config.configurable import Configurable

from ..runner import Run, RunError
from ..runner.doctor import add_doctor_arguments, auto_runtime, doctor_command
from ..runner.options import RUNTIMES, add_run_arguments, options_from_args
from .output import TextRunDisplay, _in_kernel

# %stap_list's options are the leading words that start with "-" (and --out's value); the rest
# of the line is the pattern, verbatim: its quotes are stap's, not a shell's
_LIST_OPTIONS = re.compile(r"\s*((?:--out(?:\s+|=)\S+|-\S+)\s+)*")


class run_arguments(ArgDecorator):
    """``magic_arguments`` decorator adding :func:`stapbench.runner.options.add_run_arguments`:
    ``%%stap`` and ``stapbench run`` share that one definition of the run options (the CLI
    applies it to its own argparse parser, the magic to IPython's ``MagicArgumentParser``,
    whose errors are ``UsageError``)."""

    def add_to_parser(self, parser, group):
        add_run_arguments(group if group is not None else parser)


class doctor_arguments(ArgDecorator):
    """The same for ``%stap_doctor`` and ``stapbench doctor``."""

    def add_to_parser(self, parser, group):
        add_doctor_arguments(group if group is not None else parser)


def _usage(magic: str, message: str) -> UsageError:
    return UsageError(f"{magic}: {message}")


def _sysroot_of(run: Run):
    """Where the traced host's files are on this machine: a lab's rootfs for a --remote run
    (every lab shares one rootfs), None for this machine's own run."""
    if run.record.hosts:
        return run.record.sysroot_for(run.record.hosts[0]["label"])
    if run.options.remote:
        from ..runner.remote import RemoteError, resolve_targets

        try:
            return next((t.sysroot for t in resolve_targets(run.options.remote) if t.sysroot), None)
        except RemoteError:
            return None  # run.start() says why
    return None


def _split_trigger(words: list[str]) -> tuple[list[str], str | None]:
    """Take ``--trigger CMD`` / ``--trigger=CMD`` out of the words (it is split and expanded apart)."""
    rest, trigger = [], None
    it = iter(words)
    for word in it:
        if word == "--trigger":
            trigger = next(it, None)
            if trigger is None:
                raise _usage("%%stap", "--trigger needs a command")
        elif word.startswith("--trigger="):
            trigger = word[len("--trigger="):]
        else:
            rest.append(word)
    return rest, trigger


def _give_empty_stap_cells_a_body(lines: list[str]) -> list[str]:
    """IPython refuses a cell magic whose body is empty before calling it; ``%%stap --help``
    (or a line with a mistake in it) alone in a cell must reach the magic, which answers it."""
    if len(lines) == 1 and lines[0].startswith("%%stap") and lines[0][6:7] in ("", " ", "\t", "\n"):
        return [lines[0].rstrip("\n") + "\n", "\n"]
    return lines


@magics_class
class StapMagics(Magics, Configurable):
    """SystemTap in a notebook.  Configure with ``%config StapMagics.<name> = value``; a value
    that can't work is refused when it is set, with the reason."""

    runtime = Unicode("auto", help="default --runtime: kernel, bpf or dyninst; empty: stap's own default (the "
                      "kernel runtime); 'auto': stap's default where the kernel runtime can work, bpf where it "
                      "can't (no kernel headers), said on the run").tag(config=True)
    timeout = Float(None, allow_none=True, min=0.0,
                    help="default --timeout in seconds (None: no limit)").tag(config=True)
    use_sudo = Bool(False, help="run stap through sudo when not root (the password is asked with a masked prompt)").tag(config=True)
    transcript_dir = Unicode("", help="where run folders go (empty: ~/.cache/stapbench/runs)").tag(config=True)
    source_roots = List(Unicode(), help="folders where relative source paths of backtraces are looked up").tag(config=True)
    view = Enum(("auto", "widget", "text"), "auto",
                help="how a run is shown: 'widget' (stapbench.views.RunView: event log, backtraces beside source, "
                "trees), 'text' (rate-limited plain text), or 'auto': widget in a Jupyter kernel, text in a "
                "terminal IPython").tag(config=True)
    final_view = Enum(("accompany", "replace"), "accompany",
                      help="widget view, when the run ends: 'accompany' keeps the live widget (frames, trees, fix "
                      "buttons stay interactive) and puts the static render in a second output that shows only "
                      "where the widget can't (a reopened notebook, nbconvert, GitHub); 'replace' swaps the widget "
                      "for the static render").tag(config=True)
    max_lines = Int(200, min=1, help="text view: the last N output lines shown (the rest is counted)").tag(config=True)
    max_updates_per_second = Float(10.0, min=0.1, help="text view: output refresh rate limit").tag(config=True)
    grace = Float(5.0, min=0.0, help="seconds stap gets after SIGINT before SIGTERM").tag(config=True)
    stap_path = Unicode("stap", help="the stap program").tag(config=True)
    max_events = Int(100_000, min=1, help="events kept in memory per run (diagnostics are always kept)").tag(config=True)

    @validate("runtime")
    def _valid_runtime(self, proposal):
        value = proposal["value"]
        if value not in ("auto", "", *RUNTIMES):
            raise TraitError(f"StapMagics.runtime must be 'auto', '' (stap's default) or one of "
                             f"{', '.join(RUNTIMES)}, not {value!r}")
        return value

    @validate("timeout")
    def _valid_timeout(self, proposal):
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"StapMagics.timeout must be a number of seconds above 0, or None, not {value!r}")
        return value

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        if shell is not None and getattr(shell, "config", None) is not None:
            self.config = shell.config  # pick up %config / ipython_config values
        self.runs: list[Run] = []  # background runs, newest last
        self.last_run: Run | None = None
        self.last_line = ""  # the last %%stap cell's line as written ({expr} unexpanded): %stap_fix keeps it
        self._displays = weakref.WeakKeyDictionary()  # run -> its RunDisplay
        self._symbolizer_cache = None
        self._auto_said = False  # the note on what 'auto' picked was shown
        self._tips_said: set[str] = set()  # stap's Tip: lines shown in this session's runs

    # --- %%stap ---------------------------------------------------------------------

    @no_var_expand
    @cell_magic
    @magic_arguments("%stap")  # the help's usage line reads "%%stap [...]"
    @argument("-h", "--help", action="store_true", help="show these options (works on an empty cell)")
    @argument("--out", metavar="NAME", help="bind the Run to this Python name")
    @argument("--bg", action="store_true", help="return at once; the run goes on streaming (%%stap_stop ends it)")
    @argument("--or-replay", metavar="PATH",
              help="where the run can't go live here (no stap, no target, stap fails before its probes are "
                   "live), show the run recorded at PATH instead, and say why (--out binds it)")
    @run_arguments()
    def stap(self, line, cell):
        """Run the cell as a SystemTap script; its output streams below the cell."""
        args = self._parse_line(line)
        if args.help:
            # the help without the reStructuredText "::" IPython's formatter puts first
            print(self.stap.__doc__.replace("::\n\n  %", "%", 1))
            return None
        if not cell.strip():
            raise _usage("%%stap", "the cell has no script: write the SystemTap script below the %%stap line")
        try:
            defaults, auto_why = self._defaults(remote=bool(args.remote))
            options = options_from_args(args, **defaults, first_line=2)  # the body starts on the cell's line 2
        except (TypeError, ValueError) as exc:
            raise _usage("%%stap", str(exc)) from None
        run = Run(cell, options)
        if args.runtime is None and auto_why is not None and options.runtime == "bpf" and not self._auto_said:
            self._auto_said = True  # once a session: the next cells pick the same
            run.add_note(f"runtime bpf: the kernel runtime can't work here ({auto_why}); "
                         "StapMagics.runtime = 'auto' picked bpf, --runtime kernel forces it. For the kernel "
                         "runtime (backtraces, $var$ dumps, kernel probes): `%stap_lab up`, then "
                         "`%%stap --remote lab`")
        self._displays[run] = self._display(run, cell, from_cell=True)
        fallback = self._expand(args.or_replay) if args.or_replay else None
        self.last_run = run
        self.last_line = line
        if args.out:
            self.shell.user_ns[args.out] = run
        try:
            run.start()
        except (RunError, OSError) as exc:
            if fallback is None:
                raise _usage("%%stap", str(exc)) from None
            self._displays[run].finish()
            return self._replay_instead(fallback, str(exc), args.out)
        if args.bg:
            self.runs.append(run)
            self.runs = [r for r in self.runs if not r.finished.is_set()]
            return None
        run.wait()  # KeyboardInterrupt stops stap gracefully and keeps the output
        self._displays[run].finish()
        if fallback is not None and not run.ready.is_set() and not run.ok:
            why = next((d.message for d in run.diagnostics if d.severity == "error"), None)
            self._replay_instead(fallback, why or f"stap ended ({run.exit_status}) before its probes were live",
                                 args.out)
        return None

    def _replay_instead(self, path: str, why: str, out: str | None) -> None:
        """``--or-replay``: the live attempt's output stays above (it says what went wrong); the
        recorded run follows, marked as a recording, and ``--out`` binds it."""
        from ..runner import replay

        try:
            recorded = replay(path)
        except OSError as exc:
            raise _usage("%%stap", f"--or-replay {path}: {exc}") from None
        recorded.add_note(f"not live here ({why}): this is the run recorded in {path}")
        if out:
            self.shell.user_ns[out] = recorded
        self._displays[recorded] = self._display(recorded, recorded.script)
        self._displays[recorded].finish()
        return None

    def _defaults(self, remote: bool = False) -> tuple[dict, str | None]:
        """RunOptions defaults from the config, and why 'auto' picked bpf (None if it did not).
        ``remote``: the run goes to --remote targets, whose kernel runtime is what 'auto' is
        about there (a lab's is the reason to use one), so 'auto' keeps stap's default."""
        values = {"use_sudo": self.use_sudo, "grace": self.grace, "max_events": self.max_events,
                  "stap": self.stap_path}
        auto_why = None
        if self.runtime == "auto":
            runtime, auto_why = auto_runtime() if not remote else (None, None)
            if runtime:
                values["runtime"] = runtime
        elif self.runtime:
            values["runtime"] = self.runtime
        if self.timeout is not None:
            values["timeout"] = self.timeout
        if self.transcript_dir:
            values["transcript_dir"] = self.transcript_dir
        return values, auto_why

    def _expand(self, word: str, magic: str = "%%stap") -> str:
        """``{expr}`` in one word, evaluated in the user namespace (``{{``/``}}`` for braces)."""
        if "{" not in word and "}" not in word:
            return word
        try:
            return FullEvalFormatter().format(word, **self.shell.user_ns)
        except Exception as exc:
            raise _usage(magic, f"cannot expand {word!r}: {type(exc).__name__}: {exc}") from None

    def _words(self, line: str, magic: str) -> list[str]:
        try:
            return shlex.split(line)
        except ValueError as exc:
            raise _usage(magic, str(exc)) from None

    def _parse_line(self, line: str) -> argparse.Namespace:
        words, trigger = _split_trigger(self._words(line, "%%stap"))
        try:
            args = self.stap.parser.parse_args([self._expand(w) for w in words])
        except UsageError as exc:
            raise _usage("%%stap", str(exc)) from None
        if trigger is not None:
            args.trigger = [self._expand(w) for w in self._words(trigger, "%%stap: --trigger")]
            if not args.trigger:
                raise _usage("%%stap", "--trigger needs a command")
        return args

    def _display(self, run: Run, cell: str, *, from_cell: bool = False):
        """The seam where views plug in: a :class:`~stapbench.views.display.RunDisplay` that
        follows the run's callbacks, shown in the output now.  ``from_cell``: the script is
        the body of the ``%%stap`` cell being run (its first line is the editor's line 2)."""
        if self.view == "widget" or (self.view == "auto" and _in_kernel(self.shell)):
            from ..views import RunView
            from ..views.context import RenderContext

            context = RenderContext(symbolizer=self._symbolizer(_sysroot_of(run)), cell_source=cell,
                                    first_line=2 if from_cell else 1, tips_said=frozenset(self._tips_said))
            if run.finished.is_set():  # a replay
                self._remember_tips(run)
            else:
                run.on_end.append(self._remember_tips)
            display = RunView(run, context=context, final=self.final_view)
        else:
            display = TextRunDisplay(run, shell=self.shell, max_lines=self.max_lines,
                                     max_rate=self.max_updates_per_second)
        display.show()
        return display

    def _remember_tips(self, run: Run) -> None:
        self._tips_said.update(t for d in run.diagnostics for t in d.tips)

    def _symbolizer(self, sysroot=None):
        """One symbolizer (its caches) per set of source roots and sysroot, shared by the runs' views."""
        from ..symbols import Symbolizer

        key = (tuple(self.source_roots), sysroot)
        if self._symbolizer_cache is None or self._symbolizer_cache[0] != key:
            self._symbolizer_cache = (key, Symbolizer(source_roots=key[0], sysroot=sysroot))
        return self._symbolizer_cache[1]

    # --- %stap_stop -----------------------------------------------------------------

    @line_magic
    @magic_arguments()
    @argument("name", nargs="?", help="the Run bound to NAME (with --out NAME)")
    @argument("--all", action="store_true", help="every background run")
    def stap_stop(self, line=""):
        """Stop the newest background run (or the Run bound to NAME, or all) and say what it stopped."""
        args = parse_argstring(self.stap_stop, line)
        live = [r for r in self.runs if not r.finished.is_set()]
        if args.all:
            chosen = live
        elif args.name:
            run = self.shell.user_ns.get(args.name)
            if not isinstance(run, Run):
                raise _usage("%stap_stop", f"{args.name} is not a stapbench Run")
            chosen = [run]
        else:
            chosen = live[-1:]
        if not chosen:
            print("%stap_stop: no background run is going")
            return None
        names = {id(v): k for k, v in self.shell.user_ns.items() if isinstance(v, Run) and not k.startswith("_")}
        for run in chosen:
            was_running = not run.finished.is_set()
            run.stop(reason="stopped")
            run.wait()
            display = self._displays.get(run)
            if display is not None:
                display.finish()
            label = names.get(id(run)) or f"pid {run.pid}"
            verb = "stopped" if was_running else "had already ended:"
            print(f"%stap_stop: {verb} {label} ({run.events_total:,} event{'s' if run.events_total != 1 else ''}, "
                  f"exit status {run.exit_status}; transcript: {run.folder})")
        self.runs = [r for r in self.runs if not r.finished.is_set()]
        return None

    # --- %stap_replay ---------------------------------------------------------------

    @no_var_expand
    @line_magic
    @magic_arguments()
    @argument("path", help="a run folder (a --record PATH, or one under ~/.cache/stapbench/runs)")
    @argument("--out", metavar="NAME", help="bind the replayed Run to this Python name")
    def stap_replay(self, line=""):
        """Show a recorded run folder (no stap needed); ``{expr}`` expands Python values."""
        from ..runner import replay

        args = parse_argstring(self.stap_replay, line)
        try:
            run = replay(self._expand(args.path, "%stap_replay"))
        except OSError as exc:
            raise _usage("%stap_replay", str(exc)) from None
        if args.out:
            self.shell.user_ns[args.out] = run
        self._displays[run] = self._display(run, run.script)
        self._displays[run].finish()
        return None

    # --- %stap_list -----------------------------------------------------------------

    @no_var_expand
    @line_magic
    @magic_arguments()
    @argument("-v", action="store_true", help="stap -vL: also the probe point's address")
    @argument("--out", metavar="NAME", help="bind the ListResult to this Python name")
    def stap_list(self, line=""):
        """``stap -L PATTERN`` as a table (probe point, source file:line, $parameters:types); when
        nothing matches, the closest probe points.  The PATTERN is the rest of the line, verbatim
        (one stap argument, never split by a shell); ``{expr}`` expands Python values:
        ``%stap_list process("{nginx}").function("ngx_http_*")``."""
        from IPython.display import display

        from ..runner.listing import list_probes
        from ..views import render_probe_listing_html, render_probe_listing_text
        from ..views._html import PageStyle, wrap_root

        m = _LIST_OPTIONS.match(line)
        args = parse_argstring(self.stap_list, line[:m.end()])
        pattern = line[m.end():].strip()
        if not pattern:
            raise _usage("%stap_list", 'give a PATTERN, e.g. %stap_list process("/usr/sbin/nginx").function("ngx_*")')
        pattern = self._expand(pattern, "%stap_list")
        result = list_probes(pattern, stap=self.stap_path, verbose=args.v, timeout=self.timeout or 300.0)
        if args.out:
            self.shell.user_ns[args.out] = result
        problems = [] if result.listings else [d.raw.rstrip("\n") for d in result.diagnostics
                                               if d.severity == "error"]
        if result.timed_out:
            problems.append(f"stap -L did not answer within {self.timeout or 300.0:.0f} s")
        display({"text/html": PageStyle.once() + wrap_root(render_probe_listing_html(
                     pattern, result.listings, result.suggestions, problems), kind="listing"),
                 "text/plain": render_probe_listing_text(pattern, result.listings, result.suggestions, problems)},
                raw=True)
        return None

    # --- %stap_doctor ---------------------------------------------------------------

    @line_magic
    @magic_arguments()
    @doctor_arguments()
    def stap_doctor(self, line=""):
        """What stap needs here, each problem with its remedy."""
        doctor_command(parse_argstring(self.stap_doctor, line))
        return None

    # --- %stap_fix ------------------------------------------------------------------

    @line_magic
    @magic_arguments()
    @argument("number", nargs="?", type=int, help="the fix to take (as %%stap_fix lists them); none: list them")
    def stap_fix(self, line=""):
        """The last %%stap cell's fixes, closest first; with a NUMBER, that fix as the next cell
        (its %%stap line kept): the fix buttons' way where no JupyterLab extension rewrites the cell."""
        from ..authoring.fixes import FixFinder, magic_line_for

        args = parse_argstring(self.stap_fix, line)
        run = self.last_run
        if run is None:
            raise _usage("%stap_fix", "no %%stap cell has run yet")
        finder = FixFinder(run.script, symbolizer=self._symbolizer(_sysroot_of(run)),
                           magic_line=magic_line_for(run.options))
        fixes = [f for d in run.diagnostics if d.severity == "error" for f in finder.fixes(d)]
        if args.number is None:
            if not fixes:
                print("%stap_fix: the last %%stap cell has no fixes"
                      + ("" if run.diagnostics else " (it had no errors)"))
            for i, fix in enumerate(fixes, 1):
                print(f"{i}. {fix.title}")
            if fixes:
                print("%stap_fix N puts fix N below as a new cell")
            return None
        if not 1 <= args.number <= len(fixes):
            raise _usage("%stap_fix", f"there are {len(fixes)} fixes (%stap_fix lists them), not {args.number}")
        fix = fixes[args.number - 1]
        self.shell.set_next_input(f"%%stap {self.last_line}".rstrip() + "\n" + fix.script, replace=False)
        print(f"%stap_fix: the cell with {fix.title} is below")
        return None

    def stop_all(self) -> None:
        from ..runner.cleanup import stop_all

        stop_all()
