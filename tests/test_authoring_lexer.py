"""The SystemTap Pygments lexer: its token kinds on every construct, no error token over
systemtap's own scripts (read in place from the source mirror), errors where stap's lexer
also sees junk, and its registration as a Pygments plugin in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from stapbench.authoring.lexer import SystemTapLexer

from .support.paths import FIXTURES, PROJECT

STAP_FIXTURES = sorted((FIXTURES / "authoring").glob("*.stp"))
MIRROR = Path("/work/.mirror/sailfishos-mirror+systemtap/repo")
# Files of systemtap's tree named .stp that stap's own lexer rejects too (or that are not stap):
KNOWN_JUNK = {
    "testsuite/buildok/fortytwo.stp": "a /bin/sh script named .stp (unclosed ' quotes as stap sees it)",
    "testsuite/parseko/sixteen.stp": "an unclosed %{ (a parse-ko test: stap's lexer reports it as junk)",
}


def tokens(text: str):
    return list(SystemTapLexer(stripnl=False, ensurenl=False).get_tokens(text))


def errors(text: str):
    return [(t, v) for t, v in tokens(text) if t in Error]


def kind_of(text: str, value: str, nth: int = 0):
    found = [t for t, v in tokens(text) if v == value]
    assert len(found) > nth, (value, [v for _, v in tokens(text)])
    return found[nth]


@pytest.mark.parametrize("path", STAP_FIXTURES, ids=lambda p: p.name)
def test_fixture_scripts_have_no_error_token_and_round_trip(path):
    text = path.read_text(encoding="utf-8")
    assert errors(text) == []
    assert "".join(v for _, v in tokens(text)) == text


@pytest.mark.parametrize("path", STAP_FIXTURES, ids=lambda p: p.name)
def test_fixture_scripts_are_real_systemtap(path):
    """stap itself parses them (pass 1 only, guru mode for the embedded C, two arguments)."""
    if shutil.which("stap") is None:
        pytest.skip("stap is not installed (apt-get install systemtap; .ci/provision does it)")
    proc = subprocess.run(["stap", "-g", "-p1", str(path), "5", "ngx"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


CONSTRUCTS = (FIXTURES / "authoring" / "constructs.stp").read_text(encoding="utf-8") if STAP_FIXTURES else ""


@pytest.mark.parametrize("value, expected, nth", [
    ("probe", Keyword, 0),
    ("process", Name.Label, 0),  # a probe point component
    ("return", Name.Label, 0),  # `.return` in a probe point is no keyword...
    ("function", Name.Label, 0),  # ...nor `.function`
    ("?", Operator, 0), ("!", Operator, 0),  # optional / sufficient probe points
    ("if", Keyword, 0),
    ("%{", Comment.Preproc, 0), ("%}", Comment.Preproc, 0),
    ("stapbench_answer", Name, 0),  # inside %{ %}: C
    ("%(", Comment.Preproc, 0), ("%?", Comment.Preproc, 0), ("%:", Comment.Preproc, 0), ("%)", Comment.Preproc, 2),
    ("arch", Name.Constant, 0), ("kernel_v", Name.Constant, 0), ("CONFIG_UTRACE", Name.Constant, 0),
    ("@cast", Name.Builtin, 0), ("@var", Name.Builtin, 0), ("@entry", Name.Builtin, 0),
    ("@defined", Name.Builtin, 0), ("@count", Name.Builtin, 0), ("@hist_log", Name.Builtin, 0),
    ("@define", Keyword.Declaration, 0), ("@depth", Name.Function.Magic, 0), ("@x", Name.Function.Magic, 0),
    ("$c", Name.Variable, 0), ("$c$", Name.Variable, 0), ("$return", Name.Variable, 0),
    ("$$parms", Name.Builtin.Pseudo, 0), ("$$vars$", Name.Builtin.Pseudo, 0), ("$$locals$$", Name.Builtin.Pseudo, 0),
    ("$1", Name.Variable.Magic, 0), ("@1", Name.Variable.Magic, 0), ("$#", Name.Variable.Magic, 0),
    ("@#", Name.Variable.Magic, 0),
    ("<<<", Operator, 0), ("=~", Operator, 0), ("!~", Operator, 0), ("->", Operator, 0), ("--", Operator, 0),
    ("%ld", String.Interpol, 0), ("%-10s", String.Interpol, 0), ("%5.2s", String.Interpol, 0),
    ("%%", String.Escape, 0), ("\\t", String.Escape, 0), ('\\"', String.Escape, 0), ("\\x41", String.Escape, 0),
    ("0x1f", Number.Hex, 0), ("017", Number.Oct, 0), ("42", Number.Integer, 0),
    ("answer", Name.Function, 0), ("long", Keyword.Type, 0), ("string", Keyword.Type, 0),
    ("printf", Name.Builtin, 0), ("foreach", Keyword, 0), ("limit", Keyword, 0), ("try", Keyword, 0),
    ("catch", Keyword, 0), ("next", Keyword, 0), ("delete", Keyword, 0), ("private", Keyword, 0),
    ("#! /usr/bin/env stap", Comment.Single, 0), ("// a C++-style comment", Comment.Single, 0),
])
def test_construct_token_kinds(value, expected, nth):
    if not CONSTRUCTS:
        pytest.skip("tests/fixtures/authoring/constructs.stp is missing")
    assert kind_of(CONSTRUCTS, value, nth) in expected


def test_alias_and_conditional_probe_points():
    text = (FIXTURES / "authoring" / "alias.stp").read_text(encoding="utf-8")
    assert kind_of(text, "nginx") in Name.Label
    assert kind_of(text, "+=") in Operator
    assert kind_of(text, "never") in Name.Label  # inside %( %? %: %) in the probe point list
    assert kind_of(text, "fd", 1) in Name  # the body after `{` is code again


@pytest.mark.parametrize("text, junk", [
    ('printf("unclosed\n)', "\n"),  # stap: unclosed quote at the line's end
    ("x = 1 \u00e9", "\u00e9"),  # non-ASCII outside strings and comments
    ("%{ int x;", "%{ int x;"),  # unclosed embedded code
])
def test_what_stap_calls_junk_is_an_error_token(text, junk):
    assert [v for _, v in errors(text)] == [junk]


def test_non_ascii_inside_strings_and_comments_is_fine():
    assert errors('# caf\u00e9\nprintf("\u00e9 %s\\n", "\u2603") /* \u00fc */') == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_text_lexes_losslessly(text):
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    assert "".join(v for _, v in tokens(text)) == normal


def _mirror_scripts() -> list[str]:
    out = subprocess.run(["git", f"--git-dir={MIRROR}", "ls-tree", "-r", "--name-only", "HEAD"],
                         capture_output=True, text=True, check=True).stdout
    return [n for n in out.splitlines() if n.endswith(".stp")]


def test_no_error_token_over_systemtaps_own_scripts():
    """Every .stp of systemtap's tree (test suite, examples, tapsets, docs), read in place."""
    if not (MIRROR / "HEAD").exists() or shutil.which("git") is None:
        pytest.skip(f"no systemtap source mirror at {MIRROR} (the fixture scripts above cover the constructs)")
    names = _mirror_scripts()
    assert len(names) > 1000 and any(n.startswith("testsuite/systemtap.examples/") for n in names)
    # one `git cat-file --batch` reads them all
    proc = subprocess.run(["git", f"--git-dir={MIRROR}", "cat-file", "--batch"],
                          input="".join(f"HEAD:{n}\n" for n in names).encode(), capture_output=True, check=True)
    data, at, failing = proc.stdout, 0, {}
    for name in names:
        header_end = data.index(b"\n", at)
        size = int(data[at:header_end].split()[2])
        text = data[header_end + 1: header_end + 1 + size].decode("utf-8", "surrogateescape")
        at = header_end + 1 + size + 1
        found = errors(text)
        if found:
            failing[name] = found[:3]
    assert set(failing) == set(KNOWN_JUNK), {n: e for n, e in failing.items() if n not in KNOWN_JUNK}


INSTALLED_TAPSETS = Path("/usr/share/systemtap/tapset")


def test_no_error_token_over_the_installed_tapsets():
    """Every .stp the installed systemtap ships (its tapsets: probe aliases, embedded C,
    preprocessor conditionals on kernel versions, @cast, @defined...), read in place; where the
    source mirror is missing (CI), these are systemtap's own scripts the machine has."""
    if not INSTALLED_TAPSETS.is_dir():
        pytest.skip(f"no {INSTALLED_TAPSETS} (apt-get install systemtap; .ci/provision does it)")
    paths = sorted(INSTALLED_TAPSETS.rglob("*.stp"))
    assert len(paths) > 300
    failing = {}
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        assert "".join(v for _, v in tokens(text)) == text  # lossless
        found = errors(text)
        if found:
            failing[str(path)] = found[:3]
    assert failing == {}


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(PROJECT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "Could not find a version that satisfies" in proc.stderr:
        pytest.skip("pip cannot fetch setuptools for the build here: " + proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr
    return next(out.glob("stapbench-*.whl"))


def test_wheel_registers_the_lexer_with_pygments(built_wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(built_wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import pygments.lexers as l; x = l.get_lexer_by_name('stap'); "
             "print(type(x).__module__, l.get_lexer_for_filename('a.stp').name, l.find_lexer_class_for_filename('a.stp').name)")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert out.stdout.split() == ["stapbench.authoring.lexer", "SystemTap", "SystemTap"]


def test_wheel_carries_the_prebuilt_jupyterlab_extension(built_wheel):
    import json
    import zipfile

    with zipfile.ZipFile(built_wheel) as whl:
        names = whl.namelist()
        prefix = "stapbench-0.1.0.data/data/share/jupyter/labextensions/stapbench/"
        package = json.loads(whl.read(prefix + "package.json"))
    assert package["name"] == "stapbench"
    entry = package["jupyterlab"]["_build"]["load"]
    assert prefix + entry in names  # the remoteEntry JupyterLab loads is really there
    # every built asset is shipped where JupyterLab looks
    built = sorted(p.name for p in (PROJECT / "stapbench" / "labextension" / "static").iterdir())
    assert sorted(n[len(prefix + "static/"):] for n in names if n.startswith(prefix + "static/")) == built


def test_a_diagnostics_cell_line_is_highlighted_as_systemtap_and_escaped():
    from stapbench.model import Diagnostic
    from stapbench.views.context import RenderContext
    from stapbench.views.diagnostics import render_diagnostic_html

    cell = 'probe begin {\n  printff("<img src=x onerror=alert(1)> %d\\n", $c->fd)\n}\n'
    diag = Diagnostic(raw="", severity="error", kind="semantic", message="unresolved function", file="/tmp/s/script.stp",
                      line=2, column=3)
    html = render_diagnostic_html(diag, RenderContext(cell_source=cell, script_path="/tmp/s/script.stp"))
    line = html.split('<pre class="stapbench-cell-source"')[1].split("</pre>")[0]
    assert '<span class="n">printff</span>' in line  # an unknown name: a plain name
    assert '<span class="si">%d</span>' in line and '<span class="nv">$c</span><span class="o">-&gt;</span>' in line
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in line
    # the visible text is the cell line itself, so the caret stays under column 3
    import json
    import re as _re
    from html import unescape

    visible = unescape(_re.sub(r"<[^>]+>", "", line.split(">", 1)[1]))
    assert visible.split("\n")[0] == "2 | " + cell.splitlines()[1]
    assert visible.split("\n")[1].index("^") == len("2 | ") + 2


def test_the_declared_jupyterlab_versions_are_the_prebuilt_extensions_real_requirement():
    # the prebuilt remoteEntry asks JupyterLab's shared scope for @jupyterlab/* at the version it
    # was built against (webpack's "[1,4,6,6]" is ^4.6.6); package.json and pyproject must say so
    import json
    import re as _re
    static = PROJECT / "stapbench" / "labextension" / "static"
    entry = next(static.glob("remoteEntry.*.js")).read_text()
    required = {name: "^" + ".".join(v.split(",")[1:]) for name, v in
                _re.findall(r'"(@jupyterlab/[\w-]+)",!\d,\[([\d,]+)\]', entry)}
    assert required, "no @jupyterlab/* shared module found in the remoteEntry"
    for package in (PROJECT / "labextension" / "package.json", PROJECT / "stapbench" / "labextension" / "package.json"):
        deps = json.loads(package.read_text())["dependencies"]
        for name, version in required.items():
            assert deps.get(name) == version, (package, name, deps.get(name), version)
    lowest = min(required.values())[1:]
    pyproject = (PROJECT / "pyproject.toml").read_text()
    assert f'"jupyterlab>={lowest},<5"' in pyproject and "jupyterlab>=4.2" not in pyproject


def test_the_provisioned_jupyterlab_loads_the_extension():
    """The workbench's JupyterLab (the editable install .ci/provision makes, which leaves the
    wheel's data files out) finds the prebuilt extension: without it no cell is SystemTap."""
    import os
    import re

    venv = PROJECT / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        pytest.skip(f"not the provisioned virtualenv ({venv}): bash .ci/provision makes it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    out = subprocess.run([str(venv / "bin" / "jupyter"), "labextension", "list"], capture_output=True, text=True,
                         env=env, timeout=120)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"^\s*stapbench v[\d.]+ enabled OK", listing, re.M), listing
