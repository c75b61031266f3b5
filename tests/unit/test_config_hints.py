"""Unknown configuration names: librdkafka's error, unchanged, then rdpy's "did you mean" hint.

For every name confluent-kafka (librdkafka) is the reference for the error code and text; rdpy
must raise the same, and may only append a hint after it.  The names cover the hint's rule:
kafka-python's underscores, environment-variable case, Java client names with a librdkafka
equivalent, Java names with advice only, a typo, and a name with no hint at all.
"""

from __future__ import annotations

from typing import Any

import pytest

import rdpy
from rdpy.config.properties import FOREIGN_NAMES, GLOBAL_PROPERTIES, TOPIC_PROPERTIES, Type, unknown_property_hint
from rdpy.errors import ErrorCode

ck = pytest.importorskip("confluent_kafka")

#: name -> the hint rdpy appends (None: no hint).
CASES: dict[str, str | None] = {
    "bootstrap_servers": "(did you mean 'bootstrap.servers'?)",
    "BOOTSTRAP_SERVERS": "(did you mean 'bootstrap.servers'?)",
    "linger_ms": "(did you mean 'linger.ms'?)",
    "group_id": "(did you mean 'group.id'?)",
    "auto_offset_reset": "(did you mean 'auto.offset.reset'?)",
    "security_protocol": "(did you mean 'security.protocol'?)",
    "max_poll_records": "(did you mean 'max.poll.records'?)",
    "enable_auto_commit": "(did you mean 'enable.auto.commit'?)",
    "request_timeout_ms": "(did you mean 'request.timeout.ms'?)",  # a topic-level property
    "ssl_cafile": "(did you mean 'ssl.ca.location'?)",
    "sasl_plain_username": "(did you mean 'sasl.username'?)",
    "fetch_max_wait_ms": "(did you mean 'fetch.wait.max.ms'?)",
    "max.request.size": "(did you mean 'message.max.bytes'?)",
    "ssl_truststore_location": "(did you mean 'ssl.truststore.location'?)",
    "bootstrap.server": "(did you mean 'bootstrap.servers'?)",
    "key.serializer": "(Java client property: serializers are not configuration properties: "
                      "use SerializingProducer or serialize the key before produce())",
    "key_serializer": "(Java client property: serializers are not configuration properties: "
                      "use SerializingProducer or serialize the key before produce())",
    "value.deserializer": "(Java client property: deserializers are not configuration properties: "
                          "use DeserializingConsumer or deserialize Message.value())",
    "no.such.thing.at.all": None,
}

CLIENTS = [("Producer", {}), ("Consumer", {"group.id": "g"})]


def _error(module: Any, cls: str, config: dict[str, str]) -> Any:
    with pytest.raises(module.KafkaException) as ei:
        getattr(module, cls)(config)
    return ei.value.args[0]


@pytest.mark.parametrize("cls,base", CLIENTS, ids=[c for c, _ in CLIENTS])
@pytest.mark.parametrize("name", list(CASES))
def test_librdkafka_error_then_hint(cls: str, base: dict[str, str], name: str) -> None:
    config = {**base, name: "x"}
    theirs = _error(ck, cls, config)
    ours = _error(rdpy, cls, config)
    assert theirs.code() == ck.KafkaError._INVALID_ARG
    assert ours.code() == ErrorCode._INVALID_ARG == theirs.code()
    assert theirs.str() == f'No such configuration property: "{name}"'
    hint = CASES[name]
    assert ours.str() == theirs.str() + ("" if hint is None else f" {hint}")


def test_topic_prefix_is_stripped_before_the_hint() -> None:
    config = {"topic.linger_ms": "5"}
    theirs = _error(ck, "Producer", config)
    ours = _error(rdpy, "Producer", config)
    assert ours.str() == theirs.str() + " (did you mean 'linger.ms'?)"


def test_foreign_names_are_unknown_to_librdkafka_and_point_at_real_properties() -> None:
    """Every table entry is a name librdkafka rejects; a suggested equivalent is settable."""
    for name, target in FOREIGN_NAMES.items():
        assert name not in GLOBAL_PROPERTIES and name not in TOPIC_PROPERTIES, name
        prop = GLOBAL_PROPERTIES.get(target) or TOPIC_PROPERTIES.get(target)
        if prop is not None:
            assert prop.type not in (Type.INVALID, Type.INTERNAL, Type.POINTER), name
        else:
            assert " " in target, f"{name}: {target!r} is neither a property nor advice"
        assert unknown_property_hint(name) is not None

