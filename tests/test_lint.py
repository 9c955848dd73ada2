"""Before a BPF run: integer conversions without ``l`` print 32 bits there (checked on the real
stap below), so the run says which lines use them."""

from __future__ import annotations

import pytest

from stapbench.model import TextLine
from stapbench.runner import run
from stapbench.runner.lint import bpf_format_note, short_integer_formats


def test_short_integer_conversions_are_found_with_their_lines():
    script = ('probe a {\n  printf("n=%d fd=%-4i x=%#08x 100%% %s\\n", 1, 2, 3, "s")\n'
              '  s = sprintf("%ld %lu %lx %llx %5.2d", 1, 2, 3, 4, 5)\n'
              '  printf("%u\\t\\"%o\\"", 6, 7) printf(fmt, 1)\n}\n')
    assert short_integer_formats(script) == [(2, "%d"), (2, "%-4i"), (2, "%#08x"), (3, "%5.2d"), (4, "%u"), (4, "%o")]
    note = bpf_format_note(script)
    assert note.startswith("%#08x/%-4i/%5.2d/%d/%o/%u (lines 2, 3, 4) print only the low 32 bits on stap 4.8's BPF")
    assert "%ld, %lu, %lx print all 64 bits" in note
    # in a %%stap cell the script's line 1 is the cell's line 2: named as the diagnostics name it
    assert bpf_format_note(script, first_line=2).startswith("%#08x/%-4i/%5.2d/%d/%o/%u (cell lines 3, 4, 5) print")


def test_nothing_to_say_for_64_bit_conversions_or_no_printf():
    assert bpf_format_note('probe a { printf("%ld %lu %lx %s %p\\n", 1, 2, 3, "x", 4) }') is None
    assert bpf_format_note('probe a { println(1) } # printf("%d")\n// printf("%x")\n/* printf("%u")\n */') is None
    assert short_integer_formats('/* a\nb */ printf("# %d // %x")') == [(2, "%d"), (2, "%x")]
    assert bpf_format_note("probe a { next }") is None


@pytest.mark.stap
def test_the_note_tells_the_truth_on_the_real_bpf_runtime(stap_bpf, tmp_path, no_stap_left):
    big = 0x1_2345_6789  # over 32 bits
    script = f'probe begin {{\n  x = {big}\n  printf("%d %ld\\n", x, x)\n  exit()\n}}\n'
    r = run(script, runtime="bpf", transcript_dir=tmp_path)
    no_stap_left.append(r.pid)
    short, full = next(e.text for e in r.events if isinstance(e, TextLine) and " " in e.text).split()
    assert int(full) == big
    assert int(short) == big & 0xFFFF_FFFF != big  # what the note warns about
    assert any("low 32 bits" in n and "(line 3)" in n for n in r.notes), r.notes
    checked = run(script, runtime="bpf", check=True, transcript_dir=tmp_path)
    assert not any("low 32 bits" in n for n in checked.notes)  # --check runs nothing
