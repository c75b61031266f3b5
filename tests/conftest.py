"""Session-wide fixtures: a real broker (Tansu, or RDPY_TEST_BOOTSTRAP) and librdkafka's mock cluster.

Integration tests take the `broker` fixture (a BrokerEndpoint with .bootstrap_servers). Unless
RDPY_TEST_BOOTSTRAP=host:port names an external cluster, one Tansu process is started for the
whole session on a free loopback port and stopped at the end; when any test failed its log is
kept and its path and tail are printed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerEndpoint, broker_from_environment, start_tansu

_started: list[BrokerEndpoint] = []


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerEndpoint]:
    external = broker_from_environment()
    if external is not None:
        yield external
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
