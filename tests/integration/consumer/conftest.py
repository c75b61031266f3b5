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

from tests.support.leakcheck import closing_consumers
from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401

CONSUMER_CLIENTS: list[str] = ["confluent_kafka", "rdpy"]




@pytest.fixture(params=CONSUMER_CLIENTS)
def consumer_client(request: pytest.FixtureRequest) -> ModuleType:
    """The client module whose Consumer is under test (one parametrization per entry)."""
    return importlib.import_module(request.param)


@pytest.fixture
def make_consumer(consumer_client: ModuleType) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """make_consumer(conf) -> consumer_client.Consumer(conf); every one is closed at teardown
    (a consumer the test closed itself is left alone)."""
    yield from closing_consumers(consumer_client)
