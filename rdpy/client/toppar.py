"""Topics and topic-partitions (toppars) as the producer queues messages on them.

Each partition has two queues (docs/DESIGN.md): `msgq`, appended by application threads under
`lock`, and its leader broker thread's transmit queue (`xmitq`), touched only by that thread.
Messages for a topic whose metadata is not known yet wait in the topic's unassigned queue.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from rdpy.client.msg import ProducerMessage
from rdpy.client.partitioner import TopicPartitioner

if TYPE_CHECKING:
    from rdpy.client.broker import Broker


class Toppar:
    """One partition of one topic, as the producer sees it."""

    __slots__ = (
        "topic",
        "partition",
        "lock",
        "msgq",
        "msgq_bytes",
        "xmitq",
        "xmit_bytes",
        "leader",
        "leader_id",
        "leader_epoch",
        "next_msgid",
        "backoff_until",
        "retry_backoff",
        "inflight",
    )

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.lock = threading.Lock()
        #: Application threads append here (under `lock`).
        self.msgq: deque[ProducerMessage] = deque()
        self.msgq_bytes = 0
        #: Owned by the leader's broker thread; no lock.
        self.xmitq: deque[ProducerMessage] = deque()
        self.xmit_bytes = 0
        #: The broker thread serving this partition (None: no leader known). Handle lock.
        self.leader: Broker | None = None
        self.leader_id = -1
        self.leader_epoch = -1
        self.next_msgid = 1
        #: Broker thread: no new batch before this monotonic time (retry backoff).
        self.backoff_until = 0.0
        self.retry_backoff = 0.0
        #: Broker thread: messages of this partition in requests awaiting a response.
        self.inflight = 0

    def enqueue(self, msg: ProducerMessage) -> int:
        """App thread, takes `lock`. Appends and returns the new queue length."""
        with self.lock:
            msg.msgid = self.next_msgid
            self.next_msgid += 1
            self.msgq.append(msg)
            self.msgq_bytes += msg.size
            return len(self.msgq)

    def move_msgq_to_xmitq(self) -> None:
        """Leader's broker thread, takes `lock`. Appends everything queued to the transmit queue."""
        with self.lock:
            if not self.msgq:
                return
            q = self.msgq
            size = self.msgq_bytes
            self.msgq = deque()
            self.msgq_bytes = 0
        if self.xmitq:
            self.xmitq.extend(q)
        else:
            self.xmitq = q
        self.xmit_bytes += size

    def set_xmitq(self, msgs: deque[ProducerMessage]) -> None:
        """Leader's broker thread. Replaces the transmit queue (after expiry, retry, purge)."""
        self.xmitq = msgs
        self.xmit_bytes = sum(m.size for m in msgs)

    def take_all(self) -> list[ProducerMessage]:
        """Any thread, takes `lock`. Removes and returns everything in msgq (for purge)."""
        with self.lock:
            msgs = list(self.msgq)
            self.msgq = deque()
            self.msgq_bytes = 0
        return msgs

    def requeue_front(self, msgs: list[ProducerMessage]) -> None:
        """Any thread, takes `lock`. Puts `msgs` back ahead of newer messages, in msgid order."""
        if not msgs:
            return
        with self.lock:
            merged = sorted(list(msgs) + list(self.msgq), key=_msgid)
            self.msgq = deque(merged)
            self.msgq_bytes = sum(m.size for m in merged)

    def __repr__(self) -> str:
        return f"Toppar({self.topic!r}, {self.partition}, leader={self.leader_id})"


def _msgid(msg: ProducerMessage) -> int:
    return msg.msgid


class Topic:
    """A topic the producer has been asked to produce to. Handle lock for everything but `ua`."""

    __slots__ = (
        "name",
        "partitions",
        "ua",
        "ua_lock",
        "partitioner",
        "exists",
        "error",
        "created_at",
        "metadata_requested_at",
    )

    def __init__(self, name: str, partitioner: TopicPartitioner, now: float) -> None:
        self.name = name
        self.partitions: list[Toppar] = []
        #: Messages produced before the topic's partition count was known.
        self.ua: deque[ProducerMessage] = deque()
        self.ua_lock = threading.Lock()
        self.partitioner = partitioner
        #: None until metadata answered; then whether the cluster has the topic.
        self.exists: bool | None = None
        self.error = 0
        self.created_at = now
        self.metadata_requested_at = 0.0
