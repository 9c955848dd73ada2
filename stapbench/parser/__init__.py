"""Parser layer: stap's text output -> :mod:`stapbench.model` events (pure, streaming, lossless)."""

from .stream import STREAMS, StreamParser, parse_bytes, parse_text

__all__ = ["STREAMS", "StreamParser", "parse_bytes", "parse_text"]
