"""Symbolization against real binaries: tests/programs/demo.c built with -g -O0, its stripped
twin, separate debug files made with objcopy, and (below, in test_symbols_nginx.py) the nginx build.

Expected lines come from the source text; binutils (nm, objdump, addr2line) cross-check
addresses independently of pyelftools where they are installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stapbench.model.events import Frame
from stapbench.symbols import Symbolizer
from tests.support.paths import FIXTURES
from tests.support.programs import PROGRAMS

DEMO_C = PROGRAMS / "demo.c"


def source_line(path: Path, needle: str) -> int:
    """1-based number of the only line of ``path`` containing ``needle``."""
    hits = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} (binutils) is not installed")
    return found


def nm_function(binary: Path, name: str) -> tuple[int, int]:
    """(address, size) of a function, read by binutils' nm, not by the code under test."""
    out = subprocess.run([need("nm"), "-S", "--defined-only", str(binary)], check=True,
                         capture_output=True, text=True).stdout
    for row in out.splitlines():
        parts = row.split()
        if len(parts) == 4 and parts[3] == name and parts[2] in "tT":
            return int(parts[0], 16), int(parts[1], 16)
    raise AssertionError(f"{name} not in nm output of {binary}")


def addr2line(binary: Path, addresses: list[int]) -> list[int | None]:
    out = subprocess.run([need("addr2line"), "-e", str(binary)], input="".join(f"{a:#x}\n" for a in addresses),
                         check=True, capture_output=True, text=True).stdout.splitlines()
    lines = []
    for row in out:
        number = row.rsplit(":", 1)[1].split()[0]
        lines.append(int(number) if number.isdigit() else None)
    return lines


def compile_demo(workdir: Path, relative_source: str, *flags: str) -> Path:
    """Build a copy of demo.c at ``workdir/relative_source`` from ``workdir`` (a relative DW_AT_name)."""
    src = workdir / relative_source
    src.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO_C, src)
    out = workdir / "demo"
    subprocess.run([need("gcc"), "-g", "-O0", *flags, "-o", str(out), relative_source], cwd=workdir, check=True)
    return out


def frame(module: Path | str, symbol: str | None, offset: int | None, **kw) -> Frame:
    return Frame(address=kw.pop("address", None), symbol=symbol, offset=offset, module=str(module), **kw)


# -- resolving ----------------------------------------------------------------------------

def test_leaf_offsets_resolve_to_the_lines_of_handle_leaf(demo_program):
    brace = source_line(DEMO_C, "int handle_leaf(") + 1
    body = source_line(DEMO_C, "return (int)(r->number")
    start, size = nm_function(demo_program, "handle_leaf")
    sym = Symbolizer()
    locs = [sym.locate(frame(demo_program, "handle_leaf", off)) for off in range(size)]
    assert all(loc.problem is None for loc in locs), locs[0]
    lines = [loc.line for loc in locs]
    assert lines[0] == brace  # the prologue
    assert lines[-1] == body + 1  # the closing brace
    assert body in lines and set(lines) == {brace, body, body + 1}
    assert lines == sorted(lines)
    assert lines == addr2line(demo_program, [start + off for off in range(size)])
    loc = locs[lines.index(body)]
    assert loc.function == "handle_leaf" and loc.address == start + lines.index(body)
    assert loc.file == str(DEMO_C) and loc.path == DEMO_C and loc.module == str(demo_program)


def call_return_offset(binary: Path, caller: str, callee: str) -> int:
    """Offset in ``caller`` of the instruction after its call to ``callee`` (a return address)."""
    out = subprocess.run([need("objdump"), "-d", "--no-show-raw-insn", str(binary)], check=True,
                         capture_output=True, text=True).stdout
    body = out.split(f"<{caller}>:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    for i, row in enumerate(body):
        if "call" in row and f"<{callee}" in row:
            return int(body[i + 1].split(":")[0], 16) - nm_function(binary, caller)[0]
    raise AssertionError(f"no call to {callee} in {caller}")


def test_return_addresses_resolve_to_the_call_line(demo_program):
    # after `usleep(...)` returns, the next instruction is the loop's i++: another line
    offset = call_return_offset(demo_program, "main", "usleep")
    call_line = source_line(DEMO_C, "usleep(delay_ms")
    loop_line = source_line(DEMO_C, "for (int i = 0")
    sym = Symbolizer()
    ret = frame(demo_program, "main", offset)
    assert sym.locate(ret).line == loop_line  # as printed: the instruction after the call
    assert sym.locate(ret, return_address=True).line == call_line
    leaf = frame(demo_program, "handle_leaf", 4)
    as_backtrace = sym.locate_backtrace([leaf, ret])
    assert as_backtrace[0].line == sym.locate(leaf).line  # the probe PC: as printed
    assert as_backtrace[1].line == call_line and as_backtrace[1].address == sym.locate(ret).address - 1
    returning_to = frame(demo_program, "main", offset, role="returning_to")
    assert sym.locate(returning_to).line == call_line


def test_module_only_frame_and_size_pick(demo_program, tmp_path):
    start, size = nm_function(demo_program, "handle_middle")
    sym = Symbolizer()
    # ` 0x55.. [/path/demo+0xOFF/0xSIZE]`: no symbol, offset from the load base (0 for a PIE)
    loc = sym.locate(frame(demo_program, None, start + 8, address=0x55555555a000 + start + 8))
    assert loc.function == "handle_middle"
    assert loc.line == addr2line(demo_program, [start + 8])[0]
    # a PIE's run-time address alone says nothing (ASLR): stap must print the module offset
    assert sym.locate(frame(demo_program, None, None, address=0x55555555a000 + start)).problem == "no-symbol"
    # a non-PIE executable: stap prints absolute offsets, and its run-time addresses are link-time ones
    nopie = compile_demo(tmp_path, "demo.c", "-no-pie", "-fno-pie")
    nstart, _ = nm_function(nopie, "handle_middle")
    assert nstart >= 0x400000
    for f in (frame(nopie, None, nstart + 8, address=nstart + 8), frame(nopie, None, None, address=nstart + 8)):
        found = sym.locate(f)
        assert (found.function, found.line, found.address) == ("handle_middle", loc.line, nstart + 8)
    # a size that matches no symbol of that name still finds the name
    assert sym.locate(frame(demo_program, "handle_middle", 8, size=size + 1)).line == loc.line


def test_locate_function_spans_the_definition(demo_program):
    loc = Symbolizer().locate_function(str(demo_program), "handle_middle")
    first = source_line(DEMO_C, "int handle_middle(")
    assert (loc.line, loc.end_line) == (first, first + 3)
    assert DEMO_C.read_text().splitlines()[loc.end_line - 1] == "}"
    missing = Symbolizer().locate_function(str(demo_program), "no_such_function")
    assert missing.problem == "no-symbol"


def test_source_snippet_around_the_line(demo_program):
    sym = Symbolizer()
    start, size = nm_function(demo_program, "handle_leaf")
    body = source_line(DEMO_C, "return (int)(r->number")
    loc = next(loc for off in range(size) if (loc := sym.locate(frame(demo_program, "handle_leaf", off))).line == body)
    snippet = sym.source_snippet(loc, context=3)
    assert snippet.path == DEMO_C and snippet.target_line == body
    assert snippet.first_line == body - 3 and len(snippet.lines) == 7
    assert "return (int)(r->number" in snippet.lines[body - snippet.first_line]
    assert dict(snippet.numbered())[body] == snippet.lines[3]
    top = sym.source_snippet(sym.locate_function(str(demo_program), "handle_leaf"), context=100)
    assert top.first_line == 1 and top.last_line == len(DEMO_C.read_text().splitlines())


# -- problems and hints ---------------------------------------------------------------------

def test_stripped_binary_says_no_debuginfo(demo_program_stripped):
    loc = Symbolizer().locate(frame(demo_program_stripped, "handle_leaf", 4))
    assert loc.problem == "no-debuginfo"
    assert loc.function == "handle_leaf" and loc.line is None and loc.file is None
    assert "-dbgsym" in loc.hint and "-g" in loc.hint and loc.build_id in loc.hint


def test_missing_source_then_source_root(tmp_path):
    build = tmp_path / "build"
    binary = compile_demo(build, "src/demo.c")
    body = source_line(DEMO_C, "return (int)(r->number")
    start, size = nm_function(binary, "handle_leaf")
    offset = addr2line(binary, [start + off for off in range(size)]).index(body)
    (build / "src" / "demo.c").unlink()  # the compilation directory no longer has it
    leaf = frame(binary, "handle_leaf", offset)
    loc = Symbolizer().locate(leaf)
    assert loc.problem == "no-source" and loc.file == "src/demo.c" and loc.line == body and loc.path is None
    assert "source_roots" in loc.hint and "src/demo.c" in loc.hint
    assert Symbolizer().source_snippet(loc) is None
    elsewhere = tmp_path / "checkout"
    (elsewhere / "src").mkdir(parents=True)
    shutil.copy(DEMO_C, elsewhere / "src" / "demo.c")
    sym = Symbolizer(source_roots=[elsewhere])
    found = sym.locate(leaf)
    assert found.problem is None and found.path == elsewhere / "src" / "demo.c"
    assert "r->number" in sym.source_snippet(found).lines[body - sym.source_snippet(found).first_line]
    # changing the roots later (what `%config` does) is seen at once
    later = Symbolizer()
    assert later.locate(leaf).problem == "no-source"
    later.source_roots = [str(elsewhere)]
    assert later.locate(leaf).path == elsewhere / "src" / "demo.c"


def test_absolute_names_from_another_machine_map_into_a_source_root(tmp_path):
    build = tmp_path / "b"
    binary = compile_demo(build, "src/demo.c", f"-fdebug-prefix-map={build}=/build/demo-1.0")
    (build / "src" / "demo.c").unlink()
    root = tmp_path / "demo-1.0"
    (root / "src").mkdir(parents=True)
    shutil.copy(DEMO_C, root / "src" / "demo.c")
    leaf = frame(binary, "handle_leaf", 4)
    assert Symbolizer().locate(leaf).problem == "no-source"
    loc = Symbolizer(source_roots=[root]).locate(leaf)
    assert loc.file == "src/demo.c" and loc.path == root / "src" / "demo.c"
    assert Symbolizer(source_roots=[tmp_path]).locate(leaf).path == root / "src" / "demo.c"  # parent of comp_dir


def test_module_not_on_disk_and_basenames(tmp_path, demo_program):
    gone = Symbolizer().locate(frame(tmp_path / "gone" / "nginx", "ngx_close_connection", 0x40))
    assert gone.problem == "no-module" and str(tmp_path / "gone" / "nginx") in gone.hint
    unknown = Symbolizer().locate(frame("no-such-binary-xyz", "f", 1))
    assert unknown.problem == "no-module" and "full path" in unknown.hint
    nomodule = Symbolizer().locate(Frame(address=0x4005D0))
    assert nomodule.problem == "no-module" and "stap -d" in nomodule.hint.replace("`", "")
    # SIMPLE style prints basenames: found among modules given or seen before
    sym = Symbolizer(modules=[demo_program])
    assert sym.locate(frame(demo_program.name, "handle_leaf", 4)).module == str(demo_program)
    # BRIEF style prints no module at all: the symbol is looked up in the known modules
    brief = sym.locate(Frame(address=None, symbol="handle_leaf", offset=4))
    assert brief.module == str(demo_program) and brief.line == sym.locate(frame(demo_program, "handle_leaf", 4)).line
    assert Symbolizer().locate(Frame(address=None, symbol="handle_leaf", offset=4)).problem == "no-module"
    seen = Symbolizer()
    seen.locate(frame(demo_program, "main", 0))
    assert seen.locate(frame(demo_program.name, "handle_leaf", 4)).line == sym.locate(
        frame(demo_program, "handle_leaf", 4)).line


def test_kernel_frames_are_not_looked_up(demo_program):
    sym = Symbolizer()
    for f in (Frame(address=0xFFFFFFFF811F4A10, symbol="vfs_read", offset=0x10, size=0x1d0, module="kernel"),
              Frame(address=0xFFFFFFFFA03C1E15, symbol="ext4_sync_file", offset=0x15, module="ext4"),
              Frame(address=None, symbol="kthread", offset=0, module="kernel")):
        loc = sym.locate(f)
        assert loc.problem == "kernel" and loc.function == f.symbol and "kernel" in loc.hint
    assert "ext4" in sym.locate(Frame(address=0xFFFFFFFFA03C1E15, module="ext4")).hint
    assert sym.stats.modules_opened == 0


def test_a_traced_machines_kernel_frame_does_not_offer_this_machines_debuginfo(tmp_path):
    """With a sysroot (a lab's rootfs), a kernel frame is the traced machine's: this machine's
    `uname -r` package is no remedy, so the hint says what is known and what is not shown."""
    f = Frame(address=0xFFFFFFFF811F4A10, symbol="tcp_disconnect", offset=0x4bf, module="kernel")
    here, lab = Symbolizer().locate(f), Symbolizer(sysroot=tmp_path).locate(f)
    assert "uname -r" in here.hint
    assert lab.problem == "kernel" and "uname -r" not in lab.hint and "traced machine" in lab.hint


def test_unknown_symbol_says_no_symbol(demo_program):
    loc = Symbolizer().locate(frame(demo_program, "not_in_this_build", 4))
    assert loc.problem == "no-symbol" and "not_in_this_build" in loc.hint and loc.build_id
    # an offset past the function's end: the file on disk is not the build stap saw
    _, size = nm_function(demo_program, "handle_leaf")
    assert Symbolizer().locate(frame(demo_program, "handle_leaf", size + 1)).problem == "no-symbol"
    assert Symbolizer().locate(frame(demo_program, "handle_leaf", size), return_address=True).problem is None


def test_address_without_line_says_no_line(demo_program):
    # _start comes from crt1.o, which carries no DWARF line rows
    loc = Symbolizer().locate(frame(demo_program, "_start", 4))
    assert addr2line(demo_program, [nm_function(demo_program, "_start")[0] + 4]) == [None]
    assert loc.problem == "no-line" and "-g" in loc.hint


# -- caching and separate debuginfo ------------------------------------------------------

def readelf_build_id(binary: Path) -> str:
    out = subprocess.run([need("readelf"), "-n", str(binary)], check=True, capture_output=True, text=True).stdout
    return out.split("Build ID:", 1)[1].split()[0]


def test_build_id_cache(tmp_path, demo_program):
    sym = Symbolizer()
    first = sym.locate(frame(demo_program, "handle_leaf", 4))
    assert first.build_id == readelf_build_id(demo_program)
    opened, decoded = sym.stats.modules_opened, sym.module(str(demo_program)).debug.tables_decoded
    again = sym.locate(frame(demo_program, "handle_middle", 4))
    assert sym.stats.modules_opened == opened and sym.stats.module_hits >= 1
    assert again.line == source_line(DEMO_C, "int handle_middle(") + 1
    # a copy of the same build at another path: opened, but its DWARF index is reused
    copy = tmp_path / "copy-of-demo"
    shutil.copy(demo_program, copy)
    assert sym.locate(frame(copy, "handle_leaf", 4)).line == first.line
    assert sym.stats.build_id_hits == 1
    assert sym.module(str(copy)).debug is sym.module(str(demo_program)).debug
    assert sym.module(str(demo_program)).debug.tables_decoded == decoded


def split_debug(binary: Path, out_dir: Path) -> tuple[Path, Path]:
    """(stripped binary, its debug file), made the way distributions do with objcopy."""
    objcopy = need("objcopy")
    out_dir.mkdir(parents=True, exist_ok=True)
    debug = out_dir / "demo.debug"
    stripped = out_dir / "demo"
    subprocess.run([objcopy, "--only-keep-debug", str(binary), str(debug)], check=True)
    subprocess.run([objcopy, "--strip-debug", "--strip-unneeded", str(binary), str(stripped)], check=True)
    return stripped, debug


def test_separate_debuginfo_by_build_id(tmp_path, demo_program):
    stripped, debug = split_debug(demo_program, tmp_path / "bin")
    bid = readelf_build_id(stripped)
    store = tmp_path / "debug" / ".build-id" / bid[:2]
    store.mkdir(parents=True)
    debug.rename(store / f"{bid[2:]}.debug")
    leaf = frame(stripped, "handle_leaf", 4)
    assert Symbolizer(debug_dirs=[]).locate(leaf).problem == "no-debuginfo"
    loc = Symbolizer(debug_dirs=[tmp_path / "debug"]).locate(leaf)
    assert loc.problem is None and loc.line == Symbolizer().locate(frame(demo_program, "handle_leaf", 4)).line


def test_separate_debuginfo_by_debuglink(tmp_path, demo_program):
    stripped, debug = split_debug(demo_program, tmp_path / "bin")
    linked = tmp_path / "bin" / "demo-linked"
    subprocess.run([need("objcopy"), f"--add-gnu-debuglink={debug}", str(stripped), str(linked)], check=True)
    loc = Symbolizer(debug_dirs=[]).locate(frame(linked, "handle_middle", 4))
    assert loc.problem is None and loc.file == str(DEMO_C)
    debug.unlink()
    assert Symbolizer(debug_dirs=[]).locate(frame(linked, "handle_middle", 4)).problem == "no-debuginfo"


LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")


def test_system_library_with_installed_debug_package():
    if not LIBC.exists():
        pytest.skip(f"{LIBC} is not here (not x86_64 Debian)")
    bid = readelf_build_id(LIBC)
    if not Path(f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug").exists():
        pytest.skip("libc6-dbg is not installed (no /usr/lib/debug/.build-id file for libc)")
    start, _ = nm_function(Path(f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"), "malloc")
    loc = Symbolizer().locate(frame(LIBC, "malloc", 0x10))
    assert loc.file.endswith("malloc.c") and loc.problem in (None, "no-source")
    assert loc.line == addr2line(Path(f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"), [start + 0x10])[0]


# -- bad input: never an exception -------------------------------------------------------

def test_files_that_are_not_elf_or_are_broken(tmp_path, demo_program):
    text = tmp_path / "notes.txt"
    text.write_text("not a binary\n")
    loc = Symbolizer().locate(frame(text, "main", 0))
    assert loc.problem == "no-module" and "could not be read" in loc.hint and "ELF" in loc.hint
    truncated = tmp_path / "demo-truncated"
    truncated.write_bytes(demo_program.read_bytes()[:3000])
    assert Symbolizer().locate(frame(truncated, "handle_leaf", 4)).problem in ("no-module", "no-symbol",
                                                                               "no-debuginfo")
    # DWARF sections overwritten with garbage: symbols still work, lines are reported missing
    data = bytearray(demo_program.read_bytes())
    out = subprocess.run([need("readelf"), "-S", "-W", str(demo_program)], check=True, capture_output=True,
                         text=True).stdout
    for row in out.splitlines():
        if ".debug_line " in row or ".debug_info " in row:
            fields = row.split("]", 1)[1].split()
            offset, size = int(fields[3], 16), int(fields[4], 16)
            data[offset:offset + size] = b"\xff" * size
    garbled = tmp_path / "demo-garbled"
    garbled.write_bytes(bytes(data))
    loc = Symbolizer().locate(frame(garbled, "handle_leaf", 4))
    assert loc.function == "handle_leaf" and loc.problem in ("no-debuginfo", "no-line") and loc.hint


def test_odd_frames_do_not_raise(demo_program):
    sym = Symbolizer()
    odd = [Frame(address=None), Frame(address=0), Frame(address=None, module=""),
           Frame(address=None, symbol="", offset=None, module=str(demo_program)),
           Frame(address=0x1234, module=str(demo_program)), Frame(address=None, offset=10**12, module=str(demo_program)),
           Frame(address=None, symbol="handle_leaf", offset=-5, module=str(demo_program)),
           Frame(address=None, symbol="handle_leaf", offset=0, module=str(demo_program), role="returning_to")]
    for f in odd:
        loc = sym.locate(f)
        assert loc.problem is None or loc.hint, f


@pytest.mark.samples
def test_every_frame_of_the_real_samples_gets_an_answer(samples_dir):
    """The real transcripts' frames come from other machines: each must say kernel, or why not."""
    from stapbench.model.events import Backtrace
    from stapbench.parser import parse_bytes

    sym = Symbolizer()
    seen = 0
    for path in sorted(samples_dir.glob("backtrace_*.txt")):
        for bt in (e for e in parse_bytes(path.read_bytes()) if isinstance(e, Backtrace)):
            for f, loc in zip(bt.frames, sym.locate_backtrace(bt.frames)):
                seen += 1
                assert loc.problem is None or loc.hint, (path.name, f.text)
                if (f.address or 0) >= 1 << 63 or f.module == "kernel":
                    assert loc.problem == "kernel", (path.name, f.text)
                elif f.module and f.module.startswith("/") and not Path(f.module).exists():
                    assert loc.problem == "no-module" and f.module in loc.hint, (path.name, f.text)
    assert seen > 100


def test_threads_share_one_symbolizer(demo_program):
    """The live view may symbolize from another thread while the notebook does too."""
    from concurrent.futures import ThreadPoolExecutor

    frames = [frame(demo_program, name, off) for name in ("handle_leaf", "handle_middle", "handle_request", "main")
              for off in range(0, 40, 3)]
    expected = [(loc.function, loc.file, loc.line) for loc in (Symbolizer().locate(f) for f in frames)]
    for _ in range(5):
        sym = Symbolizer()
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda f: sym.locate(f), frames * 4))
        assert [(loc.function, loc.file, loc.line) for loc in got] == expected * 4
        assert sym.stats.modules_opened == 1


def test_file_and_line_printed_by_stap_are_used_when_the_module_cannot_tell(tmp_path):
    """print_ubacktrace_fileline() output (` at FILE:LINE`) from another machine."""
    body = source_line(DEMO_C, "return (int)(r->number")
    root = tmp_path / "checkout"
    (root / "src").mkdir(parents=True)
    shutil.copy(DEMO_C, root / "src" / "demo.c")
    printed = Frame(address=0x55D0C0A01179, symbol="handle_leaf", offset=0x10, module="/elsewhere/demo",
                    file="src/demo.c", line=body)
    sym = Symbolizer(source_roots=[root])
    loc = sym.locate(printed)
    assert (loc.file, loc.line, loc.path, loc.problem) == ("src/demo.c", body, root / "src" / "demo.c", None)
    assert "r->number" in sym.source_snippet(loc).lines[body - sym.source_snippet(loc).first_line]
    missing = Symbolizer().locate(printed)
    assert missing.problem == "no-source" and missing.line == body and "source_roots" in missing.hint
    kernel = Symbolizer().locate(Frame(address=0xFFFFFFFF811F4A10, symbol="vfs_read", offset=0x10,
                                       module="kernel", file="fs/read_write.c", line=468))
    assert (kernel.problem, kernel.file, kernel.line) == ("kernel", "fs/read_write.c", 468)


def test_a_rebuilt_module_is_noticed(tmp_path, monkeypatch):
    from stapbench.symbols import symbolizer

    monkeypatch.setattr(symbolizer, "RECHECK_SECONDS", 0.0)  # re-stat at every lookup
    binary = compile_demo(tmp_path, "demo.c")
    sym = Symbolizer()
    leaf = frame(binary, "handle_leaf", 4)
    before = sym.locate(leaf)
    source = tmp_path / "demo.c"
    source.write_text("/* one more line */\n" + source.read_text())
    subprocess.run([need("gcc"), "-g", "-O0", "-o", str(binary), "demo.c"], cwd=tmp_path, check=True)
    after = sym.locate(leaf)
    assert after.line == before.line + 1 and after.build_id != before.build_id


def test_32_bit_elf(tmp_path):
    out = tmp_path / "tiny32"
    build = subprocess.run([need("gcc"), "-m32", "-g", "-O0", "-nostdlib", "-static", "-Wl,-e,entry", "-o", str(out),
                            str(FIXTURES / "symbols" / "tiny.c")], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"gcc -m32 cannot link here: {build.stderr.strip().splitlines()[-1:]}")
    start, size = nm_function(out, "leaf")
    sym = Symbolizer()
    lines = [sym.locate(frame(out, "leaf", off)).line for off in range(size)]
    assert lines == addr2line(out, [start + off for off in range(size)])
    assert source_line(FIXTURES / "symbols" / "tiny.c", "return x * 3 + 1;") in lines
    assert sym.function_params(str(out), "entry") == {"y": "int"}


# -- a remote host's files, under a sysroot -------------------------------------------------

def test_sysroot_finds_a_remote_hosts_module_and_its_separate_debuginfo(tmp_path, demo_program):
    """A frame printed by a lab guest names the guest's path; the module, its separate
    debug file (/usr/lib/debug/.build-id/...) and the source are found under the sysroot."""
    root = tmp_path / "rootfs"
    guest_path = "/opt/app/bin/demo"
    on_host = root / guest_path.lstrip("/")
    on_host.parent.mkdir(parents=True)
    subprocess.run(["objcopy", "--only-keep-debug", str(demo_program), str(tmp_path / "demo.debug")], check=True)
    subprocess.run(["strip", "--strip-debug", "-o", str(on_host), str(demo_program)], check=True)
    build_id = Symbolizer().module(str(demo_program)).build_id
    debug = root / "usr/lib/debug/.build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    debug.parent.mkdir(parents=True)
    shutil.move(tmp_path / "demo.debug", debug)
    body = source_line(DEMO_C, "return (int)(r->number")
    start, size = nm_function(demo_program, "handle_leaf")
    offset = next(off for off in range(size) if addr2line(demo_program, [start + off]) == [body])

    plain = Symbolizer().locate(frame(guest_path, "handle_leaf", offset))
    assert plain.problem is not None  # not on this machine at that path
    found = Symbolizer(sysroot=root).locate(frame(guest_path, "handle_leaf", offset))
    assert found.problem is None, found.hint
    assert (found.line, found.path) == (body, DEMO_C)
    assert found.module == str(on_host)
