"""Line classification and the state machine for multi-line constructs."""

from __future__ import annotations

from ..model import Event, TextLine


class LineMachine:
    def __init__(self, stream: str):
        self.stream = stream

    def feed_lines(self, lines: list[str]) -> list[Event]:
        stream = self.stream
        return [TextLine(raw=line + "\n", stream=stream, text=line.removesuffix("\r")) for line in lines]

    def feed_last(self, line: str) -> list[Event]:
        return [TextLine(raw=line, stream=self.stream, text=line.removesuffix("\r"))]

    def flush(self) -> list[Event]:
        return []
