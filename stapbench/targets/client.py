"""A client that says how each request ended, the way the FIN-vs-RST question needs it.

``python -m stapbench.targets.client URL...`` sends one GET per URL, each on a connection of its
own, reads until the server closes, and prints one line per request::

    GET /      reply 200 (615 bytes), then the server closed: EOF
    GET /abort no reply: EOF (the server closed with a FIN)
    GET /abort no reply: ECONNRESET (the server reset the connection: an RST)
    GET /slow (half a header) no reply: EOF (the server closed with a FIN)

``--half URL`` sends only the request line and one header, never the blank line that ends the
header, and waits: the server times the request out (nginx: ``client_header_timeout``).

curl says "empty reply from server" (exit 52) for the first kind of abort and "recv failure"
(exit 56) for the second; this says which packet it was, and always exits 0 when every server
answered the connect (a workload for ``--trigger``, where an abort is the point, not a failure).
It exits 2 when a connection could not be made at all.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Outcome:
    path: str
    status: int | None  # the reply's HTTP status, None when nothing came back
    received: int  # bytes received
    ending: str  # "EOF" (a FIN) or "ECONNRESET" (an RST)
    half: bool = False  # only half a header was sent

    def line(self) -> str:
        what = f"GET {self.path}" + (" (half a header)" if self.half else "")
        if self.status is not None:
            return f"{what} reply {self.status} ({self.received} bytes), then the server closed: {self.ending}"
        if self.ending == "EOF":
            return f"{what} no reply: EOF (the server closed with a FIN)"
        return f"{what} no reply: ECONNRESET (the server reset the connection: an RST)"


def request(url: str, timeout: float = 20.0, half: bool = False) -> Outcome:
    """One GET on a new connection, read until the server ends it; ``half``: the header is
    never finished, so the server must time the request out."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as sock:
        head = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        sock.sendall((head if half else head + "Connection: close\r\n\r\n").encode())
        data = b""
        ending = "EOF"
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                ending = "ECONNRESET"
                break
            if not chunk:
                break
            data += chunk
    status = None
    first = data.split(b"\r\n", 1)[0].split()
    if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
        status = int(first[1])
    return Outcome(path, status, len(data), ending, half)


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    requests, half = [], False
    for word in words:
        if word == "--half":
            half = True
            continue
        requests.append((word, half))
        half = False
    if not requests or half:
        print("usage: python -m stapbench.targets.client [--half] URL...", file=sys.stderr)
        return 2
    code = 0
    for url, half in requests:
        try:
            print(request(url, half=half).line(), flush=True)
        except OSError as exc:
            print(f"GET {url} could not connect: {exc}", flush=True)
            code = 2
    return code


if __name__ == "__main__":
    sys.exit(main())
