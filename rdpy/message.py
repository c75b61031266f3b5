"""Message and Messages: a consumed or produced message, or an event (``error()`` is not None).

Same surface as ``confluent_kafka.Message`` and ``confluent_kafka.Messages``. The consumer's hot
path builds messages as ``FetchedMessage()`` objects whose slots the record decoder fills in
directly (one object per record, no validation); the producer's delivery reports do the same
from ``Message.__new__``. The public constructor takes confluent-kafka's arguments, positional or
keyword, with the checks and texts of its C argument parser; it is meant for tests and mocks.
Any thread may create a Message; it is owned by whoever holds it, and rdpy never mutates one
after handing it to the application (DeserializingConsumer replaces key and value before).

The slots keep Python values (None for an unknown partition, offset, leader epoch, latency or
delivery count), not librdkafka's sentinels, so the accessors are plain slot reads; pickling
translates to and from the sentinels confluent-kafka's ``__reduce__`` uses.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator
from typing import Any, Dict, List, Optional, Tuple, TypeVar, Union, overload

from rdpy.constants import TIMESTAMP_NOT_AVAILABLE
from rdpy.errors import KafkaError

#: One consumed header: (key, value); the value is None for a null header value.
Header = Tuple[str, Optional[bytes]]
#: Headers as the application may give them (confluent-kafka's HeadersType): a dict, or a list
#: of (key, value) pairs in order, keys may repeat. Consumed messages hold a list of Header.
HeadersType = Union[Dict[str, Union[str, bytes, None]], List[Tuple[str, Union[str, bytes, None]]]]

# librdkafka's "unknown" values, as confluent-kafka's __reduce__ hands them out.
_PARTITION_UA = -1
_OFFSET_INVALID = -1001
_INT32 = (-(1 << 31), (1 << 31) - 1)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_INT16 = (-(1 << 15), (1 << 15) - 1)
_QUALNAME = "rdpy.message.Message"
_T = TypeVar("_T")


def _c_int(value: object, bounds: tuple[int, int], too_big: str, too_small: str) -> int:
    """An integer argument as CPython's PyArg_Parse takes it ('i', 'h', 'L'): anything with
    __index__ (bool too), TypeError otherwise, OverflowError outside the C type."""
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"'{type(value).__name__}' object cannot be interpreted as an integer") from None
    if n > bounds[1]:
        raise OverflowError(too_big)
    if n < bounds[0]:
        raise OverflowError(too_small)
    return n


# The parser's texts for int ('i'), short ('h') and long long ('L') overflows.
_INT_TEXTS = ("signed integer is greater than maximum", "signed integer is less than minimum")
_SHORT_TEXTS = ("signed short integer is greater than maximum",
                "signed short integer is less than minimum")
_LONG_TEXTS = ("int too big to convert", "int too big to convert")


def _latency(value: object) -> float | None:
    """Seconds as confluent-kafka keeps them: whole microseconds, negative meaning unknown."""
    cls = type(value)
    # The C parser's 'd': a float, or anything with __float__ or __index__ (not str, bytes).
    if not (hasattr(cls, "__float__") or hasattr(cls, "__index__")):
        raise TypeError(f"must be real number, not {cls.__name__}")
    seconds = float(value)  # type: ignore[arg-type]
    if not math.isfinite(seconds) or seconds < 0:
        return None  # inf/nan have no microseconds (confluent-kafka keeps garbage)
    return int(seconds * 1_000_000) / 1_000_000


def _timestamp(value: object) -> tuple[int, int]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError("timestamp must be a tuple of (int, int)")
    try:
        ts_type, ts = operator.index(value[0]), operator.index(value[1])
    except TypeError:
        # confluent-kafka leaks a SystemError here; the TypeError says what is wrong.
        raise TypeError("timestamp must be a tuple of (int, int)") from None
    if not _INT64[0] <= ts <= _INT64[1]:
        raise OverflowError("int too big to convert")
    # The type goes through a C int cast in confluent-kafka: keep its low 32 bits, signed.
    return ((ts_type + (1 << 31)) % (1 << 32)) - (1 << 31), ts


def _wrong_self(method: str, self: object) -> TypeError:
    return TypeError(f"descriptor '{method}' for '{_QUALNAME}' objects doesn't apply to a "
                     f"'{type(self).__name__}' object")


def _unset(self: object, method: str, default: _T) -> _T:
    """An accessor's slow path: the slot is empty because the object is not a Message (called
    as ``Message.topic(obj)``: TypeError, as confluent-kafka's C methods) or because it came
    from ``Message.__new__`` without ``__init__`` (the zero values of confluent-kafka's
    zero-filled C struct)."""
    if isinstance(self, Message):
        return default
    raise _wrong_self(method, self)


class Message:
    """A Kafka message or event, like ``confluent_kafka.Message``.

    ``Message(topic=None, partition=-1, offset=-1001, key=None, value=None, headers=None,
    error=None, timestamp=None, latency=-1.0, leader_epoch=-1, delivery_count=-1)``, positional
    or keyword, all optional (None also means "unknown" for the numbers); constructing
    messages is meant for tests and mocks. As in confluent-kafka, negative partition, offset,
    leader_epoch and latency and a delivery count below 1 read back as None, ``timestamp()`` is ``(TIMESTAMP_NOT_AVAILABLE, 0)`` when not given, and
    integers outside their C types (int32, int64, int16 for delivery_count) raise OverflowError.
    ``len(msg)`` is the value's length (0 without a value). Messages compare equal when topic,
    value, key, headers, error, partition, offset, leader epoch and timestamp (not its type) are
    equal; they are unhashable, unordered and picklable.
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

    _topic: str | None
    _partition: int | None
    _offset: int | None
    # Any: raw bytes from the broker, or whatever the application or a deserializer put there.
    _key: Any
    _value: Any
    _headers: HeadersType | None
    _error: KafkaError | None
    _timestamp: tuple[int, int]
    _latency: float | None
    _leader_epoch: int | None
    _delivery_count: int | None

    def __init__(
        self,
        topic: str | None = None,
        partition: int = _PARTITION_UA,
        offset: int = _OFFSET_INVALID,
        key: bytes | str | None = None,
        value: bytes | str | None = None,
        headers: HeadersType | None = None,
        error: KafkaError | None = None,
        timestamp: tuple[int, int] | None = None,
        latency: float = -1.0,
        leader_epoch: int = -1,
        delivery_count: int = -1,
    ) -> None:
        if not isinstance(self, Message):
            raise TypeError(f"descriptor '__init__' requires a '{_QUALNAME}' object but "
                            f"received a '{type(self).__name__}'")
        # Every argument is checked before a slot is written, in the C parser's order; like
        # that parser, None is refused for the numbers (their "unknown" is -1).
        partition = _c_int(partition, _INT32, *_INT_TEXTS)
        offset = _c_int(offset, _INT64, *_LONG_TEXTS)
        seconds = _latency(latency)
        leader_epoch = _c_int(leader_epoch, _INT32, *_INT_TEXTS)
        delivery_count = _c_int(delivery_count, _INT16, *_SHORT_TEXTS)
        ts = (TIMESTAMP_NOT_AVAILABLE, 0) if timestamp is None else _timestamp(timestamp)
        self._topic = topic
        self._partition = partition if partition >= 0 else None
        self._offset = offset if offset >= 0 else None
        self._key = key
        self._value = value
        self._headers = headers
        self._error = error
        self._timestamp = ts
        self._latency = seconds
        self._leader_epoch = leader_epoch if leader_epoch >= 0 else None
        self._delivery_count = delivery_count if delivery_count > 0 else None

    # Accessors: one slot read each (a `try` costs nothing until it raises, on Python 3.11+).

    def topic(self) -> str | None:
        """Topic name, or None."""
        try:
            return self._topic
        except AttributeError:
            return _unset(self, "topic", None)

    def partition(self) -> int | None:
        """Partition number, or None."""
        try:
            return self._partition
        except AttributeError:
            return _unset(self, "partition", 0)

    def offset(self) -> int | None:
        """Offset, or None."""
        try:
            return self._offset
        except AttributeError:
            return _unset(self, "offset", 0)

    def key(self) -> bytes | None:
        """Key, or None: bytes for consumed messages (what a DeserializingConsumer's
        deserializer made of it, or what the application set, otherwise)."""
        try:
            return self._key  # type: ignore[no-any-return]
        except AttributeError:
            return _unset(self, "key", None)

    def value(self) -> bytes | None:
        """Value (payload), or None: bytes for consumed messages (what a
        DeserializingConsumer's deserializer made of it, or what the application set,
        otherwise)."""
        try:
            return self._value  # type: ignore[no-any-return]
        except AttributeError:
            return _unset(self, "value", None)

    def deserialized_key(self) -> Any:
        """The same object as ``key()``, typed as whatever the key deserializer returns."""
        try:
            return self._key
        except AttributeError:
            return _unset(self, "deserialized_key", None)

    def deserialized_value(self) -> Any:
        """The same object as ``value()``, typed as whatever the value deserializer returns."""
        try:
            return self._value
        except AttributeError:
            return _unset(self, "deserialized_value", None)

    def headers(self) -> HeadersType | None:
        """Headers as a list of ``(str, bytes | None)`` tuples in order (keys may repeat), or
        None; a message built by the application holds what it was given."""
        try:
            return self._headers
        except AttributeError:
            return _unset(self, "headers", None)

    def error(self) -> KafkaError | None:
        """None for a proper message, else the error or event this object carries."""
        try:
            return self._error
        except AttributeError:
            return _unset(self, "error", None)

    def timestamp(self) -> tuple[int, int]:
        """``(timestamp_type, ms_since_epoch)``; ignore the time if the type is
        TIMESTAMP_NOT_AVAILABLE."""
        try:
            return self._timestamp
        except AttributeError:
            return _unset(self, "timestamp", (TIMESTAMP_NOT_AVAILABLE, 0))

    def latency(self) -> float | None:
        """Producer only: seconds from produce() to the broker's acknowledgement, or None."""
        try:
            return self._latency
        except AttributeError:
            return _unset(self, "latency", 0.0)

    def leader_epoch(self) -> int | None:
        """The leader epoch of the message's offset, or None."""
        try:
            return self._leader_epoch
        except AttributeError:
            return _unset(self, "leader_epoch", 0)

    def delivery_count(self) -> int | None:
        """Share-consumer delivery count (1 on the first delivery), or None: always None for
        the classic consumer and the producer."""
        try:
            return self._delivery_count
        except AttributeError:
            return _unset(self, "delivery_count", None)

    # Setters: any object is taken as is, as confluent-kafka does.

    def set_headers(self, headers: HeadersType | None) -> None:
        """Replace the headers."""
        try:
            self._headers = headers
        except AttributeError:
            raise _wrong_self("set_headers", self) from None

    def set_key(self, key: Any) -> None:
        """Replace the key."""
        try:
            self._key = key
        except AttributeError:
            raise _wrong_self("set_key", self) from None

    def set_value(self, value: Any) -> None:
        """Replace the value."""
        try:
            self._value = value
        except AttributeError:
            raise _wrong_self("set_value", self) from None

    def set_topic(self, topic: str | None) -> None:
        """Replace the topic."""
        try:
            self._topic = topic
        except AttributeError:
            raise _wrong_self("set_topic", self) from None

    def set_error(self, error: KafkaError | None) -> None:
        """Replace the error."""
        try:
            self._error = error
        except AttributeError:
            raise _wrong_self("set_error", self) from None

    def __len__(self) -> int:
        try:
            value = self._value
        except AttributeError:
            return 0
        return 0 if value is None else len(value)

    def _compared(self) -> tuple[object, ...]:
        # confluent-kafka compares these; latency, delivery count and the timestamp type not.
        return (self.topic(), self.value(), self.key(), self.headers(), self.error(),
                self.partition(), self.offset(), self.leader_epoch(), self.timestamp()[1])

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Message):
            return False
        return self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[Message], tuple[object, ...]]:
        """Pickle as confluent-kafka does: Message (subclasses too) and its 11 arguments, with
        librdkafka's sentinels for unknown values."""
        partition, offset, latency = self.partition(), self.offset(), self.latency()
        epoch, count = self.leader_epoch(), self.delivery_count()
        if count is None:
            count = 0 if not hasattr(self, "_delivery_count") else -1
        return (Message, (self.topic(), _PARTITION_UA if partition is None else partition,
                          _OFFSET_INVALID if offset is None else offset, self.key(),
                          self.value(), self.headers(), self.error(), self.timestamp(),
                          -1.0 if latency is None else latency, -1 if epoch is None else epoch,
                          count))


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
    m._headers = headers  # type: ignore[assignment]  # list is invariant; Header fits
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


class Messages:
    """A batch of messages, like ``confluent_kafka.Messages`` (what a share consumer's poll()
    returns): a read-only sequence -- ``len()``, iteration, indexing, slicing (a slice is a
    Messages too) -- with ``count()``, ``is_empty()`` and ``records()`` (a copy as a list).
    It wraps a list rather than being one, so the list's mutators are absent."""

    __slots__ = ("_records",)

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        self._records: list[Message] = list(messages)

    @classmethod
    def _from_list(cls, records: list[Message]) -> Messages:
        """Adopt a list the caller built and will not touch again, without copying it."""
        batch = cls.__new__(cls)
        batch._records = records
        return batch

    def records(self) -> list[Message]:
        """The messages as a new list (changing it leaves the batch alone)."""
        return list(self._records)

    def count(self) -> int:
        """The number of messages, as ``len()``."""
        return len(self._records)

    def is_empty(self) -> bool:
        """True when the batch holds no message."""
        return not self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> Message: ...

    @overload
    def __getitem__(self, index: slice) -> Messages: ...

    def __getitem__(self, index: int | slice) -> Message | Messages:
        if isinstance(index, slice):
            return self._from_list(self._records[index])
        return self._records[index]

    def __repr__(self) -> str:
        return f"Messages({self._records!r})"
