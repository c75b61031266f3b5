"""The broker process dies (SIGKILL) and a new one starts on the same port, while a producer
keeps producing: every message gets exactly one report, nothing the new broker acknowledged
is lost, nothing is written twice, and the producer is back soon after the broker is.

Tansu keeps its log in memory, so a restart wipes it: what the old broker acknowledged is
gone with it (not the client's doing) and offsets start again at 0. Loss is therefore
checked for the messages produced after the kill, which only the new broker can have
acknowledged; reports and duplicates are checked for every message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.integration.faults._util import (
    QUIET, Chaos, Proxied, SteadyProducer, bounded_close, consume_all, create_topic, epoch_ledger,
    failed_codes, first_ack_after, log_duplicates, one_report_each, partition_count,
)
from tests.support.invariants import Ledger
from tests.support.tansuproc import TansuProcess

OUTAGE = 18.0
ATTEMPTS_OUTAGE = 12.0
MESSAGE_TIMEOUT_MS = 15000


def _produce_through(client: ModuleType, tansu: TansuProcess, topic: str,
                     faults: list[tuple[float, str, Callable[[], Any]]],
                     seconds: float) -> tuple[Ledger, SteadyProducer, Chaos]:
    """300 msg/s to `topic` for `seconds` while `faults` (Chaos steps) happen to the broker;
    then every report is served and the producer closed (within bounds)."""
    producer = client.Producer({"bootstrap.servers": tansu.bootstrap, "message.timeout.ms": MESSAGE_TIMEOUT_MS,
                                **QUIET})
    ledger = Ledger()
    stream = SteadyProducer(producer, ledger, topic, rate=300)
    chaos = Chaos(faults).start()
    stream.run(seconds)
    chaos.join()
    assert ledger.flush(producer, 30) == 0
    bounded_close(ledger, producer)
    return ledger, stream, chaos


def test_18s_outage_reconnects_promptly_without_duplicates(client: ModuleType, tansu: TansuProcess) -> None:
    """18 s without a broker, message.timeout.ms=15000, 300 msg/s throughout.

    confluent-kafka: the messages produced in the first ~3 s of the outage time out
    (_MSG_TIMED_OUT), the others are delivered once the broker is back; no duplicates; the
    first ack comes ~1-2 s after the broker accepts connections again. librdkafka does not
    wait out reconnect.backoff.max.ms (10 s): with every broker down it re-bootstraps
    (metadata.recovery.strategy=rebootstrap, the default): the learned broker is
    decommissioned and the bootstrap address is re-added as a fresh broker with no connection
    attempts behind it (so no backoff), and the main thread's 1 s timers try it ("refresh
    unavailable topics", then "no cluster connection" 50 ms later). Once connected, the next
    1 s tick fetches metadata and production resumes. With metadata.recovery.strategy=none
    the backoff grows to 10 s and the first ack comes ~9 s after the broker is back.
    """
    topic = "outage"  # auto-created by the producer's Metadata request, before and after the restart
    ledger, stream, chaos = _produce_through(
        client, tansu, topic, [(3.0, "kill", tansu.kill), (3.0 + OUTAGE, "back", tansu.restart)], 3.0 + OUTAGE + 5.0)

    kill, back = chaos.done["kill"], chaos.done["back"]
    reports = one_report_each(ledger)
    after_kill = [s for s, t in stream.produced_at.items() if t > kill]
    new_epoch = epoch_ledger(ledger, after_kill)
    summary = new_epoch.check_reports(ordered=False)
    partitions = partition_count(tansu.bootstrap, topic)
    consumed = consume_all(tansu.bootstrap, topic, partitions, expected=0, timeout=60)
    # Nothing acknowledged by the new broker is lost; nothing is in the log twice.
    dups = log_duplicates(ledger, consumed)
    assert not dups, f"{len(dups)} messages written more than once, e.g. {sorted(dups.items())[:10]}"
    new_epoch.check_log([m for m in consumed if ledger.seq_of(m.value()) in new_epoch.sent], ordered=False)
    # Only timeouts: the messages produced too long before the broker came back.
    failed = {s: r for s, r in reports.items() if r.code is not None}
    codes = {r.code for r in failed.values()}
    assert codes <= {client.KafkaError._MSG_TIMED_OUT}, codes
    assert failed, "the outage outlasted message.timeout.ms: some messages must have timed out"
    # Messages produced less than message.timeout.ms - 3.5 s before the broker was back had
    # time to be delivered once it was.
    late = [s for s in failed if stream.produced_at[s] > back - MESSAGE_TIMEOUT_MS / 1000 + 3.5]
    assert not late, f"{len(late)} messages timed out although produced late enough to be delivered"
    first = first_ack_after(stream, back)
    print(f"\n[{client.__name__}] 18 s outage: {len(ledger.sent)} messages, {len(failed)} timed out, "
          f"first ack {first if first is None else round(first, 2)} s after the broker was back, "
          f"{len(consumed)} records in the new log")
    assert first is not None, "nothing delivered after the broker came back"
    # librdkafka: ~1-2 s (a connection attempt every second, metadata on the next tick); the
    # bound leaves room for a loaded machine.
    assert first < 3.0, f"first ack {first:.2f} s after the broker was back"


def test_restart_without_topic_loses_nothing_acknowledged(client: ModuleType, tansu: TansuProcess) -> None:
    """The broker restarts (1 s down) and no longer has the topic: the producer's next
    Metadata request auto-creates it with Tansu's default 4 partitions instead of 6.

    confluent-kafka re-bootstraps, fetches metadata, learns that partitions 4 and 5 are gone
    and fails their queued messages with _UNKNOWN_PARTITION; nothing it reports delivered is
    missing. (Tansu acknowledges Produce requests for partitions it does not have and stores
    nothing, so a client that keeps producing to the old partitions without refreshing its
    metadata gets acks for messages that are lost.)
    """
    topic = "restart-no-topic"
    create_topic(tansu.bootstrap, topic, 6)
    ledger, stream, chaos = _produce_through(
        client, tansu, topic, [(2.0, "kill", tansu.kill), (3.0, "back", tansu.restart)], 8.0)

    partitions = partition_count(tansu.bootstrap, topic)
    assert 0 < partitions < 6, f"premise: the restarted broker re-creates the topic smaller (has {partitions})"
    one_report_each(ledger)
    after_kill = [s for s, t in stream.produced_at.items() if t > chaos.done["kill"]]
    new_epoch = epoch_ledger(ledger, after_kill)
    summary = new_epoch.check_reports(ordered=False)
    assert summary.delivered, "nothing delivered after the restart"
    consumed = consume_all(tansu.bootstrap, topic, partitions, expected=0, timeout=30)
    dups = log_duplicates(ledger, consumed)
    assert not dups, f"{len(dups)} messages written more than once"
    print(f"\n[{client.__name__}] restart without topic: {len(ledger.sent)} messages, "
          f"failed after the kill {dict(failed_codes(summary))}, "
          f"acknowledged on vanished partitions {sum(1 for r in summary.delivered.values() if (r.partition or 0) >= partitions)}")
    lost_on = sorted({r.partition for s, r in summary.delivered.items() if r.partition is not None and r.partition >= partitions})
    assert not lost_on, f"acknowledged on partitions {lost_on}, which the restarted broker does not have"
    new_epoch.check_log([m for m in consumed if ledger.seq_of(m.value()) in new_epoch.sent], ordered=False)
    assert set(failed_codes(summary)) <= {client.KafkaError._UNKNOWN_PARTITION, client.KafkaError._MSG_TIMED_OUT}, \
        failed_codes(summary)


@pytest.mark.faults_long
def test_18s_frozen_broker_no_duplicates(client: ModuleType, tansu: TansuProcess) -> None:
    """The broker process is stopped (SIGSTOP) for 18 s and continued: its connections stay
    open, the kernel keeps accepting bytes, nothing is answered; afterwards it answers
    everything it was sent. message.timeout.ms=15000, 300 msg/s throughout.

    confluent-kafka: messages waiting too long fail with _MSG_TIMED_OUT (some of them are in
    the log anyway: their request had been sent), nothing is written twice, production
    resumes as soon as the broker answers again.
    """
    topic = "frozen"
    ledger, stream, chaos = _produce_through(
        client, tansu, topic, [(3.0, "freeze", tansu.freeze), (3.0 + OUTAGE, "thaw", tansu.thaw)], 3.0 + OUTAGE + 5.0)
    summary = ledger.check_reports(ordered=False)  # nothing was wiped: the whole run is one epoch
    assert set(failed_codes(summary)) <= {client.KafkaError._MSG_TIMED_OUT}, failed_codes(summary)
    consumed = consume_all(tansu.bootstrap, topic, partition_count(tansu.bootstrap, topic), expected=0, timeout=60)
    ledger.check_log(consumed, ordered=False, allow_duplicates=False)
    first = first_ack_after(stream, chaos.done["thaw"])
    assert first is not None and first < 3.0, first


def test_broker_back_just_after_a_reconnect_attempt(client: ModuleType, proxied: Proxied) -> None:
    """12 s in which every connection to the broker is reset at once (the fault proxy plays
    a dead broker; Tansu itself keeps running, so its log survives), and the broker "comes
    back" right after the first connection attempt made after those 12 s: the worst moment
    for a client that backs off between attempts (12 s of doubling from reconnect.backoff.ms
    reaches reconnect.backoff.max.ms). The proxy records every attempt.

    confluent-kafka: an attempt about every second throughout the outage (re-bootstrap, see
    test_18s_outage_...), so the next attempt after the return connects and the first ack
    follows within ~2 s. A client that backs off up to reconnect.backoff.max.ms (10 s) would
    wait up to that long. Nothing acknowledged is lost; requests in flight when the
    connections were reset may have been written, so their retries may duplicate.
    (Measured: 40-120 attempts, largest gap <= 1.0 s, first ack 0.1-1.0 s after the return, in
    ~25 runs; once, without debug logging, librdkafka made 5 attempts 0.3, 1.3, 5.8 and 8.2 s
    apart -- plain backoff, no re-bootstrap -- and its first ack came 8.2 s after the return.)
    """
    topic = create_topic(proxied.bootstrap, "back-after-attempt", 3)
    producer = client.Producer({"bootstrap.servers": proxied.bootstrap, "message.timeout.ms": 30000, **QUIET})
    ledger = Ledger()
    stream = SteadyProducer(producer, ledger, topic, rate=300)
    stream.run(3.0)
    t_down = time.monotonic()
    proxied.proxy.refuse(until=ATTEMPTS_OUTAGE)
    back = None
    while back is None and time.monotonic() - t_down < ATTEMPTS_OUTAGE + 15.0:
        stream.run(0.5)
        serving = [e for e in proxied.proxy.events() if e["kind"] == "serving"]
        back = serving[0]["t"] if serving else None
    stream.run(6.0)
    assert ledger.flush(producer, 30) == 0
    bounded_close(ledger, producer)
    attempts = [round(e["t"] - t_down, 2) for e in proxied.proxy.events() if e["kind"] == "refused"]
    first = None if back is None else first_ack_after(stream, back)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    print(f"\n[{client.__name__}] back after an attempt: {len(attempts)} attempts refused, "
          f"largest gap {max(gaps, default=0):.2f} s, last attempts {attempts[-6:]}, "
          f"first ack {first if first is None else round(first, 2)} s after the return")
    assert back is not None, f"no connection attempt in the {15.0:.0f} s after the outage: attempts at {attempts}"
    summary = ledger.check_reports(ordered=False)
    consumed = consume_all(proxied.bootstrap, topic, 3, expected=len(summary.delivered), timeout=60)
    ledger.check_log(consumed, ordered=False, allow_duplicates=True)
    # rdpy must ack within 3 s of the return. librdkafka usually does too, but now and then
    # backs off plainly (see above: 8.2 s once; 10.1 s in a CI run, attempts 2.1, 6.9, 16.9 s
    # into the outage), so confluent-kafka is held only to reconnect.backoff.max.ms (10 s, the
    # largest gap between its attempts) and a margin for the connection and the first ack.
    bound = 3.0 if client.__name__ == "rdpy" else 13.0
    assert first is not None and first < bound, f"first ack {first} s after the broker was back; attempts at {attempts}"
    # message.timeout.ms (30 s) outlasts the outage and a prompt return: nothing times out.
    ledger.check_reports(ordered=False, expect_delivered=True)
