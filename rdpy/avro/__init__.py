"""confluent_kafka.avro's names, so that programs importing them load: not implemented yet.

confluent-kafka's legacy Avro clients (AvroProducer, AvroConsumer; deprecated there in favour of
SerializingProducer/DeserializingConsumer with a Schema Registry serializer) need a Schema
Registry client, which rdpy does not have yet. Constructing one raises NotImplementedError
saying so; the serializer error types in rdpy.avro.serializer are complete. Runs wherever the
application calls it.
"""

from __future__ import annotations

from typing import NoReturn

from rdpy.avro.serializer import KeySerializerError, SerializerError, ValueSerializerError

__all__ = ["AvroConsumer", "AvroProducer", "KeySerializerError", "SerializerError",
           "ValueSerializerError"]

_NOT_YET = ("{} needs Schema Registry, which rdpy does not implement yet (nor Avro); "
            "use SerializingProducer/DeserializingConsumer with a serializer of your own")


class AvroProducer:
    """confluent_kafka.avro.AvroProducer: not implemented (Schema Registry is not there yet)."""

    def __init__(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotImplementedError(_NOT_YET.format("AvroProducer"))


class AvroConsumer:
    """confluent_kafka.avro.AvroConsumer: not implemented (Schema Registry is not there yet)."""

    def __init__(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotImplementedError(_NOT_YET.format("AvroConsumer"))
