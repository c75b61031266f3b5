"""DeserializingConsumer: a Consumer whose poll() deserializes each message's key and value.

Owns confluent_kafka.DeserializingConsumer's surface: the ``key.deserializer`` /
``value.deserializer`` properties (callables ``(bytes | None, SerializationContext) -> obj``)
and their ``.builder`` variants, popped off the configuration before the Consumer sees it (the
plain Consumer refuses them); poll() raising ConsumeError for error events and
Key/ValueDeserializationError for messages a deserializer refuses; consume() unavailable;
close() closing the deserializers the consumer built. Deserializers run on the thread calling
poll().
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rdpy.consumer import Consumer
from rdpy.error import ConsumeError, KeyDeserializationError, ValueDeserializationError
from rdpy.message import Message
from rdpy.serialization import MessageField, SerializationContext
from rdpy.serialization._serdes import close_serdes, start_with_serdes

__all__ = ["DeserializingConsumer"]


class DeserializingConsumer(Consumer):
    """A Consumer that deserializes keys and values (confluent_kafka.DeserializingConsumer).

    ``DeserializingConsumer(conf)``: the Consumer's configuration plus ``key.deserializer`` and
    ``value.deserializer`` (either may be left out: that part stays bytes), or
    ``key.deserializer.builder`` / ``value.deserializer.builder`` (a DeserializerBuilder run now;
    the consumer owns what it builds and closes it in close()). Setting a deserializer and its
    builder is a ValueError. Experimental in confluent-kafka, and so here.
    """

    #: The deserializers built from builders, this consumer's to close (none until __init__ is done).
    _owned_serdes: List[Any] = []

    def __init__(self, conf: Dict[str, Any]) -> None:
        self._key_deserializer, self._value_deserializer, self._owned_serdes = start_with_serdes(
            self, conf, "key.deserializer", "value.deserializer", super().__init__)

    def poll(self, timeout: Optional[float] = -1) -> Optional[Message]:
        """The next message, its key and value deserialized (readable through key()/value()
        and deserialized_key()/deserialized_value()), or None after ``timeout`` seconds
        (-1: wait forever).

        Raises ConsumeError for an error or event (``kafka_message`` holds it), and
        KeyDeserializationError / ValueDeserializationError when a deserializer raises
        (``kafka_message`` holds the message, key and value still bytes).
        """
        msg = super().poll(timeout)
        if msg is None:
            return None
        error = msg.error()
        if error is not None:
            raise ConsumeError(error, kafka_message=msg)
        return self._deserialize(msg)

    def _deserialize(self, msg: Message) -> Message:
        """Deserialize the key, then the value (a key deserializer may leave state for the
        value's), and only then store both: a failure leaves the message untouched."""
        # Only error events lack a topic, and poll() raised for those.
        ctx = SerializationContext(msg.topic() or "", MessageField.KEY, msg.headers())
        key: Any = msg.key()
        if self._key_deserializer is not None:
            try:
                key = self._key_deserializer(key, ctx)
            except Exception as e:
                raise KeyDeserializationError(exception=e, kafka_message=msg)
        value: Any = msg.value()
        if self._value_deserializer is not None:
            ctx.field = MessageField.VALUE
            try:
                value = self._value_deserializer(value, ctx)
            except Exception as e:
                raise ValueDeserializationError(exception=e, kafka_message=msg)
        msg.set_key(key)
        msg.set_value(value)
        return msg

    def consume(self, num_messages: int = 1, timeout: Optional[float] = -1) -> List[Message]:
        """Not available: use poll(), which deserializes (NotImplementedError, as
        confluent-kafka)."""
        raise NotImplementedError

    def close(self) -> None:
        """Consumer.close() (leave the group, commit, stop), then close the deserializers
        built from builders; ready-made ones stay the application's. If the consumer's close
        raises, the deserializers are kept (it may still use them)."""
        super().close()
        owned, self._owned_serdes = self._owned_serdes, []
        close_serdes(owned)

    def __enter__(self) -> DeserializingConsumer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
