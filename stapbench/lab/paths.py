"""Where the lab keeps things: the built guest (shared by every lab) and each lab's state.

Both live outside the repository, in the user's cache: the build is gigabytes, and the sockets of a
running lab must have short paths (a unix socket path is at most 107 bytes).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "lab_dir", "labs_dir", "GUEST_NGINX_PREFIX", "GUEST_NGINX", "GUEST_NGINX_PORT"]

# The lab's nginx lives at the same path in the chroot and in the guest, so a process("...") probe
# compiled in the chroot names the binary the guest runs.
GUEST_NGINX_PREFIX = "/opt/stapbench/nginx"
GUEST_NGINX = f"{GUEST_NGINX_PREFIX}/sbin/nginx"
GUEST_NGINX_PORT = 8080


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stapbench"


def lab_dir() -> Path:
    """The built guest: rootfs, disk image, downloads, manifest (``$STAPBENCH_LAB_DIR`` overrides)."""
    override = os.environ.get("STAPBENCH_LAB_DIR")
    return Path(override) if override else cache_root() / "lab"


def labs_dir() -> Path:
    """The running labs' state, one folder per name (``$STAPBENCH_LABS_DIR`` overrides)."""
    override = os.environ.get("STAPBENCH_LABS_DIR")
    return Path(override) if override else cache_root() / "labs"
