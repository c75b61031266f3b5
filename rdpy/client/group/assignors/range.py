"""The range assignor (librdkafka's src/rdkafka_range_assignor.c, after Kafka's RangeAssignor):
per topic, the subscribers in `member_cmp` order each take a contiguous range of partitions, the
first `partitions % members` of them one more. With racks (KIP-881), partitions first go to
members on a rack holding a replica, topics with the same subscribers and partition count
("co-partitioned") together, then the rest as without racks.

Pure functions: no state; they run on whichever thread calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .common import (
    Assignment,
    EligibleTopic,
    Member,
    TopicMetadata,
    add_partition,
    c_qsort,
    eligible_topics,
    empty_assignment,
    member_cmp,
    normalized,
    str_cmp,
    use_rack_aware_assignment,
)

__all__ = ["assign_range"]


@dataclass(slots=True)
class _TopicState:
    """rd_kafka_topic_assignment_state_t: one topic's assignment under way."""

    topic: TopicMetadata
    members: list[Member]  # in member_cmp order
    unassigned: list[bool]
    unassigned_left: int
    per_consumer: int
    consumers_with_extra: int
    needs_rack_aware: bool
    assigned: dict[str, list[int]] = field(default_factory=dict)

    def max_assignable(self, member: Member) -> int:
        return (self.per_consumer + (1 if self.consumers_with_extra > 0 else 0)
                - len(self.assigned[member.member_id]))


def _topic_state(topic: EligibleTopic) -> _TopicState:
    members = c_qsort(topic.members, member_cmp)
    count = topic.metadata.partition_count
    return _TopicState(
        topic=topic.metadata, members=members, unassigned=[True] * count,
        unassigned_left=count, per_consumer=count // len(members),
        consumers_with_extra=count % len(members),
        needs_rack_aware=use_rack_aware_assignment([EligibleTopic(topic.metadata, members)]),
        assigned={m.member_id: [] for m in members})


def _state_cmp(a: _TopicState, b: _TopicState) -> int:
    """rd_kafka_topic_assignment_state_cmp(): by the sorted subscribers' member ids, then their
    count, then the partition count; equal states are co-partitioned."""
    for am, bm in zip(a.members, b.members):
        r = str_cmp(am.member_id, bm.member_id)
        if r:
            return r
    if len(a.members) != len(b.members):
        return (len(a.members) > len(b.members)) - (len(a.members) < len(b.members))
    pa, pb = a.topic.partition_count, b.topic.partition_count
    return (pa > pb) - (pa < pb)


def _assign(result: Assignment, member: Member, state: _TopicState, partition: int) -> None:
    assigned = state.assigned[member.member_id]
    assigned.append(partition)
    add_partition(result, member.member_id, state.topic.name, partition)
    state.unassigned[partition] = False
    state.unassigned_left -= 1
    if len(assigned) > state.per_consumer:
        state.consumers_with_extra -= 1


def _racks_match(member: Member, state: _TopicState, partition: int) -> bool:
    if not member.rack_id:
        return True
    return member.rack_id in state.topic.racks(partition)


def _always(member: Member, state: _TopicState, partition: int) -> bool:
    return True


def _assign_ranges(result: Assignment, state: _TopicState,
                   may_assign: Callable[[Member, _TopicState, int], bool]) -> None:
    """rd_kafka_assign_ranges(): each subscriber in turn takes the lowest unassigned partitions
    it may have, up to its quota."""
    for member in state.members:
        if state.unassigned_left == 0:
            break
        room = state.max_assignable(member)
        if room <= 0:
            continue
        chosen = []
        for p in range(state.topic.partition_count):
            if not state.unassigned[p]:
                continue
            if room <= 0:
                break
            if not may_assign(member, state, p):
                continue
            chosen.append(p)
            room -= 1
        for p in chosen:
            _assign(result, member, state, p)


def _fits_all(member: Member, bucket: list[_TopicState], partition: int) -> bool:
    for state in bucket:
        if not member.rack_id or member.rack_id not in state.topic.racks(partition):
            return False
        if state.max_assignable(member) <= 0:
            return False
    return True


def _assign_co_partitioned(result: Assignment, bucket: list[_TopicState]) -> None:
    """rd_kafka_assign_co_partitioned(): partition i of every topic in the bucket goes to the
    first subscriber on a rack of all of them with room in all of them, if any."""
    first = bucket[0]
    for partition in range(first.topic.partition_count):
        member = next((m for m in first.members if _fits_all(m, bucket, partition)), None)
        if member is None:
            continue
        for state in bucket:
            _assign(result, member, state, partition)


def _buckets(states: list[_TopicState]) -> list[list[_TopicState]]:
    buckets: list[list[_TopicState]] = []
    for state in states:
        if buckets and _state_cmp(state, buckets[-1][0]) == 0:
            buckets[-1].append(state)
        else:
            buckets.append([state])
    return buckets


def assign_range(members: Sequence[Member], topics: Sequence[TopicMetadata]) -> Assignment:
    """rd_kafka_range_assignor_assign_cb(): the range assignment of `topics` (metadata order)
    to `members` (JoinGroup order)."""
    result = empty_assignment(members)
    states = c_qsort([_topic_state(t) for t in eligible_topics(members, topics)], _state_cmp)
    for bucket in _buckets(states):
        if len(bucket) == 1:
            if bucket[0].needs_rack_aware:
                _assign_ranges(result, bucket[0], _racks_match)
        else:
            _assign_co_partitioned(result, bucket)
    for state in states:
        _assign_ranges(result, state, _always)
    return normalized(result)
