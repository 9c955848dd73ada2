"""Parser layer: stap's text output -> :mod:`stapbench.model` events (pure, streaming, lossless).

* :class:`StreamParser` (``feed``/``flush``/``close``) and :func:`parse_bytes`;
* :func:`parse_value` / :func:`parse_vars`: pretty-printed ``$var$`` / ``$$vars`` text;
* :func:`fold_bytes`: FlameGraph folded stacks, as ``stackcollapse-stap.pl`` makes them.

The names are imported on first use (PEP 562), so that ``stapbench fold`` loads
the folder alone, not the parser and the model.
"""

from __future__ import annotations

import importlib

_MODULES = {
    "fold_bytes": ".fold",
    "STREAMS": ".streams",
    "StreamParser": ".stream", "parse_bytes": ".stream", "parse_text": ".stream",
    "ValueSyntaxError": ".values", "parse_value": ".values", "parse_vars": ".values",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str):
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))
