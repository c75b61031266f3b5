"""Topics and topic-partitions (toppars): one object per partition for the producer's queues
and the consumer's fetch state (as librdkafka's rktp).

Each partition has two message queues (docs/DESIGN.md): `msgq`, appended by application threads
without a lock (deque.append is atomic; only head operations take `lock`), and its leader broker
thread's transmit queue (`xmitq`), touched only by that thread. Messages for a topic whose
metadata is not known yet wait in the topic's unassigned queue. The consumer's fields are
written under the handle lock (see Toppar). No thread runs code here; each method says who
may call it.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from enum import Enum
from typing import TYPE_CHECKING

from rdpy.client.msg import ProducerMessage
from rdpy.client.partitioner import TopicPartitioner
from rdpy.constants import OFFSET_INVALID
from rdpy.stats.counters import TopicCounters

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker


#: A partition's place in a transactional producer's current transaction (Toppar.txn_state):
#: not in it, waiting for AddPartitionsToTxn, added.
TXN_NONE, TXN_PENDING, TXN_IN = 0, 1, 2


class FetchState(str, Enum):
    """A partition's consumer fetch state. The values are librdkafka's names for them in the
    statistics (rd_kafka_fetch_states[]: "fetch_state" of a partition)."""

    NONE = "none"  # not fetched: not assigned, or stopped by an error
    OFFSET_QUERY = "offset-query"  # waiting for a logical offset to be resolved
    ACTIVE = "active"  # fetching from `fetch_pos`


_ACTIVE = FetchState.ACTIVE


class Toppar:
    """One partition of one topic: the producer's queues and the consumer's fetch state.

    `msgq` is appended to by application threads WITHOUT a lock: deque.append and
    deque.popleft are atomic in CPython, appends only happen at the tail, and everything else
    works at the head (draining by popleft, putting older messages back with extendleft).
    The threads that work at the head (the leader's broker thread, the main thread, purge)
    serialise among themselves with `lock`; produce() never takes it.
    """

    __slots__ = (
        "topic",
        "partition",
        "lock",
        "msgq",
        "xmitq",
        "xmit_bytes",
        "xmit_owner",
        "leader",
        "leader_id",
        "leader_epoch",
        "_produced",
        "next_msgid",
        "backoff_until",
        "retry_backoff",
        "inflight",
        # idempotent producer (see produce/idempotence.py; leader's broker thread, `lock`
        # where a former leader's thread settles a response)
        "eos_pid",
        "epoch_base_msgid",
        "next_ack_seq",
        "next_err_seq",
        "acked_msgid",
        "wait_drain",
        "inflight_batches",
        "txn_state",
        # consumer state (see fetchable())
        "assigned",
        "paused",
        "fetch_pos",
        "start_pos",
        "fetch_state",
        "version",
        "fetch_backoff_until",
        "fetch_queue_full",
        "enq_msgs",
        "deq_msgs",
        "app_pos",
        "stored_offset",
        "stored_metadata",
        "auto_store",
        "committed_offset",
        "hi_offset",
        "lo_offset",
        "ls_offset",
        "eof_offset",
        # statistics (single writer each: tx* the leader's broker thread, rx* and rx_ver_drops
        # the application's thread, which decodes what was fetched)
        "txmsgs",
        "txbytes",
        "rxmsgs",
        "rxbytes",
        "rx_ver_drops",
        "query_offset",
        "last_fetch_error",
    )

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.lock = threading.Lock()
        #: Application threads append here (lock-free, see the class docstring).
        self.msgq: deque[ProducerMessage] = deque()
        #: Owned by one broker thread at a time (`xmit_owner`), touched by no other; no lock.
        self.xmitq: deque[ProducerMessage] = deque()
        self.xmit_bytes = 0
        #: The broker thread that owns `xmitq`: the leader claims it once the previous owner
        #: (a former leader) handed its messages back to msgq (claim/release, under `lock`).
        #: Two threads working one transmit queue would send, and report, messages twice.
        self.xmit_owner: Broker | None = None
        #: The broker thread serving this partition (None: no leader known). Handle lock.
        self.leader: Broker | None = None
        self.leader_id = -1
        self.leader_epoch = -1
        #: Messages ever enqueued (itertools.count's next() is atomic in CPython): statistics.
        self._produced = itertools.count(1)
        #: The msgid the next message moved from msgq to the transmit queue gets (`lock`).
        #: msgids are given there, by the one thread taking msgq's head, so msgid order is
        #: exactly the queue's order even when several application threads produce at once
        #: (an idempotent producer's sequence numbers follow from msgids).
        self.next_msgid = 1
        #: Broker thread: no new batch before this monotonic time (retry backoff).
        self.backoff_until = 0.0
        self.retry_backoff = 0.0
        #: Broker thread: messages of this partition in requests awaiting a response.
        self.inflight = 0
        # Idempotent producer (librdkafka's rktp_eos): the producer id and epoch this
        # partition's sequence numbers count under (None: not sequenced yet), the msgid that is
        # sequence 0 under it, the next sequence expected to be acknowledged and to fail, the
        # highest msgid acknowledged, whether new batches wait for the ones in flight to be
        # answered (a leader change, a retry), and the batches in flight.
        self.eos_pid: tuple[int, int] | None = None
        self.epoch_base_msgid = 0
        self.next_ack_seq = 0
        self.next_err_seq = 0
        self.acked_msgid = 0
        self.wait_drain = False
        self.inflight_batches = 0
        #: A transactional producer's: is this partition in the current transaction
        #: (TXN_NONE, TXN_PENDING while AddPartitionsToTxn is due, TXN_IN; produce/txn.py).
        self.txn_state = TXN_NONE
        # Consumer side. Written under the handle lock by the application thread (assign,
        # seek, pause), the leader's broker thread (fetch_pos, watermarks, offset resets) and
        # the threads answering offset lookups; `version` increases on every assign, seek,
        # pause and offset reset, so that data fetched before is dropped.
        self.assigned = False
        self.paused = False
        self.fetch_pos = OFFSET_INVALID
        #: Where fetching started at this version: the assign/seek offset or the logical
        #: offset's resolution (OFFSET_INVALID while unresolved). pause() goes back here when
        #: nothing was returned since.
        self.start_pos = OFFSET_INVALID
        self.fetch_state = FetchState.NONE
        self.version = 0
        self.fetch_backoff_until = 0.0
        #: Set by the broker thread when it stopped fetching because enough is prefetched;
        #: cleared by the application's thread, which wakes it once it takes some out.
        self.fetch_queue_full = False
        #: Prefetched messages: counted in by the broker thread, out by the application
        #: (one writer each, so no update is lost); queued_msgs is the difference.
        self.enq_msgs = 0
        self.deq_msgs = 0
        #: Offset after the last message returned by poll()/consume() (position()).
        self.app_pos = OFFSET_INVALID
        #: Offset (and metadata) stored for the next commit by store_offsets(); with
        #: enable.auto.offset.store (`auto_store`) the stored offset is app_pos itself, as
        #: librdkafka stores each returned message's offset + 1: see stored_position().
        self.stored_offset = OFFSET_INVALID
        self.stored_metadata: str | None = None
        self.auto_store = False
        self.committed_offset = OFFSET_INVALID
        self.hi_offset = OFFSET_INVALID
        self.lo_offset = OFFSET_INVALID
        self.ls_offset = OFFSET_INVALID
        self.eof_offset = OFFSET_INVALID
        #: Statistics: messages/bytes written into ProduceRequests, resends included (producer,
        #: as librdkafka counts them) or decoded for the application
        #: (consumer), fetched data dropped as outdated, and the (possibly logical) offset
        #: last looked up.
        self.txmsgs = 0
        self.txbytes = 0
        self.rxmsgs = 0
        self.rxbytes = 0
        self.rx_ver_drops = 0
        self.query_offset = OFFSET_INVALID
        #: The fetch error last reported for this partition and the version it was reported
        #: at (leader's broker thread, handle lock): librdkafka reports
        #: TOPIC_AUTHORIZATION_FAILED once until the partition fetches again or moves.
        self.last_fetch_error = (0, 0)

    def enqueue(self, msg: ProducerMessage) -> int:
        """Any thread, no lock. Appends and returns the new queue length."""
        next(self._produced)
        q = self.msgq
        q.append(msg)
        return len(q)

    def move_msgq_to_xmitq(self) -> None:
        """Leader's broker thread, takes `lock`. Moves everything queued to the transmit queue,
        giving each new message its msgid. Messages at msgq's head that already have one
        (handed back by a former leader, or retried there) are merged in msgid order with
        what the transmit queue holds."""
        msgq = self.msgq
        xmitq = self.xmitq
        size = 0
        with self.lock:
            pop = msgq.popleft
            if msgq and msgq[0].msgid:
                returned: list[ProducerMessage] = []
                while msgq and msgq[0].msgid:
                    m = pop()
                    size += m.size
                    returned.append(m)
                if xmitq and xmitq[-1].msgid > returned[0].msgid:
                    xmitq = self.xmitq = deque(sorted([*xmitq, *returned], key=_msgid))
                else:
                    xmitq.extend(returned)
            append = xmitq.append
            msgid = self.next_msgid
            for _ in range(len(msgq)):
                m = pop()
                m.msgid = msgid
                msgid += 1
                size += m.size
                append(m)
            self.next_msgid = msgid
        self.xmit_bytes += size

    def claim_xmitq(self, broker: Broker) -> bool:
        """Broker thread, takes `lock`. Whether `broker` owns the transmit queue, taking it
        if nobody does."""
        if self.xmit_owner is broker:
            return True
        with self.lock:
            if self.xmit_owner is None:
                self.xmit_owner = broker
                if self.inflight_batches:
                    # An idempotent producer's new leader sends nothing of this partition
                    # until the former leader's batches in flight are answered.
                    self.wait_drain = True
            return self.xmit_owner is broker

    def release_xmitq(self, broker: Broker) -> None:
        """Owner's broker thread, takes `lock`. Hand the transmit queue back: its messages go
        to the head of msgq, in msgid order, before the next owner can claim it."""
        with self.lock:
            if self.xmit_owner is not broker:
                return
            msgs = list(self.xmitq)
            self.xmitq = deque()
            self.xmit_bytes = 0
            self._requeue_front_locked(msgs)
            self.xmit_owner = None

    def set_xmitq(self, msgs: deque[ProducerMessage]) -> None:
        """Leader's broker thread. Replaces the transmit queue (after expiry, retry, purge)."""
        self.xmitq = msgs
        self.xmit_bytes = sum(m.size for m in msgs)

    def take_all(self) -> list[ProducerMessage]:
        """Any thread, takes `lock`. Removes and returns everything in msgq (for purge)."""
        with self.lock:
            pop = self.msgq.popleft
            return [pop() for _ in range(len(self.msgq))]

    def take_expired(self, now: float) -> list[ProducerMessage]:
        """Any thread, takes `lock`. Removes the messages at the head whose deadline passed."""
        msgq = self.msgq
        out: list[ProducerMessage] = []
        with self.lock:
            while msgq and msgq[0].deadline <= now:
                out.append(msgq.popleft())
        return out

    def requeue_front(self, msgs: list[ProducerMessage]) -> None:
        """Any thread, takes `lock`. Puts `msgs` back ahead of newer messages, in msgid order."""
        if not msgs:
            return
        with self.lock:
            self._requeue_front_locked(msgs)

    def _requeue_front_locked(self, msgs: list[ProducerMessage]) -> None:
        """`lock` held. See requeue_front()."""
        if not msgs:
            return
        msgq = self.msgq
        # Head messages older than some of `msgs` (possible after a leader change) are
        # merged with them; newer ones stay where they are.
        newest = max(m.msgid for m in msgs)
        head = list(msgs)
        # Messages not moved yet have no msgid (0): they are newer than any that have one.
        while msgq and 0 < msgq[0].msgid < newest:
            head.append(msgq.popleft())
        head.sort(key=_msgid)
        msgq.extendleft(reversed(head))

    @property
    def produced_msgs(self) -> int:
        """Producer: messages ever enqueued on this partition, read without a hot-path counter:
        the msgid sequence's next value (itertools.count exposes it through __reduce__)."""
        state: tuple[object, tuple[int]] = self._produced.__reduce__()  # type: ignore[assignment]
        return state[1][0] - 1

    @property
    def queued_msgs(self) -> int:
        """Consumer: messages prefetched and not yet handed to the application."""
        return self.enq_msgs - self.deq_msgs

    def stored_position(self) -> tuple[int, str | None]:
        """Consumer, app or main thread. The offset and metadata the next commit of stored
        offsets sends."""
        if self.auto_store and self.app_pos >= 0:
            return self.app_pos, None
        # Without auto store, or after a seek and before the next message (seek() keeps
        # what was consumed before it here).
        return self.stored_offset, self.stored_metadata

    def fetchable(self) -> bool:
        """Consumer, leader's broker thread (no lock: read again under the handle lock before
        a fetch is built). Assigned, not paused, and fetching from a known offset."""
        return self.assigned and not self.paused and self.fetch_state is _ACTIVE

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
        "direct",
        "partitioner",
        "exists",
        "notexists",
        "error",
        "created_at",
        "metadata_requested_at",
        "counters",
    )

    def __init__(self, name: str, partitioner: TopicPartitioner, now: float,
                 counters: TopicCounters) -> None:
        self.name = name
        self.partitions: list[Toppar] = []
        #: Messages produced before the topic's partition count was known.
        self.ua: deque[ProducerMessage] = deque()
        self.ua_lock = threading.Lock()
        #: Whether produce() may place messages on `partitions` itself: the partition count
        #: is known and `ua` is empty. Changed only under `ua_lock`, and set only after `ua`
        #: was emptied, so no message overtakes one produced before it (read without a lock
        #: on the hot path; produce() checks again under `ua_lock` when it is False).
        self.direct = False
        self.partitioner = partitioner
        #: None until metadata answered; then whether the cluster has the topic.
        self.exists: bool | None = None
        #: librdkafka's NOTEXISTS state: the cluster said so for longer than
        #: topic.metadata.propagation.max.ms (at once for an invalid name), so produce()
        #: fails with _UNKNOWN_TOPIC at the call until the topic appears.
        self.notexists = False
        self.error = 0
        self.created_at = now
        self.metadata_requested_at = 0.0
        #: Statistics: batch size and count windows.
        self.counters = counters
