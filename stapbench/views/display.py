"""What shows a run: the protocol between a :class:`stapbench.runner.Run` and its display.

A display is attached to a run before ``run.start()`` (so no event falls between the
snapshot of ``run.events`` and the callbacks), follows the run's callbacks on the runner's
reader thread, and is asked three things, each meaning one thing:

* :meth:`~RunDisplay.show`: put the display in the cell's output, now;
* :meth:`~RunDisplay.close`: the run ended (no more events): make the final render.  The
  run's ``on_end`` callback calls it on the reader thread; it is idempotent and never
  destroys a widget (a live widget stays interactive after its run);
* :meth:`~RunDisplay.finish`: wait until the final render is in place.  The magics call it
  on the kernel's main thread once the run ended, so the output lands while the cell still
  executes (clients such as nbclient only take output for the executing cell).

:class:`stapbench.views.RunView` (widgets) and :class:`stapbench.magics.output.TextRunDisplay`
(rate-limited text) implement it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RunDisplay(Protocol):
    def show(self) -> object:
        """Put the display in the output (returns its display handle, if any)."""

    def close(self) -> None:
        """The run ended: make the final render (idempotent; widgets stay usable)."""

    def finish(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` seconds until the final render is in place; False if it is not."""
