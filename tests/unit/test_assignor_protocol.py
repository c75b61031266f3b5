"""The consumer protocol's bytes (assignors/protocol.py) against librdkafka's layouts, the
assignor registry (partition.assignment.strategy parsing checked against confluent-kafka's own
librdkafka, protocol choice) and the cooperative adjustment of the leader's result.
"""

from __future__ import annotations

import struct

import pytest

from rdpy.client.group.assignors import (
    BUILTIN,
    COOPERATIVE_STICKY,
    RANGE,
    ROUNDROBIN,
    Member,
    RebalanceProtocol,
    StickyState,
    StrategyError,
    TopicMetadata,
    adjust_cooperative,
    configured_assignors,
    decode_assignment,
    decode_member,
    decode_sticky_user_data,
    encode_assignment,
    encode_sticky_user_data,
    encode_subscription,
    find_assignor,
    member_metadata,
    rebalance_protocol,
    run_assignor,
    select_protocol,
)


def _str(s: str) -> bytes:
    return struct.pack(">h", len(s)) + s.encode()


def test_subscription_bytes_as_librdkafka_writes_them() -> None:
    # rd_kafka_consumer_protocol_member_metadata_new(): v3, topics, user data, owned partitions
    # grouped by consecutive topic, generation, rack.
    data = encode_subscription(["t1", "t2"], None, [("t1", 0), ("t1", 2), ("t2", 1), ("t1", 5)],
                               7, "r1")
    expected = (struct.pack(">hi", 3, 2) + _str("t1") + _str("t2")
                + struct.pack(">i", 0)  # no user data: empty bytes, not null
                + struct.pack(">i", 3)
                + _str("t1") + struct.pack(">iii", 2, 0, 2)
                + _str("t2") + struct.pack(">ii", 1, 1)
                + _str("t1") + struct.pack(">ii", 1, 5)
                + struct.pack(">i", 7) + _str("r1"))
    assert data == expected


def test_subscription_without_owned_or_rack() -> None:
    data = encode_subscription(["t"], b"ud", [], -1, None)
    assert data == (struct.pack(">hi", 3, 1) + _str("t") + struct.pack(">i", 2) + b"ud"
                    + struct.pack(">ii", 0, -1) + struct.pack(">h", -1))


def test_decode_member_round_trip() -> None:
    data = encode_subscription(["t1", "t2"], b"x", [("t1", 0), ("t2", 3)], 4, "rack")
    assert decode_member("m", "i", data) == Member(
        "m", "i", ("t1", "t2"), (("t1", 0), ("t2", 3)), 4, "rack", b"x")


@pytest.mark.parametrize("version, generation, rack, owned", [
    (0, -1, None, ()), (1, -1, None, (("t", 1),)), (2, 9, None, (("t", 1),)),
])
def test_decode_member_older_versions(version: int, generation: int, rack: str | None,
                                      owned: tuple[tuple[str, int], ...]) -> None:
    body = struct.pack(">i", 1) + _str("t") + struct.pack(">i", -1)
    if version >= 1:
        body += struct.pack(">i", 1) + _str("t") + struct.pack(">ii", 1, 1)
    if version >= 2:
        body += struct.pack(">i", 9)
    m = decode_member("m", None, struct.pack(">h", version) + body)
    assert m == Member("m", None, ("t",), owned, generation, rack, None)


def test_decode_member_newer_version_and_trailing_bytes() -> None:
    data = encode_subscription(["t"], None, [], 3, "r")
    newer = struct.pack(">h", 9) + data[2:] + b"future fields"
    m = decode_member("m", None, newer)
    assert m is not None and m.generation == 3 and m.rack_id == "r"


@pytest.mark.parametrize("data", [
    b"", b"\x00", struct.pack(">hi", 0, 0) + struct.pack(">i", 0),  # no topics
    struct.pack(">hi", 0, 1) + _str("t")[:3],  # truncated
])
def test_members_librdkafka_leaves_out(data: bytes) -> None:
    assert decode_member("m", None, data) is None


def test_assignment_bytes_as_librdkafka_writes_them() -> None:
    # rd_kafka_group_MemberState_consumer_write(): v0, partitions, the member's user data.
    data = encode_assignment({"a": [0, 1], "b": [2]}, b"")
    assert data == (struct.pack(">hi", 0, 2) + _str("a") + struct.pack(">iii", 2, 0, 1)
                    + _str("b") + struct.pack(">ii", 1, 2) + struct.pack(">i", 0))
    assert decode_assignment(data) == ([("a", 0), ("a", 1), ("b", 2)], b"")
    assert decode_assignment(encode_assignment([("x", 3)], None)) == ([("x", 3)], None)


def test_empty_member_state_is_an_empty_assignment() -> None:
    assert decode_assignment(b"") == ([], None)


def test_sticky_user_data() -> None:
    state = StickyState((("t1", 0), ("t1", 1), ("t2", 4)), 12)
    data = encode_sticky_user_data(state)
    assert data == (struct.pack(">i", 2) + _str("t1") + struct.pack(">iii", 2, 0, 1)
                    + _str("t2") + struct.pack(">ii", 1, 4) + struct.pack(">i", 12))
    assert decode_sticky_user_data(data) == state
    # Java's v0 has no generation.
    assert decode_sticky_user_data(data[:-4]) == StickyState(state.prev_assignment, -1)


def test_member_metadata_per_assignor() -> None:
    owned = [("t", 0)]
    for assignor in (RANGE, ROUNDROBIN, COOPERATIVE_STICKY):
        assert member_metadata(assignor, ["t"], owned, None) == encode_subscription(
            ["t"], None, owned, -1, None)
    sticky = StickyState((("t", 0),), 5)
    assert member_metadata(COOPERATIVE_STICKY, ["t"], owned, "r", sticky) == (
        encode_subscription(["t"], encode_sticky_user_data(sticky), owned, 5, "r"))
    assert member_metadata(RANGE, ["t"], owned, "r", sticky) == encode_subscription(
        ["t"], None, owned, -1, "r")


STRATEGIES = ["range,roundrobin", "range, roundrobin", " range", "range ,roundrobin", "",
              "cooperative-sticky", "range,cooperative-sticky", "sticky",
              "roundrobin,range,roundrobin", ",,range"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_parsing_as_confluent_kafka(strategy: str) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    try:
        consumer = confluent_kafka.Consumer(
            {"group.id": "g", "partition.assignment.strategy": strategy})
        consumer.close()
        expected: str | None = None
    except confluent_kafka.KafkaException as e:
        expected = e.args[0].str().removeprefix("Failed to create consumer: ")
    try:
        configured_assignors(strategy)
        got: str | None = None
    except StrategyError as e:
        got = str(e)
    assert got == expected


def test_strategy_order_and_protocol() -> None:
    assert configured_assignors("roundrobin,range,roundrobin") == [ROUNDROBIN, RANGE]
    assert rebalance_protocol(configured_assignors("cooperative-sticky")) is (
        RebalanceProtocol.COOPERATIVE)
    assert rebalance_protocol(configured_assignors("range")) is RebalanceProtocol.EAGER
    assert rebalance_protocol([]) is RebalanceProtocol.NONE
    assert [a.name for a in BUILTIN] == ["range", "roundrobin", "cooperative-sticky"]


def test_leader_runs_only_an_enabled_assignor() -> None:
    enabled = configured_assignors("range")
    assert find_assignor("range", enabled) is RANGE
    assert find_assignor("roundrobin", enabled) is None  # _UNKNOWN_PROTOCOL


def test_select_protocol() -> None:
    assert select_protocol([["range", "roundrobin"], ["roundrobin", "range"],
                            ["roundrobin"]]) == "roundrobin"
    assert select_protocol([["range", "roundrobin"], ["range"]]) == "range"
    assert select_protocol([["range"], ["roundrobin"]]) is None
    assert select_protocol([]) is None
    # A tie goes to the first protocol in java.util.HashMap order: "range" hashes to bucket 0
    # of 16, "roundrobin" to bucket 14 (String.hashCode spread as HashMap.hash() does).
    assert select_protocol([["roundrobin", "range"], ["range", "roundrobin"]]) == "range"


def test_cooperative_adjustment() -> None:
    # rd_kafka_cooperative_protocol_adjust_assignment(): a partition moving between owners is
    # withheld; unowned ones go to their assignee; owned ones the assignor left out stay.
    members = [Member("a", topics=("t",), owned=(("t", 0), ("t", 1), ("x", 0))),
               Member("b", topics=("t",), owned=(("t", 2),)),
               Member("c", topics=("t",))]
    assignment = {"a": {"t": [0]}, "b": {"t": [1, 2]}, "c": {"t": [3]}}
    assert adjust_cooperative(members, assignment) == {
        "a": {"t": [0], "x": [0]}, "b": {"t": [2]}, "c": {"t": [3]}}


def test_run_assignor_adjusts_only_cooperative() -> None:
    members = [Member("a", topics=("t",), owned=(("t", 0), ("t", 1))),
               Member("b", topics=("t",))]
    md = [TopicMetadata("t", 2)]
    assert run_assignor(RANGE, members, md) == {"a": {"t": [0]}, "b": {"t": [1]}}
    # Sticky moves t0 to b (as ut_testAddRemoveConsumerOneTopic); the cooperative step
    # withholds it until a has revoked it.
    assert COOPERATIVE_STICKY.assign(members, md) == {"a": {"t": [1]}, "b": {"t": [0]}}
    assert run_assignor(COOPERATIVE_STICKY, members, md) == {"a": {"t": [1]}, "b": {}}
