"""Fixtures for the consumer group acceptance suite (classic protocol, subscribe()).

Every test takes ``client`` (the module whose Consumer is under test: confluent_kafka, the
reference every test is proven on, and rdpy) and ``group_broker``: the same test runs on

* ``kafka`` -- real Apache Kafka 4 (the session's ``kafka_broker``; its
  group.min.session.timeout.ms is lowered to 500 ms for this suite);
* ``tansu`` -- a Tansu started once for this suite (in-memory storage);
* ``librdkafka_mock`` -- librdkafka's mock cluster (3 brokers, its classic group coordinator),
  with group.initial.rebalance.delay.ms set to 0 (the mock's default of 3000 ms would also
  outlast the short sessions these tests use: the mock expires a member whose JoinGroup waits
  longer than its session);
* ``rdpy_mock`` -- rdpy's MockCluster (rdpy/mock/classic_group.py), which must report no
  internal error.

Data is produced with confluent-kafka's Producer (the independent reference) whatever the
client. Where a broker lacks something a test needs, the test says so with an explicit strict
xfail naming the broker (``broker_lacks`` in _util.py), never a silent skip.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rdpy.mock import MockCluster
from tests.integration.groups._util import BROKERS, GroupBroker
from tests.support.broker import BrokerEndpoint, start_tansu
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)
from tests.support.leakcheck import closing_consumers
from tests.support.leakcheck import pytest_runtest_makereport  # noqa: F401
from tests.support.invariants import resources_back_after
from tests.support.rdkafka_mock import LibrdkafkaMockCluster
from tests.support.topics import create_topic


@pytest.fixture(scope="session")
def groups_tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerEndpoint]:
    """One Tansu for this suite (in-memory storage), stopped at the end of the session; its log
    is printed when it did not start."""
    endpoint = start_tansu(log_dir=Path(tmp_path_factory.mktemp("groups-tansu")))
    try:
        yield endpoint
    finally:
        endpoint.stop()


_SESSION_BROKERS = {"kafka": "kafka_broker", "tansu": "groups_tansu"}


@pytest.fixture(autouse=True)
def resources_back_to_baseline(request: pytest.FixtureRequest) -> Iterator[None]:
    """tests.support.leakcheck's check (every test gives back the threads and file descriptors
    it took), after starting the session broker this test runs on, if any: a session broker
    started lazily inside the first test using it is not that test's leak."""
    callspec = getattr(request.node, "callspec", None)
    kind = callspec.params.get("group_broker") if callspec is not None else None
    if kind in _SESSION_BROKERS:
        request.getfixturevalue(_SESSION_BROKERS[kind])
    yield from resources_back_after(request)


def _set_librdkafka_mock_rebalance_delay(cluster: LibrdkafkaMockCluster, ms: int) -> None:
    """rd_kafka_mock_group_initial_rebalance_delay_ms (not wrapped by LibrdkafkaMockCluster)."""
    fn = cluster._lib.rd_kafka_mock_group_initial_rebalance_delay_ms
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    fn.restype = None
    fn(cluster._cluster(), ms)


@pytest.fixture(params=BROKERS)
def group_broker(request: pytest.FixtureRequest) -> Iterator[GroupBroker]:
    """The broker a test runs on (see the module docstring): bootstrap_servers, kind, and
    create_topic(prefix, partitions) -> a new topic's name, ready to be written."""
    kind = request.param
    if kind in _SESSION_BROKERS:
        endpoint = request.getfixturevalue(_SESSION_BROKERS[kind])
        bootstrap = endpoint.bootstrap_servers

        def create(name: str, partitions: int) -> None:
            create_topic({"bootstrap.servers": bootstrap}, name, partitions)

        yield GroupBroker(kind, bootstrap, create)
    elif kind == "librdkafka_mock":
        with LibrdkafkaMockCluster(broker_cnt=3) as cluster:
            _set_librdkafka_mock_rebalance_delay(cluster, 0)
            yield GroupBroker(kind, cluster.bootstrap_servers, cluster.create_topic)
    elif kind == "rdpy_mock":
        with MockCluster(num_brokers=3) as mock:
            yield GroupBroker(kind, mock.bootstrap_servers, mock.create_topic)
            assert mock.internal_errors == [], mock.internal_errors
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.fixture
def make_consumer(client: ModuleType) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """make_consumer(conf) -> client.Consumer(conf); every one is closed at teardown (one the
    test closed itself is left alone)."""
    yield from closing_consumers(client)

