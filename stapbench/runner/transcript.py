"""A run folder: the raw transcript, written as it streams.

Layout (every file plain, so a folder can be inspected or attached to a bug):

``script.stp``    the script stap ran (the cell, plus stapbench's readiness probe at the end)
``stdout.bin``    stap's stdout, byte for byte (probe output)
``stderr.bin``    stap's stderr, byte for byte (stap's own messages)
``trigger.bin``   the trigger command's output (stdout and stderr together)
``stdout@HOST.bin`` a several-host run (``--remote`` twice or more): each host's own stdout,
                  its ``N: `` prefixes taken off (stdout.bin keeps the merged stream)
``index.jsonl``   one line per chunk in arrival order: ``{"s": "stdout", "n": 42, "t": 0.0123}``
                  (stream, byte count, seconds since start), so a replay feeds the
                  streams in the order they arrived
``meta.json``     argv, options, times, exit status, stop reason (rewritten at the end)

Chunks are appended and flushed as they arrive: nothing is held in memory and
nothing is lost if rendering (or the kernel) fails afterwards.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Iterator

#: trigger: the --trigger workload's output; program: the -c program's own (runner.program)
STREAM_FILES = {"stdout": "stdout.bin", "stderr": "stderr.bin", "trigger": "trigger.bin", "program": "program.bin"}
META = "meta.json"
INDEX = "index.jsonl"
SCRIPT = "script.stp"


def default_transcript_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stapbench" / "runs"


def new_run_dir(parent: str | os.PathLike | None) -> Path:
    parent = Path(parent) if parent is not None else default_transcript_dir()
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = parent / (f"{stamp}-{os.getpid()}" + (f"-{n}" if n else ""))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise OSError(f"could not create a run folder under {parent}")


def prepare_record_dir(path: str | os.PathLike) -> Path:
    """A folder asked for with ``--record``: created, and refused if it already holds a run."""
    path = Path(path)
    if (path / META).exists():
        raise FileExistsError(f"{path} already holds a recorded run")
    path.mkdir(parents=True, exist_ok=True)
    return path


class TranscriptWriter:
    """Appends chunks to the stream files and the index; thread-confined to the reader."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._files = {}
        self._index = open(folder / INDEX, "a", encoding="utf-8")
        self._t0 = time.monotonic()
        self.sizes = {name: 0 for name in STREAM_FILES}

    def write(self, stream: str, data: bytes) -> float | None:
        """Append a chunk; returns its time (seconds since this writer began), as indexed."""
        if not data:
            return None
        f = self._files.get(stream)
        if f is None:
            f = self._files[stream] = open(self.folder / STREAM_FILES[stream], "ab", buffering=0)
        f.write(data)
        self.sizes[stream] += len(data)
        t = round(time.monotonic() - self._t0, 6)
        self._index.write(json.dumps({"s": stream, "n": len(data), "t": t}) + "\n")
        self._index.flush()
        return t

    def write_host(self, label: str, data: bytes) -> None:
        """Append to one host's stdout (``stdout@HOST.bin``; a replay splits stdout.bin again,
        so these are not indexed)."""
        key = ("host", label)
        f = self._files.get(key)
        if f is None:
            f = self._files[key] = open(self.folder / host_stdout_file(label), "ab", buffering=0)
        f.write(data)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
        self._index.close()


def host_stdout_file(label: str) -> str:
    """The file name of a host's stdout: its label with anything but ``[A-Za-z0-9._-]`` as ``_``."""
    return "stdout@" + re.sub(r"[^A-Za-z0-9._-]", "_", label) + ".bin"


def write_meta(folder: Path, meta: dict) -> None:
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, folder / META)


def read_meta(folder: Path) -> dict:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def iter_chunks(folder: Path) -> Iterator[tuple[str, bytes, float]]:
    """The recorded chunks in arrival order: ``(stream, bytes, t)``.

    Without an index (a hand-made folder), stdout then stderr then trigger
    output, each whole.  Bytes the index does not cover (a crash between a
    write and its index line) come last, so nothing recorded is dropped.
    """
    files = {s: (folder / name) for s, name in STREAM_FILES.items()}
    data = {s: (p.read_bytes() if p.exists() else b"") for s, p in files.items()}
    offsets = {s: 0 for s in files}
    index = folder / INDEX
    if index.exists():
        with open(index, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    stream, n, t = entry["s"], int(entry["n"]), float(entry.get("t", 0.0))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line
                if stream not in data:
                    continue
                start = offsets[stream]
                chunk = data[stream][start:start + n]
                offsets[stream] = start + len(chunk)
                if chunk:
                    yield stream, chunk, t
    for stream in files:
        rest = data[stream][offsets[stream]:]
        if rest:
            yield stream, rest, 0.0
