"""Run a command inside the lab's rootfs as a chroot, with host folders visible at their own paths.

Meant to run as the command of ``unshare --mount --propagation private`` (see :func:`enter_argv`):
the bind mounts are made in that private mount namespace, so they vanish with its last process,
whatever happens (a killed stap included), and nothing is ever mounted on the host.  It execs the
command at the end, so the process the caller started *is* the command (the runner signals stap's
own pid).  No shell: every mount is an argv ``mount`` call.

    python -m stapbench.lab.enter ROOTFS [--bind DIR]... [--lab STATE_DIR] -- COMMAND [ARG]...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .channels import take_stapsh_turn

__all__ = ["enter_argv", "main"]

# What stap (and dpkg's maintainer scripts) need from the host, bound recursively.
SYSTEM_BINDS = ("/proc", "/dev", "/sys")
# -c rather than -m: the package imports this module first, and -m would warn about that
_ENTRY = "import sys; from stapbench.lab.enter import main; sys.exit(main(sys.argv[1:]))"
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def enter_argv(rootfs: Path, binds: list[Path] | tuple = (), lab_states: list[Path] | tuple = ()) -> list[str]:
    """The argv prefix: append the command (``["stap", ...]``) to run it in ``rootfs``; with
    ``lab_states``, the command waits for its turn on each of those labs' stapsh."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    argv = [unshare, "--mount", "--propagation", "private", "--",
            sys.executable, "-c", _ENTRY, str(rootfs)]
    for folder in binds:
        argv += ["--bind", str(Path(folder).resolve())]
    for state_dir in lab_states:
        argv += ["--lab", str(Path(state_dir).resolve())]
    return argv + ["--"]


def _mount(argv: list[str]) -> None:
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"stapbench.lab.enter: {' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def _same_mount_namespace_as_parent() -> bool:
    # the process that ran unshare is in the namespace we must not touch (unshare execs us, so
    # our parent is that process)
    try:
        return os.readlink("/proc/self/ns/mnt") == os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    # parsed by hand: argparse's REMAINDER would swallow the --bind options after ROOTFS
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m stapbench.lab.enter ROOTFS [--bind DIR]... [--lab STATE_DIR] -- COMMAND [ARG]..."
    if "--" not in args or args.index("--") < 1:
        raise SystemExit(usage)
    split = args.index("--")
    options, command = args[:split], args[split + 1:]
    if not command or len(options) % 2 != 1 or any(o not in ("--bind", "--lab") for o in options[1::2]):
        raise SystemExit(usage)
    pairs = list(zip(options[1::2], options[2::2]))
    binds = [Path(value) for option, value in pairs if option == "--bind"]
    labs = [Path(value) for option, value in pairs if option == "--lab"]
    rootfs = Path(options[0]).resolve()
    if not (rootfs / "usr/bin").is_dir():
        raise SystemExit(f"stapbench.lab.enter: {rootfs} is not a rootfs (run: stapbench lab build)")
    for state_dir in labs:
        if not (state_dir / "agent.sock").exists():
            raise SystemExit(f"stapbench.lab.enter: the lab at {state_dir} is not up (stapbench lab up {state_dir.name})")
    # Only ever in a mount namespace of our own: mounting in the host's would leave mounts behind.
    if _same_mount_namespace_as_parent():
        raise SystemExit("stapbench.lab.enter: run it under 'unshare --mount' (see enter_argv)")
    # shares nothing back, even if the caller's unshare kept shared propagation
    _mount(["mount", "--make-rprivate", "/"])
    for source in SYSTEM_BINDS:
        _mount(["mount", "--rbind", source, str(rootfs / source.lstrip("/"))])
    for folder in binds:
        folder = folder.resolve()
        target = rootfs / str(folder).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        _mount(["mount", "--rbind", str(folder), str(target)])
    for state_dir in sorted(set(labs)):  # one order for everyone: no two runs wait for each other
        # held (inherited) by the command until it exits: one stap at a time per lab, each
        # served by a fresh stapsh (see take_stapsh_turn)
        take_stapsh_turn(state_dir)
    cwd = os.getcwd()
    os.chroot(rootfs)
    os.chdir(cwd if os.path.isdir(cwd) else "/")
    env = dict(os.environ, PATH=CHROOT_PATH)
    env.pop("LD_PRELOAD", None)  # a host library (the BPF memlock shim) means nothing in the chroot
    env.setdefault("HOME", "/root")
    if not os.path.isdir(env["HOME"]):
        env["HOME"] = "/root"
    os.execvpe(command[0], command, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
