"""The probe browser's model: what a binary or a running process offers, searched and ranked,
and a ready probe cell for a chosen function.

A pid stands for its executable and the ELF libraries it has mapped (``/proc/PID/maps``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .catalog import BinaryCatalog, CatalogCache, ProbeEntry, shared_cache
from .ranking import closeness

ELF_MAGIC = b"\x7fELF"


def targets(spec: str | int) -> tuple[list[str], int | None]:
    """(binaries, pid) for ``BIN`` (a path or a name on PATH) or ``PID``."""
    text = str(spec).strip()
    if text.isdigit():
        pid = int(text)
        exe = str(Path(f"/proc/{pid}/exe").resolve(strict=True))
        return [exe] + [lib for lib in mapped_libraries(pid) if lib != exe], pid
    if "/" not in text:
        import shutil

        found = shutil.which(text)
        if found is None:
            raise FileNotFoundError(2, "no such program on PATH", text)
        text = found
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", text)
    return [str(path.resolve())], None


def mapped_libraries(pid: int) -> list[str]:
    """The ELF files a process has mapped executable, in the order they appear."""
    seen: list[str] = []
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return seen
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
            continue
        path = parts[5].removesuffix(" (deleted)")
        if path in seen:
            continue
        try:
            with open(path, "rb") as f:
                if f.read(4) != ELF_MAGIC:
                    continue
        except OSError:
            continue
        seen.append(path)
    return seen


@dataclass(frozen=True)
class Match:
    binary: str
    entry: ProbeEntry
    score: int

    def to_json(self) -> dict:
        e = self.entry
        return {"binary": self.binary, "kind": e.kind, "name": e.name, "probe": e.probe, "file": e.file,
                "line": e.line, "params": [{"name": n, "type": t} for n, t in e.params], "provider": e.provider}


def search(catalogs: list[BinaryCatalog], pattern: str = "", limit: int | None = None) -> list[Match]:
    """Functions and markers whose name is close to ``pattern``, closest first (all, by name, when empty)."""
    found = []
    for catalog in catalogs:
        for entry in catalog.functions + catalog.marks:
            score = closeness(pattern, entry.name)
            if score is not None:
                found.append(Match(catalog.binary, entry, score))
    found.sort(key=lambda m: (m.score, len(m.entry.name), m.entry.name, m.binary))
    return found if limit is None else found[:limit]


def catalogs_for(spec: str | int, cache: CatalogCache | None = None) -> tuple[list[BinaryCatalog], int | None]:
    cache = cache or shared_cache()
    binaries, pid = targets(spec)
    return [cache.get(b) for b in binaries], pid


# --- a ready probe --------------------------------------------------------------------------

_UNSIGNED = re.compile(r"\bunsigned\b|_uint|uint\d*_t|\bsize_t\b|_size_t\b|\bu\d+\b|\bbool\b")
_AGGREGATE = re.compile(r"^(struct|union)\b|^[\w ]+\[|\(")


def format_of(type_: str) -> str | None:
    """The printf directive for a parameter of this C type, right on every runtime: 64-bit forms
    (the BPF runtime's %d/%u/%x print only 32 bits), pointers in hex; None for what printf
    can't take (a struct or array passed by value, a function)."""
    t = " ".join(type_.split())
    if t.endswith("*"):
        return "0x%lx"
    if _AGGREGATE.search(t):
        return None
    if "double" in t or "float" in t:
        return None
    return "%lu" if _UNSIGNED.search(t) else "%ld"


def skeleton(entry: ProbeEntry, binary: str, *, pid: int | None = None, symbolizer=None) -> str:
    """A ``%%stap`` cell that probes ``entry`` and prints its scalar parameters.

    stap -L lists every context variable, locals too (unset at a function's entry); with a
    ``symbolizer`` only the function's formal parameters (DWARF) are printed, and a typedef
    that names a struct (``ngx_str_t``) is left out like a spelled-out one."""
    line = magic_line(pid)
    point = probe_point(entry, binary)
    shown, values = [], []
    formal = set(symbolizer.function_params(binary, entry.name)) if symbolizer and entry.kind == "function" else set()
    for name, type_ in entry.params:
        if formal and name.lstrip("$") not in formal:
            continue
        directive = format_of(type_)
        if directive is not None and not type_.strip().endswith("*") and symbolizer is not None \
                and symbolizer.member_types(binary, type_):
            directive = None  # a struct passed by value
        if directive is None:
            continue
        shown.append(f"{name.lstrip('$')}={directive}")
        values.append(name if name.startswith("$") else "$" + name)
    fmt = " ".join([entry.name] + shown)
    args = "".join(", " + v for v in values)
    return f'{line}\nprobe {point} {{\n    printf("{fmt}\\n"{args})\n}}\n'


def magic_line(pid: int | None = None) -> str:
    return "%%stap" + (f" -x {pid}" if pid else "")


def probe_point(entry: ProbeEntry, binary: str) -> str:
    """The probe point of a listing entry, with the binary's path."""
    if entry.kind == "mark":
        return f'process("{binary}")' + (f'.provider("{entry.provider}")' if entry.provider else "") + f'.mark("{entry.name}")'
    return f'process("{binary}").function("{entry.name}")'


def where(entry: ProbeEntry) -> str:
    return f"{entry.file}:{entry.line}" if entry.file and entry.line else (entry.file or "")


def binary_label(path: str) -> str:
    return os.path.basename(path)
