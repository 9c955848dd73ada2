"""Runner layer: stap as a managed process (argv, pty, transcript, stop, cleanup).

``run(script, pid=..., cmd=..., trigger=..., timeout=..., runtime=...)`` runs
stap and returns a :class:`Run`; ``Run(...).start()`` for background use;
``replay(folder)`` rebuilds a Run from a recorded run folder.
"""

from .options import RUNTIMES, RunOptions, build_stap_argv
from .record import RunRecord
from .run import Run, RunError, replay, run

__all__ = ["RUNTIMES", "Run", "RunError", "RunOptions", "RunRecord", "build_stap_argv", "replay", "run"]
