#!/usr/bin/env python3
"""Exactly-once consume-transform-produce with rdpy, as you would write it with confluent_kafka.

    python examples/transactions.py BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC [GROUP]

Reads INPUT_TOPIC from where GROUP last committed, writes each record upper-cased to
OUTPUT_TOPIC, and commits the consumed offsets in the same transaction as the results: a
read_committed reader of OUTPUT_TOPIC sees each input record's result exactly once, even if
this program is killed and started again (the same transactional.id fences the old instance
and aborts its open transaction). It stops once it has read everything there is.

(rdpy has no consumer groups yet, so the consumer assigns itself every partition of
INPUT_TOPIC; the group only keeps the committed offsets.)
"""

from __future__ import annotations

import sys

from rdpy import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

BATCH = 100  # records per transaction


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, source, sink = sys.argv[1], sys.argv[2], sys.argv[3]
    group = sys.argv[4] if len(sys.argv) > 4 else "rdpy-example-eos"

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",  # never read another transaction's aborted data
        "enable.auto.commit": False,  # offsets are committed by the transaction
        "enable.partition.eof": True,
    })
    producer = Producer({
        "bootstrap.servers": bootstrap,
        # One id per logical instance: a restart with the same id fences the old one.
        "transactional.id": f"{group}-{source}-to-{sink}",
    })
    producer.init_transactions(30)

    partitions = consumer.list_topics(source, timeout=10).topics[source].partitions
    wanted = [TopicPartition(source, p) for p in partitions]
    start = consumer.committed(wanted, timeout=10)
    consumer.assign([TopicPartition(source, tp.partition,
                                    tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                     for tp in start])

    at_end: set[int] = set()
    written = 0
    while len(at_end) < len(wanted):
        producer.begin_transaction()
        batch = 0
        while batch < BATCH and len(at_end) < len(wanted):
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition() or 0)
                    continue
                raise KafkaException(err)
            at_end.discard(msg.partition() or 0)
            value = msg.value() or b""
            producer.produce(sink, value.upper(), key=msg.key())
            batch += 1
        try:
            # The offsets to resume from go into the transaction with the results.
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                                 consumer.consumer_group_metadata())
            producer.commit_transaction(30)
            written += batch
        except KafkaException as exc:
            error = exc.args[0]
            if not error.txn_requires_abort():
                raise  # fatal (fenced by a newer instance, ...): stop
            # Throw the transaction away and go back to the last committed offsets.
            producer.abort_transaction(30)
            for tp in consumer.committed(consumer.assignment(), timeout=10):
                consumer.seek(TopicPartition(source, tp.partition,
                                             tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))

    consumer.close()
    producer.close()
    print(f"transformed {written} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
