"""Message: a consumed or produced message, or an event (``error()`` is not None).

Same surface as ``confluent_kafka.Message``. The consumer's hot path builds messages as
``FetchedMessage()`` objects whose slots the record decoder fills in directly (one object per
record, no validation); the public constructor is keyword-or-positional with confluent-kafka's
argument order and checks, meant for tests and mocks.
A Message is owned by whoever holds it; rdpy never mutates one after handing it to the application.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple, Union

from rdpy.constants import TIMESTAMP_NOT_AVAILABLE
from rdpy.errors import KafkaError

#: One header: (key, value); the value is None for a null header value.
Header = Tuple[str, Optional[bytes]]
#: What ``headers()`` returns: a list of headers in wire order (keys may repeat), or None.
#: Messages built by the application may hold any headers object given to the constructor.
HeadersType = Union[List[Header], Any]


def _opt_int(value: object, *, negative_is_none: bool) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int):
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if negative_is_none and value < 0:
        return None
    return int(value)


class Message:
    """A Kafka message or event, like ``confluent_kafka.Message``.

    ``Message(topic=None, partition=None, offset=None, key=None, value=None, headers=None,
    error=None, timestamp=None, latency=None, leader_epoch=None, delivery_count=None)``; all optional.
    As in confluent-kafka, negative partition/offset/leader_epoch/latency read back as None and
    ``timestamp()`` is ``(TIMESTAMP_NOT_AVAILABLE, 0)`` when not given. ``len(msg)`` is the value's
    length (0 without a value). Messages compare equal when all fields but latency are equal, and
    are unhashable.
    """

    __slots__ = (
        "_topic",
        "_partition",
        "_offset",
        "_key",
        "_value",
        "_headers",
        "_error",
        "_timestamp",
        "_latency",
        "_leader_epoch",
        "_delivery_count",
    )

    def __init__(
        self,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        key: Any = None,
        value: Any = None,
        headers: HeadersType | None = None,
        error: KafkaError | None = None,
        timestamp: tuple[int, int] | None = None,
        latency: float | None = None,
        leader_epoch: int | None = None,
        delivery_count: int | None = None,
    ) -> None:
        self._topic = topic
        self._partition = _opt_int(partition, negative_is_none=True)
        self._offset = _opt_int(offset, negative_is_none=True)
        self._key = key
        self._value = value
        self._headers = headers
        self._error = error
        if timestamp is None:
            self._timestamp: tuple[int, int] = (TIMESTAMP_NOT_AVAILABLE, 0)
        else:
            if (
                not isinstance(timestamp, tuple)
                or len(timestamp) != 2
                or not all(isinstance(x, int) for x in timestamp)
            ):
                raise TypeError("timestamp must be a tuple of (int, int)")
            self._timestamp = (int(timestamp[0]), int(timestamp[1]))
        if latency is not None:
            if not isinstance(latency, (int, float)):
                raise TypeError(f"must be real number, not {type(latency).__name__}")
            latency = float(latency) if latency >= 0 else None
        self._latency = latency
        self._leader_epoch = _opt_int(leader_epoch, negative_is_none=True)
        self._delivery_count = _opt_int(delivery_count, negative_is_none=True)

    def topic(self) -> str | None:
        """Topic name, or None."""
        return self._topic

    def partition(self) -> int | None:
        """Partition number, or None."""
        return self._partition

    def offset(self) -> int | None:
        """Offset, or None."""
        return self._offset

    def key(self) -> Any:
        """Key (bytes for consumed messages), or None."""
        return self._key

    def value(self) -> Any:
        """Value (payload; bytes for consumed messages), or None."""
        return self._value

    def deserialized_key(self) -> Any:
        """The same object as ``key()`` (confluent-kafka's typed accessor for deserializing clients)."""
        return self._key

    def deserialized_value(self) -> Any:
        """The same object as ``value()`` (confluent-kafka's typed accessor for deserializing clients)."""
        return self._value

    def headers(self) -> HeadersType | None:
        """Headers as a list of ``(str, bytes | None)`` tuples in order (keys may repeat), or None."""
        return self._headers

    def error(self) -> KafkaError | None:
        """None for a proper message, else the error or event this object carries."""
        return self._error

    def timestamp(self) -> tuple[int, int]:
        """``(timestamp_type, ms_since_epoch)``; ignore the time if the type is TIMESTAMP_NOT_AVAILABLE."""
        return self._timestamp

    def latency(self) -> float | None:
        """Producer only: seconds from produce() to the broker's acknowledgement, or None."""
        return self._latency

    def leader_epoch(self) -> int | None:
        """The leader epoch of the message's offset, or None."""
        return self._leader_epoch

    def delivery_count(self) -> int | None:
        """Share-consumer delivery count, or None (always None for the classic consumer/producer)."""
        return self._delivery_count

    def set_headers(self, headers: HeadersType | None) -> None:
        """Replace the headers."""
        self._headers = headers

    def set_key(self, key: Any) -> None:
        """Replace the key."""
        self._key = key

    def set_value(self, value: Any) -> None:
        """Replace the value."""
        self._value = value

    def set_topic(self, topic: str | None) -> None:
        """Replace the topic."""
        self._topic = topic

    def set_error(self, error: KafkaError | None) -> None:
        """Replace the error."""
        self._error = error

    def __len__(self) -> int:
        value = self._value
        return 0 if value is None else len(value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self._topic == other._topic
            and self._partition == other._partition
            and self._offset == other._offset
            and self._key == other._key
            and self._value == other._value
            and self._headers == other._headers
            and self._error == other._error
            and self._timestamp == other._timestamp
            and self._leader_epoch == other._leader_epoch
            and self._delivery_count == other._delivery_count
        )

    __hash__ = None  # type: ignore[assignment]


class FetchedMessage(Message):
    """A consumed message as the fetch path builds it: a Message in every respect, created
    with ``FetchedMessage()`` -- no arguments, no checks; the caller fills every slot. Calling
    the class (C-level object creation, ``object.__init__``) costs about 35% less than
    ``object.__new__(Message)`` (measured), and the consumer makes one per record."""

    __slots__ = ()
    __init__ = object.__init__


_new = object.__new__


def _new_message(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: list[Header] | None,
    timestamp: tuple[int, int],
    leader_epoch: int | None,
) -> Message:
    """Hot-path constructor for consumed messages: positional, trusted arguments, no checks.

    ``leader_epoch`` must already be None when unknown (not -1). Thread: any; no locks.
    """
    m: Message = FetchedMessage()
    m._topic = topic
    m._partition = partition
    m._offset = offset
    m._key = key
    m._value = value
    m._headers = headers
    m._error = None
    m._timestamp = timestamp
    m._latency = None
    m._leader_epoch = leader_epoch
    m._delivery_count = None
    return m


def _new_event(error: KafkaError, topic: str | None = None, partition: int | None = None,
               offset: int | None = None) -> Message:
    """An error/event message (``error()`` set), e.g. _PARTITION_EOF or a consumer error."""
    m: Message = _new(Message)
    m._topic = topic
    m._partition = partition
    m._offset = offset
    m._key = None
    m._value = None
    m._headers = None
    m._error = error
    m._timestamp = (TIMESTAMP_NOT_AVAILABLE, 0)
    m._latency = None
    m._leader_epoch = None
    m._delivery_count = None
    return m
