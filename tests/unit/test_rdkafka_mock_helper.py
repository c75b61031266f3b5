"""The ctypes wrapper around librdkafka's mock cluster works, checked with confluent-kafka."""

from __future__ import annotations

import time
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaError, Producer  # noqa: E402

from tests.support.fixtures import librdkafka_mock  # noqa: E402,F401
from tests.support.rdkafka_mock import LibrdkafkaMockCluster  # noqa: E402

pytestmark = pytest.mark.mockcluster

PRODUCE = 0
METADATA = 3


def _producer(mock: LibrdkafkaMockCluster, **extra: Any) -> Producer:
    conf: dict[str, Any] = {
        "bootstrap.servers": mock.bootstrap_servers,
        "linger.ms": 5,
        "retry.backoff.ms": 50,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
    }
    conf.update(extra)
    return Producer(conf)


def _produce_and_wait(
    producer: Producer, topic: str, partition: int, value: bytes, timeout: float = 10.0
) -> tuple[KafkaError | None, int]:
    """Produce one message and poll until its delivery report; returns (error, partition)."""
    result: list[tuple[KafkaError | None, int]] = []

    def on_delivery(err: KafkaError | None, msg: Any) -> None:
        result.append((err, msg.partition()))

    producer.produce(topic, value=value, partition=partition, on_delivery=on_delivery)
    deadline = time.monotonic() + timeout
    while not result and time.monotonic() < deadline:
        producer.poll(0.05)
    assert result, f"no delivery report for {topic}[{partition}] within {timeout}s"
    return result[0]


def test_bootstrap_servers_lists_every_broker(librdkafka_mock: LibrdkafkaMockCluster) -> None:
    hosts = librdkafka_mock.bootstrap_servers.split(",")
    assert len(hosts) == 3
    assert all(h.startswith("127.0.0.1:") for h in hosts)


def test_produce_to_created_topic_gets_delivery_reports(
    librdkafka_mock: LibrdkafkaMockCluster,
) -> None:
    librdkafka_mock.create_topic("helper-produce", partitions=4, replication_factor=3)
    p = _producer(librdkafka_mock)
    md = p.list_topics("helper-produce", timeout=10)
    assert sorted(md.topics["helper-produce"].partitions) == [0, 1, 2, 3]
    assert sorted(md.brokers) == [1, 2, 3]

    reports: list[tuple[KafkaError | None, int | None, int | None]] = []
    for i in range(40):
        p.produce(
            "helper-produce",
            value=b"v%d" % i,
            partition=i % 4,
            on_delivery=lambda err, msg: reports.append((err, msg.partition(), msg.offset())),
        )
    assert p.flush(10) == 0
    assert len(reports) == 40
    assert all(err is None for err, _, _ in reports)
    for part in range(4):
        assert sorted(off or 0 for _, p_, off in reports if p_ == part) == list(range(10))


def test_partition_set_leader_is_visible_in_metadata(
    librdkafka_mock: LibrdkafkaMockCluster,
) -> None:
    librdkafka_mock.create_topic("helper-leaders", partitions=3, replication_factor=3)
    for part, broker in ((0, 3), (1, 3), (2, 1)):
        librdkafka_mock.partition_set_leader("helper-leaders", part, broker)
    md = _producer(librdkafka_mock).list_topics("helper-leaders", timeout=10)
    leaders = {pid: pm.leader for pid, pm in md.topics["helper-leaders"].partitions.items()}
    assert leaders == {0: 3, 1: 3, 2: 1}


def test_broker_down_times_out_its_partitions_and_up_recovers(
    librdkafka_mock: LibrdkafkaMockCluster,
) -> None:
    topic = "helper-down"
    librdkafka_mock.create_topic(topic, partitions=3, replication_factor=1)
    for part, broker in ((0, 2), (1, 1), (2, 3)):
        librdkafka_mock.partition_set_leader(topic, part, broker)
    p = _producer(librdkafka_mock, **{"message.timeout.ms": 1500})

    assert _produce_and_wait(p, topic, 0, b"before") == (None, 0)

    librdkafka_mock.broker_set_down(2)
    err, _ = _produce_and_wait(p, topic, 0, b"while-down")
    assert err is not None and err.code() == KafkaError._MSG_TIMED_OUT, err
    # Partitions led by the other brokers are unaffected.
    assert _produce_and_wait(p, topic, 1, b"other-broker") == (None, 1)

    librdkafka_mock.broker_set_up(2)
    deadline = time.monotonic() + 15
    while True:
        err, _ = _produce_and_wait(p, topic, 0, b"after")
        if err is None or time.monotonic() > deadline:
            break
    assert err is None, err


def test_push_request_errors_on_produce_are_retried(
    librdkafka_mock: LibrdkafkaMockCluster,
) -> None:
    topic = "helper-retry"
    librdkafka_mock.create_topic(topic, partitions=1, replication_factor=3)
    p = _producer(librdkafka_mock)
    p.list_topics(topic, timeout=10)
    librdkafka_mock.start_request_tracking()
    librdkafka_mock.push_request_errors(
        PRODUCE, KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.REQUEST_TIMED_OUT
    )
    assert _produce_and_wait(p, topic, 0, b"retried") == (None, 0)
    produces = [r for r in librdkafka_mock.get_requests() if r.api_key == PRODUCE]
    assert len(produces) == 3, produces  # two failed attempts, then the successful one
    assert all(r.broker_id in (1, 2, 3) and r.timestamp_us > 0 for r in produces)


def test_broker_push_request_error_rtts(librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = "helper-rtts"
    librdkafka_mock.create_topic(topic, partitions=1, replication_factor=1)
    librdkafka_mock.partition_set_leader(topic, 0, 1)
    librdkafka_mock.broker_push_request_error_rtts(
        1, PRODUCE, (KafkaError.NOT_ENOUGH_REPLICAS, 0), (0, 300)
    )
    assert librdkafka_mock.broker_error_stack_cnt(1, PRODUCE) == 2
    p = _producer(librdkafka_mock)
    start = time.monotonic()
    assert _produce_and_wait(p, topic, 0, b"x") == (None, 0)
    assert time.monotonic() - start >= 0.25  # the second (successful) response was delayed
    assert librdkafka_mock.broker_error_stack_cnt(1, PRODUCE) == 0


def test_clear_request_errors(librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = "helper-clear"
    librdkafka_mock.create_topic(topic, partitions=1, replication_factor=1)
    # A non-retriable error that would fail the message if it were still queued.
    librdkafka_mock.push_request_errors(PRODUCE, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    librdkafka_mock.clear_request_errors(PRODUCE)
    assert _produce_and_wait(_producer(librdkafka_mock), topic, 0, b"x") == (None, 0)


def test_errors_raise_with_err2str_text(librdkafka_mock: LibrdkafkaMockCluster) -> None:
    with pytest.raises(RuntimeError, match="Unknown broker"):
        librdkafka_mock.broker_error_stack_cnt(42, PRODUCE)
    with pytest.raises(RuntimeError, match="rd_kafka_mock_broker_set_down"):
        librdkafka_mock.broker_set_down(42)


def test_set_apiversion_and_request_tracking(librdkafka_mock: LibrdkafkaMockCluster) -> None:
    librdkafka_mock.set_apiversion(PRODUCE, 3, 7)
    librdkafka_mock.start_request_tracking()
    librdkafka_mock.create_topic("helper-track", partitions=1)
    _producer(librdkafka_mock).list_topics("helper-track", timeout=10)
    assert any(r.api_key == METADATA for r in librdkafka_mock.get_requests())
    librdkafka_mock.clear_requests()
    librdkafka_mock.stop_request_tracking()
    assert librdkafka_mock.get_requests() == []


def test_close_is_idempotent_and_calls_after_close_fail() -> None:
    mock = LibrdkafkaMockCluster(broker_cnt=1)
    assert len(mock.bootstrap_servers.split(",")) == 1
    mock.close()
    mock.close()
    assert mock.closed
    with pytest.raises(RuntimeError, match="closed"):
        mock.create_topic("nope")
