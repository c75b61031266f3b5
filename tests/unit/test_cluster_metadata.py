"""list_topics()' ClusterMetadata carries the cluster id and the controller the Metadata answer
names, on the Producer and the Consumer, as confluent-kafka's does.

Both clients against the same cluster, rdpy's mock and librdkafka's mock: rdpy must read
exactly what confluent-kafka reads. And each client with its own `test.mock.num.brokers`
cluster: a real cluster id (str) and controller (a broker id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import rdpy
from rdpy.mock import MockCluster
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

ck = pytest.importorskip("confluent_kafka")

CLIENTS = [("Producer", {}), ("Consumer", {"group.id": "cluster-metadata"})]


def _list_topics(module: Any, cls: str, config: dict[str, Any]) -> Any:
    client = getattr(module, cls)({**config, **dict(CLIENTS)[cls]})
    try:
        return client.list_topics(timeout=10)
    finally:
        if cls == "Consumer":
            client.close()
        else:
            client.flush(5)


@pytest.fixture(params=["rdpy-mock", "librdkafka-mock"])
def cluster(request: pytest.FixtureRequest) -> Iterator[tuple[str, int | None, str]]:
    """(bootstrap servers, controller id or None when only confluent knows it, cluster id or
    "" when only confluent knows it)."""
    if request.param == "rdpy-mock":
        with MockCluster(num_brokers=3) as mc:
            # The mock's cluster id by default; its controller is its lowest broker id.
            yield mc.bootstrap_servers, 1, "rdpy-mock-cluster"
            assert mc.internal_errors == []
    else:
        with LibrdkafkaMockCluster(broker_cnt=3) as lmc:
            yield lmc.bootstrap_servers, None, ""


@pytest.mark.parametrize("cls", [c for c, _ in CLIENTS])
def test_cluster_id_and_controller_as_confluent_reads_them(cls: str, cluster: tuple[str, int | None, str]) -> None:
    servers, controller, cluster_id = cluster
    theirs = _list_topics(ck, cls, {"bootstrap.servers": servers})
    ours = _list_topics(rdpy, cls, {"bootstrap.servers": servers})
    assert isinstance(theirs.cluster_id, str) and theirs.cluster_id
    assert (ours.cluster_id, ours.controller_id) == (theirs.cluster_id, theirs.controller_id)
    assert isinstance(ours.controller_id, int)
    if controller is not None:
        assert ours.controller_id == controller and ours.cluster_id == cluster_id
    assert sorted(ours.brokers) == sorted(theirs.brokers) == [1, 2, 3]
    assert repr(ours) == repr(theirs) == f"ClusterMetadata({theirs.cluster_id})"
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("cls", [c for c, _ in CLIENTS])
@pytest.mark.parametrize("module", [rdpy, ck], ids=["rdpy", "confluent"])
def test_own_mock_cluster_has_an_id_and_a_controller(module: Any, cls: str) -> None:
    md = _list_topics(module, cls, {"test.mock.num.brokers": 3})
    assert isinstance(md.cluster_id, str) and md.cluster_id
    assert isinstance(md.controller_id, int) and md.controller_id != -1
    assert sorted(md.brokers) == [1, 2, 3]


def test_a_fresh_cluster_metadata_knows_nothing() -> None:
    """The defaults list_topics() overwrites: confluent's ClusterMetadata()."""
    ours, theirs = rdpy.admin.ClusterMetadata(), ck.admin.ClusterMetadata()
    assert (ours.cluster_id, ours.controller_id, ours.orig_broker_id, ours.orig_broker_name) == (
        theirs.cluster_id, theirs.controller_id, theirs.orig_broker_id, theirs.orig_broker_name) == (None, -1, -1, None)
