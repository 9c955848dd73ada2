"""Backtrace frame -> source file:line, from the module's symbol table and DWARF on disk.

Conventions (stap's ``print_ubacktrace`` and friends):

* A frame's position in the module is ``symbol's st_value + offset`` when stap
  printed a symbol (addresses printed by stap are run-time ones, shifted by
  ASLR, so they are only used for non-PIE executables), and, for a module-only
  frame (`` 0x.. [/lib/libc.so.6+0xdbe07/0x39b000]``), the offset from the
  module's first mapping (PIE, shared library) or the offset itself (non-PIE
  ET_EXEC), as stap's ``_stp_kallsyms_lookup`` computes it.
* **Return addresses.** The first frame of a backtrace is the probe's own PC:
  it is looked up as printed.  Every later frame (``Returning to``, the
  callers) is a *return address*, the instruction after a call, which may
  already belong to the next source line or even to the next function; those
  are looked up at ``address - 1``, inside the call instruction, like gdb and
  ``addr2line`` users do.  :meth:`Symbolizer.locate_backtrace` applies this;
  :meth:`Symbolizer.locate` takes ``return_address=`` for a single frame
  (default: only a ``returning_to`` frame is one).
* Everything is cached per build-id: the first lookup in a module reads its
  symbol table, the address ranges of its compilation units and the line table
  of the unit it needs; later lookups in that module are a dict hit and a bisect.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from elftools.elf.elffile import ELFFile

from ..model.events import Frame
from . import dwarftypes
from . import location as loc
from .elfmodule import (DebugInfo, Module, ModuleSymbols, gc_paused, has_dwarf, load_base, read_build_id,
                        read_debuglink, stat_key)
from .location import SourceLocation, SourceSnippet
from .sources import SourceCache, find_source

#: 64-bit kernels (x86_64 0xffff8..., aarch64 0xffff0...) live in the top half of the address space
KERNEL_ADDRESS_MIN = 1 << 63
#: re-check a cached module's file (inode, size, mtime) at most this often, in seconds
RECHECK_SECONDS = 2.0
#: at most this many located frames are remembered (then the memo starts again)
MEMO_SIZE = 200_000


def _locked(method):
    """Run ``method`` holding the Symbolizer's lock: pyelftools reads through one shared file
    object per module (seek + read), so two threads decoding at once would interleave."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(slots=True)
class SymbolizerStats:
    """What the caches did: tests and the benchmark read these."""

    modules_opened: int = 0  # ELF files opened and indexed (module files and debug files)
    module_hits: int = 0  # lookups answered from the module cache (no file touched)
    memo_hits: int = 0  # frames answered from the located-frame memo
    build_id_hits: int = 0  # a module file whose build-id's DWARF was already indexed (not parsed again)


class Symbolizer:
    """Resolves stap backtrace frames against the modules on this machine.

    ``source_roots``: folders where relative DWARF file names
    (``src/http/ngx_http_request.c``) are looked up, before the DWARF
    compilation directory.  ``debug_dirs``: where separate debuginfo lives
    (``DIR/.build-id/xx/yyyy.debug``, ``DIR/<module dir>/<debuglink>``).
    ``modules``: full paths of modules, so that a frame naming only a basename
    (``[nginx]``, sprint_ubacktrace's SIMPLE style) can be found, and a frame
    with no module at all (``print_ubacktrace_brief``) is looked up in them by
    symbol; every full path seen in a frame is remembered the same way.  As a
    last resort a bare basename is looked up on ``PATH``.

    ``sysroot``: the folder where the traced machine's files are on this one
    (a lab's rootfs, for a run on a remote target): an absolute module path, the
    debug folders and a DWARF compilation directory are looked up under it
    first, then as they are.
    """

    def __init__(self, source_roots: Iterable[str | os.PathLike] = (),
                 debug_dirs: Iterable[str | os.PathLike] = ("/usr/lib/debug",),
                 modules: Iterable[str | os.PathLike] = (),
                 sysroot: str | os.PathLike | None = None):
        self.sysroot = Path(sysroot) if sysroot is not None else None
        if self.sysroot is not None:
            debug_dirs = [self._in_sysroot(d) for d in debug_dirs] + [Path(d) for d in debug_dirs]
        self._found_sources: dict[tuple[str, str | None], tuple[float, Path | None]] = {}
        self._memo: dict[tuple, tuple[Module, SourceLocation]] = {}
        self._lock = threading.RLock()
        self.source_roots = source_roots
        self.debug_dirs: tuple[Path, ...] = tuple(Path(p) for p in debug_dirs)
        self._known: dict[str, Path] = {}  # basename -> full path
        self._unreadable: dict[str, str] = {}  # path -> why it could not be opened as ELF
        self._names: dict[str, tuple[float, Module | None]] = {}  # frame module name -> (checked, module)
        self._modules: dict[str, tuple[tuple, Module | None]] = {}  # path -> (stat key, module)
        self._symbols_by_id: dict[str, ModuleSymbols] = {}
        self._debug_by_id: dict[tuple[str, str], DebugInfo] = {}
        self._sources = SourceCache()
        self.stats = SymbolizerStats()
        for path in modules:
            self.add_module(path)

    @property
    def source_roots(self) -> tuple[Path, ...]:
        return self._source_roots

    @source_roots.setter
    def source_roots(self, roots: Iterable[str | os.PathLike]) -> None:
        self._source_roots = tuple(Path(p).expanduser() for p in roots)
        self._found_sources.clear()
        self._memo.clear()

    # -- modules -------------------------------------------------------------
    def add_module(self, path: str | os.PathLike) -> None:
        """Make ``path`` findable by its basename."""
        full = Path(path)
        self._known.setdefault(full.name, full)

    def module(self, name: str) -> Module | None:
        """The indexed module for a path or known basename, or None if there's no such ELF file."""
        # a warm lookup is one dict hit: names are re-resolved (and files re-stat'ed) only
        # every RECHECK_SECONDS, so a rebuilt binary is noticed without a stat per frame
        now = time.monotonic()
        cached = self._names.get(name)
        if cached is not None and now - cached[0] < RECHECK_SECONDS:
            self.stats.module_hits += 1
            return cached[1]
        with self._lock:
            path = self._find_module_path(name)
            module = self._load(path) if path is not None else None
            self._names[name] = (now, module)
        return module

    def _in_sysroot(self, path: str | os.PathLike) -> Path:
        return self.sysroot / Path(path).relative_to("/") if Path(path).is_absolute() else Path(path)

    def _find_module_path(self, name: str) -> Path | None:
        if "/" in name:
            for path in ((self._in_sysroot(name), Path(name)) if self.sysroot is not None else (Path(name),)):
                if path.is_file():
                    self.add_module(path)
                    return path
            return None
        known = self._known.get(name)
        if known is not None:
            return known
        found = shutil.which(name)
        return Path(found) if found else None

    def _load(self, path: Path) -> Module | None:
        key = str(path)
        try:
            current = stat_key(path)
        except OSError:
            self._modules.pop(key, None)
            return None
        cached = self._modules.get(key)
        if cached is not None and cached[0] == current:
            return cached[1]
        module = self._open(path, current)
        self._modules[key] = (current, module)
        return module

    def _open(self, path: Path, key: tuple) -> Module | None:
        # any file can be named in a frame: a broken or foreign one must not raise
        try:
            stream = open(path, "rb")
        except OSError as exc:
            self._unreadable[str(path)] = exc.strerror or str(exc)
            return None
        with gc_paused():
            return self._index(path, key, stream)

    def _index(self, path: Path, key: tuple, stream) -> Module | None:
        try:
            elf = ELFFile(stream)
            build_id = read_build_id(elf)
            cache_id = build_id or f"{path}:{key}"
            symbols = self._symbols_by_id.get(cache_id)
            if symbols is None:
                symbols = ModuleSymbols(elf)
                self._symbols_by_id[cache_id] = symbols
            module = Module(path=path, build_id=build_id, load_base=load_base(elf), symbols=symbols,
                            debug=None, debuglink=read_debuglink(elf), stat_key=key, files=[stream])
        except Exception as exc:  # ELFError, struct/construct errors on truncated files, ...
            stream.close()
            self._unreadable[str(path)] = f"not a readable ELF file: {exc}"
            return None
        self._unreadable.pop(str(path), None)
        self.stats.modules_opened += 1
        try:
            self._attach_debug(module, elf, cache_id)
        except Exception as exc:  # corrupt DWARF: keep the symbols, report no debuginfo
            module.debug = None
            module.debug_error = str(exc) or type(exc).__name__
        return module

    def _attach_debug(self, module: Module, elf: ELFFile, cache_id: str) -> None:
        symbols = module.symbols
        debug_elf, debug_path = (elf, module.path) if has_dwarf(elf) else self._find_debug_file(module)
        if debug_elf is not None:
            # DWARF inside the module itself is the same for every copy of that build
            debug_key = (cache_id, "" if debug_elf is elf else str(debug_path))
            debug = self._debug_by_id.get(debug_key)
            if debug is None:
                debug = DebugInfo(debug_elf, debug_path)
                self._debug_by_id[debug_key] = debug
            else:
                self.stats.build_id_hits += 1
            module.debug, module.debug_path = debug, debug_path
            if symbols.table != ".symtab" and debug_elf is not elf:
                # a fully stripped module: its debug file still has the full symbol table
                full = ModuleSymbols(debug_elf)
                if full.table == ".symtab":
                    module.symbols = self._symbols_by_id[cache_id] = full

    def _find_debug_file(self, module: Module) -> tuple[ELFFile | None, Path | None]:
        candidates: list[Path] = []
        if module.build_id and len(module.build_id) > 2:
            bid = module.build_id
            candidates += [d / ".build-id" / bid[:2] / f"{bid[2:]}.debug" for d in self.debug_dirs]
        if module.debuglink:
            folder = module.path.resolve().parent
            candidates += [folder / module.debuglink, folder / ".debug" / module.debuglink]
            candidates += [d / folder.relative_to("/") / module.debuglink for d in self.debug_dirs]
        for candidate in candidates:
            if not candidate.is_file():
                continue
            try:
                stream = open(candidate, "rb")
            except OSError:
                continue
            try:
                elf = ELFFile(stream)
                usable = has_dwarf(elf) and (not module.build_id or read_build_id(elf) in (None, module.build_id))
            except Exception:  # a broken debug file is no debug file; try the next candidate
                usable = False
            if not usable:
                stream.close()
                continue
            self.stats.modules_opened += 1
            module.files.append(stream)
            return elf, candidate
        return None, None

    def _module_defining(self, symbol: str) -> str | None:
        for path in list(self._known.values()):
            module = self.module(str(path))
            if module is not None and module.symbols.find(symbol) is not None:
                return module.name
        return None

    def _hint_no_module(self, name: str) -> str:
        path = self._find_module_path(name)
        return _hint_no_module(name, self._unreadable.get(str(path)) if path is not None else None)

    # -- frames --------------------------------------------------------------
    def locate_backtrace(self, frames: Sequence[Frame], *, return_probe: bool = False) -> list[SourceLocation]:
        """Locate every frame of one backtrace: the first as printed, the rest as return addresses.

        ``return_probe``: the backtrace was printed in a ``.return`` probe in a
        style without ``Returning from:`` lines, so even its first frame is a
        return address.
        """
        return [self.locate(f, return_address=bool(i) or return_probe or f.role == "returning_to")
                for i, f in enumerate(frames)]

    def locate(self, frame: Frame, *, return_address: bool | None = None) -> SourceLocation:
        """Where ``frame`` points: function, DWARF file name, file on disk and line, or the problem.

        The result may be shared with later calls for the same frame: treat it as read-only.

        ``return_address``: look the address up at ``- 1`` (see the module
        docstring); None means "only if ``frame.role == 'returning_to'``".
        """
        if return_address is None:
            return_address = frame.role == "returning_to"
        found = self._locate_frame(frame, return_address)
        if found.line is None and frame.file and frame.line:
            return self._printed_fileline(found, frame)
        return found

    def _printed_fileline(self, found: SourceLocation, frame: Frame) -> SourceLocation:
        """stap's ``*_fileline`` output named file:line itself: use it when the module on disk can't."""
        path = self._find_source(frame.file, None)
        if path is not None:
            return replace(found, file=frame.file, line=frame.line, path=path, problem=None, hint=None)
        if found.problem == loc.KERNEL:
            return replace(found, file=frame.file, line=frame.line)
        return replace(found, file=frame.file, line=frame.line, problem=loc.NO_SOURCE,
                       hint=_hint_no_source(frame.file, None))

    def _locate_frame(self, frame: Frame, return_address: bool) -> SourceLocation:
        name = frame.module
        if self._is_kernel(frame):
            return SourceLocation(module=name, function=frame.symbol, problem=loc.KERNEL, hint=_hint_kernel(name, self.sysroot))
        if not name and frame.symbol:  # BRIEF style (`sym+0x1`): the symbol in a module seen before
            name = self._module_defining(frame.symbol)
        if not name:
            return SourceLocation(function=frame.symbol, problem=loc.NO_MODULE,
                                  hint="stap printed no module for this address: rerun with "
                                       "`stap -d /path/to/binary` (or `--ldd`) so it can name the module.")
        module = self.module(name)
        if module is None:
            return SourceLocation(module=name, function=frame.symbol, problem=loc.NO_MODULE,
                                  hint=self._hint_no_module(name))
        # the same frame again (backtraces repeat): one dict hit, valid while the module file is unchanged
        key = (name, frame.symbol, frame.offset, frame.size, None if frame.symbol else frame.address, return_address)
        memo = self._memo.get(key)
        if memo is not None and memo[0] is module:
            self.stats.memo_hits += 1
            return memo[1]
        try:
            with self._lock:
                found = self._locate_in(module, frame, return_address)
        except Exception as exc:  # corrupt DWARF that slipped past the indexers: say so, don't raise
            return SourceLocation(module=module.name, function=frame.symbol, problem=loc.NO_DEBUGINFO,
                                  hint=f"The DWARF debuginfo of {module.path} could not be read ({exc}): rebuild "
                                       "it with -g, or install its debug symbols.", build_id=module.build_id)
        if found.problem != loc.NO_SOURCE:  # a missing source is looked for again later
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = (module, found)
        return found

    def _locate_in(self, module: Module, frame: Frame, return_address: bool) -> SourceLocation:
        address, function = self._frame_address(module, frame)
        if address is None and module.debug is None and module.symbols.table != ".symtab":
            # fully stripped (only .dynsym left): the debuginfo would bring the symbol table back
            return SourceLocation(module=module.name, function=frame.symbol, problem=loc.NO_DEBUGINFO,
                                  hint=_hint_no_debuginfo(module), build_id=module.build_id)
        if address is None:
            hint = (f"`{frame.symbol}+{frame.offset or 0:#x}` is not in the symbol table of {module.path}: the "
                    "binary may have been rebuilt since the run (compare build-ids) or stripped; rerun stap with "
                    f"`-d {module.path}`."
                    if frame.symbol else
                    f"stap printed only a run-time address; rerun stap with `-d {module.path}` so it prints "
                    "symbols.")
            return SourceLocation(module=module.name, function=frame.symbol, problem=loc.NO_SYMBOL,
                                  hint=hint, build_id=module.build_id)
        if return_address and address > 0:
            address -= 1
            sym = module.symbols.at(address)
            if sym is not None and frame.offset == 0:
                function = sym.name  # the call was the last instruction of the function before
        return self._locate_address(module, address, function)

    def _is_kernel(self, frame: Frame) -> bool:
        if frame.address is not None and frame.address >= KERNEL_ADDRESS_MIN:
            return True
        name = frame.module or ""
        return name == "kernel" or name.startswith("stap_") or name.endswith(".ko")

    def _frame_address(self, module: Module, frame: Frame) -> tuple[int | None, str | None]:
        """The module-relative (ELF virtual) address the frame names, and its function."""
        if frame.symbol:
            sym = module.symbols.find(frame.symbol, frame.size)
            offset = frame.offset or 0
            # past the end (== size is a return address after a last, noreturn call): not this build
            if sym is None or (sym.size and not 0 <= offset <= sym.size):
                return None, frame.symbol
            return sym.address + offset, frame.symbol
        if frame.offset is not None:  # module-only frame: [mod+0xOFF/0xSIZE]
            address = (module.load_base or 0) + frame.offset
        elif frame.address is not None and module.load_base is None:  # non-PIE: run-time == link-time
            address = frame.address
        else:
            return None, None
        sym = module.symbols.at(address)
        return address, sym.name if sym else None

    def _locate_address(self, module: Module, address: int, function: str | None) -> SourceLocation:
        found = SourceLocation(module=module.name, function=function, address=address,
                               build_id=module.build_id)
        if module.debug is None:
            found.problem = loc.NO_DEBUGINFO
            found.hint = _hint_no_debuginfo(module)
            return found
        unit, row = module.debug.line_at(address)
        if row is None:
            found.problem = loc.NO_LINE
            if module.symbols.at(address) is None:
                found.hint = (f"Address {address:#x} is outside every function of {module.path}: the file on disk "
                              "may not be the build that was traced (compare build-ids).")
            else:
                found.hint = (f"{module.debug_path} has no line-table row for address {address:#x}: that code was "
                              "compiled without -g (assembly, a static library); rebuild it with -g.")
            return found
        found.file, found.line = row
        return self._attach_source(found, unit.comp_dir if unit else None)

    def _attach_source(self, found: SourceLocation, comp_dir: str | None) -> SourceLocation:
        found.path = self._find_source(found.file, comp_dir)
        if found.path is None:
            found.problem = loc.NO_SOURCE
            found.hint = _hint_no_source(found.file, comp_dir)
        return found

    def _find_source(self, file: str, comp_dir: str | None) -> Path | None:
        # cached: a warm lookup must not stat files; a miss is retried after RECHECK_SECONDS
        key = (file, comp_dir)
        now = time.monotonic()
        cached = self._found_sources.get(key)
        if cached is not None and (cached[1] is not None or now - cached[0] < RECHECK_SECONDS):
            return cached[1]
        path = find_source(file, self._source_roots, comp_dir)
        if path is None and self.sysroot is not None and comp_dir and os.path.isabs(comp_dir):
            path = find_source(file, (), str(self._in_sysroot(comp_dir)))
        self._found_sources[key] = (now, path)
        return path

    @_locked
    def locate_address(self, module: str, address: int) -> SourceLocation:
        """Where a link-time address of ``module`` is (an SDT marker's, from its ELF note): the
        function holding it (the symbol table) and, with DWARF, its file and line."""
        mod = self.module(module)
        if mod is None:
            return SourceLocation(module=module, problem=loc.NO_MODULE, hint=self._hint_no_module(module))
        sym = mod.symbols.at(address)
        return self._locate_address(mod, address, sym.name if sym is not None else None)

    @_locked
    def locate_function(self, module: str, name: str) -> SourceLocation:
        """Where function ``name`` of ``module`` starts (its declaration line) and ends (``end_line``)."""
        mod = self.module(module)
        if mod is None:
            return SourceLocation(module=module, function=name, problem=loc.NO_MODULE,
                                  hint=self._hint_no_module(module))
        sym = mod.symbols.find(name)
        if sym is None:
            return SourceLocation(module=mod.name, function=name, problem=loc.NO_SYMBOL,
                                  hint=f"`{name}` is not in the symbol table of {mod.path}.", build_id=mod.build_id)
        found = self._locate_address(mod, sym.address, name)
        if found.file is None or mod.debug is None:
            return found
        try:
            unit = mod.debug.unit_at(sym.address)
            lines = unit.table.lines_in(sym.address, sym.address + max(sym.size, 1), found.file) if unit else []
            decl = self._decl_line(mod, unit, sym.address)
        except Exception:  # corrupt DWARF: the entry line found above will do
            return found
        if decl is not None and (not lines or decl <= min(lines)):
            found.line = decl
        if lines:
            found.end_line = max(lines)
        return found

    @_locked
    def locate_source(self, file: str, line: int | None = None, module: str | None = None) -> SourceLocation:
        """A file:line named by stap itself (a ``-L`` listing's ``@src/core/nginx.c:123``, a
        diagnostic's source) found on disk: through the source roots, then, with ``module``,
        the compilation directories of its DWARF."""
        found = SourceLocation(module=module, file=file, line=line)
        mod = self.module(module) if module else None
        comp_dirs: list[str | None] = [None]
        if mod is not None and mod.debug is not None:
            try:
                comp_dirs = [*mod.debug.comp_dirs(), None]
            except Exception:  # corrupt DWARF: the source roots alone
                pass
        for comp_dir in comp_dirs:
            found.path = self._find_source(file, comp_dir)
            if found.path is not None:
                return found
        found.problem, found.hint = loc.NO_SOURCE, _hint_no_source(file, None)
        return found

    def _decl_line(self, mod: Module, unit, address: int) -> int | None:
        die = self._subprogram(mod, unit, address)
        decl = die.attributes.get("DW_AT_decl_line") if die is not None else None
        return decl.value if decl is not None else None

    def _subprogram(self, mod: Module, unit, address: int):
        """The DW_TAG_subprogram DIE whose code starts at ``address``, searched in its CU only."""
        if unit is None:
            return None
        for die in mod.debug.cu(unit).iter_DIEs():
            if die.tag == "DW_TAG_subprogram":
                low = die.attributes.get("DW_AT_low_pc")
                if low is not None and low.value == address:
                    return die
        return None

    # -- types -------------------------------------------------------------------
    @_locked
    def member_types(self, module: str, type_name: str) -> dict[str, str]:
        """Member name -> C type string of a struct or union, from the module's DWARF.

        ``type_name`` may be ``ngx_connection_t``, ``struct ngx_connection_s``
        or a pointer to either (``ngx_log_t *``).  An empty dict when the module,
        its debuginfo or the type is not found.
        """
        mod = self.module(module)
        if mod is None or mod.debug is None:
            return {}
        cache = mod.debug.type_cache
        key = ("members", type_name)
        if key not in cache:
            try:
                cache[key] = dwarftypes.members(dwarftypes.find_type(mod.debug.dwarf, type_name))
            except Exception:  # corrupt DWARF: no types rather than a broken view
                cache[key] = {}
        return dict(cache[key])

    @_locked
    def function_params(self, module: str, function: str) -> dict[str, str]:
        """Parameter name -> C type string of a function, in order ({} when not found)."""
        mod = self.module(module)
        sym = mod.symbols.find(function) if mod is not None else None
        if sym is None or mod.debug is None:
            return {}
        cache = mod.debug.type_cache
        key = ("params", function)
        if key not in cache:
            try:
                die = self._subprogram(mod, mod.debug.unit_at(sym.address), sym.address)
                cache[key] = dwarftypes.parameters(die) if die is not None else {}
            except Exception:  # corrupt DWARF
                cache[key] = {}
        return dict(cache[key])

    # -- source ----------------------------------------------------------------
    def source_snippet(self, location: SourceLocation, context: int = 6) -> SourceSnippet | None:
        """``context`` lines either side of the location's line, or None when the file can't be read."""
        if location.path is None or not location.line:
            return None
        return self._sources.snippet(location.path, location.line, context)

    def source_lines(self, path: Path) -> list[str] | None:
        """A whole source file's lines (cached), e.g. to list a function from ``locate_function``."""
        return self._sources.lines(path)


def _hint_kernel(name: str | None, sysroot: Path | None = None) -> str:
    what = "the kernel" if name in (None, "kernel") else f"the kernel module {name}"
    if sysroot is not None:
        # a lab's (or another machine's) kernel: stap resolved the symbol with that kernel's own
        # debuginfo; this machine's `uname -r` names another kernel, so its package is no remedy
        return (f"This frame is in {what} of the traced machine: stap named its symbol and offset from that "
                "kernel's debuginfo; kernel source lines are not shown (that kernel's source tree is not "
                "on this machine).")
    return (f"This frame is in {what}: kernel debuginfo is not available here (on Debian install "
            "linux-image-$(uname -r)-dbg to resolve kernel frames).")


def _hint_no_module(name: str, unreadable: str | None = None) -> str:
    if unreadable:
        return f"The module {name} could not be read ({unreadable}): point the frame at the real binary."
    if "/" in name:
        return (f"The module {name} is not on disk on this machine: run the notebook where the traced "
                "program lives, or copy the binary (same build-id) to that path.")
    return (f"No file named {name} was found: stap printed only its basename, so give the full path (use "
            "print_ubacktrace rather than sprint_ubacktrace, or pass the module to Symbolizer(modules=...)); "
            "if it is a kernel module, kernel debuginfo is not available here.")


def _hint_no_source(file: str, comp_dir: str | None) -> str:
    where = f" (compiled in {comp_dir})" if comp_dir else ""
    return (f"The source file {file}{where} is not on disk: add the folder that holds it with "
            "`%config StapMagics.source_roots = ['/path/to/source']` (Debian: `apt-get source "
            "PACKAGE` unpacks a package's source tree).")


def _hint_no_debuginfo(module: Module) -> str:
    bid = f" (build-id {module.build_id})" if module.build_id else ""
    if module.debug_error:
        return (f"The DWARF debuginfo of {module.path}{bid} could not be read ({module.debug_error}): "
                "rebuild it with -g, or install its debug symbols (Debian: the -dbgsym package).")
    return (f"{module.path}{bid} has no DWARF debuginfo: install its debug symbols (Debian: the matching "
            "-dbgsym package, or debuginfod with DEBUGINFOD_URLS) into /usr/lib/debug, or rebuild it with -g.")
