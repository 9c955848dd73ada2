"""Composed kernel-runtime transcripts for the tests: the implementation lives in
:mod:`stapbench.targets.compose` (the notebooks use it too); this module re-exports
it and adds the nginx fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from stapbench.targets.compose import (  # noqa: F401  (re-exported)
    DEMO_CHAIN, NGINX_CLOSE_CHAIN, PIE_BASE, ComposedFrame, SymbolInfo, call_sites, compose_chain,
    symbols, ubacktrace_text,
)


@pytest.fixture(scope="session")
def nginx_binary(nginx_build) -> Path:
    return nginx_build.binary


@pytest.fixture(scope="session")
def nginx_source_root(nginx_build) -> Path:
    return nginx_build.source.resolve()
