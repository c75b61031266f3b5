"""The consumer's assignment: which partitions it reads, the offsets it was told to start at, and
the topics librdkafka would have a topic object for.

Changed on the application's thread (assign/unassign, and later the group membership's
rebalances through the same calls) under the handle lock, because the main thread copies it
under that lock for auto commit; the broker threads answering commits and lookups read single
entries (dict.get is atomic in CPython). Checks come before changes: a refused call changes
nothing, as librdkafka's rd_kafka_assignment_add/_subtract.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdpy.client.consume.logical import is_valid_start
from rdpy.client.toppar import Toppar
from rdpy.constants import OFFSET_INVALID, OFFSET_STORED
from rdpy.errors import ErrorCode, KafkaError, KafkaException
from rdpy.topic_partition import TopicPartition

#: A partition as the assignment names it.
Key = tuple[str, int]


class Assignment:
    """The assigned partitions' toppars, by (topic, partition). Each method says its thread."""

    def __init__(self) -> None:
        self._toppars: dict[Key, Toppar] = {}
        #: The offsets assign() was given, as assignment() reports them (confluent does).
        self._start_offsets: dict[Key, int] = {}
        #: Topics librdkafka would have a topic object for: one of their partitions was
        #: assigned, or list_topics() asked for them (seek/store_offsets errors depend on it).
        self._known_topics: set[str] = set()

    def get(self, topic: str, partition: int) -> Toppar | None:
        """Any thread, no lock. The toppar if the partition is assigned."""
        return self._toppars.get((topic, partition))

    def __bool__(self) -> bool:
        return bool(self._toppars)

    def toppars(self) -> list[Toppar]:
        """Handle lock (the main thread's auto commit) or the application's thread. A copy."""
        return list(self._toppars.values())

    def listing(self) -> list[TopicPartition]:
        """App thread. assignment(): sorted by topic and partition (as librdkafka keeps them),
        with the offsets assign() was given (OFFSET_INVALID shown as OFFSET_STORED)."""
        return [TopicPartition(t, p, self._start_offsets[(t, p)])
                for (t, p) in sorted(self._toppars)]

    def know_topic(self, topic: str) -> None:
        """App thread. librdkafka now has a topic object for `topic` (list_topics(topic))."""
        self._known_topics.add(topic)

    def not_assigned_error(self, topic: str) -> int:
        """App thread. What seek()/store_offsets() of a partition that is not assigned fail
        with, as librdkafka: _STATE for a topic it has an object for, else _UNKNOWN_PARTITION."""
        return ErrorCode._STATE if topic in self._known_topics else ErrorCode._UNKNOWN_PARTITION

    def check_additions(self, partitions: Sequence[TopicPartition]) -> None:
        """App thread. As librdkafka's rd_kafka_assignment_add, before anything changes: start
        offsets must be real or known logical ones, no partition twice, none already
        assigned."""
        seen: set[Key] = set()
        for p in sorted(partitions, key=_key):
            key = _key(p)
            if not is_valid_start(p.offset):
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG,
                    f"{p.topic} [{p.partition}] has invalid start offset {p.offset}"))
            if key in seen:
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG, f"Duplicate {p.topic} [{p.partition}] in input list"))
            seen.add(key)
            if key in self._toppars:
                raise KafkaException(KafkaError(
                    ErrorCode._CONFLICT,
                    f"{p.topic} [{p.partition}] is already part of the current assignment"))

    def check_removals(self, partitions: Sequence[TopicPartition]) -> None:
        """App thread. As librdkafka's rd_kafka_assignment_subtract: every partition must be
        assigned."""
        if not self._toppars and partitions:
            raise KafkaException(KafkaError(ErrorCode._INVALID_ARG,
                                            "Can't subtract from empty assignment"))
        for p in sorted(partitions, key=_key):
            if _key(p) not in self._toppars:
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG,
                    f"{p.topic} [{p.partition}] can't be unassigned since it is not in the "
                    "current assignment"))

    def add(self, tp: Toppar, start_offset: int) -> None:
        """App thread, handle lock. `tp` is assigned, to start at `start_offset`."""
        key = (tp.topic, tp.partition)
        self._toppars[key] = tp
        # librdkafka's assignment says OFFSET_STORED for OFFSET_INVALID (the same: start at
        # the committed offset).
        self._start_offsets[key] = start_offset if start_offset != OFFSET_INVALID else OFFSET_STORED
        self._known_topics.add(tp.topic)

    def remove(self, topic: str, partition: int) -> Toppar | None:
        """App thread, handle lock. Forget one partition; its toppar, if it was assigned."""
        self._start_offsets.pop((topic, partition), None)
        return self._toppars.pop((topic, partition), None)

    def clear(self) -> list[Toppar]:
        """App thread, handle lock. Forget every partition; their toppars."""
        toppars = list(self._toppars.values())
        self._toppars.clear()
        self._start_offsets.clear()
        return toppars


def _key(p: TopicPartition) -> Key:
    return (p.topic, p.partition)


__all__ = ["Assignment", "Key"]
