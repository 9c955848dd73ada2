"""``%stap_lab``: the lab (a qemu guest where stap's kernel runtime runs) from a notebook.

    %stap_lab up [NAME]        boot it (owned by this kernel: it goes down when the kernel dies)
    %stap_lab down [NAME]      stop it
    %stap_lab status [NAME]    its state, stap's --remote URL, nginx's path and URL
    %stap_lab build            build the guest (once: about 10 minutes, 8 GB)

``up`` returns the :class:`stapbench.lab.Lab`, so ``lab = %stap_lab up`` binds it.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

__all__ = ["LabMagics"]


@magics_class
class LabMagics(Magics):
    @magic_arguments()
    @argument("action", choices=["up", "down", "status", "build"], help="what to do")
    @argument("name", nargs="?", default="lab", help="the lab's name (default: lab)")
    @argument("--timeout", type=float, default=None, help="up: seconds to wait for the guest")
    @line_magic
    def stap_lab(self, line: str):
        """Boot, stop, show or build the stapbench lab (see %stap_lab?)."""
        try:
            args = parse_argstring(self.stap_lab, line)
        except UsageError:
            raise
        except SystemExit:  # argparse's own exit on a bad choice
            raise UsageError(f"%stap_lab: bad arguments: {line!r} (up|down|status|build [NAME])") from None
        from ..lab import Lab, LabError, build

        try:
            if args.action == "build":
                build(progress=print)
                return None
            lab = Lab(args.name)
            if args.action == "up":
                return lab.up(progress=print, owned=True, timeout=args.timeout)
            if args.action == "down":
                lab.down()
                print(f"lab {args.name}: down")
                return None
            return lab.status()
        except LabError as exc:
            raise UsageError(f"%stap_lab {args.action}: {exc}") from None
