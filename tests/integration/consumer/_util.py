"""Helpers for the consumer acceptance suite.

Data is produced with confluent-kafka's Producer (the independent reference) and what its
delivery reports said (partition, offset, timestamp) is what the consumer under test must
read back. Topics are created with confluent's AdminClient on Tansu and with
``LibrdkafkaMockCluster.create_topic`` on librdkafka's mock cluster.

Producing goes through tests.support.invariants.Ledger, so the reference producer's delivery
invariants (exactly one report each, in produce() order per partition) hold for every data set;
``expected_log`` turns what was produced into the offsets and values ``check_consumed`` wants.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import confluent_kafka

from tests.integration.producer._util import (
    BASE_TS,
    create_topic,
    messages_of_every_shape,
    normalize_headers,
    seq_of,
    seq_value,
    to_bytes,
)
from tests.support.invariants import Ledger, check_consumed, check_consumed_from
from tests.support.reading import drain

__all__ = [
    "BASE_TS",
    "QUIET",
    "Sent",
    "check_consumed",
    "check_consumed_from",
    "consumer_conf",
    "create_topic",
    "drain",
    "expected_log",
    "messages_of_every_shape",
    "mock_topic",
    "normalize_headers",
    "poll_for",
    "produce",
    "produce_seq",
    "seq_expected",
    "seq_of",
    "seq_value",
    "seeded_mock_topic",
    "to_bytes",
    "unique_topic",
    "wait_for_leaders",
]

QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


def unique_topic(prefix: str) -> str:
    return f"rdpy-cons-{prefix}-{uuid.uuid4().hex[:10]}"


def mock_topic(cluster: Any, prefix: str, partitions: int, replication_factor: int | None = None) -> str:
    """A new topic named unique_topic(prefix) with `partitions` partitions (and, if given,
    `replication_factor` replicas; else the cluster's default) on a mock cluster (librdkafka's
    LibrdkafkaMockCluster or rdpy's MockCluster); its name."""
    topic = unique_topic(prefix)
    if replication_factor is None:
        cluster.create_topic(topic, partitions)
    else:
        cluster.create_topic(topic, partitions, replication_factor)
    return topic


def unique_group(prefix: str = "g") -> str:
    return f"rdpy-cons-{prefix}-{uuid.uuid4().hex[:10]}"


def consumer_conf(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """A consumer configuration for manual assignment: a fresh group.id, no auto commit
    (tests that commit say so), short fetch waits so EOF and empty polls come quickly."""
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": unique_group(),
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 50,
        **QUIET,
    }
    conf.update(extra)
    return conf


@dataclass(frozen=True)
class Sent:
    """One produced record as the confluent producer's delivery report described it."""

    index: int
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] | None
    timestamp: tuple[int, int]


def produce(
    bootstrap: str, topic: str, items: Iterable[dict[str, Any]], ledger: Ledger | None = None, /, **conf: Any
) -> list[Sent]:
    """Produce every item (produce() keyword arguments, values unchanged) with confluent's
    Producer, wait for all delivery reports and return them in item order; the producer is
    closed. The reports must keep the delivery invariants (Ledger.check_reports: exactly one
    each, in produce() order per partition) and all be deliveries. Pass `ledger` to record
    the messages in it (for Ledger.check_log on what the consumer read); it is positional, so no
configuration property can be mistaken for it."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **QUIET, **conf})
    ledger = Ledger() if ledger is None else ledger
    seqs = [_produce_one(producer, ledger, topic, kw) for kw in items]
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} messages not delivered"
    delivered = ledger.check_reports(expect_delivered=True).delivered
    producer.close()
    return [_sent(i, ledger, delivered[seq]) for i, seq in enumerate(seqs)]


def _produce_one(producer: Any, ledger: Ledger, topic: str, kw: dict[str, Any]) -> int:
    """ledger.produce() one item, polling while the local queue is full; its sequence number."""
    while True:
        try:
            return ledger.produce(producer, topic, mark=False, **kw)
        except BufferError:
            producer.poll(0.05)


def _sent(index: int, ledger: Ledger, report: Any) -> Sent:
    """Item `index` as sent (from the ledger) and delivered (from its report)."""
    msg = ledger.sent[report.seq]
    return Sent(index=index, partition=report.partition, offset=report.offset, key=msg.key, value=msg.value,
                headers=msg.headers, timestamp=report.timestamp)


def expected_log(
    sent: Iterable[Sent], starts: Mapping[int, int] | None = None
) -> tuple[dict[int, list[int]], dict[int, list[bytes | None]]]:
    """Per partition, the offsets and values of what was produced (check_consumed's
    `expected` and `values`), from starts[p] on; only the partitions in `starts` if given."""
    offsets: dict[int, list[int]] = defaultdict(list)
    values: dict[int, list[bytes | None]] = defaultdict(list)
    for s in sorted(sent, key=lambda s: (s.partition, s.offset)):
        if starts is None or (s.partition in starts and s.offset >= starts[s.partition]):
            offsets[s.partition].append(s.offset)
            values[s.partition].append(s.value)
    for p in starts or {}:
        offsets.setdefault(p, [])
        values.setdefault(p, [])
    return dict(offsets), dict(values)


def produce_seq(
    bootstrap: str, topic: str, partitions: int, per_partition: int, *, pad: int = 0, **conf: Any
) -> dict[int, list[int]]:
    """seq_value(s) records, `per_partition` to each partition (round robin, so sequence numbers
    are global); returns per partition the sequence numbers in offset order. The delivery
    reports must show offsets 0..per_partition-1 on every partition (a fresh topic)."""
    n = partitions * per_partition
    sent = produce(bootstrap, topic, ({"value": seq_value(i, pad), "partition": i % partitions} for i in range(n)), **conf)
    out: dict[int, list[int]] = defaultdict(list)
    for s in sorted(sent, key=lambda s: (s.partition, s.offset)):
        out[s.partition].append(s.index)
    for p in range(partitions):
        offsets = sorted(s.offset for s in sent if s.partition == p)
        assert offsets == list(range(per_partition)), f"partition {p}: {offsets[:10]}"
    return dict(out)


def seeded_mock_topic(
    cluster: Any, prefix: str, partitions: int, per_partition: int, **conf: Any
) -> tuple[str, dict[int, list[int]]]:
    """A new topic on a mock cluster (mock_topic) holding produce_seq's data, produced with
    `conf`; its name and produce_seq's answer ({} for an empty topic, per_partition 0)."""
    topic = mock_topic(cluster, prefix, partitions)
    if not per_partition:
        return topic, {}
    return topic, produce_seq(cluster.bootstrap_servers, topic, partitions, per_partition, **conf)


def seq_expected(
    seqs: Mapping[int, list[int]], starts: Mapping[int, int] | None = None, *, pad: int = 0
) -> tuple[dict[int, list[int]], dict[int, list[bytes | None]]]:
    """produce_seq's data (offsets 0..n-1 per partition) as check_consumed's `expected` and
    `values`, from starts[p] on; only the partitions in `starts` if given (default: all from 0)."""
    starts = {p: 0 for p in seqs} if starts is None else starts
    offsets = {p: list(range(start, len(seqs[p]))) for p, start in starts.items()}
    values: dict[int, list[bytes | None]] = {p: [seq_value(s, pad) for s in seqs[p][start:]] for p, start in starts.items()}
    return offsets, values


def poll_for(consumer: Any, seconds: float) -> list[Any]:
    """Everything poll() returned (messages and events alike) during `seconds`."""
    out: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is not None:
            out.append(m)
    return out


def by_partition(msgs: Iterable[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for m in msgs:
        out[m.partition()].append(m)
    return dict(out)


def wait_for_leaders(bootstrap: str, topic: str, partitions: int, timeout: float = 10.0) -> dict[int, int]:
    """partition -> leader broker id, read with confluent's Producer.list_topics."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **QUIET})
    md = producer.list_topics(topic, timeout=timeout)
    producer.close()
    leaders = {p: pm.leader for p, pm in md.topics[topic].partitions.items()}
    assert len(leaders) == partitions
    return leaders
