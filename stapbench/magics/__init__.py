"""Magics layer: ``%load_ext stapbench`` registers ``%%stap``, ``%stap_stop``, ``%stap_doctor``."""

from __future__ import annotations

_magics = None


def load_ipython_extension(ipython):
    global _magics
    from .stap import StapMagics

    _magics = StapMagics(shell=ipython)
    ipython.register_magics(_magics)
    # IPython has no shutdown event; runs are stopped by the runner's atexit
    # handler (kernel shutdown) and their watchdogs (kernel killed).


def unload_ipython_extension(ipython):
    global _magics
    if _magics is not None:
        _magics.stop_all()
        if _magics in ipython.configurables:  # so %config finds the next one only
            ipython.configurables.remove(_magics)
        _magics = None
