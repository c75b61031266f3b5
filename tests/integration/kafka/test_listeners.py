"""Every listener and SASL mechanism of the real Kafka broker (tests.support.kafka), end to end.

Per listener (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) and, on the SASL listeners, per
mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): a topic created through that listener, 120
records (keys, headers) produced and read back through it, offsets committed and read back
from the group coordinator. A wrong password is refused with _AUTHENTICATION; a client that
does not trust the broker's CA fails the TLS handshake; a user the authorizer has not granted
anything (alice) is refused until the super user grants her ACLs.

A client without TLS/SASL (CAPABILITIES "tls_and_sasl": rdpy today) must refuse these
configurations when its Producer/Consumer is created: KafkaException(_NOT_IMPLEMENTED). That
refusal is asserted, so the day rdpy declares the capability these tests hold it to the full
round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from tests.integration.kafka._util import QUIET, create_topic, unique_name
from tests.support.clients import has_capability
from tests.support.invariants import Ledger
from tests.support.kafka import SASL_MECHANISMS, KafkaBroker
from tests.support.kafka.certs import make_test_pki
from tests.support.reading import drain

PARTITIONS = 2
RECORDS = 120

ENDPOINTS = [("PLAINTEXT", None), ("SSL", None)] + [
    (listener, mech) for listener in ("SASL_PLAINTEXT", "SASL_SSL") for mech in SASL_MECHANISMS]
SASL_ENDPOINTS = [(listener, mech) for listener, mech in ENDPOINTS if mech is not None]


def _id(endpoint: tuple[str, str | None]) -> str:
    return endpoint[0] if endpoint[1] is None else f"{endpoint[0]}-{endpoint[1]}"


def _need_listener(broker: KafkaBroker, listener: str) -> None:
    if not broker.has_listener(listener):
        pytest.skip(f"the {broker.kind} broker has only a PLAINTEXT listener (RDPY_TEST_BOOTSTRAP or "
                    "testcontainers): listeners with TLS/SASL need the broker tests.support.kafka starts")


def assert_refused_at_creation(client: ModuleType, conf: dict[str, Any]) -> None:
    """Producer(conf) and Consumer(conf) both raise KafkaException(_NOT_IMPLEMENTED)."""
    for make in (client.Producer, client.Consumer):
        with pytest.raises(client.KafkaException) as info:
            make({**conf, "group.id": unique_name("refused")})
        err = info.value.args[0]
        assert err.code() == client.KafkaError._NOT_IMPLEMENTED, err
        assert conf["security.protocol"] in str(err), err


def _wait_for_error(client: ModuleType, errors: list[Any], poll: Callable[[float], Any], timeout: float) -> Any:
    """poll() until error_cb received an error; the first one."""
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        poll(0.1)
    assert errors, f"no error reported in {timeout}s"
    return errors[0]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_round_trip(client: ModuleType, kafka_broker: KafkaBroker, endpoint: tuple[str, str | None]) -> None:
    listener, mechanism = endpoint
    _need_listener(kafka_broker, listener)
    conf = kafka_broker.client_config(listener, mechanism)
    if not has_capability(client, "tls_and_sasl") and listener != "PLAINTEXT":
        assert_refused_at_creation(client, conf)
        return
    topic = create_topic(conf, unique_name(f"rt-{_id(endpoint)}"), PARTITIONS)

    producer = client.Producer({**conf, "linger.ms": 5, **QUIET})
    ledger = Ledger()
    for i in range(RECORDS):
        ledger.produce(producer, topic, b"v%d" % i, key=b"k%d" % (i % 7), partition=i % PARTITIONS,
                       headers=[("listener", listener.encode()), ("i", str(i).encode())])
    assert producer.flush(30) == 0
    ledger.check_reports(expect_delivered=True)
    producer.close()

    group = unique_name("group")
    consumer = client.Consumer({**conf, "group.id": group, "enable.auto.commit": False,
                                "enable.partition.eof": True, "fetch.wait.max.ms": 50, **QUIET})
    try:
        consumer.assign([client.TopicPartition(topic, p, client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got = drain(client, consumer, [(topic, p) for p in range(PARTITIONS)], expected=RECORDS)
        ledger.check_log(got)
        consumer.commit(asynchronous=False)
        committed = consumer.committed([client.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
        assert {tp.partition: tp.offset for tp in committed} == {p: RECORDS // PARTITIONS for p in range(PARTITIONS)}
    finally:
        consumer.close()


@pytest.mark.parametrize("endpoint", SASL_ENDPOINTS, ids=_id)
def test_wrong_password_is_refused(client: ModuleType, kafka_broker: KafkaBroker,
                                   endpoint: tuple[str, str | None]) -> None:
    listener, mechanism = endpoint
    _need_listener(kafka_broker, listener)
    conf = kafka_broker.client_config(listener, mechanism, password="not-the-password")
    if not has_capability(client, "tls_and_sasl"):
        assert_refused_at_creation(client, conf)
        return
    errors: list[Any] = []
    producer = client.Producer({**conf, "error_cb": errors.append, **QUIET})
    ledger = Ledger()
    ledger.produce(producer, unique_name("never"), b"x")
    err = _wait_for_error(client, errors, producer.poll, 20)
    assert err.code() == client.KafkaError._AUTHENTICATION, err
    assert "Authentication failed" in str(err) or "authentication" in str(err).lower(), err
    producer.purge()
    producer.flush(5)
    summary = ledger.check_reports()  # the purged message got its one report, a failure
    assert not summary.delivered
    producer.close()


def test_untrusted_broker_certificate_is_refused(client: ModuleType, kafka_broker: KafkaBroker,
                                                 tmp_path: Any) -> None:
    """TLS verification is real: with another CA as the only trusted one, the handshake fails."""
    _need_listener(kafka_broker, "SSL")
    other = make_test_pki(tmp_path / "other-ca")
    conf = {**kafka_broker.client_config("SSL"), "ssl.ca.location": str(other.ca_pem)}
    if not has_capability(client, "tls_and_sasl"):
        assert_refused_at_creation(client, conf)
        return
    errors: list[Any] = []
    producer = client.Producer({**conf, "error_cb": errors.append, **QUIET})
    err = _wait_for_error(client, errors, producer.poll, 20)
    assert err.code() in (client.KafkaError._SSL, client.KafkaError._TRANSPORT, client.KafkaError._ALL_BROKERS_DOWN), err
    assert "certificate verify failed" in " ".join(str(e) for e in errors), errors
    producer.close()


def test_authorizer_refuses_until_acls_grant(client: ModuleType, kafka_broker: KafkaBroker) -> None:
    """alice authenticates (SCRAM-SHA-256) but has no ACLs: producing is refused with
    TOPIC_AUTHORIZATION_FAILED (by produce() itself, once the client saw the topic's
    metadata error, or in the delivery report); once the super user grants her WRITE and
    DESCRIBE on the topic, the same producer delivers."""
    _need_listener(kafka_broker, "SASL_PLAINTEXT")
    alice = kafka_broker.client_config("SASL_PLAINTEXT", "SCRAM-SHA-256", user="alice")
    if not has_capability(client, "tls_and_sasl"):
        assert_refused_at_creation(client, alice)
        return
    admin_conf = kafka_broker.client_config("SASL_PLAINTEXT", "SCRAM-SHA-512")
    topic = create_topic(admin_conf, unique_name("acl"), 1)
    ledger = Ledger()
    producer = client.Producer({**alice, "message.timeout.ms": 10000, "topic.metadata.refresh.interval.ms": 500,
                                **QUIET})

    def attempt(value: bytes) -> int | None:
        """Produce one message and flush: None when delivered, else the error code."""
        try:
            seq = ledger.produce(producer, topic, value)
        except client.KafkaException as e:
            return int(e.args[0].code())
        assert producer.flush(15) == 0
        report = {r.seq: r for r in ledger.reports}[seq]
        return report.code

    assert attempt(b"denied") == client.KafkaError.TOPIC_AUTHORIZATION_FAILED

    admin = AdminClient({**admin_conf, **QUIET})
    bindings = [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*", op,
                           AclPermissionType.ALLOW) for op in (AclOperation.WRITE, AclOperation.DESCRIBE)]
    for future in admin.create_acls(bindings, request_timeout=15).values():
        future.result(timeout=15)
    # The grant reaches the authorizer through the metadata log, and the client learns it
    # when it next refreshes the topic's metadata: retry for a while.
    deadline = time.monotonic() + 20
    while (code := attempt(b"granted")) is not None and time.monotonic() < deadline:
        assert code == client.KafkaError.TOPIC_AUTHORIZATION_FAILED, code
        time.sleep(0.25)
    assert code is None, f"still refused after the grant: {code}"
    ledger.check_reports(ordered=False)
    producer.close()
