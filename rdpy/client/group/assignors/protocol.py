"""The "consumer" protocol's bytes inside JoinGroup and SyncGroup, as librdkafka writes and
reads them: a member's ConsumerProtocolSubscription (rd_kafka_consumer_protocol_member_metadata_new
in src/rdkafka_assignor.c, read by rd_kafka_group_MemberMetadata_consumer_read in
src/rdkafka_cgrp.c), the ConsumerProtocolAssignment the leader sends
(rd_kafka_group_MemberState_consumer_write in src/rdkafka_request.c), and the sticky assignor's
StickyAssignorUserData v1 (rdkafka_sticky_assignor.c). Each is an int16 version followed by the
generated message body (rdpy/protocol/messages) at that version.

Pure functions: no state; they run on whichever thread calls them.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdpy.protocol.errors import ProtocolError
from rdpy.protocol.messages import consumer_protocol_assignment as assignment_msgs
from rdpy.protocol.messages import consumer_protocol_subscription as subscription_msgs
from rdpy.protocol.primitives import Reader, Writer

from .common import Member, TopicPartitionKey

if TYPE_CHECKING:
    from rdpy.protocol.messages.consumer_protocol_assignment import (
        TopicPartition as AssignedTopic,
    )
    from rdpy.protocol.messages.consumer_protocol_subscription import (
        TopicPartition as OwnedTopic,
    )

__all__ = [
    "ASSIGNMENT_VERSION",
    "SUBSCRIPTION_VERSION",
    "StickyState",
    "decode_assignment",
    "decode_member",
    "decode_sticky_user_data",
    "encode_assignment",
    "encode_subscription",
    "encode_sticky_user_data",
]

#: librdkafka writes every subscription at v3 (owned partitions, generation, rack), whatever
#: the assignor.
SUBSCRIPTION_VERSION = 3
#: ...and every assignment at v0.
ASSIGNMENT_VERSION = 0
#: StickyAssignorUserData's layout: [topic [partition]] generation (Java's v1).
_S_VERSION = struct.Struct(">h")
#: librdkafka drops a member subscribing to no topic or more than this many.
_MAX_SUBSCRIBED_TOPICS = 10000


def _runs(partitions: Sequence[TopicPartitionKey]) -> list[tuple[str, list[int]]]:
    """rd_kafka_buf_write_topic_partitions(): consecutive partitions of one topic share an
    entry; a topic that comes back later gets another (the list is not sorted first)."""
    runs: list[tuple[str, list[int]]] = []
    for topic, partition in partitions:
        if runs and runs[-1][0] == topic:
            runs[-1][1].append(partition)
        else:
            runs.append((topic, [partition]))
    return runs


def _flatten(topics: Sequence[OwnedTopic] | Sequence[AssignedTopic]) -> list[TopicPartitionKey]:
    return [(t.topic, p) for t in topics for p in t.partitions]


def encode_subscription(topics: Sequence[str], user_data: bytes | None,
                        owned: Sequence[TopicPartitionKey], generation: int,
                        rack_id: str | None) -> bytes:
    """A JoinGroup protocol's metadata as librdkafka writes it: v3, no user data written as
    empty bytes (Kafka 0.9 brokers cannot read null), no owned partitions as an empty array."""
    body = subscription_msgs.ConsumerProtocolSubscription(
        topics=list(topics), user_data=b"" if user_data is None else user_data,
        owned_partitions=[subscription_msgs.TopicPartition(topic=t, partitions=ps)
                          for t, ps in _runs(owned)],
        generation_id=generation, rack_id=rack_id)
    return _S_VERSION.pack(SUBSCRIPTION_VERSION) + body.encode(SUBSCRIPTION_VERSION)


def decode_member(member_id: str, group_instance_id: str | None,
                  metadata: bytes) -> Member | None:
    """One JoinGroup member as the leader reads it, or None when librdkafka would leave the
    member out of the assignment (undecodable, or no topics / more than 10000). Fields of
    versions above 3 are ignored, as are trailing bytes."""
    r = Reader(metadata)
    try:
        version = r.int16()
        sub = subscription_msgs.ConsumerProtocolSubscription.read(
            r, max(0, min(version, subscription_msgs.ConsumerProtocolSubscription.MAX_VERSION)))
    except ProtocolError:
        return None
    if not 0 < len(sub.topics) <= _MAX_SUBSCRIBED_TOPICS:
        return None
    return Member(member_id=member_id, group_instance_id=group_instance_id,
                  topics=tuple(sub.topics), owned=tuple(_flatten(sub.owned_partitions)),
                  generation=sub.generation_id if version >= 2 else -1,
                  rack_id=sub.rack_id if version >= 3 else None, user_data=sub.user_data)


def encode_assignment(partitions: Sequence[TopicPartitionKey] | Mapping[str, Sequence[int]],
                      user_data: bytes | None) -> bytes:
    """A SyncGroup member assignment as librdkafka's leader writes it: v0. librdkafka puts the
    member's own subscription user data back in it (`Member.user_data`)."""
    if isinstance(partitions, Mapping):
        partitions = [(t, p) for t, ps in partitions.items() for p in ps]
    body = assignment_msgs.ConsumerProtocolAssignment(
        assigned_partitions=[assignment_msgs.TopicPartition(topic=t, partitions=ps)
                             for t, ps in _runs(partitions)],
        user_data=user_data)
    return _S_VERSION.pack(ASSIGNMENT_VERSION) + body.encode(ASSIGNMENT_VERSION)


def decode_assignment(data: bytes) -> tuple[list[TopicPartitionKey], bytes | None]:
    """The partitions (in the order sent) and user data of a SyncGroup assignment; empty bytes
    are an empty assignment. Raises ProtocolError when undecodable (librdkafka rejoins)."""
    if not data:
        return [], None
    r = Reader(data)
    version = r.int16()
    body = assignment_msgs.ConsumerProtocolAssignment.read(
        r, max(0, min(version, assignment_msgs.ConsumerProtocolAssignment.MAX_VERSION)))
    return _flatten(body.assigned_partitions), body.user_data


@dataclass(frozen=True, slots=True)
class StickyState:
    """What the sticky assignor remembers between rebalances (rd_kafka_sticky_assignor_state_t):
    the last assignment received and its generation."""

    prev_assignment: tuple[TopicPartitionKey, ...]
    generation: int


def encode_sticky_user_data(state: StickyState) -> bytes:
    """StickyAssignorUserData v1: [topic [partition]] generation, no version prefix."""
    w = Writer()
    runs = _runs(state.prev_assignment)
    w.int32(len(runs))
    for topic, partitions in runs:
        w.string(topic)
        w.int32(len(partitions))
        for p in partitions:
            w.int32(p)
    w.int32(state.generation)
    return w.getvalue()


def decode_sticky_user_data(data: bytes) -> StickyState:
    """StickyAssignorUserData; v0 (Java's, without the generation) reads as generation -1.
    Raises ProtocolError when undecodable."""
    r = Reader(data)
    out: list[TopicPartitionKey] = []
    for _ in range(r.array_len()):
        topic = r.string()
        out.extend((topic, p) for p in r.prim_array("i", 4, r.array_len()))
    generation = r.int32() if r.remaining() >= 4 else -1
    return StickyState(tuple(out), generation)
