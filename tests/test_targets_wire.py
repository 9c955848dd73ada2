"""What the FIN-vs-RST question reads on the wire: the client that says how each request ended,
and the tcpdump capture (parsed from lines in tcpdump's exact -tt -nn format, and live on
loopback against the real nginx build, with reset_timedout_connection off and on)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from stapbench.targets import CaptureError, NginxServer, PacketCapture
from stapbench.targets.capture import connections, parse_tcpdump
from stapbench.targets.client import request

# tcpdump 4.99 -i lo -nn -tt: a `return 444` answered with an RST (reset_timedout_connection on)
RESET_LINES = """\
1796208159.247629 IP 127.0.0.1.45848 > 127.0.0.1.44787: Flags [S], seq 249284720, win 65495, options [mss 65495,sackOK,TS val 2625149979 ecr 0,nop,wscale 10], length 0
1796208159.247641 IP 127.0.0.1.44787 > 127.0.0.1.45848: Flags [S.], seq 3517795469, ack 249284721, win 65483, options [mss 65495,sackOK,TS val 2354379385 ecr 2625149979,nop,wscale 10], length 0
1796208159.247654 IP 127.0.0.1.45848 > 127.0.0.1.44787: Flags [.], ack 1, win 64, options [nop,nop,TS val 2625149979 ecr 2354379385], length 0
1796208159.247717 IP 127.0.0.1.45848 > 127.0.0.1.44787: Flags [P.], seq 1:85, ack 1, win 64, options [nop,nop,TS val 2625149980 ecr 2354379385], length 84
1796208159.247728 IP 127.0.0.1.44787 > 127.0.0.1.45848: Flags [.], ack 85, win 64, options [nop,nop,TS val 2354379386 ecr 2625149980], length 0
1796208159.247785 IP 127.0.0.1.44787 > 127.0.0.1.45848: Flags [R.], seq 1, ack 85, win 64, options [nop,nop,TS val 2354379386 ecr 2625149980], length 0
""".splitlines()

# the same request answered with a FIN (the default), then the client's FIN
FIN_LINES = """\
1796208158.683742 IP 127.0.0.1.35142 > 127.0.0.1.39341: Flags [S], seq 184871801, win 65495, options [mss 65495,sackOK,TS val 3069167163 ecr 0,nop,wscale 10], length 0
1796208158.683755 IP 127.0.0.1.39341 > 127.0.0.1.35142: Flags [S.], seq 1383785973, ack 184871802, win 65483, options [mss 65495,sackOK,TS val 1988452224 ecr 3069167163,nop,wscale 10], length 0
1796208158.683838 IP 127.0.0.1.35142 > 127.0.0.1.39341: Flags [P.], seq 1:85, ack 1, win 64, options [nop,nop,TS val 3069167163 ecr 1988452224], length 84
1796208158.683917 IP 127.0.0.1.39341 > 127.0.0.1.35142: Flags [F.], seq 1, ack 85, win 64, options [nop,nop,TS val 1988452224 ecr 3069167163], length 0
1796208158.683973 IP 127.0.0.1.35142 > 127.0.0.1.39341: Flags [F.], seq 85, ack 2, win 64, options [nop,nop,TS val 3069167163 ecr 1988452224], length 0
1796208158.683986 IP 127.0.0.1.39341 > 127.0.0.1.35142: Flags [.], ack 86, win 64, options [nop,nop,TS val 1988452224 ecr 3069167163], length 0
""".splitlines()


def test_tcpdump_lines_parse_into_packets_and_connections():
    banner = ["tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
              "2 packets captured", "not a packet: Flags [F.]"]
    packets = parse_tcpdump(banner + FIN_LINES + RESET_LINES)
    assert len(packets) == 12
    assert packets[3].flags == "F." and packets[3].flag_names == ["FIN", "ACK"] and packets[3].src == "127.0.0.1.39341"
    assert packets[2].length == 84 and packets[0].time == pytest.approx(1796208158.683742)
    fin, reset = connections(packets)  # the server: the end that answered the SYN
    assert (fin.server, fin.client) == ("127.0.0.1.39341", "127.0.0.1.35142")
    assert fin.server_ending == "FIN" and fin.closed_by == "server" and fin.payload == (84, 0)
    assert reset.server_ending == "RST" and reset.server == "127.0.0.1.44787"
    # with the port named, the same split
    assert [c.server_ending for c in connections(packets, 44787)][1] == "RST"


def test_a_capture_saves_and_loads_its_lines_as_printed(tmp_path):
    capture = PacketCapture(44787)
    capture.lines = RESET_LINES
    path = capture.save(tmp_path / "capture.txt")
    assert path.read_text().splitlines()[1:] == RESET_LINES  # kept byte for byte after the header
    again = PacketCapture.load(path)
    assert again.port == 44787 and again.lines == RESET_LINES and again.endings() == ["RST"]


def test_a_capture_shows_escaped_html_and_text():
    capture = PacketCapture(44787, interface="<lo>")
    capture.lines = RESET_LINES
    page = capture._repr_html_()
    assert "&lt;lo&gt;" in page and "<lo>" not in page
    assert page.count('data-flags="R."') == 1 and "RST+ACK" in page
    assert "the server ended it with RST" in repr(capture)


def test_a_missing_tcpdump_is_a_clear_error():
    with pytest.raises(CaptureError, match="not installed"):
        PacketCapture(80, tcpdump="/nonexistent/tcpdump").start()


needs_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None or os.geteuid() != 0,
                                   reason="tcpdump on loopback needs tcpdump (bash .ci/provision) and root")


@needs_tcpdump
@pytest.mark.parametrize("reset", [False, True], ids=["default", "reset_timedout_connection"])
def test_return_444_on_the_wire_fin_by_default_rst_with_reset_timedout_connection(nginx_binary, reset):
    with NginxServer(nginx_binary, reset_timedout_connection=reset) as server:
        with PacketCapture(server.port) as capture:
            page = request(server.url)
            aborted = request(server.url + "abort")
    assert page.status == 200 and page.ending == "EOF"
    assert aborted.status is None and aborted.received == 0
    assert aborted.ending == ("ECONNRESET" if reset else "EOF")
    assert capture.endings() == ["FIN", "RST" if reset else "FIN"]
    assert all(c.closed_by == "server" for c in capture.connections)
    assert not [p for p in subprocess.run(["pgrep", "-x", "tcpdump"], capture_output=True, text=True).stdout.split()]


@needs_tcpdump
def test_tcpdump_refusing_to_start_says_why():
    with pytest.raises(CaptureError, match="tcpdump did not start: .*no-such-if"):
        PacketCapture(80, interface="no-such-if").start()


def test_the_client_reports_each_request_and_exits_0(nginx_binary):
    with NginxServer(nginx_binary) as server:
        done = subprocess.run([sys.executable, "-m", "stapbench.targets.client", server.url, server.url + "abort"],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("GET / reply 200 (") and first.endswith("then the server closed: EOF")
    assert second == "GET /abort no reply: EOF (the server closed with a FIN)"


@pytest.mark.parametrize("reset, ending", [(False, "EOF (the server closed with a FIN)"),
                                           (True, "ECONNRESET (the server reset the connection: an RST)")])
def test_half_a_header_is_timed_out_and_ends_like_an_abort(nginx_binary, reset, ending):
    """--half: nginx's client_header_timeout (2 s here) times the request out; the connection is
    then marked timed out like return 444's, so reset_timedout_connection decides its end too."""
    with NginxServer(nginx_binary, reset_timedout_connection=reset) as server:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "stapbench.targets.client", "--half", server.url + "slow"],
                              capture_output=True, text=True, timeout=60)
        waited = time.monotonic() - started
    assert done.returncode == 0 and done.stdout == f"GET /slow (half a header) no reply: {ending}\n", done
    assert 1.5 < waited < 15, waited


def test_the_client_exits_2_when_nothing_listens():
    with NginxServer() as server:
        url = server.url
    done = subprocess.run([sys.executable, "-m", "stapbench.targets.client", url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "could not connect" in done.stdout
