"""Magics layer: ``%load_ext stapbench`` registers ``%%stap``, ``%stap_stop``, ``%stap_replay``,
``%stap_list``, ``%stap_doctor``, and
the display of ``Run`` objects (a cell holding a run bound with ``--out`` shows the run: its status,
notes and static render, through :func:`stapbench.views.runrender.run_bundle`)."""

from __future__ import annotations

_magics = None


def load_ipython_extension(ipython):
    global _magics
    from .stap import StapMagics, _give_empty_stap_cells_a_body

    _magics = StapMagics(shell=ipython)
    ipython.register_magics(_magics)
    from .lab import LabMagics  # %stap_lab: the lab (stapbench.lab)

    ipython.register_magics(LabMagics)
    from . import authoring  # %%stap cells complete as SystemTap

    authoring.load(ipython, _magics)
    authoring.register_magics(ipython, _magics)  # %stap_probes
    if _give_empty_stap_cells_a_body not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(_give_empty_stap_cells_a_body)
    _display_formatter(ipython).for_type(_run_class(), _show_run)
    # IPython has no shutdown event; runs are stopped by the runner's atexit
    # handler (kernel shutdown) and their watchdogs (kernel killed).


def unload_ipython_extension(ipython):
    global _magics
    from . import authoring

    authoring.unload(ipython)
    from .stap import _give_empty_stap_cells_a_body

    if _give_empty_stap_cells_a_body in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(_give_empty_stap_cells_a_body)
    if _magics is not None:
        _magics.stop_all()
        if _magics in ipython.configurables:  # so %config finds the next one only
            ipython.configurables.remove(_magics)
        _magics = None
    _display_formatter(ipython).pop(_run_class(), None)


def _display_formatter(ipython):
    return ipython.display_formatter.mimebundle_formatter


def _run_class():
    from ..runner import Run

    return Run


def _show_run(run):
    from ..views.runrender import run_bundle

    return run_bundle(run, symbolizer=_magics._symbolizer() if _magics is not None else None)
