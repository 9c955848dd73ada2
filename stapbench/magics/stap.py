"""``%%stap``, ``%stap_stop`` and ``%stap_doctor``: thin glue from a cell to the runner.

Modelled on IPython's ``%%script`` (a subprocess per cell, ``--bg``,
KeyboardInterrupt handling) and jupysql (``Magics, Configurable`` so that
``%config StapMagics.runtime = "bpf"`` works).

The option line is split into words first (shell-like quoting, but no
shell), and only then is ``{expr}`` expanded in each word, so a Python value
holding spaces, quotes, ``;`` or ``$(...)`` stays one literal argument.
``--trigger`` is split into its own argv the same way.
"""

from __future__ import annotations

import argparse
import re
import shlex
import weakref

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.utils.text import FullEvalFormatter
from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config.configurable import Configurable

from ..runner import Run, RunError
from ..runner.doctor import auto_runtime
from ..runner.options import RUNTIMES, add_run_arguments, options_from_args
from .output import TextRunDisplay, _in_kernel


# %stap_list's options come first; everything after them is the pattern, verbatim
_LIST_OPTIONS = re.compile(r"\s*(?P<v1>-v\s+)?(?:--out\s+(?P<out>[A-Za-z_]\w*)\s+)?(?P<v2>-v\s+)?")


class UsageError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"%%stap: {message}")


def stap_arg_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%stap", add_help=False,
                     description="Run the cell with stap; the output streams below the cell.")
    add_run_arguments(parser)
    parser.add_argument("--bg", action="store_true", help="return at once; the run goes on streaming (%%stap_stop ends it)")
    parser.add_argument("--out", metavar="NAME", help="bind the Run to this Python name")
    parser.add_argument("-h", "--help", action="store_true")
    return parser


def _split_trigger(words: list[str]) -> tuple[list[str], str | None]:
    """Take ``--trigger CMD`` / ``--trigger=CMD`` out of the words (it is split and expanded apart)."""
    rest, trigger = [], None
    it = iter(words)
    for word in it:
        if word == "--trigger":
            trigger = next(it, None)
            if trigger is None:
                raise UsageError("%%stap: --trigger needs a command")
        elif word.startswith("--trigger="):
            trigger = word[len("--trigger="):]
        else:
            rest.append(word)
    return rest, trigger


@magics_class
class StapMagics(Magics, Configurable):
    """SystemTap in a notebook.  Configure with ``%config StapMagics.<name> = value``."""

    runtime = Unicode("auto", help="default --runtime: kernel, bpf or dyninst; empty: stap's own default (the "
                      "kernel runtime); 'auto': stap's default where the kernel runtime can work, bpf where it "
                      "can't (no kernel headers), said on the run").tag(config=True)
    timeout = Float(None, allow_none=True, help="default --timeout in seconds (None: no limit)").tag(config=True)
    use_sudo = Bool(False, help="run stap through sudo when not root (the password is asked with a masked prompt)").tag(config=True)
    transcript_dir = Unicode("", help="where run folders go (empty: ~/.cache/stapbench/runs)").tag(config=True)
    source_roots = List(Unicode(), help="folders where relative source paths of backtraces are looked up").tag(config=True)
    view = Unicode("auto", help="how a run is shown: 'widget' (stapbench.views.RunView: event log, backtraces "
                   "beside source, trees), 'text' (rate-limited plain text), or 'auto': widget in a Jupyter "
                   "kernel, text in a terminal IPython").tag(config=True)
    final_view = Unicode("accompany", help="widget view, when the run ends: 'accompany' keeps the live widget "
                         "(frames, trees, fix buttons stay interactive) and puts the static render in a second output "
                         "that shows only where the widget can't (a reopened notebook, nbconvert, GitHub); 'replace' "
                         "swaps the widget for the static render").tag(config=True)
    max_lines = Int(200, help="text view: the last N output lines shown (the rest is counted)").tag(config=True)
    max_updates_per_second = Float(10.0, help="text view: output refresh rate limit").tag(config=True)
    grace = Float(5.0, help="seconds stap gets after SIGINT before SIGTERM").tag(config=True)
    stap_path = Unicode("stap", help="the stap program").tag(config=True)
    max_events = Int(100_000, help="events kept in memory per run (diagnostics are always kept)").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        if shell is not None and getattr(shell, "config", None) is not None:
            self.config = shell.config  # pick up %config / ipython_config values
        self.runs: list[Run] = []  # background runs, newest last
        self.last_run: Run | None = None
        self._displays = weakref.WeakKeyDictionary()  # run -> what shows it
        self._symbolizer_cache = None
        self._auto_said = False  # the note on what 'auto' picked was shown

    # --- %%stap ---------------------------------------------------------------------

    @no_var_expand
    @cell_magic
    def stap(self, line, cell):
        """%%stap [options]: run the cell as a SystemTap script.  ``%%stap --help`` lists the options."""
        try:
            args = self._parse_line(line)
        except UsageError as exc:
            print(exc)
            return None
        if args.help:
            print(stap_arg_parser().format_help())
            return None
        try:
            defaults, auto_why = self._defaults()
            options = options_from_args(args, **defaults)
        except (TypeError, ValueError) as exc:
            print(f"%%stap: {exc}")
            return None
        run = Run(cell, options)
        if args.runtime is None and auto_why is not None and options.runtime == "bpf" and not self._auto_said:
            self._auto_said = True  # once a session: the next cells pick the same
            run.add_note(f"runtime bpf: the kernel runtime can't work here ({auto_why}); "
                         "StapMagics.runtime = 'auto' picked bpf, --runtime kernel forces it")
        self._displays[run] = self._display(run, cell)
        try:
            run.start()
        except (RunError, OSError) as exc:
            print(f"%%stap: {exc}")
            return None
        finally:
            self.last_run = run
            if args.out:
                self.shell.user_ns[args.out] = run
        if args.bg:
            self.runs.append(run)
            self.runs = [r for r in self.runs if not r.finished.is_set()]
            return None
        run.wait()  # KeyboardInterrupt stops stap gracefully and keeps the output
        self._finish_display(run)
        return None

    def _finish_display(self, run: Run) -> None:
        """Wait for the final render, so it is sent while this cell still runs
        (clients such as nbclient only take output for the executing cell)."""
        display = self._displays.get(run)
        if hasattr(display, "finish"):
            display.finish()

    def _defaults(self) -> tuple[dict, str | None]:
        """RunOptions defaults from the config, and why 'auto' picked bpf (None if it did not)."""
        values = {"use_sudo": self.use_sudo, "grace": self.grace, "max_events": self.max_events,
                  "stap": self.stap_path}
        auto_why = None
        if self.runtime == "auto":
            runtime, auto_why = auto_runtime()
            if runtime:
                values["runtime"] = runtime
        elif self.runtime:
            if self.runtime not in RUNTIMES:
                raise ValueError(f"StapMagics.runtime must be one of auto, {', '.join(RUNTIMES)}")
            values["runtime"] = self.runtime
        if self.timeout is not None:
            values["timeout"] = self.timeout
        if self.transcript_dir:
            values["transcript_dir"] = self.transcript_dir
        return values, auto_why

    def _expand(self, word: str) -> str:
        """``{expr}`` in one word, evaluated in the user namespace (``{{``/``}}`` for braces)."""
        if "{" not in word and "}" not in word:
            return word
        try:
            return FullEvalFormatter().format(word, **self.shell.user_ns)
        except Exception as exc:
            raise UsageError(f"%%stap: cannot expand {word!r}: {type(exc).__name__}: {exc}") from None

    def _parse_line(self, line: str) -> argparse.Namespace:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%%stap: {exc}") from None
        words, trigger = _split_trigger(words)
        args = stap_arg_parser().parse_args([self._expand(w) for w in words])
        if trigger is not None:
            try:
                args.trigger = [self._expand(w) for w in shlex.split(trigger)]
            except ValueError as exc:
                raise UsageError(f"%%stap: --trigger: {exc}") from None
            if not args.trigger:
                raise UsageError("%%stap: --trigger needs a command")
        return args

    def _display(self, run: Run, cell: str):
        """The seam where views plug in: something that follows the run's callbacks."""
        if self.view not in ("auto", "widget", "text"):
            print(f"%%stap: StapMagics.view must be 'auto', 'widget' or 'text', not {self.view!r}; showing text")
        elif self.view == "widget" or (self.view == "auto" and _in_kernel(self.shell)):
            from ..views import RunView

            view = RunView(run, cell_source=cell, symbolizer=self._symbolizer(), final=self.final_view)
            view.show()
            return view
        return TextRunDisplay(run, shell=self.shell, max_lines=self.max_lines,
                              max_rate=self.max_updates_per_second).start()

    def _symbolizer(self):
        """One symbolizer (its caches) per set of source roots, shared by the runs' views."""
        from ..symbols import Symbolizer

        key = tuple(self.source_roots)
        if self._symbolizer_cache is None or self._symbolizer_cache[0] != key:
            self._symbolizer_cache = (key, Symbolizer(source_roots=key))
        return self._symbolizer_cache[1]

    # --- %stap_stop -----------------------------------------------------------------

    @line_magic
    def stap_stop(self, line=""):
        """%stap_stop [NAME | --all]: stop the newest background run (or the Run bound to NAME, or all)."""
        target = line.strip()
        live = [r for r in self.runs if not r.finished.is_set()]
        if target == "--all":
            chosen = live
        elif target:
            run = self.shell.user_ns.get(target)
            if not isinstance(run, Run):
                print(f"%stap_stop: {target} is not a stapbench Run")
                return None
            chosen = [run]
        else:
            chosen = live[-1:]
        if not chosen:
            print("%stap_stop: no background run is going")
            return None
        for run in chosen:
            run.stop(reason="stopped")
        for run in chosen:
            run.wait()
            self._finish_display(run)
        self.runs = [r for r in self.runs if not r.finished.is_set()]
        return None

    # --- %stap_replay ---------------------------------------------------------------

    @no_var_expand
    @line_magic
    def stap_replay(self, line=""):
        """%stap_replay PATH [--out NAME]: show a recorded run folder (no stap needed)."""
        from ..runner import replay

        words = [self._expand(w) for w in shlex.split(line)]
        out = None
        if "--out" in words:
            at = words.index("--out")
            out = words[at + 1] if at + 1 < len(words) else None
            del words[at:at + 2]
        if len(words) != 1:
            print("usage: %stap_replay PATH [--out NAME]")
            return None
        try:
            run = replay(words[0])
        except OSError as exc:
            print(f"%stap_replay: {exc}")
            return None
        if out:
            self.shell.user_ns[out] = run
        self._displays[run] = self._display(run, run.script)
        self._finish_display(run)
        return None

    # --- %stap_list -----------------------------------------------------------------

    @no_var_expand
    @line_magic
    def stap_list(self, line=""):
        """%stap_list [-v] [--out NAME] PATTERN: ``stap -L PATTERN`` as a table (probe point,
        source file:line, $parameters:types); when nothing matches, the closest probe points.
        ``{expr}`` expands Python values: ``%stap_list process("{nginx}").function("ngx_http_*")``."""
        from ..runner.listing import list_probes
        from ..views import render_probe_listing_html, render_probe_listing_text
        from ..views._html import wrap_root

        m = _LIST_OPTIONS.match(line)
        verbose, out, pattern = bool(m.group("v1") or m.group("v2")), m.group("out"), line[m.end():].strip()
        if not pattern:
            print('usage: %stap_list [-v] [--out NAME] PATTERN, e.g. process("/usr/sbin/nginx").function("ngx_*")')
            return None
        try:
            # the pattern keeps its quotes and spaces: it is one stap argument, never split by a shell
            pattern = self._expand(pattern)
        except UsageError as exc:
            print(exc)
            return None
        result = list_probes(pattern, stap=self.stap_path, verbose=verbose, timeout=self.timeout or 300.0)
        if out:
            self.shell.user_ns[out] = result
        problems = [] if result.listings else [d.raw.rstrip("\n") for d in result.diagnostics
                                               if d.severity == "error"]
        if result.timed_out:
            problems.append(f"stap -L did not answer within {self.timeout or 300.0:.0f} s")
        from IPython.display import display

        display({"text/html": wrap_root(render_probe_listing_html(pattern, result.listings, result.suggestions,
                                                                  problems), kind="listing"),
                 "text/plain": render_probe_listing_text(pattern, result.listings, result.suggestions, problems)},
                raw=True)
        return None

    # --- %stap_doctor ---------------------------------------------------------------

    @line_magic
    def stap_doctor(self, line=""):
        """%stap_doctor [--target BIN] [--no-live]: what stap needs here, each problem with its remedy."""
        from ..runner.doctor import doctor_main

        try:
            doctor_main(shlex.split(line), prog="%stap_doctor")
        except SystemExit:
            pass
        return None

    def stop_all(self) -> None:
        from ..runner.cleanup import stop_all

        stop_all()
