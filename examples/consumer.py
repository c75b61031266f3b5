#!/usr/bin/env python3
"""Read a topic with rdpy, exactly as you would with confluent_kafka, and resume where you left.

    python examples/consumer.py BOOTSTRAP TOPIC GROUP

Assigns every partition of TOPIC (no group membership: this process reads them all) starting
at GROUP's committed offsets, or at the beginning where GROUP has none, reads until it has
reached the end of every partition, and commits what it read. Run it again and it starts
after the last message it read: only new messages are read.

rdpy's broker threads prefetch in the background; poll() hands out one message at a time on
this thread, and callbacks (on_commit here) run inside poll() too, never on a background thread.
"""

from __future__ import annotations

import sys

from rdpy import OFFSET_STORED, Consumer, KafkaError, KafkaException, TopicPartition


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, topic, group = sys.argv[1:]

    def on_commit(err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        # Called from poll()/close() once the group coordinator has answered a commit.
        if err is not None:
            print(f"commit failed: {err}", file=sys.stderr)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        # Offsets are committed for this group id; it need not exist beforehand.
        "group.id": group,
        # Where the group has no committed offset yet: start at the beginning.
        "auto.offset.reset": "earliest",
        # Commit the offsets of the messages poll() handed out, every 5 s and on close().
        "enable.auto.commit": True,
        # Report reaching the end of a partition as an event (err _PARTITION_EOF).
        "enable.partition.eof": True,
        "on_commit": on_commit,
        "error_cb": lambda err: print(f"client error: {err}", file=sys.stderr),
    })
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            print(f"topic {topic}: {metadata.error}", file=sys.stderr)
            return 1
        partitions = sorted(metadata.partitions)
        # OFFSET_STORED: start at the group's committed offset (auto.offset.reset where none).
        consumer.assign([TopicPartition(topic, p, OFFSET_STORED) for p in partitions])

        read = 0
        at_end: set[int] = set()
        while len(at_end) < len(partitions):
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            err = msg.error()
            if err is not None and err.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(err)
            partition = msg.partition()
            assert partition is not None  # a partition's record, or the end of one
            if err is not None:
                at_end.add(partition)
                continue
            at_end.discard(partition)  # more arrived after the end was reported
            read += 1
            # Your processing goes here: msg.key(), msg.value(), msg.headers(), msg.timestamp().

        print(f"read {read} messages")
    finally:
        # Commits the offsets read (enable.auto.commit) and waits for the answer.
        consumer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
