"""``stapbench doctor`` / ``%stap_doctor``: what stap needs on this machine.

Each check says what it found and, when something is missing, what to do.
The live check runs a real (tiny) BPF program, since only that proves the
runtime works.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .options import RunOptions
from .uprobes import UPROBE_EVENTS, stale_stap_uprobes

CAP_SYS_RESOURCE = 24


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not applicable / informational
    found: str
    remedy: str = ""

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "info"}[self.ok]
        text = f"[{mark}] {self.name}: {self.found}"
        if self.remedy and self.ok is not True:
            text += f"\n       -> {self.remedy}"
        return text


def _run(argv, timeout=60, env=None):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_stap() -> Check:
    stap = shutil.which("stap")
    if not stap:
        return Check("stap", False, "not found on PATH", "apt-get install systemtap (Debian/Ubuntu)")
    done = _run([stap, "-V"])
    version = (done.stderr or done.stdout).splitlines()[0] if done and (done.stderr or done.stdout) else "unknown version"
    return Check("stap", True, f"{stap}: {version}")


def kernel_build_tree() -> Path:
    return Path("/lib/modules") / platform.release() / "build"


def check_build_tree() -> list[Check]:
    tree = kernel_build_tree()
    checks = []
    if not (tree / ".config").exists():
        checks.append(Check("kernel build tree", False, f"{tree}/.config missing",
                            f"for --runtime=bpf: mkdir -p {tree} && zcat /proc/config.gz > {tree}/.config "
                            f"&& touch {tree}/Module.symvers (.ci/provision does this); for the kernel runtime: "
                            f"install the linux-headers package of {platform.release()}"))
    else:
        headers = (tree / "Makefile").exists()
        checks.append(Check("kernel build tree", True,
                            f"{tree} ({'full headers' if headers else '.config only: enough for --runtime=bpf'})"))
    return checks


def installed(tool: str) -> str | None:
    """Where ``tool`` is on PATH, executable by this user or not (stapbpf and staprun are
    setuid root, runnable by root and the stapusr group only)."""
    found = shutil.which(tool)
    if found:
        return found
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder, tool)
        if folder and os.path.isfile(candidate):
            return candidate
    return None


def _root_only(path: str) -> str:
    return f"{path} (not executable as this user: root and the stapusr group; --sudo runs stap as root)"


def check_debugfs() -> Check:
    try:
        os.stat(UPROBE_EVENTS)
        return Check("debugfs", True, f"mounted ({UPROBE_EVENTS} exists)")
    except PermissionError:
        return Check("debugfs", None, f"{UPROBE_EVENTS} is unreadable as this user (debugfs is root's; "
                                      "stap under --sudo runs as root)", "sudo stapbench doctor checks it")
    except OSError:
        return Check("debugfs", False, f"{UPROBE_EVENTS} not found",
                     "mount -t debugfs nodev /sys/kernel/debug (stapbpf opens the uprobe_events file)")


def kernel_runtime_missing() -> str | None:
    """Why the kernel runtime cannot build and load its module here, or None if it can."""
    if not installed("staprun"):
        return "staprun not found"
    if not (kernel_build_tree() / "Makefile").exists():
        return "no kernel headers/Makefile in the build tree"
    if not Path("/proc/modules").exists():
        return "no loadable kernel modules (/proc/modules)"
    return None


def auto_runtime() -> tuple[str | None, str | None]:
    """The runtime to use when none is asked for: (None, None) for stap's default (the kernel
    runtime) where it can work, else ("bpf", why the kernel runtime can't) where stapbpf is."""
    why = kernel_runtime_missing()
    if why is None or not installed("stapbpf"):
        return None, None
    return "bpf", why


def check_runtimes() -> list[Check]:
    checks = []
    why = kernel_runtime_missing()
    if why is None:
        checks.append(Check("runtime kernel", True, "staprun and kernel headers present"))
    else:
        checks.append(Check("runtime kernel", False, why,
                            "install the kernel's headers and debuginfo, or use --runtime=bpf for user-space probes "
                            "(%%stap does here by default: StapMagics.runtime = 'auto'); for the kernel runtime "
                            "(kernel.function, print_backtrace, $var$) without changing this kernel: "
                            "'stapbench lab up', then %%stap --remote lab"))
    stapbpf = installed("stapbpf")
    runnable = bool(stapbpf) and (os.geteuid() == 0 or os.access(stapbpf, os.X_OK))
    checks.append(Check("runtime bpf", bool(stapbpf),
                        (stapbpf if runnable else _root_only(stapbpf)) if stapbpf else "stapbpf not found",
                        "apt-get install systemtap (Debian's package includes stapbpf)"))
    stapdyn = installed("stapdyn")
    checks.append(Check("runtime dyninst", True if stapdyn else None, stapdyn or "stapdyn not installed",
                        "optional: a systemtap build with Dyninst support"))
    if any(c.ok for c in checks):  # a runtime that can't work here is no problem while another can
        for check in checks:
            if check.ok is False:
                check.ok = None
    return checks


def _has_cap(bit: int) -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return False


def check_privileges() -> Check:
    if os.geteuid() == 0:
        return Check("privileges", True, "running as root")
    sudo = shutil.which("sudo")
    if sudo:
        done = _run([sudo, "-n", "true"], timeout=10)
        how = "without a password" if done and done.returncode == 0 else "with a password (asked by a masked prompt)"
        return Check("privileges", True, f"not root; sudo available {how}: use --sudo or %config StapMagics.use_sudo = True")
    return Check("privileges", False, "not root and no sudo",
                 "run as root, or install sudo, or join the stapusr/stapdev groups (kernel runtime)")


def check_memlock() -> Check:
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if hard == resource.RLIM_INFINITY and soft == resource.RLIM_INFINITY:
        return Check("memlock limit", True, "unlimited")
    if _has_cap(CAP_SYS_RESOURCE):
        return Check("memlock limit", True, f"{soft} bytes, but CAP_SYS_RESOURCE lets stapbpf raise it")
    shim = RunOptions(runtime="bpf").shim_path()
    if shim:
        return Check("memlock limit", True, f"{soft} bytes, no CAP_SYS_RESOURCE; the runner preloads {shim}")
    return Check("memlock limit", False,
                 f"{soft} bytes and no CAP_SYS_RESOURCE: stapbpf fails raising it",
                 "build the shim: gcc -shared -fPIC -o /usr/local/lib/stapbench/memlock_shim.so "
                 "stapbench/runner/memlock_shim.c -ldl (.ci/provision does it), or set STAPBENCH_MEMLOCK_SHIM")


def check_program_shim() -> Check:
    from .program import DEFAULT_PROGRAM_SHIM, program_shim_path

    shim = program_shim_path()
    if shim:
        return Check("program output shim", True, f"{shim}: a -c program's output is kept apart from probe output")
    return Check("program output shim", False,
                 "not built: a -c program's own output mixes into the probe output and counts as hits",
                 f"gcc -shared -fPIC -o {DEFAULT_PROGRAM_SHIM} stapbench/runner/program_output_shim.c "
                 "(.ci/provision does it), or set STAPBENCH_PROGRAM_SHIM")


def check_debuginfo(binary: str) -> Check:
    path = Path(binary)
    if not path.is_file():
        found = shutil.which(binary)
        if not found:
            return Check(f"debuginfo {binary}", False, "no such file", "give the path of the target binary")
        path = Path(found)
    try:
        from elftools.elf.elffile import ELFFile

        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf.get_section_by_name(".debug_info") is not None:
                return Check(f"debuginfo {path}", True, "has DWARF (.debug_info)")
            build_id = None
            note = elf.get_section_by_name(".note.gnu.build-id")
            if note is not None:
                for n in note.iter_notes():
                    if n["n_type"] == "NT_GNU_BUILD_ID":
                        build_id = n["n_desc"]
            if build_id:
                separate = Path("/usr/lib/debug/.build-id") / build_id[:2] / f"{build_id[2:]}.debug"
                if separate.exists():
                    return Check(f"debuginfo {path}", True, f"separate debuginfo at {separate}")
    except Exception as exc:  # not ELF, unreadable
        return Check(f"debuginfo {path}", False, f"cannot read it as ELF: {exc}", "give an ELF executable")
    return Check(f"debuginfo {path}", False, "no DWARF: probes on its functions and $variables will not resolve",
                 "install its -dbgsym/-debuginfo package, or rebuild it with -g (e.g. ./configure --with-cc-opt='-g -O0')")


def check_live_bpf() -> Check:
    """Compile and run ``probe begin { exit() }`` on the BPF runtime."""
    stap = shutil.which("stap")
    if not stap:
        return Check("live BPF run", None, "skipped: no stap")
    env = dict(os.environ)
    shim = RunOptions(runtime="bpf").shim_path()
    if shim:
        env["LD_PRELOAD"] = shim
    done = _run([stap, "--runtime=bpf", "-e", 'probe begin { printf("stapbench-ok\\n") exit() }'], timeout=180, env=env)
    if done is None:
        return Check("live BPF run", False, "stap did not finish within 180 s", "see the checks above")
    if "stapbench-ok" in done.stdout:
        return Check("live BPF run", True, "a begin probe ran on --runtime=bpf")
    last = [line for line in done.stderr.splitlines() if line.strip()][-3:]
    return Check("live BPF run", False, "failed: " + " | ".join(last), "fix the failed checks above, then retry")


def check_stale_uprobes() -> Check:
    """Probe points a killed stapbpf left in the kernel (stapbench removes them after its runs)."""
    try:
        stale = stale_stap_uprobes(missing_ok=False)
    except PermissionError:
        return Check("loaded uprobes", None, f"can't tell without root ({UPROBE_EVENTS} is unreadable as this user)",
                     "sudo stapbench doctor lists them; --sudo runs remove them after each run")
    except OSError:
        stale = []  # no uprobe_events: nothing can be loaded (the debugfs check says why)
    if not stale:
        return Check("loaded uprobes", True, "none left behind by a stapbpf that is gone")
    names = ", ".join(p.name for p in stale[:3]) + (" ..." if len(stale) > 3 else "")
    return Check("loaded uprobes", False, f"{len(stale)} left loaded by stapbpf processes that are gone ({names})",
                 f"as root: echo '-:uprobes/NAME' >> {UPROBE_EVENTS} for each (stapbench does this after "
                 "each of its BPF runs, and its watchdog after a killed kernel)")


def run_checks(target: str | None = None, live: bool = True) -> list[Check]:
    checks = [check_stap(), *check_runtimes(), *check_build_tree(), check_debugfs(), check_stale_uprobes(),
              check_privileges(), check_memlock(), check_program_shim()]
    if target:
        checks.append(check_debuginfo(target))
    if live:
        checks.append(check_live_bpf())
    checks.extend(check_lab())
    return checks


def check_lab() -> list[Check]:
    """What the lab (a qemu guest for stap's kernel runtime, ``stapbench lab``) needs here.

    Informational where something is absent: the lab is optional on a host that runs the kernel
    runtime itself."""
    from ..lab import builder as lab_build
    from ..lab.machine import Lab, choose_accel

    checks = []
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86 qemu-utils"), ("debootstrap", "debootstrap")):
        path = shutil.which(tool)
        checks.append(Check(f"lab {tool}", True if path else None, path or "not installed",
                            f"apt-get install {package} (for stapbench lab)"))
    accel, why, probe = choose_accel()
    checks.append(Check("lab accel", True, f"{accel.upper()}: {why}"
                        + (" (the first 'lab up' tries it, then falls back to TCG)" if probe else "")))
    if lab_build.is_built():
        built = lab_build.manifest()
        checks.append(Check("lab build", True, f"kernel {built.get('kernel_release')}, stap {built.get('stap_version')}, "
                                               f"{lab_build.lab_dir()}"))
    else:
        folder = lab_build.lab_dir()
        probe_dir = folder if folder.exists() else folder.parent if folder.parent.exists() else Path.home()
        free_gb = shutil.disk_usage(probe_dir).free / 2**30
        enough = free_gb >= lab_build.DISK_NEEDED_GB
        checks.append(Check("lab disk", True if enough else False,
                            f"{free_gb:.0f} GB free in {probe_dir} (the build needs about {lab_build.DISK_NEEDED_GB} GB)",
                            "free some space, or set STAPBENCH_LAB_DIR to a larger disk"))
        checks.append(Check("lab build", None, f"not built ({folder})",
                            "stapbench lab build (about 10 minutes; as root)"))
    try:
        up = [lab for lab in Lab.all() if lab.status()["state"] == "up"]
    except OSError as exc:  # another user's labs folder (STAPBENCH_LABS_DIR): say so, don't fail the doctor
        checks.append(Check("labs up", None, f"can't tell: {exc.filename}: {exc.strerror}",
                            "run the doctor as the user who started the labs"))
        return checks
    if up:
        checks.append(Check("labs up", True, ", ".join(f"{lab.name} ({lab.remote})" for lab in up)))
    else:
        checks.append(Check("labs up", None, "none", "stapbench lab up [NAME], then %%stap --remote NAME"))
    return checks


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", metavar="BIN", help="also check that BIN carries debuginfo")
    parser.add_argument("--no-live", dest="live", action="store_false",
                        help="skip the live BPF run (compiling it takes a few seconds)")


def doctor_main(argv: list[str] | None = None, prog: str = "stapbench doctor", out=None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Check what stap needs here.")
    add_doctor_arguments(parser)
    return doctor_command(parser.parse_args(argv), out=out)


def doctor_command(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    checks = run_checks(args.target, args.live)
    for check in checks:
        out.write(check.line() + "\n")
    failed = [c for c in checks if c.ok is False]  # every [FAIL] line counts
    runtimes_ok = any(c.ok for c in checks if c.name.startswith("runtime "))
    out.write(f"\n{len(failed)} problem(s)" + ("" if runtimes_ok else "; no runtime can work") + "\n")
    return 1 if failed or not runtimes_ok else 0
