"""Fixtures for the producer acceptance suite: the client under test and unreachable clusters."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.broker import free_loopback_port
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)

from tests.support.invariants import record_call_report, resources_back_after


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether the test body passed (the leak check runs only after a pass)."""
    outcome = yield
    record_call_report(item, outcome.get_result())  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def resources_back_to_baseline(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test gives back the threads and file descriptors it took, for both clients:
    checked after the test and all its other fixtures are torn down (so clients must be
    closed -- or at least dropped -- by then)."""
    yield from resources_back_after(request)
