"""The lab for real: a qemu guest booted from the built image, stap --remote through the chroot.

Skips (with the reason) where qemu, debootstrap or the built lab are absent or we are not root;
CI provisions all of them (.ci/provision builds the lab), so nothing skips there.  One lab boots
per session and is shared; the lifecycle tests boot their own, with names of their own, in a
labs folder of their own (the shared build is read-only to them).  Each TCG boot is 15-30 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from stapbench.lab import Lab, stap_argv_prefix
from tests.support.lab import lab_unavailable, qemu_pids, wait_no_qemu, wait_until

pytestmark = pytest.mark.timeout(600)


if lab_unavailable():
    pytest.skip(lab_unavailable(), allow_module_level=True)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stapbench", "lab", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def stap_remote(lab: Lab, script: Path, timeout: float = 400, **popen) -> subprocess.Popen:
    argv = lab.stap_argv_prefix([script.parent]) + ["stap", "-v", f"--remote={lab.remote}", str(script)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, **popen)


def test_status_json_names_everything_a_remote_run_needs(lab):
    done = cli("status", lab.name, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["name"] == "t-main" and report["state"] == "up"
    assert report["remote"] == f"unix:{lab.state_dir / 'stapsh.sock'}" == lab.remote
    assert Path(report["remote"][len("unix:"):]).is_socket()
    assert report["nginx"] == "/opt/stapbench/nginx/sbin/nginx" == lab.nginx
    assert report["nginx_url"].startswith("http://127.0.0.1:") and report["nginx_url"] == lab.nginx_url
    assert report["accel"] in ("kvm", "tcg")
    assert report["kernel_release"] == "6.1.0-50-amd64"
    assert report["rootfs"] == str(lab.sysroot) and (lab.sysroot / report["nginx"].lstrip("/")).is_file()
    assert Path(f"/proc/{report['pid']}/cmdline").read_bytes().startswith(b"qemu-system-x86_64")
    listed = json.loads(cli("status", "--json").stdout)
    assert [r["name"] for r in listed] == ["t-main"]


def test_exec_runs_in_the_guest_with_output_and_status(lab):
    done = lab.exec(["uname", "-r"])
    assert (done.returncode, done.stdout) == (0, "6.1.0-50-amd64\n")
    missing = lab.exec(["ls", "/no/such/file"])
    assert missing.returncode == 2 and "No such file" in missing.stderr and missing.stdout == ""
    with pytest.raises(subprocess.TimeoutExpired):
        lab.exec(["sleep", "30"], timeout=1)
    assert lab.exec(["pgrep", "-x", "sleep"]).returncode == 1  # killed in the guest, not left there
    through_cli = cli("exec", lab.name, "--", "cat", "/proc/sys/kernel/hostname")
    assert (through_cli.returncode, through_cli.stdout) == (0, "stapbench-lab\n")
    assert cli("exec", lab.name, "--", "false").returncode == 1


def test_the_guests_nginx_answers_and_aborts_on_the_host_side_url(lab):
    with urllib.request.urlopen(lab.nginx_url, timeout=10) as reply:
        assert reply.status == 200 and b"nginx" in reply.read()
    aborted = subprocess.run(["curl", "-s", "-o", "/dev/null", lab.nginx_url + "abort"], timeout=30)
    assert aborted.returncode == 52  # empty reply: return 444 closed the connection


def test_the_guests_nginx_conf_can_be_replaced_and_a_bad_one_is_refused(lab):
    from stapbench.lab import LabError, guestfiles

    conf = (guestfiles.HERE / "nginx.conf").read_text()
    lab.set_nginx_conf(conf.replace("location /abort {", "location /teapot { return 418; }\n        location /abort {"))

    def teapot() -> int:
        done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", lab.nginx_url + "teapot"],
                              capture_output=True, text=True, timeout=30)
        return int(done.stdout or 0)

    assert wait_until(lambda: teapot() == 418, 10)  # the reload is asynchronous in nginx
    with pytest.raises(LabError, match="nginx -t"):
        lab.set_nginx_conf("no such directive;\n")
    assert teapot() == 418  # the previous conf stays, and nginx runs it
    lab.set_nginx_conf(conf)
    assert wait_until(lambda: teapot() == 404, 10)


def test_kernel_runtime_hello_through_the_chroot(lab, tmp_path):
    script = tmp_path / "hello.stp"
    script.write_text('probe begin { println("hello") exit() }\n')
    proc = stap_remote(lab, script)
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err[-2000:]
    assert out == "hello\n"
    rootfs = str(lab.sysroot)
    assert rootfs not in Path("/proc/self/mountinfo").read_text()  # the binds went with stap


def test_stap_runs_take_turns_on_one_lab(lab, tmp_path):
    # Two at once, then one right after another: each gets a stapsh of its own (without turns
    # the second one's handshake is lost to the stapsh that is closing, and it waits forever).
    script = tmp_path / "hello.stp"
    script.write_text('probe begin { println("hello") exit() }\n')
    together = [stap_remote(lab, script) for _ in range(2)]
    outputs = [proc.communicate(timeout=120)[0] for proc in together]
    assert outputs == ["hello\n", "hello\n"]
    again = stap_remote(lab, script)
    assert again.communicate(timeout=120)[0] == "hello\n"


def test_kernel_backtrace_of_a_fin_from_a_host_side_request(lab, tmp_path):
    script = tmp_path / "fin.stp"
    script.write_text('probe kernel.function("tcp_send_fin") { print_backtrace(); exit() }\n')
    proc = stap_remote(lab, script)
    deadline = time.monotonic() + 200
    while proc.poll() is None and time.monotonic() < deadline:
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5", lab.nginx_url + "abort"])
        time.sleep(1)
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    frames = [line.split(" : ", 1)[1] for line in out.splitlines() if " : " in line]
    assert frames[0].startswith("tcp_send_fin+0x0/") and frames[0].endswith("[kernel]")
    assert any(f.startswith(("__tcp_close+", "tcp_close+")) for f in frames), out


def test_down_leaves_nothing_and_two_labs_run_at_once(lab, labs_folder):
    second = Lab("t-two").up(progress=print, owned=True)
    try:
        assert lab.is_up and second.is_up
        assert second.nginx_url != lab.nginx_url and second.remote != lab.remote
        assert second.exec(["uname", "-r"]).stdout == "6.1.0-50-amd64\n"
        listed = sorted(r["name"] for r in json.loads(cli("status", "--json").stdout))
        assert listed == ["t-main", "t-two"]
        both = stap_argv_prefix([lab, second]) + [
            "stap", f"--remote={lab.remote}", f"--remote={second.remote}", "--remote-prefix",
            "-e", 'probe begin { println("hi") exit() }']
        done = subprocess.run(both, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert sorted(done.stdout.splitlines()) == ["0: hi", "1: hi"], done.stderr[-2000:]
        assert cli("down", "t-two").returncode == 0
        assert not qemu_pids(second.state_dir)
        assert not second.state_dir.exists()  # no socket, no pidfile, nothing
        assert lab.is_up  # the other lab is untouched
        second.up(progress=print, owned=True)  # a second up of the same name works
        assert second.exec(["true"]).returncode == 0
    finally:
        second.down()
    assert not qemu_pids(second.state_dir) and not second.state_dir.exists()
    assert zombie_children() == []  # down reaps the qemu it booted (a kernel kept a <defunct> one)


def zombie_children() -> list[tuple[int, str]]:
    """This process's children that ended and were not reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            if rest[0] == "Z" and int(rest[1]) == os.getpid():
                found.append((int(entry.name), comm))
    return found


def test_an_interrupted_up_leaves_no_qemu(labs_folder):
    state_dir = labs_folder / "t-int"
    proc = subprocess.Popen([sys.executable, "-m", "stapbench", "lab", "up", "t-int"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: qemu_pids(state_dir), 60), "qemu never started"
        time.sleep(2)  # mid-boot
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not qemu_pids(state_dir)
    assert not state_dir.exists()


def test_killing_the_owner_brings_its_lab_down(labs_folder):
    state_dir = labs_folder / "t-own"
    owner = subprocess.Popen(
        [sys.executable, "-c", "import time; from stapbench.lab import Lab; Lab('t-own').up(owned=True); "
                               "print('up', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        line = owner.stdout.readline()
        assert line == "up\n", owner.stderr.read() if owner.poll() is not None else line
        pids = qemu_pids(state_dir)
        assert len(pids) == 1
        owner.kill()  # SIGKILL: no atexit, no finally; only the watchdog is left to act
        owner.wait()
        assert not wait_no_qemu(state_dir, 10), "the owned lab outlived its owner"
        assert wait_until(lambda: not state_dir.exists(), 5)
        assert Lab("t-own").status()["state"] == "down"
    finally:
        if owner.poll() is None:
            owner.kill()
        Lab("t-own").down()
