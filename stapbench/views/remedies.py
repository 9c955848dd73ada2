"""What to do about a diagnostic: stapbench's own advice beside stap's message.

stap's messages say what went wrong in stap's terms; several of the ones users
meet first say nothing about the way out, and some mislead (on the BPF runtime,
``unresolved function print_ubacktrace`` comes with "similar" names such as
``python_print_backtrace``).  Each rule here matches one such message by its
text and gives the remedy: the option, the macro, the package or the rewrite.
Pure functions over :class:`~stapbench.model.Diagnostic`; the renderers show the
result under the message (escaped like everything else).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Diagnostic

# functions of the kernel runtime's tapset that stap 4.8's BPF tapset lacks: backtraces,
# symbol lookups, registers
_KERNEL_ONLY = (
    "print_ubacktrace", "print_backtrace", "sprint_ubacktrace", "sprint_backtrace", "print_ubacktrace_brief",
    "print_ubacktrace_fileline", "print_backtrace_fileline", "ubacktrace", "backtrace", "print_ustack",
    "print_stack", "sprint_ustack", "sprint_stack", "print_usyms", "print_syms", "sprint_usyms", "sprint_syms",
    "uaddr", "usymname", "usymdata", "symname", "symdata", "umodname", "modname", "task_backtrace",
    "print_regs", "register", "u_register", "ucallers", "callers",
)
_UNRESOLVED_KERNEL_ONLY = re.compile(r"unresolved function (" + "|".join(_KERNEL_ONLY) + r")\b")

_USE_KERNEL_RUNTIME = ("run the cell on the kernel runtime (--runtime kernel), which needs the running "
                       "kernel's headers (%stap_doctor says whether this machine has them)")
_KERNEL_HEADERS = ("stap's kernel runtime compiles a kernel module, which needs the running kernel's "
                   "headers and build files (Debian: apt-get install linux-headers-$(uname -r)). Without "
                   "them, --runtime bpf still runs user-space probes (process(\"BIN\").function(\"f\"), "
                   "$param->member, printf): %%stap --runtime bpf, or %config StapMagics.runtime = 'bpf'")


@dataclass(frozen=True)
class Remedy:
    text: str
    #: stap's "similar" names are no fix for this message (spelled alike, unrelated)
    suggestions_unrelated: bool = False
    #: the message changes nothing for what runs here: shown folded, one line
    harmless: bool = False


def _kernel_only_function(m: re.Match, diag: Diagnostic) -> Remedy:
    name = m.group(1)
    return Remedy(f"{name}() is part of the kernel runtime: the BPF runtime has no backtraces or symbol "
                  f"lookups. Either {_USE_KERNEL_RUNTIME}, or keep the BPF probe and print the values "
                  "you need with printf (probes on the callers show the path).",
                  suggestions_unrelated=True)


def _bpf_sprintf(m: re.Match, diag: Diagnostic) -> Remedy:
    what = diag.token if diag.token and diag.token.startswith("$") else "$var$, $var$$ and $$vars"
    return Remedy(f"the BPF runtime cannot format strings with sprintf, which pretty-printing {what} "
                  "needs. Print the members one by one instead (printf(\"%d %d\\n\", $c->number, "
                  "$c->fd)); for a parameter of the probed function the fix rewrites the cell so (shown "
                  f"as the same struct tree), or {_USE_KERNEL_RUNTIME}.")


def _bpf_function(m: re.Match, diag: Diagnostic) -> Remedy:
    name = f"{diag.token}()" if diag.token else "this function"
    return Remedy(f"{name} is not available on the BPF runtime: leave it out (print a literal "
                  f"instead), or {_USE_KERNEL_RUNTIME}.")


# stap 4.8's BPF runtime refuses these aggregates at pass 4 (checked with stap --runtime=bpf -p4);
# @count, @sum and @avg work there
_BPF_HISTOGRAM = ("the BPF runtime (stap 4.8) cannot print @hist_log / @hist_linear. Count buckets in an "
                  "array instead: buckets[v / 10 * 10] += 1 in the probe, then probe end { foreach (b+ in "
                  "buckets) printf(\"buckets[%d]=%d\\n\", b, buckets[b]) } (stapbench draws that array as a "
                  "chart: stapbench.views.charts.aggregate_charts(run)); or " + _USE_KERNEL_RUNTIME + ".")


def _bpf_min_max(m: re.Match, diag: Diagnostic) -> Remedy:
    op = diag.token or "@min / @max"
    return Remedy(f"the BPF runtime (stap 4.8) has no {op}; @count, @sum and @avg work there. Keep the "
                  "extremes in globals yourself: global lo = 9223372036854775807, hi = -9223372036854775808, "
                  "then if (v < lo) lo = v; if (v > hi) hi = v beside agg <<< v; or " + _USE_KERNEL_RUNTIME + ".")


def _user_debuginfo(m: re.Match, diag: Diagnostic) -> Remedy:
    """A program without DWARF: stap still finds its functions (the symbol table), but not their
    parameters, source lines or $variables; the check that proves it, run on the file now."""
    from ..runner.doctor import check_debuginfo

    module = m.group("module") or m.group("scope")
    text = (f"{module} has no debuginfo stap can use: it finds the functions in the symbol table, but "
            "not their $parameters, $variables or source lines.")
    if module.startswith("/"):
        check = check_debuginfo(module)
        if check.ok is False and "no DWARF" in check.found:
            text += (f" Checked now: it has no .debug_info section and no separate debuginfo by build-id "
                     f"(readelf -S {module} | grep -c debug_info prints 0; stapbench doctor --target {module} "
                     "says the same).")
        elif check.ok:
            text += f" Checked now: {check.found}, so the file was rebuilt or replaced since this run."
        if check.remedy:
            text += f" Fix: {check.remedy}."
    else:
        text += " Fix: install its -dbgsym/-debuginfo package, or rebuild it with -g."
    return Remedy(text)


def _missing_unwind(m: re.Match, diag: Diagnostic) -> Remedy:
    module = m.group("module")
    if module == "(unknown)":  # stap could not name the module the unwinder stopped in
        return Remedy("stap's unwinder reached code it has no unwind data for and could not name the module "
                      "(so its own advice, stap -d (unknown), can't be followed): usually a shared library "
                      "of the target (libc's read/write/epoll). Add --ldd to the %%stap line (unwind data "
                      "for all the target's libraries), or -d /lib/x86_64-linux-gnu/libc.so.6 for one.")
    return Remedy(f"the backtrace stops in {module}, for which stap has no unwind data: add -d {module} to "
                  "the %%stap line (or --ldd, for all of a program's shared libraries).")


def _fixed(text: str, **kwargs):
    return lambda m, diag: Remedy(text, **kwargs)


_RULES: list[tuple[re.Pattern, object]] = [
    (_UNRESOLVED_KERNEL_ONLY, _kernel_only_function),
    (re.compile(r"unsupported sprintf in bpf"), _bpf_sprintf),
    (re.compile(r"may not be used with bpf runtime"), _bpf_function),
    (re.compile(r"unhandled histogram print"), _fixed(_BPF_HISTOGRAM)),
    (re.compile(r"unhandled stat op"), _bpf_min_max),
    (re.compile(r"insufficent BPF stack size|insufficient BPF stack size|max_tmp_space <= MAX_BPF_STACK"),
     _fixed("the BPF runtime has a 512-byte stack and each string value takes 64 bytes of it: read fewer "
            "strings in this probe (stap 4.8 manages about one user_string per probe), or spread them over "
            "probes of their own (a second probe on the same function prints the next one).")),
    # stap's pre-pass 4 check; the lines after it (Ensure kernel development headers..., Incorrect
    # version or missing kernel-devel package...) are the same problem and get no second copy
    (re.compile(r"Checking \"\s*\S*/build/(?:Makefile|\.config)\s*\" failed"), _fixed(_KERNEL_HEADERS)),
    (re.compile(r"Kernel function symbol table missing"),
     _fixed("harmless for process(...) probes: stap means the kernel's own symbol table (System.map, "
            "from the kernel build tree or /boot), which only kernel probes and kernel backtraces need.",
            harmless=True)),
    (re.compile(r"missing \S+ kernel/module debuginfo"),
     _fixed("kernel.function / kernel.statement / module(...) probes need the kernel's debuginfo "
            "(Debian: the linux-image-$(uname -r)-dbg package, from the debian-debug archive), and a "
            "kernel runtime to run them. User-space probes (process(\"BIN\")...) need only that "
            "program's own debuginfo.")),
    (re.compile(r"cannot find module (?P<module>/\S+) debuginfo|"
                r"debuginfo scope not found for module '(?P<scope>/[^']+)'"), _user_debuginfo),
    (re.compile(r"Missing unwind data for a module, rerun with 'stap -d (?P<module>[^']+)'"), _missing_unwind),
    (re.compile(r"Format string for print too long"),
     _fixed("the BPF runtime takes a printf format of about 200 bytes at most, and $var$ of a big struct "
            "(or a long format of your own) makes a longer one: split the printf into several, each "
            "printing a part of the line; for a $var$ of a parameter of the probed function the fix "
            "rewrites the cell so (member by member, shown as the same struct tree).")),
    (re.compile(r"^no match\b"),
     _fixed("no probe point has that name. stap's similar names (if any) are below; %stap_list "
            "process(\"BIN\").function(\"PATTERN*\") lists the probe points there are, with their "
            "source line and $parameters.")),
    (re.compile(r"MAXACTION exceeded"),
     _fixed("a probe handler ran more than MAXACTION statements (1000 by default) and stap stopped "
            "the run: raise the limit with -D MAXACTION=100000, or make the handler do less "
            "(a loop over a long list?).")),
    (re.compile(r"Skipped too many probes"),
     _fixed("too many probe hits were skipped (MAXSKIPPED, 100 by default): rerun with -t to see why "
            "(usually MAXMAPENTRIES, a full map, or reentrancy), or raise -D MAXSKIPPED=1000.")),
    (re.compile(r"probe overhead exceeded threshold"),
     _fixed("the probes used more CPU time than stap allows and it stopped the run: probe fewer or "
            "less frequent functions, or accept the cost with -D STP_NO_OVERLOAD.")),
    (re.compile(r"(?:read|write|string copy|register access) fault"),
     _fixed("the probe read memory it could not (a NULL or stale pointer, or a user page not paged "
            "in yet): test the pointer first (if ($p) ...), wrap the read in try { } catch { }, or "
            "use the _warn variants (user_string_warn) that warn instead of stopping.")),
    (re.compile(r"Build-id mismatch"),
     _fixed("the binary or kernel on disk is not the one stap compiled against (rebuilt or "
            "upgraded since?): point the probe at the file that is running, or restart it.")),
]


def remedies(diag: Diagnostic) -> list[Remedy]:
    """stapbench's advice for this diagnostic (none for most)."""
    out = []
    for pattern, make in _RULES:
        m = pattern.search(diag.message)
        if m is None:
            m = next(filter(None, (pattern.search(d) for d in diag.details)), None)
        if m is not None:
            out.append(make(m, diag))
    return out
