"""The stapbench command line (parse, fold), run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import FIXTURES, PROJECT

HERE = FIXTURES / "parser"


def stapbench(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stapbench", *args], input=stdin, capture_output=True,
                          cwd=PROJECT, timeout=120)


def test_parse_json_lines_shape():
    r = stapbench("parse", str(HERE / "backtraces.txt"), "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert all("type" in rec and "raw" in rec for rec in records)
    bt = next(rec for rec in records if rec["type"] == "backtrace")
    frame = bt["frames"][1]
    assert set(frame) >= {"address", "symbol", "offset", "size", "module", "inexact"}
    assert frame == {**frame, "address": 0x55D0C0A4C1D7, "symbol": "ngx_http_close_connection",
                     "offset": 0x87, "size": 0xD0, "inexact": False}
    assert bt["frames"][5]["symbol"] is None and bt["frames"][5]["inexact"] is True
    assert "".join(rec["raw"] for rec in records) == (HERE / "backtraces.txt").read_text()


def test_parse_json_struct_vars_diagnostic_listing():
    def records(name):
        r = stapbench("parse", str(HERE / name), "--json")
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.decode().splitlines()]

    dumps = records("dumps.txt")
    struct = next(rec for rec in dumps if rec["type"] == "struct" and rec["prefix"] == "TCP FIN sent")
    assert struct["truncated"] is True and struct["value"]["__sk_common"]["skc_family"] == 2
    vars_ = next(rec for rec in dumps if rec["type"] == "vars")
    assert vars_["value"]["op"] == "{...}" and vars_["truncated"] is False
    diag = records("diagnostics.txt")[0]
    assert {k: diag[k] for k in ("severity", "kind", "file", "line", "column")} == {
        "severity": "error", "kind": "semantic", "file": "/home/u/t.stp", "line": 4, "column": 3}
    assert diag["similar"] == ["printk", "__int32", "qsq_print", "tid", "HZ"] and diag["source"] == '  printff("x")'
    listing = records("listings.txt")[1]
    assert listing["params"][1] == {"name": "$fp", "type": "void (*) (int)"}
    assert (listing["file"], listing["line"]) == ("/tmp/stlocal/types.c", 6)


def test_parse_stdin_and_undecodable_bytes_stay_valid_json():
    r = stapbench("parse", "-", "--json", stdin=b"bad \xff byte\nPass 5: starting run.\n")
    assert r.returncode == 0
    lines = r.stdout.decode("utf-8").splitlines()  # valid UTF-8 output
    first, second = (json.loads(x) for x in lines)
    assert first["text"] == "bad \udcff byte" and second["type"] == "pass" and second["number"] == 5


def test_parse_stream_option_stdout():
    r = stapbench("parse", "-", "--json", "--stream", "stdout", stdin=b"ERROR: from a probe\n")
    assert json.loads(r.stdout)["type"] == "text"


def test_parse_readable_summary():
    r = stapbench("parse", str(HERE / "diagnostics.txt"))
    assert r.returncode == 0
    out = r.stdout.decode().splitlines()
    assert out[0].startswith("error") and "unresolved function printff" in out[0] and "/home/u/t.stp:4:3" in out[0]
    assert any(line.startswith("summary") and "errors=3" in line for line in out)


def test_fold_file_and_stdin():
    expected = (HERE / "fold_expected.txt").read_bytes()
    r = stapbench("fold", str(HERE / "fold_input.txt"))
    assert r.returncode == 0 and r.stdout == expected
    r = stapbench("fold", "-", stdin=(HERE / "fold_input.txt").read_bytes())
    assert r.stdout == expected
    r = stapbench("fold", stdin=(HERE / "fold_input.txt").read_bytes())
    assert r.stdout == expected


@pytest.mark.parametrize("command", [["parse"], ["parse", "--json"], ["fold"]])
def test_missing_file_is_exit_2_one_line(command, tmp_path):
    r = stapbench(*command, str(tmp_path / "nope.txt"))
    assert r.returncode == 2
    err = r.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "No such file or directory" in err[0] and "Traceback" not in r.stderr.decode()


@pytest.mark.parametrize("command", ["parse", "fold"])
def test_directory_is_exit_2_one_line(command, tmp_path):
    r = stapbench(command, str(tmp_path))
    assert r.returncode == 2
    err = r.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "Is a directory" in err[0]


def test_no_command_prints_help_and_exit_2():
    r = stapbench()
    assert r.returncode == 2 and b"parse" in r.stderr


def test_console_script_entry_point_is_main():
    from stapbench.cli import main

    assert main(["parse", str(HERE / "verbose.txt")]) == 0


def test_layers_register_subcommands_and_missing_layers_are_skipped(monkeypatch):
    from stapbench import cli

    monkeypatch.setattr(cli, "SUBCOMMANDS", ["stapbench.parser.commands", "stapbench.no_such_layer.commands"])
    parser = cli.build_parser()
    args = parser.parse_args(["fold", "-"])
    assert args.func.__name__ == "run_fold"
    with pytest.raises(SystemExit):
        parser.parse_args(["no-such-command"])
