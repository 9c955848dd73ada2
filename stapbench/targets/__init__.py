"""Programs to trace: the nginx that .ci/provision builds, started and stopped on 127.0.0.1,
a client that says how each request ended (:mod:`stapbench.targets.client`), a packet capture
of what went over the wire (:mod:`stapbench.targets.capture`), and output composed from nginx's
real symbols for what the BPF runtime can't print (:mod:`stapbench.targets.compose`)."""

from .capture import CaptureError, PacketCapture
from .nginx import NginxServer, default_nginx_binary, default_nginx_source

__all__ = ["CaptureError", "NginxServer", "PacketCapture", "default_nginx_binary", "default_nginx_source"]
