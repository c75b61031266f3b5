"""ListOffsets and OffsetFetch as the consumer builds and reads them, for both the background
resolution of logical offsets (offsets.py) and the application's blocking lookups (lookups.py).

Builders group partitions by topic and return the `build(version)` a Request takes; readers turn
a response (or the local error that replaced it) into one typed answer per partition, with the
broker's error decided by rdpy.errors.err_action() for the request's kind. Any thread: nothing
here keeps state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdpy.constants import OFFSET_INVALID
from rdpy.errors import ErrAction, ErrorCode, RequestKind, err_action
from rdpy.protocol.messages import list_offsets as list_offsets_msgs
from rdpy.protocol.messages import offset_fetch as offset_fetch_msgs

if TYPE_CHECKING:
    from rdpy.protocol.messages.list_offsets import (
        ListOffsetsPartition,
        ListOffsetsPartitionResponse,
        ListOffsetsRequest,
        ListOffsetsResponse,
    )
    from rdpy.protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse

#: OffsetFetch above v7 changes the request layout (batched groups; member id and epoch).
OFFSET_FETCH_MAX_VERSION = 7

#: A partition as requests name it.
PartitionKey = tuple[str, int]

#: Whether a ListOffsets error is worth asking again: librdkafka's consumer offset query
#: retries when the table says RETRY or REFRESH (rd_kafka_toppar_handle_Offset); a REFRESH
#: answer means the leader may have moved.
_LIST_OFFSETS_RETRIABLE = ErrAction.RETRY | ErrAction.REFRESH


@dataclass(frozen=True, slots=True)
class ListOffsetsAnswer:
    """One partition's ListOffsets answer: an offset, or an error decided for LIST_OFFSETS."""

    error: int
    offset: int
    leader_epoch: int

    @property
    def actions(self) -> ErrAction:
        return err_action(self.error, RequestKind.LIST_OFFSETS)

    @property
    def retriable(self) -> bool:
        """Ask again (after a metadata refresh when `actions` says REFRESH); otherwise the
        error is permanent for this lookup."""
        return bool(self.actions & _LIST_OFFSETS_RETRIABLE)


def list_offsets_builder(isolation: int, queries: Iterable[tuple[str, int, int]]
                         ) -> Callable[[int], ListOffsetsRequest]:
    """A ListOffsets request for (topic, partition, timestamp or logical offset) queries, each
    partition at most once, grouped by topic in the order first asked."""
    by_topic: dict[str, list[ListOffsetsPartition]] = {}
    for topic, partition, timestamp in queries:
        by_topic.setdefault(topic, []).append(list_offsets_msgs.ListOffsetsPartition(
            partition_index=partition, current_leader_epoch=-1, timestamp=timestamp,
            max_num_offsets=1))

    def build(version: int) -> ListOffsetsRequest:
        return list_offsets_msgs.ListOffsetsRequest(
            replica_id=-1, isolation_level=isolation,
            topics=[list_offsets_msgs.ListOffsetsTopic(name=t, partitions=parts)
                    for t, parts in by_topic.items()])
    return build


def list_offsets_answers(err: int, response: ListOffsetsResponse | None,
                         asked: Iterable[PartitionKey]) -> dict[PartitionKey, ListOffsetsAnswer]:
    """Each asked partition's answer. A request that failed (`err`, no response) fails each
    partition with its error; a partition the response leaves out is _UNKNOWN_PARTITION, as
    librdkafka's offset query has it (permanent)."""
    if response is None:
        failed = ListOffsetsAnswer(err or ErrorCode._TRANSPORT, OFFSET_INVALID, -1)
        return {key: failed for key in asked}
    found: dict[PartitionKey, ListOffsetsAnswer] = {}
    for t in response.topics:
        for p in t.partitions:
            found[(t.name, p.partition_index)] = _list_offsets_answer(p)
    missing = ListOffsetsAnswer(ErrorCode._UNKNOWN_PARTITION, OFFSET_INVALID, -1)
    return {key: found.get(key, missing) for key in asked}


def _list_offsets_answer(p: ListOffsetsPartitionResponse) -> ListOffsetsAnswer:
    """ListOffsets v0 answers in old_style_offsets, later versions in offset."""
    offset = int(p.old_style_offsets[0]) if p.old_style_offsets else int(p.offset)
    return ListOffsetsAnswer(p.error_code, offset, p.leader_epoch)


def offset_fetch_builder(group_id: str, partitions: Sequence[tuple[str, int]]
                         ) -> Callable[[int], OffsetFetchRequest]:
    """An OffsetFetch of `group_id`'s committed offsets for (topic, partition)s (send with
    max_version=OFFSET_FETCH_MAX_VERSION). require_stable (v7): offsets of transactions still
    open are answered UNSTABLE_OFFSET_COMMIT rather than left out."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in partitions:
        by_topic.setdefault(topic, []).append(partition)

    def build(version: int) -> OffsetFetchRequest:
        return offset_fetch_msgs.OffsetFetchRequest(group_id=group_id, topics=[
            offset_fetch_msgs.OffsetFetchRequestTopic(name=t, partition_indexes=parts)
            for t, parts in by_topic.items()], require_stable=version >= 7)

    return build


@dataclass(frozen=True, slots=True)
class CommittedOffsets:
    """An OffsetFetch answer: the request's own error (0: none; RequestKind.OFFSET_FETCH),
    else each partition's committed offset (OFFSET_INVALID: none) and error
    (RequestKind.OFFSET_FETCH_PARTITION). Partitions the broker left out are absent."""

    error: int
    partitions: dict[PartitionKey, tuple[int, int]]

    @property
    def actions(self) -> ErrAction:
        """What to do about the request's error."""
        return err_action(self.error, RequestKind.OFFSET_FETCH)


def partition_actions(err: int) -> ErrAction:
    """What to do about one partition's OffsetFetch error."""
    return err_action(err, RequestKind.OFFSET_FETCH_PARTITION)


def committed_offsets(err: int, response: OffsetFetchResponse | None) -> CommittedOffsets:
    """An OffsetFetch response (or the local error `err` that replaced it) as CommittedOffsets.
    The broker says -1 for "no committed offset": OFFSET_INVALID (-1001) here, as librdkafka."""
    if response is None:
        return CommittedOffsets(err or ErrorCode._TRANSPORT, {})
    # The partitions are read even with a group error: librdkafka counts and reports them
    # (Kafka sends none then; librdkafka's mock does).
    out: dict[PartitionKey, tuple[int, int]] = {}
    for t in response.topics:
        for p in t.partitions:
            offset = p.committed_offset if p.committed_offset >= 0 else OFFSET_INVALID
            out[(t.name, p.partition_index)] = (offset, p.error_code)
    return CommittedOffsets(response.error_code, out)


__all__ = ["CommittedOffsets", "ListOffsetsAnswer", "OFFSET_FETCH_MAX_VERSION", "PartitionKey",
           "committed_offsets", "list_offsets_answers", "list_offsets_builder",
           "offset_fetch_builder", "partition_actions"]
