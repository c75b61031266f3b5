"""`test.mock.num.brokers`: the client starts a mock cluster, logs where, bootstraps from it
and stops it when destroyed -- librdkafka's behaviour (its own mock), which rdpy reproduces
with rdpy.mock. Run for both clients."""

from __future__ import annotations

import gc
import logging
import re
import socket
import uuid
from types import ModuleType

import confluent_kafka
import pytest

from tests.integration.consumer._util import consumer_conf, drain
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)

ENABLED = re.compile(r"Mock cluster enabled: original bootstrap.servers and security.protocol "
                     r"ignored and replaced with (\S+)")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_client_runs_its_own_mock_cluster(client: ModuleType) -> None:  # noqa: F811
    captured = Lines()
    logger = logging.getLogger(f"rdpy-test-mock-{uuid.uuid4().hex[:8]}")
    logger.addHandler(captured)
    logger.setLevel(logging.DEBUG)
    producer = client.Producer({"test.mock.num.brokers": 3, "bootstrap.servers": "nowhere:9092",
                                "logger": logger})
    producer.poll(0.5)  # log lines reach the logger from poll()
    found = [m for m in map(ENABLED.search, captured.lines) if m]
    assert len(found) == 1, captured.lines
    servers = found[0].group(1).split(",")
    assert len(servers) == 3 and all(s.startswith("127.0.0.1:") for s in servers)
    assert len(producer.list_topics(timeout=10).brokers) == 3

    topic = f"rdpy-mock-conf-{uuid.uuid4().hex[:8]}"
    for i in range(10):
        producer.produce(topic, b"v%d" % i, partition=0)
    assert producer.flush(10) == 0
    consumer = confluent_kafka.Consumer(consumer_conf(",".join(servers), **{"enable.partition.eof": True}))
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        got = drain(confluent_kafka, consumer, [(topic, 0)], expected=10)
        assert [m.value() for m in got] == [b"v%d" % i for i in range(10)]
    finally:
        consumer.close()

    del producer
    gc.collect()
    host, _, port = servers[0].rpartition(":")
    with pytest.raises(OSError):  # the cluster went with the client
        socket.create_connection((host, int(port)), timeout=2).recv(1)


def test_security_protocol_is_ignored_with_a_mock_cluster(client: ModuleType) -> None:  # noqa: F811
    """librdkafka replaces bootstrap.servers *and* security.protocol with the mock's: a client
    configured for SASL over TLS still talks plaintext to it (rdpy, which has no TLS yet,
    does not refuse the setting either)."""
    producer = client.Producer({"test.mock.num.brokers": 1, "security.protocol": "sasl_ssl",
                                "sasl.mechanism": "PLAIN", "sasl.username": "u",
                                "sasl.password": "p", "log_level": 0})
    producer.produce(f"rdpy-mock-sec-{uuid.uuid4().hex[:8]}", b"v")
    assert producer.flush(10) == 0
