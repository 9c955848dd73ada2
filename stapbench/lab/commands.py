"""``stapbench lab build|up|down|status|exec``: the lab from a terminal.

``up`` starts a *detached* lab: it keeps running after the command returns, until
``stapbench lab down``; an ``up`` interrupted during the boot (Ctrl-C, SIGTERM, even SIGKILL)
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

__all__ = ["add_subparser"]

DEFAULT_NAME = "lab"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_subparser(subparsers) -> None:
    lab = subparsers.add_parser("lab", help="a qemu guest where stap's kernel runtime runs (stap --remote)",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    lab.set_defaults(func=lambda args: (lab.print_help(sys.stderr), 2)[1])

    build = sub.add_parser("build", help="build the guest (cached: about 8 GB, 10 minutes the first time)")
    build.add_argument("--image", action="store_true", help="remake the disk image even if it is current")
    build.set_defaults(func=_build)

    up = sub.add_parser("up", help="boot a lab (detached: it runs until 'stapbench lab down')")
    up.add_argument("name", nargs="?", default=DEFAULT_NAME)
    up.add_argument("--timeout", type=float, default=None, help="seconds to wait for the guest")
    up.set_defaults(func=_up)

    down = sub.add_parser("down", help="stop a lab and remove its sockets")
    down.add_argument("name", nargs="?", default=DEFAULT_NAME)
    down.add_argument("--all", action="store_true", help="every lab")
    down.set_defaults(func=_down)

    status = sub.add_parser("status", help="the labs and their state (removes a dead lab's state)")
    status.add_argument("name", nargs="?", default=None, help="one lab (default: every lab with state)")
    status.add_argument("--json", action="store_true", help="JSON: an object for NAME, else a list")
    status.set_defaults(func=_status)

    exec_ = sub.add_parser("exec", help="run a command in a lab's guest: stapbench lab exec NAME -- CMD...")
    exec_.add_argument("name")
    exec_.add_argument("--timeout", type=float, default=30.0)
    exec_.add_argument("argv", nargs=argparse.REMAINDER)
    exec_.set_defaults(func=_exec)


def _build(args) -> int:
    from . import LabError, build

    try:
        build(progress=_say, force_image=args.image)
    except LabError as exc:
        _say(f"stapbench lab build: {exc}")
        return 1
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _up(args) -> int:
    from . import LabError
    from .machine import Lab

    signal.signal(signal.SIGTERM, _raise_interrupt)  # a SIGTERM during the boot cleans up as Ctrl-C does
    lab = Lab(args.name)
    try:
        lab.up(progress=_say, owned=False, timeout=args.timeout)
    except KeyboardInterrupt:
        _say(f"stapbench lab up: interrupted; lab {args.name} stopped")
        return 130
    except LabError as exc:
        _say(f"stapbench lab up: {exc}")
        return 1
    _say(f"lab {args.name} is up, detached: it runs until 'stapbench lab down {args.name}'")
    print(lab.remote)
    return 0


def _down(args) -> int:
    from .machine import Lab

    labs = Lab.all() if args.all else [Lab(args.name)]
    for lab in labs:
        lab.down()
        _say(f"lab {lab.name}: down")
    return 0


def _status(args) -> int:
    from .machine import Lab

    if args.name is not None:
        report = Lab(args.name).status()
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            _print_status([report])
        return 0
    reports = [lab.status() for lab in Lab.all()]
    reports = [r for r in reports if r["state"] != "down"]
    if args.json:
        print(json.dumps(reports, indent=2))
    elif not reports:
        print("no lab is up (stapbench lab up [NAME])")
    else:
        _print_status(reports)
    return 0


def _print_status(reports: list[dict]) -> None:
    for r in reports:
        if r["state"] == "down":
            print(f"{r['name']}: down")
            continue
        print(f"{r['name']}: {r['state']} ({(r['accel'] or '?').upper()}, pid {r['pid']}, kernel {r['kernel_release']})"
              f"\n  remote    {r['remote']}\n  nginx     {r['nginx']}\n  nginx_url {r['nginx_url']}"
              f"\n  rootfs    {r['rootfs']}")


def _exec(args) -> int:
    import subprocess

    from . import LabError
    from .machine import Lab

    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        _say("stapbench lab exec: no command (stapbench lab exec NAME -- CMD...)")
        return 2
    try:
        done = Lab(args.name).exec(argv, timeout=args.timeout, text=False)
    except LabError as exc:
        _say(f"stapbench lab exec: {exc}")
        return 1
    except subprocess.TimeoutExpired:
        _say(f"stapbench lab exec: timed out after {args.timeout:g} s (killed in the guest)")
        return 124
    sys.stdout.buffer.write(done.stdout)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(done.stderr)
    return done.returncode
