"""Recorded run folders for the browser tests, written through the runner's own TranscriptWriter.

A recorded folder is what ``%%stap --record`` leaves (see ``stapbench/runner/transcript.py``):
``replay(folder)`` rebuilds the Run from it with no stap.  The transcripts here are what
the kernel runtime would print (the BPF runtime that runs on these machines has no
``print_ubacktrace()`` and no ``$var$``), composed from the real nginx build:

* the backtrace: real symbols, sizes and return addresses (``stapbench.targets.compose``);
* the ``$c$`` / ``$c$$`` dumps (``stapbench.targets.compose.pretty_dump``) of ``ngx_connection_t``: the member names and their order
  come from the build's DWARF (``Symbolizer.member_types``), the values are plausible ones
  printed in stap's pretty-printer formats (FORMATS.md §2.2, 32-argument limit included);
* the diagnostic: real stap output (``stap -p2`` through the runner, ``--check``) when
  stap is installed, else the same message composed in stap 4.8's exact format.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from stapbench.runner.transcript import SCRIPT
from stapbench.targets.compose import pretty_dump, record_composed_run

from .compose import NGINX_CLOSE_CHAIN, compose_chain, ubacktrace_text

#: what the XSS tests put everywhere a string from stap output can appear
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'

def record_run(folder: Path, script: str, chunks, **kwargs) -> Path:
    """A run folder as the runner writes it (stapbench.targets.compose.record_composed_run)."""
    return record_composed_run(folder, script, chunks, **kwargs)


CONNECTION_VALUES = {"fd": "3", "sent": "615", "type": "1", "socklen": "16", "number": "7",
                     "start_time": "1732540000123", "requests": "1", "log_error": "2",
                     "proxy_protocol": "0x0", "udp": "0x0", "local_sockaddr": "0x0", "local_socklen": "0"}
CONNECTION_NESTED = {"addr_text": {"len": "9", "data": '"127.0.0.1"'},
                     "queue": {"prev": "0x0", "next": "0x0"}}


@dataclass(frozen=True)
class NginxHit:
    printf_line: str
    frames: list  # ComposedFrame, callee first
    shallow: str  # the `$c$` dump
    deep: str  # the `$c$$` dump

    def stdout(self) -> bytes:
        return (self.printf_line + "\n" + ubacktrace_text(self.frames)
                + f"$c$={self.shallow}\n$c$$={self.deep}\n").encode()


def nginx_close_hit(symbolizer, binary: Path) -> NginxHit:
    frames = compose_chain(binary, NGINX_CLOSE_CHAIN)
    args = dict(symbolizer=symbolizer, binary=binary, type_name="ngx_connection_t",
                values=CONNECTION_VALUES, nested=CONNECTION_NESTED)
    return NginxHit(printf_line=f"close fd={CONNECTION_VALUES['fd']} number={CONNECTION_VALUES['number']}",
                    frames=frames, shallow=pretty_dump(deep=False, **args), deep=pretty_dump(deep=True, **args))


def nginx_script(binary: Path) -> str:
    return (f'probe process("{binary}").function("ngx_close_connection") {{\n'
            '  printf("close fd=%d number=%d\\n", $c->fd, $c->number)\n'
            "  print_ubacktrace()\n"
            '  printf("$c$=%s\\n", $c$)\n'
            '  printf("$c$$=%s\\n", $c$$)\n'
            "}\n")


# --------------------------------------------------------------------------- a diagnostic

#: the typo sits after other code on its line, so the caret's column is not the indent
TYPO_SCRIPT = ("probe process(\"{binary}\").function(\"ngx_close_connection\") {{\n"
               "  if ($c->fd > 0) printff(\"fd=%d\\n\", $c->fd)\n"
               "}}\n")
TYPO_LINE, TYPO_TOKEN = 2, "printff"


def stap_check(folder: Path, script: str, *, timeout: float = 120) -> bool:
    """Record ``stap -p2`` of ``script`` through the runner (``--check``) into ``folder``;
    False when stap is not installed or printed no semantic error."""
    if shutil.which("stap") is None:
        return False
    import stapbench
    from stapbench.runner import RunError

    try:
        run = stapbench.run(script, check=True, record=folder, timeout=timeout, runtime="bpf")
    except (RunError, OSError):  # stap could not be started here: compose instead
        return False
    return any(d.kind == "semantic" for d in run.diagnostics)


def composed_check(folder: Path, script: str, *, message: str, token: str, line: int | None = None,
                   token_kind: str = "identifier") -> Path:
    """The stderr stap 4.8 prints for a semantic error in ``script`` (FORMATS.md §3),
    recorded like the runner would."""
    if line is None:  # the first line that holds the token
        line = next(i for i, text in enumerate(script.splitlines(), 1) if token in text)
    source = script.splitlines()[line - 1]
    column = source.index(token) + 1
    caret = "".join("\t" if ch == "\t" else " " for ch in source[:column - 1])
    path = folder / SCRIPT
    stderr = (f"semantic error: {message}: {token_kind} '{token}' at {path}:{line}:{column}\n"
              f"        source: {source}\n"
              f"                {caret}^\n\n"
              "Pass 2: analysis failed.  [man error::pass2]\n").encode()
    return record_run(folder, script, [("stderr", stderr)], argv=["stap", "-p2", str(path)],
                      exit_status=1)


def record_typo_check(folder: Path, binary: Path) -> tuple[Path, bool]:
    """The typo script checked by real stap when it can run here, else composed.
    Returns the folder and whether stap really ran."""
    script = TYPO_SCRIPT.format(binary=binary)
    if stap_check(folder, script):
        return folder, True
    shutil.rmtree(folder, ignore_errors=True)
    composed_check(folder, script, message="unresolved function (similar: printf, printd)",
                   token=TYPO_TOKEN, line=TYPO_LINE)
    return folder, False


# --------------------------------------------------------------------------- fixtures

@dataclass(frozen=True)
class NginxRecording:
    folder: Path
    hit: NginxHit
    binary: Path
    source_root: Path


@pytest.fixture(scope="session")
def nginx_recording(tmp_path_factory, nginx_binary, nginx_source_root) -> NginxRecording:
    """One ngx_close_connection hit: printf line, backtrace, ``$c$`` and ``$c$$``."""
    from stapbench.symbols import Symbolizer

    hit = nginx_close_hit(Symbolizer(), nginx_binary)
    folder = tmp_path_factory.mktemp("rec") / "nginx-close"
    record_run(folder, nginx_script(nginx_binary), [("stdout", hit.stdout())],
               argv=["stap", "-DMAXSTRINGLEN=4096", str(folder / SCRIPT)])
    return NginxRecording(folder, hit, nginx_binary, nginx_source_root)


@dataclass(frozen=True)
class CheckRecording:
    folder: Path
    script: str
    real_stap: bool


@pytest.fixture(scope="session")
def typo_recording(tmp_path_factory, nginx_binary) -> CheckRecording:
    folder, real = record_typo_check(tmp_path_factory.mktemp("rec") / "typo", nginx_binary)
    return CheckRecording(folder, (folder / SCRIPT).read_text(), real)


# --------------------------------------------------------------------------- XSS payloads

def xss_stdout(binary: Path) -> bytes:
    """A hit whose printf line, backtrace symbol and module, and dump strings carry the payloads."""
    real = compose_chain(binary, NGINX_CLOSE_CHAIN[:3])
    evil = (f" {real[0].address:#x} : {XSS_IMG}+0x0/{real[0].size:#x} [/opt/{XSS_SCRIPT}/nginx]\n")
    escaped_img = XSS_IMG.replace('"', '\\"')  # stap quotes strings with \" inside
    return (f"close {XSS_SCRIPT} {XSS_IMG}\n".encode() + evil.encode() + ubacktrace_text(real[1:]).encode()
            + f'$r$={{.uri="{XSS_SCRIPT}", .agent="{escaped_img}", .c=\'<\', .next={{...}}}}\n'.encode())


XSS_CELL = f'probe begin {{ x("{XSS_IMG.replace(chr(34), chr(92) + chr(34))}") }}\n'


def xss_stderr() -> bytes:
    """stap's message for XSS_CELL's unknown function, with a payload among the suggestions
    (composed in stap 4.8's format: -e scripts are named <input>)."""
    source = XSS_CELL.rstrip("\n")
    column = source.index("x(") + 1
    return (f"semantic error: unresolved function (similar: printk, {XSS_IMG}): "
            f"identifier 'x' at <input>:1:{column}\n"
            f"        source: {source}\n"
            f"                {' ' * (column - 1)}^\n\n"
            "Pass 2: analysis failed.  [man error::pass2]\n").encode()


#: a real stap error whose message and source line hold the payloads
XSS_CHECK_SCRIPT = ("probe process(\"{binary}\").function(\"ngx_close_connection\") {{\n"
                    f"  printf(\"%d {XSS_SCRIPT}\\n\", @cast($c, \"{XSS_IMG.replace(chr(34), chr(92) + chr(34))}\")->fd)\n"
                    "}}\n")


@dataclass(frozen=True)
class XssRecordings:
    hit: Path  # printf line, backtrace, dump, and a composed diagnostic
    check: Path  # stap -p2 of XSS_CHECK_SCRIPT (real stap when it runs here)
    real_stap: bool


@pytest.fixture(scope="session")
def xss_recordings(tmp_path_factory, nginx_binary) -> XssRecordings:
    base = tmp_path_factory.mktemp("rec")
    hit = record_run(base / "xss-hit", XSS_CELL, [("stdout", xss_stdout(nginx_binary)), ("stderr", xss_stderr())])
    check = base / "xss-check"
    script = XSS_CHECK_SCRIPT.format(binary=nginx_binary)
    real = stap_check(check, script)
    if not real:
        shutil.rmtree(check, ignore_errors=True)
        composed_check(check, script, token="@cast", token_kind="operator",
                       message=f"type definition '{XSS_IMG}' not found in '{nginx_binary}'")
    return XssRecordings(hit, check, real)


# --------------------------------------------------------------------------- a flood

FLOOD_KEYS = ("open", "close")


def flood_line(i: int) -> str:
    return f"{FLOOD_KEYS[i % len(FLOOD_KEYS)]} conn={i} fd={i % 1000}\n"


@pytest.fixture(scope="session")
def flood_recording(tmp_path_factory) -> tuple[Path, int]:
    """A run that printed 1,000,000 printf lines (two probes, alternating)."""
    lines = 1_000_000
    folder = tmp_path_factory.mktemp("rec") / "flood"
    data = "".join(flood_line(i) for i in range(lines)).encode()
    record_run(folder, 'probe process("nginx").function("ngx_*_connection") { printf(...) }\n',
               [("stdout", data)])
    return folder, lines
