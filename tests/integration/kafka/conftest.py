"""Fixtures for the suites on real Apache Kafka (tests.support.kafka): the client under test,
the per-test leak check, and a cluster whose three nodes run when each test starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)
from tests.support.invariants import record_call_report, resources_back_after
from tests.support.kafka import KafkaCluster


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether the test body passed (the leak check runs only after a pass)."""
    outcome = yield
    record_call_report(item, outcome.get_result())  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def resources_back_to_baseline(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test gives back the threads and file descriptors it took, for both clients."""
    yield from resources_back_after(request)


@pytest.fixture
def cluster(kafka_cluster: KafkaCluster) -> KafkaCluster:
    """The session's 3-node cluster with all three nodes up (restarting any a failed test left
    down)."""
    kafka_cluster.ensure_running()
    return kafka_cluster
