"""Fixtures for the mixed-group suites: the clusters a group runs on (rdpy's mock cluster and
real Apache Kafka, `group_cluster`; librdkafka's mock cluster with broker racks,
`rack_cluster`), a factory of groups closed at teardown, and the per-test leak check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rdpy.mock import MockCluster
from tests.integration.mixed_groups._harness import Cluster, GroupRun
from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401
from tests.support.rdkafka_mock import LibrdkafkaMockCluster
from tests.support.topics import create_topic

#: Racks of librdkafka's mock brokers 1..3 in the rack-aware shapes.
RACKS = {1: "rack-a", 2: "rack-b", 3: "rack-c"}


@pytest.fixture(params=["rdpy-mock", "kafka"])
def group_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A cluster whose coordinator answers DescribeGroups: rdpy's mock (3 brokers, no initial
    rebalance delay) or the session's real Kafka broker."""
    if request.param == "rdpy-mock":
        with MockCluster(num_brokers=3, group_initial_rebalance_delay_ms=0) as mc:
            yield Cluster("rdpy-mock", mc.bootstrap_servers,
                          lambda name, partitions: mc.create_topic(name, partitions, 3), mock=mc)
            assert mc.internal_errors == [], mc.internal_errors
        return
    kafka = request.getfixturevalue("kafka_broker")
    conf = {"bootstrap.servers": kafka.bootstrap_servers}
    yield Cluster("kafka", kafka.bootstrap_servers,
                  lambda name, partitions: create_topic(conf, name, partitions))


@pytest.fixture
def rack_cluster() -> Iterator[Cluster]:
    """librdkafka's mock cluster with brokers on racks RACKS; topics get replication factor 2
    (each partition's replicas on two of the three racks). It has no DescribeGroups."""
    with LibrdkafkaMockCluster(broker_cnt=3) as mc:
        for broker, rack in RACKS.items():
            mc.broker_set_rack(broker, rack)
        yield Cluster("librdkafka-mock", mc.bootstrap_servers,
                      lambda name, partitions: mc.create_topic(name, partitions, 2),
                      describes_groups=False, racks=dict(RACKS))


@pytest.fixture
def groups() -> Iterator[Callable[..., GroupRun]]:
    """groups(cluster, strategy, modules) -> a GroupRun whose members are closed afterwards."""
    made: list[GroupRun] = []

    def make(*args: Any, **kwargs: Any) -> GroupRun:
        run = GroupRun(*args, **kwargs)
        made.append(run)
        return run

    yield make
    for run in made:
        run.close()
