"""rdpy's mock cluster at the protocol level: raw requests over real sockets (RawConnection,
built from rdpy.protocol alone), for what a client library would hide -- version refusal,
connection closing, pipelining order, held fetches, injected delays and errors."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from rdpy.mock.handlers import SUPPORTED
from rdpy.protocol.messages.api_versions import ApiVersionsRequest
from rdpy.protocol.messages.delete_groups import DeleteGroupsRequest
from rdpy.protocol.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from rdpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from rdpy.protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from rdpy.protocol.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from rdpy.records import RecordBatchBuilder, read_batches
from tests.support.rawclient import RawConnection


def broker_address(cluster: MockCluster, broker_id: int) -> str:
    return cluster.bootstrap_servers.split(",")[cluster.broker_ids.index(broker_id)]


def leader_connection(cluster: MockCluster, topic: str, partition: int = 0) -> RawConnection:
    conn = RawConnection(broker_address(cluster, cluster.partition_leader(topic, partition)))
    conn.negotiate_versions()
    return conn


def fetch(topic: str, offset: int, *, max_wait_ms: int, min_bytes: int = 1) -> FetchRequest:
    return FetchRequest(max_wait_ms=max_wait_ms, min_bytes=min_bytes, max_bytes=1 << 20,
                        topics=[FetchTopic(topic=topic, partitions=[FetchPartition(
                            partition=0, fetch_offset=offset, partition_max_bytes=1 << 20)])])


def produce(topic: str, *values: bytes) -> ProduceRequest:
    b = RecordBatchBuilder()
    for v in values:
        b.append(int(time.time() * 1000), None, v)
    return ProduceRequest(acks=-1, timeout_ms=5000, topic_data=[TopicProduceData(
        name=topic, partition_data=[PartitionProduceData(index=0, records=b.build())])])


def test_api_versions_advertises_what_is_served_and_refuses_newer_versions(rdpy_mock: MockCluster) -> None:
    with RawConnection(rdpy_mock.bootstrap_servers) as conn:
        response = conn.negotiate_versions()
        assert {k.api_key: (k.min_version, k.max_version) for k in response.api_keys} == SUPPORTED
        # ApiVersions v4 is newer than the mock's v3: a v0 body, UNSUPPORTED_VERSION, and the
        # range to retry with -- and the connection stays usable.
        too_new = conn.request(ApiVersionsRequest(client_software_name="x", client_software_version="1"), 4)
        assert too_new.error_code == ErrorCode.UNSUPPORTED_VERSION
        assert [(k.api_key, k.min_version, k.max_version) for k in too_new.api_keys] == [(18, 0, 3)]
        assert conn.request(MetadataRequest(topics=[]), 12).brokers


@pytest.mark.parametrize("request_obj, version", [
    (DeleteGroupsRequest(groups_names=["g"]), 2),
    (FetchRequest(), 3),  # Fetch is served, but not v3
])
def test_requests_not_advertised_close_the_connection(rdpy_mock: MockCluster, request_obj: Any, version: int) -> None:
    with RawConnection(rdpy_mock.bootstrap_servers) as conn:
        conn.negotiate_versions()
        with pytest.raises(ConnectionError):
            conn.request(request_obj, version)


def test_pipelined_requests_are_answered_in_order_behind_a_held_fetch(rdpy_mock: MockCluster) -> None:
    rdpy_mock.create_topic("t", 1, 1)
    with leader_connection(rdpy_mock, "t") as conn:
        sent = []
        for req, version in [(MetadataRequest(topics=[]), 12), (fetch("t", 0, max_wait_ms=300), 12),
                             (MetadataRequest(topics=[MetadataRequestTopic(name="t")]), 12)]:
            corr, frame = conn.session.send_request(req, version)
            sent.append(corr)
            conn.sock.sendall(frame)
        start = time.monotonic()
        order = []
        while len(order) < 3:
            for frame in conn.decoder.feed(conn.sock.recv(65536)):
                order.append((conn.session.receive(frame).correlation_id, time.monotonic() - start))
        assert [c for c, _ in order] == sent
        assert order[0][1] < 0.25  # the first Metadata did not wait
        assert order[2][1] >= 0.25  # the second one waited behind the held Fetch


def test_a_fetch_waits_max_wait_ms_for_min_bytes(rdpy_mock: MockCluster) -> None:
    rdpy_mock.create_topic("t", 1, 1)
    with leader_connection(rdpy_mock, "t") as conn:
        start = time.monotonic()
        response = conn.request(fetch("t", 0, max_wait_ms=400))
        waited = time.monotonic() - start
        assert response.responses[0].partitions[0].records == b""
        assert 0.35 <= waited < 2.0
        start = time.monotonic()
        conn.request(fetch("t", 0, max_wait_ms=5000, min_bytes=0))
        assert time.monotonic() - start < 0.5  # min_bytes 0: nothing to wait for


def test_a_held_fetch_is_answered_as_soon_as_data_arrives(rdpy_mock: MockCluster) -> None:
    rdpy_mock.create_topic("t", 1, 1)
    result: dict[str, Any] = {}

    def long_poll() -> None:
        with leader_connection(rdpy_mock, "t") as conn:
            start = time.monotonic()
            result["response"] = conn.request(fetch("t", 0, max_wait_ms=10_000))
            result["waited"] = time.monotonic() - start

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.3)
    with leader_connection(rdpy_mock, "t") as producer:
        answer = producer.request(produce("t", b"a", b"b"))
        assert answer.responses[0].partition_responses[0].error_code == 0
    poller.join(10)
    assert 0.2 < result["waited"] < 3.0
    records = result["response"].responses[0].partitions[0].records
    assert [r.value for b in read_batches(records) for r in b.records()] == [b"a", b"b"]


def test_rtt_delays_every_response_of_that_broker(rdpy_mock: MockCluster) -> None:
    rdpy_mock.set_rtt(1, 300)
    for broker_id, slow in [(1, True), (2, False)]:
        with RawConnection(broker_address(rdpy_mock, broker_id)) as conn:
            start = time.monotonic()
            conn.negotiate_versions()
            conn.request(MetadataRequest(topics=[]))
            took = time.monotonic() - start
            assert (took >= 0.55) if slow else (took < 0.3), (broker_id, took)


def test_injected_errors_answer_the_next_requests_in_order(rdpy_mock: MockCluster) -> None:
    rdpy_mock.push_request_errors(10, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    with RawConnection(rdpy_mock.bootstrap_servers) as conn:
        conn.negotiate_versions()
        codes = [conn.request(FindCoordinatorRequest(key="g", key_type=0)).error_code for _ in range(3)]
    assert codes == [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 0]


def test_a_broker_set_down_drops_its_connections_until_set_up(rdpy_mock: MockCluster) -> None:
    address = broker_address(rdpy_mock, 2)
    conn = RawConnection(address)
    conn.negotiate_versions()
    rdpy_mock.broker_set_down(2)
    with pytest.raises(ConnectionError):
        conn.request(MetadataRequest(topics=[]))
    conn.close()
    with RawConnection(address) as again:
        with pytest.raises((ConnectionError, OSError)):
            again.negotiate_versions()
    with RawConnection(broker_address(rdpy_mock, 1)) as other:  # the others still serve
        assert other.negotiate_versions().error_code == 0
    rdpy_mock.broker_set_up(2)
    with RawConnection(address) as back:
        assert back.negotiate_versions().error_code == 0


def test_close_stops_listening() -> None:
    cluster = MockCluster(1)
    host, _, port = cluster.bootstrap_servers.rpartition(":")
    cluster.close()
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).recv(1)
