"""The error types of confluent_kafka.avro.serializer, which Avro serializers raise.

Plain exceptions carrying a message (`.message`, also their str()); no Avro code is needed to
use them. Runs on whichever thread raises them.
"""

from __future__ import annotations

__all__ = ["KeySerializerError", "SerializerError", "ValueSerializerError"]


class SerializerError(Exception):
    """A message could not be serialized or deserialized."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.message})"

    def __str__(self) -> str:
        return self.message


class KeySerializerError(SerializerError):
    """The key could not be serialized or deserialized."""


class ValueSerializerError(SerializerError):
    """The value could not be serialized or deserialized."""
