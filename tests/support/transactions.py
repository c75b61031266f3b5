"""A transactional history for read_committed tests, written by confluent-kafka producers, the
same on every broker that lists aborted transactions in its Fetch responses (rdpy's mock
cluster, Apache Kafka).

``write_history`` writes, on two partitions: committed and aborted transactions of several
batches each, an aborted transaction with a second transactional producer's committed one and a
plain producer's records interleaved inside it, a short aborted transaction, and a committed
one at the end, so the log ends with a commit marker. 376 records, 130 of them aborted; one
control record per transaction on each partition it wrote to (six per partition).

Every record is produced through a tests.support.invariants.Ledger (exactly one delivery report
each, in produce() order per partition) and each chunk is flushed, so a chunk is one batch per
partition and a transaction of several chunks several batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import confluent_kafka

from tests.support.invariants import Ledger

__all__ = ["HISTORY_PARTITIONS", "Writer", "Written", "check_isolated_read", "visible", "write_history"]

HISTORY_PARTITIONS = 2
_TIMEOUT = 30.0  # transactional calls and flushes: generous, a loaded machine is slow
_QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


@dataclass(frozen=True)
class Written:
    partition: int
    offset: int
    value: bytes
    committed: bool  # False: part of an aborted (or still open) transaction


class Writer:
    """confluent-kafka producers on one topic, recording what their delivery reports said."""

    def __init__(self, bootstrap: str, topic: str, partitions: int = HISTORY_PARTITIONS) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.records: list[Written] = []
        self.ledger = Ledger()
        self.producers: list[Any] = []

    def producer(self, *, transactional: bool) -> Any:
        """A new producer (with a fresh transactional.id and its transactions initialised if
        `transactional`), closed by close()."""
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "linger.ms": 5, **_QUIET}
        if transactional:
            conf["transactional.id"] = f"rdpy-txn-{uuid.uuid4().hex[:8]}"
        producer = confluent_kafka.Producer(conf)
        if transactional:
            producer.init_transactions(_TIMEOUT)
        self.producers.append(producer)
        return producer

    def chunk(self, producer: Any, label: str, n: int, *, committed: bool) -> None:
        """`n` records round-robin over the partitions, flushed (one batch per partition)."""
        seqs = [self.ledger.produce(producer, self.topic, b"%s-%03d" % (label.encode(), i),
                                    partition=i % self.partitions, mark=False) for i in range(n)]
        assert producer.flush(_TIMEOUT) == 0
        delivered = self.ledger.check_reports(expect_delivered=True).delivered
        for s in seqs:
            r = delivered[s]
            assert r.partition is not None and r.offset is not None and r.value is not None
            self.records.append(Written(r.partition, r.offset, r.value, committed))

    def transaction(self, producer: Any, label: str, chunks: list[int], *, commit: bool,
                    between: Callable[[], None] | None = None) -> None:
        """One transaction of several flushed chunks (so several batches per partition);
        `between` runs after the first chunk, while the transaction is open."""
        producer.begin_transaction()
        for i, n in enumerate(chunks):
            self.chunk(producer, f"{label}{i}", n, committed=commit)
            if i == 0 and between is not None:
                between()
        (producer.commit_transaction if commit else producer.abort_transaction)(_TIMEOUT)

    def close(self) -> None:
        """Close every producer made (nothing is left to deliver)."""
        for producer in self.producers:
            producer.close()
        self.producers.clear()


def write_history(bootstrap: str, topic: str) -> list[Written]:
    """The history of the module docstring on `topic` (HISTORY_PARTITIONS partitions); every
    record written, producers closed."""
    w = Writer(bootstrap, topic)
    txn_a, txn_b = w.producer(transactional=True), w.producer(transactional=True)
    plain = w.producer(transactional=False)
    try:
        w.transaction(txn_a, "commit1-", [30, 30, 30], commit=True)

        def interleave() -> None:
            w.chunk(plain, "plain-inside-", 20, committed=True)
            w.transaction(txn_b, "other-commit-", [20, 20], commit=True)

        w.transaction(txn_a, "abort1-", [40, 40, 40], commit=False, between=interleave)
        w.chunk(plain, "plain-between-", 20, committed=True)
        w.transaction(txn_a, "commit2-", [30, 30], commit=True)
        w.transaction(txn_a, "abort2-", [10], commit=False)
        w.transaction(txn_a, "commit3-", [16], commit=True)
    finally:
        w.close()
    return w.records


def visible(records: Sequence[Written], isolation: str) -> list[Written]:
    """The records a consumer with isolation.level `isolation` may read."""
    return [r for r in records if r.committed or isolation == "read_uncommitted"]


def check_isolated_read(got: Sequence[Any], records: Sequence[Written], isolation: str,
                        partitions: int = HISTORY_PARTITIONS) -> None:
    """What a consumer with `isolation` read (Message objects): per partition exactly the
    records it may see, in offset order with their offsets and values, and nothing else."""
    wanted = visible(records, isolation)
    for p in range(partitions):
        read = [(m.offset(), m.value()) for m in got if m.partition() == p]
        expected = sorted((r.offset, r.value) for r in wanted if r.partition == p)
        assert read == expected, _first_difference(read, expected)
    assert len(got) == len(wanted)


def _first_difference(read: list[tuple[int, bytes]], expected: list[tuple[int, bytes]]) -> str:
    for i, (a, b) in enumerate(zip(read, expected)):
        if a != b:
            return f"first difference at #{i}: read {a}, expected {b} ({len(read)} read, {len(expected)} expected)"
    return f"{len(read)} read, {len(expected)} expected; extra: {(read or expected)[min(len(read), len(expected)):][:3]}"
