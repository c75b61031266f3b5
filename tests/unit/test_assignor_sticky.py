"""The cooperative-sticky assignor against librdkafka's own unit tests
(src/rdkafka_sticky_assignor.c, ut_test*), each run under the three rack configurations as
there, asserting the same assignments and librdkafka's verifyValidityAndBalance /
isFullyBalanced checks. Members carry their last assignment as owned partitions from one run
to the next, as the C helpers make them.
"""

from __future__ import annotations

import os
import sys

import pytest

from rdpy.client.group.assignors import Member, TopicMetadata, assign_sticky

sys.path.insert(0, os.path.dirname(__file__))
from _assignor_harness import (  # noqa: E402
    RackConfig,
    UtMember,
    is_fully_balanced,
    member,
    metadata,
    run,
    verify_assignment,
    verify_validity_and_balance,
)

CONFIGS = list(RackConfig)


def sticky(members: list[UtMember], md: list[TopicMetadata]) -> None:
    run(assign_sticky, members, md)


def check(members: list[UtMember], fully: bool = True) -> None:
    verify_validity_and_balance(members)
    if fully:
        is_fully_balanced(members)


def t(topic: str, *partitions: int) -> list[tuple[str, int]]:
    return [(topic, p) for p in partitions]


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_no_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1")]
    sticky(ms, metadata(config))
    verify_assignment(ms[0])
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_nonexistent_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1")]
    sticky(ms, metadata(config, ("topic1", 0)))
    verify_assignment(ms[0])
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_one_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1")]
    sticky(ms, metadata(config, ("topic1", 3)))
    verify_assignment(ms[0], *t("topic1", 0, 1, 2))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_only_assigns_partitions_from_subscribed_topics(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1")]
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3)))
    verify_assignment(ms[0], *t("topic1", 0, 1, 2))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_one_consumer_multiple_topics(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2")]
    sticky(ms, metadata(config, ("topic1", 1), ("topic2", 2)))
    verify_assignment(ms[0], ("topic1", 0), ("topic2", 0), ("topic2", 1))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_one_topic_one_partition(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1"), member(config, "consumer2", 1, "topic1")]
    sticky(ms, metadata(config, ("topic1", 1)))
    verify_assignment(ms[0], ("topic1", 0))
    verify_assignment(ms[1])
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_one_topic_two_partitions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1"), member(config, "consumer2", 1, "topic1")]
    sticky(ms, metadata(config, ("topic1", 2)))
    verify_assignment(ms[0], ("topic1", 0))
    verify_assignment(ms[1], ("topic1", 1))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_multiple_consumers_mixed_topic_subscriptions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1"),
          member(config, "consumer2", 1, "topic1", "topic2"),
          member(config, "consumer3", 2, "topic1")]
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 2)))
    verify_assignment(ms[0], *t("topic1", 0, 2))
    verify_assignment(ms[1], *t("topic2", 0, 1))
    verify_assignment(ms[2], ("topic1", 1))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_two_consumers_two_topics_six_partitions(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2")]
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3)))
    verify_assignment(ms[0], *t("topic1", 0, 2), ("topic2", 1))
    verify_assignment(ms[1], ("topic1", 1), *t("topic2", 0, 2))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_add_remove_consumer_one_topic(config: RackConfig) -> None:
    md = metadata(config, ("topic1", 3))
    ms = [member(config, "consumer1", 0, "topic1"), member(config, "consumer2", 1, "topic1")]
    sticky(ms[:1], md)
    verify_assignment(ms[0], *t("topic1", 0, 1, 2))
    check(ms[:1])
    sticky(ms, md)
    verify_assignment(ms[0], *t("topic1", 1, 2))
    verify_assignment(ms[1], ("topic1", 0))
    check(ms)
    sticky(ms[1:], md)
    verify_assignment(ms[1], *t("topic1", 0, 1, 2))
    check(ms[1:])


@pytest.mark.parametrize("config", CONFIGS)
def test_poor_round_robin_assignment_scenario(config: RackConfig) -> None:
    all5 = ("topic1", "topic2", "topic3", "topic4", "topic5")
    odd = ("topic1", "topic3", "topic5")
    ms = [member(config, "consumer1", 0, *all5), member(config, "consumer2", 1, *odd),
          member(config, "consumer3", 2, *odd), member(config, "consumer4", 3, *all5)]
    sticky(ms, metadata(config, ("topic1", 2), ("topic2", 1), ("topic3", 2), ("topic4", 1),
                        ("topic5", 2)))
    verify_assignment(ms[0], ("topic2", 0), ("topic3", 0))
    verify_assignment(ms[1], ("topic1", 0), ("topic3", 1))
    verify_assignment(ms[2], ("topic1", 1), ("topic5", 0))
    verify_assignment(ms[3], ("topic4", 0), ("topic5", 1))
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_add_remove_topic_two_consumers(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2")]
    sticky(ms, metadata(config, ("topic1", 3)))
    verify_assignment(ms[0], *t("topic1", 0, 2))
    verify_assignment(ms[1], ("topic1", 1))
    check(ms)
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3)))
    verify_assignment(ms[0], *t("topic1", 0, 2), ("topic2", 1))
    verify_assignment(ms[1], ("topic1", 1), *t("topic2", 2, 0))
    check(ms)
    sticky(ms, metadata(config, ("topic2", 3)))
    verify_assignment(ms[0], ("topic2", 1))
    verify_assignment(ms[1], *t("topic2", 0, 2))
    check(ms)


def _numbered_topics(config: RackConfig, count: int) -> list[TopicMetadata]:
    return metadata(config, *[(f"topic{i + 1}", i + 1) for i in range(count)])


@pytest.mark.parametrize("config", CONFIGS)
def test_reassignment_after_one_consumer_leaves(config: RackConfig) -> None:
    md = _numbered_topics(config, 19)
    ms = [member(config, f"consumer{i}", i, *[f"topic{j}" for j in range(1, i + 1)])
          for i in range(1, 20)]
    sticky(ms, md)
    check(ms, fully=False)
    del ms[9]
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_reassignment_after_one_consumer_added(config: RackConfig) -> None:
    md = metadata(config, ("topic1", 20))
    ms = [member(config, f"consumer{i}", i, "topic1") for i in range(1, 10)]
    sticky(ms[:8], md)
    check(ms[:8], fully=False)
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_same_subscriptions(config: RackConfig) -> None:
    md = _numbered_topics(config, 15)
    topics = [f"topic{i + 1}" for i in range(15)]
    ms = [member(config, f"consumer{i}", i, *topics) for i in range(1, 10)]
    sticky(ms, md)
    check(ms, fully=False)
    del ms[5]
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_large_assignment_with_multiple_consumers_leaving(config: RackConfig) -> None:
    md = _numbered_topics(config, 40)
    ms = [member(config, f"consumer{i + 1}", i,
                 *[md[j].name for j in range(((i + 1) * 17) % 40)]) for i in range(200)]
    sticky(ms, md)
    check(ms, fully=False)
    for i in range(len(ms) - 1, -1, -4):
        del ms[i]
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_new_subscription(config: RackConfig) -> None:
    md = metadata(config, ("topic1", 1), ("topic2", 2), ("topic3", 3), ("topic4", 4),
                  ("topic5", 5))
    ms = [member(config, f"consumer{i}", i, *[md[j].name for j in range(4 - i, -1, -1)])
          for i in range(3)]
    sticky(ms, md)
    check(ms)
    ms[0].topics.append("topic1")
    sticky(ms, md)
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_move_existing_assignments(config: RackConfig) -> None:
    md = metadata(config, ("topic1", 3))
    ms = [member(config, f"consumer{i + 1}", i, "topic1") for i in range(4)]
    sticky(ms, md)
    check(ms, fully=False)
    assert all(len(m.assignment) <= 1 for m in ms)
    before = [list(m.assignment) for m in ms]
    sticky(ms[1:], md)
    check(ms[1:], fully=False)
    for m, prev in zip(ms[1:], before[1:]):
        assert len(m.assignment) == 1
        assert not prev or m.assignment[0] in prev, f"stickiness not honoured for {m.member_id}"


@pytest.mark.parametrize("config", CONFIGS)
def test_move_existing_assignments_j(config: RackConfig) -> None:
    md = metadata(config, *[(f"topic{i}", 1) for i in range(1, 7)])
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2", "topic3", "topic4"),
          member(config, "consumer3", 2, "topic2", "topic3", "topic4", "topic5", "topic6")]
    ms[0].owned = [("topic1", 0)]
    ms[1].owned = [("topic2", 0), ("topic3", 0)]
    ms[2].owned = [("topic4", 0), ("topic5", 0), ("topic6", 0)]
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_stickiness(config: RackConfig) -> None:
    # librdkafka sets rkgm_assignment (not owned) before running: nothing is owned.
    md = metadata(config, *[(f"topic{i}", 1) for i in range(1, 7)])
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2", "topic3", "topic4"),
          member(config, "consumer3", 1, "topic4", "topic5", "topic6")]
    sticky(ms, md)
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_stickiness2(config: RackConfig) -> None:
    md = metadata(config, ("topic1", 6))
    ms = [member(config, f"consumer{i + 1}", i, "topic1") for i in range(3)]
    sticky(ms[:1], md)
    check(ms[:1])
    verify_assignment(ms[0], *t("topic1", 0, 1, 2, 3, 4, 5))
    sticky(ms[:2], md)
    check(ms[:2])
    verify_assignment(ms[0], *t("topic1", 3, 4, 5))
    verify_assignment(ms[1], *t("topic1", 0, 1, 2))
    for _ in range(2):  # stable
        sticky(ms, md)
        check(ms)
        verify_assignment(ms[0], *t("topic1", 4, 5))
        verify_assignment(ms[1], *t("topic1", 1, 2))
        verify_assignment(ms[2], *t("topic1", 0, 3))
    sticky(ms[1:], md)
    check(ms[1:])
    verify_assignment(ms[1], *t("topic1", 1, 2, 5))
    verify_assignment(ms[2], *t("topic1", 0, 3, 4))
    sticky(ms[2:], md)
    check(ms[2:])
    verify_assignment(ms[2], *t("topic1", 0, 1, 2, 3, 4, 5))


@pytest.mark.parametrize("config", CONFIGS)
def test_assignment_updated_for_deleted_topic(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2", "topic3")]
    sticky(ms, metadata(config, ("topic1", 1), ("topic3", 100)))
    check(ms)
    assert len(ms[0].assignment) == 1 + 100


@pytest.mark.parametrize("config", CONFIGS)
def test_no_exception_thrown_when_only_subscribed_topic_deleted(config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1")]
    sticky(ms, metadata(config, ("topic1", 3)))
    check(ms)
    sticky(ms, [])
    check(ms)
    verify_assignment(ms[0])


def test_conflicting_previous_assignments() -> None:
    # As in librdkafka: the conflicting partitions are set as the assignment, not as owned.
    ms = [UtMember("consumer1", ["topic1"]), UtMember("consumer2", ["topic1"])]
    sticky(ms, [TopicMetadata("topic1", 2)])
    assert len(ms[0].assignment) == len(ms[1].assignment) == 1
    assert ms[0].assignment[0] != ms[1].assignment[0]
    check(ms)


@pytest.mark.parametrize("config", CONFIGS)
def test_all_consumers_reach_expected_quota_and_are_considered_filled(
        config: RackConfig) -> None:
    ms = [member(config, f"consumer{i + 1}", i, "topic1") for i in range(3)]
    ms[0].owned = t("topic1", 0, 1)
    ms[1].owned = t("topic1", 2)
    sticky(ms, metadata(config, ("topic1", 4)))
    check(ms, fully=False)
    verify_assignment(ms[0], *t("topic1", 0, 1))
    verify_assignment(ms[1], ("topic1", 2))
    verify_assignment(ms[2], ("topic1", 3))


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("stale_generation", [9, -1], ids=["stale", "no_generation"])
def test_owned_partitions_are_invalidated_for_consumer_with_stale_or_no_generation(
        config: RackConfig, stale_generation: int) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2")]
    ms[0].owned, ms[0].generation = [("topic1", 0), ("topic1", 2), ("topic2", 1)], 10
    ms[1].owned, ms[1].generation = [("topic1", 0), ("topic1", 2), ("topic2", 1)], stale_generation
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3)))
    check(ms, fully=False)
    verify_assignment(ms[0], *t("topic1", 0, 2), ("topic2", 1))
    verify_assignment(ms[1], ("topic1", 1), *t("topic2", 0, 2))


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("owned2, expected", [
    ([("topic1", 0), ("topic1", 2)], [[("topic1", 1)], [("topic1", 2)], [("topic1", 0)]]),
    ([("topic1", 1), ("topic1", 2)], [[("topic1", 0)], [("topic1", 2)], [("topic1", 1)]]),
], ids=["claimed_twice_0", "claimed_twice_1"])
def test_partitions_claimed_by_multiple_consumers_in_same_generation(
        config: RackConfig, owned2: list[tuple[str, int]],
        expected: list[list[tuple[str, int]]]) -> None:
    ms = [member(config, f"consumer{i + 1}", i, "topic1") for i in range(3)]
    ms[0].owned = t("topic1", 0, 1)
    ms[1].owned = owned2
    sticky(ms, metadata(config, ("topic1", 3)))
    check(ms, fully=False)
    for m, exp in zip(ms, expected):
        verify_assignment(m, *exp)


@pytest.mark.parametrize("config", CONFIGS)
def test_ensure_partitions_assigned_to_highest_generation(config: RackConfig) -> None:
    topics = ("topic1", "topic2", "topic3")
    ms = [member(config, f"consumer{i + 1}", i, *topics) for i in range(3)]
    ms[0].owned, ms[0].generation = [("topic1", 0), ("topic2", 0), ("topic3", 0)], 10
    ms[1].owned, ms[1].generation = [("topic1", 1), ("topic2", 1), ("topic3", 1)], 9
    ms[2].owned, ms[2].generation = [("topic2", 1), ("topic3", 0), ("topic3", 2)], 8
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3), ("topic3", 3)))
    verify_assignment(ms[0], ("topic1", 0), ("topic2", 0), ("topic3", 0))
    verify_assignment(ms[1], ("topic1", 1), ("topic2", 1), ("topic3", 1))
    verify_assignment(ms[2], ("topic1", 2), ("topic2", 2), ("topic3", 2))
    check(ms, fully=False)


@pytest.mark.parametrize("config", CONFIGS)
def test_no_reassignment_on_current_members(config: RackConfig) -> None:
    topics = ("topic0", "topic1", "topic2", "topic3")
    ms = [member(config, f"consumer{i + 1}", i, *topics) for i in range(4)]
    ms[0].owned, ms[0].generation = [], -1
    ms[1].owned, ms[1].generation = [("topic0", 0), ("topic2", 0), ("topic1", 0)], 9
    ms[2].owned, ms[2].generation = [("topic3", 2), ("topic2", 2), ("topic1", 1)], 8
    ms[3].owned, ms[3].generation = [("topic3", 1), ("topic0", 1), ("topic0", 2)], 7
    sticky(ms, metadata(config, *[(name, 3) for name in topics]))
    check(ms, fully=False)
    verify_assignment(ms[0], ("topic1", 2), ("topic2", 1), ("topic3", 0))


@pytest.mark.parametrize("config", CONFIGS)
def test_owned_partitions_are_invalidated_for_consumer_with_multiple_generation(
        config: RackConfig) -> None:
    ms = [member(config, "consumer1", 0, "topic1", "topic2"),
          member(config, "consumer2", 1, "topic1", "topic2")]
    ms[0].owned, ms[0].generation = [("topic1", 0), ("topic2", 1), ("topic1", 1)], 10
    ms[1].owned, ms[1].generation = [("topic1", 0), ("topic2", 1), ("topic2", 2)], 8
    sticky(ms, metadata(config, ("topic1", 3), ("topic2", 3)))
    check(ms, fully=False)
    verify_assignment(ms[0], ("topic1", 0), ("topic2", 1), ("topic1", 1))
    verify_assignment(ms[1], ("topic1", 2), ("topic2", 2), ("topic2", 0))


def test_no_members_no_assignment() -> None:
    assert assign_sticky([], [TopicMetadata("topic1", 3)]) == {}


def test_every_member_gets_an_entry() -> None:
    result = assign_sticky([Member("a", topics=("t",)), Member("b", topics=("other",))],
                           [TopicMetadata("t", 1)])
    assert result == {"a": {"t": [0]}, "b": {}}


# --- rack-aware assignment (KIP-881): ut_testRackAwareAssignmentWith*Subscription -------------

from _assignor_harness import (  # noqa: E402
    ALL_RACKS,
    RACKS_INITIAL,
    non_rack_aware_cases,
    parse,
    rack_mismatches,
    verify_multiple_assignment,
)

RACK_TOPICS = [("t1", 6), ("t2", 7), ("t3", 2)]
UNIFORM = [["t1", "t2", "t3"]] * 3
NON_EQUAL = [["t1", "t2", "t3"], ["t1", "t2", "t3"], ["t1", "t3"]]


def rack_run(members: list[UtMember] | None, rf: int, broker_racks: int,
             subscriptions: list[list[str]], consumer_racks: list[int],
             owned: list[str] | None = None) -> tuple[list[UtMember], list[TopicMetadata]]:
    """setupRackAwareAssignment0(): fresh members (generation 0) unless `members` are reused
    (they then own what they were last assigned), one run, then verifyValidityAndBalance."""
    md = metadata(RackConfig.BROKER_AND_CONSUMER_RACK, *RACK_TOPICS, replication_factor=rf,
                  num_broker_racks=broker_racks)
    if members is None:
        members = [UtMember(f"consumer{i + 1}", list(sub), ALL_RACKS[consumer_racks[i]],
                            generation=0) for i, sub in enumerate(subscriptions)]
        for m, spec in zip(members, owned or []):
            m.owned = parse(spec)
    sticky(members, md)
    verify_validity_and_balance(members)
    return members, md


UNIFORM_EXPECTED = ["t1:0 t1:3 t2:0 t2:3 t2:6", "t1:1 t1:4 t2:1 t2:4 t3:0",
                    "t1:2 t1:5 t2:2 t2:5 t3:1"]
POORLY_PLACED = ["t1:0 t1:1 t1:2 t1:3 t1:4", "t1:5 t2:0 t2:1 t2:2 t2:3",
                 "t2:4 t2:5 t2:6 t3:0 t3:1"]


@pytest.mark.parametrize("subscriptions, expected", [
    (UNIFORM, UNIFORM_EXPECTED),
    (NON_EQUAL, ["t1:5 t2:0 t2:2 t2:4 t2:6", "t1:3 t2:1 t2:3 t2:5 t3:0",
                 "t1:0 t1:1 t1:2 t1:4 t3:1"]),
], ids=["uniform", "non_equal"])
def test_rack_awareness_not_used(subscriptions: list[list[str]], expected: list[str]) -> None:
    for rf, broker_racks, consumer_racks, strict in non_rack_aware_cases():
        ms, md = rack_run(None, rf, broker_racks, subscriptions, consumer_racks)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        ms, md = rack_run(ms, rf, broker_racks, subscriptions, consumer_racks)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        if strict:
            assert rack_mismatches(ms, md) == 0


@pytest.mark.parametrize("subscriptions, runs", [
    (UNIFORM, [(1, 3, UNIFORM_EXPECTED, 0), (2, 3, UNIFORM_EXPECTED, 0),
               (3, 2, UNIFORM_EXPECTED, 5)]),
    (NON_EQUAL, [
        (1, 3, ["t1:3 t2:0 t2:2 t2:3 t2:6", "t1:4 t2:1 t2:4 t2:5 t3:0",
                "t1:0 t1:1 t1:2 t1:5 t3:1"], 4),
        (2, 3, ["t1:3 t2:0 t2:2 t2:5 t2:6", "t1:0 t2:1 t2:3 t2:4 t3:0",
                "t1:1 t1:2 t1:4 t1:5 t3:1"], 0),
        (3, 2, ["t1:5 t2:0 t2:2 t2:4 t2:6", "t1:3 t2:1 t2:3 t2:5 t3:0",
                "t1:0 t1:1 t1:2 t1:4 t3:1"], 5)]),
], ids=["uniform", "non_equal"])
def test_rack_aware_assignment(subscriptions: list[list[str]],
                               runs: list[tuple[int, int, list[str], int]]) -> None:
    for rf, broker_racks, expected, mismatches in runs:
        ms, md = rack_run(None, rf, broker_racks, subscriptions, RACKS_INITIAL)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        assert rack_mismatches(ms, md) == mismatches
        ms, md = rack_run(ms, rf, broker_racks, subscriptions, RACKS_INITIAL)
        verify_multiple_assignment(ms, [parse(e) for e in expected])
        assert rack_mismatches(ms, md) == mismatches


@pytest.mark.parametrize("subscriptions, expected, mismatches", [
    (UNIFORM, UNIFORM_EXPECTED, 0),
    (NON_EQUAL, ["t1:3 t2:0 t2:2 t2:3 t2:6", "t1:4 t2:1 t2:4 t2:5 t3:0",
                 "t1:0 t1:1 t1:2 t1:5 t3:1"], 4),
], ids=["uniform", "non_equal"])
def test_rack_awareness_improves_owned_partitions(
        subscriptions: list[list[str]], expected: list[str], mismatches: int) -> None:
    ms, md = rack_run(None, 1, 3, subscriptions, RACKS_INITIAL, owned=POORLY_PLACED)
    verify_multiple_assignment(ms, [parse(e) for e in expected])
    assert rack_mismatches(ms, md) == mismatches


@pytest.mark.parametrize("rf", [1, 2, 3])
def test_stickiness_retained_when_racks_match(rf: int) -> None:
    ms, md = rack_run(None, rf, 3, UNIFORM, RACKS_INITIAL, owned=UNIFORM_EXPECTED)
    verify_multiple_assignment(ms, [parse(e) for e in UNIFORM_EXPECTED])
    assert rack_mismatches(ms, md) == 0
