"""The lab: a disposable qemu guest where stap's kernel runtime runs (issue 8).

The host's kernel has no modules and no kprobes, so only stap's BPF runtime runs on it.  A lab is a
Debian guest booted from the image ``stapbench lab build`` makes (Debian 12's 6.1 kernel, stap 5.1
from a Debian 13 rootfs); stap compiles on the host inside that same rootfs used as a chroot
(:meth:`Lab.stap_argv_prefix`) and runs pass 5 in the guest through its own ``--remote`` to
``stapsh`` on a virtio-serial port (:attr:`Lab.remote`).

The lab provides targets; it does not parse or render.
"""

from __future__ import annotations

from .builder import build, is_built, manifest
from .errors import LabError
from .paths import lab_dir, labs_dir

__all__ = ["Lab", "LabError", "build", "is_built", "lab_dir", "labs_dir", "manifest", "stap_argv_prefix"]


def __getattr__(name):
    if name in ("Lab", "stap_argv_prefix"):
        from . import machine

        return getattr(machine, name)
    raise AttributeError(name)
