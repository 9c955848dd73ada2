"""A lab: one qemu guest booted from the built image, with its sockets under ``labs/NAME/``.

Lifecycle: :meth:`Lab.up` boots qemu (``-snapshot``: the shared image is never written), waits
for the guest's readiness line, stapsh's handshake and nginx's answer; :meth:`Lab.down` quits it
through QMP (SIGKILL if it does not go) and removes the lab's folder, sockets included.  A lab
started from Python is owned by that process: an owner watchdog (:mod:`.watchdog`) stops it when
the process dies, however it dies.  ``stapbench lab up`` hands its lab over (detached) once it is
ready; until then the same watchdog covers a Ctrl-C, SIGTERM or SIGKILL during the boot.
:meth:`Lab.status` notices a qemu that died and removes its stale state.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from . import builder as lab_build
from . import watchdog
from .builder import file_tail
from .channels import agent_exec, agent_write_file, qmp_quit
from .enter import enter_argv
from .errors import LabError
from .guestfiles import GUEST_INIT
from .paths import GUEST_NGINX, GUEST_NGINX_PORT, GUEST_NGINX_PREFIX, lab_dir, labs_dir

__all__ = ["Lab", "choose_accel", "stop_qemu", "qemu_processes", "stap_argv_prefix"]

QEMU = "qemu-system-x86_64"
READY_LINE = "stapbench-lab: ready"
MEMORY_MB = 2048
CPUS = 2
KVM_PROBE_SECONDS = 12.0  # a stock kernel under working KVM prints "Linux version" within 2 s
BOOT_TIMEOUT = {"kvm": 90.0, "tcg": 240.0}
Progress = Callable[[str], None]

_owned: dict[str, subprocess.Popen] = {}  # lab name -> its owner watchdog, for this process's lifetime
_owned_lock = threading.Lock()


def _quiet(_line: str) -> None:
    pass


# ------------------------------------------------------------------------------------ qemu pids

def _pid_of(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "qemu.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_our_qemu(pid: int, state_dir: Path) -> bool:
    """pid is alive and is the qemu of this lab (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return str(state_dir / "qemu.pid").encode() in cmdline


def qemu_processes() -> list[int]:
    """Pids of running qemu processes of any lab (for the doctor and the tests)."""
    pids = []
    root = str(labs_dir()).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(QEMU.encode()) or b"/" + QEMU.encode() in cmdline.split(b"\0", 1)[0]:
                if root in cmdline:
                    pids.append(int(entry.name))
    return pids


def _reap(pid: int) -> None:
    """Reap ``pid`` if it is our child and has ended (a qemu this process booted)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _wait_gone(pid: int, state_dir: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap(pid)
        if not _is_our_qemu(pid, state_dir):
            _reap(pid)  # it may have become a zombie since the first look: not one left behind
            return True
        time.sleep(0.05)
    gone = not _is_our_qemu(pid, state_dir)
    _reap(pid)
    return gone


def stop_qemu(state_dir: Path, pid: int | None = None) -> None:
    """Stop a lab's qemu (QMP quit, then SIGKILL) and remove its folder.  Idempotent."""
    pid = pid or _pid_of(state_dir)
    if pid is None:
        # started but no pidfile yet: give qemu a moment to write it
        for _ in range(20):
            time.sleep(0.1)
            pid = _pid_of(state_dir)
            if pid is not None:
                break
    if pid is not None and _is_our_qemu(pid, state_dir):
        if not (qmp_quit(state_dir / "qmp.sock") and _wait_gone(pid, state_dir, 3.0)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(pid, state_dir, 5.0)
    shutil.rmtree(state_dir, ignore_errors=True)


# ----------------------------------------------------------------------------------------- accel

def _accel_cache() -> Path:
    return lab_dir() / "accel.json"  # a fact about this host and the built kernel, shared by every labs folder


def _kvm_opens() -> bool:
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
        return True
    except OSError:
        return False


def choose_accel() -> tuple[str, str, bool]:
    """(accel, why, needs_probe): ``kvm`` or ``tcg``; ``needs_probe`` when KVM opens but has not been
    seen to boot this kernel yet (``up`` then tries it with a deadline and caches the verdict)."""
    forced = os.environ.get("STAPBENCH_LAB_ACCEL", "").strip().lower()
    if forced in ("kvm", "tcg"):
        return forced, f"STAPBENCH_LAB_ACCEL={forced}", False
    if not _kvm_opens():
        return "tcg", "/dev/kvm is not usable here", False
    try:
        verdict = json.loads(_accel_cache().read_text())
    except (OSError, ValueError):
        verdict = {}
    if verdict.get("host") == os.uname().release and "kvm_boots" in verdict:
        if verdict["kvm_boots"]:
            return "kvm", "KVM boots the lab's kernel here (checked before)", False
        return "tcg", f"/dev/kvm opens but the kernel hangs under it: {verdict.get('seen', 'checked before')}", False
    return "kvm", "trying KVM once", True


def _record_accel(kvm_boots: bool, seen: str) -> None:
    lab_dir().mkdir(parents=True, exist_ok=True)
    tmp = _accel_cache().with_suffix(".partial")
    tmp.write_text(json.dumps({"host": os.uname().release, "kvm_boots": kvm_boots, "seen": seen}) + "\n")
    tmp.rename(_accel_cache())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------------------------------- Lab

class Lab:
    """One named lab (state under ``labs_dir()/NAME``); see the module docstring."""

    def __init__(self, name: str = "lab"):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", name):
            raise LabError(f"lab name {name!r}: letters, digits, '.', '_', '-', at most 32")
        self.name = name

    def __repr__(self) -> str:
        return f"Lab({self.name!r})"

    # paths and facts ----------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return labs_dir() / self.name

    @property
    def sysroot(self) -> Path:
        """The rootfs: the guest's path P is at ``sysroot / P`` on the host."""
        return lab_dir() / "rootfs"

    @property
    def remote(self) -> str:
        return f"unix:{self.state_dir / 'stapsh.sock'}"

    @property
    def nginx(self) -> str:
        return GUEST_NGINX

    @property
    def nginx_url(self) -> str:
        port = self._state().get("port")
        return f"http://127.0.0.1:{port}/" if port else ""

    @property
    def console_log(self) -> Path:
        return self.state_dir / "console.log"

    @property
    def is_up(self) -> bool:
        return self.status()["state"] == "up"

    @classmethod
    def all(cls) -> list["Lab"]:
        root = labs_dir()
        if not root.is_dir():
            return []
        return [cls(entry.name) for entry in sorted(root.iterdir()) if (entry / "state.json").is_file()]

    def _state(self) -> dict:
        try:
            return json.loads((self.state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self, state: dict) -> None:
        tmp = self.state_dir / "state.json.partial"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.rename(self.state_dir / "state.json")

    def status(self) -> dict:
        state = self._state()
        pid = state.get("pid") or _pid_of(self.state_dir)
        alive = pid is not None and _is_our_qemu(pid, self.state_dir)
        if state and not alive and not state.get("starting"):
            # qemu died without a down: remove the stale sockets and state
            self._forget_owner()
            shutil.rmtree(self.state_dir, ignore_errors=True)
            state = {}
        lab_state = "down" if not alive else ("up" if state.get("ready") else "booting")
        return {
            "name": self.name,
            "state": lab_state,
            "remote": self.remote,
            "nginx": self.nginx,
            "nginx_url": self.nginx_url if alive else "",
            "accel": state.get("accel", ""),
            "accel_reason": state.get("accel_reason", ""),
            "pid": pid if alive else None,
            "owned": bool(state.get("owned")) if alive else False,
            "kernel_release": state.get("kernel_release") or lab_build.manifest().get("kernel_release", ""),
            "rootfs": str(self.sysroot),
            "state_dir": str(self.state_dir),
            "console_log": str(self.console_log) if alive else "",
            "boot_seconds": state.get("boot_seconds"),
        }

    # up ------------------------------------------------------------------------------------
    def up(self, progress: Progress | None = None, owned: bool = True, timeout: float | None = None) -> "Lab":
        """Boot the lab and block until stapsh and nginx answer.  ``owned``: it goes down when this
        process dies; otherwise it lives until :meth:`down` (``stapbench lab up``)."""
        progress = progress or _quiet
        if self.is_up:
            progress(f"lab {self.name}: already up ({self.remote})")
            if owned is False:
                self._forget_owner(release=True)
            return self
        if not lab_build.is_built():
            raise LabError("the lab is not built: run 'stapbench lab build' (about 10 minutes, 8 GB)")
        if shutil.which(QEMU) is None:
            raise LabError(f"{QEMU} not found: apt-get install qemu-system-x86")
        self.down()  # whatever a dead qemu left
        accel, why, probe = choose_accel()
        started = time.monotonic()
        try:
            if probe:
                progress(f"lab {self.name}: /dev/kvm opens; trying KVM once ({KVM_PROBE_SECONDS:.0f} s deadline)")
                if not self._boot(accel, why, progress, timeout, kvm_probe=True):
                    _record_accel(False, "qemu failed or the kernel printed nothing under KVM")
                    accel, why = "tcg", "/dev/kvm opens but the kernel hangs under it (checked now)"
                    progress(f"lab {self.name}: the kernel hangs under this KVM: TCG instead (verdict cached)")
                    self.down(keep_owner=True)
                    self._boot(accel, why, progress, timeout)
            else:
                self._boot(accel, why, progress, timeout)
        except BaseException:
            self.down()
            raise
        elapsed = time.monotonic() - started
        state = self._state()
        state.update(ready=True, boot_seconds=round(elapsed, 1), owned=owned)
        self._write_state(state)
        if not owned:
            self._forget_owner(release=True)
        progress(f"lab {self.name}: up in {elapsed:.1f} s under {accel.upper()}; "  # why: said at the boot
                 f"stap --remote={self.remote}; nginx {self.nginx_url}")
        return self

    def _qemu_argv(self, accel: str, port: int) -> list[str]:
        d = self.state_dir
        release = lab_build.manifest().get("kernel_release") or lab_build._kernel_release(self.sysroot)
        boot = self.sysroot / "boot"
        accel_args = (["-accel", "kvm", "-cpu", "host"] if accel == "kvm"
                      else ["-accel", "tcg,thread=multi", "-cpu", "max"])
        return [
            QEMU, "-name", f"stapbench-lab-{self.name}", "-nodefaults", "-no-user-config",
            "-display", "none", "-monitor", "none", *accel_args, "-m", str(MEMORY_MB), "-smp", str(CPUS),
            "-kernel", str(boot / f"vmlinuz-{release}"), "-initrd", str(boot / f"initrd.img-{release}"),
            "-append", f"console=ttyS0 root=/dev/vda rw rootfstype=ext4 init={GUEST_INIT} panic=-1 "
                       "net.ifnames=0 mitigations=off",
            "-drive", f"file={lab_dir() / 'disk.ext4'},format=raw,if=virtio,snapshot=on",
            "-no-reboot",
            "-chardev", f"file,id=console,path={d / 'console.log'}", "-serial", "chardev:console",
            "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off",
            "-pidfile", str(d / "qemu.pid"),
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_NGINX_PORT}",
            "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-serial-pci,id=vser0",
            "-chardev", f"socket,id=stapsh,path={d / 'stapsh.sock'},server=on,wait=off",
            "-device", "virtserialport,bus=vser0.0,chardev=stapsh,name=org.systemtap.stapsh.0",
            "-chardev", f"socket,id=agent,path={d / 'agent.sock'},server=on,wait=off",
            "-device", "virtserialport,bus=vser0.0,chardev=agent,name=org.qemu.guest_agent.0",
        ]

    def _ensure_owner(self) -> subprocess.Popen:
        with _owned_lock:
            proc = _owned.get(self.name)
            if proc is None or proc.poll() is not None:
                proc = watchdog.start_owner_watchdog(self.state_dir)
                _owned[self.name] = proc
            return proc

    def _forget_owner(self, release: bool = True) -> None:
        with _owned_lock:
            proc = _owned.pop(self.name, None)
        if release:
            watchdog.release(proc)

    def _boot(self, accel: str, why: str, progress: Progress, timeout: float | None,
              kvm_probe: bool = False) -> bool:
        d = self.state_dir
        d.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self._write_state({"name": self.name, "starting": True, "accel": accel, "accel_reason": why,
                           "port": port, "ready": False})
        owner = self._ensure_owner()  # before qemu starts: a SIGKILL from here on is covered
        progress(f"lab {self.name}: booting under {accel.upper()} ({why}); console: {d / 'console.log'}")
        with open(d / "qemu.log", "wb") as log:
            qemu = subprocess.Popen(self._qemu_argv(accel, port), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        watchdog.tell(owner, f"pid {qemu.pid}\n".encode())
        state = self._state()
        state.update(pid=qemu.pid, starting=False, started=time.time())
        self._write_state(state)
        deadline = time.monotonic() + (timeout or BOOT_TIMEOUT[accel])
        probe_deadline = time.monotonic() + KVM_PROBE_SECONDS
        console = d / "console.log"
        seen = ""
        milestones = [("Linux version", "kernel started"), ("stapbench-lab: init started", "init started"),
                      (READY_LINE, "guest init ready")]
        while True:
            if qemu.poll() is not None:
                if kvm_probe:
                    (d / "kvm-probe.log").write_bytes((d / "qemu.log").read_bytes())
                    return False  # e.g. "failed to set MSR" under a nested hypervisor
                raise LabError(f"qemu exited with {qemu.returncode} during the boot:\n"
                               f"{file_tail(d / 'qemu.log')}\n{file_tail(console)}")
            try:
                seen = console.read_text(errors="replace")
            except OSError:
                seen = ""
            while milestones and milestones[0][0] in seen:
                progress(f"lab {self.name}: {milestones.pop(0)[1]}")
            if READY_LINE in seen:
                break
            now = time.monotonic()
            if kvm_probe and now > probe_deadline and "Linux version" not in seen:
                return False
            if now > deadline:
                raise LabError(f"lab {self.name}: no readiness line after {timeout or BOOT_TIMEOUT[accel]:.0f} s "
                               f"under {accel.upper()}; the console's end:\n{file_tail(console)}")
            time.sleep(0.1)
        if kvm_probe:
            _record_accel(True, "KVM booted the lab's kernel")
        # stapsh is checked through the guest agent, not by a handshake on its socket: a client that
        # connects right after another one leaves can lose its handshake to the stapsh that is
        # closing (the guest discards what arrives on a port being closed), and stap would wait.
        listening = self._wait_for(lambda: self._guest_stapsh(), deadline, "stapsh listening in the guest")
        release = self._exec_now(["uname", "-r"]).stdout.decode(errors="replace").strip()
        progress(f"lab {self.name}: stapsh listens in the guest ({listening}), exec answers, kernel {release}")
        self._wait_for(lambda: _http_get(f"http://127.0.0.1:{port}/"), deadline, "nginx on the forwarded port")
        progress(f"lab {self.name}: nginx answers on http://127.0.0.1:{port}/")
        state = self._state()
        state.update(kernel_release=release)
        self._write_state(state)
        return True

    def _exec_now(self, argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
        """Run argv in the guest (bytes out), whatever the lab's recorded state (used while booting)."""
        code, out, err = agent_exec(self.state_dir / "agent.sock", argv, timeout)
        return subprocess.CompletedProcess(argv, code, out, err)

    def _guest_stapsh(self) -> str:
        found = self._exec_now(["pgrep", "-a", "-x", "stapsh"], timeout=10).stdout.decode(errors="replace").strip()
        if " -l /dev/vport" not in found:
            raise LabError(f"no stapsh -l in the guest yet ({found or 'none'})")
        return found.split(" ", 1)[1]

    def _wait_for(self, attempt: Callable[[], object], deadline: float, what: str):
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                return attempt()
            except (LabError, OSError, TimeoutError) as exc:
                last = exc
                time.sleep(0.3)
        raise LabError(f"lab {self.name}: {what} did not come: {last}")

    # down ----------------------------------------------------------------------------------
    def down(self, keep_owner: bool = False) -> None:
        """Stop qemu and remove the lab's folder (sockets included).  Idempotent."""
        if self.state_dir.exists():
            stop_qemu(self.state_dir, self._state().get("pid"))
        if not keep_owner:
            self._forget_owner(release=True)

    # in the guest ------------------------------------------------------------------------------
    def exec(self, argv: list[str], timeout: float = 30, text: bool = True) -> subprocess.CompletedProcess:
        """Run ``argv`` in the guest (no shell) through the guest agent; raises
        :class:`subprocess.TimeoutExpired` after ``timeout`` seconds (the command is killed)."""
        if not argv:
            raise ValueError("exec: empty argv")
        if self.status()["state"] != "up":
            raise LabError(f"lab {self.name} is not up: stapbench lab up {self.name}")
        done = self._exec_now([str(a) for a in argv], timeout)
        code, out, err = done.returncode, done.stdout, done.stderr
        if text:
            return subprocess.CompletedProcess(argv, code, out.decode("utf-8", "replace"),
                                               err.decode("utf-8", "replace"))
        return subprocess.CompletedProcess(argv, code, out, err)

    def set_nginx_conf(self, conf: str) -> None:
        """Replace the guest's nginx.conf and reload nginx (e.g. to turn on
        ``reset_timedout_connection`` or add locations); the guest's conf is put back and
        :class:`LabError` raised when ``nginx -t`` refuses the new one.  Lasts until ``down``."""
        path = f"{GUEST_NGINX_PREFIX}/conf/nginx.conf"
        old = self.exec(["cat", path], text=False).stdout
        agent = self.state_dir / "agent.sock"
        agent_write_file(agent, path, conf.encode())
        check = self.exec([GUEST_NGINX, "-t", "-c", path])
        if check.returncode != 0:
            agent_write_file(agent, path, old)
            raise LabError(f"nginx -t refused the conf: {check.stderr.strip()}")
        reload = self.exec([GUEST_NGINX, "-s", "reload", "-c", path])
        if reload.returncode != 0:
            raise LabError(f"nginx -s reload: {reload.stderr.strip()}")

    # compiling on the host ---------------------------------------------------------------------
    def stap_argv_prefix(self, binds: list[Path] | tuple = ()) -> list[str]:
        """An argv prefix that runs the rest in the rootfs as a chroot (private mount namespace),
        with ``/proc``, ``/dev``, ``/sys``, this lab's sockets and ``binds`` at their own paths:
        ``prefix + ["stap", f"--remote={lab.remote}", ...]``.  stap's cache (``/root/.systemtap``
        in the rootfs) persists, so a rerun skips compiling."""
        return stap_argv_prefix([self], binds)


def stap_argv_prefix(labs: list[Lab], binds: list[Path] | tuple = ()) -> list[str]:
    """:meth:`Lab.stap_argv_prefix` for a stap with several ``--remote`` labs (they share one
    rootfs): every lab's sockets are visible, and the run takes its turn on each lab's stapsh."""
    sysroot = lab_dir() / "rootfs"
    if not (sysroot / "usr/bin/stap").exists():
        raise LabError("the lab is not built: run 'stapbench lab build'")
    states = [lab.state_dir for lab in labs]
    return enter_argv(sysroot, [*states, *[Path(b) for b in binds]], lab_states=states)


def _http_get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as reply:
        reply.read()
        return reply.status


@atexit.register
def _down_owned_labs() -> None:
    # a graceful exit: stop the labs this process owns now, rather than leaving it to the watchdogs
    for name in list(_owned):
        try:
            Lab(name).down()
        except Exception:
            pass
