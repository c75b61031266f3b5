"""Transactions across clients on real Apache Kafka (issue 15's interop acceptance): what rdpy's
transactional producer writes, confluent-kafka's consumer reads correctly, and the reverse.

1. One client's transactional producer writes, on three partitions, committed and aborted
   transactions interleaved (several batches each, every record delivered before its
   transaction ends) with a plain producer's records between them; the other client's
   consumer reads it: read_committed exactly the committed and plain records, per partition
   in offset order with the offsets their delivery reports named; read_uncommitted every
   record. Both directions: rdpy writes and confluent-kafka reads, confluent-kafka writes and
   rdpy reads.
2. rdpy's send_offsets_to_transaction: the group's offsets committed in a transaction are
   what confluent-kafka's committed() returns after the commit; an aborted transaction's
   offsets never show.

Every record is produced through a tests.support.invariants.Ledger (one delivery report each).
"""

from __future__ import annotations

import importlib
import uuid
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from tests.integration.consumer._util import consumer_conf, drain
from tests.integration.kafka._util import QUIET, create_topic, unique_name
from tests.support.invariants import Ledger
from tests.support.kafka import KafkaBroker
from tests.support.transactions import Written, check_isolated_read, visible

PARTITIONS = 3
TIMEOUT = 30.0


class History:
    """Transactions written with `client` on `topic`, recorded as tests.support.transactions
    Written records (partition, offset, value, committed)."""

    def __init__(self, client: ModuleType, bootstrap: str, topic: str) -> None:
        self.client = client
        self.topic = topic
        self.ledger = Ledger()
        self.records: list[Written] = []
        self.txn = client.Producer({"bootstrap.servers": bootstrap, **QUIET, "linger.ms": 5,
                                    "transactional.id": f"rdpy-interop-{uuid.uuid4().hex[:8]}"})
        self.plain = client.Producer({"bootstrap.servers": bootstrap, **QUIET, "linger.ms": 5})
        self.txn.init_transactions(TIMEOUT)

    def chunk(self, producer: Any, label: str, n: int, committed: bool) -> None:
        """n records round-robin over the partitions, flushed: one batch per partition."""
        seqs = [self.ledger.produce(producer, self.topic, b"%s-%03d" % (label.encode(), i),
                                    partition=i % PARTITIONS, mark=False) for i in range(n)]
        assert producer.flush(TIMEOUT) == 0
        delivered = self.ledger.check_reports(expect_delivered=True).delivered
        for s in seqs:
            r = delivered[s]
            assert r.partition is not None and r.offset is not None and r.value is not None
            self.records.append(Written(r.partition, r.offset, r.value, committed))

    def transaction(self, label: str, chunks: list[int], *, commit: bool) -> None:
        self.txn.begin_transaction()
        for i, n in enumerate(chunks):
            self.chunk(self.txn, f"{label}{i}", n, commit)
        (self.txn.commit_transaction if commit else self.txn.abort_transaction)(TIMEOUT)

    def write(self) -> list[Written]:
        """Committed and aborted transactions interleaved with plain records; producers closed."""
        try:
            self.transaction("commit1-", [30, 30], commit=True)
            self.transaction("abort1-", [30, 21], commit=False)
            self.chunk(self.plain, "plain1-", 12, True)
            self.transaction("commit2-", [15, 15, 15], commit=True)
            self.transaction("abort2-", [9], commit=False)
            self.transaction("abort3-", [12, 12], commit=False)
            self.chunk(self.plain, "plain2-", 6, True)
            self.transaction("commit3-", [24], commit=True)
        finally:
            self.txn.close()
            self.plain.close()
        return self.records


@pytest.mark.parametrize(("writer", "reader"), [("rdpy", "confluent_kafka"), ("confluent_kafka", "rdpy")],
                         ids=["rdpy-writes-confluent-reads", "confluent-writes-rdpy-reads"])
def test_transactions_read_by_the_other_client(kafka_broker: KafkaBroker, writer: str, reader: str) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("txn-interop"), PARTITIONS)
    records = History(importlib.import_module(writer), bootstrap, topic).write()
    assert len(records) == 231 and sum(not r.committed for r in records) == 84
    read = importlib.import_module(reader)
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = read.Consumer(consumer_conf(bootstrap, **{"isolation.level": isolation,
                                                             "enable.partition.eof": True}))
        try:
            consumer.assign([read.TopicPartition(topic, p, read.OFFSET_BEGINNING) for p in range(PARTITIONS)])
            got = drain(read, consumer, [(topic, p) for p in range(PARTITIONS)],
                        expected=len(visible(records, isolation)))
        finally:
            consumer.close()
        check_isolated_read(got, records, isolation, partitions=PARTITIONS)


def test_rdpy_send_offsets_read_by_confluent(kafka_broker: KafkaBroker) -> None:
    """rdpy sends a group's offsets in a committed and then an aborted transaction:
    confluent-kafka's committed() returns the committed transaction's offsets, never the
    aborted one's."""
    import rdpy

    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("txn-offsets"), PARTITIONS)
    group = f"rdpy-interop-group-{uuid.uuid4().hex[:8]}"
    source = rdpy.Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET})
    md = source.consumer_group_metadata()
    source.close()
    producer = rdpy.Producer({"bootstrap.servers": bootstrap, **QUIET,
                              "transactional.id": f"rdpy-interop-{uuid.uuid4().hex[:8]}"})
    ledger = Ledger()
    checker = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET,
                                        "enable.auto.commit": False})
    tps = [confluent_kafka.TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        producer.init_transactions(TIMEOUT)
        producer.begin_transaction()
        ledger.produce(producer, topic, b"committed", partition=0)
        producer.send_offsets_to_transaction(
            [rdpy.TopicPartition(topic, 0, 11), rdpy.TopicPartition(topic, 1, 22), rdpy.TopicPartition(topic, 2, 33)],
            md, TIMEOUT)
        producer.commit_transaction(TIMEOUT)
        assert [tp.offset for tp in checker.committed(tps, timeout=TIMEOUT)] == [11, 22, 33]
        producer.begin_transaction()
        ledger.produce(producer, topic, b"aborted", partition=0)
        producer.send_offsets_to_transaction([rdpy.TopicPartition(topic, 0, 99)], md, TIMEOUT)
        assert producer.flush(TIMEOUT) == 0
        producer.abort_transaction(TIMEOUT)
        assert [tp.offset for tp in checker.committed(tps, timeout=TIMEOUT)] == [11, 22, 33]
        ledger.check_reports(expect_delivered=True)
    finally:
        checker.close()
        producer.close()
