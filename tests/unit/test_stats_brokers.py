"""The statistics' `brokers` object lists the broker handles librdkafka (2.16) has.

librdkafka >= 2.10 decommissions the bootstrap brokers as soon as a Metadata answer names the
cluster's brokers (rd_kafka_metadata_decommission_unavailable_brokers), so "host:port/bootstrap"
leaves the statistics then; when every broker is down it re-bootstraps: the learned brokers go
and the bootstrap ones come back. A consumer's group coordinator connection is the logical
broker "GroupCoordinator" (node id -1, source "logical").

Each scenario runs on both clients, against rdpy's mock cluster and librdkafka's, and compares
the key sets (timings differ: librdkafka's timers are its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rdpy
from rdpy.mock import MockCluster
from tests.support.broker import free_loopback_port
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

ck = pytest.importorskip("confluent_kafka")

MODULES = [pytest.param(rdpy, id="rdpy"), pytest.param(ck, id="confluent")]
Brokers = dict[str, dict[str, Any]]


class Cluster:
    """A 3-broker mock cluster of either kind; close() is the outage."""

    def __init__(self, kind: str) -> None:
        self.mock: MockCluster | LibrdkafkaMockCluster = (
            MockCluster(num_brokers=3) if kind == "rdpy" else LibrdkafkaMockCluster(broker_cnt=3))
        self.bootstrap_servers = self.mock.bootstrap_servers

    def bootstrap_keys(self) -> set[str]:
        return {f"{a}/bootstrap" for a in self.bootstrap_servers.split(",")}

    def close(self) -> None:
        self.mock.close()


@pytest.fixture(params=["rdpy", "librdkafka"], ids=["rdpy-mock", "librdkafka-mock"])
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster(request.param)
    try:
        yield c
    finally:
        c.close()


class StatsWatch:
    """A client whose stats_cb keeps every `brokers` object, polled until a condition."""

    def __init__(self, module: Any, cls: str, config: dict[str, Any]) -> None:
        self.docs: list[Brokers] = []
        self.client = getattr(module, cls)({**config, "statistics.interval.ms": 50,
                                            "stats_cb": self._stats})

    def _stats(self, text: str) -> None:
        self.docs.append(json.loads(text)["brokers"])

    def until(self, what: str, done: Callable[[Brokers], bool], timeout: float = 15.0) -> Brokers:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.client.poll(0.05)
            if self.docs and done(self.docs[-1]):
                return self.docs[-1]
        raise AssertionError(f"{what}: last brokers {sorted(self.docs[-1]) if self.docs else None}")

    def close(self) -> None:
        if hasattr(self.client, "subscribe"):
            self.client.close()
        else:
            self.client.flush(1)


def _learned(brokers: Brokers) -> set[str]:
    return {k for k, v in brokers.items() if v["source"] == "learned"}


@pytest.mark.parametrize("module", MODULES)
def test_only_the_bootstrap_broker_before_the_cluster_answers(module: Any) -> None:
    port = free_loopback_port()  # nobody listens
    w = StatsWatch(module, "Producer", {"bootstrap.servers": f"127.0.0.1:{port}"})
    try:
        brokers = w.until("a document", lambda b: True)
        assert list(brokers) == [f"127.0.0.1:{port}/bootstrap"]
        b = brokers[f"127.0.0.1:{port}/bootstrap"]
        assert (b["name"], b["nodeid"], b["nodename"], b["source"]) == (
            f"127.0.0.1:{port}/bootstrap", -1, f"127.0.0.1:{port}", "configured")
    finally:
        w.close()


@pytest.mark.parametrize("module", MODULES)
def test_bootstrap_brokers_are_decommissioned_once_the_cluster_is_known(module: Any, cluster: Cluster) -> None:
    w = StatsWatch(module, "Producer", {"bootstrap.servers": cluster.bootstrap_servers})
    try:
        brokers = w.until("the 3 learned brokers", lambda b: len(_learned(b)) == 3)
        assert set(brokers) == _learned(brokers)
        assert sorted(v["nodeid"] for v in brokers.values()) == [1, 2, 3]
        # One connection is kept to the cluster (sparse connections), through a learned broker.
        brokers = w.until("a learned broker UP", lambda b: any(v["state"] == "UP" for v in b.values()))
        assert set(brokers) == _learned(brokers)
        # Once learned brokers were listed, no document lists a bootstrap broker again.
        first = next(i for i, d in enumerate(w.docs) if _learned(d))
        assert all(not k.endswith("/bootstrap") for d in w.docs[first:] for k in d)
    finally:
        w.close()


@pytest.mark.parametrize("module", MODULES)
def test_an_outage_brings_the_bootstrap_brokers_back(module: Any, cluster: Cluster) -> None:
    w = StatsWatch(module, "Producer", {"bootstrap.servers": cluster.bootstrap_servers})
    try:
        w.until("a learned broker UP", lambda b: any(v["state"] == "UP" and v["source"] == "learned"
                                                      for v in b.values()))
        cluster.close()
        wanted = cluster.bootstrap_keys()
        brokers = w.until("the bootstrap brokers alone", lambda b: set(b) == wanted)
        assert {v["source"] for v in brokers.values()} == {"configured"}
        assert {v["nodeid"] for v in brokers.values()} == {-1}
    finally:
        w.close()


@pytest.mark.parametrize("module", MODULES)
def test_the_group_coordinator_is_a_logical_broker(module: Any, cluster: Cluster) -> None:
    w = StatsWatch(module, "Consumer", {"bootstrap.servers": cluster.bootstrap_servers,
                                        "group.id": "stats-brokers", "session.timeout.ms": 6000,
                                        "heartbeat.interval.ms": 500})
    try:
        w.client.subscribe(["stats-brokers-topic"])
        brokers = w.until("GroupCoordinator UP", lambda b: b.get("GroupCoordinator", {}).get("state") == "UP")
        coord = brokers["GroupCoordinator"]
        assert (coord["name"], coord["nodeid"], coord["source"]) == ("GroupCoordinator", -1, "logical")
        # Connected to one of the cluster's brokers.
        assert coord["nodename"] in {v["nodename"] for v in brokers.values() if v["source"] == "learned"}
        assert not any(k.endswith("/bootstrap") for k in brokers)
    finally:
        w.close()
