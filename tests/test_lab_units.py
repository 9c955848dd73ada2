"""The lab's parts that need no guest: the chroot prefix, the accel choice, state handling."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stapbench.lab import Lab, LabError, guestfiles
from stapbench.lab.enter import enter_argv
from stapbench.lab.machine import choose_accel


@pytest.fixture
def labs(tmp_path, monkeypatch):
    monkeypatch.setenv("STAPBENCH_LABS_DIR", str(tmp_path / "labs"))
    monkeypatch.setenv("STAPBENCH_LAB_DIR", str(tmp_path / "build"))
    return tmp_path


def test_prefix_runs_the_command_in_a_private_mount_namespace_and_execs_it(tmp_path):
    argv = enter_argv(tmp_path / "rootfs", [tmp_path / "run"])
    assert argv[:5] == [argv[0], "--mount", "--propagation", "private", "--"] and argv[0].endswith("unshare")
    assert argv[5] == sys.executable
    assert argv[-4:] == [str(tmp_path / "rootfs"), "--bind", str(tmp_path / "run"), "--"]


def test_enter_refuses_to_mount_in_the_callers_namespace(tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", "import sys; from stapbench.lab.enter import main; "
                           "sys.exit(main(sys.argv[1:]))", str(tmp_path), "--", "true"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "unshare --mount" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot and mount need root")
def test_enter_binds_folders_at_their_paths_and_leaves_no_mount(tmp_path):
    # a minimal merged-/usr rootfs: the host's own /usr bound in as one of the binds
    rootfs = tmp_path / "rootfs"
    for sub in ("proc", "dev", "sys", "usr/bin"):
        (rootfs / sub).mkdir(parents=True)
    for link in ("bin", "lib", "lib64"):
        (rootfs / link).symlink_to(f"usr/{link}")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "note").write_text("seen from inside\n")
    argv = enter_argv(rootfs, [shared, Path("/usr")]) + ["cat", str(shared / "note")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "seen from inside\n"), done.stderr
    assert str(rootfs) not in Path("/proc/self/mountinfo").read_text()


def test_accel_honours_the_environment(monkeypatch):
    monkeypatch.setenv("STAPBENCH_LAB_ACCEL", "tcg")
    assert choose_accel()[0] == "tcg"
    monkeypatch.setenv("STAPBENCH_LAB_ACCEL", "kvm")
    assert choose_accel() == ("kvm", "STAPBENCH_LAB_ACCEL=kvm", False)


def test_accel_verdict_is_cached_per_host(labs, monkeypatch):
    monkeypatch.delenv("STAPBENCH_LAB_ACCEL", raising=False)
    monkeypatch.setattr("stapbench.lab.machine._kvm_opens", lambda: True)
    assert choose_accel()[2] is True  # nothing known: try KVM once
    (labs / "build").mkdir()
    (labs / "build/accel.json").write_text(json.dumps({"host": os.uname().release, "kvm_boots": False}))
    accel, why, probe = choose_accel()
    assert (accel, probe) == ("tcg", False) and "hangs" in why
    (labs / "build/accel.json").write_text(json.dumps({"host": "another-kernel", "kvm_boots": False}))
    assert choose_accel()[2] is True


def test_status_of_a_lab_whose_qemu_died_removes_its_state(labs):
    lab = Lab("stale")
    lab.state_dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (lab.state_dir / "state.json").write_text(json.dumps({"name": "stale", "pid": dead.pid, "ready": True}))
    (lab.state_dir / "stapsh.sock").write_text("")
    assert [l.name for l in Lab.all()] == ["stale"]
    report = lab.status()
    assert report["state"] == "down" and report["pid"] is None
    assert not lab.state_dir.exists() and Lab.all() == []
    lab.down()  # idempotent


def test_up_without_a_build_says_how_to_build(labs):
    with pytest.raises(LabError, match="stapbench lab build"):
        Lab("x").up()


def test_lab_names_are_path_safe():
    for bad in ("", "../x", "a/b", "x" * 40, "-x"):
        with pytest.raises(LabError):
            Lab(bad)


def test_guest_files_hash_follows_their_content(tmp_path, monkeypatch):
    before = guestfiles.content_hash()
    copy = tmp_path / "guest"
    copy.mkdir()
    for name, _target, _mode in guestfiles.FILES:
        (copy / name).write_bytes((guestfiles.HERE / name).read_bytes())
    monkeypatch.setattr(guestfiles, "HERE", copy)
    assert guestfiles.content_hash() == before
    (copy / "nginx.conf").write_text("# changed\n")
    assert guestfiles.content_hash() != before
    guestfiles.install(tmp_path / "rootfs")
    assert (tmp_path / "rootfs/opt/stapbench/nginx/conf/nginx.conf").read_text() == "# changed\n"
    assert os.access(tmp_path / "rootfs" / guestfiles.GUEST_INIT.lstrip("/"), os.X_OK)


def test_stap_lab_magic_reports_a_lab_and_refuses_bad_arguments(labs):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "stapbench")
    try:
        report = ip.run_line_magic("stap_lab", "status other")
        assert report["name"] == "other" and report["state"] == "down"
        assert report["remote"] == f"unix:{labs / 'labs/other/stapsh.sock'}"
        with pytest.raises(UsageError, match="invalid choice"):
            ip.run_line_magic("stap_lab", "reboot")
        with pytest.raises(UsageError, match="stapbench lab build"):
            ip.run_line_magic("stap_lab", "up other")  # nothing built in this test's folder
    finally:
        ip.run_line_magic("unload_ext", "stapbench")


def test_doctor_says_what_the_lab_needs_and_how(labs, monkeypatch):
    from stapbench.runner.doctor import check_lab, check_runtimes

    checks = {c.name: c for c in check_lab()}
    assert checks["lab build"].ok is None and "stapbench lab build" in checks["lab build"].remedy
    assert checks["labs up"].ok is None and "stapbench lab up" in checks["labs up"].remedy
    assert "GB free" in checks["lab disk"].found
    assert {"lab qemu-system-x86_64", "lab debootstrap", "lab accel"} <= set(checks)
    monkeypatch.setattr("stapbench.runner.doctor.kernel_runtime_missing", lambda: "no loadable kernel modules")
    kernel = next(c for c in check_runtimes() if c.name == "runtime kernel")
    assert "stapbench lab up" in kernel.remedy and "%%stap --remote lab" in kernel.remedy


@pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root")
def test_prefix_for_a_lab_that_is_not_up_says_so(labs, tmp_path):
    from stapbench.lab import stap_argv_prefix

    rootfs = labs / "build/rootfs"
    (rootfs / "usr/bin").mkdir(parents=True)
    (rootfs / "usr/bin/stap").touch()
    for sub in ("proc", "dev", "sys"):
        (rootfs / sub).mkdir()
    done = subprocess.run(stap_argv_prefix([Lab("gone")]) + ["true"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "is not up" in done.stderr and "Traceback" not in done.stderr


def test_doctor_goes_on_where_the_labs_folder_is_anothers(labs, monkeypatch):
    """As a user, with STAPBENCH_LABS_DIR naming root's folder, listing the labs is refused:
    the doctor says it can't tell and still prints its report (it used to stop with an error)."""
    from stapbench.runner.doctor import check_lab, doctor_main

    def refused(cls):
        raise PermissionError(13, "Permission denied", str(labs / "labs"))

    monkeypatch.setattr(Lab, "all", classmethod(refused))
    checks = {c.name: c for c in check_lab()}
    assert checks["labs up"].ok is None and "can't tell" in checks["labs up"].found
    assert "Permission denied" in checks["labs up"].found and "lab build" in checks
    out = io.StringIO()
    doctor_main(["--no-live"], out=out)
    assert "can't tell" in out.getvalue() and "problem(s)" in out.getvalue()
