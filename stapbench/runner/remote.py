"""Remote targets: where stap's own ``--remote`` runs pass 5.

A target is written as a lab name (``lab``: a stapbench lab, see
:mod:`stapbench.lab`) or as anything stap's ``--remote`` accepts
(``unix:/path/socket``, ``ssh://host``, ``[user@]host``, ``libvirt://domain``,
``direct:``).  :func:`resolve_targets` turns what the user wrote into
:class:`RemoteTarget` values: the URL for stap, the label shown in the host
column, and for a lab the argv prefix that runs the lab's own stap (compiling
on this machine inside the lab's rootfs, where the guest kernel's headers and
debuginfo are) and the sysroot its binaries' DWARF is read from.

A bare word (no ``:``, ``/``, ``@`` or ``.``) is a lab's name, whether that lab is
up or not, so ``--remote lab`` with the lab down says how to start it instead of
stap trying ssh to a host called ``lab``; an ssh host with a bare name is written
``ssh://name``.  Anything else goes to stap unchanged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RemoteTarget", "RemoteError", "resolve_targets", "stap_launcher", "stop_in_labs"]


class RemoteError(RuntimeError):
    """A target that can't be used as written (a lab that is not up, ...)."""


@dataclass(frozen=True)
class RemoteTarget:
    spec: str                      # as the user wrote it
    url: str                       # what stap's --remote takes
    label: str                     # the host column's name for it
    #: where the target's files are on this machine (symbols and sources); None: the same paths
    sysroot: Path | None = None
    lab: object | None = field(default=None, compare=False, repr=False)


def _is_url(spec: str) -> bool:
    return any(c in spec for c in ":/@.")


def _find_lab(name: str):
    try:
        from ..lab import Lab
    except ImportError:  # a stapbench without the lab room: every target is stap's
        return None
    return Lab(name)


def _lab_target(spec: str, lab) -> RemoteTarget:
    if not lab.is_up:
        raise RemoteError(f"lab {spec!r} is not up: start it with `stapbench lab up {spec}` "
                          f"(or `%stap_lab up {spec}`)")
    return RemoteTarget(spec=spec, url=lab.remote, label=spec,
                        sysroot=Path(lab.sysroot), lab=lab)


def resolve_targets(specs: list[str]) -> list[RemoteTarget]:
    """The targets named by ``specs``, in order (their index is stap's ``N: `` prefix)."""
    targets = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            raise RemoteError("an empty --remote target")
        lab = None if _is_url(spec) else _find_lab(spec)
        targets.append(_lab_target(spec, lab) if lab is not None
                       else RemoteTarget(spec=spec, url=spec, label=spec))
    labels = [t.label for t in targets]
    if len(set(labels)) != len(labels):
        raise RemoteError(f"a target is named twice: {', '.join(labels)}")
    return targets


def stap_launcher(targets: list[RemoteTarget], binds: list[Path]) -> list[str]:
    """The argv prefix that runs the stap for these targets: the labs' chroot (labs share one
    rootfs) seeing ``binds`` and every lab's sockets, taking its turn on each lab's stapsh;
    nothing for this machine's stap."""
    labs = [t.lab for t in targets if t.lab is not None]
    if not labs:
        return []
    from ..lab import stap_argv_prefix

    try:
        return list(stap_argv_prefix(labs, [Path(os.fspath(f)) for f in binds]))
    except RuntimeError as exc:  # LabError: not built, ...
        raise RemoteError(str(exc)) from exc


def stop_in_labs(targets: list[RemoteTarget], grace: float, exited, note) -> bool:
    """Stop a run on labs from inside the guests: SIGINT to each guest's stapio, which runs the
    end probes and sends their output through stapsh as usual, after which stap here ends by
    itself.  Why: a SIGINT to stap here makes it tell stapsh to quit, and stapsh then stops
    relaying, so what the end probes print is lost (seen in the lab: an ``@hist_log`` printed at
    ``end`` never arrived).  True if stap ended (``exited()``) within ``grace``; False when the
    targets are not all labs, or a guest can't be reached: stap here gets the usual signals."""
    labs = [t.lab for t in targets if t.lab is not None]
    if not labs or len(labs) != len(targets):
        return False
    # twice: a stap signalled here instead wedges the guest's stapsh for the runs after it
    # (a CI run saw one stap outlive its guest SIGINT by 30 s, and the next run never got ready)
    for attempt, wait in enumerate((grace, grace / 2)):
        for lab in labs:  # runs on one lab take turns, so its one stapio is this run's
            try:
                lab.exec(["pkill", "-INT", "-x", "stapio"], timeout=10)
            except Exception as exc:  # LabError, a timeout: fall back to stap's own stop
                note(f"could not stop stapio in lab {lab.name} ({exc}); stopping stap here")
                return False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if exited():
                note("stopped in the guest (SIGINT to stapio): the end probes ran and their output "
                     "came through" + (" (after a second SIGINT)" if attempt else ""))
                return True
            time.sleep(0.1)
    return False
