"""Fault injection on librdkafka's 3-broker mock cluster: brokers down, leaders moving,
retriable and permanent Produce errors, request timeouts. Everything produced goes through
tests.support.invariants.Ledger: exactly one delivery report per message on the application's
thread; what was delivered is read back with confluent-kafka and checked by the ledger (nothing
acknowledged lost, produce() order per partition, duplicates only where a retry may write twice).
Every producer is closed, so the suite's leak check sees its threads and descriptors released."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import QUIET, Reports, consume_all, unique_topic
from tests.support.invariants import Ledger
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


def _warm_up(producer: Any, ledger: Ledger, topic: str, partitions: int) -> None:
    """One delivered message per partition: connections to every leader are up."""
    for p in range(partitions):
        ledger.produce(producer, topic, b"warm-up", partition=p)
    assert producer.flush(10) == 0
    ledger.check_reports(expect_delivered=True)


def _produce_stream(
    producer: Any, ledger: Ledger, topic: str, n: int, reports: Reports, *, during: dict[int, Any], pace: float = 0.002
) -> None:
    """Produce n messages (keyed over the partitions), serving reports; run during[i]() just
    before producing message i."""
    for i in range(n):
        if i in during:
            during[i]()
        ledger.produce(producer, topic, key=b"k%d" % (i % 13), on_delivery=reports.callback(i))
        producer.poll(0)
        if pace:
            time.sleep(pace)


def _check_all_delivered_in_order(ledger: Ledger, consumed: list[Any]) -> None:
    """Exactly one report per message, all delivered; per partition the log's first occurrences
    keep produce() order (retried requests that had been written may appear twice)."""
    ledger.check_reports(expect_delivered=True)
    ledger.check_log(consumed, allow_duplicates=True)


def test_broker_down_and_back(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, leaders = _setup(
        client, librdkafka_mock, partitions, **{"message.timeout.ms": 30000, "max.in.flight.requests.per.connection": 1}
    )
    ledger = Ledger()
    _warm_up(producer, ledger, topic, partitions)
    victim = leaders[0]
    reports = Reports()
    n = 600
    _produce_stream(
        producer, ledger, topic, n, reports,
        during={150: lambda: librdkafka_mock.broker_set_down(victim), 350: lambda: librdkafka_mock.broker_set_up(victim)},
    )
    assert producer.flush(25) == 0
    producer.close()
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, partitions, expected=n + partitions)
    _check_all_delivered_in_order(ledger, consumed)
    # The outage was real: messages for the downed leader waited for it to come back.
    waited = [r.latency for r in reports.items if r.partition in [p for p, b in leaders.items() if b == victim]]
    assert max(waited) > 0.15


def test_all_brokers_down_every_message_times_out(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, _ = _setup(client, librdkafka_mock, partitions, **{"message.timeout.ms": 1500})
    warm = Ledger()
    _warm_up(producer, warm, topic, partitions)
    librdkafka_mock.broker_set_down(-1)
    ledger = Ledger()
    n = 200
    t0 = time.monotonic()
    for i in range(n):
        ledger.produce(producer, topic, key=b"%d" % i)
    assert producer.flush(10) == 0
    elapsed = time.monotonic() - t0
    summary = ledger.check_reports()  # none lost silently, none twice
    assert set(summary.codes().values()) == {client.KafkaError._MSG_TIMED_OUT}
    assert 1.0 <= elapsed < 8.0
    assert len(producer) == 0
    producer.close()


def test_leader_moves_mid_stream(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    partitions = 3
    topic, producer, leaders = _setup(
        client, librdkafka_mock, partitions, **{"message.timeout.ms": 30000, "max.in.flight.requests.per.connection": 1}
    )
    ledger = Ledger()
    _warm_up(producer, ledger, topic, partitions)

    def move_all(step: int) -> Any:
        def move() -> None:
            for p in range(partitions):
                librdkafka_mock.partition_set_leader(topic, p, (leaders[p] - 1 + step) % 3 + 1)

        return move

    reports = Reports()
    n = 600
    _produce_stream(producer, ledger, topic, n, reports, during={200: move_all(1), 400: move_all(2)})
    assert producer.flush(25) == 0
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, partitions, expected=n + partitions)
    _check_all_delivered_in_order(ledger, consumed)
    md = producer.list_topics(topic, timeout=10)  # the producer follows the new leaders
    assert {p: pm.leader for p, pm in md.topics[topic].partitions.items()} == {
        p: (leaders[p] + 1) % 3 + 1 for p in range(partitions)
    }
    producer.close()


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
    ledger = Ledger()
    _warm_up(producer, ledger, topic, 1)
    leader = leaders[0]
    librdkafka_mock.broker_push_request_error_rtts(leader, PRODUCE, *[(e, 0) for e in errors])
    librdkafka_mock.start_request_tracking()
    n = 30
    for i in range(n):
        ledger.produce(producer, topic)
    assert producer.flush(15) == 0
    # One report each, all delivered, in produce order with increasing offsets.
    ledger.check_reports(expect_delivered=True)
    # Every injected error was consumed by a ProduceRequest that the client then retried.
    assert librdkafka_mock.broker_error_stack_cnt(leader, PRODUCE) == 0
    produce_requests = [r for r in librdkafka_mock.get_requests() if r.api_key == PRODUCE]
    assert len(produce_requests) >= len(errors) + 1
    producer.close()
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, 1, expected=n + 1)
    # Rejected requests wrote nothing: the log is the produce order, each message once.
    ledger.check_log(consumed)
    assert [m.value() for m in consumed] == ledger.values()


@pytest.mark.parametrize(
    "error",
    [10, 29, 87, 17],
    ids=["MSG_SIZE_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED", "INVALID_RECORD", "INVALID_TOPIC_EXCEPTION"],
)
def test_permanent_produce_errors_are_reported(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, error: int
) -> None:
    topic, producer, _ = _setup(client, librdkafka_mock, 1, **{"message.timeout.ms": 20000})
    ledger = Ledger()
    _warm_up(producer, ledger, topic, 1)
    n = 5
    # Enough errors for every request however the client batches; cleared afterwards.
    librdkafka_mock.push_request_errors(PRODUCE, *[error] * n)
    reports = Reports()
    t0 = time.monotonic()
    bad = [ledger.produce(producer, topic, on_delivery=reports.callback(i)) for i in range(n)]
    assert producer.flush(10) == 0
    assert time.monotonic() - t0 < 5  # reported at once, not after retries/timeouts
    librdkafka_mock.clear_request_errors(PRODUCE)
    assert {s: c for s, c in ledger.check_reports().codes().items() if s in bad} == {s: error for s in bad}
    assert reports.codes() == [error] * n
    for r in reports.items:
        assert not r.err.retriable() and not r.err.fatal()
        # confluent-kafka: a failed report has no timestamp (TIMESTAMP_NOT_AVAILABLE, -1). Its
        # offset is not checked: librdkafka fills in base_offset(-1)+index from the error response.
        assert r.timestamp == (client.TIMESTAMP_NOT_AVAILABLE, -1)
    if error == client.KafkaError.TOPIC_AUTHORIZATION_FAILED:
        # confluent-kafka: the topic is now marked unauthorized and produce() itself raises.
        with pytest.raises(client.KafkaException) as excinfo:
            ledger.produce(producer, topic, b"after")
        assert excinfo.value.args[0].code() == error
    else:
        # The producer keeps working afterwards.
        after = ledger.produce(producer, topic, b"after")
        assert producer.flush(10) == 0
        assert ledger.check_reports().codes()[after] is None
    ledger.check_reports()  # still exactly one report each, none for a refused message
    producer.close()
    # Whatever was acknowledged (warm-up, "after") is in the log; the failed ones are not read
    # back as anything unexpected.
    ledger.check_log(consume_all(librdkafka_mock.bootstrap_servers, topic, 1, expected=len(ledger.check_reports().delivered)))


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
    ledger = Ledger()
    _warm_up(producer, ledger, topic, 1)
    librdkafka_mock.broker_push_request_error_rtts(leaders[0], PRODUCE, (0, 2500))
    librdkafka_mock.start_request_tracking()
    n = 10
    t0 = time.monotonic()
    for i in range(n):
        ledger.produce(producer, topic)
    assert producer.flush(12) == 0
    assert time.monotonic() - t0 < 2.4  # retried after the 1 s timeout, not answered at 2.5 s
    assert len([r for r in librdkafka_mock.get_requests() if r.api_key == PRODUCE]) >= 2
    producer.close()
    # The slow request had been written: non-idempotent retries may duplicate, never lose or reorder.
    consumed = consume_all(librdkafka_mock.bootstrap_servers, topic, 1, expected=n + 1)
    _check_all_delivered_in_order(ledger, consumed)


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
    _warm_up(producer, Ledger(), topic, 1)
    librdkafka_mock.broker_set_rtt(leaders[0], 6000)
    ledger = Ledger()
    n = 10
    t0 = time.monotonic()
    for i in range(n):
        ledger.produce(producer, topic)
    assert producer.flush(10) == 0
    elapsed = time.monotonic() - t0
    assert set(ledger.check_reports().codes().values()) == {client.KafkaError._MSG_TIMED_OUT}
    assert 1.5 <= elapsed < 5.0  # at message.timeout.ms, well before the broker would answer
    librdkafka_mock.broker_set_rtt(leaders[0], 0)
    producer.close()
