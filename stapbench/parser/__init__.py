"""Parser layer: stap's text output -> :mod:`stapbench.model` events (pure, streaming, lossless).

* :class:`StreamParser` (``feed``/``flush``/``close``) and :func:`parse_bytes`;
* :func:`parse_value` / :func:`parse_vars`: pretty-printed ``$var$`` / ``$$vars`` text;
* :func:`fold_bytes`: FlameGraph folded stacks, as ``stackcollapse-stap.pl`` makes them.
"""

from .fold import fold_bytes
from .stream import STREAMS, StreamParser, parse_bytes, parse_text
from .values import ValueSyntaxError, parse_value, parse_vars

__all__ = [
    "STREAMS", "StreamParser", "ValueSyntaxError", "fold_bytes", "parse_bytes", "parse_text",
    "parse_value", "parse_vars",
]
