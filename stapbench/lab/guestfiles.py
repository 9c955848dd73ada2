"""The files stapbench adds to the guest's rootfs: its init, nginx's conf, the initrd's config.

Kept as real files under ``guest/`` so they read as what they are; their hash is in the manifest,
so ``stapbench lab build`` rewrites them (and the disk image) when they change, without rebuilding
anything else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .paths import GUEST_NGINX_PREFIX

__all__ = ["GUEST_INIT", "content_hash", "install", "install_initramfs_config"]

HERE = Path(__file__).resolve().parent / "guest"
GUEST_INIT = "/usr/local/sbin/stapbench-init"
# (file under guest/, path in the rootfs, mode)
FILES = [
    ("stapbench-init", GUEST_INIT, 0o755),
    ("nginx.conf", f"{GUEST_NGINX_PREFIX}/conf/nginx.conf", 0o644),
]
# The initrd needs only the disk and its filesystem; the rest loads from the root filesystem.
INITRAMFS_MODULES = ["virtio_pci", "virtio_blk", "ext4", "crc32c_generic"]
INITRAMFS_CONF = "MODULES=list\n"


def content_hash() -> str:
    digest = hashlib.sha256()
    for name, target, mode in FILES:
        digest.update(f"{name} {target} {mode:o}\n".encode())
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def install(rootfs: Path) -> None:
    for name, target, mode in FILES:
        path = rootfs / target.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((HERE / name).read_bytes())
        path.chmod(mode)
    (rootfs / "etc").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/hostname").write_text("stapbench-lab\n")


def install_initramfs_config(rootfs: Path) -> None:
    conf = rootfs / "etc/initramfs-tools"
    (conf / "conf.d").mkdir(parents=True, exist_ok=True)
    (conf / "conf.d/stapbench").write_text(INITRAMFS_CONF)
    (conf / "modules").write_text("\n".join(INITRAMFS_MODULES) + "\n")
