#!/usr/bin/env python3
"""Read a topic as one member of a consumer group, exactly as you would with confluent_kafka.

    python examples/consumer_group.py BOOTSTRAP TOPIC GROUP [IDLE_SECONDS]

Subscribes to TOPIC in GROUP: the group's coordinator shares TOPIC's partitions among every
process running this with the same GROUP (start two or three of them), moving partitions when a
member joins or leaves. Each message is "processed" (counted) and then its offset committed, so
a member that takes over a partition continues after the last processed message. Stops once
nothing arrived for IDLE_SECONDS (default 3) after its first assignment (joining a group can
take longer: Kafka holds a new group's first rebalance for group.initial.rebalance.delay.ms,
Tansu for about half of session.timeout.ms) and prints how many messages it read.

Rebalance callbacks (on_assign, on_revoke) and on_commit run inside poll()/close() on this
thread, never on a background thread.
"""

from __future__ import annotations

import sys
import time

from rdpy import Consumer, KafkaException, TopicPartition


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, topic, group = sys.argv[1:4]
    idle_seconds = float(sys.argv[4]) if len(sys.argv) == 5 else 3.0
    #: When a message last arrived, or the first assignment did; None while joining.
    last_activity: float | None = None

    def on_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The group gave this member these partitions; without on_assign they are assigned
        # all the same (as confluent-kafka does). Reading starts at the group's committed
        # offsets, or at auto.offset.reset where it has none.
        nonlocal last_activity
        if last_activity is None:
            last_activity = time.monotonic()
        print(f"assigned {sorted(p.partition for p in partitions)}", file=sys.stderr)

    def on_revoke(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Called before the partitions go to another member: the last chance to commit.
        print(f"revoked {sorted(p.partition for p in partitions)}", file=sys.stderr)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        # Commit explicitly after processing (below) rather than every 5 s in the background.
        "enable.auto.commit": False,
        # Who gets which partition: cooperative-sticky moves only the partitions that change
        # owner when members come and go; "range" and "roundrobin" are there too.
        "partition.assignment.strategy": "cooperative-sticky",
        "error_cb": lambda err: print(f"client error: {err}", file=sys.stderr),
    })
    read = 0
    try:
        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        while last_activity is None or time.monotonic() - last_activity < idle_seconds:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                print(f"consumer error: {msg.error()}", file=sys.stderr)
                continue
            read += 1  # "process" the message, then commit that it was processed
            last_activity = time.monotonic()
            consumer.commit(message=msg, asynchronous=True)
    except KafkaException as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    finally:
        # Revokes the partitions (on_revoke runs here), waits for the commits under way,
        # and leaves the group so that the other members take over at once.
        consumer.close()
    print(f"read {read} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
