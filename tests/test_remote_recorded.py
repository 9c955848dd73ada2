"""A real lab run, recorded: the investigation's script on the kernel runtime (tests/fixtures/lab/).

Recorded by tests/test_remote_lab.py's investigation (stap 5.1 in the lab's rootfs, pass 5 in the
guest, nginx 1.22.1 -g -O0, a client requesting / and then /abort, a `return 444`), so the
kernel runtime's real output is checked on machines where the lab can't run too.
"""

from __future__ import annotations

import html as html_lib
import re

from stapbench.model.events import Backtrace, StructDump, TextLine
from stapbench.runner import replay
from stapbench.views.static import render_html
from tests.support.paths import FIXTURES

RUN = FIXTURES / "lab" / "investigation"


def test_the_recorded_investigation_replays_as_the_kernel_runtime_printed_it():
    run = replay(RUN)
    assert [h["label"] for h in run.record.hosts] == ["t-main"]
    assert run.record.sysroot_for(None).name == "rootfs"
    closes = [e.text for e in run.events if isinstance(e, TextLine) and e.text.startswith("close #")]
    assert closes == ["close #2 fd=3", "close #3 fd=3"]
    normal, aborted = [e for e in run.events if isinstance(e, Backtrace)]
    for bt in (normal, aborted):
        assert bt.frames[0].symbol == "ngx_close_connection"
        assert bt.frames[0].module == "/opt/stapbench/nginx/sbin/nginx"
        assert bt.frames[-1].symbol is None and bt.frames[-1].module.endswith("libc.so.6")
    # the normal request ends through finalize_connection, the `return 444` one is terminated
    assert "ngx_http_finalize_connection" in [f.symbol for f in normal.frames[:5]]
    assert "ngx_http_terminate_handler" in [f.symbol for f in aborted.frames[:5]]
    # both closes send a FIN: $sk$ as a tree, cut at MAXSTRINGLEN
    fins = [e for e in run.events if isinstance(e, StructDump)]
    assert len(fins) == 2 and all(e.prefix.startswith("FIN sent") for e in fins)
    names = [m.name for m in fins[0].value.members]
    assert names[:2] == ["__sk_common", "sk_rx_dst"], names[:3]
    assert "<union>" in names and fins[0].truncated
    shown = html_lib.unescape(re.sub(r"<[^>]+>", "", render_html(run.events)))
    assert "ngx_http_terminate_handler" in shown and "sk_rx_dst_ifindex" in shown
