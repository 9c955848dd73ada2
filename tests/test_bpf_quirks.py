"""stap 4.8's BPF runtime, as it really behaves here, and what stapbench makes of it:

* its user_string*() tapset leaves a debug printf behind, so "hello from the new bpf assembler"
  lands before every line that reads a string (the parser drops it from ``text``, ``raw`` keeps
  it, the run says so once, with the n-1 characters user_string_n() returns);
* its stack holds about one string per probe: two give a semantic error, three make stap abort
  on an assertion (a diagnostic of kind ``internal``); both get the way out.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from stapbench.model import Diagnostic, TextLine
from stapbench.parser import StreamParser, parse_bytes
from stapbench.parser.lines import BPF_NOISE
from stapbench.runner import run
from stapbench.runner.pipeline import BPF_NOISE_NOTE
from stapbench.views import RunView
from stapbench.views.remedies import remedies

NOISE = BPF_NOISE.encode()


def test_the_debug_text_leaves_text_but_stays_in_raw():
    data = NOISE + b"uri=/index.html len=11\nplain\nx=1 " + NOISE + NOISE + b"y=/a\n"
    events = parse_bytes(data, stream="stdout")
    assert [e.text for e in events] == ["uri=/index.html len=11", "plain", "x=1 y=/a"]
    assert "".join(e.raw for e in events).encode() == data
    for size in (1, 5, 31, 33):  # split inside the noise too
        parser = StreamParser("stdout")
        got = [e for at in range(0, len(data), size) for e in parser.feed(data[at:at + size])] + parser.close()
        assert got == events
        assert parser.bpf_noise_lines == 2


def test_a_stap_assertion_is_an_internal_error_on_stderr_only():
    line = (b"stap: bpf-internal.h:392: void bpf::program::use_tmp_space(unsigned int): Assertion "
            b"`max_tmp_space <= MAX_BPF_STACK(target)' failed.\n")
    [diag] = parse_bytes(line, stream="stderr")
    assert isinstance(diag, Diagnostic) and (diag.kind, diag.severity) == ("internal", "error")
    assert diag.message.startswith("bpf-internal.h:392:")
    assert "512-byte stack" in remedies(diag)[0].text
    [text] = parse_bytes(line, stream="stdout")  # a probe may print anything
    assert isinstance(text, TextLine)
    [other] = parse_bytes(b"stap: something else went wrong\n", stream="stderr")
    assert isinstance(other, TextLine)


def _uri_probes(n_strings: int) -> str:
    body = "".join(f'  printf("s{i}=%s\\n", user_string($r->uri))\n' for i in range(n_strings))
    return f'probe process(@1).function("handle_request") {{\n{body}}}\n'


@pytest.mark.stap
def test_a_real_string_read_shows_clean_lines_and_says_why(stap_bpf, demo_program, tmp_path, no_stap_left):
    script = ('probe process(@1).function("handle_request") {\n'
              '  printf("n=%s\\n", user_string_n($r->uri, 6))\n}\n'
              'probe process(@1).function("handle_request") {\n'
              '  printf("whole=%s\\n", user_string($r->uri))\n}\n')
    r = run(script, cmd=f"{demo_program} 2 50 /hello", script_args=[str(demo_program)], runtime="bpf",
            transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status == 0
    texts = [e.text for e in r.events if isinstance(e, TextLine) and "=" in e.text and "total" not in e.text]
    # user_string_n(p, 6) gives 5 characters on this runtime: the note says so
    assert sorted(texts) == ["n=/hell", "n=/hell", "whole=/hello", "whole=/hello"]
    assert r.raw("stdout").count(NOISE) == 4
    assert r.notes.count(BPF_NOISE_NOTE) == 1
    view = RunView(r)
    bundle = view._static_bundle()
    assert "hello from the new bpf assembler" in bundle["text/plain"].split("\n", 2)[1]  # the note, on top
    assert "stapbench-run-note" in bundle["text/html"] and "user_string_n(p, n) returns n-1" in bundle["text/html"]
    assert "returns n-1" in view.notes.value


@pytest.mark.stap
def test_the_command_line_prints_stap_output_without_the_debug_text(stap_bpf, demo_program, tmp_path):
    script = tmp_path / "s.stp"
    script.write_text(_uri_probes(1))
    done = subprocess.run([sys.executable, "-m", "stapbench", "run", str(script), "--runtime", "bpf", "-c",
                           f"{demo_program} 1 50 /hi", "--arg", str(demo_program), "--transcript-dir",
                           str(tmp_path / "runs")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "s0=/hi\n" in done.stdout and BPF_NOISE not in done.stdout
    assert "[stapbench] " + BPF_NOISE_NOTE in done.stderr


@pytest.mark.stap
@pytest.mark.parametrize("n_strings, kind", [(2, "semantic"), (3, "internal")])
def test_too_many_strings_in_one_probe_get_the_way_out(stap_bpf, demo_program, tmp_path, no_stap_left,
                                                        n_strings, kind):
    r = run(_uri_probes(n_strings), cmd=f"{demo_program} 1 50 /hi", script_args=[str(demo_program)],
            runtime="bpf", transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    assert r.exit_status != 0
    advised = [(d, rem.text) for d in r.diagnostics for rem in remedies(d)]
    assert [d.kind for d, text in advised if "512-byte stack" in text] == [kind]
