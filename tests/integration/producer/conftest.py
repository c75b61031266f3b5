"""Fixtures for the producer acceptance suite: the client under test and unreachable clusters."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.broker import free_loopback_port
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)

from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401


@pytest.fixture
def closed_port_bootstrap() -> str:
    """host:port where nothing listens: connecting fails at once (connection refused)."""
    return f"127.0.0.1:{free_loopback_port()}"


@pytest.fixture
def black_hole_bootstrap() -> Iterator[str]:
    """host:port that accepts TCP connections (kernel backlog) but never answers a byte.

    A client bootstrapping here neither connects usefully nor fails quickly, so no error
    events or delivery reports are produced for tens of seconds: a quiet, unreachable cluster.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


