"""Purging a producer's messages (rd_kafka_purge): what waits in the unassigned and partition
queues fails with _PURGE_QUEUE on the calling thread; each broker thread purges its transmit
queues and, if asked, its requests in flight (ProduceServer.purge). Used by Producer.purge()
(application thread) and when a fatal error stops the producer (any thread, not blocking).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from rdpy.client.ops import Purge
from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.errors import ErrorCode

if TYPE_CHECKING:
    from rdpy.client.handle import Handle
    from rdpy.client.msg import ProducerMessage
    from rdpy.client.toppar import Toppar

__all__ = ["purge"]

#: Told which messages that already had msgids (sequence numbers) a partition lost.
NumberedDropped = Callable[["Toppar", "list[ProducerMessage]"], None]


def purge(handle: Handle, in_queue: bool, in_flight: bool, blocking: bool,
          numbered_dropped: NumberedDropped | None = None, abort_txn: bool = False) -> None:
    """Any thread. Fail queued (_PURGE_QUEUE) and/or in-flight (_PURGE_INFLIGHT) messages;
    with `blocking`, return once every broker thread purged its part. `numbered_dropped` is
    told of purged messages that had msgids (the idempotent producer's sequence); each
    broker's part tells the producer's identity itself (`abort_txn`: abort_transaction()'s
    purge)."""
    if in_queue:
        _purge_queues(handle, numbered_dropped)
    events: list[tuple[threading.Thread, threading.Event]] = []
    for b in handle.all_brokers():
        done = threading.Event() if blocking else None
        b.post(Purge(in_queue, in_flight, done, abort_txn))
        if done is not None:
            events.append((b.thread, done))
    for thread, done in events:
        while thread.is_alive() and not done.wait(MAX_BLOCK_SLICE):
            pass


def _purge_queues(handle: Handle, numbered_dropped: NumberedDropped | None) -> None:
    """Takes each topic's ua_lock and each partition's lock in turn."""
    with handle.lock:
        topics = list(handle.topics.values())
    purged: list[ProducerMessage] = []
    for t in topics:
        with t.ua_lock:
            purged += t.ua
            t.ua.clear()
        for tp in t.partitions:
            taken = tp.take_all()
            numbered = [m for m in taken if m.msgid]
            if numbered and numbered_dropped is not None:
                numbered_dropped(tp, numbered)
            purged += taken
    for m in purged:
        m.err = ErrorCode._PURGE_QUEUE
    handle.deliver(purged)
