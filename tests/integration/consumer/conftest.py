"""Fixtures for the consumer acceptance suite (manual assignment, no group membership).

Every test takes ``consumer_client``: the imported client module whose ``Consumer`` is under
test, parametrized over ``CONSUMER_CLIENTS``. confluent-kafka is the reference every test is
proven on first, then rdpy must pass it too. Test data is always
produced with confluent-kafka's Producer (the independent reference), whatever the client.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.support.invariants import record_call_report, resources_back_after

CONSUMER_CLIENTS: list[str] = ["confluent_kafka", "rdpy"]


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


@pytest.fixture(params=CONSUMER_CLIENTS)
def consumer_client(request: pytest.FixtureRequest) -> ModuleType:
    """The client module whose Consumer is under test (one parametrization per entry)."""
    return importlib.import_module(request.param)


@pytest.fixture
def make_consumer(consumer_client: ModuleType) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """make_consumer(conf) -> consumer_client.Consumer(conf); every one is closed at teardown
    (a consumer the test closed itself is left alone)."""
    made: list[Any] = []

    def make(conf: dict[str, Any]) -> Any:
        consumer = consumer_client.Consumer(conf)
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        try:
            consumer.close()
        except RuntimeError:
            pass  # already closed by the test
