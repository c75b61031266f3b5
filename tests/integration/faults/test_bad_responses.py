"""A broker (through the fault proxy) that answers with bytes a client must not trust: an
undecodable Produce response, a frame header announcing 90 MB followed by nothing, an
ApiVersions handshake that never completes. Each costs an error or a reconnect -- never
unbounded memory, a hang, a duplicate or another message."""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from tests.integration.faults._util import (
    QUIET, MemoryWatch, Proxied, bounded_close, consume_all, create_topic,
)
from tests.support.faultproxy import Rule
from tests.support.invariants import Ledger

PRODUCE, METADATA, API_VERSIONS = 0, 3, 18


def _producer(client: ModuleType, proxied: Proxied, **conf: object) -> object:
    return client.Producer({"bootstrap.servers": proxied.bootstrap, **QUIET, **conf})


def _warm_up(ledger: Ledger, producer: object, topic: str) -> None:
    """One delivered message: metadata known, the connection to broker 111 up."""
    ledger.produce(producer, topic, b"warm-up", partition=0)
    assert ledger.flush(producer, 15) == 0


@pytest.mark.parametrize("mode", ["cut", "garbage"])
def test_undecodable_produce_response_fails_that_request_only(client: ModuleType, proxied: Proxied, mode: str) -> None:
    """The first Produce response after the warm-up is spoiled (correlation id kept): "cut"
    keeps no byte of the body, "garbage" replaces it with seeded random bytes.

    confluent-kafka: the messages of that request fail at once (a parse failure is permanent
    for the request: _UNDERFLOW, "Local: Read underflow", not retriable), they are not
    retried (the broker wrote them: they are in the log once), the connection stays up and
    every other message is delivered in order.
    """
    topic = create_topic(proxied.bootstrap, f"bad-produce-{mode}", 1)
    producer = _producer(client, proxied, **{"message.timeout.ms": 20000, "linger.ms": 50})
    ledger = Ledger()
    _warm_up(ledger, producer, topic)
    proxied.proxy.set_rules(Rule("corrupt", api_key=PRODUCE, count=1, mode=mode, keep=0, name="spoil"))
    first = [ledger.produce(producer, topic, b"first-%d" % i, partition=0) for i in range(20)]
    assert ledger.flush(producer, 15) == 0
    second = [ledger.produce(producer, topic, b"second-%d" % i, partition=0) for i in range(20)]
    t0 = time.monotonic()
    assert ledger.flush(producer, 15) == 0
    assert time.monotonic() - t0 < 5.0
    bounded_close(ledger, producer)
    assert len(proxied.proxy.fired(action="corrupt", api_key=PRODUCE)) == 1

    summary = ledger.check_reports(ordered=True)
    failed = sorted(summary.failed)
    assert failed, "the spoiled response failed no message"
    assert set(failed) <= set(first), "only messages of the spoiled request may fail"
    assert failed == list(range(failed[0], failed[-1] + 1)), "the failed messages are one request's run"
    assert all(s in summary.delivered for s in second)
    consumed = consume_all(proxied.bootstrap, topic, 1, expected=len(summary.delivered))
    log = ledger.check_log(consumed, ordered=True, allow_duplicates=False)
    assert log.failed_but_written == set(failed), "the broker wrote the spoiled request once; it was not retried"
    reports = {r.seq: r for r in ledger.reports}
    for s in failed:
        assert reports[s].timestamp == (client.TIMESTAMP_NOT_AVAILABLE, -1)
    # Last, the exact error: librdkafka's for a response shorter than its fields.
    assert {reports[s].code for s in failed} == {client.KafkaError._UNDERFLOW}, \
        {reports[s].error for s in failed}


def test_90mb_frame_header_allocates_nothing_up_front(client: ModuleType, proxied: Proxied) -> None:
    """A Produce response whose size prefix says 90 MB, then the correlation id and nothing
    more (the connection stays open).

    confluent-kafka: no memory growth to speak of (librdkafka's buffer for the frame is not
    touched); the request times out after socket.timeout.ms, the connection is torn down and
    the messages are retried on a new one and delivered (possibly twice: the broker had
    written them).
    """
    socket_timeout_ms = 2000
    topic = create_topic(proxied.bootstrap, "huge-frame", 1)
    producer = _producer(client, proxied, **{"socket.timeout.ms": socket_timeout_ms, "message.timeout.ms": 20000})
    ledger = Ledger()
    _warm_up(ledger, producer, topic)
    proxied.proxy.set_rules(Rule("huge", api_key=PRODUCE, count=1, size=90 * 2**20, name="90MB"))
    with MemoryWatch() as mem:
        t0 = time.monotonic()
        for i in range(10):
            ledger.produce(producer, topic, b"m%d" % i, partition=0)
        assert ledger.flush(producer, 20) == 0
        recovered = time.monotonic() - t0
    bounded_close(ledger, producer)
    assert len(proxied.proxy.fired(action="huge")) == 1
    print(f"\n[{client.__name__}] 90 MB header: recovered in {recovered:.2f} s, "
          f"python peak +{mem.python_peak / 2**20:.1f} MiB, RSS peak +{mem.rss_peak / 2**20:.1f} MiB")
    summary = ledger.check_reports(ordered=True, expect_delivered=True)
    consumed = consume_all(proxied.bootstrap, topic, 1, expected=len(summary.delivered))
    ledger.check_log(consumed, ordered=True, allow_duplicates=True)
    assert mem.python_peak < 32 * 2**20, f"Python allocations peaked {mem.python_peak / 2**20:.1f} MiB above the start"
    assert mem.rss_peak < 64 * 2**20, f"RSS peaked {mem.rss_peak / 2**20:.1f} MiB above the start"
    # The request timed out after socket.timeout.ms, then was retried.
    assert socket_timeout_ms / 1000 * 0.8 < recovered < 2 * socket_timeout_ms / 1000 + 1.0, recovered


@pytest.mark.parametrize("socket_timeout_ms", [1000, 3000])
def test_stalled_api_versions_handshake_times_out(client: ModuleType, proxied: Proxied, socket_timeout_ms: int) -> None:
    """The first connection's ApiVersions response is held back for 30 s.

    confluent-kafka: the handshake times out after socket.timeout.ms (it is below
    api.version.request.timeout.ms, 10 s), the client reconnects (that handshake passes)
    and the first message is delivered about socket.timeout.ms after the producer was
    created.
    """
    topic = create_topic(proxied.bootstrap, "stalled-handshake", 1)
    proxied.proxy.set_rules(Rule("stall", api_key=API_VERSIONS, count=1, seconds=30, name="hold ApiVersions"))
    ledger = Ledger()
    t0 = time.monotonic()
    producer = _producer(client, proxied, **{"socket.timeout.ms": socket_timeout_ms, "message.timeout.ms": 30000})
    ledger.produce(producer, topic, b"first", partition=0)
    assert ledger.flush(producer, 25) == 0
    recovered = time.monotonic() - t0
    bounded_close(ledger, producer)
    print(f"\n[{client.__name__}] stalled ApiVersions, socket.timeout.ms={socket_timeout_ms}: "
          f"delivered after {recovered:.2f} s")
    assert len(proxied.proxy.fired(action="stall", api_key=API_VERSIONS)) == 1
    ledger.check_reports(expect_delivered=True)
    # A protocol timeout: well before twice socket.timeout.ms (plus connection set-up).
    assert recovered < 2 * socket_timeout_ms / 1000 + 1.0, recovered
    assert recovered > socket_timeout_ms / 1000 * 0.8, "delivered before the stalled handshake could time out"

