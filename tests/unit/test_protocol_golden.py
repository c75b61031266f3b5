"""Golden bytes: our encoding vs kafka-python's independently hand-written protocol classes
(``kafka.protocol.old``), in both directions, plus hand-written hex vectors."""

from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest

from rdpy.protocol import ProtocolSession, RequestHeader, ResponseHeader
from rdpy.protocol.base import Message
from rdpy.protocol.messages import api_versions as av
from rdpy.protocol.messages import fetch as fe
from rdpy.protocol.messages import find_coordinator as fc
from rdpy.protocol.messages import heartbeat as hb
from rdpy.protocol.messages import join_group as jg
from rdpy.protocol.messages import list_offsets as lo
from rdpy.protocol.messages import metadata as md
from rdpy.protocol.messages import produce as pr

kold = pytest.importorskip("kafka.protocol.old")
from kafka.protocol.old import api_versions as k_av  # noqa: E402
from kafka.protocol.old import fetch as k_fe  # noqa: E402
from kafka.protocol.old import find_coordinator as k_fc  # noqa: E402
from kafka.protocol.old import group as k_gr  # noqa: E402
from kafka.protocol.old import list_offsets as k_lo  # noqa: E402
from kafka.protocol.old import metadata as k_md  # noqa: E402
from kafka.protocol.old import produce as k_pr  # noqa: E402

RECORDS = bytes(range(256)) * 64  # 16 KiB opaque records blob

# (id, our object, version, factory of the kafka-python object)
REQUESTS: list[tuple[str, Message, int, Callable[[], Any]]] = [
    ("ApiVersions-v0", av.ApiVersionsRequest(), 0, lambda: k_av.ApiVersionsRequest[0]()),
    ("ApiVersions-v1", av.ApiVersionsRequest(), 1, lambda: k_av.ApiVersionsRequest[1]()),
    (
        "ApiVersions-v3",
        av.ApiVersionsRequest(client_software_name="rdpy", client_software_version="1.2.3"),
        3,
        lambda: k_av.ApiVersionsRequest[3]("rdpy", "1.2.3", {}),
    ),
    (
        "Metadata-v1",
        md.MetadataRequest(topics=[md.MetadataRequestTopic(name="a"), md.MetadataRequestTopic(name="bb")]),
        1,
        lambda: k_md.MetadataRequest[1](["a", "bb"]),
    ),
    ("Metadata-v1-all", md.MetadataRequest(topics=None), 1, lambda: k_md.MetadataRequest[1](None)),
    (
        "Metadata-v4",
        md.MetadataRequest(topics=[md.MetadataRequestTopic(name="t")], allow_auto_topic_creation=False),
        4,
        lambda: k_md.MetadataRequest[4](["t"], False),
    ),
    (
        "Metadata-v8",
        md.MetadataRequest(
            topics=[md.MetadataRequestTopic(name="t")],
            include_cluster_authorized_operations=True,
            include_topic_authorized_operations=False,
        ),
        8,
        lambda: k_md.MetadataRequest[8](["t"], True, True, False),
    ),
    (
        "Produce-v3",
        pr.ProduceRequest(
            transactional_id=None,
            acks=-1,
            timeout_ms=30000,
            topic_data=[pr.TopicProduceData(name="topic", partition_data=[
                pr.PartitionProduceData(index=3, records=RECORDS)])],
        ),
        3,
        lambda: k_pr.ProduceRequest[3](None, -1, 30000, [("topic", [(3, RECORDS)])]),
    ),
    (
        "Produce-v7",
        pr.ProduceRequest(
            transactional_id="txn",
            acks=1,
            timeout_ms=1500,
            topic_data=[pr.TopicProduceData(name="a", partition_data=[
                pr.PartitionProduceData(index=0, records=b"xyz"),
                pr.PartitionProduceData(index=1, records=None)])],
        ),
        7,
        lambda: k_pr.ProduceRequest[7]("txn", 1, 1500, [("a", [(0, b"xyz"), (1, None)])]),
    ),
    (
        "Fetch-v4",
        fe.FetchRequest(
            replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800, isolation_level=1,
            topics=[fe.FetchTopic(topic="t", partitions=[
                fe.FetchPartition(partition=0, fetch_offset=42, partition_max_bytes=1048576)])],
        ),
        4,
        lambda: k_fe.FetchRequest[4](-1, 500, 1, 52428800, 1, [("t", [(0, 42, 1048576)])]),
    ),
    (
        "Fetch-v11",
        fe.FetchRequest(
            replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800, isolation_level=0,
            session_id=7, session_epoch=2,
            topics=[fe.FetchTopic(topic="t", partitions=[
                fe.FetchPartition(partition=2, current_leader_epoch=5, fetch_offset=100,
                                  log_start_offset=-1, partition_max_bytes=65536)])],
            forgotten_topics_data=[fe.ForgottenTopic(topic="old", partitions=[1, 2])],
            rack_id="r1",
        ),
        11,
        lambda: k_fe.FetchRequest[11](-1, 500, 1, 52428800, 0, 7, 2,
                                      [("t", [(2, 5, 100, -1, 65536)])], [("old", [1, 2])], "r1"),
    ),
    (
        "ListOffsets-v1",
        lo.ListOffsetsRequest(replica_id=-1, topics=[lo.ListOffsetsTopic(name="t", partitions=[
            lo.ListOffsetsPartition(partition_index=0, timestamp=-1)])]),
        1,
        lambda: k_lo.ListOffsetsRequest[1](-1, [("t", [(0, -1)])]),
    ),
    (
        "ListOffsets-v4",
        lo.ListOffsetsRequest(replica_id=-1, isolation_level=1, topics=[lo.ListOffsetsTopic(
            name="t", partitions=[lo.ListOffsetsPartition(partition_index=1, current_leader_epoch=3,
                                                          timestamp=-2)])]),
        4,
        lambda: k_lo.ListOffsetsRequest[4](-1, 1, [("t", [(1, 3, -2)])]),
    ),
    ("FindCoordinator-v0", fc.FindCoordinatorRequest(key="grp"), 0,
     lambda: k_fc.FindCoordinatorRequest[0]("grp")),
    ("FindCoordinator-v1", fc.FindCoordinatorRequest(key="txn", key_type=1), 1,
     lambda: k_fc.FindCoordinatorRequest[1]("txn", 1)),
    (
        "JoinGroup-v5",
        jg.JoinGroupRequest(group_id="g", session_timeout_ms=10000, rebalance_timeout_ms=300000,
                            member_id="", group_instance_id=None, protocol_type="consumer",
                            protocols=[jg.JoinGroupRequestProtocol(name="range", metadata=b"\x00\x01")]),
        5,
        lambda: k_gr.JoinGroupRequest[5]("g", 10000, 300000, "", None, "consumer",
                                         [("range", b"\x00\x01")]),
    ),
    (
        "JoinGroup-v0",
        jg.JoinGroupRequest(group_id="g", session_timeout_ms=6000, member_id="m",
                            protocol_type="consumer",
                            protocols=[jg.JoinGroupRequestProtocol(name="rr", metadata=b"")]),
        0,
        lambda: k_gr.JoinGroupRequest[0]("g", 6000, "m", "consumer", [("rr", b"")]),
    ),
    ("Heartbeat-v1", hb.HeartbeatRequest(group_id="g", generation_id=3, member_id="m"), 1,
     lambda: k_gr.HeartbeatRequest[1]("g", 3, "m")),
]


@pytest.mark.parametrize("ours,version,theirs", [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_request_matches_kafka_python(ours: Message, version: int, theirs: Callable[[], Any]) -> None:
    expected = theirs().encode()
    assert ours.encode(version) == expected
    assert type(ours).decode(expected, version) == ours


def test_produce_response_decodes_kafka_python_bytes() -> None:
    data = k_pr.ProduceResponse[7](
        [("t", [(0, 0, 1234, -1, 17)])], 25  # partition, error, base_offset, log_append, log_start
    ).encode()
    resp = pr.ProduceResponse.decode(data, 7)
    assert resp.throttle_time_ms == 25
    p = resp.responses[0].partition_responses[0]
    assert (resp.responses[0].name, p.index, p.error_code, p.base_offset, p.log_append_time_ms,
            p.log_start_offset) == ("t", 0, 0, 1234, -1, 17)
    assert resp.encode(7) == data


def test_fetch_response_decodes_kafka_python_bytes() -> None:
    data = k_fe.FetchResponse[11](
        3, 0, 99, [("t", [(1, 0, 500, 400, 10, [(77, 123)], -1, RECORDS)])]
    ).encode()
    resp = fe.FetchResponse.decode(data, 11)
    assert (resp.throttle_time_ms, resp.error_code, resp.session_id) == (3, 0, 99)
    p = resp.responses[0].partitions[0]
    assert (p.partition_index, p.high_watermark, p.last_stable_offset, p.log_start_offset) == (
        1, 500, 400, 10)
    assert p.aborted_transactions == [fe.AbortedTransaction(producer_id=77, first_offset=123)]
    assert p.preferred_read_replica == -1
    assert isinstance(p.records, memoryview) and p.records == RECORDS  # zero copy
    assert resp.encode(11) == data


def test_api_versions_response_matches_kafka_python() -> None:
    theirs = k_av.ApiVersionsResponse[3](0, [(0, 0, 9, {}), (1, 4, 13, {})], 0, {})
    ours = av.ApiVersionsResponse(api_keys=[
        av.ApiVersion(api_key=0, min_version=0, max_version=9),
        av.ApiVersion(api_key=1, min_version=4, max_version=13)])
    assert ours.encode(3) == theirs.encode()
    assert av.ApiVersionsResponse.decode(theirs.encode(), 3) == ours


def test_metadata_response_v1_decodes_kafka_python_bytes() -> None:
    data = k_md.MetadataResponse[1](
        [(1, "h", 9092, None)], 1, [(0, "t", False, [(0, 0, 1, [1], [1])])]
    ).encode()
    resp = md.MetadataResponse.decode(data, 1)
    assert resp.brokers[0].host == "h" and resp.brokers[0].rack is None
    assert resp.controller_id == 1
    part = resp.topics[0].partitions[0]
    assert (part.partition_index, part.leader_id, part.replica_nodes, part.isr_nodes) == (0, 1, [1], [1])
    assert resp.encode(1) == data


# ---------------------------------------------------------------------------------------------
# Hand-written vectors (from the protocol guide's field layouts)
# ---------------------------------------------------------------------------------------------


def test_api_versions_v3_request_frame_hex() -> None:
    s = ProtocolSession("rdpy")
    corr, data = s.send_request(
        av.ApiVersionsRequest(client_software_name="rdpy", client_software_version="0.1"), 3)
    assert corr == 0
    assert data.hex() == (
        "00000019"  # size 25
        "0012" "0003" "00000000"  # api key 18, version 3, correlation id 0
        "0004" "72647079"  # client_id: NON-compact string even in header v2
        "00"  # header tagged fields
        "05" "72647079"  # compact string "rdpy" (length + 1)
        "04" "302e31"  # compact string "0.1"
        "00"  # body tagged fields
    )


def test_request_header_versions_hex() -> None:
    h = RequestHeader(request_api_key=3, request_api_version=1, correlation_id=7, client_id=None)
    assert h.encode(1).hex() == "0003" "0001" "00000007" "ffff"
    assert h.encode(2).hex() == "0003" "0001" "00000007" "ffff" "00"
    assert RequestHeader(request_api_key=7, correlation_id=1).encode(0).hex() == "0007000000000001"
    assert ResponseHeader(correlation_id=1, unknown_tagged_fields=[(0, b"\xaa")]).encode(1).hex() == (
        "00000001" "01" "00" "01" "aa")


def test_metadata_request_v12_hex() -> None:
    req = md.MetadataRequest(
        topics=[md.MetadataRequestTopic(topic_id=uuid.UUID(int=0), name="t")],
        allow_auto_topic_creation=False, include_topic_authorized_operations=True)
    assert req.encode(12).hex() == (
        "02"  # compact array of 1
        + "00" * 16 + "02" "74" "00"  # topic id, compact nullable string "t", tagged fields
        + "00" "01"  # allow_auto_topic_creation, include_topic_authorized_operations
        + "00"  # tagged fields
    )


def test_uvarint_lengths_over_127() -> None:
    req = av.ApiVersionsRequest(client_software_name="x" * 200, client_software_version="")
    data = req.encode(3)
    assert data[:2] == bytes([0xC9, 0x01])  # 201 as an unsigned varint
    assert av.ApiVersionsRequest.decode(data, 3) == req
