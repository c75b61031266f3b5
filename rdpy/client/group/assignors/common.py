"""What every partition assignor takes and gives, and the pieces librdkafka's assignors share
(src/rdkafka_assignor.c): the group members as the leader decoded them from JoinGroup, the
subscribed topics' metadata, which members subscribe to which topic (`eligible_topics`), the
member order (`member_cmp`), the rack-awareness test, and C's qsort as glibc runs it.

Pure functions and immutable values: no state, no thread of their own; they run on whichever
thread calls them (the group leader's assignment runs on the main thread).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = [
    "Assignment",
    "EligibleTopic",
    "Member",
    "RebalanceProtocol",
    "TopicMetadata",
    "TopicPartitionKey",
    "c_qsort",
    "eligible_topics",
    "empty_assignment",
    "member_cmp",
    "subscribes",
    "use_rack_aware_assignment",
]

T = TypeVar("T")

#: A partition as the assignors handle it: (topic, partition).
TopicPartitionKey = tuple[str, int]

#: An assignor's result: member id -> topic -> partitions (ascending). Every member given to the
#: assignor has an entry, an empty dict when it gets nothing.
Assignment = dict[str, dict[str, list[int]]]


class RebalanceProtocol(enum.IntEnum):
    """librdkafka's rd_kafka_rebalance_protocol_t; `name` is what rebalance_protocol() says."""

    NONE = 0
    EAGER = 1
    COOPERATIVE = 2


@dataclass(frozen=True, slots=True)
class Member:
    """One group member as the leader sees it (librdkafka's rd_kafka_group_member_t): from
    JoinGroup's member list and its ConsumerProtocolSubscription (see protocol.py)."""

    member_id: str
    #: group.instance.id (KIP-345); None for a dynamic member.
    group_instance_id: str | None = None
    #: Subscribed topic names in the member's order; a name starting with '^' is a regex.
    topics: tuple[str, ...] = ()
    #: Partitions the member owns (ConsumerProtocolSubscription v1+), in its order.
    owned: tuple[TopicPartitionKey, ...] = ()
    #: The generation the owned partitions are from (v2+; -1 when not sent).
    generation: int = -1
    #: client.rack (v3+; None when not sent or null).
    rack_id: str | None = None
    #: The subscription's user data, as sent.
    user_data: bytes | None = None


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    """A topic as the leader's Metadata request found it: partitions 0..partition_count-1 and,
    when rack-aware assignment may apply, each partition's replica racks (sorted, no
    duplicates; empty when unknown)."""

    name: str
    partition_count: int
    partition_racks: tuple[tuple[str, ...], ...] = ()

    def racks(self, partition: int) -> tuple[str, ...]:
        """The sorted racks of `partition`'s replicas (empty when unknown)."""
        if partition < len(self.partition_racks):
            return self.partition_racks[partition]
        return ()


@dataclass(slots=True)
class EligibleTopic:
    """A topic at least one member subscribes to, with those members in the given member order
    (librdkafka's rd_kafka_assignor_topic_t)."""

    metadata: TopicMetadata
    members: list[Member] = field(default_factory=list)


def c_qsort(items: Sequence[T], cmp: Callable[[T, T], int]) -> list[T]:
    """`items` sorted as glibc's qsort() sorts them: a top-down merge sort (msort.c) taking the
    left element on ties. For a total order any stable sort agrees; this one also agrees where
    librdkafka's comparator is not transitive (member_cmp in a mix of static and dynamic
    members)."""
    n = len(items)
    if n <= 1:
        return list(items)
    n1 = n // 2
    left = c_qsort(items[:n1], cmp)
    right = c_qsort(items[n1:], cmp)
    out: list[T] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if cmp(left[i], right[j]) <= 0:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def str_cmp(a: str, b: str) -> int:
    """strcmp()/rd_kafkap_str_cmp() on UTF-8 strings: code point order is byte order."""
    return (a > b) - (a < b)


def member_cmp(a: Member, b: Member) -> int:
    """rd_kafka_group_member_cmp(): by group.instance.id when both members have one, else by
    member id."""
    if a.group_instance_id is not None and b.group_instance_id is not None:
        return str_cmp(a.group_instance_id, b.group_instance_id)
    return str_cmp(a.member_id, b.member_id)


def subscribes(member: Member, topic: str) -> bool:
    """rd_kafka_group_member_find_subscription(): an exact name, or a '^' regex that matches."""
    return any(_matches(sub, topic) for sub in member.topics)


def _matches(subscription: str, topic: str) -> bool:
    if subscription.startswith("^"):
        try:
            return re.search(subscription, topic) is not None
        except re.error:
            return False  # librdkafka logs the invalid regex and treats it as no match
    return subscription == topic


def eligible_topics(members: Sequence[Member],
                    topics: Sequence[TopicMetadata]) -> list[EligibleTopic]:
    """rd_kafka_member_subscriptions_map(): in metadata order, each topic some member subscribes
    to, with its subscribers in `members` order."""
    out = []
    for md in topics:
        subscribers = [m for m in members if subscribes(m, md.name)]
        if subscribers:
            out.append(EligibleTopic(md, subscribers))
    return out


def empty_assignment(members: Sequence[Member]) -> Assignment:
    return {m.member_id: {} for m in members}


def add_partition(result: Assignment, member_id: str, topic: str, partition: int) -> None:
    result.setdefault(member_id, {}).setdefault(topic, []).append(partition)


def normalized(result: Assignment) -> Assignment:
    """The result with topics in name order and each topic's partitions ascending."""
    return {mid: {t: sorted(ps) for t, ps in sorted(tps.items())}
            for mid, tps in result.items()}


def use_rack_aware_assignment(topics: Sequence[EligibleTopic]) -> bool:
    """rd_kafka_use_rack_aware_assignment(): a member has a (non-empty) rack, some partition has
    a replica on one of the members' racks, and some partition lacks a replica on one of the
    racks the partitions use."""
    consumer_racks = {m.rack_id for t in topics for m in t.members if m.rack_id}
    if not consumer_racks:
        return False
    partition_racks = {r for t in topics for p in range(t.metadata.partition_count)
                       for r in t.metadata.racks(p)}
    if not partition_racks or not (consumer_racks & partition_racks):
        return False
    return any(len(t.metadata.racks(p)) != len(partition_racks)
               for t in topics for p in range(t.metadata.partition_count))
