"""``stapbench lab build``: the guest every lab boots, built once and cached.

What is built (see NOTES in the lab's README section for why each piece):

* ``rootfs/``: Debian 13 (trixie) by ``debootstrap --variant=minbase`` with systemtap 5.1 and a
  compiler, plus Debian 12's 6.1 kernel, its headers (and a ``gcc-12`` that is gcc-14: the headers'
  Makefile names gcc-12, which trixie lacks), the kernel's DWARF and System.map from its ``-dbg``
  package, nginx built from the host's unpacked source with the host's flags and installed at
  ``/opt/stapbench/nginx``, and the guest's init.  It is both the guest's root filesystem and the
  chroot stap compiles in, so a binary probed by path has the same DWARF on both sides.
* ``disk.ext4``: the guest's disk, ``mkfs.ext4 -d rootfs`` (no loop mount); labs boot it with
  qemu's ``-snapshot``, so any number share it and each one is disposable.
* ``manifest.json``: what was built.

Every step is cached on its own and re-run only when missing, so changing the guest's init only
rewrites those files and the disk image.  The rootfs is built in ``rootfs.partial`` and renamed at
the end, downloads and the image likewise: a failed step leaves nothing half-built in place, and
the error names the step.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import guestfiles
from .enter import enter_argv
from .errors import LabError
from .paths import GUEST_NGINX_PREFIX, GUEST_NGINX, lab_dir

__all__ = ["build", "is_built", "manifest", "BuildPlan", "DISK_NEEDED_GB", "PINNED_KERNEL_ABI"]

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
PINNED_KERNEL_ABI = "6.1.0-50"  # checked by hand with stap 5.1 (see the README's lab section)
# systemtap and what its kernel runtime compiles with; what the guest boots and serves with.
ROOTFS_PACKAGES = [
    "systemtap", "gcc", "make", "libc6-dev", "kmod", "procps", "iproute2",
    "initramfs-tools", "linux-base",   # the kernel package's dependencies; the initrd loads virtio_blk/ext4
    "qemu-guest-agent",                # lab exec: guest-exec over a virtio-serial port
    "curl",                            # checks from inside the guest
]
IMAGE_SIZE = "8G"  # sparse; the rootfs takes about 3.5 GB of it
DISK_NEEDED_GB = 8  # rootfs 3.5 + image 3.5 + downloads 1 (the -dbg package, deleted after use: 0.9)
Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


def is_built() -> bool:
    folder = lab_dir()
    return (folder / "manifest.json").is_file() and (folder / "disk.ext4").is_file() and (folder / "rootfs/usr/bin/stap").exists()


def manifest() -> dict:
    """What ``stapbench lab build`` built (empty when nothing is)."""
    try:
        return json.loads((lab_dir() / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class BuildPlan:
    folder: Path
    work: Path  # the repository's .work: the host's nginx build and source

    @property
    def rootfs(self) -> Path:
        return self.folder / "rootfs"

    @property
    def partial(self) -> Path:
        return self.folder / "rootfs.partial"

    @property
    def stamps(self) -> Path:
        return self.folder / "steps.partial"

    @property
    def downloads(self) -> Path:
        return self.folder / "downloads"

    @property
    def log(self) -> Path:
        return self.folder / "build.log"


def default_work() -> Path:
    override = os.environ.get("STAPBENCH_WORK")
    return Path(override) if override else Path(__file__).resolve().parents[2] / ".work"


def build(progress: Progress = _quiet, *, work: Path | None = None, force_image: bool = False) -> dict:
    """Build (or complete, or refresh) the lab's guest; returns the manifest.  Idempotent."""
    plan = BuildPlan(lab_dir(), work or default_work())
    plan.folder.mkdir(parents=True, exist_ok=True)
    _check_prerequisites(plan, progress)
    started = time.monotonic()
    guest_hash = guestfiles.content_hash()
    current = manifest()
    if not plan.rootfs.is_dir():
        _build_rootfs(plan, progress)  # the guest files included
        current = {"guest_hash": guest_hash}
        force_image = True
    image = plan.folder / "disk.ext4"
    if current.get("guest_hash") != guest_hash:
        _step(plan, progress, "guest files", lambda: guestfiles.install(plan.rootfs))
        force_image = True
    if force_image or not image.is_file():
        _build_image(plan, progress)
    release = _kernel_release(plan.rootfs)
    result = {
        "suite": SUITE,
        "kernel_release": release,
        "kernel_pinned": release == f"{PINNED_KERNEL_ABI}-amd64",
        "kernel_package_version": _dpkg_version(plan.rootfs, f"linux-image-{release}"),
        "stap_version": _dpkg_version(plan.rootfs, "systemtap"),
        "nginx": GUEST_NGINX,
        "nginx_configure": (plan.rootfs / "opt/stapbench/nginx-configure").read_text().strip()
        if (plan.rootfs / "opt/stapbench/nginx-configure").is_file() else "",
        "rootfs": str(plan.rootfs),
        "image": str(image),
        "guest_hash": guest_hash,
        "built": current.get("built") if current.get("guest_hash") == guest_hash and not force_image
        else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = plan.folder / "manifest.json.partial"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.rename(plan.folder / "manifest.json")
    progress(f"lab build: done in {time.monotonic() - started:.0f} s: kernel {release}, "
             f"stap {result['stap_version']}, {plan.folder}")
    return result


# ---------------------------------------------------------------------------------------- steps

def _check_prerequisites(plan: BuildPlan, progress: Progress) -> None:
    missing = [tool for tool in ("debootstrap", "mkfs.ext4", "dpkg-deb", "apt-get", "unshare", "make", "gcc")
               if shutil.which(tool) is None]
    if missing:
        raise LabError(f"lab build needs {', '.join(missing)}: apt-get install debootstrap e2fsprogs gcc make")
    if os.geteuid() != 0:
        raise LabError("lab build runs debootstrap and chroot: run it as root (sudo stapbench lab build)")
    if not plan.rootfs.is_dir():
        free_gb = shutil.disk_usage(plan.folder).free / 2**30
        progress(f"lab build: needs about {DISK_NEEDED_GB} GB in {plan.folder} ({free_gb:.0f} GB free) "
                 f"and about 10 minutes")
        if free_gb < DISK_NEEDED_GB:
            raise LabError(f"lab build needs about {DISK_NEEDED_GB} GB free in {plan.folder}, "
                           f"{free_gb:.1f} GB are: free some, or set STAPBENCH_LAB_DIR to a larger disk")
    source = plan.work / "nginx-source"
    if not (source / "configure").is_file():
        raise LabError(f"lab build needs nginx's unpacked source at {source}: run .ci/provision first")


def _build_rootfs(plan: BuildPlan, progress: Progress) -> None:
    plan.stamps.mkdir(exist_ok=True)
    release_holder: dict = {}
    steps = [
        ("debootstrap", lambda: _debootstrap(plan)),
        ("kernel packages download", lambda: release_holder.update(_download_kernel(plan, progress))),
        ("kernel install", lambda: _install_kernel(plan, _debs(plan))),
        ("kernel debuginfo", lambda: _extract_debuginfo(plan, _debs(plan))),
        ("nginx", lambda: _build_nginx(plan)),
        ("guest files", lambda: guestfiles.install(plan.partial)),
        ("tidy", lambda: _tidy(plan.partial)),
    ]
    for name, action in steps:
        stamp = plan.stamps / name.replace(" ", "-")
        if stamp.exists():
            progress(f"lab build: {name}: done before")
            continue
        _step(plan, progress, name, action)
        stamp.touch()
    _refuse_mounts_under(plan.partial)
    plan.partial.rename(plan.rootfs)
    shutil.rmtree(plan.stamps)


def _step(plan: BuildPlan, progress: Progress, name: str, action: Callable[[], object]) -> None:
    progress(f"lab build: {name} ...")
    started = time.monotonic()
    with plan.log.open("a") as log:
        log.write(f"\n==== {time.strftime('%H:%M:%S')} {name}\n")
    try:
        action()
    except LabError as exc:
        raise LabError(f"lab build: step '{name}' failed: {exc}\n(log: {plan.log}; rerun "
                       f"'stapbench lab build' to resume from this step)") from None
    progress(f"lab build: {name}: {time.monotonic() - started:.0f} s")


def _run_logged(plan: BuildPlan, argv: list[str], *, cwd: Path | None = None, timeout: float = 3600,
                env: dict | None = None) -> None:
    with plan.log.open("a") as log:
        log.write("$ " + shlex.join(argv) + "\n")
        log.flush()
        try:
            done = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LabError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        raise LabError(f"{shlex.join(argv[:6])}{' ...' if len(argv) > 6 else ''} exited with "
                       f"{done.returncode}:\n{file_tail(plan.log)}")


def file_tail(log: Path, lines: int = 15) -> str:
    """The last lines of a log (for an error message)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _debootstrap(plan: BuildPlan) -> None:
    if plan.partial.exists():  # a failed debootstrap: start it afresh
        _refuse_mounts_under(plan.partial)
        shutil.rmtree(plan.partial)
    # debootstrap mounts /proc and /sys in the target while it works: in a private mount
    # namespace those mounts go away with it even if it is killed.
    _run_logged(plan, ["unshare", "--mount", "--propagation", "private", "--",
                       "debootstrap", "--variant=minbase", "--include=" + ",".join(ROOTFS_PACKAGES),
                       SUITE, str(plan.partial), MIRROR])


def _kernel_abi() -> tuple[str, str]:
    """The kernel ABI to install (the pinned one if the archive still has it) and a note."""
    pinned = f"linux-image-{PINNED_KERNEL_ABI}-amd64"
    if _apt_candidate(pinned):
        return PINNED_KERNEL_ABI, ""
    done = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        word = line.split(":", 1)[-1].strip()
        if line.strip().startswith("Depends:") and word.startswith("linux-image-") and word.endswith("-amd64"):
            abi = word[len("linux-image-"):-len("-amd64")]
            return abi, (f"the pinned kernel {PINNED_KERNEL_ABI} is no longer in the archive; using {abi} "
                         f"(what linux-image-amd64 depends on), not checked with stap 5.1 by hand")
    raise LabError(f"neither {pinned} nor linux-image-amd64 is known to apt: run apt-get update")


def _apt_candidate(package: str) -> str:
    done = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            return "" if value == "(none)" else value
    return ""


def _kernel_packages(abi: str) -> list[str]:
    series = ".".join(abi.split(".")[:2])  # 6.1.0-50 -> 6.1
    return [f"linux-image-{abi}-amd64", f"linux-headers-{abi}-amd64", f"linux-headers-{abi}-common",
            f"linux-kbuild-{series}", f"linux-image-{abi}-amd64-dbg"]


def _download_kernel(plan: BuildPlan, progress: Progress) -> dict:
    abi, note = _kernel_abi()
    if note:
        progress(f"lab build: NOTE: {note}")
    partial = plan.folder / "downloads.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    progress("lab build: downloading the kernel, its headers and its -dbg package (about 950 MB)")
    _run_logged(plan, ["apt-get", "download", "-q", *_kernel_packages(abi)], cwd=partial)
    shutil.rmtree(plan.downloads, ignore_errors=True)
    partial.rename(plan.downloads)
    return {"abi": abi}


def _debs(plan: BuildPlan) -> dict[str, Path]:
    """The downloaded debs by role: image, headers, common, kbuild, dbg."""
    found: dict[str, Path] = {}
    for deb in sorted(plan.downloads.glob("*.deb")):
        name = deb.name.split("_", 1)[0]
        if name.endswith("-amd64-dbg"):
            found["dbg"] = deb
        elif name.startswith("linux-image-"):
            found["image"] = deb
        elif name.startswith("linux-headers-") and name.endswith("-common"):
            found["common"] = deb
        elif name.startswith("linux-headers-"):
            found["headers"] = deb
        elif name.startswith("linux-kbuild-"):
            found["kbuild"] = deb
    missing = {"image", "headers", "common", "kbuild", "dbg"} - set(found)
    if missing:
        raise LabError(f"missing downloads in {plan.downloads}: {', '.join(sorted(missing))}")
    return found


def _install_kernel(plan: BuildPlan, debs: dict[str, Path]) -> None:
    rootfs = plan.partial
    guestfiles.install_initramfs_config(rootfs)
    # The headers' Makefile calls gcc-12 (Debian 12's compiler); trixie has gcc-14, which builds
    # modules for this kernel that load.
    shim = rootfs / "usr/bin/gcc-12"
    if not shim.exists():
        gcc = sorted((rootfs / "usr/bin").glob("x86_64-linux-gnu-gcc-1[0-9]"))
        if not gcc:
            raise LabError("no gcc in the rootfs (debootstrap should have installed it)")
        shim.symlink_to(gcc[-1].name)
    # --force-depends: the headers depend on linux-compiler-gcc-12-x86 (the shim stands in for it)
    # and bookworm's library names; installing in the chroot runs the image's postinst, which
    # makes the initrd with trixie's initramfs-tools.
    argv = enter_argv(rootfs, [plan.downloads]) + [
        "dpkg", "-i", "--force-depends",
        *[str(debs[role]) for role in ("kbuild", "common", "headers", "image")]]
    _run_logged(plan, argv)
    release = _kernel_release(rootfs)
    if not (rootfs / f"boot/initrd.img-{release}").is_file():
        raise LabError(f"the kernel's postinst made no /boot/initrd.img-{release}")


def _extract_debuginfo(plan: BuildPlan, debs: dict[str, Path]) -> None:
    """Only the kernel's DWARF and System.map (the -dbg package is 5.6 GB unpacked)."""
    release = _kernel_release(plan.partial)
    members = [f"./usr/lib/debug/boot/vmlinux-{release}", f"./usr/lib/debug/boot/System.map-{release}",
               f"./usr/lib/debug/lib/modules/{release}/vmlinux"]
    with plan.log.open("a") as log:
        deb = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs["dbg"])], stdout=subprocess.PIPE,
                               stderr=log, stdin=subprocess.DEVNULL)
        tar = subprocess.run(["tar", "-x", "-C", str(plan.partial), "--wildcards", *members],
                             stdin=deb.stdout, stdout=log, stderr=log)
        deb.stdout.close()
        deb_status = deb.wait()
    if tar.returncode != 0 or deb_status not in (0, -13):  # dpkg-deb may see SIGPIPE: tar stops reading
        raise LabError(f"dpkg-deb --fsys-tarfile {debs['dbg'].name} | tar -x ...: exit {deb_status}/"
                       f"{tar.returncode}\n{file_tail(plan.log)}")
    debs["dbg"].unlink()  # 855 MB not needed any more


def _host_nginx_configure(plan: BuildPlan) -> list[str]:
    """The host build's configure arguments (``nginx -V``), prefix replaced."""
    flags = ["--with-debug", "--with-cc-opt=-g -O0", "--with-http_stub_status_module"]
    try:
        done = subprocess.run([str(plan.work / "nginx/sbin/nginx"), "-V"], capture_output=True, text=True, timeout=10)
        for line in done.stderr.splitlines():
            if line.startswith("configure arguments:"):
                flags = [a for a in shlex.split(line.split(":", 1)[1]) if not a.startswith("--prefix=")]
    except (OSError, subprocess.TimeoutExpired):
        pass
    return [f"--prefix={GUEST_NGINX_PREFIX}", *flags]


def _build_nginx(plan: BuildPlan) -> None:
    """nginx from the host's unpacked source with the host's flags, installed at the guest's prefix.

    ``--builddir`` keeps the objects out of the host's tree; compiling from the source root keeps
    the DWARF's paths those of the host build (``src/http/...`` under the same directory), so the
    same source roots serve both.  configure rewrites the source root's ``Makefile``: put back."""
    source = (plan.work / "nginx-source").resolve()
    builddir = plan.folder / "nginx-build"
    configure = _host_nginx_configure(plan)
    top_makefile = source / "Makefile"
    saved = top_makefile.read_bytes() if top_makefile.is_file() else None
    try:
        _run_logged(plan, ["./configure", *configure, f"--builddir={builddir}"], cwd=source)
    finally:
        if saved is not None:
            top_makefile.write_bytes(saved)
    _run_logged(plan, ["make", "-f", str(builddir / "Makefile"), f"-j{os.cpu_count() or 2}"], cwd=source)
    _run_logged(plan, ["make", "-f", str(builddir / "Makefile"), "install", f"DESTDIR={plan.partial}"], cwd=source)
    if not (plan.partial / GUEST_NGINX.lstrip("/")).is_file():
        raise LabError(f"make install left no {GUEST_NGINX} in the rootfs")
    (plan.partial / "opt/stapbench/nginx-configure").write_text(shlex.join(configure) + "\n")


def _tidy(rootfs: Path) -> None:
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def _build_image(plan: BuildPlan, progress: Progress) -> None:
    image = plan.folder / "disk.ext4"
    partial = plan.folder / "disk.ext4.partial"
    partial.unlink(missing_ok=True)
    def make() -> None:
        with partial.open("wb") as handle:
            handle.truncate(_size_bytes(IMAGE_SIZE))
        # no journal: labs boot it with -snapshot, nothing written to it survives anyway
        _run_logged(plan, ["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-L", "stapbench-lab",
                           "-d", str(plan.rootfs), str(partial)])
        partial.rename(image)
    _step(plan, progress, f"disk image ({IMAGE_SIZE} sparse, mkfs.ext4 -d)", make)


def _size_bytes(text: str) -> int:
    units = {"G": 2**30, "M": 2**20}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def _refuse_mounts_under(folder: Path) -> None:
    prefix = str(folder.resolve()) + "/"
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            point = line.split()[4]
            if point.startswith(prefix) or point == prefix[:-1]:
                raise LabError(f"{point} is mounted: unmount it first (umount -R {point})")


def _kernel_release(rootfs: Path) -> str:
    releases = sorted(p.name[len("vmlinuz-"):] for p in (rootfs / "boot").glob("vmlinuz-*"))
    if not releases:
        raise LabError(f"no kernel in {rootfs}/boot")
    return releases[-1]


def _dpkg_version(rootfs: Path, package: str) -> str:
    try:
        text = (rootfs / "var/lib/dpkg/status").read_text(errors="replace")
    except OSError:
        return ""
    for block in text.split("\n\n"):
        if f"Package: {package}\n" in block + "\n":
            for line in block.splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    return ""

