"""TopicPartition with confluent-kafka-python's surface (constructor, attributes, ordering, repr).

Plain value object: no locks; not shared mutable state between threads by rdpy itself.
"""

from __future__ import annotations

from rdpy.constants import OFFSET_INVALID
from rdpy.errors import KafkaError

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int32(value: object, argname: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if value > _INT32_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if value < _INT32_MIN:
        raise OverflowError("signed integer is less than minimum")
    return int(value)


def _int64(value: object, argname: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError("int too big to convert")
    return int(value)


class TopicPartition:
    """A topic partition, optionally with an offset, commit metadata, leader epoch and error.

    ``TopicPartition(topic, partition=-1, offset=OFFSET_INVALID, metadata=None, leader_epoch=None)``,
    like ``confluent_kafka.TopicPartition``: ``partition`` and ``offset`` are writable; ``topic``,
    ``metadata``, ``leader_epoch`` and ``error`` are read-only. A negative leader epoch reads as None.
    Equality, hashing and ordering use ``(topic, partition)`` only.

    Differences from confluent-kafka: ``metadata=None`` and ``leader_epoch=None`` may be passed
    explicitly (confluent-kafka's signature documents them as defaults but rejects them); comparing
    with a non-TopicPartition returns NotImplemented (so ``==`` is False and ``<`` raises TypeError)
    where confluent-kafka raises NotImplementedError; instances can be pickled.
    """

    __slots__ = ("_topic", "_partition", "_offset", "_metadata", "_leader_epoch", "_error")

    def __init__(
        self,
        topic: str,
        partition: int = -1,
        offset: int = OFFSET_INVALID,
        metadata: str | None = None,
        leader_epoch: int | None = None,
    ) -> None:
        if not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {_tname(topic)}")
        self._topic = topic
        self._partition = _int32(partition, "partition")
        self._offset = _int64(offset, "offset")
        if metadata is not None and not isinstance(metadata, str):
            raise TypeError(f"argument 4 must be str, not {_tname(metadata)}")
        self._metadata = metadata
        if leader_epoch is not None:
            leader_epoch = _int32(leader_epoch, "leader_epoch")
            if leader_epoch < 0:
                leader_epoch = None
        self._leader_epoch = leader_epoch
        self._error: KafkaError | None = None

    @classmethod
    def _make(
        cls,
        topic: str,
        partition: int,
        offset: int = OFFSET_INVALID,
        metadata: str | None = None,
        leader_epoch: int | None = None,
        error: KafkaError | None = None,
    ) -> TopicPartition:
        """Internal constructor without validation, for rdpy's own results (may set ``error``)."""
        self = cls.__new__(cls)
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._metadata = metadata
        self._leader_epoch = leader_epoch if leader_epoch is not None and leader_epoch >= 0 else None
        self._error = error
        return self

    @property
    def topic(self) -> str:
        """Topic name (read-only)."""
        return self._topic

    @property
    def partition(self) -> int:
        """Partition id (-1 when unset)."""
        return self._partition

    @partition.setter
    def partition(self, value: int) -> None:
        self._partition = _int32(value, "partition")

    @property
    def offset(self) -> int:
        """Offset, or one of the logical ``OFFSET_*`` values (default ``OFFSET_INVALID``)."""
        return self._offset

    @offset.setter
    def offset(self, value: int) -> None:
        self._offset = _int64(value, "offset")

    @property
    def metadata(self) -> str | None:
        """Commit metadata string (read-only)."""
        return self._metadata

    @property
    def leader_epoch(self) -> int | None:
        """The offset's leader epoch, or None (read-only)."""
        return self._leader_epoch

    @property
    def error(self) -> KafkaError | None:
        """Per-partition error set by rdpy on results, or None (read-only)."""
        return self._error

    def __repr__(self) -> str:
        return (
            f"TopicPartition{{topic={self._topic},partition={self._partition},"
            f"offset={self._offset},leader_epoch={self._leader_epoch},error={self._error}}}"
        )

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return self._topic == other._topic and self._partition == other._partition

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return not (self._topic == other._topic and self._partition == other._partition)

    def __lt__(self, other: TopicPartition) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return (self._topic, self._partition) < (other._topic, other._partition)

    def __le__(self, other: TopicPartition) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return (self._topic, self._partition) <= (other._topic, other._partition)

    def __gt__(self, other: TopicPartition) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return (self._topic, self._partition) > (other._topic, other._partition)

    def __ge__(self, other: TopicPartition) -> bool:
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return (self._topic, self._partition) >= (other._topic, other._partition)

    def __hash__(self) -> int:
        return hash((self._topic, self._partition))

    def __reduce__(self) -> tuple[object, ...]:
        return (
            TopicPartition._make,
            (self._topic, self._partition, self._offset, self._metadata, self._leader_epoch,
             self._error),
        )


def _tname(value: object) -> str:
    return "None" if value is None else type(value).__name__
