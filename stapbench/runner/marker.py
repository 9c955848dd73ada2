"""The readiness marker: how the runner knows the probes are live.

stapbench appends ``probe begin { printf("<marker>\\n") }`` (on the kernel runtime, a
one-shot timer probe: see :func:`script_with_marker`) at the *end* of the script, so the
cell's line numbers stay the script's line numbers and the marker prints after every
begin probe of the user's.  Its line is removed from
the stdout fed to the parser (it is not the user's output) but stays in the
raw transcript; :class:`MarkerFilter` does that on a stream split anywhere.
"""

from __future__ import annotations

import secrets


def new_marker() -> str:
    return f"__stapbench_ready_{secrets.token_hex(8)}__"


def script_with_marker(script: str, marker: str, runtime: str | None = None) -> str:
    """The script with the readiness probe appended.

    On the kernel runtime (``runtime`` None or ``"kernel"``) ``begin`` probes run while
    the module is still registering its kprobes and uprobes, before any other probe can
    fire (checked in the lab: a request made at the ``begin`` line was not traced), so the
    marker comes from the first tick of a timer instead: a timer probe runs only once the
    session is running, with every probe registered.  stapbpf attaches every probe before
    it runs ``begin``, so there ``begin`` says it.
    """
    if script and not script.endswith("\n"):
        script += "\n"
    if runtime in (None, "kernel"):
        flag = "__stapbench_" + marker.strip("_").rsplit("_", 1)[-1]  # a global of our own
        return script + (f'global {flag}\nprobe timer.ms(100) {{ if (!{flag}) {{ {flag} = 1; '
                         f'printf("{marker}\\n") }} }}\n')
    return script + f'probe begin {{ printf("{marker}\\n") }}\n'


class MarkerFilter:
    """Removes the first ``marker + "\\n"`` from a byte stream fed in chunks.

    Bytes that could be the start of the marker are held back until the next
    chunk decides; everything else passes at once.
    """

    def __init__(self, marker: str | None):
        self.pattern = (marker + "\n").encode() if marker else None
        self.found = marker is None
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Return (bytes to pass on, whether the marker was found in this chunk)."""
        if self.found:
            return data, False
        buf = self._held + data
        at = buf.find(self.pattern)
        if at >= 0:
            self.found = True
            self._held = b""
            return buf[:at] + buf[at + len(self.pattern):], True
        keep = self._partial_suffix(buf)
        self._held = buf[len(buf) - keep:] if keep else b""
        return buf[:len(buf) - keep], False

    def close(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _partial_suffix(self, buf: bytes) -> int:
        """Length of the longest suffix of ``buf`` that is a proper prefix of the pattern."""
        pattern = self.pattern
        for n in range(min(len(buf), len(pattern) - 1), 0, -1):
            if pattern.startswith(buf[-n:]):
                return n
        return 0


class TaggedLineFilter:
    """Takes the lines that begin with ``tag + " "`` out of a byte stream fed in chunks
    (the supervisor's notes on stap's stderr) and gives their text apart.

    A line start that could still become the tag is held back until the next chunk
    decides; everything else passes at once.
    """

    def __init__(self, tag: str | None):
        self.tag = (tag + " ").encode() if tag else None
        self._held = b""
        self._at_line_start = True

    def feed(self, data: bytes) -> tuple[bytes, list[str]]:
        if self.tag is None:
            return data, []
        buf, self._held = self._held + data, b""
        out, texts, pos = [], [], 0
        while pos < len(buf):
            end = buf.find(b"\n", pos)
            line = buf[pos:] if end < 0 else buf[pos:end + 1]
            if self._at_line_start and line.startswith(self.tag) and end >= 0:
                texts.append(line[len(self.tag):-1].decode("utf-8", "replace"))
            elif self._at_line_start and end < 0 and self.tag.startswith(line[:len(self.tag)]):
                self._held = line  # could still be a tagged line: wait for its end
                break
            else:
                out.append(line)
                self._at_line_start = end >= 0
            pos += len(line)
        return b"".join(out), texts

    def close(self) -> bytes:
        held, self._held = self._held, b""
        return held
