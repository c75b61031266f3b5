"""Failover on a real 3-broker Kafka cluster: a partition leader is SIGKILLed and restarted
while 200,000 messages are produced with acks=all.

Topic: 6 partitions, replication factor 3, min.insync.replicas=2 (the cluster's defaults). The
producer is not idempotent and keeps one request in flight per broker
(max.in.flight.requests.per.connection=1), so per-partition order must hold even across
retries; retries may write a message twice (a request the dead leader had written to the
replicas but not answered), which the invariants allow. The scenario:

1. produce, paced to about 200,000 messages in 12 s (a slower client simply takes longer);
2. after a quarter of them, SIGKILL the broker that leads partition 0 (and whichever others);
3. once the controller fenced it and moved its partitions' leadership (asserted), and at
   least half the messages were produced, start it again (same ports and data: log recovery);
4. produce the rest, flush, wait until the restarted broker is back in every ISR.

Then, for the client under test (confluent-kafka first, the reference):
* every message got exactly one delivery report, all of them deliveries, in produce() order
  per partition with increasing offsets (Ledger.check_reports);
* every acknowledged message is in the log at the partition and offset its report named, read
  back with confluent's Consumer; first occurrences keep produce() order per partition
  (Ledger.check_log; duplicates allowed, counted).
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from tests.integration.kafka._util import QUIET, create_topic, leaders_moved, unique_name
from tests.integration.producer._util import consume_all
from tests.support.invariants import Ledger
from tests.support.kafka import KafkaCluster

MESSAGES = 200_000
PARTITIONS = 6
PACE_SECONDS = 12.0  # the fastest the messages are produced
KILL_AT = MESSAGES // 4
RESTART_AT = MESSAGES // 2
PAYLOAD = b"p" * 60


def test_leader_killed_and_restarted_under_load(client: ModuleType, cluster: KafkaCluster) -> None:
    topic = create_topic({"bootstrap.servers": cluster.bootstrap_servers}, unique_name("failover"), PARTITIONS,
                         replication_factor=3)
    cluster.wait_in_sync(topic)
    leaders_before = cluster.leaders(topic)
    victim = leaders_before[0]
    led = sorted(p for p, leader in leaders_before.items() if leader == victim)

    producer = client.Producer({
        "bootstrap.servers": cluster.bootstrap_servers,
        "acks": "all",
        "enable.idempotence": False,
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 5,
        "message.timeout.ms": 120_000,
        "queue.buffering.max.messages": 400_000,
        **QUIET,
    })
    ledger = Ledger()
    timeline: dict[str, Any] = {}
    t0 = time.monotonic()
    killed_at = restarted = None
    next_look = 0.0  # when to ask the metadata again whether leadership moved
    for i in range(MESSAGES):
        if i % 500 == 0:
            ahead = t0 + PACE_SECONDS * i / MESSAGES - time.monotonic()
            producer.poll(max(0.0, ahead))
            if i == KILL_AT:
                timeline["reports at kill"] = len(ledger.reports)
                cluster.kill_node(victim)
                killed_at = time.monotonic()
            elif killed_at is not None and restarted is None and i >= RESTART_AT and time.monotonic() >= next_look:
                # Wait (producing meanwhile) until the controller fenced the dead broker and
                # moved leadership off it; then bring it back.
                next_look = time.monotonic() + 0.5
                moved = leaders_moved(cluster, topic, victim, led)
                if moved is not None:
                    timeline["fenced after s"] = round(time.monotonic() - killed_at, 1)
                    timeline["leaders while down"] = moved
                    cluster.start_node(victim, wait=False)
                    restarted = time.monotonic()
        while True:
            try:
                ledger.produce(producer, topic, PAYLOAD, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    timeline["produce() s"] = round(time.monotonic() - t0, 1)
    if restarted is None:  # produced faster than the controller fenced it: restart now
        while (moved := leaders_moved(cluster, topic, victim, led)) is None:
            producer.poll(0.2)
            assert time.monotonic() - (killed_at or t0) < 60, "leadership never moved off the killed broker"
        timeline["leaders while down"] = moved
        cluster.start_node(victim, wait=False)
    flush_error: Exception | None = None
    try:
        remaining = producer.flush(180)
    except Exception as exc:  # noqa: BLE001 -- reported after the invariants, which say more
        flush_error, remaining = exc, -1
    timeline["flushed s"] = round(time.monotonic() - t0, 1)
    cluster.wait_node(victim)
    cluster.wait_in_sync(topic, timeout=90)
    timeline["back in sync s"] = round(time.monotonic() - t0, 1)
    print(f"\nfailover ({client.__name__}): killed node {victim} leading partitions {led}; {timeline}")

    reports = ledger.check_reports(ordered=True, expect_delivered=True)
    assert flush_error is None, f"flush() raised {flush_error!r}"
    assert remaining == 0, f"{remaining} messages still queued after flush(180)"
    producer.close()
    assert timeline["reports at kill"] < KILL_AT, "nothing was in flight when the leader was killed"
    assert len(reports.delivered) == MESSAGES

    consumed = consume_all(cluster.bootstrap_servers, topic, PARTITIONS, MESSAGES, timeout=120)
    log = ledger.check_log(consumed, ordered=True, allow_duplicates=True)
    timeline["duplicates"] = sum(n - 1 for n in log.duplicates.values())
    print(f"failover ({client.__name__}): {timeline['duplicates']} duplicates in the log; "
          f"{round(time.monotonic() - t0, 1)} s in all")


