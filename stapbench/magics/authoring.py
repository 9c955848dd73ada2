"""Authoring glue: ``%%stap`` cells complete as SystemTap (stapbench.authoring.completion).

IPython asks its matchers in priority order; this one comes first and, in a ``%%stap`` cell,
answers for the cell: with its own completions and ``suppress`` (IPython's way of saying no
other matcher's results count), and, when it has none, by disabling the other matchers for
that request (IPython only honours ``suppress`` from a non-empty answer, and a Python name is
never right inside stap).  Outside ``%%stap`` cells, and in a ``{python}`` expansion on the
``%%stap`` line, the user's own matcher settings are back in force.
"""

from __future__ import annotations

from IPython.core.completer import SimpleCompletion, context_matcher

MATCHER_ID = "stapbench.stap_cell"
PRIORITY = 1000
#: how long a Tab waits for a binary's first stap -L before it answers without its names
LISTING_WAIT_S = 2.0


def _matcher_id(matcher) -> str:
    return getattr(matcher, "matcher_identifier", None) or matcher.__qualname__  # as IPython names it


class StapCellCompletion:
    def __init__(self, ipython, magics=None):
        from ..authoring.completion import StapCompleter

        self.ipython = ipython
        self.engine = StapCompleter(symbolizer=magics._symbolizer() if magics is not None else None,
                                    resolve_name=lambda name: ipython.user_ns.get(name),
                                    listing_wait=LISTING_WAIT_S)
        if magics is not None:  # the symbolizer follows %config StapMagics.source_roots
            self.engine_symbolizer = magics._symbolizer
        completer = ipython.Completer
        self._user_disabled = list(completer.disable_matchers)
        self._disabling = False

        @context_matcher(identifier=MATCHER_ID, priority=PRIORITY)
        def stap_cell_matcher(context):
            return self.match(context)

        self.matcher = stap_cell_matcher
        completer.custom_matchers.append(stap_cell_matcher)

    def match(self, context):
        completer = self.ipython.Completer
        text = context.full_text
        lines = text.split("\n")
        offset = sum(len(line) + 1 for line in lines[: context.cursor_line]) + context.cursor_position
        if hasattr(self, "engine_symbolizer"):
            self.engine.symbolizer = self.engine_symbolizer()
        result = self.engine.complete(text, offset)
        self._own_the_request(completer, result is not None)
        if result is None:
            return {"completions": [], "suppress": False}
        return {
            "completions": [SimpleCompletion(c.text, type=c.kind) for c in result.items],
            "matched_fragment": text[result.start: offset],
            "suppress": True,
            "ordered": True,  # closest first, as the engine ranked them
        }

    def _own_the_request(self, completer, own: bool) -> None:
        if own:
            if not self._disabling:
                self._user_disabled = list(completer.disable_matchers)
            others = [_matcher_id(m) for m in completer.matchers if m is not self.matcher]
            completer.disable_matchers = sorted(set(self._user_disabled) | set(others))
            self._disabling = True
        elif self._disabling:
            completer.disable_matchers = self._user_disabled
            self._disabling = False

    def remove(self) -> None:
        completer = self.ipython.Completer
        self._own_the_request(completer, False)
        if self.matcher in completer.custom_matchers:
            completer.custom_matchers.remove(self.matcher)


_installed: StapCellCompletion | None = None


def load(ipython, magics=None) -> None:
    global _installed
    if _installed is None and getattr(ipython, "Completer", None) is not None:
        _installed = StapCellCompletion(ipython, magics)


def unload(ipython) -> None:
    global _installed
    if _installed is not None:
        _installed.remove()
        _installed = None


# --- %stap_probes ---------------------------------------------------------------------------

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.magic import Magics, line_magic, magics_class  # noqa: E402
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring  # noqa: E402


@magics_class
class AuthoringMagics(Magics):
    def __init__(self, shell=None, stap_magics=None):
        super().__init__(shell=shell)
        self.stap_magics = stap_magics

    @line_magic
    @magic_arguments()
    @argument("target", metavar="BIN|PID", help="a binary's path or name, or a running process's pid")
    @argument("pattern", nargs="?", default="", help="what to look for (stap's globs work: ngx_http_*_request)")
    def stap_probes(self, line=""):
        """Browse a binary's (or a running process's) functions and SDT markers: a search box
        ranked as you type, the source of the selected one, and a button inserting a ready probe
        cell below.  The listing (stap -L) is cached per build-id."""
        from ..authoring.catalog import shared_cache
        from ..authoring.probes import catalogs_for
        from ..views.probebrowser import ProbeBrowser

        args = parse_argstring(self.stap_probes, line)  # a bad line: UsageError, so Run All stops
        cache = shared_cache()
        if self.stap_magics is not None:
            cache.stap = self.stap_magics.stap_path
        try:
            catalogs, pid = catalogs_for(args.target, cache)
        except (FileNotFoundError, OSError) as exc:
            raise UsageError(f"%stap_probes: {args.target}: {exc.strerror or exc}") from None
        symbolizer = self.stap_magics._symbolizer() if self.stap_magics is not None else None
        return ProbeBrowser(catalogs, pattern=args.pattern, pid=pid, symbolizer=symbolizer)


def register_magics(ipython, stap_magics=None) -> None:
    ipython.register_magics(AuthoringMagics(shell=ipython, stap_magics=stap_magics))
