"""SerializingProducer: a Producer whose produce() serializes the key and value first.

Owns confluent_kafka.SerializingProducer's surface: the ``key.serializer`` /
``value.serializer`` properties (callables ``(obj, SerializationContext) -> bytes | None``) and
their ``.builder`` variants, popped off the configuration before the Producer sees it (the
plain Producer refuses them); produce() with key before value; close() closing the serializers
the producer built. Serializers run on the thread calling produce(), before anything is queued.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rdpy.error import KeySerializationError, ValueSerializationError
from rdpy.producer import Producer
from rdpy.serialization import MessageField, SerializationContext
from rdpy.serialization._serdes import close_serdes, start_with_serdes

__all__ = ["SerializingProducer"]

#: What produce() accepts as on_delivery: called with (KafkaError | None, Message).
DeliveryCallback = Callable[[Any, Any], None]


class SerializingProducer(Producer):
    """A Producer that serializes keys and values (confluent_kafka.SerializingProducer).

    ``SerializingProducer(conf)``: the Producer's configuration plus ``key.serializer`` and
    ``value.serializer`` (either may be left out: that part is passed on as given), or
    ``key.serializer.builder`` / ``value.serializer.builder`` (a SerializerBuilder run now; the
    producer owns what it builds and closes it in close()). Setting a serializer and its builder
    is a ValueError. Experimental in confluent-kafka, and so here.
    """

    #: The serializers built from builders, this producer's to close (none until __init__ is done).
    _owned_serdes: List[Any] = []

    def __init__(self, conf: Dict[str, Any]) -> None:
        self._key_serializer, self._value_serializer, self._owned_serdes = start_with_serdes(
            self, conf, "key.serializer", "value.serializer", super().__init__)

    def produce(  # type: ignore[override]  # key comes before value, as in confluent-kafka
        self,
        topic: str,
        key: Any = None,
        value: Any = None,
        partition: int = -1,
        on_delivery: Optional[DeliveryCallback] = None,
        timestamp: int = 0,
        headers: Any = None,
    ) -> None:
        """Serialize ``key`` and then ``value`` (each with a SerializationContext carrying the
        topic, the field and ``headers``) and produce the result as Producer.produce() does.

        Raises KeySerializationError / ValueSerializationError wrapping whatever a serializer
        raised, and before any serializer runs (they may have side effects, such as registering
        a schema), RuntimeError once the producer is closed and TypeError for a topic that is
        not a str. Otherwise as Producer.produce(): BufferError, KafkaException...
        """
        if self._closed:
            raise RuntimeError("Producer has been closed")
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        ctx = SerializationContext(topic, MessageField.KEY, headers)
        if self._key_serializer is not None:
            try:
                key = self._key_serializer(key, ctx)
            except Exception as e:
                raise KeySerializationError(e)
        ctx.field = MessageField.VALUE
        if self._value_serializer is not None:
            try:
                value = self._value_serializer(value, ctx)
            except Exception as e:
                raise ValueSerializationError(e)
        super().produce(topic, value, key, partition=partition, on_delivery=on_delivery,
                        timestamp=timestamp, headers=headers)

    def close(self) -> bool:
        """Producer.close() (flush, then stop), then close the serializers built from
        builders; ready-made ones stay the application's. Later calls only return True. If the
        producer's close raises, the serializers are kept (it may still use them)."""
        result = super().close()
        owned, self._owned_serdes = self._owned_serdes, []
        close_serdes(owned)
        return result

    def __enter__(self) -> SerializingProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
