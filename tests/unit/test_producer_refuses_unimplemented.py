"""Features rdpy does not have yet fail at Producer() instead of being silently ignored."""

from __future__ import annotations

from typing import Any

import pytest

from rdpy import KafkaError, KafkaException, Producer


@pytest.mark.parametrize(
    "conf, named",
    [
        ({"security.protocol": "SASL_SSL"}, "security.protocol=sasl_ssl"),
    ],
)
def test_unimplemented_feature_is_refused(conf: dict[str, Any], named: str) -> None:
    with pytest.raises(KafkaException) as excinfo:
        Producer({"bootstrap.servers": "127.0.0.1:1", **conf})
    err = excinfo.value.args[0]
    assert err.code() == KafkaError._NOT_IMPLEMENTED
    assert named in err.str() and "rdpy does not implement" in err.str()


def test_plain_configuration_is_accepted() -> None:
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "security.protocol": "plaintext",
                         "statistics.interval.ms": 0, "enable.idempotence": False})
    reports: list[Any] = []
    producer.produce("t", b"v", on_delivery=lambda err, msg: reports.append(err))
    producer.purge()
    for _ in range(50):
        producer.poll(0.1)
        if reports:
            break
    # Nothing can be delivered (no broker at that port): the purge reports the message.
    assert [err.code() for err in reports] == [KafkaError._PURGE_QUEUE]


def test_consumer_refuses_tls_and_sasl_with_the_same_wording() -> None:
    from rdpy import Consumer

    with pytest.raises(KafkaException) as excinfo:
        Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g",
                  "security.protocol": "SSL"})
    err = excinfo.value.args[0]
    assert err.code() == KafkaError._NOT_IMPLEMENTED
    assert err.str() == ("Failed to create consumer: rdpy does not implement "
                         "`security.protocol=ssl` (TLS and SASL) yet")


def test_every_missing_producer_feature_is_named_in_one_error() -> None:
    with pytest.raises(KafkaException) as excinfo:
        Producer({"bootstrap.servers": "127.0.0.1:1", "transactional.id": "t",
                  "security.protocol": "sasl_plaintext"})
    assert excinfo.value.args[0].str() == (
        "Failed to create producer: rdpy does not implement "
        "`security.protocol=sasl_plaintext` (TLS and SASL) yet")
