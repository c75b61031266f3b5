"""rdpy.avro: confluent_kafka.avro's names load; its clients say they are not implemented."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import rdpy.avro
from rdpy.avro import AvroConsumer, AvroProducer


@pytest.mark.parametrize("client", [AvroProducer, AvroConsumer])
def test_avro_clients_are_not_implemented_and_say_why(client: type) -> None:
    with pytest.raises(NotImplementedError, match="needs Schema Registry"):
        client({"bootstrap.servers": "localhost:9092",
                "schema.registry.url": "http://localhost:8081"})


def serializer_modules() -> list[ModuleType]:
    modules = [importlib.import_module("rdpy.avro.serializer")]
    try:
        modules.append(importlib.import_module("confluent_kafka.avro.serializer"))
    except ImportError:  # confluent's avro extra (fastavro, requests) is not installed
        pass
    return modules


@pytest.mark.parametrize("module", serializer_modules(), ids=lambda m: m.__name__.split(".")[0])
def test_serializer_errors_carry_their_message(module: ModuleType) -> None:
    for name in ("SerializerError", "KeySerializerError", "ValueSerializerError"):
        error_type = getattr(module, name)
        assert issubclass(error_type, module.SerializerError)
        error = error_type("bad record")
        assert error.message == "bad record"
        assert str(error) == "bad record"
        assert repr(error) == f"{name}(error=bad record)"


def test_the_package_exports_the_error_types() -> None:
    assert rdpy.avro.SerializerError is importlib.import_module("rdpy.avro.serializer").SerializerError
