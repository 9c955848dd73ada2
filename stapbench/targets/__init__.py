"""Programs to trace: the nginx that .ci/provision builds, started and stopped on 127.0.0.1,
and output composed from its real symbols for what the BPF runtime can't print
(:mod:`stapbench.targets.compose`)."""

from .nginx import NginxServer, default_nginx_binary, default_nginx_source

__all__ = ["NginxServer", "default_nginx_binary", "default_nginx_source"]
