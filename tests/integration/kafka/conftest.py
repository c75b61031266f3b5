"""Fixtures for the suites on real Apache Kafka (tests.support.kafka): the client under test,
the per-test leak check, and a cluster whose three nodes run when each test starts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)
from tests.support.leakcheck import closing_consumers
from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401
from tests.support.kafka import KafkaCluster




@pytest.fixture
def cluster(kafka_cluster: KafkaCluster) -> KafkaCluster:
    """The session's 3-node cluster with all three nodes up (restarting any a failed test left
    down)."""
    kafka_cluster.ensure_running()
    return kafka_cluster


@pytest.fixture
def make_consumer(client: ModuleType) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """make_consumer(conf) -> client.Consumer(conf); every one is closed at teardown."""
    yield from closing_consumers(client)
