"""The ConsumerEngine: one consumer's state and the work background threads do for it, under the
Consumer facade (rdpy/consumer.py), which keeps only argument checks, confluent-kafka's wording,
the poll()/consume() loops and close().

It creates the Handle with the consumer's role factory (each broker's FetchServer gets a
`FetchTarget`: the consumer queue, enable.partition.eof and the offset-reset entry point),
registers itself as the main thread's work (offset lookups, commits waiting and auto commit)
and as the statistics' ConsumerStatsSource, and holds the parts: the assignment, the
OffsetResolver (background offset resolution and resets), the OffsetLookups (the application's
blocking lookups), the Committer and the group membership (ClassicMember, idle until
subscribe()).

Lifetime: nothing here refers to the Consumer facade, and the Handle gets settings whose
application callables are replaced by a marker (engine_settings), so a Consumer dropped without
close() is freed by its reference count and its __del__ stops the threads. The engine's own
cycles (handle <-> engine, brokers) are left to the cyclic GC once stopped.

Threads: the assignment calls (assign, seek, pause, store) run on the application's thread and
change toppars under the handle lock; main_tick on the main thread; the FetchTarget's callback
on broker threads.
"""

from __future__ import annotations

from rdpy.client.broker.broker import Broker
from rdpy.client.consume.assignment import Assignment
from rdpy.client.consume.commit import Committer
from rdpy.client.consume.cqueue import ConsumerQueue
from rdpy.client.consume.fetch import FetchServer, FetchTarget
from rdpy.client.consume.logical import offset_name
from rdpy.client.consume.lookups import OffsetLookups
from rdpy.client.consume.offsets import OffsetResolver, forget_position
from rdpy.client.coordinators import CoordinatorType
from rdpy.client.group.assignors import StrategyError, configured_assignors
from rdpy.client.group.classic import ClassicMember, RevokedOffsets
from rdpy.client.handle import Handle
from rdpy.client.startup import engine_settings
from rdpy.client.toppar import FetchState, Topic, Toppar
from rdpy.config import Conf, Settings
from rdpy.constants import OFFSET_INVALID
from rdpy.errors import ErrorCode, KafkaError, KafkaException, err2str
from rdpy.topic_partition import TopicPartition

#: What store_offsets() stores: (topic, partition, offset, metadata).
StoreItem = tuple[str, int, int, str | None]


class ConsumerEngine:
    """One consumer's engine (see the module docstring)."""

    def __init__(self, conf: Conf, settings: Settings, group_id: str) -> None:
        try:  # refused before any thread starts, as librdkafka's rd_kafka_new() refuses it
            configured_assignors(settings.get_str("partition.assignment.strategy") or "")
        except StrategyError as exc:
            raise KafkaException(KafkaError(ErrorCode._INVALID_ARG,
                                            f"Failed to create consumer: {exc}")) from None
        self.group_id = group_id
        self.auto_store = settings.get_bool("enable.auto.offset.store")
        self.queue = ConsumerQueue(settings.get_int("queued.max.messages.kbytes") * 1024,
                                   settings.get_int("queued.min.messages"))
        self.assignment = Assignment()
        self._fetch_target = FetchTarget(self.queue, settings.get_bool("enable.partition.eof"),
                                         self._out_of_range)
        self.handle = handle = Handle(engine_settings(conf, "consumer"), "consumer",
                                      self._fetch_role)
        self.coordinator = handle.coordinators.get(CoordinatorType.GROUP, group_id)
        self.coordinator.error_listener = self._coordinator_lookup_failed
        self.membership = ClassicMember(
            handle, settings, group_id, self.coordinator,
            lambda offsets, done: self.commits.commit_revoked(offsets, done),
            self.queue.put_consumer_error)
        self.membership.set_poll_progress(self._poll_progress)
        self.offsets = OffsetResolver(handle, settings, self.queue, self.coordinator,
                                      self.membership, group_id)
        self.lookups = OffsetLookups(handle, settings, self.coordinator, self.membership,
                                     group_id)
        self.commits = Committer(handle, settings, group_id, self.coordinator,
                                 self.membership, self.assignment)
        #: Set by close() or the facade's __del__: no more work, no more messages.
        self.closed = False
        # poll() waits on the consumer queue: events for it (rebalances, commit results,
        # logs) wake it at once.
        self.queue.events = handle.reply_q.pending
        handle.reply_q.on_push = self.queue.wake
        handle.main_work.append(self)
        handle.main_work.append(self.membership)
        handle.consumer_stats = self

    def _coordinator_lookup_failed(self, code: int, _asked: str, message: str) -> None:
        """Broker thread. The group coordinator lookup failed for good: a consumer error, as
        librdkafka reports it."""
        self.queue.put_consumer_error(KafkaError(
            code, f"FindCoordinator response error: {message or err2str(code)}"))

    def _fetch_role(self, broker: Broker) -> FetchServer:
        """Handle lock, on whichever thread creates the Broker (the application's at start()
        or list_topics(), a broker thread applying Metadata or a FindCoordinator answer).
        The consumer's BrokerRole on `broker`."""
        return FetchServer(broker, self._fetch_target)

    def _out_of_range(self, tp: Toppar, offset: int, version: int, broker_id: int) -> None:
        """Broker thread. A fetch answered OFFSET_OUT_OF_RANGE: auto.offset.reset."""
        self.offsets.out_of_range(tp, offset, version, broker_id)

    # --- the main thread and the statistics ---------------------------------------------------

    def main_tick(self, now: float) -> None:
        """Main thread. Offset lookups due, commits waiting, auto commit; never waits."""
        if self.closed:
            return
        self.offsets.main_tick(now)
        self.commits.main_tick(now)

    def prefetched_bytes(self, tp: Toppar) -> int:
        """Main thread (statistics). Fetched bytes of `tp` not yet handed out."""
        return self.queue.prefetched_bytes(tp)

    def cgrp_stats(self, now: float) -> dict[str, object]:
        """Main thread (statistics). The "cgrp" object: the coordinator's state (librdkafka's
        rkcg_state: "up" once it is known) and the membership's fields."""
        coordinator = self.coordinator
        values: dict[str, object] = {
            "state": "up" if coordinator.node_id >= 0 else "init",
            "stateage": int((now - coordinator.state_since) * 1000),
        }
        values.update(self.membership.statistics(now))
        return values

    # --- assignment (application's thread) ----------------------------------------------------

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """App thread. Add `partitions` (checked first: nothing changes if one is refused)."""
        self.assignment.check_additions(partitions)
        handle = self.handle
        if "consumer" in handle.debug or "cgrp" in handle.debug:
            handle.log(7, "ASSIGN", f"Adding {len(partitions)} partition(s) to the assignment: "
                       + ", ".join(f"{p.topic} [{p.partition}] offset {offset_name(p.offset)}"
                                   for p in partitions))
        for p in partitions:
            topic = handle.get_topic(p.topic)
            with handle.lock:
                tp = _toppar_for(topic, p.partition)
                tp.assigned = True
                tp.paused = False
                tp.app_pos = OFFSET_INVALID
                tp.stored_offset = OFFSET_INVALID
                tp.auto_store = self.auto_store
                tp.eof_offset = OFFSET_INVALID
                self.assignment.add(tp, p.offset)
                self.offsets.start_at(tp, p.offset)
        handle.wake_main()

    def incremental_unassign(self, partitions: list[TopicPartition]) -> RevokedOffsets:
        """App thread. Remove `partitions` (checked first: nothing changes if one is not
        assigned); returns what the group's revoke commit needs of them."""
        self.assignment.check_removals(partitions)
        removed: list[Toppar] = []
        for p in partitions:
            with self.handle.lock:  # the main thread's auto commit reads the assignment
                tp = self.assignment.remove(p.topic, p.partition)
            if tp is not None:
                self._stop(tp)
                removed.append(tp)
        return _revoked_offsets(removed)

    def unassign_all(self) -> RevokedOffsets:
        """App thread. Drop the whole assignment; returns what the group's revoke commit
        needs of it."""
        with self.handle.lock:  # the main thread's auto commit reads the assignment
            stopping = self.assignment.clear()
        for tp in stopping:
            self._stop(tp)
        return _revoked_offsets(stopping)

    def _poll_progress(self) -> object:
        """Main thread (the group's max.poll.interval.ms check). Changes whenever the
        application takes a message out, poll()'s fast path included."""
        q = self.queue
        return (id(q.cur), q.cur_i, q.deq_bytes)

    def _stop(self, tp: Toppar) -> None:
        """App thread. `tp` is no longer assigned: nothing more is fetched or handed out."""
        with self.handle.lock:
            tp.assigned = False
            tp.version += 1
            self.offsets.stop(tp)
        self.queue.purge(tp)

    # --- positions (application's thread) -----------------------------------------------------

    def seek(self, tp: Toppar, offset: int) -> None:
        """App thread. Fetch assigned `tp` from `offset` next (real or logical)."""
        with self.handle.lock:
            tp.eof_offset = OFFSET_INVALID
            forget_position(tp)
            self.offsets.start_at(tp, offset)
        self.queue.purge(tp)

    def pause(self, toppars: list[Toppar]) -> None:
        """App thread. Stop fetching `toppars`; what was prefetched is dropped, and resume()
        fetches from the first message not handed out yet: after the last one returned, or
        where fetching started (assign/seek/offset lookup) if none was returned since."""
        for tp in toppars:
            with self.handle.lock:
                tp.paused = True
                restart = tp.app_pos if tp.app_pos >= 0 else tp.start_pos
                if restart >= 0 and tp.fetch_state is FetchState.ACTIVE:
                    tp.fetch_pos = restart
                tp.version += 1
            self.queue.purge(tp)

    def resume(self, toppars: list[Toppar]) -> None:
        """App thread. Fetch `toppars` again."""
        for tp in toppars:
            tp.paused = False
            if tp.leader is not None:
                tp.leader.wake()

    def assigned_toppars(self, partitions: list[TopicPartition]) -> list[Toppar]:
        """App thread. The toppars of those `partitions` that are assigned."""
        assignment = self.assignment
        return [tp for p in partitions
                if (tp := assignment.get(p.topic, p.partition)) is not None]

    def positions(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """App thread. position(): the offset after the last message returned."""
        out = []
        for p in partitions:
            tp = self.assignment.get(p.topic, p.partition)
            out.append(TopicPartition(p.topic, p.partition,
                                      tp.app_pos if tp is not None else OFFSET_INVALID))
        return out

    def store(self, items: list[StoreItem]) -> tuple[int, int]:
        """App thread. store_offsets(): stores the items of assigned partitions (others are
        skipped, as librdkafka); returns how many were stored and the last error."""
        last_err = stored = 0
        for topic, partition, offset, metadata in items:
            tp = self.assignment.get(topic, partition)
            if tp is None:
                last_err = self.assignment.not_assigned_error(topic)
                continue
            tp.stored_offset = offset
            tp.stored_metadata = metadata
            stored += 1
        return stored, last_err

    # --- the end ------------------------------------------------------------------------------

    def shut_down(self) -> None:
        """App thread. Stop the client's threads; poll()'s fast path hands out nothing more."""
        self.closed = True
        self.queue.drop_current()
        self.handle.destroy()


def _revoked_offsets(toppars: list[Toppar]) -> RevokedOffsets:
    """App thread. The stored offsets (what the next commit of stored offsets would send)
    and committed offsets of partitions just unassigned."""
    partitions = []
    committed = {}
    for tp in toppars:
        offset, metadata = tp.stored_position()
        partitions.append(TopicPartition(tp.topic, tp.partition, offset, metadata))
        committed[(tp.topic, tp.partition)] = tp.committed_offset
    return RevokedOffsets(partitions, committed)


def _toppar_for(topic: Topic, partition: int) -> Toppar:
    """Handle lock. The toppar, created ahead of metadata if the topic is still unknown. A
    negative partition (librdkafka accepts TopicPartition(t, -1) and reads nothing) gets a
    toppar of its own that no broker ever fetches: it must never index the topic's partitions
    from the end."""
    if partition < 0:
        return Toppar(topic.name, partition)
    while len(topic.partitions) <= partition:
        topic.partitions.append(Toppar(topic.name, len(topic.partitions)))
    return topic.partitions[partition]


__all__ = ["ConsumerEngine", "StoreItem"]
