"""A synthetic stap transcript for the parser benchmarks, in the sample formats.

Each record is what a profiling script prints per distinct stack
(``print_stack``/``print_ubacktrace``, then the count on its own line, as
FlameGraph's stackcollapse-stap.pl expects), mixed with probe printf lines,
``$$parms`` and ``$var$`` dumps and the odd runtime WARNING, so the full parse
exercises every fast path.  Deterministic for a given seed.
"""

from __future__ import annotations

import random
from pathlib import Path

KERNEL = [
    "generic_make_request", "submit_bio", "submit_bh", "block_read_full_page", "__do_page_cache_readahead",
    "ra_submit", "page_cache_sync_readahead", "generic_file_aio_read", "do_sync_read", "vfs_read",
    "sys_read", "do_syscall_64", "entry_SYSCALL_64_after_hwframe", "kmem_cache_alloc", "sk_prot_alloc",
    "sk_alloc", "unix_create1", "tcp_sendmsg", "inet_sendmsg", "sock_sendmsg", "__sys_sendto",
]
USER = [
    "ngx_close_connection", "ngx_http_close_connection", "ngx_http_finalize_request",
    "ngx_http_core_run_phases", "ngx_http_process_request", "ngx_http_read_request_header",
    "ngx_epoll_process_events", "ngx_process_events_and_timers", "ngx_worker_process_cycle",
    "ngx_spawn_process", "ngx_start_worker_processes", "ngx_master_process_cycle", "main",
    "__libc_start_main", "_start", "(*Daemon).deleteNetwork",
]


def _full_frame(rng: random.Random, user: bool) -> str:
    if user:
        sym = rng.choice(USER)
        return f" 0x{rng.randrange(0x400000, 0x4fffff):x} : {sym}+0x{rng.randrange(0, 0x400):x}/0x{rng.randrange(0x400, 0x2000):x} [/usr/sbin/nginx]"
    sym = rng.choice(KERNEL)
    return f" 0xffffffff81{rng.randrange(0, 0xffffff):06x} : {sym}+0x{rng.randrange(0, 0x400):x}/0x{rng.randrange(0x400, 0x2000):x} [kernel]"


def records(count: int, seed: int = 1):
    """Yield ``count`` stack records (each a list of lines with their newlines)."""
    rng = random.Random(seed)
    # a fixed pool of distinct stacks, as a real profile has: hot stacks repeat
    pool = []
    for i in range(4000):
        depth = rng.randrange(8, 20)
        style = rng.random()
        if style < 0.6:
            frames = [_full_frame(rng, user=i % 2 == 0) for _ in range(depth)]
        elif style < 0.75:
            frames = [f"Returning from:  0x{rng.randrange(1 << 40):x} : {rng.choice(KERNEL)}+0x0/0x30 [kernel]",
                      f"Returning to  :  0x{rng.randrange(1 << 40):x} : {rng.choice(KERNEL)}+0x45/0x310 [kernel]"]
            frames += [_full_frame(rng, False) for _ in range(depth - 2)]
        elif style < 0.9:
            frames = [f"{rng.choice(USER)}+0x{rng.randrange(0x1000):x}" for _ in range(depth)]
        else:
            frames = [f"{rng.choice(KERNEL)}+0x{rng.randrange(0x1000):x} [kernel]" for _ in range(depth)]
        pool.append([f + "\n" for f in frames])
    for n in range(count):
        lines = list(rng.choice(pool))
        lines.append(f"\t{rng.randrange(1, 5000)}\n")
        r = rng.random()
        if r < 0.05:
            lines.append(f"ngx_close_connection c={n} fd={rng.randrange(3, 900)} status=200 GET /index.html\n")
        elif r < 0.07:
            lines.append(f"filename=0x7f340e5ca{rng.randrange(4096):03x} flags=0x80000 mode=0x1\n")
        elif r < 0.08:
            lines.append(f"conn {n}: {{.fd={rng.randrange(900)}, .data=0x55d0c0a1b2c0, .read={{...}}, .log=0x0, .number={n}}}\n")
        elif r < 0.081:
            lines.append("WARNING: Missing unwind data for a module, rerun with 'stap -d /lib/x86_64-linux-gnu/libc.so.6'\n")
        lines.append("\n")
        yield lines


def write_corpus(path: Path, stacks: int, seed: int = 1) -> int:
    """Write the corpus; return its number of lines."""
    return write_records(path, records(stacks, seed))


def aggregated_records(count: int, seed: int = 1, call_sites: int = 3000):
    """Yield ``count`` records as a profile's end probe prints them from an aggregate
    (``foreach (s in stacks) { print_stack(s); printf("\\t%d\\n", @count(stacks[s])) }``):
    every stack printed once, its frames drawn from a fixed pool of call sites, so frame
    lines repeat across stacks while the stacks themselves are distinct."""
    rng = random.Random(seed)
    sites = [_full_frame(rng, user=i % 3 == 0) + "\n" for i in range(call_sites)]
    for _ in range(count):
        lines = [rng.choice(sites) for _ in range(rng.randrange(8, 20))]
        lines.append(f"\t{rng.randrange(1, 5000)}\n")
        yield lines


def distinct_records(count: int, seed: int = 1):
    """Yield ``count`` records whose every frame line is distinct (a worst case for caches)."""
    rng = random.Random(seed)
    address = 0xFFFFFFFF81000000
    for _ in range(count):
        lines = []
        for _ in range(rng.randrange(8, 20)):
            address += rng.randrange(1, 64)
            sym = rng.choice(KERNEL)
            lines.append(f" 0x{address:x} : {sym}+0x{rng.randrange(0, 0x400):x}/0x{rng.randrange(0x400, 0x2000):x} [kernel]\n")
        lines.append(f"\t{rng.randrange(1, 5000)}\n")
        yield lines


def write_records(path: Path, records) -> int:
    """Write records (lists of lines); return the number of lines."""
    n_lines = 0
    with open(path, "w", encoding="utf-8") as f:
        buf: list[str] = []
        for rec in records:
            buf.extend(rec)
            n_lines += len(rec)
            if len(buf) > 100_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return n_lines
