"""Delivery reports and the local queue: callback styles, exactly-once reporting, the thread
callbacks run on, poll()/flush()/len() return values, purge() and BufferError backpressure.

Messages go through tests.support.invariants.Ledger, which checks the delivery invariants on
every run: exactly one report per accepted message (none for refused ones) on the application's
thread, and -- where the test reads back -- nothing acknowledged missing, produce() order kept.
Every producer is closed, so the suite's leak check sees its threads and descriptors released.
"""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import (
    QUIET,
    Reports,
    consume_all,
    create_topic,
    poll_until,
    unique_topic,
)
from tests.support.invariants import Ledger
from tests.support.rdkafka_mock import LibrdkafkaMockCluster


@pytest.fixture
def topic1(broker: Any) -> str:
    return create_topic(broker.bootstrap_servers, unique_topic("dr"), 1)


def test_exactly_one_report_per_message(client: ModuleType, broker: Any) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("dr-count"), 4)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 5, **QUIET})
    # Reports are served only through the ledger's poll/flush/close, which checks each one
    # arrives inside such a call, on this thread, and names its own message.
    ledger = Ledger(serve_via_ledger=True)
    n = 3000
    for i in range(n):
        ledger.produce(producer, topic, key=b"%d" % i)
        if i % 500 == 0:
            ledger.poll(producer, 0)
    assert ledger.flush(producer, 30) == 0
    # ... each naming its own message (the value carries the sequence number).
    ledger.check_reports(expect_delivered=True)
    # Nothing more arrives later.
    assert ledger.poll(producer, 0.3) == 0
    ledger.check_reports(expect_delivered=True)
    assert len(producer) == 0
    ledger.close(producer)
    ledger.check_log(consume_all(broker.bootstrap_servers, topic, 4, expected=n))


def test_report_carries_message(client: ModuleType, broker: Any, topic1: str) -> None:
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    got: list[tuple[Any, Any]] = []
    producer.produce(
        topic1, b"value", key=b"key", headers=[("h", b"v")], timestamp=1_700_000_000_123,
        on_delivery=lambda err, msg: got.append((err, msg)),
    )
    assert producer.flush(10) == 0
    ((err, msg),) = got
    assert err is None and msg.error() is None
    assert (msg.topic(), msg.partition(), msg.key(), msg.value()) == (topic1, 0, b"key", b"value")
    assert msg.offset() == 0
    assert msg.timestamp() == (client.TIMESTAMP_CREATE_TIME, 1_700_000_000_123)
    assert isinstance(msg.latency(), float) and msg.latency() >= 0
    # confluent-kafka: the delivery report's Message does not carry the produced headers.
    assert msg.headers() is None
    assert isinstance(msg, client.Message)
    producer.close()


def test_callback_styles(client: ModuleType, broker: Any, topic1: str) -> None:
    """on_delivery= and callback= per message; `on_delivery` in the config as the default.
    A per-message callback replaces the configured one for that message."""
    default = Reports()
    per = Reports()
    producer = client.Producer(
        {"bootstrap.servers": broker.bootstrap_servers, "on_delivery": default.callback("conf"), **QUIET}
    )
    producer.produce(topic1, b"a")
    producer.produce(topic1, b"b", on_delivery=per.callback("on_delivery"))
    producer.produce(topic1, b"c", callback=per.callback("callback"))
    producer.produce(topic1, value=b"d")
    assert producer.flush(10) == 0
    assert [(r.tag, r.value) for r in default.items] == [("conf", b"a"), ("conf", b"d")]
    assert sorted((r.tag, r.value) for r in per.items) == [("callback", b"c"), ("on_delivery", b"b")]
    assert all(r.err is None for r in default.items + per.items)
    producer.close()
    assert len(default) + len(per) == 4, "close() served no second report"


def test_dr_msg_cb_is_not_a_python_config_key(client: ModuleType, broker: Any) -> None:
    # confluent-kafka: librdkafka's pointer properties cannot be set from the dict; the Python
    # name of the delivery callback is `on_delivery`.
    for key in ("dr_msg_cb", "dr_cb"):
        with pytest.raises(client.KafkaException) as excinfo:
            client.Producer({"bootstrap.servers": broker.bootstrap_servers, key: print})
        assert excinfo.value.args[0].code() == client.KafkaError._INVALID_ARG
        assert "must be set through dedicated" in excinfo.value.args[0].str()


@pytest.mark.mockcluster
def test_delivery_report_only_error(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("dr-only-err")
    librdkafka_mock.create_topic(topic, 1)
    reports = Reports()
    producer = client.Producer(
        {
            "bootstrap.servers": librdkafka_mock.bootstrap_servers,
            "delivery.report.only.error": True,
            "on_delivery": reports.callback("conf"),
            **QUIET,
        }
    )
    producer.list_topics(topic, timeout=10)
    for i in range(5):
        producer.produce(topic, b"ok-%d" % i)
    producer.produce(topic, b"ok-cb", on_delivery=reports.callback("per"))
    assert producer.flush(10) == 0
    assert reports.items == []
    librdkafka_mock.push_request_errors(0, *[29] * 10)  # TOPIC_AUTHORIZATION_FAILED, permanent
    for i in range(3):
        producer.produce(topic, b"bad-%d" % i)
    assert producer.flush(10) == 0
    librdkafka_mock.clear_request_errors(0)
    assert sorted(r.value for r in reports.items) == [b"bad-0", b"bad-1", b"bad-2"]
    assert reports.codes() == [client.KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
    producer.close()


def test_callbacks_run_on_the_polling_thread(client: ModuleType, broker: Any, topic1: str) -> None:
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    ledger = Ledger()
    reports = Reports()
    for i in range(50):
        ledger.produce(producer, topic1, b"v", on_delivery=reports.callback(i))
    poller: dict[str, int] = {}

    def poll_loop() -> None:
        poller["ident"] = threading.get_ident()
        ledger.allow_thread()  # the thread that polls is the application's too
        poll_until(producer, lambda: len(reports) == 50, timeout=15)

    # Before anyone polls, no callback has run (none runs on a background thread).
    time.sleep(0.3)
    assert len(reports) == 0
    worker = threading.Thread(target=poll_loop)
    worker.start()
    worker.join(20)
    assert not worker.is_alive()
    assert len(reports) == 50
    assert {r.thread for r in reports.items} == {poller["ident"]}
    ledger.check_reports(expect_delivered=True)
    producer.close()


def test_poll_returns_events_served(client: ModuleType, broker: Any, topic1: str) -> None:
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    assert producer.poll(0) == 0
    t0 = time.monotonic()
    assert producer.poll(0.3) == 0
    assert 0.25 <= time.monotonic() - t0 < 1.5  # an idle poll(timeout) waits about timeout
    ledger = Ledger()
    reports = Reports()
    n = 20
    for i in range(n):
        ledger.produce(producer, topic1, b"v", on_delivery=reports.callback(i))
    served = 0
    deadline = time.monotonic() + 15
    while len(reports) < n and time.monotonic() < deadline:
        served += producer.poll(0.1)
    assert len(reports) == n
    # confluent-kafka: poll() counts events, not messages -- librdkafka hands a whole batch of
    # delivery reports over as one event, so 20 reports may be served by a single event.
    assert 1 <= served <= n
    assert producer.poll(0) == 0
    ledger.check_reports(expect_delivered=True)
    producer.close()


def test_flush_and_len(client: ModuleType, broker: Any, topic1: str, black_hole_bootstrap: str) -> None:
    # Unreachable (but silent) cluster: everything stays queued.
    stuck = client.Producer({"bootstrap.servers": black_hole_bootstrap, "message.timeout.ms": 60000, **QUIET})
    stuck_ledger = Ledger()
    assert len(stuck) == 0
    for i in range(5):
        stuck_ledger.produce(stuck, topic1, b"v")
    assert len(stuck) == 5
    t0 = time.monotonic()
    assert stuck.flush(0.5) == 5  # the number still in queue after the timeout
    assert 0.4 <= time.monotonic() - t0 < 2.0
    assert stuck.flush(0) == 5
    stuck.purge()
    stuck.poll(0)
    assert len(stuck) == 0
    assert set(stuck_ledger.check_reports().codes().values()) == {client.KafkaError._PURGE_QUEUE}
    stuck.close()

    # Live broker, long linger: flush() does not wait for linger.ms.
    live = client.Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 5000, **QUIET})
    ledger = Ledger()
    reports = Reports()
    for i in range(7):
        ledger.produce(live, topic1, b"v", on_delivery=reports.callback(i))
    assert len(live) == 7
    t0 = time.monotonic()
    assert live.flush(10) == 0
    assert time.monotonic() - t0 < 3.0
    assert len(live) == 0 and len(reports) == 7
    assert live.flush() == 0  # nothing left: returns at once
    ledger.check_reports(expect_delivered=True)
    live.close()


def test_purge_in_queue(client: ModuleType, black_hole_bootstrap: str) -> None:
    producer = client.Producer({"bootstrap.servers": black_hole_bootstrap, "message.timeout.ms": 60000, **QUIET})
    ledger = Ledger()
    reports = Reports()
    for i in range(5):
        ledger.produce(producer, "purged-topic", b"v%d" % i, on_delivery=reports.callback(i))
    producer.purge(in_queue=True, in_flight=False)
    assert len(reports) == 0  # reports are served by poll()/flush(), not by purge()
    assert producer.flush(5) == 0
    assert ledger.check_reports().codes() == {i: client.KafkaError._PURGE_QUEUE for i in range(5)}
    assert reports.codes() == [client.KafkaError._PURGE_QUEUE] * 5
    assert len(producer) == 0

    # Defaults (in_queue=True, in_flight=True, blocking=True), and blocking=False.
    for blocking in (True, False):
        more = Reports()
        for i in range(3):
            ledger.produce(producer, "purged-topic", b"w", on_delivery=more.callback(i))
        if blocking:
            producer.purge()
        else:
            producer.purge(blocking=False)
        assert producer.flush(5) == 0
        assert more.codes() == [client.KafkaError._PURGE_QUEUE] * 3
    assert set(ledger.check_reports().codes().values()) == {client.KafkaError._PURGE_QUEUE}
    producer.close()


@pytest.mark.mockcluster
def test_purge_in_flight(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("purge-inflight")
    librdkafka_mock.create_topic(topic, 1)
    producer = client.Producer({"bootstrap.servers": librdkafka_mock.bootstrap_servers, **QUIET})
    leader = producer.list_topics(topic, timeout=10).topics[topic].partitions[0].leader
    ledger = Ledger()
    ledger.produce(producer, topic, b"warm-up")  # connect to the leader before slowing it down
    assert producer.flush(10) == 0
    librdkafka_mock.broker_set_rtt(leader, 5000)
    reports = Reports()
    for i in range(3):
        ledger.produce(producer, topic, b"in-flight", on_delivery=reports.callback(("inflight", i)))
    # Wait until the ProduceRequest is on the wire (the mock received it).
    librdkafka_mock.start_request_tracking()
    deadline = time.monotonic() + 5
    while not any(r.api_key == 0 for r in librdkafka_mock.get_requests()):
        assert time.monotonic() < deadline, "no ProduceRequest sent"
        producer.poll(0.02)
    for i in range(2):
        ledger.produce(producer, topic, b"queued", on_delivery=reports.callback(("queued", i)))

    producer.purge(in_queue=True, in_flight=False)
    poll_until(producer, lambda: len(reports) == 2, timeout=3)
    assert [(r.tag[0], r.code) for r in reports.items] == [("queued", client.KafkaError._PURGE_QUEUE)] * 2

    producer.purge(in_queue=False, in_flight=True)
    poll_until(producer, lambda: len(reports) == 5, timeout=3)  # well before the 5 s rtt
    inflight = [r for r in reports.items if r.tag[0] == "inflight"]
    assert [r.code for r in inflight] == [client.KafkaError._PURGE_INFLIGHT] * 3
    assert all(r.offset is None for r in inflight)
    assert len(producer) == 0
    librdkafka_mock.broker_set_rtt(leader, 0)
    summary = ledger.check_reports()
    assert list(summary.delivered) == [0]  # the warm-up; the five purged ones failed once each
    producer.close()


@pytest.mark.parametrize(
    ("setting", "value_size", "accepted"),
    [
        ({"queue.buffering.max.messages": 10}, 10, 10),
        ({"queue.buffering.max.kbytes": 10}, 1000, 10),  # 10 * 1000 <= 10240 < 11 * 1000
    ],
    ids=["max.messages", "max.kbytes"],
)
def test_buffer_error_threshold(
    client: ModuleType, black_hole_bootstrap: str, setting: dict[str, int], value_size: int, accepted: int
) -> None:
    producer = client.Producer(
        {"bootstrap.servers": black_hole_bootstrap, "message.timeout.ms": 60000, **setting, **QUIET}
    )
    ledger = Ledger()
    for _ in range(accepted):
        ledger.produce(producer, "t", b"v" * value_size, mark=False)
    with pytest.raises(BufferError):
        ledger.produce(producer, "t", b"v" * value_size, mark=False)
    assert len(producer) == accepted
    with pytest.raises(BufferError):
        ledger.produce(producer, "t", b"v" * value_size, mark=False)
    producer.purge()
    producer.poll(0)
    ledger.produce(producer, "t", b"v" * value_size, mark=False)  # room again
    assert len(producer) == 1
    producer.purge()
    producer.poll(0)
    # Every accepted message got exactly one (purged) report, the two refused ones none.
    summary = ledger.check_reports()
    assert len(summary.failed) == accepted + 1 and len(ledger.refused) == 2
    assert set(summary.codes().values()) == {client.KafkaError._PURGE_QUEUE}
    producer.close()


def test_buffer_error_loses_nothing(client: ModuleType, broker: Any, topic1: str) -> None:
    """Backpressure: produce() raises BufferError when the queue is full, the caller polls and
    retries, and every accepted message is delivered once, in order."""
    producer = client.Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "queue.buffering.max.messages": 5,
            "linger.ms": 100,
            **QUIET,
        }
    )
    ledger = Ledger()
    reports = Reports()
    n = 40
    buffer_errors = 0
    deadline = time.monotonic() + 30
    for i in range(n):
        while True:
            try:
                ledger.produce(producer, topic1, on_delivery=reports.callback(i))
                break
            except BufferError:
                buffer_errors += 1
                assert time.monotonic() < deadline
                producer.poll(0.05)
        assert len(producer) <= 5
    assert producer.flush(15) == 0
    assert buffer_errors >= 1
    assert [r.tag for r in reports.items] == list(range(n))
    # Refused attempts got no report; each accepted message exactly one, delivered, in order.
    ledger.check_reports(expect_delivered=True)
    producer.close()
    consumed = consume_all(broker.bootstrap_servers, topic1, 1, expected=n)
    ledger.check_log(consumed)
    assert [m.value() for m in consumed] == ledger.values()
