"""A topic's unassigned queue (`Topic.ua`, librdkafka's UA partition): the messages produced
before the topic's partition count was known, and how they leave it.

They are placed on their partitions, in produce() order, once the metadata is known: by the
thread that applies it (a broker thread's answer, the main thread's retry, an application
thread's list_topics()), or, with a user partitioner, by the application's poll(), since user
code runs only there. They fail when the topic turns out not to exist or not to be allowed, and
expire on the main thread. Invariant (docs/DESIGN.md, Producer invariants): `Topic.direct`
changes only under `ua_lock` and is set only once the queue was emptied into the partitions,
so no message overtakes an older one and none is stranded behind newer ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import PlaceUnassigned
from rdpy.client.toppar import Topic
from rdpy.errors import ErrorCode, KafkaError, KafkaException

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.handle import Handle

__all__ = ["expire", "fail", "place", "place_with_user_partitioner"]

#: The user's partitioner as the producer calls it: (key, partition count) -> partition,
#: raising KafkaException for an answer it cannot use.
UserPartitioner = Callable[[bytes | None, int], int]


def place(handle: Handle, topic: Topic) -> list[ProducerMessage]:
    """Any thread applying metadata, or the main thread; handle lock and `topic.ua_lock`.
    Partition the waiting messages, in order, then let produce() place its own (`direct`).
    Returns the messages that failed (an explicit partition the topic does not have)."""
    if handle.user_partitioner:
        # User code runs only on the application's thread: poll() places these, and sets
        # `direct` once the queue is empty.
        if topic.ua:
            handle.reply_q.push(PlaceUnassigned(topic))
        else:
            topic.direct = True
        return []
    msgs = list(topic.ua)
    topic.ua.clear()
    failed: list[ProducerMessage] = []
    count = len(topic.partitions)
    now_us = int(handle.clock() * 1_000_000)
    woken: set[Broker] = set()
    for m in msgs:
        if m.partition == -1:
            m.partition = topic.partitioner.partition(m.key, count, now_us)
        elif not 0 <= m.partition < count:
            m.err = ErrorCode._UNKNOWN_PARTITION
            failed.append(m)
            continue
        tp = topic.partitions[m.partition]
        tp.enqueue(m)
        if tp.leader is not None:
            woken.add(tp.leader)
    # Only now: produce() reads `direct` without the lock and must not place a message while
    # older ones are still being placed here.
    topic.direct = True
    for leader in woken:
        leader.wake()
    return failed


def fail(topic: Topic, err: int) -> list[ProducerMessage]:
    """Any thread, takes `topic.ua_lock`. Take every waiting message out, failed with `err`
    (the caller reports them)."""
    with topic.ua_lock:
        msgs = list(topic.ua)
        topic.ua.clear()
    for m in msgs:
        m.err = err
    return msgs


def expire(topic: Topic, now: float, propagation_max: float) -> list[ProducerMessage]:
    """Main thread, takes `topic.ua_lock`. An unknown topic's messages fail with
    UNKNOWN_TOPIC_OR_PART once it has been unknown for topic.metadata.propagation.max.ms
    (librdkafka's NOTEXISTS state), and any whose message.timeout.ms passed with
    _MSG_TIMED_OUT."""
    with topic.ua_lock:
        if not topic.ua:
            return []
        if topic.exists is False and now - topic.created_at >= propagation_max:
            topic.notexists = True
            msgs = list(topic.ua)
            topic.ua.clear()
            # librdkafka 2.x reports the broker's UNKNOWN_TOPIC_OR_PART, not _UNKNOWN_TOPIC.
            for m in msgs:
                m.err = ErrorCode.UNKNOWN_TOPIC_OR_PART
            return msgs
        if topic.ua[0].deadline > now:
            return []
        expired = [m for m in topic.ua if m.deadline <= now]
        keep = [m for m in topic.ua if m.deadline > now]
        topic.ua.clear()
        topic.ua.extend(keep)
    for m in expired:
        m.err = ErrorCode._MSG_TIMED_OUT
    return expired


def place_with_user_partitioner(handle: Handle, topic: Topic,
                                partition: UserPartitioner) -> None:
    """App thread (poll, serving PlaceUnassigned), takes `topic.ua_lock`. Place the waiting
    messages in produce() order with the user's partitioner; then let produce() place
    directly. If the partitioner raises, the messages not placed go back to the head of the
    queue for the next poll() and the exception propagates to the application."""
    while True:
        with topic.ua_lock:
            msgs = list(topic.ua)
            topic.ua.clear()
            if not msgs:
                topic.direct = topic.exists is True
                return
        parts = topic.partitions
        failed: list[ProducerMessage] = []
        for i, m in enumerate(msgs):
            try:
                if m.partition == -1:
                    m.partition = partition(m.key, len(parts))
                elif not 0 <= m.partition < len(parts):
                    raise KafkaException(KafkaError(ErrorCode._UNKNOWN_PARTITION))
            except KafkaException as exc:
                error: KafkaError = exc.args[0]  # always a KafkaError (rdpy.errors)
                m.err = error.code()
                failed.append(m)
                continue
            except BaseException:
                with topic.ua_lock:
                    topic.ua.extendleft(reversed(msgs[i:]))
                handle.deliver(failed)
                handle.reply_q.push(PlaceUnassigned(topic))
                raise
            tp = parts[m.partition]
            tp.enqueue(m)
            if tp.leader is not None:
                tp.leader.wake()
        handle.deliver(failed)
