"""Fault injection on librdkafka's 3-broker mock cluster: brokers down, leaders moving,
retriable and permanent Produce errors, request timeouts. Everything produced gets exactly one
delivery report; what was delivered is read back with confluent-kafka and checked for order."""

from __future__ import annotations

import time
from collections import defaultdict
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import QUIET, Reports, consume_all, seq_of, seq_value, unique_topic
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

pytestmark = pytest.mark.mockcluster

PRODUCE = 0  # ApiKey


def _setup(client: ModuleType, mock: LibrdkafkaMockCluster, partitions: int, **conf: Any) -> tuple[str, Any, dict[int, int]]:
    topic = unique_topic("fault")
    mock.create_topic(topic, partitions)
    producer = client.Producer({"bootstrap.servers": mock.bootstrap_servers, **QUIET, **conf})
    md = producer.list_topics(topic, timeout=10)
    leaders = {p: pm.leader for p, pm in md.topics[topic].partitions.items()}
    return topic, producer, leaders


def _warm_up(producer: Any, topic: str, partitions: int) -> None:
    """One delivered message per partition: connections to every leader are up."""
    for p in range(partitions):
        producer.produce(topic, b"warm-up", partition=p)
    assert producer.flush(10) == 0


def _first_occurrence_order(consumed: list[Any]) -> dict[int, list[int]]:
    """Per partition, the sequence numbers in log order, duplicates (from retried requests that
    had been written) dropped after their first occurrence."""
    seen: set[int] = set()
    out: dict[int, list[int]] = defaultdict(list)
    for m in consumed:
        if m.value() == b"warm-up":
            continue
        s = seq_of(m.value())
        if s not in seen:
            seen.add(s)
            out[m.partition()].append(s)
    return out


def _produce_stream(producer: Any, topic: str, n: int, reports: Reports, *, during: dict[int, Any], pace: float = 0.002) -> None:
    """Produce seq 0..n-1 (keyed over the partitions), serving reports; run during[i]() just
    before producing message i."""
    for i in range(n):
        if i in during:
            during[i]()
        producer.produce(topic, seq_value(i), key=b"k%d" % (i % 13), on_delivery=reports.callback(i))
        producer.poll(0)
        if pace:
            time.sleep(pace)


def _check_all_delivered_in_order(reports: Reports, n: int, consumed: list[Any], partitions: int) -> None:
    assert sorted(r.tag for r in reports.items) == list(range(n)), "exactly one report per message"
    failed = [(r.tag, r.err) for r in reports.items if r.err is not None]
    assert not failed, failed[:5]
    placed: dict[int, list[int]] = defaultdict(list)
    for r in sorted(reports.items, key=lambda r: r.tag):
        placed[r.partition].append(r.tag)
    logged = _first_occurrence_order(consumed)
    for p in range(partitions):
        assert logged.get(p, []) == placed.get(p, []), f"partition {p}: log order differs from produce order"


def test_broker_down_and_back(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, leaders = _setup(
        client, librdkafka_mock, partitions, **{"message.timeout.ms": 30000, "max.in.flight.requests.per.connection": 1}
    )
    _warm_up(producer, topic, partitions)
    victim = leaders[0]
    reports = Reports()
    n = 600
    _produce_stream(
        producer, topic, n, reports,
        during={150: lambda: librdkafka_mock.broker_set_down(victim), 350: lambda: librdkafka_mock.broker_set_up(victim)},
    )
    assert producer.flush(25) == 0
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, partitions, expected=n + partitions)
    _check_all_delivered_in_order(reports, n, consumed, partitions)
    # The outage was real: messages for the downed leader waited for it to come back.
    waited = [r.latency for r in reports.items if r.partition in [p for p, b in leaders.items() if b == victim]]
    assert max(waited) > 0.15


def test_all_brokers_down_every_message_times_out(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, _ = _setup(client, librdkafka_mock, partitions, **{"message.timeout.ms": 1500})
    _warm_up(producer, topic, partitions)
    librdkafka_mock.broker_set_down(-1)
    reports = Reports()
    n = 200
    t0 = time.monotonic()
    for i in range(n):
        producer.produce(topic, seq_value(i), key=b"%d" % i, on_delivery=reports.callback(i))
    assert producer.flush(10) == 0
    elapsed = time.monotonic() - t0
    assert sorted(r.tag for r in reports.items) == list(range(n)), "none lost silently, none twice"
    assert set(reports.codes()) == {client.KafkaError._MSG_TIMED_OUT}
    assert 1.0 <= elapsed < 8.0
    assert len(producer) == 0


def test_leader_moves_mid_stream(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, leaders = _setup(
        client, librdkafka_mock, partitions, **{"message.timeout.ms": 30000, "max.in.flight.requests.per.connection": 1}
    )
    _warm_up(producer, topic, partitions)

    def move_all(step: int) -> Any:
        def move() -> None:
            for p in range(partitions):
                librdkafka_mock.partition_set_leader(topic, p, (leaders[p] - 1 + step) % 3 + 1)

        return move

    reports = Reports()
    n = 600
    _produce_stream(producer, topic, n, reports, during={200: move_all(1), 400: move_all(2)})
    assert producer.flush(25) == 0
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, partitions, expected=n + partitions)
    _check_all_delivered_in_order(reports, n, consumed, partitions)
    md = producer.list_topics(topic, timeout=10)  # the producer follows the new leaders
    assert {p: pm.leader for p, pm in md.topics[topic].partitions.items()} == {
        p: (leaders[p] + 1) % 3 + 1 for p in range(partitions)
    }


@pytest.mark.parametrize(
    "errors",
    [(6,), (7,), (19,), (6, 7, 19, 20)],
    ids=["NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS", "mixed"],
)
def test_retriable_produce_errors_are_retried(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, errors: tuple[int, ...]
) -> None:
    topic, producer, leaders = _setup(
        client, librdkafka_mock, 1,
        **{"max.in.flight.requests.per.connection": 1, "retry.backoff.ms": 50, "message.timeout.ms": 20000},
    )
    _warm_up(producer, topic, 1)
    leader = leaders[0]
    librdkafka_mock.broker_push_request_error_rtts(leader, PRODUCE, *[(e, 0) for e in errors])
    librdkafka_mock.start_request_tracking()
    reports = Reports()
    n = 30
    for i in range(n):
        producer.produce(topic, seq_value(i), on_delivery=reports.callback(i))
    assert producer.flush(15) == 0
    assert [r.tag for r in reports.items] == list(range(n))
    assert all(r.err is None for r in reports.items), reports.codes()
    offsets = [r.offset for r in reports.items]
    assert all(a < b for a, b in zip(offsets, offsets[1:]))
    # Every injected error was consumed by a ProduceRequest that the client then retried.
    assert librdkafka_mock.broker_error_stack_cnt(leader, PRODUCE) == 0
    produce_requests = [r for r in librdkafka_mock.get_requests() if r.api_key == PRODUCE]
    assert len(produce_requests) >= len(errors) + 1
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, 1, expected=n + 1)
    assert [seq_of(m.value()) for m in consumed if m.value() != b"warm-up"] == list(range(n))


@pytest.mark.parametrize(
    "error",
    [10, 29, 87, 17],
    ids=["MSG_SIZE_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED", "INVALID_RECORD", "INVALID_TOPIC_EXCEPTION"],
)
def test_permanent_produce_errors_are_reported(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, error: int
) -> None:
    topic, producer, _ = _setup(client, librdkafka_mock, 1, **{"message.timeout.ms": 20000})
    _warm_up(producer, topic, 1)
    n = 5
    # Enough errors for every request however the client batches; cleared afterwards.
    librdkafka_mock.push_request_errors(PRODUCE, *[error] * n)
    reports = Reports()
    t0 = time.monotonic()
    for i in range(n):
        producer.produce(topic, seq_value(i), on_delivery=reports.callback(i))
    assert producer.flush(10) == 0
    assert time.monotonic() - t0 < 5  # reported at once, not after retries/timeouts
    librdkafka_mock.clear_request_errors(PRODUCE)
    assert sorted(r.tag for r in reports.items) == list(range(n))
    assert reports.codes() == [error] * n
    for r in reports.items:
        assert not r.err.retriable() and not r.err.fatal()
        # confluent-kafka: a failed report has no timestamp (TIMESTAMP_NOT_AVAILABLE, -1). Its
        # offset is not checked: librdkafka fills in base_offset(-1)+index from the error response.
        assert r.timestamp == (client.TIMESTAMP_NOT_AVAILABLE, -1)
    if error == client.KafkaError.TOPIC_AUTHORIZATION_FAILED:
        # confluent-kafka: the topic is now marked unauthorized and produce() itself raises.
        with pytest.raises(client.KafkaException) as excinfo:
            producer.produce(topic, b"after")
        assert excinfo.value.args[0].code() == error
        return
    # The producer keeps working afterwards.
    ok = Reports()
    producer.produce(topic, b"after", on_delivery=ok.callback())
    assert producer.flush(10) == 0
    assert ok.codes() == [None]


def test_request_timeout_then_retry_delivers(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """One ProduceRequest answered after 2.5 s with socket.timeout.ms=1000: the client times
    the request out, reconnects, retries, and delivers within message.timeout.ms.

    confluent-kafka: the client-side timeout of an in-flight ProduceRequest is socket.timeout.ms
    (capped by the first message's remaining message.timeout.ms); request.timeout.ms is only the
    ack timeout sent to the broker -- with request.timeout.ms=1000 alone the 2.5 s answer is
    simply awaited and accepted, no retry.
    """
    topic, producer, leaders = _setup(
        client, librdkafka_mock, 1,
        **{"socket.timeout.ms": 1000, "message.timeout.ms": 15000, "retry.backoff.ms": 50,
           "max.in.flight.requests.per.connection": 1},
    )
    _warm_up(producer, topic, 1)
    librdkafka_mock.broker_push_request_error_rtts(leaders[0], PRODUCE, (0, 2500))
    librdkafka_mock.start_request_tracking()
    reports = Reports()
    n = 10
    t0 = time.monotonic()
    for i in range(n):
        producer.produce(topic, seq_value(i), on_delivery=reports.callback(i))
    assert producer.flush(12) == 0
    assert time.monotonic() - t0 < 2.4  # retried after the 1 s timeout, not answered at 2.5 s
    assert [r.tag for r in reports.items] == list(range(n))
    assert all(r.err is None for r in reports.items), reports.codes()
    assert len([r for r in librdkafka_mock.get_requests() if r.api_key == PRODUCE]) >= 2
    # The slow request had been written: non-idempotent retries may duplicate, never lose or reorder.
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, 1, expected=n + 1)
    assert _first_occurrence_order(consumed)[0] == list(range(n))


@pytest.mark.parametrize("socket_timeout_ms", [1000, 60000])
def test_request_timeout_past_message_timeout(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, socket_timeout_ms: int
) -> None:
    """The leader answers nothing within message.timeout.ms: in-flight messages fail with
    _MSG_TIMED_OUT at about message.timeout.ms -- whether the request timed out and was retried
    first (socket.timeout.ms=1000) or not (60000) -- and none is lost silently."""
    topic, producer, leaders = _setup(
        client, librdkafka_mock, 1, **{"socket.timeout.ms": socket_timeout_ms, "message.timeout.ms": 2000}
    )
    _warm_up(producer, topic, 1)
    librdkafka_mock.broker_set_rtt(leaders[0], 6000)
    reports = Reports()
    n = 10
    t0 = time.monotonic()
    for i in range(n):
        producer.produce(topic, seq_value(i), on_delivery=reports.callback(i))
    assert producer.flush(10) == 0
    elapsed = time.monotonic() - t0
    assert sorted(r.tag for r in reports.items) == list(range(n))
    assert set(reports.codes()) == {client.KafkaError._MSG_TIMED_OUT}
    assert 1.5 <= elapsed < 5.0  # at message.timeout.ms, well before the broker would answer
    librdkafka_mock.broker_set_rtt(leaders[0], 0)
