#!/usr/bin/env python3
"""Produce messages with rdpy, exactly as you would with confluent_kafka.

    python examples/producer.py BOOTSTRAP TOPIC [COUNT]

produce() only queues the message; rdpy's broker threads batch and send it in the background.
Delivery reports come back through poll() or flush(), on this thread: that is where your
callback runs, never on a background thread.
"""

from __future__ import annotations

import sys

from rdpy import KafkaError, Message, Producer


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap, topic = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000

    producer = Producer({
        "bootstrap.servers": bootstrap,
        # Wait up to 5 ms to fill a batch (librdkafka's default); larger = fewer, bigger requests.
        "linger.ms": 5,
        "compression.type": "lz4",
        # Report connection trouble instead of retrying silently.
        "error_cb": lambda err: print(f"client error: {err}", file=sys.stderr),
    })

    delivered = failed = 0

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        # Called from poll()/flush() below, once per message.
        nonlocal delivered, failed
        if err is not None:
            failed += 1
            print(f"delivery failed: {err}", file=sys.stderr)
        else:
            delivered += 1

    for i in range(count):
        while True:
            try:
                producer.produce(topic, value=f"message {i}".encode(), key=str(i % 16),
                                 headers=[("source", b"examples/producer.py")],
                                 on_delivery=on_delivery)
                break
            except BufferError:
                # The local queue is full (queue.buffering.max.messages): serve delivery
                # reports to make room, then try again. Nothing already accepted is lost.
                producer.poll(0.1)
        # Serve delivery reports as we go so callbacks don't pile up.
        producer.poll(0)

    # Wait for every outstanding message to be delivered (or to fail).
    remaining = producer.flush(30)
    print(f"delivered {delivered}, failed {failed}, still queued {remaining}")
    return 0 if failed == 0 and remaining == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
