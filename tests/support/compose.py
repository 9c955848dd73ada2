"""Compose kernel-runtime transcripts from a real binary's symbols.

The BPF runtime that runs here has no ``print_ubacktrace()``; tests that need
backtraces build them in the kernel runtime's exact FULL format (FORMATS.md
§1.1: `` 0x%p : %s+%#lx/%#lx [%s]``) from a real binary: the top frame is a
function entry, every caller frame is the real return address that follows
the ``call`` of its callee in the caller's disassembly (``objdump -d``).  So
every frame resolves against real DWARF, like a real stap backtrace would.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


# A PIE's load address as Linux typically maps it (any page-aligned value works).
PIE_BASE = 0x55D0C0A00000

_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_CALL = re.compile(r"^\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <([^>+]+)>$")
_ICALL = re.compile(r"^\s*([0-9a-f]+):\s+call\s+\*")  # through a function pointer
_INSN = re.compile(r"^\s*([0-9a-f]+):")

# nginx closing a keep-alive-less HTTP connection, callee first, as seen in real
# print_ubacktrace() output of a probe on ngx_close_connection.
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
        return f" {self.address:#x} : {self.symbol}+{self.offset:#x}/{self.size:#x} [{self.module}]"


@functools.lru_cache(maxsize=8)
def symbols(binary: Path) -> dict[str, SymbolInfo]:
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


@pytest.fixture(scope="session")
def nginx_binary(nginx_build) -> Path:
    return nginx_build.binary


@pytest.fixture(scope="session")
def nginx_source_root(nginx_build) -> Path:
    return nginx_build.source.resolve()
