"""Serializers and deserializers: confluent_kafka.serialization's classes for rdpy.

Owns the serde base classes (Serializer, Deserializer and their builders), the built-in
string, integer (int32) and double (binary64) serdes, SerializationContext, MessageField and
SerializationError, with confluent-kafka's behaviour and error texts. Serdes are called on the
application's thread, by SerializingProducer.produce() and DeserializingConsumer.poll() or by
the application itself; they hold no state but their codec. Numbers are big-endian and signed.
"""

from __future__ import annotations

import struct as _struct
from enum import Enum
from typing import Any, Callable, Dict, List, Optional, Tuple

from rdpy.errors import KafkaException
from rdpy.message import HeadersType

__all__ = [
    "Deserializer",
    "DeserializerBuilder",
    "DoubleDeserializer",
    "DoubleSerializer",
    "IntegerDeserializer",
    "IntegerSerializer",
    "MessageField",
    "SerializationContext",
    "SerializationError",
    "Serializer",
    "SerializerBuilder",
    "StringDeserializer",
    "StringSerializer",
]

_DOUBLE = _struct.Struct(">d")
_INT32 = _struct.Struct(">i")


class MessageField(str, Enum):
    """Which part of a message a serde works on: KEY, VALUE (or NONE). A str: ``"key"``..."""

    NONE = "none"
    KEY = "key"
    VALUE = "value"

    def __str__(self) -> str:
        return str(self.value)


class SerializationContext:
    """What a serde is told besides the object: the topic, the field (MessageField.KEY or
    VALUE) and the message's headers (None when it has none).

    SerializingProducer and DeserializingConsumer use one context per message for the key
    and then the value, changing only ``field``.
    """

    def __init__(self, topic: str, field: MessageField,
                 headers: Optional[HeadersType] = None) -> None:
        self.topic = topic
        self.field = field
        self.headers = headers


class SerializationError(KafkaException):
    """A serde failed (the ``KeySerializationError`` family in rdpy.error derives from it)."""


class Serializer:
    """The base of serializers: ``serializer(obj, ctx) -> bytes | None`` (None for None).

    Subclasses implement ``__call__``. The producer hands a resolver of the cluster id to
    ``set_cluster_id_resolver`` once it exists, and calls ``close`` for the serializers it built
    from a builder; both do nothing here.
    """

    __slots__: List[str] = []

    def __call__(self, obj: Any, ctx: Optional[SerializationContext] = None) -> Optional[bytes]:
        """Convert ``obj`` to bytes (None stays None); raise SerializationError on failure."""
        raise NotImplementedError

    def set_cluster_id_resolver(self, resolver: Callable[[], Any]) -> None:
        """Keep ``resolver`` (returns the Kafka cluster id, may block) if this serializer needs
        the id; it must not be called from here. The default ignores it."""

    def close(self) -> None:
        """Release what this serializer created for itself. The default has nothing."""


class Deserializer:
    """The base of deserializers: ``deserializer(data, ctx) -> object`` (None for None).

    Subclasses implement ``__call__``; ``set_cluster_id_resolver`` and ``close`` as for
    Serializer.
    """

    __slots__: List[str] = []

    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Any:
        """Convert ``value`` to an object (None stays None); raise SerializationError on failure."""
        raise NotImplementedError

    def set_cluster_id_resolver(self, resolver: Callable[[], Any]) -> None:
        """As Serializer.set_cluster_id_resolver."""

    def close(self) -> None:
        """As Serializer.close."""


class SerializerBuilder:
    """Builds a Serializer when the SerializingProducer is created (``key.serializer.builder``,
    ``value.serializer.builder``); the producer then owns it and closes it. Experimental, as in
    confluent-kafka.

    ``build(conf, is_key)`` gets a copy of the client configuration and returns the serializer
    and the configuration it did not consume.
    """

    __slots__: List[str] = []

    def build(self, conf: Dict[str, Any], is_key: bool) -> Tuple[Serializer, Dict[str, Any]]:
        """Return (serializer, the configuration left for the client)."""
        raise NotImplementedError


class DeserializerBuilder:
    """SerializerBuilder's counterpart for DeserializingConsumer (``key.deserializer.builder``,
    ``value.deserializer.builder``)."""

    __slots__: List[str] = []

    def build(self, conf: Dict[str, Any], is_key: bool) -> Tuple[Deserializer, Dict[str, Any]]:
        """Return (deserializer, the configuration left for the client)."""
        raise NotImplementedError


class DoubleSerializer(Serializer):
    """float -> 8 bytes, IEEE 754 binary64 big-endian (Kafka's DoubleSerializer)."""

    def __call__(self, obj: Optional[float], ctx: Optional[SerializationContext] = None
                 ) -> Optional[bytes]:
        if obj is None:
            return None
        try:
            return _DOUBLE.pack(obj)
        except _struct.error as e:
            raise SerializationError(str(e))


class DoubleDeserializer(Deserializer):
    """8 bytes, IEEE 754 binary64 big-endian -> float (Kafka's DoubleDeserializer)."""

    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None
                 ) -> Optional[float]:
        if value is None:
            return None
        try:
            result: float = _DOUBLE.unpack(value)[0]
        except _struct.error as e:
            raise SerializationError(str(e))
        return result


class IntegerSerializer(Serializer):
    """int -> 4 bytes, signed big-endian (Kafka's IntegerSerializer); outside int32 it fails."""

    def __call__(self, obj: Optional[int], ctx: Optional[SerializationContext] = None
                 ) -> Optional[bytes]:
        if obj is None:
            return None
        try:
            return _INT32.pack(obj)
        except _struct.error as e:
            raise SerializationError(str(e))


class IntegerDeserializer(Deserializer):
    """4 bytes, signed big-endian -> int (Kafka's IntegerDeserializer)."""

    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None
                 ) -> Optional[int]:
        if value is None:
            return None
        try:
            result: int = _INT32.unpack(value)[0]
        except _struct.error as e:
            raise SerializationError(str(e))
        return result


class StringSerializer(Serializer):
    """str -> bytes in ``codec`` (any Python codec name; default utf_8)."""

    def __init__(self, codec: str = "utf_8") -> None:
        self.codec = codec

    def __call__(self, obj: Optional[str], ctx: Optional[SerializationContext] = None
                 ) -> Optional[bytes]:
        if obj is None:
            return None
        try:
            return obj.encode(self.codec)
        except UnicodeError as e:
            raise SerializationError(str(e))


class StringDeserializer(Deserializer):
    """bytes in ``codec`` (any Python codec name; default utf_8) -> str."""

    def __init__(self, codec: str = "utf_8") -> None:
        self.codec = codec

    def __call__(self, value: Optional[bytes], ctx: Optional[SerializationContext] = None
                 ) -> Optional[str]:
        if value is None:
            return None
        try:
            return value.decode(self.codec)
        except UnicodeError as e:
            raise SerializationError(str(e))
