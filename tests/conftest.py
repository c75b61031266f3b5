"""Session-wide fixtures: the broker the integration suites run on, and the mock clusters.

Integration tests take the `broker` fixture (anything with .bootstrap_servers): real Apache
Kafka by default (the kafka_broker fixture, started once per session), Tansu with
RDPY_TEST_BROKER=tansu (the embedded broker users get for the demo), or the cluster named by
RDPY_TEST_BOOTSTRAP=host:port. When any test failed, broker logs are kept and their paths and
tails printed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.broker import BrokerEndpoint, broker_from_environment, start_tansu

_started: list[BrokerEndpoint] = []


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The broker the integration suites run on: RDPY_TEST_BOOTSTRAP's cluster if set; else
    Tansu with RDPY_TEST_BROKER=tansu; else real Apache Kafka (the kafka_broker fixture's
    PLAINTEXT listener). Whatever it is has .bootstrap_servers."""
    external = broker_from_environment()
    if external is not None:
        yield external
        return
    if os.environ.get("RDPY_TEST_BROKER", "").lower() != "tansu":
        yield request.getfixturevalue("kafka_broker")
        return
    endpoint = start_tansu(log_dir=Path(tmp_path_factory.mktemp("tansu")))
    _started.append(endpoint)
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name unique to this test, readable in broker logs."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return f"rdpy-{base}-{uuid.uuid4().hex[:8]}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report_kafka_logs(exitstatus)
    if exitstatus == 0:
        return
    for endpoint in _started:
        if endpoint.log_path is not None:
            print(f"\nTansu log kept at {endpoint.log_path}; last lines:\n{endpoint.log_tail()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration needs a real broker or a mock cluster.
    for item in items:
        if "/tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


# librdkafka's mock cluster (3 brokers, real TCP on loopback) with ctypes fault injection, and
# rdpy's own (rdpy.mock.MockCluster).
from tests.support.fixtures import librdkafka_mock, rdpy_mock  # noqa: E402,F401

# Real Apache Kafka (from Maven Central, run by java): one broker with PLAINTEXT, SSL,
# SASL_PLAINTEXT and SASL_SSL listeners, and a 3-node cluster for failover tests.
from tests.support.kafka.fixtures import kafka_broker, kafka_cluster, report_kafka_logs  # noqa: E402,F401
