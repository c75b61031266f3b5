"""The roundrobin assignor (librdkafka's src/rdkafka_roundrobin_assignor.c, after Kafka's
RoundRobinAssignor): topics in name order, their partitions in order, each to the next member
(in `member_cmp` order, cycling) that subscribes to the topic.

A pure function: no state; it runs on whichever thread calls it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .common import (
    Assignment,
    Member,
    TopicMetadata,
    add_partition,
    c_qsort,
    eligible_topics,
    empty_assignment,
    member_cmp,
    normalized,
    str_cmp,
    subscribes,
)

__all__ = ["assign_roundrobin"]


def assign_roundrobin(members: Sequence[Member], topics: Sequence[TopicMetadata]) -> Assignment:
    """rd_kafka_roundrobin_assignor_assign_cb(): the roundrobin assignment of `topics` to
    `members`. The cursor over the members carries on from one topic to the next."""
    result = empty_assignment(members)
    eligible = c_qsort(eligible_topics(members, topics),
                       lambda a, b: str_cmp(a.metadata.name, b.metadata.name))
    ordered = c_qsort(members, member_cmp)
    cursor = -1
    for topic in eligible:
        name = topic.metadata.name
        for partition in range(topic.metadata.partition_count):
            cursor = (cursor + 1) % len(ordered)
            while not subscribes(ordered[cursor], name):
                cursor = (cursor + 1) % len(ordered)
            add_partition(result, ordered[cursor].member_id, name, partition)
    return normalized(result)
