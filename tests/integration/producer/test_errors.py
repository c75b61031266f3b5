"""Errors the way librdkafka/confluent-kafka report them: at produce() time, in delivery
reports, through error_cb, and from list_topics().

Produced messages go through tests.support.invariants.Ledger: a message produce() refused never
gets a report, every accepted one exactly one, on the application's thread. Every producer is
closed, so the suite's leak check sees its threads and descriptors released."""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import QUIET, Reports, consume_all, create_topic, poll_until, unique_topic
from tests.support.invariants import Ledger
from tests.support.rdkafka_mock import LibrdkafkaMockCluster


def _code(excinfo: pytest.ExceptionInfo[Any]) -> int:
    return int(excinfo.value.args[0].code())


@pytest.mark.parametrize(("max_bytes", "size"), [(None, 1_000_001), (10_000, 20_000)])
def test_message_too_large_raises_at_produce(
    client: ModuleType, broker: Any, max_bytes: int | None, size: int
) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("too-large"), 1)
    conf: dict[str, Any] = {"bootstrap.servers": broker.bootstrap_servers, **QUIET}
    if max_bytes is not None:
        conf["message.max.bytes"] = max_bytes
    producer = client.Producer(conf)
    ledger = Ledger()
    reports = Reports()
    with pytest.raises(client.KafkaException) as excinfo:
        ledger.produce(producer, topic, b"x" * size, mark=False, on_delivery=reports.callback())
    assert _code(excinfo) == client.KafkaError.MSG_SIZE_TOO_LARGE
    assert isinstance(excinfo.value.args[0], client.KafkaError)
    assert len(producer) == 0
    # A message that fits still goes through, and the refused one never gets a report.
    ledger.produce(producer, topic, b"x" * 100, on_delivery=reports.callback("ok"))
    assert producer.flush(10) == 0
    assert [(r.tag, r.err) for r in reports.items] == [("ok", None)]
    ledger.check_reports(expect_delivered=True)
    producer.close()
    ledger.check_log(consume_all(broker.bootstrap_servers, topic, 1, expected=1))


def test_unknown_partition_of_known_topic_raises_at_produce(client: ModuleType, broker: Any) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("bad-part"), 2)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    producer.list_topics(topic, timeout=10)  # the producer now knows the partition count
    ledger = Ledger()
    with pytest.raises(client.KafkaException) as excinfo:
        ledger.produce(producer, topic, b"v", partition=5)
    assert _code(excinfo) == client.KafkaError._UNKNOWN_PARTITION
    assert len(producer) == 0
    ledger.produce(producer, topic, b"ok", partition=1)
    assert producer.flush(10) == 0
    ledger.check_reports(expect_delivered=True)  # and none for the refused message
    producer.close()
    ledger.check_log(consume_all(broker.bootstrap_servers, topic, 2, expected=1))


def test_unknown_partition_before_metadata_is_reported(client: ModuleType, broker: Any) -> None:
    # confluent-kafka: while the topic's partition count is not known yet, produce() accepts
    # the message; the delivery report fails it with _UNKNOWN_PARTITION once metadata arrives.
    topic = create_topic(broker.bootstrap_servers, unique_topic("bad-part-late"), 2)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    ledger = Ledger()
    bad = ledger.produce(producer, topic, b"v", partition=5)
    ok = ledger.produce(producer, topic, b"ok", partition=1)
    assert producer.flush(10) == 0
    summary = ledger.check_reports()
    assert summary.codes() == {bad: client.KafkaError._UNKNOWN_PARTITION, ok: None}
    assert summary.delivered[ok].partition == 1
    producer.close()
    # The delivered one is in the log (at partition 1, its report's offset), the failed one not.
    assert ledger.check_log(consume_all(broker.bootstrap_servers, topic, 2, expected=1)).found.keys() == {ok}


@pytest.mark.mockcluster
@pytest.mark.parametrize("how", ["metadata-error", "no-auto-create"])
def test_unknown_topic_reported_after_propagation_timeout(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, how: str
) -> None:
    """Tansu auto-creates topics on Metadata requests, so this runs on the mock cluster: either
    the topic answers UNKNOWN_TOPIC_OR_PART in Metadata, or the producer asks the mock not to
    auto-create (allow.auto.create.topics=false)."""
    topic = unique_topic("unknown-topic")
    conf: dict[str, Any] = {
        "bootstrap.servers": librdkafka_mock.bootstrap_servers,
        "topic.metadata.propagation.max.ms": 1000,
        "message.timeout.ms": 20000,
        **QUIET,
    }
    if how == "metadata-error":
        librdkafka_mock.topic_set_error(topic, 3)  # UNKNOWN_TOPIC_OR_PART
    else:
        conf["allow.auto.create.topics"] = False
    producer = client.Producer(conf)
    ledger = Ledger()
    reports = Reports()
    t0 = time.monotonic()
    for i in range(3):
        ledger.produce(producer, topic, b"v", on_delivery=reports.callback(i))
    assert producer.flush(10) == 0
    elapsed = time.monotonic() - t0
    ledger.check_reports()
    # confluent-kafka 2.x (librdkafka 2.x) reports the broker's UNKNOWN_TOPIC_OR_PART (3),
    # not the local _UNKNOWN_TOPIC (-188), and the Message has no partition (None).
    assert reports.codes() == [client.KafkaError.UNKNOWN_TOPIC_OR_PART] * 3
    assert all(r.partition is None and r.offset is None for r in reports.items)
    # ... only after topic.metadata.propagation.max.ms, well before message.timeout.ms.
    assert 0.8 <= elapsed < 6.0
    producer.close()


def test_error_cb_on_unreachable_cluster(client: ModuleType, closed_port_bootstrap: str) -> None:
    errors: list[tuple[Any, int]] = []
    producer = client.Producer(
        {
            "bootstrap.servers": closed_port_bootstrap,
            "error_cb": lambda err: errors.append((err, threading.get_ident())),
            "message.timeout.ms": 60000,
            **QUIET,
        }
    )
    producer.produce("t", b"v")  # not required for errors; keeps the producer busy

    def codes() -> set[int]:
        return {e.code() for e, _ in errors}

    poll_until(
        producer,
        lambda: {client.KafkaError._TRANSPORT, client.KafkaError._ALL_BROKERS_DOWN} <= codes(),
        timeout=10,
    )
    assert {ident for _, ident in errors} == {threading.get_ident()}
    for err, _ in errors:
        assert isinstance(err, client.KafkaError)
        assert not err.fatal()
    producer.purge()
    producer.poll(0)
    producer.close()


def test_list_topics(client: ModuleType, broker: Any) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("list"), 3)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    md = producer.list_topics(timeout=10)
    assert topic in md.topics
    assert md.brokers and all(b.id == bid and b.host and b.port > 0 for bid, b in md.brokers.items())
    # orig_broker_id is the broker that answered: -1 while that was still the bootstrap
    # connection (librdkafka's "host:port/bootstrap"), so only its type is checked.
    assert isinstance(md.orig_broker_id, int) and isinstance(md.orig_broker_name, str)
    one = producer.list_topics(topic, timeout=10)
    tmd = one.topics[topic]
    assert tmd.topic == topic and tmd.error is None
    assert sorted(tmd.partitions) == [0, 1, 2]
    for pid, pmd in tmd.partitions.items():
        assert pmd.id == pid
        assert pmd.leader in one.brokers
        assert pmd.error is None
        assert pmd.leader in pmd.replicas
    producer.close()


@pytest.mark.mockcluster
def test_list_topics_mock_cluster(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("list-mock")
    librdkafka_mock.create_topic(topic, 6)
    producer = client.Producer({"bootstrap.servers": librdkafka_mock.bootstrap_servers, **QUIET})
    md = producer.list_topics(topic, timeout=10)
    assert sorted(md.brokers) == [1, 2, 3]
    parts = md.topics[topic].partitions
    assert sorted(parts) == list(range(6))
    assert {p.leader for p in parts.values()} <= {1, 2, 3}
    assert len({p.leader for p in parts.values()}) > 1  # leaders spread over the brokers
    producer.close()


def test_list_topics_unreachable_raises(client: ModuleType, closed_port_bootstrap: str) -> None:
    producer = client.Producer({"bootstrap.servers": closed_port_bootstrap, **QUIET})
    t0 = time.monotonic()
    with pytest.raises(client.KafkaException) as excinfo:
        producer.list_topics(timeout=1)
    # confluent-kafka: "Failed to get metadata: Local: Broker transport failure".
    assert _code(excinfo) == client.KafkaError._TRANSPORT
    assert time.monotonic() - t0 < 3
    producer.close()


def test_close_flushes(client: ModuleType, broker: Any) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("close"), 1)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 1000, **QUIET})
    # Reports may only be served inside the ledger's close(), on this thread.
    ledger = Ledger(serve_via_ledger=True)
    for i in range(10):
        ledger.produce(producer, topic, b"v")
    t0 = time.monotonic()
    assert ledger.close(producer) is True
    assert time.monotonic() - t0 < 10
    ledger.check_reports(expect_delivered=True)  # exactly one each, delivered, in order
    ledger.check_log(consume_all(broker.bootstrap_servers, topic, 1, expected=10))


def test_error_cb_on_unresolvable_bootstrap(client: ModuleType) -> None:
    # librdkafka: "<host:port>/bootstrap: Failed to resolve '<host:port>': <reason> (after 0ms
    # in state CONNECT)" as _RESOLVE, reported before the _ALL_BROKERS_DOWN it causes.
    errors: list[Any] = []
    producer = client.Producer({"bootstrap.servers": "no-such-host.invalid:9092",
                                "error_cb": errors.append, "log_level": 0})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(errors) < 2:
        producer.poll(0.1)
    assert [e.code() for e in errors[:2]] == [client.KafkaError._RESOLVE,
                                              client.KafkaError._ALL_BROKERS_DOWN]
    text = errors[0].str()
    assert text.startswith("no-such-host.invalid:9092/bootstrap: Failed to resolve "
                           "'no-such-host.invalid:9092': ")
    assert text.endswith("in state CONNECT)")
    producer.close()
