"""The leader's last step under the COOPERATIVE rebalance protocol (KIP-429), as librdkafka's
rd_kafka_cooperative_protocol_adjust_assignment() (src/rdkafka_cgrp.c) does it after the
assignor: a partition the assignor moved from one member to another is given to neither this
round (its owner revokes it and rejoins, and the next round assigns it); partitions nobody
owned go to their new member; partitions a member owns that the assignor did not hand out at
all stay with that member.

A pure function: no state; it runs on whichever thread calls it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .common import Assignment, Member, TopicPartitionKey, add_partition, member_cmp, normalized

__all__ = ["adjust_cooperative"]


def _owners(members: Sequence[Member]) -> dict[TopicPartitionKey, Member]:
    owners: dict[TopicPartitionKey, Member] = {}
    for m in members:
        for tp in m.owned:
            owners[tp] = m  # a partition owned twice: the last member in JoinGroup order
    return owners


def _assignees(members: Sequence[Member],
               assignment: Assignment) -> dict[TopicPartitionKey, Member]:
    out: dict[TopicPartitionKey, Member] = {}
    for m in members:
        for topic, partitions in assignment.get(m.member_id, {}).items():
            for p in partitions:
                out[(topic, p)] = m
    return out


def adjust_cooperative(members: Sequence[Member], assignment: Assignment) -> Assignment:
    """The assignment the leader sends in SyncGroup under the cooperative protocol."""
    assigned = _assignees(members, assignment)
    owned = _owners(members)
    result: Assignment = {m.member_id: {} for m in members}
    for tp, member in assigned.items():
        owner = owned.get(tp)
        if owner is None:
            add_partition(result, member.member_id, tp[0], tp[1])
        elif member_cmp(member, owner) == 0:
            add_partition(result, owner.member_id, tp[0], tp[1])
    for tp, owner in owned.items():
        if tp not in assigned:
            add_partition(result, owner.member_id, tp[0], tp[1])
    return normalized(result)
