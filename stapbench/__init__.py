"""stapbench: a JupyterLab workbench for SystemTap.

``%load_ext stapbench`` registers the ``%%stap`` magics; ``stapbench.run()``
runs stap without IPython.  Imports stay lazy so that the parser and the
command line work without IPython or widgets loaded.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def run(script, **kwargs):
    """Run a stap script and return a finished :class:`stapbench.runner.Run` (see there)."""
    from .runner import run as _run

    return _run(script, **kwargs)
