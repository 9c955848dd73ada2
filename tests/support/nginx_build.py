"""Where the nginx build (``-g -O0`` from Debian's source package) is, when it has been provisioned.

The provisioning script puts the installed tree in ``WORK/nginx`` (binary
``sbin/nginx``) and the unpacked source in ``WORK/nginx-src/nginx-<version>``.
Tests that need it take the ``nginx_build`` fixture, which skips with the reason
when the build is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .paths import WORK


@dataclass(frozen=True)
class NginxBuild:
    binary: Path  # .../sbin/nginx, with DWARF
    source: Path  # the source tree it was compiled in (holds src/core/...)


def find_nginx_build() -> NginxBuild | None:
    binary = WORK / "nginx" / "sbin" / "nginx"
    trees = sorted(p for p in (WORK / "nginx-src").glob("nginx-*") if (p / "src" / "core").is_dir())
    if not binary.is_file() or not trees:
        return None
    return NginxBuild(binary=binary, source=trees[-1])


@pytest.fixture(scope="session")
def nginx_build() -> NginxBuild:
    build = find_nginx_build()
    if build is None:
        pytest.skip(f"no nginx build at {WORK}/nginx/sbin/nginx with its source in {WORK}/nginx-src/nginx-*: "
                    "run `bash .ci/provision` first (it builds nginx -g -O0 from Debian's source package)")
    return build


@pytest.fixture(scope="session")
def nginx_for_listing(nginx_build) -> NginxBuild:
    """The nginx build, where stap can list it (``stap -L`` needs stap, not root or a runtime)."""
    import shutil

    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    return nginx_build
