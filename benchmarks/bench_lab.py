"""The lab: boot to ready, a first compile, a cached rerun, against a local BPF run.

Measured in the same run (medians where repeated; these machines are noisy, compare the ratios):

* boot: ``Lab("bench").up()`` until stapsh listens and nginx answers (TCG here: ~15-30 s);
* first compile: a script with a user probe on the guest's nginx (``print_ubacktrace()``) and a
  kernel probe (``tcp_send_fin``, ``print_backtrace()``), never compiled before (a nonce global
  makes it new), run with ``stap --remote`` through the chroot prefix until its first event
  (curl requests the guest's nginx in a loop); passes 1-4 on the host, pass 5 in the guest;
* cached rerun: the same script again (stap's cache skips passes 3-4) to its first event
  (target: under 3 s under TCG);
* baseline: a local BPF run of a user-space-only script (``process(host nginx).function("main")``
  with ``-c 'nginx -V'``) to its end, what a ``%%stap`` cell costs on this host today.

    .venv/bin/python benchmarks/bench_lab.py [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import stapbench  # noqa: E402
from stapbench.lab import Lab, is_built  # noqa: E402
from tests.support.paths import WORK  # noqa: E402

SCRIPT = """\
global bench_nonce = {nonce}
probe process("{nginx}").function("ngx_close_connection") {{
    printf("close %d\\n", bench_nonce)
    print_ubacktrace()
}}
probe kernel.function("tcp_send_fin") {{
    print_backtrace()
    exit()
}}
"""


def first_event_seconds(lab: Lab, script: Path, timeout: float = 600) -> float:
    """From starting stap to its first stdout line, with curl requesting nginx meanwhile."""
    argv = lab.stap_argv_prefix([script.parent]) + ["stap", f"--remote={lab.remote}", str(script)]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first: list[float] = []

    def read() -> None:
        line = proc.stdout.readline()
        if line:
            first.append(time.monotonic() - started)
        proc.stdout.read()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not first and proc.poll() is None and time.monotonic() - started < timeout:
            subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "3", lab.nginx_url + "abort"])
            time.sleep(0.2)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    if not first:
        raise SystemExit(f"no event from stap (exit {proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return first[0]


def bpf_baseline_seconds() -> float:
    nginx = WORK / "nginx/sbin/nginx"
    started = time.monotonic()
    run = stapbench.run(f'probe process("{nginx}").function("main") {{ println("main") }}',
                        runtime="bpf", cmd=f"{nginx} -V", timeout=120)
    elapsed = time.monotonic() - started
    if "main" not in run.text():
        raise SystemExit(f"the BPF baseline printed nothing: {run.status_line}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not is_built():
        raise SystemExit("the lab is not built: stapbench lab build")
    lab = Lab("bench")
    started = time.monotonic()
    lab.up(owned=True)
    boot = time.monotonic() - started
    accel = lab.status()["accel"]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as folder:
            script = Path(folder) / "close.stp"
            script.write_text(SCRIPT.format(nonce=random.randrange(1, 2**31), nginx=lab.nginx))
            first = first_event_seconds(lab, script)
            reruns = [first_event_seconds(lab, script) for _ in range(args.repeat)]
        baseline = [bpf_baseline_seconds() for _ in range(args.repeat)]
    finally:
        lab.down()
    rerun, base = statistics.median(reruns), statistics.median(baseline)
    print(f"lab boot to ready ({accel.upper()}):  {boot:6.1f} s")
    print(f"first compile to first event (user + kernel probes): {first:6.1f} s")
    print(f"cached rerun to first event, median of {args.repeat}:    {rerun:6.1f} s  (target < 3 s under TCG)"
          f"  [{', '.join(f'{r:.1f}' for r in reruns)}]")
    print(f"baseline: local BPF run of a user-space script, median: {base:6.1f} s"
          f"  [{', '.join(f'{b:.1f}' for b in baseline)}]")
    print(f"ratio cached lab rerun / local BPF run: {rerun / base:.1f}x; first compile / local BPF run: {first / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
