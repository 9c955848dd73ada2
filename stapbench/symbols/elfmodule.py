"""One ELF module on disk: its build-id, symbol table and (maybe separate) DWARF.

``ModuleSymbols`` indexes the ELF symbol table once (sorted addresses, a
name -> symbols dict).  ``DebugInfo`` maps an address to its compilation unit
(``.debug_aranges``, else the CUs' own ranges) and decodes that CU's line
table the first time it is needed.  Both are built once per build-id by the
:class:`~stapbench.symbols.Symbolizer` and then only read.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import NoteSection, SymbolTableSection

from ..gcpause import gc_paused
from . import linetable


@dataclass(slots=True, frozen=True)
class Symbol:
    name: str
    address: int
    size: int


def read_build_id(elf: ELFFile) -> str | None:
    """The hex ``NT_GNU_BUILD_ID`` from ``.note.gnu.build-id`` (or any note section)."""
    for section in elf.iter_sections():
        if isinstance(section, NoteSection):
            for note in section.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID":
                    return note["n_desc"]
    return None


def read_debuglink(elf: ELFFile) -> str | None:
    """The file name stored in ``.gnu_debuglink`` (the CRC is not checked)."""
    section = elf.get_section_by_name(".gnu_debuglink")
    if section is None:
        return None
    data = section.data()
    return data[: data.index(b"\0")].decode("utf-8", "replace") if b"\0" in data else None


def has_dwarf(elf: ELFFile) -> bool:
    section = elf.get_section_by_name(".debug_info")
    # a separate-debuginfo *stub* keeps the section as SHT_NOBITS
    return section is not None and section["sh_type"] != "SHT_NOBITS" and section["sh_size"] > 0


def load_base(elf: ELFFile) -> int | None:
    """What stap's module-relative ``[mod+0xOFF]`` offsets count from, or None for absolute ones.

    stap's runtime (``_stp_kallsyms_lookup``) makes an address relative to the
    start of the module's first mapping for ET_DYN modules (PIE executables,
    shared libraries): that is the lowest PT_LOAD address, page-aligned (0 for
    almost all of them).  ET_EXEC executables are not relocated, so their
    offsets are the link-time addresses themselves (None here).
    """
    if elf["e_type"] == "ET_EXEC":
        return None
    addresses = [seg["p_vaddr"] - seg["p_vaddr"] % max(seg["p_align"], 1)
                 for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
    return min(addresses, default=0)


_STT_FUNC, _STT_GNU_IFUNC = 2, 10


def _function_symbols(elf: ELFFile, section: SymbolTableSection) -> list[Symbol]:
    """Named, defined function symbols of a symbol table.

    Unpacked with ``struct.iter_unpack`` over the raw section: pyelftools builds
    a parsed container per symbol (0.8 s for libc's 13,000 symbols), this takes
    a few milliseconds.
    """
    strtab = elf.get_section(section["sh_link"]).data()
    order = "<" if elf.little_endian else ">"
    if elf.elfclass == 64:  # st_name, st_info, st_other, st_shndx, st_value, st_size
        layout, fields = struct.Struct(order + "IBBHQQ"), (0, 1, 4, 5)
    else:  # st_name, st_value, st_size, st_info, st_other, st_shndx
        layout, fields = struct.Struct(order + "IIIBBH"), (0, 3, 1, 2)
    data = section.data()
    data = data[: len(data) - len(data) % layout.size]
    i_name, i_info, i_value, i_size = fields
    out = []
    for entry in layout.iter_unpack(data):
        if entry[i_info] & 0xF in (_STT_FUNC, _STT_GNU_IFUNC) and entry[i_value] and entry[i_name]:
            start = entry[i_name]
            name = strtab[start:strtab.index(b"\0", start)].decode("utf-8", "replace")
            out.append(Symbol(name, entry[i_value], entry[i_size]))
    return out


class ModuleSymbols:
    """The function symbols of one ELF file (``.symtab``, else ``.dynsym``)."""

    def __init__(self, elf: ELFFile):
        symbols: list[Symbol] = []
        self.table: str | None = None  # which section they came from
        for name in (".symtab", ".dynsym"):
            section = elf.get_section_by_name(name)
            if isinstance(section, SymbolTableSection) and section["sh_type"] != "SHT_NOBITS":
                symbols = _function_symbols(elf, section)
                if symbols:
                    self.table = name
                    break
        symbols.sort(key=lambda s: s.address)
        self.symbols = symbols
        self.addresses = [s.address for s in symbols]
        self.by_name: dict[str, list[Symbol]] = {}
        for sym in symbols:
            self.by_name.setdefault(sym.name, []).append(sym)
            # versioned dynamic names (memcpy@@GLIBC_2.14) also answer to their bare name
            if "@" in sym.name:
                self.by_name.setdefault(sym.name.split("@", 1)[0], []).append(sym)

    def __len__(self) -> int:
        return len(self.symbols)

    def find(self, name: str, size: int | None = None) -> Symbol | None:
        """The symbol called ``name``; among same-named (static) ones prefer the one of ``size``."""
        candidates = self.by_name.get(name)
        if not candidates:
            return None
        if size:
            for sym in candidates:
                if sym.size == size:
                    return sym
        return candidates[0]

    def at(self, address: int) -> Symbol | None:
        """The function containing ``address`` (or the nearest one before it, if its size is unknown)."""
        i = bisect_right(self.addresses, address) - 1
        if i < 0:
            return None
        sym = self.symbols[i]
        if sym.size:
            return sym if address < sym.address + sym.size else None
        # size unknown (hand-written assembly): up to the next symbol, never past the last one
        return sym if i + 1 < len(self.symbols) and address < self.symbols[i + 1].address else None


@dataclass(slots=True)
class _Unit:
    offset: int  # of the CU in .debug_info
    comp_dir: str | None = None
    name: str | None = None
    table: linetable.LineTable | None = None
    error: str | None = None  # why the line table could not be decoded


class DebugInfo:
    """DWARF of one module: address -> compilation unit -> line table, each decoded on first use."""

    def __init__(self, elf: ELFFile, path: Path):
        self.path = path
        self.elf = elf
        self.dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
        # the DWARF reader's own (decompressed, for SHF_COMPRESSED sections) copy of .debug_line
        line_sec = self.dwarf.debug_line_sec
        self._line_data = line_sec.stream.getvalue() if line_sec is not None else b""
        self._units: dict[int, _Unit] = {}
        self._range_starts: list[int] = []
        self._ranges: list[tuple[int, int, int]] = []  # (begin, end, cu_offset) sorted
        self._index_ranges()
        self.tables_decoded = 0
        self.type_cache: dict[tuple[str, str], dict[str, str]] = {}  # filled by the Symbolizer
        self._comp_dirs: list[str] | None = None

    # -- address -> CU ---------------------------------------------------
    def _index_ranges(self) -> None:
        ranges: list[tuple[int, int, int]] = []
        aranges = self.dwarf.get_aranges() if self.dwarf.has_debug_info else None
        if aranges is not None and aranges.entries:
            ranges = [(e.begin_addr, e.begin_addr + e.length, e.info_offset) for e in aranges.entries if e.length]
        else:  # no .debug_aranges (clang, -gno-...): ask each CU for its ranges
            for cu in self.dwarf.iter_CUs():
                ranges.extend((lo, hi, cu.cu_offset) for lo, hi in self._cu_ranges(cu))
        ranges.sort()
        self._ranges = ranges
        self._range_starts = [r[0] for r in ranges]

    def _cu_ranges(self, cu) -> list[tuple[int, int]]:
        top = cu.get_top_DIE()
        attrs = top.attributes
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low = attrs["DW_AT_low_pc"].value
            high = attrs["DW_AT_high_pc"]
            end = high.value if high.form == "DW_FORM_addr" else low + high.value
            return [(low, end)]
        if "DW_AT_ranges" in attrs:
            lists = self.dwarf.range_lists()
            if lists is not None:
                try:
                    entries = lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu)
                except TypeError:  # pyelftools < 0.30 has no cu argument
                    entries = lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value)
                base = attrs["DW_AT_low_pc"].value if "DW_AT_low_pc" in attrs else 0
                out = []
                for entry in entries:
                    if hasattr(entry, "begin_offset"):
                        is_abs = getattr(entry, "is_absolute", False)
                        lo = entry.begin_offset + (0 if is_abs else base)
                        hi = entry.end_offset + (0 if is_abs else base)
                        if hi > lo:
                            out.append((lo, hi))
                return out
        return []

    def unit_at(self, address: int) -> _Unit | None:
        i = bisect_right(self._range_starts, address) - 1
        # CUs' ranges don't overlap, so only the last range starting at or before the address can hold it
        if i >= 0 and address < self._ranges[i][1]:
            return self._unit(self._ranges[i][2])
        return None

    def _unit(self, offset: int) -> _Unit:
        unit = self._units.get(offset)
        if unit is None:
            unit = _Unit(offset)
            try:
                with gc_paused():
                    cu = self.dwarf.get_CU_at(offset)
                    top = cu.get_top_DIE()
                    unit.comp_dir, unit.name = _str_attr(top, "DW_AT_comp_dir"), _str_attr(top, "DW_AT_name")
                    program = self.dwarf.line_program_for_CU(cu)
                    if program is not None:
                        names = linetable.file_names(program.header, unit.comp_dir)
                        unit.table = linetable.decode(self._line_data, program.program_start_offset,
                                                      program.program_end_offset, program.header, names)
                        self.tables_decoded += 1
            except Exception as exc:  # a corrupt unit: it has no lines, the others may
                unit.table, unit.error = None, str(exc) or type(exc).__name__
            self._units[offset] = unit
        return unit

    def comp_dirs(self) -> list[str]:
        """The distinct compilation directories of all CUs (read once: one top DIE per CU)."""
        if self._comp_dirs is None:
            dirs: dict[str, None] = {}
            for cu in self.dwarf.iter_CUs():
                comp_dir = _str_attr(cu.get_top_DIE(), "DW_AT_comp_dir")
                if comp_dir:
                    dirs[comp_dir] = None
            self._comp_dirs = list(dirs)
        return self._comp_dirs

    def cu(self, unit: _Unit):
        return self.dwarf.get_CU_at(unit.offset)

    def iter_units(self):
        """Every CU as a ``_Unit`` (decoding line tables lazily is not possible here: this decodes them)."""
        for cu in self.dwarf.iter_CUs():
            yield self._unit(cu.cu_offset), cu

    # -- address -> file:line ---------------------------------------------
    def line_at(self, address: int) -> tuple[_Unit | None, tuple[str, int] | None]:
        # unit_at() and LineTable.lookup() inlined: this is the warm path of every frame
        i = bisect_right(self._range_starts, address) - 1
        if i < 0:
            return None, None
        begin, end, offset = self._ranges[i]
        if address >= end:
            return None, None
        unit = self._units.get(offset) or self._unit(offset)
        table = unit.table
        if table is None:
            return unit, None
        return unit, table.lookup(address)


def _str_attr(die, name: str) -> str | None:
    attr = die.attributes.get(name)
    if attr is None:
        return None
    value = attr.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass(slots=True)
class Module:
    """A module file as the Symbolizer saw it: symbols from it, DWARF from it or its debug file."""

    path: Path
    build_id: str | None
    load_base: int | None  # None: an ET_EXEC, whose run-time addresses are its link-time ones
    symbols: ModuleSymbols
    debug: DebugInfo | None
    debug_path: Path | None = None
    debuglink: str | None = None
    stat_key: tuple = ()
    files: list = field(default_factory=list)  # open file objects kept alive for pyelftools
    name: str = ""  # str(path), computed once
    debug_error: str | None = None  # why the DWARF found could not be read

    def __post_init__(self):
        self.name = str(self.path)


def stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
