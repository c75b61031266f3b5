"""librdkafka's assignor unit-test helpers (src/rdkafka_assignor.c, rdkafka_assignor.h), for the
ports in test_assignor_*.py: the three rack configurations its tests run under, its mock
metadata (replicas (p + k + first) % brokers, broker b on rack ALL_RACKS[b % racks]), members
that carry their last assignment as owned partitions, and verifyAssignment,
verifyValidityAndBalance (which also makes the assignment the owned partitions, as the C helper
does) and isFullyBalanced.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rdpy.client.group.assignors import Assignment, Member, TopicMetadata

ALL_RACKS: list[str | None] = ["a", "b", "c", "d", "e", "f", None]


class RackConfig(enum.IntEnum):
    """rd_kafka_assignor_ut_rack_config_t."""

    NO_BROKER_RACK = 0
    NO_CONSUMER_RACK = 1
    BROKER_AND_CONSUMER_RACK = 2


def metadata(config: RackConfig, *topics: tuple[str, int], replication_factor: int = 3,
             num_broker_racks: int = 3) -> list[TopicMetadata]:
    """ut_initMetadataConditionalRack()."""
    if config is RackConfig.NO_BROKER_RACK:
        return [TopicMetadata(name, count) for name, count in topics]
    brokers = replication_factor * num_broker_racks if num_broker_racks else replication_factor
    out = []
    first = 0
    for name, count in topics:
        racks = []
        for p in range(count):
            replicas = [(p + k + first) % brokers for k in range(replication_factor)]
            names = ({ALL_RACKS[b % num_broker_racks] for b in replicas}
                     if num_broker_racks else set())
            racks.append(tuple(sorted(r for r in names if r is not None)))
        out.append(TopicMetadata(name, count, tuple(racks)))
        first = (first + count) % brokers
    return out


def consumer_rack(idx: int, config: RackConfig) -> str | None:
    """ut_get_consumer_rack()."""
    cycle = len(ALL_RACKS) if config is RackConfig.NO_BROKER_RACK else 3
    return ALL_RACKS[idx % cycle]


@dataclass
class UtMember:
    """rd_kafka_group_member_t as the C tests build it (group.instance.id = member id,
    generation 1)."""

    member_id: str
    topics: list[str]
    rack: str | None = None
    owned: list[tuple[str, int]] = field(default_factory=list)
    generation: int = 1
    assignment: list[tuple[str, int]] = field(default_factory=list)

    def member(self) -> Member:
        return Member(self.member_id, self.member_id, tuple(self.topics), tuple(self.owned),
                      self.generation, self.rack)


def member(config: RackConfig, member_id: str, idx: int, *topics: str) -> UtMember:
    """ut_initMemberConditionalRack()."""
    rack = None if config is RackConfig.NO_CONSUMER_RACK else consumer_rack(idx, config)
    return UtMember(member_id, list(topics), rack)


def run(assign: Callable[[Sequence[Member], Sequence[TopicMetadata]], Assignment],
        members: Sequence[UtMember], md: Sequence[TopicMetadata]) -> None:
    """rd_kafka_assignor_run(): each member's assignment is replaced."""
    result = assign([m.member() for m in members], md)
    for m in members:
        m.assignment = [(t, p) for t, ps in result[m.member_id].items() for p in ps]


def verify_assignment(m: UtMember, *expected: tuple[str, int]) -> None:
    assert sorted(m.assignment) == sorted(expected), m.member_id


def verify_validity_and_balance(members: Sequence[UtMember]) -> None:
    """verifyValidityAndBalance0(); then each member owns its assignment (ut_set_owned)."""
    for i, m in enumerate(members):
        for topic, p in m.assignment:
            assert topic in m.topics, f"{topic} [{p}] assigned to {m.member_id}, not subscribed"
        m.owned = list(m.assignment)
        for other in members[i + 1:]:
            balanced = abs(len(m.assignment) - len(other.assignment)) <= 1
            other_topics = {t for t, _ in other.assignment}
            for tp in m.assignment:
                assert tp not in other.assignment, f"{m.member_id}, {other.member_id}: {tp}"
                assert balanced or tp[0] not in other_topics, (
                    f"{tp[0]} partitions can move from {m.member_id} to {other.member_id}")


def is_fully_balanced(members: Sequence[UtMember]) -> None:
    sizes = [len(m.assignment) for m in members]
    assert max(sizes) - min(sizes) <= 1, sizes


RACKS_INITIAL = [0, 1, 2]
RACKS_NULL = [6, 6, 6]
RACKS_FINAL = [4, 5, 6]
RACKS_ONE_NULL = [6, 4, 5]


def rack_setup(assign: Callable[[Sequence[Member], Sequence[TopicMetadata]], Assignment],
               replication_factor: int, num_broker_racks: int,
               topics: Sequence[tuple[str, int]], subscriptions: Sequence[Sequence[str]],
               consumer_racks: Sequence[int]) -> tuple[list[UtMember], list[TopicMetadata]]:
    """setupRackAwareAssignment0(): members consumer1.. on ALL_RACKS[consumer_racks[i]]
    (generation 0, as ut_init_member_with_rack leaves it), then one assignor run."""
    md = metadata(RackConfig.BROKER_AND_CONSUMER_RACK, *topics,
                  replication_factor=replication_factor, num_broker_racks=num_broker_racks)
    members = [UtMember(f"consumer{i + 1}", list(sub), ALL_RACKS[consumer_racks[i]],
                        generation=0) for i, sub in enumerate(subscriptions)]
    run(assign, members, md)
    return members, md


def verify_multiple_assignment(members: Sequence[UtMember],
                               expected: Sequence[Sequence[tuple[str, int]]]) -> None:
    for m, exp in zip(members, expected, strict=True):
        verify_assignment(m, *exp)


def rack_mismatches(members: Sequence[UtMember], md: Sequence[TopicMetadata]) -> int:
    """verifyNumPartitionsWithRackMismatch0(): assigned partitions with no replica on the
    member's rack."""
    racks = {(t.name, p): t.racks(p) for t in md for p in range(t.partition_count)}
    return sum(1 for m in members if m.rack is not None
               for tp in m.assignment if m.rack not in racks[tp])


def non_rack_aware_cases() -> list[tuple[int, int, list[int], bool]]:
    """verifyNonRackAwareAssignment(): (replication factor, broker racks, consumer racks,
    whether no partition may be off its member's rack) where rack awareness must not apply."""
    return [(3, 0, RACKS_INITIAL, False), (3, 3, RACKS_NULL, False),
            (3, 3, RACKS_INITIAL, True), (4, 4, RACKS_INITIAL, True),
            (3, 3, RACKS_FINAL, False), (3, 3, RACKS_ONE_NULL, False)]


def parse(spec: str) -> list[tuple[str, int]]:
    """"t1:0 t1:1" -> [("t1", 0), ("t1", 1)]."""
    out = []
    for item in spec.split():
        topic, _, p = item.partition(":")
        out.append((topic, int(p)))
    return out
