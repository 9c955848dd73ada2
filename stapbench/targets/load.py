"""A small HTTP load for a profile: ``python -m stapbench.targets.load URL [--seconds S] [--clients N]``.

N threads each keep one connection alive (HTTP/1.1) and send GETs for S seconds; at the end one
line says how many requests got which status, the rate, and the errors.  A profile needs the
server busy, not a benchmark: stdlib only (no wrk on the machine or in the lab), the trigger
argv of a ``%%stap`` cell.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def load(url: str, seconds: float = 5.0, clients: int = 4, timeout: float = 10.0) -> tuple[Counter, Counter, float]:
    """(statuses, errors, elapsed): how many replies got each status, each error's count."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    statuses: Counter = Counter()
    errors: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = None
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses[response.status] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)  # a refused connection must not spin
        if conn is not None:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, errors, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stapbench.targets.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    statuses, errors, elapsed = load(args.url, args.seconds, args.clients)
    total = sum(statuses.values())
    replies = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items())) or "no replies"
    failed = ", ".join(f"{n} x {name}" for name, n in errors.most_common()) or "no errors"
    print(f"{total} requests in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f}/s) from {args.clients} "
          f"clients: {replies}; {failed}", flush=True)
    return 0 if total and not errors else 2


if __name__ == "__main__":
    sys.exit(main())
