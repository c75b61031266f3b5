"""Serdes, the serializing clients' exceptions, SerializingProducer and DeserializingConsumer,
each test run against confluent-kafka and rdpy alike (the `client` fixture).

The end-to-end tests use the client's own mock cluster (`test.mock.num.brokers`, librdkafka's
for confluent-kafka, rdpy.mock for rdpy): the producer starts it and logs where it listens, and
the consumer bootstraps from there. No broker is needed.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import re
import uuid
from types import ModuleType
from typing import Any

import pytest

from tests.support.clients import client, outcome  # noqa: F401  (the parametrized fixture)

ENABLED = re.compile(r"Mock cluster enabled: .* replaced with (\S+)")


def _sub(client: ModuleType, name: str) -> ModuleType:  # noqa: F811
    return importlib.import_module(f"{client.__name__}.{name}")


# --- serdes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ser, de, obj", [
    ("StringSerializer", "StringDeserializer", "héllo ✓"),
    ("StringSerializer", "StringDeserializer", ""),
    ("IntegerSerializer", "IntegerDeserializer", 0),
    ("IntegerSerializer", "IntegerDeserializer", -(2**31)),
    ("IntegerSerializer", "IntegerDeserializer", 2**31 - 1),
    ("DoubleSerializer", "DoubleDeserializer", 3.5),
    ("DoubleSerializer", "DoubleDeserializer", -0.0),
    ("StringSerializer", "StringDeserializer", None),
    ("IntegerSerializer", "IntegerDeserializer", None),
    ("DoubleSerializer", "DoubleDeserializer", None),
])
def test_serde_round_trip(client: ModuleType, ser: str, de: str, obj: Any) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    ctx = s.SerializationContext("t", s.MessageField.VALUE)
    data = getattr(s, ser)()(obj, ctx)
    assert (data is None) == (obj is None)
    assert getattr(s, de)()(data, ctx) == obj


def test_wire_formats_are_kafkas(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    assert s.IntegerSerializer()(-2) == b"\xff\xff\xff\xfe"
    assert s.DoubleSerializer()(1.0) == b"\x3f\xf0\x00\x00\x00\x00\x00\x00"
    assert s.StringSerializer("latin-1")("é") == b"\xe9"
    assert s.StringDeserializer("utf_16_be")(b"\x00A") == "A"


BAD_INPUTS = [
    ("IntegerSerializer", (), 2**31),
    ("IntegerSerializer", (), "x"),
    ("IntegerDeserializer", (), b"\x00\x01"),
    ("DoubleSerializer", (), "x"),
    ("DoubleDeserializer", (), b"\x00"),
    ("StringSerializer", ("ascii",), "é"),
    ("StringDeserializer", (), b"\xff"),
    ("StringSerializer", (), 5),  # not a str: the AttributeError is not wrapped
    ("StringSerializer", ("no-such-codec",), "x"),  # LookupError, not wrapped either
]


@pytest.mark.parametrize("cls, args, obj", BAD_INPUTS)
def test_serde_errors_match_confluent(cls: str, args: tuple[str, ...], obj: Any) -> None:
    import confluent_kafka.serialization as theirs

    import rdpy.serialization as ours

    def run(mod: ModuleType) -> tuple[str, Any]:
        return outcome(lambda: getattr(mod, cls)(*args)(obj, None))

    assert run(ours) == run(theirs)
    assert run(ours)[0] in ("SerializationError", "AttributeError", "LookupError")


def test_serialization_error_is_a_kafka_exception(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    with pytest.raises(client.KafkaException) as info:
        s.IntegerSerializer()(2**40)
    assert type(info.value) is s.SerializationError


def test_message_field_and_context(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    assert [str(f) for f in s.MessageField] == ["none", "key", "value"]
    assert s.MessageField.KEY == "key" and isinstance(s.MessageField.VALUE, str)
    ctx = s.SerializationContext("t", s.MessageField.KEY)
    assert (ctx.topic, ctx.field, ctx.headers) == ("t", s.MessageField.KEY, None)
    headers = [("h", b"1")]
    assert s.SerializationContext("t", s.MessageField.VALUE, headers).headers is headers


def test_base_classes(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    for base in (s.Serializer, s.Deserializer):
        with pytest.raises(NotImplementedError):
            base()(b"x", None)
        assert base().set_cluster_id_resolver(lambda: "id") is None
        assert base().close() is None
    for builder in (s.SerializerBuilder, s.DeserializerBuilder):
        with pytest.raises(NotImplementedError):
            builder().build({}, True)
    assert set(s.__all__) >= {"Serializer", "Deserializer", "StringSerializer",
                              "StringDeserializer", "IntegerSerializer", "IntegerDeserializer",
                              "DoubleSerializer", "DoubleDeserializer", "SerializationContext",
                              "MessageField", "SerializationError"}


def test_same_public_names_as_confluent() -> None:
    import confluent_kafka.serialization as theirs

    import rdpy.serialization as ours

    assert sorted(ours.__all__) == sorted(theirs.__all__)


# --- rdpy.error -----------------------------------------------------------------------------


def test_error_classes(client: ModuleType) -> None:  # noqa: F811
    e, s = _sub(client, "error"), _sub(client, "serialization")
    KE = client.KafkaError
    cause = ValueError("bad bytes")
    msg = client.Message("t", 0, 5, b"k", b"v")
    for cls, code in ((e.KeyDeserializationError, KE._KEY_DESERIALIZATION),
                      (e.ValueDeserializationError, KE._VALUE_DESERIALIZATION)):
        err = cls(exception=cause, kafka_message=msg)
        assert isinstance(err, e.ConsumeError) and isinstance(err, s.SerializationError)
        assert isinstance(err, client.KafkaException)
        assert (err.code, err.exception, err.kafka_message) == (code, cause, msg)
        assert err.args[0].str() == "bad bytes"
    for cls, code, name in ((e.KeySerializationError, KE._KEY_SERIALIZATION, "_KEY_SERIALIZATION"),
                            (e.ValueSerializationError, KE._VALUE_SERIALIZATION,
                             "_VALUE_SERIALIZATION")):
        err = cls(cause)
        assert isinstance(err, e.ProduceError) and isinstance(err, s.SerializationError)
        assert (err.code, err.name, err.exception, err.kafka_message) == (code, name, cause, None)
    plain = e.ConsumeError(KE(KE._PARTITION_EOF))
    assert (plain.code, plain.name, plain.exception, plain.kafka_message) == (
        KE._PARTITION_EOF, "_PARTITION_EOF", None, None)
    assert e.KeySerializationError().args[0].str() == "None"
    assert e.KafkaError is client.KafkaError and e.KafkaException is client.KafkaException


# --- the serializing clients, end to end on the client's mock cluster ----------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _producer_on_mock(client: ModuleType, **conf: Any) -> tuple[Any, str]:  # noqa: F811
    """A SerializingProducer running a 1-broker mock cluster, and that cluster's bootstrap."""
    lines = _Lines()
    logger = logging.getLogger(f"rdpy-test-serde-{uuid.uuid4().hex[:8]}")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    producer = client.SerializingProducer({"test.mock.num.brokers": 1, "logger": logger, **conf})
    for _ in range(50):
        producer.poll(0.1)  # log lines reach the logger from poll()
        found = [m.group(1) for m in map(ENABLED.search, lines.lines) if m]
        if found:
            return producer, found[0]
    raise AssertionError(f"no mock cluster line in {lines.lines}")


def _consumer(client: ModuleType, bootstrap: str, topic: str, **conf: Any) -> Any:  # noqa: F811
    consumer = client.DeserializingConsumer({
        "bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "fetch.wait.max.ms": 50, **conf})
    consumer.assign([client.TopicPartition(topic, 0, client.OFFSET_BEGINNING)])
    return consumer


def _poll(consumer: Any, n: int) -> list[Any]:
    out = []
    for _ in range(200):
        msg = consumer.poll(0.1)
        if msg is not None:
            out.append(msg)
            if len(out) == n:
                break
    return out


class _Recorder:
    """A serializer or deserializer that records the contexts it is called with."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, Any]] = []

    def __call__(self, obj: Any, ctx: Any) -> Any:
        self.seen.append((ctx.topic, str(ctx.field), ctx.headers))
        return self.inner(obj, ctx)


def test_serialized_round_trip(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    key_ser = _Recorder(s.StringSerializer())
    value_ser = _Recorder(s.IntegerSerializer())
    producer, bootstrap = _producer_on_mock(client, **{"key.serializer": key_ser,
                                                       "value.serializer": value_ser})
    topic = f"serde-{uuid.uuid4().hex[:8]}"
    reports: list[Any] = []
    headers = [("h", b"1")]
    producer.produce(topic, key="ké", value=7, partition=0, headers=headers,
                     on_delivery=lambda err, m: reports.append((err, m.key(), m.value())))
    producer.produce(topic, key=None, value=-1, partition=0)
    producer.produce(topic, value=None, partition=0)
    assert producer.flush(10) == 0
    assert reports == [(None, "ké".encode(), b"\x00\x00\x00\x07")]
    assert key_ser.seen[0] == (topic, "key", headers)
    assert value_ser.seen[0] == (topic, "value", headers)

    key_de = _Recorder(s.StringDeserializer())
    consumer = _consumer(client, bootstrap, topic, **{
        "key.deserializer": key_de, "value.deserializer": s.IntegerDeserializer()})
    try:
        got = _poll(consumer, 3)
        assert [(m.key(), m.value()) for m in got] == [("ké", 7), (None, -1), (None, None)]
        assert [(m.deserialized_key(), m.deserialized_value()) for m in got] == [
            ("ké", 7), (None, -1), (None, None)]
        assert got[0].headers() == headers and key_de.seen[0] == (topic, "key", headers)
        assert key_de.seen[1] == (topic, "key", None)
        with pytest.raises(NotImplementedError):
            consumer.consume()
    finally:
        consumer.close()
        producer.close()


def test_deserialization_errors(client: ModuleType) -> None:  # noqa: F811
    s, e = _sub(client, "serialization"), _sub(client, "error")
    producer, bootstrap = _producer_on_mock(client)
    topic = f"serde-err-{uuid.uuid4().hex[:8]}"
    producer.produce(topic, key=b"\xff", value=b"ok", partition=0)
    producer.produce(topic, key=b"k", value=b"\x00\x01", partition=0)
    assert producer.flush(10) == 0
    consumer = _consumer(client, bootstrap, topic, **{
        "key.deserializer": s.StringDeserializer(), "value.deserializer": s.IntegerDeserializer(),
        "enable.partition.eof": True})
    try:
        with pytest.raises(e.KeyDeserializationError) as key_error:
            _poll(consumer, 1)
        raw = key_error.value.kafka_message
        assert (raw.key(), raw.value(), raw.offset()) == (b"\xff", b"ok", 0)  # left as bytes
        assert key_error.value.code == client.KafkaError._KEY_DESERIALIZATION
        assert type(key_error.value.exception) is s.SerializationError
        with pytest.raises(e.ValueDeserializationError) as value_error:
            _poll(consumer, 1)
        assert value_error.value.kafka_message.value() == b"\x00\x01"
        assert value_error.value.args[0].str() == "unpack requires a buffer of 4 bytes"
        with pytest.raises(e.ConsumeError) as eof:  # an event is raised, not returned
            _poll(consumer, 1)
        assert eof.value.code == client.KafkaError._PARTITION_EOF
        assert eof.value.kafka_message.error().code() == client.KafkaError._PARTITION_EOF
    finally:
        consumer.close()
        producer.close()


def test_serialization_errors_before_produce(client: ModuleType) -> None:  # noqa: F811
    s, e = _sub(client, "serialization"), _sub(client, "error")
    producer = client.SerializingProducer({
        "test.mock.num.brokers": 1, "key.serializer": s.IntegerSerializer(),
        "value.serializer": s.StringSerializer("ascii")})
    try:
        with pytest.raises(e.KeySerializationError) as key_error:
            producer.produce("t", key=2**40, value="v")
        assert key_error.value.args[0].str() == str(key_error.value.exception)
        with pytest.raises(e.ValueSerializationError) as value_error:
            producer.produce("t", key=1, value="é")
        assert type(value_error.value.exception) is s.SerializationError
        assert len(producer) == 0  # nothing was queued
        assert outcome(lambda: producer.produce(5, key=1)) == (
            "TypeError", "topic must be a str, not int")
    finally:
        producer.close()
    assert outcome(lambda: producer.produce("t", key=1)) == (
        "RuntimeError", "Producer has been closed")


class _Builder:
    """A builder consuming its own property, recording what it saw and what it built."""

    def __init__(self, serde: Any) -> None:
        self.serde = serde
        self.seen: list[tuple[dict[str, Any], bool]] = []

    def build(self, conf: dict[str, Any], is_key: bool) -> tuple[Any, dict[str, Any]]:
        self.seen.append((dict(conf), is_key))
        conf.pop("my.serde.prop", None)
        return self.serde, conf


class _Closing:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.closed = 0
        self.resolver: Any = None

    def __call__(self, obj: Any, ctx: Any) -> Any:
        return self.inner(obj, ctx)

    def set_cluster_id_resolver(self, resolver: Any) -> None:
        self.resolver = resolver

    def close(self) -> None:
        self.closed += 1


def test_builders_are_owned_and_closed(client: ModuleType) -> None:  # noqa: F811
    s = _sub(client, "serialization")
    built, given = _Closing(s.StringSerializer()), _Closing(s.StringSerializer())
    builder = _Builder(built)
    producer = client.SerializingProducer({
        "test.mock.num.brokers": 1, "my.serde.prop": "x", "key.serializer": given,
        "value.serializer.builder": builder})
    assert builder.seen[0][1] is False and builder.seen[0][0]["my.serde.prop"] == "x"
    producer.produce("t", key="k", value="v")
    producer.close()
    assert (built.closed, given.closed) == (1, 0)
    producer.close()
    assert built.closed == 1  # closed once


@pytest.mark.parametrize("conf, text", [
    ({"key.serializer": str, "key.serializer.builder": object()},
     "Cannot configure both key.serializer and key.serializer.builder; use one or the other"),
    ({"value.serializer.builder": type("B", (), {"build": lambda self, c, k: None})()},
     "value.serializer.builder must return a (serde, configuration) tuple from build(), "
     "got NoneType"),
])
def test_serde_configuration_errors(client: ModuleType,  # noqa: F811
                                    conf: dict[str, Any], text: str) -> None:
    assert outcome(lambda: client.SerializingProducer({"test.mock.num.brokers": 1, **conf})) == (
        "ValueError", text)


def test_plain_clients_refuse_serializers(client: ModuleType) -> None:  # noqa: F811
    ours = outcome(lambda: client.Producer({"key.serializer": str}))
    assert ours[0] in ("KafkaException", "ValueError", "TypeError"), ours
    ours = outcome(lambda: client.Consumer({"group.id": "g", "value.deserializer": str}))
    assert ours[0] in ("KafkaException", "ValueError", "TypeError"), ours


def test_consume_error_pickles_its_message(client: ModuleType) -> None:  # noqa: F811
    e = _sub(client, "error")
    msg = client.Message("t", 1, 2, b"k", b"v")
    err = e.ConsumeError(client.KafkaError(client.KafkaError._PARTITION_EOF), kafka_message=msg)
    assert err.kafka_message == pickle.loads(pickle.dumps(msg))
