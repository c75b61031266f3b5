"""The serializing clients' exceptions: confluent_kafka.error's classes for rdpy.

Owns ConsumeError and ProduceError (a KafkaException whose ``args[0]`` is the KafkaError, plus
the exception that caused it and, when consuming, the message it was about) and the four
serde failures, which are also SerializationErrors. It re-exports KafkaError and
KafkaException, as confluent_kafka.error does. Raised on the application's thread by
SerializingProducer.produce() and DeserializingConsumer.poll().
"""

from __future__ import annotations

from typing import Optional

from rdpy.errors import KafkaError, KafkaException
from rdpy.message import Message
from rdpy.serialization import SerializationError

__all__ = [
    "ConsumeError",
    "KafkaError",
    "KafkaException",
    "KeyDeserializationError",
    "KeySerializationError",
    "ProduceError",
    "SerializationError",
    "ValueDeserializationError",
    "ValueSerializationError",
]


class _KafkaClientError(KafkaException):
    """A client error: ``args[0]`` the KafkaError, ``exception`` what caused it (or None),
    ``kafka_message`` the message it concerns (or None); ``code`` and ``name`` are the
    KafkaError's."""

    def __init__(self, kafka_error: KafkaError, exception: Optional[Exception] = None,
                 kafka_message: Optional[Message] = None) -> None:
        super().__init__(kafka_error)
        self.exception = exception
        self.kafka_message = kafka_message

    @property
    def code(self) -> int:
        """The KafkaError's code."""
        error: KafkaError = self.args[0]
        return error.code()

    @property
    def name(self) -> str:
        """The KafkaError's name, e.g. ``"_VALUE_DESERIALIZATION"``."""
        error: KafkaError = self.args[0]
        return error.name()


class ConsumeError(_KafkaClientError):
    """Consuming failed: DeserializingConsumer.poll() got an error event, or could not
    deserialize a message (then ``kafka_message`` holds the message with its raw bytes)."""


class KeyDeserializationError(ConsumeError, SerializationError):
    """The key deserializer raised ``exception`` for ``kafka_message``
    (KafkaError._KEY_DESERIALIZATION, its text ``str(exception)``)."""

    def __init__(self, exception: Optional[Exception] = None,
                 kafka_message: Optional[Message] = None) -> None:
        super().__init__(KafkaError(KafkaError._KEY_DESERIALIZATION, str(exception)),
                         exception=exception, kafka_message=kafka_message)


class ValueDeserializationError(ConsumeError, SerializationError):
    """The value deserializer raised ``exception`` for ``kafka_message``
    (KafkaError._VALUE_DESERIALIZATION, its text ``str(exception)``)."""

    def __init__(self, exception: Optional[Exception] = None,
                 kafka_message: Optional[Message] = None) -> None:
        super().__init__(KafkaError(KafkaError._VALUE_DESERIALIZATION, str(exception)),
                         exception=exception, kafka_message=kafka_message)


class ProduceError(_KafkaClientError):
    """Producing failed before the message was queued; ``kafka_message`` is always None."""

    def __init__(self, kafka_error: KafkaError, exception: Optional[Exception] = None) -> None:
        super().__init__(kafka_error, exception, None)


class KeySerializationError(ProduceError, SerializationError):
    """The key serializer raised ``exception`` (KafkaError._KEY_SERIALIZATION, its text
    ``str(exception)``)."""

    def __init__(self, exception: Optional[Exception] = None) -> None:
        super().__init__(KafkaError(KafkaError._KEY_SERIALIZATION, str(exception)),
                         exception=exception)


class ValueSerializationError(ProduceError, SerializationError):
    """The value serializer raised ``exception`` (KafkaError._VALUE_SERIALIZATION, its text
    ``str(exception)``)."""

    def __init__(self, exception: Optional[Exception] = None) -> None:
        super().__init__(KafkaError(KafkaError._VALUE_SERIALIZATION, str(exception)),
                         exception=exception)
