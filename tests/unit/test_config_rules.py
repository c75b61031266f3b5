"""Cross-property rules: rdpy's Conf.finalize() against librdkafka's rd_kafka_new() (ctypes).

Both the error text and the adjusted values are compared with the real library.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import _config_librdkafka as lr  # noqa: E402

from rdpy.config import Conf  # noqa: E402
from rdpy.errors import ErrorCode, KafkaException  # noqa: E402

pytestmark = pytest.mark.skipif(not lr.available(), reason="confluent-kafka's librdkafka not installed")

P, C = "producer", "consumer"
CASES: list[tuple[str, dict[str, str]]] = [
    (P, {"enable.idempotence": "true", "acks": "1"}),
    (P, {"enable.idempotence": "true"}),
    (P, {"enable.idempotence": "true", "acks": "all"}),
    (P, {"enable.idempotence": "true", "max.in.flight": "6"}),
    (P, {"enable.idempotence": "true", "max.in.flight.requests.per.connection": "3"}),
    (P, {"enable.idempotence": "true", "retries": "0"}),
    (P, {"enable.idempotence": "true", "queue.buffering.backpressure.threshold": "2"}),
    (P, {"enable.idempotence": "true", "queuing.strategy": "lifo"}),
    (P, {"enable.gapless.guarantee": "true"}),
    (P, {"transactional.id": "t", "enable.idempotence": "false"}),
    (P, {"transactional.id": "t"}),
    (P, {"transactional.id": "t", "transaction.timeout.ms": "5000"}),
    (P, {"transactional.id": "t", "socket.timeout.ms": "70000"}),
    (P, {"transactional.id": "t", "message.timeout.ms": "70000"}),
    (P, {"transactional.id": "t", "message.timeout.ms": "1000", "acks": "all"}),
    (P, {"transactional.id": "t", "transaction.timeout.ms": "1000", "linger.ms": "1000"}),
    (P, {"transactional.id": "t", "transaction.timeout.ms": "1000", "linger.ms": "1000", "acks": "all"}),
    (P, {"linger.ms": "1000", "message.timeout.ms": "1000"}),
    (P, {"message.timeout.ms": "3"}),
    (P, {"message.timeout.ms": "0", "linger.ms": "100"}),
    (P, {"linger.ms": "100"}),
    (P, {"sticky.partitioning.linger.ms": "7", "linger.ms": "100"}),
    (P, {"reconnect.backoff.ms": "1000", "reconnect.backoff.max.ms": "10"}),
    (P, {"topic.metadata.refresh.interval.ms": "1000"}),
    (P, {"topic.metadata.refresh.interval.ms": "-1"}),
    (P, {"retry.backoff.ms": "250"}),
    (P, {"bootstrap.servers": "x.servicebus.windows.net:9093,azure:1"}),
    (P, {"ssl.keystore.location": "x"}),
    (P, {"https.ca.location": "/tmp", "https.ca.pem": "x"}),
    (P, {"https.ca.location": "/nonexistent/x"}),
    (P, {"partition.assignment.strategy": "range,cooperative-sticky"}),
    (P, {"partition.assignment.strategy": " range , roundrobin"}),
    (P, {"partition.assignment.strategy": "cooperative-sticky"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": "http://x"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": "http://x", "sasl.oauthbearer.client.id": "a"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": "http://x", "sasl.oauthbearer.grant.type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.metadata.authentication.type": "azure_imds"}),
    (P, {"sasl.mechanisms": "OAUTHBEARER", "enable.sasl.oauthbearer.unsecure.jwt": "true", "sasl.oauthbearer.method": "oidc"}),
    (P, {"group.id": "g", "fetch.max.bytes": "10"}),
    (C, {"group.id": "g"}),
    (C, {"group.id": "g", "fetch.max.bytes": "1000", "message.max.bytes": "2000"}),
    (C, {"group.id": "g", "queued.max.messages.kbytes": "100"}),
    (C, {"group.id": "g", "queued.max.messages.kbytes": "1", "message.max.bytes": "5000"}),
    (C, {"group.id": "g", "receive.message.max.bytes": "1000"}),
    (C, {"group.id": "g", "fetch.max.bytes": "200000000"}),
    (C, {"group.id": "g", "max.poll.interval.ms": "1000"}),
    (C, {"group.id": "g", "enable.idempotence": "true", "acks": "1"}),
    (C, {"group.id": "g", "linger.ms": "1000", "message.timeout.ms": "1000"}),
    (C, {"group.id": "g", "group.protocol": "consumer", "session.timeout.ms": "6000"}),
    (C, {"group.id": "g", "group.protocol": "consumer", "heartbeat.interval.ms": "600"}),
    (C, {"group.id": "g", "group.protocol": "consumer", "partition.assignment.strategy": "range"}),
    (C, {"group.id": "g", "group.protocol": "consumer", "group.protocol.type": "consumer"}),
    (C, {"group.id": "g", "group.protocol": "consumer"}),
    (C, {"group.id": "g", "partition.assignment.strategy": "range,cooperative-sticky"}),
    (P, {"group.protocol": "consumer", "session.timeout.ms": "100"}),
]

# Values librdkafka adjusts during finalize that rdpy must adjust the same way.
CHECK = [
    "max.in.flight.requests.per.connection", "message.send.max.retries", "queue.buffering.backpressure.threshold",
    "enable.idempotence", "socket.timeout.ms", "queue.buffering.max.ms", "sticky.partitioning.linger.ms",
    "metadata.max.age.ms", "topic.metadata.refresh.fast.interval.ms", "connections.max.idle.ms",
    "allow.auto.create.topics", "fetch.max.bytes", "receive.message.max.bytes",
    "topic:request.required.acks", "topic:message.timeout.ms", "topic:queuing.strategy",
]


@pytest.mark.parametrize("client_type,config", CASES, ids=lambda x: x if isinstance(x, str) else ",".join(f"{k}={v}" for k, v in x.items()))
def test_finalize_matches_rd_kafka_new(client_type: str, config: dict[str, str]) -> None:
    err, dump = lr.create(client_type, list(config.items()))
    conf = Conf()
    for k, v in config.items():
        conf.set(k, v)
    try:
        settings = conf.finalize(client_type)  # type: ignore[arg-type]
    except KafkaException as e:
        assert e.args[0].code() == ErrorCode._INVALID_ARG
        kind = "consumer" if client_type == "consumer" else "producer"
        assert err is not None
        assert e.args[0].str() == f"Failed to create {kind}: {err}"
        return
    assert err is None
    for key in CHECK:
        if key.startswith("topic:"):
            if key not in dump:
                continue
            name = key[6:]
            assert settings.topic.get(name) == dump[key], key
        else:
            assert settings.get(key) == dump[key], key


def test_every_rule_is_exercised() -> None:
    from rdpy.config import rules

    assert len(rules.RULES) + len(rules.TOPIC_RULES) == 21


def test_warnings_like_librdkafka() -> None:
    s = Conf({"group.id": "g", "queuing.strategy": "fifo", "bootstrap.servers": "h:1", "batch.size": "5"}).finalize("consumer")
    assert "Configuration property batch.size is a producer property and will be ignored by this consumer instance" in s.warnings
    assert any(w.startswith("Configuration property queuing.strategy is deprecated and experimental: ") for w in s.warnings)
    s = Conf({"group.id": "g"}).finalize("producer")
    assert s.warnings == (
        "Configuration property group.id is a consumer property and will be ignored by this producer instance",
        "No `bootstrap.servers` configured: client will not be able to connect to Kafka cluster",
    )
