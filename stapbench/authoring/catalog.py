"""What can be probed in a binary: its functions (source file:line, ``$params:types``) and SDT
markers, from ``stap -L``, cached per build-id.

``stap -L 'process("BIN").function("*")'`` takes seconds on a large binary; its answer depends
only on the binary's contents, so it is kept per GNU build-id: in memory (a second open is a
dict hit) and on disk under ``~/.cache/stapbench/probes/<build-id>.json`` (a new kernel or
notebook reuses it).  A binary without a build-id is cached in memory by path, size and mtime.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..runner.listing import list_probes
from ..symbols.elfmodule import read_build_id

FORMAT = 3  # bump when the cached JSON changes shape


class ProbeEntry(NamedTuple):
    """One probe point of a binary: a function (``kind="function"``) or an SDT marker (``"mark"``).

    A named tuple: a cached listing of thousands is rebuilt from JSON rows in a few ms."""

    kind: str
    name: str  # the function, or the marker's name
    probe: str  # the probe point as stap writes it, e.g. process("/bin/x").function("f@a.c:3")
    file: str | None = None
    line: int | None = None
    params: tuple[tuple[str, str], ...] = ()  # ($name, type), `$` kept as stap lists them
    provider: str | None = None  # an SDT marker's provider

    @property
    def param_types(self) -> dict[str, str]:
        return {name.lstrip("$"): type_ for name, type_ in self.params}


@dataclass
class BinaryCatalog:
    binary: str
    build_id: str | None
    functions: list[ProbeEntry] = field(default_factory=list)
    marks: list[ProbeEntry] = field(default_factory=list)
    problem: str | None = None  # why the listing is empty, when it is

    def __post_init__(self):
        self._by_name = {}
        for entry in self.functions:
            self._by_name.setdefault(entry.name, entry)

    def function(self, name: str) -> ProbeEntry | None:
        return self._by_name.get(name)

    def mark(self, name: str) -> ProbeEntry | None:
        """The SDT marker of that name (the first, where providers share one)."""
        return next((m for m in self.marks if m.name == name), None)

    @property
    def function_names(self) -> list[str]:
        return list(self._by_name)

    def to_json(self) -> dict:
        return {"format": FORMAT, "binary": self.binary, "build_id": self.build_id, "problem": self.problem,
                "functions": [self._row(e) for e in self.functions], "marks": [self._row(e) for e in self.marks]}

    def _row(self, entry: ProbeEntry) -> list:
        # every probe point starts with process("BIN"): kept once, not 1,434 times (JSON size is load time)
        head = f'process("{self.binary}")'
        probe = entry.probe[len(head):] if entry.probe.startswith(head) else entry.probe
        return [entry.kind, entry.name, probe, entry.file, entry.line, entry.params, entry.provider]

    @classmethod
    def from_json(cls, data: dict) -> "BinaryCatalog":
        head = f'process("{data["binary"]}")'

        def entries(rows):
            make = ProbeEntry._make
            return [make((r[0], r[1], head + r[2] if r[2].startswith(".") else r[2], r[3], r[4],
                          tuple(map(tuple, r[5])), r[6])) for r in rows]

        return cls(binary=data["binary"], build_id=data["build_id"], problem=data.get("problem"),
                   functions=entries(data["functions"]), marks=entries(data["marks"]))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stapbench" / "probes"


def binary_build_id(path: str | os.PathLike) -> str | None:
    try:
        with open(path, "rb") as f:
            return read_build_id(ELFFile(f))
    except (OSError, ELFError, ValueError):
        return None


def _entries(listing, kind: str) -> list[ProbeEntry]:
    out = []
    for item in listing.listings:
        if kind == "function":
            if not item.function:
                continue
            name, provider = item.function, None
        else:
            # process("/x").provider("p").mark("name")
            name = _quoted_after(item.probe, ".mark(")
            provider = _quoted_after(item.probe, ".provider(")
            if name is None:
                continue
        out.append(ProbeEntry(kind=kind, name=name, probe=item.probe, file=item.file, line=item.line,
                              params=tuple((p.name, p.type) for p in item.params), provider=provider))
    return out


def _quoted_after(text: str, head: str) -> str | None:
    at = text.find(head + '"')
    if at < 0:
        return None
    start = at + len(head) + 1
    end = text.find('"', start)
    return text[start:end] if end > start else None


class CatalogCache:
    """Catalogs by build-id; thread-safe (a completion and a browser may ask at once)."""

    def __init__(self, *, stap: str = "stap", directory: Path | None = None, timeout: float = 300.0,
                 env: dict | None = None):
        self.stap = stap
        self.directory = directory
        self.timeout = timeout
        self.env = env
        self._memory: dict[object, BinaryCatalog] = {}
        self._build_ids: dict[tuple, str | None] = {}
        self._lock = threading.Lock()
        self._listing: dict[str, threading.Thread] = {}  # path -> the background stap -L (get_within)
        self.stap_runs = 0  # how many times stap -L ran (tests and benchmarks read it)

    def _build_id(self, path: Path) -> str | None:
        """The binary's build-id, read once per (path, size, mtime): reading the note costs ms."""
        st = path.stat()
        stamp = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            if stamp in self._build_ids:
                return self._build_ids[stamp]
        build_id = binary_build_id(path)
        with self._lock:
            self._build_ids[stamp] = build_id
        return build_id

    def _key(self, path: Path, build_id: str | None):
        if build_id:
            return build_id
        st = path.stat()
        return (str(path), st.st_size, st.st_mtime_ns)

    def cached(self, binary: str | os.PathLike) -> BinaryCatalog | None:
        """The catalog if it is known without running stap (memory or disk), else None."""
        path = Path(binary).resolve()
        if not path.is_file():
            return None
        build_id = self._build_id(path)
        key = self._key(path, build_id)
        with self._lock:
            found = self._memory.get(key)
        if found is None and build_id:
            found = self._read_disk(build_id, path)
            if found is not None:
                with self._lock:
                    self._memory[key] = found
        return found

    def get(self, binary: str | os.PathLike) -> BinaryCatalog:
        path = Path(binary).resolve()
        if not path.is_file():
            return BinaryCatalog(binary=str(binary), build_id=None, problem=f"{binary} is not a file")
        found = self.cached(path)
        if found is not None:
            return found
        build_id = self._build_id(path)
        catalog = self._list(path, build_id)
        with self._lock:
            self._memory[self._key(path, build_id)] = catalog
        if build_id and catalog.problem is None:
            self._write_disk(catalog)
        return catalog

    def get_within(self, binary: str | os.PathLike, timeout: float | None) -> BinaryCatalog | None:
        """The catalog if it is ready within ``timeout`` s (None: wait for it), else None while
        stap -L goes on in the background (once per binary), so a completion request answers at
        once and the next one finds the listing: a first ``stap -L`` of nginx takes seconds."""
        if timeout is None:
            return self.get(binary)
        found = self.cached(binary)
        if found is not None:
            return found
        key = str(Path(binary).resolve())
        with self._lock:
            thread = self._listing.get(key)
            if thread is None or not thread.is_alive():
                thread = self._listing[key] = threading.Thread(
                    target=self.get, args=(binary,), name="stapbench-listing", daemon=True)
                thread.start()
        thread.join(timeout)
        return None if thread.is_alive() else self.cached(binary) or self.get(binary)

    def _list(self, path: Path, build_id: str | None) -> BinaryCatalog:
        self.stap_runs += 1
        functions = list_probes(f'process("{path}").function("*")', stap=self.stap, timeout=self.timeout,
                                suggest=False, env=self.env)
        marks = list_probes(f'process("{path}").mark("*")', stap=self.stap, timeout=self.timeout,
                            suggest=False, env=self.env)
        problem = None
        if not functions.listings:
            reasons = [d.message for d in functions.diagnostics] or [functions.stderr.strip()[:300]]
            problem = ("stap -L listed no function" + (" (timed out)" if functions.timed_out else "")
                       + (": " + "; ".join(r for r in reasons if r) if any(reasons) else ""))
        return BinaryCatalog(binary=str(path), build_id=build_id, functions=_entries(functions, "function"),
                             marks=_entries(marks, "mark"), problem=problem)

    def _file(self, build_id: str) -> Path:
        return (self.directory or cache_dir()) / f"{build_id}.json"

    def _read_disk(self, build_id: str, path: Path) -> BinaryCatalog | None:
        try:
            data = json.loads(self._file(build_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("format") != FORMAT:
            return None
        catalog = BinaryCatalog.from_json(data)
        if catalog.binary != str(path):  # same build, another path: probe points name the path asked for
            catalog = _moved(catalog, str(path))
        return catalog

    def _write_disk(self, catalog: BinaryCatalog) -> None:
        target = self._file(catalog.build_id)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(catalog.to_json()), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            pass  # a read-only cache only costs the next open a stap -L


def _moved(catalog: BinaryCatalog, binary: str) -> BinaryCatalog:
    old = f'process("{catalog.binary}")'
    new = f'process("{binary}")'

    def move(entries):
        return [e._replace(probe=e.probe.replace(old, new, 1)) for e in entries]

    return BinaryCatalog(binary=binary, build_id=catalog.build_id, functions=move(catalog.functions),
                         marks=move(catalog.marks), problem=catalog.problem)


_shared: CatalogCache | None = None


def shared_cache() -> CatalogCache:
    global _shared
    if _shared is None:
        _shared = CatalogCache()
    return _shared
