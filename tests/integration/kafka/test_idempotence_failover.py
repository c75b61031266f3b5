"""The idempotent producer on a real 3-broker Kafka cluster while a partition leader is
SIGKILLed and restarted twice (issue 15's acceptance): every message is read back exactly
once, in produce() order per partition.

Topic: 6 partitions, replication factor 3, min.insync.replicas=2 (so acks=all keeps working
with one broker down). The producer: enable.idempotence=true, acks=all, up to 5 requests in
flight per broker, message.timeout.ms 120 s. A killed leader may have written a batch, and
even replicated it, without answering: the producer resends it to the new leader with the
same producer id and sequence numbers, and the broker must answer it as a duplicate
instead of appending it again. So, unlike tests/integration/kafka/test_failover.py
(not idempotent, one request in flight), no duplicate is allowed.

A worker thread produces 200,000 small messages, message i to partition i % 6 (the ledger's
mark in each value carries i, so per partition produce() order is the order of the marks),
paced to about PACE_SECONDS (a slower client simply takes longer). Meanwhile the test's main
thread, following the worker's progress:

1. at 10% of the messages, SIGKILLs the broker leading partition 0;
2. once the controller fenced it and moved leadership off it, starts it again (same ports and
   data: log recovery) and waits until it is back in every ISR;
3. at 55% of the messages (and only after step 2), SIGKILLs the leader of another partition,
   a different broker where one leads something, and restarts it the same way.

The kills and restarts run on the main thread because a broker is started under
``setpriv --pdeathsig KILL`` (tests.support.kafka.server): the kernel kills it when the thread
that started it exits, and the main thread outlives every test. The worker does not get past
90% of its messages at full pace before the second kill (it trickles one message every 2 ms
from there until the kill), so both kills hit a producer with requests in flight whatever the
machine's speed.

Then, for the client under test (confluent-kafka first, the reference):
* every message got exactly one delivery report, all of them deliveries, in produce() order
  per partition with increasing offsets (Ledger.check_reports);
* read back with confluent's Consumer, every acknowledged message is in the log exactly once,
  at the partition and offset its report named, in produce() order per partition
  (Ledger.check_log, duplicates not allowed).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tests.integration.kafka._util import QUIET, create_topic, leaders_moved, unique_name
from tests.integration.producer._util import consume_all
from tests.support.invariants import Ledger
from tests.support.kafka import KafkaCluster

MESSAGES = 200_000
PARTITIONS = 6
PACE_SECONDS = 30.0  # the fastest the messages are produced (two kill/restart cycles fit in)
KILL_AT = (MESSAGES // 10, MESSAGES * 55 // 100)  # progress at which each kill happens
HOLD_AT = MESSAGES * 9 // 10  # the worker slows down here until the second kill happened
HOLD_INTERVAL = 0.002  # seconds between messages while held
PAYLOAD = b"i" * 40
STEP_TIMEOUT = 90.0  # seconds any one step of the scenario may take


@dataclass
class Progress:
    """What the producing thread shares with the main thread."""

    produced: int = 0
    released: threading.Event = field(default_factory=threading.Event)  # may pass HOLD_AT
    stop: threading.Event = field(default_factory=threading.Event)  # the test gives up
    remaining: int | None = None  # flush()'s answer
    error: BaseException | None = None
    stats: list[dict[str, Any]] = field(default_factory=list)  # the last statistics seen
    produce_seconds: float = 0.0


def test_idempotent_producer_survives_two_leader_kills(client: ModuleType, cluster: KafkaCluster) -> None:
    topic = create_topic({"bootstrap.servers": cluster.bootstrap_servers}, unique_name("idempotence"), PARTITIONS,
                         replication_factor=3, config={"min.insync.replicas": "2"})
    cluster.wait_in_sync(topic)
    progress = Progress()

    def on_stats(raw: str) -> None:
        progress.stats[:] = [json.loads(raw)]

    producer = client.Producer({
        "bootstrap.servers": cluster.bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "max.in.flight.requests.per.connection": 5,
        "linger.ms": 5,
        "message.timeout.ms": 120_000,
        "queue.buffering.max.messages": 400_000,
        "statistics.interval.ms": 1000,
        "stats_cb": on_stats,
        **QUIET,
    })
    ledger = Ledger()
    t0 = time.monotonic()
    worker = threading.Thread(target=_produce, args=(producer, ledger, topic, progress), name="idempotent-producer")
    worker.start()
    timeline: dict[str, Any] = {}
    try:
        victims = _two_kill_cycles(cluster, topic, progress, ledger, timeline, t0)
    except BaseException:
        progress.stop.set()  # a step failed: no point waiting for a full flush
        print(f"\nidempotence failover ({client.__name__}) failed midway: {timeline}")
        raise
    finally:
        progress.released.set()  # never leave the worker held
        worker.join(240)
    assert not worker.is_alive(), "the producing thread did not finish flush(180)"
    timeline["produce() s"] = round(progress.produce_seconds, 1)
    timeline["flushed s"] = round(time.monotonic() - t0, 1)
    producer.poll(1.2)  # one more statistics emission, after the last acknowledgement
    print(f"\nidempotence failover ({client.__name__}): killed nodes {victims}; {timeline}")
    print(f"idempotence failover ({client.__name__}): {_stats_summary(progress.stats)}")

    reports = ledger.check_reports(ordered=True, expect_delivered=True)
    assert progress.error is None, f"the producing thread raised {progress.error!r}"
    assert progress.remaining == 0, f"{progress.remaining} messages still queued after flush(180)"
    producer.close()
    assert len(reports.delivered) == MESSAGES

    consumed = consume_all(cluster.bootstrap_servers, topic, PARTITIONS, MESSAGES, timeout=120)
    log = ledger.check_log(consumed, ordered=True, allow_duplicates=False)
    assert len(log.found) == MESSAGES and len(consumed) == MESSAGES, (len(log.found), len(consumed))
    print(f"idempotence failover ({client.__name__}): {len(consumed)} records read back, each once, in order; "
          f"{round(time.monotonic() - t0, 1)} s in all")


def _produce(producer: Any, ledger: Ledger, topic: str, progress: Progress) -> None:
    """The worker thread: produce MESSAGES paced to PACE_SECONDS (slowed to a trickle from
    HOLD_AT until the main thread releases it), then flush(180). Reports are served here (poll/flush)."""
    try:
        t0 = time.monotonic()
        for i in range(MESSAGES):
            if i % 100 == 0:
                progress.produced = i
                if progress.stop.is_set():
                    return
                # poll() returns early once it served a report: poll until the pace is met.
                while (ahead := t0 + PACE_SECONDS * i / MESSAGES - time.monotonic()) > 0:
                    producer.poll(ahead)
            if i >= HOLD_AT and not progress.released.is_set():
                producer.poll(HOLD_INTERVAL)  # a trickle, so that requests are in flight at the kill
            while True:
                try:
                    ledger.produce(producer, topic, PAYLOAD, partition=i % PARTITIONS)
                    break
                except BufferError:
                    producer.poll(0.05)
        progress.produced = MESSAGES
        progress.produce_seconds = time.monotonic() - t0
        progress.remaining = producer.flush(180)
    except BaseException as exc:  # noqa: BLE001 -- reported by the test after the invariants
        progress.error = exc


def _two_kill_cycles(cluster: KafkaCluster, topic: str, progress: Progress, ledger: Ledger,
                     timeline: dict[str, Any], t0: float) -> list[int]:
    """Kill a leader and restart it, twice, at KILL_AT progress; returns the killed nodes."""
    victims: list[int] = []
    for n, kill_at in enumerate(KILL_AT, 1):
        _wait_for(lambda: progress.produced >= kill_at or progress.error is not None, f"{kill_at} messages produced")
        assert progress.error is None, f"the producing thread raised {progress.error!r}"
        leaders = cluster.leaders(topic)
        victim = _pick_victim(leaders, avoid=victims, partition=0 if n == 1 else 3)
        led = sorted(p for p, leader in leaders.items() if leader == victim)
        produced, reported = _something_unreported(ledger)
        cluster.kill_node(victim)
        killed = time.monotonic()
        victims.append(victim)
        if n == len(KILL_AT):
            progress.released.set()
        timeline[f"kill {n}"] = {"at s": round(killed - t0, 1), "node": victim, "led": led,
                                 "produced": produced, "unreported": produced - reported}
        assert reported < produced, "nothing was waiting for acknowledgement when the leader was killed"
        moved = _wait_for(lambda: leaders_moved(cluster, topic, victim, led), "leadership moved off the killed node")
        timeline[f"kill {n}"]["fenced after s"] = round(time.monotonic() - killed, 1)
        timeline[f"kill {n}"]["leaders while down"] = moved
        cluster.start_node(victim, wait=False)
        timeline[f"kill {n}"]["restarted at s"] = round(time.monotonic() - t0, 1)
        timeline[f"kill {n}"]["produced at restart"] = progress.produced
        cluster.wait_node(victim, timeout=STEP_TIMEOUT)
        cluster.wait_in_sync(topic, timeout=STEP_TIMEOUT)
        timeline[f"kill {n}"]["back in sync at s"] = round(time.monotonic() - t0, 1)
    return victims


def _something_unreported(ledger: Ledger, timeout: float = 10.0) -> tuple[int, int]:
    """(messages produced, reports received) at a moment when some message waits for its
    acknowledgement (checked every 0.5 ms: the producer is paced, so such moments come
    often, but not at every instant, and a kill must hit one)."""
    deadline = time.monotonic() + timeout
    while True:
        produced, reported = len(ledger.sent), len(ledger.reports)
        if reported < produced or time.monotonic() >= deadline:
            return produced, reported
        time.sleep(0.0005)


def _pick_victim(leaders: dict[int, int], avoid: list[int], partition: int) -> int:
    """The leader of `partition`, unless it is in `avoid` and another (live) broker leads
    something: then that broker."""
    leader = leaders[partition]
    assert leader >= 0, f"partition {partition} has no leader: {leaders}"
    if leader not in avoid:
        return leader
    others = sorted({b for b in leaders.values() if b >= 0 and b not in avoid})
    return others[0] if others else leader


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT) -> Any:
    """condition()'s first truthy answer, asked every 0.2 s; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (answer := condition()):
        assert time.monotonic() < deadline, f"not {what} after {timeout} s"
        time.sleep(0.2)
    return answer


def _stats_summary(stats: list[dict[str, Any]]) -> str:
    """Retries, request errors and the idempotence state from the last statistics seen."""
    if not stats:
        return "no statistics"
    s = stats[0]
    brokers = s.get("brokers", {}).values()
    summary = {
        "txretries": sum(b.get("txretries", 0) for b in brokers),
        "txerrs": sum(b.get("txerrs", 0) for b in brokers),
        "req_timeouts": sum(b.get("req_timeouts", 0) for b in brokers),
        "disconnects": sum(b.get("disconnects", 0) for b in brokers),
        "txmsgs": s.get("txmsgs"),  # messages sent, resends included
        "resent": None if s.get("txmsgs") is None else s["txmsgs"] - MESSAGES,
        "eos": s.get("eos"),
    }
    return "last statistics: " + json.dumps(summary)
