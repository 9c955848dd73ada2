"""What went over the wire: a tcpdump capture of a target's TCP port, as packets and connections.

The FIN-vs-RST question ends on the wire: which packet did the server's ``close()`` send?
:class:`PacketCapture` runs ``tcpdump`` (an argv, no shell) on an interface, by default the
loopback a throw-away nginx listens on, while a workload runs; it keeps tcpdump's text lines
exactly as printed (``save``/``load`` write and read them, so a capture replays where tcpdump
cannot run) and parses them into :class:`Packet` rows and per-connection :class:`Connection`
summaries (who ended it, with which flag).  A result object in the jupysql manner: shown in a
notebook as an HTML table (everything escaped), as text elsewhere.

tcpdump needs CAP_NET_RAW (root here); without it :meth:`PacketCapture.start` raises
:class:`CaptureError` with tcpdump's own words.
"""

from __future__ import annotations

import atexit
import html
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CaptureError", "Connection", "Packet", "PacketCapture", "parse_tcpdump"]

#: tcpdump's flag letters (``Flags [F.]``), in the order they are named here
FLAG_NAMES = {"S": "SYN", "F": "FIN", "R": "RST", "P": "PSH", ".": "ACK", "U": "URG", "E": "ECE", "W": "CWR"}

# `-tt -nn` output: "1796208158.674404 IP 127.0.0.1.39341 > 127.0.0.1.35134: Flags [F.], seq 261, ..."
_LINE = re.compile(r"(?P<time>\d+\.\d+) IP6? (?P<src>\S+) > (?P<dst>\S+?): Flags \[(?P<flags>[^\]]*)\]"
                   r"(?P<rest>.*)")
_LENGTH = re.compile(r"length (\d+)")


class CaptureError(RuntimeError):
    """tcpdump could not start (not installed, no permission, no such interface)."""


@dataclass(frozen=True)
class Packet:
    time: float  # seconds since the epoch, as tcpdump -tt prints it
    src: str  # address.port
    dst: str
    flags: str  # tcpdump's letters: "S", "S.", "P.", "F.", "R.", "."
    length: int  # payload bytes

    @property
    def flag_names(self) -> list[str]:
        return [FLAG_NAMES.get(letter, letter) for letter in self.flags]


@dataclass(frozen=True)
class Connection:
    """One TCP connection: its packets in order, the client and server ends."""
    client: str
    server: str
    packets: tuple[Packet, ...]

    def _first(self, letter: str, sender: str) -> Packet | None:
        return next((p for p in self.packets if letter in p.flags and p.src == sender), None)

    @property
    def server_ending(self) -> str | None:
        """How the server ended its side: ``"RST"``, ``"FIN"``, or None (it did neither here).
        An RST counts even after a FIN: it is what aborts the connection."""
        if self._first("R", self.server) is not None:
            return "RST"
        if self._first("F", self.server) is not None:
            return "FIN"
        return None

    @property
    def closed_by(self) -> str | None:
        """"server" or "client": whose FIN or RST came first."""
        ends = [p for p in self.packets if "F" in p.flags or "R" in p.flags]
        if not ends:
            return None
        return "server" if ends[0].src == self.server else "client"

    @property
    def payload(self) -> tuple[int, int]:
        """(bytes the client sent, bytes the server sent)."""
        return (sum(p.length for p in self.packets if p.src == self.client),
                sum(p.length for p in self.packets if p.src == self.server))


def parse_tcpdump(lines: list[str]) -> list[Packet]:
    """tcpdump ``-tt -nn`` lines -> packets; lines of another shape (its banner, stats) are skipped."""
    packets = []
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            continue
        length = _LENGTH.search(m["rest"])
        packets.append(Packet(float(m["time"]), m["src"], m["dst"], m["flags"],
                              int(length.group(1)) if length else 0))
    return packets


def connections(packets: list[Packet], server_port: int | None = None) -> list[Connection]:
    """Packets grouped by connection, in the order the connections opened.  The server is the
    end listening on ``server_port`` (else the one that answered the first SYN)."""
    flows: dict[frozenset, list[Packet]] = {}
    for p in packets:
        flows.setdefault(frozenset((p.src, p.dst)), []).append(p)
    out = []
    for flow in flows.values():
        first = flow[0]
        if server_port is not None:
            server = first.dst if first.dst.rsplit(".", 1)[-1] == str(server_port) else first.src
        else:
            syn = next((p for p in flow if p.flags == "S"), first)
            server = syn.dst
        client = first.src if first.src != server else first.dst
        out.append(Connection(client, server, tuple(flow)))
    return out


class PacketCapture:
    """``tcpdump -i INTERFACE -nn -tt -l 'tcp port PORT'`` while a workload runs.

    ``with PacketCapture(port):`` starts it (returning once tcpdump listens, so no packet of the
    workload is missed) and stops it (SIGINT, so tcpdump flushes what it saw)."""

    def __init__(self, port: int | None = None, *, interface: str = "lo", tcpdump: str = "tcpdump"):
        self.port = port
        self.interface = interface
        self.tcpdump = tcpdump
        self.lines: list[str] = []  # tcpdump's stdout, each line as printed
        self.stderr = ""
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def argv(self) -> list[str]:
        expression = ["tcp", "port", str(self.port)] if self.port is not None else ["tcp"]
        return [self.tcpdump, "-i", self.interface, "-nn", "-tt", "-l", "--immediate-mode", *expression]

    # --- live --------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "PacketCapture":
        if shutil.which(self.tcpdump) is None:
            raise CaptureError(f"{self.tcpdump} is not installed (apt-get install tcpdump)")
        self._process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, errors="replace",
                                         start_new_session=True)
        atexit.register(self.stop)
        # tcpdump says "listening on lo, ..." on stderr once its socket is open
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line:
                break  # it exited
            seen.append(line)
            if line.startswith("listening on"):
                break
        if not seen or not seen[-1].startswith("listening on"):
            self.stop()
            raise CaptureError(f"tcpdump did not start: {''.join(seen).strip() or 'no output'}")
        self.stderr = "".join(seen)
        self._reader = threading.Thread(target=self._read, name="stapbench-tcpdump", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> "PacketCapture":
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is None:
            return self
        if process.poll() is None:
            time.sleep(0.2)  # the last packets of a close are a few microseconds behind the workload
            process.send_signal(signal.SIGINT)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        self.stderr += process.stderr.read() if process.stderr else ""
        return self

    def __enter__(self) -> "PacketCapture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- kept ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """tcpdump's lines as printed, one per line (the port in a first comment line)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = f"# tcpdump {' '.join(self.argv[1:])}\n"
        path.write_text(head + "".join(line + "\n" for line in self.lines))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PacketCapture":
        """A saved capture, to show where tcpdump cannot run."""
        text = Path(path).read_text(errors="replace").splitlines()
        port = None
        if text and text[0].startswith("# tcpdump"):
            m = re.search(r"tcp port (\d+)", text[0])
            port = int(m.group(1)) if m else None
            text = text[1:]
        capture = cls(port)
        capture.lines = text
        return capture

    # --- read ----------------------------------------------------------------------------------
    @property
    def packets(self) -> list[Packet]:
        return parse_tcpdump(self.lines)

    @property
    def connections(self) -> list[Connection]:
        return connections(self.packets, self.port)

    def endings(self) -> list[str | None]:
        """How the server ended each connection, in the order they opened: ``FIN``/``RST``/None."""
        return [c.server_ending for c in self.connections]

    def __repr__(self) -> str:
        rows = [f"{len(self.packets)} packets, {len(self.connections)} connections on port {self.port}"]
        for i, c in enumerate(self.connections, 1):
            sent = c.payload
            rows.append(f"  #{i} {c.client} -> {c.server}: {len(c.packets)} packets, {sent[0]}/{sent[1]} bytes; "
                        f"the server ended it with {c.server_ending or 'neither FIN nor RST'}")
            for p in c.packets:
                who = "server" if p.src == c.server else "client"
                rows.append(f"      {who:>6} [{p.flags}] {'+'.join(p.flag_names)} length {p.length}")
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f'<div class="stapbench-capture"><p>{len(self.packets)} packets on '
               f'<code>{e(self.interface)}</code>, TCP port {e(str(self.port))}</p>',
               '<table class="stapbench-capture-table"><thead><tr><th>connection</th><th>t (ms)</th>'
               '<th>from</th><th>flags</th><th>length</th></tr></thead><tbody>']
        for i, c in enumerate(self.connections, 1):
            start = c.packets[0].time
            for p in c.packets:
                who = "server" if p.src == c.server else "client"
                ending = ("R" in p.flags or "F" in p.flags) and who == "server"
                style = ' style="font-weight:bold"' if ending else ""
                out.append(f'<tr data-connection="{i}" data-flags="{e(p.flags)}"{style}><td>#{i}</td>'
                           f'<td>{(p.time - start) * 1000:.3f}</td><td>{who} {e(p.src)}</td>'
                           f'<td>[{e(p.flags)}] {e("+".join(p.flag_names))}</td><td>{p.length}</td></tr>')
        out.append("</tbody></table></div>")
        return "".join(out)
