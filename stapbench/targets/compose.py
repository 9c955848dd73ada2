"""Compose kernel-runtime output from a real binary's symbols, for what the BPF runtime can't print.

stap's BPF runtime (the one that runs on machines without kernel modules)
has no ``print_ubacktrace()`` and no ``$var$`` pretty-printing.  To show what
the kernel runtime would print, this module builds that output in its exact
formats from a real build:

* backtraces in print_ubacktrace()'s FULL format (FORMATS.md §1.1:
  `` 0x%p : %s+%#lx/%#lx [%s]``): the top frame is a function entry, every
  caller frame is the real return address that follows the ``call`` of its
  callee in the caller's disassembly (``nm -S``, ``objdump -d``), so every
  frame resolves against the binary's real DWARF;
* ``$var$`` / ``$var$$`` dumps of a struct in stap's pretty-printer format
  (FORMATS.md §2.2, the 32-value limit included): member names and order come
  from the build's DWARF, values from the caller (the ones a live BPF run
  read) or placeholders.

:func:`record_composed_run` writes such output as a run folder through the
runner's own :class:`~stapbench.runner.transcript.TranscriptWriter`, so
``%stap_replay`` shows it like any recorded run.  The notebooks use it, and
the tests (``tests/support/compose.py`` re-exports it).
"""

from __future__ import annotations

import functools
import re
import subprocess
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..runner.transcript import SCRIPT, TranscriptWriter, new_run_dir, write_meta

#: a PIE's load address as Linux typically maps it (any page-aligned value works)
PIE_BASE = 0x55D0C0A00000

#: stap prints at most this many values in one pretty-printed dump, then ``...``
STAP_DUMP_ARGS = 32

_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_CALL = re.compile(r"^\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <([^>+]+)>$")
_ICALL = re.compile(r"^\s*([0-9a-f]+):\s+call\s+\*")  # through a function pointer
_INSN = re.compile(r"^\s*([0-9a-f]+):")

#: nginx closing a keep-alive-less HTTP connection, callee first, as seen in real
#: print_ubacktrace() output of a probe on ngx_close_connection
NGINX_CLOSE_CHAIN = [
    "ngx_close_connection",
    "ngx_http_close_connection",
    "ngx_http_close_request",
    "ngx_http_finalize_connection",
    "ngx_http_finalize_request",
    "ngx_http_core_content_phase",
    "ngx_http_core_run_phases",
    "ngx_http_handler",
    "ngx_http_process_request",
    "ngx_http_process_request_headers",
    "ngx_http_process_request_line",
    "ngx_http_wait_request_handler",
    "ngx_epoll_process_events",
    "ngx_process_events_and_timers",
    "ngx_worker_process_cycle",
    "ngx_spawn_process",
    "ngx_start_worker_processes",
    "ngx_master_process_cycle",
    "main",
]

#: tests/programs/demo.c
DEMO_CHAIN = ["handle_leaf", "handle_middle", "handle_request", "main"]


@dataclass(frozen=True)
class SymbolInfo:
    value: int  # link-time address (offset from the load base for a PIE)
    size: int


@dataclass(frozen=True)
class ComposedFrame:
    address: int
    symbol: str
    offset: int
    size: int
    module: str

    def full(self) -> str:
        """The frame as print_ubacktrace() prints it (FULL format, leading space included)."""
        return f" {self.address:#x} : {self.symbol}+{self.offset:#x}/{self.size:#x} [{self.module}]"


@functools.lru_cache(maxsize=8)
def symbols(binary: Path) -> dict[str, SymbolInfo]:
    """Function symbols of ``binary`` (``nm -S``): name -> link-time value and size."""
    out = subprocess.run(["nm", "-S", "--defined-only", str(binary)], check=True,
                         capture_output=True, text=True).stdout
    table: dict[str, SymbolInfo] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            table.setdefault(parts[3], SymbolInfo(int(parts[0], 16), int(parts[1], 16)))
    return table


@functools.lru_cache(maxsize=8)
def call_sites(binary: Path) -> dict[tuple[str, str], int]:
    """(caller, callee) -> the return address (link-time) after the first such call.

    ``(caller, "*")`` is the first call through a pointer (nginx's phase
    handlers and event handlers are called that way)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)], check=True,
                         capture_output=True, text=True).stdout
    sites: dict[tuple[str, str], int] = {}
    caller = None
    pending: tuple[str, str] | None = None
    for line in out.splitlines():
        m = _FUNC.match(line)
        if m:
            caller, pending = m.group(2), None
            continue
        insn = _INSN.match(line)
        if insn and pending is not None:
            sites.setdefault(pending, int(insn.group(1), 16))
            pending = None
        call = _CALL.match(line)
        if call and caller is not None:
            pending = (caller, call.group(2))
        elif caller is not None and _ICALL.match(line):
            pending = (caller, "*")
    return sites


def compose_chain(binary: Path, chain: list[str], *, base: int = PIE_BASE,
                  top_offset: int = 0) -> list[ComposedFrame]:
    """Frames for ``chain`` (callee first): real symbols, sizes and return addresses."""
    binary = Path(binary)
    syms, sites = symbols(binary), call_sites(binary)
    frames = []
    for i, name in enumerate(chain):
        sym = syms[name]
        if i == 0:
            link = sym.value + top_offset
        else:
            link = sites.get((name, chain[i - 1])) or sites.get((name, "*"))
            if link is None:
                raise LookupError(f"{name} does not call {chain[i - 1]} in {binary}")
        frames.append(ComposedFrame(base + link, name, link - sym.value, sym.size, str(binary)))
    return frames


def ubacktrace_text(frames: list[ComposedFrame]) -> str:
    """print_ubacktrace() output (FULL format), one line per frame."""
    return "".join(f.full() + "\n" for f in frames)


# --------------------------------------------------------------------------- $var$ dumps

def placeholder(name: str, type_: str) -> str:
    """A value for a member no live run read: a stable fake pointer for pointers and
    nginx's ``*_pt`` function-pointer typedefs, else 0."""
    if "*" in type_ or type_.endswith("_pt"):
        return f"0x55d0c1{(zlib.crc32(name.encode()) & 0xffff) * 16:06x}"
    return "0"


def pretty_dump(symbolizer, binary: Path | str, type_name: str, *, deep: bool,
                values: Mapping[str, str] = {}, nested: Mapping[str, Mapping[str, str]] = {}) -> str:
    """``$c$`` (shallow) or ``$c$$`` (deep) of a struct as stap prints it.

    Members in DWARF order (``symbolizer.member_types``); a nested struct is
    ``{...}`` when shallow and expanded when deep; after ``STAP_DUMP_ARGS``
    values stap stops with ``...``.  ``values`` gives member values as stap
    prints them (``"3"``, ``"0x0"``, ``'"127.0.0.1"'``), ``nested`` those of a
    nested struct member by its name; the rest are :func:`placeholder` values.
    """
    budget = [STAP_DUMP_ARGS]
    module = str(binary)

    def struct(type_: str, vals: Mapping[str, str]) -> str:
        parts = []
        for name, mtype in symbolizer.member_types(module, type_).items():
            if budget[0] <= 0:
                parts.append("...")
                break
            if "*" not in mtype and symbolizer.member_types(module, mtype):
                parts.append(f".{name}={struct(mtype, nested.get(name, {}))}" if deep else f".{name}={{...}}")
                continue
            budget[0] -= 1
            parts.append(f".{name}={vals[name] if name in vals else placeholder(name, mtype)}")
        return "{" + ", ".join(parts) + "}"

    return struct(type_name, values)


# --------------------------------------------------------------------------- run folders

def record_composed_run(folder: Path | str, script: str, chunks: Iterable[tuple[str, bytes]], *,
                        argv: list[str] | None = None, exit_status: int = 0, stop_reason: str = "exited",
                        chunk_size: int = 1 << 16, notes: list[str] | None = None) -> Path:
    """A run folder as the runner writes it: ``script.stp``, the streams through
    TranscriptWriter (in ``chunk_size`` pieces, as a pipe would deliver them) and
    ``meta.json``; ``%stap_replay FOLDER`` (``stapbench.runner.replay``) shows it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCRIPT).write_text(script, encoding="utf-8")
    started = time.time()
    writer = TranscriptWriter(folder)
    try:
        for stream, data in chunks:
            for at in range(0, len(data), chunk_size):
                writer.write(stream, data[at:at + chunk_size])
    finally:
        writer.close()
    write_meta(folder, {
        "version": 1, "argv": argv or ["stap", str(folder / SCRIPT)], "stap_pid": None, "marker": None,
        "started_at": started, "ready_at": started, "ended_at": time.time(), "exit_status": exit_status,
        "stop_reason": stop_reason, "stop_signal": None, "trigger_status": None, "notes": list(notes or []),
    })
    return folder


#: the kernel-runtime script whose output :func:`nginx_close_transcript` composes
NGINX_CLOSE_SCRIPT = """\
probe process(@1).function("ngx_close_connection") {
  printf("close #%d fd=%d\\n", $c->number, $c->fd)
  print_ubacktrace()
  printf("$c$=%s\\n", $c$)
  printf("$c$$=%s\\n", $c$$)
}
"""

#: values of ngx_connection_t members for a composed hit, as stap prints them
CONNECTION_VALUES = {"fd": "3", "sent": "260", "type": "1", "socklen": "16", "number": "2",
                     "start_time": "1732540000123", "requests": "1", "log_error": "2",
                     "proxy_protocol": "0x0", "udp": "0x0", "local_sockaddr": "0x0", "local_socklen": "0"}
CONNECTION_NESTED = {"addr_text": {"len": "9", "data": '"127.0.0.1"'},
                     "queue": {"prev": "0x0", "next": "0x0"}}


def nginx_close_transcript(binary: Path | str, symbolizer=None, *,
                           values: Mapping[str, str] | None = None, hits: int = 1) -> bytes:
    """What the kernel runtime prints for :data:`NGINX_CLOSE_SCRIPT` on ``hits`` closes:
    per hit the printf line, the backtrace (:data:`NGINX_CLOSE_CHAIN`) and the
    ``$c$``/``$c$$`` dumps of ngx_connection_t.  ``values`` overrides
    :data:`CONNECTION_VALUES` (e.g. with ``number``/``fd`` a live BPF run read);
    the connection number counts up from hit to hit."""
    if symbolizer is None:
        from ..symbols import Symbolizer

        symbolizer = Symbolizer()
    binary = Path(binary)
    vals = {**CONNECTION_VALUES, **(values or {})}
    frames = ubacktrace_text(compose_chain(binary, NGINX_CLOSE_CHAIN))
    out = []
    for i in range(hits):
        hit = {**vals, "number": str(int(vals["number"]) + i)}
        dumps = {deep: pretty_dump(symbolizer, binary, "ngx_connection_t", deep=deep, values=hit,
                                   nested=CONNECTION_NESTED) for deep in (False, True)}
        out.append(f"close #{hit['number']} fd={hit['fd']}\n{frames}$c$={dumps[False]}\n$c$$={dumps[True]}\n")
    return "".join(out).encode()


def record_nginx_close(binary: Path | str, folder: Path | str | None = None, symbolizer=None, *,
                       values: Mapping[str, str] | None = None, hits: int = 1) -> Path:
    """:func:`nginx_close_transcript` written as a run folder (argv as the kernel runtime
    would run it, ``-DMAXSTRINGLEN`` raised so the ``$c$$`` dump is not cut).  ``folder``:
    None puts it beside the real runs (``~/.cache/stapbench/runs/...``)."""
    folder = Path(folder) if folder is not None else new_run_dir(None)
    data = nginx_close_transcript(binary, symbolizer, values=values, hits=hits)
    return record_composed_run(
        folder, NGINX_CLOSE_SCRIPT, [("stdout", data)],
        argv=["stap", "-DMAXSTRINGLEN=4096", str(folder / SCRIPT), str(binary)],
        notes=["composed: the kernel runtime's output formats, from this nginx build's real symbols "
               "and DWARF (the BPF runtime cannot print backtraces or $var$ dumps)"])
