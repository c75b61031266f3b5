"""The range assignor against librdkafka's unit tests (src/rdkafka_range_assignor.c: the basic
cases under the three rack configurations, the KIP-881 rack-aware and co-partitioning cases),
asserting the same assignments and rack-mismatch counts.
"""

from __future__ import annotations

import os
import sys

import pytest

from rdpy.client.group.assignors import Member, TopicMetadata, assign_range

sys.path.insert(0, os.path.dirname(__file__))
from _assignor_harness import (  # noqa: E402
    RACKS_INITIAL,
    RackConfig,
    UtMember,
    member,
    metadata,
    non_rack_aware_cases,
    parse,
    rack_mismatches,
    rack_setup,
    run,
    verify_assignment,
    verify_multiple_assignment,
)

CONFIGS = list(RackConfig)


def ranged(members: list[UtMember], md: list[TopicMetadata]) -> None:
    run(assign_range, members, md)


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_no_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1")]
    ranged(ms, metadata(config))
    verify_assignment(ms[0])


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_nonexistent_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1")]
    ranged(ms, metadata(config, ("t1", 0)))
    verify_assignment(ms[0])


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_one_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1")]
    ranged(ms, metadata(config, ("t1", 3)))
    verify_assignment(ms[0], *parse("t1:0 t1:1 t1:2"))


@pytest.mark.parametrize("config", CONFIGS)
def test_only_assigns_partitions_from_subscribed_topics(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1")]
    ranged(ms, metadata(config, ("t1", 3), ("t2", 3)))
    verify_assignment(ms[0], *parse("t1:0 t1:1 t1:2"))


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_multiple_topics(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1", "t2")]
    ranged(ms, metadata(config, ("t1", 1), ("t2", 2)))
    verify_assignment(ms[0], *parse("t1:0 t2:0 t2:1"))


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_one_topic_one_partition(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1"), member(config, "consumer2", 1, "t1")]
    ranged(ms, metadata(config, ("t1", 1)))
    verify_assignment(ms[0], ("t1", 0))
    verify_assignment(ms[1])


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_one_topic_two_partitions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1"), member(config, "consumer2", 1, "t1")]
    ranged(ms, metadata(config, ("t1", 2)))
    verify_assignment(ms[0], ("t1", 0))
    verify_assignment(ms[1], ("t1", 1))


@pytest.mark.parametrize("config", CONFIGS)
def test_multiple_consumers_mixed_topic_subscriptions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1"), member(config, "consumer2", 1, "t1", "t2"),
          member(config, "consumer3", 2, "t1")]
    ranged(ms, metadata(config, ("t1", 3), ("t2", 2)))
    verify_assignment(ms[0], ("t1", 0))
    verify_assignment(ms[1], *parse("t1:1 t2:0 t2:1"))
    verify_assignment(ms[2], ("t1", 2))


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_two_topics_six_partitions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "t1", "t2"),
          member(config, "consumer2", 1, "t1", "t2")]
    ranged(ms, metadata(config, ("t1", 3), ("t2", 3)))
    verify_assignment(ms[0], *parse("t1:0 t1:1 t2:0 t2:1"))
    verify_assignment(ms[1], *parse("t1:2 t2:2"))


T3 = ["t1", "t2", "t3"]
T13 = ["t1", "t3"]

# (topics, subscriptions, non-rack-aware expectation, [(rf, broker racks, expectation,
#  mismatches)]) from ut_testRackAwareAssignmentWith*.
RACK_CASES = {
    "uniform_subscription": (
        [("t1", 6), ("t2", 7), ("t3", 2)], [T3, T3, T3],
        ["t1:0 t1:1 t2:0 t2:1 t2:2 t3:0", "t1:2 t1:3 t2:3 t2:4 t3:1", "t1:4 t1:5 t2:5 t2:6"],
        [(1, 3, ["t1:0 t1:3 t2:0 t2:3 t2:6", "t1:1 t1:4 t2:1 t2:4 t3:0",
                 "t1:2 t1:5 t2:2 t2:5 t3:1"], 0),
         (2, 3, ["t1:0 t1:2 t2:0 t2:2 t2:3 t3:1", "t1:1 t1:3 t2:1 t2:4 t3:0",
                 "t1:4 t1:5 t2:5 t2:6"], 1),
         (3, 2, ["t1:0 t1:1 t2:0 t2:1 t2:2 t3:0", "t1:2 t1:3 t2:3 t2:4 t3:1",
                 "t1:4 t1:5 t2:5 t2:6"], 4)]),
    "non_equal_subscription": (
        [("t1", 6), ("t2", 7), ("t3", 2)], [T3, T3, T13],
        ["t1:0 t1:1 t2:0 t2:1 t2:2 t2:3 t3:0", "t1:2 t1:3 t2:4 t2:5 t2:6 t3:1", "t1:4 t1:5"],
        [(1, 3, ["t1:0 t1:3 t2:0 t2:2 t2:3 t2:6", "t1:1 t1:4 t2:1 t2:4 t2:5 t3:0",
                 "t1:2 t1:5 t3:1"], 2),
         (2, 3, ["t1:0 t1:2 t2:0 t2:2 t2:3 t2:5 t3:1", "t1:1 t1:3 t2:1 t2:4 t2:6 t3:0",
                 "t1:4 t1:5"], 0),
         (3, 2, ["t1:0 t1:1 t2:0 t2:1 t2:2 t2:3 t3:0", "t1:2 t1:3 t2:4 t2:5 t2:6 t3:1",
                 "t1:4 t1:5"], 2)]),
    "uniform_partitions": (
        [("t1", 5), ("t2", 5), ("t3", 5)], [T3, T3, T3],
        ["t1:0 t1:1 t2:0 t2:1 t3:0 t3:1", "t1:2 t1:3 t2:2 t2:3 t3:2 t3:3", "t1:4 t2:4 t3:4"],
        [(rf, 3 if rf < 3 else 2,
          ["t1:0 t1:1 t2:0 t2:1 t3:0 t3:1", "t1:2 t1:3 t2:2 t2:3 t3:2 t3:3",
           "t1:4 t2:4 t3:4"], mismatch) for rf, mismatch in ((1, 10), (2, 5), (3, 3))]),
    "uniform_partitions_non_equal_subscription": (
        [("t1", 5), ("t2", 5), ("t3", 5)], [T3, T3, T13],
        ["t1:0 t1:1 t2:0 t2:1 t2:2 t3:0 t3:1", "t1:2 t1:3 t2:3 t2:4 t3:2 t3:3", "t1:4 t3:4"],
        [(1, 3, ["t1:0 t1:1 t2:0 t2:1 t2:4 t3:0 t3:1", "t1:2 t1:3 t2:2 t2:3 t3:2 t3:3",
                 "t1:4 t3:4"], 9),
         (2, 3, ["t1:2 t2:0 t2:1 t2:3 t3:2", "t1:0 t1:3 t2:2 t2:4 t3:0 t3:3",
                 "t1:1 t1:4 t3:1 t3:4"], 0),
         (3, 2, ["t1:0 t1:1 t2:0 t2:1 t2:2 t3:0 t3:1", "t1:2 t1:3 t2:3 t2:4 t3:2 t3:3",
                 "t1:4 t3:4"], 2)]),
}


@pytest.mark.parametrize("case", RACK_CASES)
def test_rack_awareness_not_used(case: str) -> None:
    topics, subscriptions, expected, _ = RACK_CASES[case]
    for rf, broker_racks, consumer_racks, strict in non_rack_aware_cases():
        ms, md = rack_setup(assign_range, rf, broker_racks, topics, subscriptions,
                            consumer_racks)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        if strict:
            assert rack_mismatches(ms, md) == 0


@pytest.mark.parametrize("case", RACK_CASES)
def test_rack_aware_assignment(case: str) -> None:
    topics, subscriptions, _, runs = RACK_CASES[case]
    for rf, broker_racks, expected, mismatches in runs:
        ms, md = rack_setup(assign_range, rf, broker_racks, topics, subscriptions,
                            RACKS_INITIAL)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        assert rack_mismatches(ms, md) == mismatches, (rf, broker_racks)


CO = [("t1", 6), ("t2", 6), ("t3", 2), ("t4", 2)]


@pytest.mark.parametrize("subscriptions, runs", [
    ([["t1", "t2"], ["t1", "t2"], ["t3", "t4"], ["t3", "t4"]], [
        (3, 2, ["t1:0 t1:1 t1:2 t2:0 t2:1 t2:2", "t1:3 t1:4 t1:5 t2:3 t2:4 t2:5",
                "t3:0 t4:0", "t3:1 t4:1"], None),
        (2, 2, ["t1:0 t1:1 t1:2 t2:0 t2:1 t2:2", "t1:3 t1:4 t1:5 t2:3 t2:4 t2:5",
                "t3:0 t4:0", "t3:1 t4:1"], 0),
        (1, 2, ["t1:0 t1:2 t1:4 t2:0 t2:2 t2:4", "t1:1 t1:3 t1:5 t2:1 t2:3 t2:5",
                "t3:1 t4:1", "t3:0 t4:0"], 0)]),
    ([["t1", "t2", "t3", "t4"]] * 4, [
        (3, 2, ["t1:0 t1:1 t2:0 t2:1 t3:0 t4:0", "t1:2 t1:3 t2:2 t2:3 t3:1 t4:1",
                "t1:4 t2:4", "t1:5 t2:5"], None),
        (2, 2, ["t1:0 t1:1 t2:0 t2:1 t3:0 t4:0", "t1:2 t1:3 t2:2 t2:3 t3:1 t4:1",
                "t1:4 t2:4", "t1:5 t2:5"], 0),
        (1, 2, ["t1:0 t1:2 t2:0 t2:2 t3:0 t4:0", "t1:1 t1:3 t2:1 t2:3 t3:1 t4:1",
                "t1:5 t2:5", "t1:4 t2:4"], 0),
        (1, 3, ["t1:0 t1:3 t2:0 t2:3 t3:0 t4:0", "t1:1 t1:4 t2:1 t2:4 t3:1 t4:1",
                "t1:2 t2:2", "t1:5 t2:5"], 6)]),
], ids=["co_partitioning0", "co_partitioning1"])
def test_rack_aware_assignment_with_co_partitioning(
        subscriptions: list[list[str]],
        runs: list[tuple[int, int, list[str], int | None]]) -> None:
    for rf, broker_racks, expected, mismatches in runs:
        ms, md = rack_setup(assign_range, rf, broker_racks, CO, subscriptions, [0, 1, 1, 0])
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        if mismatches is not None:
            assert rack_mismatches(ms, md) == mismatches


def test_co_partitioned_assignment_with_same_subscription() -> None:
    topics = [("t1", 6), ("t2", 6), ("t3", 2), ("t4", 2), ("t5", 4), ("t6", 4)]
    subs = [[t for t, _ in topics]] * 3
    expected = ["t1:0 t1:1 t2:0 t2:1 t3:0 t4:0 t5:0 t5:1 t6:0 t6:1",
                "t1:2 t1:3 t2:2 t2:3 t3:1 t4:1 t5:2 t6:2", "t1:4 t1:5 t2:4 t2:5 t5:3 t6:3"]
    for broker_racks in (0, 3):
        ms, md = rack_setup(assign_range, 3, broker_racks, topics, subs, RACKS_INITIAL)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        if broker_racks:
            assert rack_mismatches(ms, md) == 0


def test_static_members_are_ordered_by_group_instance_id() -> None:
    # rd_kafka_group_member_cmp: instance ids when both members have one.
    members = [Member("a", "z", ("t",)), Member("b", "y", ("t",))]
    assert assign_range(members, [TopicMetadata("t", 2)]) == {"a": {"t": [1]}, "b": {"t": [0]}}
    dynamic = [Member("a", None, ("t",)), Member("b", None, ("t",))]
    assert assign_range(dynamic, [TopicMetadata("t", 2)]) == {"a": {"t": [0]}, "b": {"t": [1]}}
