"""Consumer: confluent-kafka-python's API for manually assigned partitions, librdkafka semantics.

Broker threads prefetch in the background (rdpy/client/fetch.py) into one consumer queue;
poll()/consume() hand out its messages and events on the caller's thread. The main thread
resolves logical offsets (ListOffsets, committed offsets) and runs auto commit. Group
membership (subscribe) is not implemented yet.

Lifetime: the engine (handle, threads, their hooks and request callbacks) refers to a
`_ConsumerCore` and to settings without the application's callables, never to the Consumer;
so a Consumer dropped without close() is freed by its reference count and its __del__ stops
the threads and closes the sockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from rdpy.admin import ClusterMetadata
from rdpy.client.broker.broker import Broker
from rdpy.client.coordinators import CoordinatorType
from rdpy.client.ops import CommitResult, ReplyOp
from rdpy.client.request import Request
from rdpy.client.consume.cqueue import ConsumerQueue
from rdpy.client.handle import Handle, engine_settings, refuse_unimplemented
from rdpy.client.events import ClientEvents
from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.client.sync import deadline_for, list_topics, request_sync, requests_sync
from rdpy.client.toppar import Toppar
from rdpy.config import Conf, Settings
from rdpy.constants import OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID, OFFSET_STORED
from rdpy.errors import (RETRIABLE_BROKER_ERRORS, ErrorCode, KafkaError, KafkaException, err2str,
                         is_retriable)
from rdpy.client.consume.fetch import FetchServer, error_event
from rdpy.message import Message
from rdpy.protocol.messages.list_offsets import (
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopic,
)
from rdpy.protocol.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetCommitResponse,
)
from rdpy.protocol.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    OffsetFetchResponse,
)
from rdpy.topic_partition import TopicPartition

#: Versions above these change the request layout (batched groups/coordinators).
_OFFSET_FETCH_MAX = 7
#: librdkafka's RD_KAFKA_OFFSET_TAIL_BASE: OFFSET_TAIL(n) == -2000 - n.
_OFFSET_TAIL_BASE = -2000
#: The logical start offsets assign() accepts (besides OFFSET_TAIL(n)).
_LOGICAL_OFFSETS = (OFFSET_BEGINNING, OFFSET_END, OFFSET_STORED, OFFSET_INVALID)


class Consumer:
    """A Kafka consumer (confluent_kafka.Consumer's API) for manually assigned partitions.

    Its state and the work background threads do for it live in a `_ConsumerCore`, which the
    handle's hooks and request callbacks point to and which holds no reference back: only the
    application refers to the Consumer, so dropping it without close() runs __del__, which
    stops the client's threads and closes its sockets (without close()'s final commit, as
    confluent-kafka).
    """

    def __init__(self, config: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        merged: dict[str, Any] = dict(config or {})
        merged.update(kwargs)
        conf = Conf.from_dict(merged, "consumer")
        settings = conf.finalize("consumer")
        group_id = settings.get_str("group.id")
        if not group_id:
            raise ValueError("Failed to create consumer: group.id must be set")
        refuse_unimplemented(settings, "consumer", [])
        self._settings = settings
        handle = Handle(engine_settings(conf, "consumer"), "consumer", FetchServer)
        self._handle = handle
        for warning in settings.warnings:
            handle.log(4, "CONFWARN", warning)
        callbacks = settings.callbacks
        self._events = ClientEvents(callbacks, handle.name)
        self._on_commit: Any = callbacks.get("on_commit")
        core = _ConsumerCore(handle, settings, group_id)
        self._core = core
        self._queue: ConsumerQueue = core._queue
        self._reply_pending = handle.reply_q.pending
        handle.start()

    # --- assignment (app thread) --------------------------------------------------------------

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Replace the assignment with `partitions` (offsets as given, or logical)."""
        self._check_open()
        _check_partitions(partitions)
        core = self._core
        core._unassign_all()
        try:
            core._incremental_assign(partitions)
        except KafkaException as exc:
            # rd_kafka_assign() reports a code only; confluent-kafka words it like this.
            code = exc.args[0].code()
            raise KafkaException(KafkaError(
                code, f"Failed to set assignment: {KafkaError(code).str()}")) from None

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """Add `partitions` to the assignment."""
        self._check_open()
        _check_partitions(partitions)
        self._core._incremental_assign(partitions)

    def unassign(self) -> None:
        """Drop the whole assignment."""
        self._check_open()
        self._core._unassign_all()

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """Remove `partitions` from the assignment."""
        self._check_open()
        _check_partitions(partitions)
        self._core._incremental_unassign(partitions)

    def assignment(self) -> list[TopicPartition]:
        """The assigned partitions, ordered by topic and partition (as librdkafka keeps them)."""
        self._check_open()
        core = self._core
        return [TopicPartition(t, p, core._assigned_offsets.get((t, p), OFFSET_INVALID))
                for (t, p) in sorted(core._assignment)]

    # --- consuming (app thread) ---------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> Message | None:
        """The next message or event, waiting up to `timeout` s (None/-1: forever)."""
        # Fast path: the current batch has a message and no event waits (no lock, no clock,
        # no call). A closed consumer has no current batch, so it takes the slow path.
        q = self._queue
        i = q.cur_i
        if i < q.cur_n and not self._reply_pending:
            q.cur_i = i + 1
            msg = q.cur[i]
            q.cur_tp.app_pos = msg._offset + 1  # type: ignore[operator]  # set on messages
            return msg
        return self._poll_wait(timeout)

    def _poll_wait(self, timeout: float | None) -> Message | None:
        """App thread. poll() when the current batch is used up: events first, then the next
        queued message or event, waiting until the deadline."""
        if self._core._closed:
            raise RuntimeError("Consumer closed")
        queue = self._queue
        deadline: float | None = None
        while True:
            if self._reply_pending:
                self._serve_events()
            item = queue.pop_nowait()
            if item is not None:
                return self._deliver(item[0], item[1])
            if timeout == 0:
                return None
            if deadline is None:
                deadline = deadline_for(timeout)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            queue.wait(remaining)

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Message]:
        """Up to `num_messages` messages/events; waits up to `timeout` s for that many."""
        self._check_open()
        if num_messages < 0 or num_messages > 1_000_000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        deadline = deadline_for(timeout)
        queue = self._queue
        deliver = self._deliver
        out: list[Message] = []
        while True:
            if self._reply_pending:
                self._serve_events()
            while len(out) < num_messages:
                # Whole slices of the current batch at a time, then the queue's next entry.
                i, n = queue.cur_i, queue.cur_n
                if i < n:
                    k = min(n, i + num_messages - len(out))
                    chunk = queue.cur[i:k]
                    queue.cur_i = k
                    out += chunk
                    queue.cur_tp.app_pos = chunk[-1]._offset + 1  # type: ignore[operator]
                    continue
                item = queue.pop_nowait()
                if item is None:
                    break
                out.append(deliver(item[0], item[1]))
            # As librdkafka's consume_batch: wait for a full batch until the timeout.
            if len(out) >= num_messages:
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            queue.wait(remaining)

    def _deliver(self, msg: Message, tp: Toppar | None) -> Message:
        if tp is not None and msg._error is None:
            tp.app_pos = msg._offset + 1  # type: ignore[operator]  # always set on messages
        return msg

    def _serve_events(self) -> None:
        """Error, commit, throttle and log events, on the application's thread."""
        q = self._handle.reply_q
        if not q:
            return
        q.serve_in_order(q.pop_all(), self._serve_op)

    def _serve_op(self, op: ReplyOp) -> None:
        match op:
            case CommitResult(err, partitions):
                if self._on_commit is not None:
                    self._on_commit(err, partitions)
            case _:
                self._events.serve(op)

    # --- positions -----------------------------------------------------------------------------

    def seek(self, partition: TopicPartition) -> None:
        """Fetch `partition` from `partition.offset` next (it must be assigned)."""
        self._check_open()
        _check_partition(partition)
        core = self._core
        tp = core._assignment.get((partition.topic, partition.partition))
        if tp is None:
            # librdkafka: a partition of a topic it knows (one of its partitions was assigned)
            # is _STATE, any other _UNKNOWN_PARTITION.
            code = core._not_assigned_error(partition.topic)
        elif partition.offset == OFFSET_STORED:
            code = ErrorCode._INVALID_ARG
        else:
            code = 0
        if code:
            raise KafkaException(KafkaError(
                code, f"Failed to seek to offset {partition.offset}: {err2str(code)}"))
        assert tp is not None
        with self._handle.lock:
            tp.eof_offset = OFFSET_INVALID
            _forget_position(tp)
            core._start_at(tp, partition.offset)
        self._queue.purge(tp)

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Stop fetching `partitions` (already fetched messages of them are dropped)."""
        for tp in self._assigned_toppars(partitions):
            with self._handle.lock:
                tp.paused = True
                # Drop what was prefetched; resume() fetches from the first message not
                # handed out yet: after the last one returned, or where fetching started
                # (assign/seek/offset lookup) if none was returned since.
                restart = tp.app_pos if tp.app_pos >= 0 else tp.start_pos
                if restart >= 0 and tp.fetch_state == "active":
                    tp.fetch_pos = restart
                tp.version += 1
            self._queue.purge(tp)

    def resume(self, partitions: list[TopicPartition]) -> None:
        """Resume fetching `partitions`."""
        for tp in self._assigned_toppars(partitions):
            tp.paused = False
            if tp.leader is not None:
                tp.leader.wake()

    def _assigned_toppars(self, partitions: list[TopicPartition]) -> list[Toppar]:
        """App thread. The toppars of `partitions` that are assigned (others are ignored, as
        librdkafka's pause/resume ignore them), after the calls' common checks."""
        self._check_open()
        _check_partitions(partitions)
        assigned = self._core._assignment
        return [tp for p in partitions
                if (tp := assigned.get((p.topic, p.partition))) is not None]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The offset after the last message returned for each partition (or OFFSET_INVALID)."""
        self._check_open()
        _check_partitions(partitions)
        assigned = self._core._assignment
        out = []
        for p in partitions:
            tp = assigned.get((p.topic, p.partition))
            offset = tp.app_pos if tp is not None else OFFSET_INVALID
            out.append(TopicPartition(p.topic, p.partition, offset))
        return out

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int] | None:
        """(low, high) watermarks: from the last fetch if `cached`, else asked of the leader."""
        self._check_open()
        _check_partition(partition)
        if cached:
            topic = self._handle.topics.get(partition.topic)
            if topic is None or not 0 <= partition.partition < len(topic.partitions):
                return OFFSET_INVALID, OFFSET_INVALID
            tp = topic.partitions[partition.partition]
            return tp.lo_offset, tp.hi_offset
        deadline = deadline_for(timeout)
        core = self._core
        found, code = core._leader_toppar(partition, deadline)
        if found is None:
            # A topic the cluster does not have is an unknown partition here (librdkafka).
            _raise_lookup_error(code if code == ErrorCode._TIMED_OUT
                                else ErrorCode._UNKNOWN_PARTITION, "watermark offsets")
        assert found is not None
        low, high = core._list_offsets([(found, OFFSET_BEGINNING), (found, OFFSET_END)],
                                       deadline)
        _raise_lookup_error(low[0] or high[0], "watermark offsets")
        found.lo_offset, found.hi_offset = low[1], high[1]
        return low[1], high[1]

    def offsets_for_times(self, partitions: list[TopicPartition],
                          timeout: float | None = None) -> list[TopicPartition]:
        """The earliest offset whose timestamp >= `partition.offset` (a timestamp in ms), or
        -1 where there is none; one ListOffsets per leader broker, all sent together. As
        librdkafka, a partition the cluster does not have comes back with its error (and the
        timestamp asked as offset) unless no partition asked for exists: then it raises."""
        self._check_open()
        _check_partitions(partitions)
        if not partitions:
            _raise_lookup_error(ErrorCode._INVALID_ARG, "offsets")
        deadline = deadline_for(timeout)
        core = self._core
        leaders = [core._leader_toppar(p, deadline) for p in partitions]
        if any(code == ErrorCode._TIMED_OUT for _, code in leaders):
            _raise_lookup_error(ErrorCode._TIMED_OUT, "offsets")
        queries = [(tp, p.offset) for p, (tp, _) in zip(partitions, leaders) if tp is not None]
        if not queries:
            _raise_lookup_error(ErrorCode._UNKNOWN_PARTITION, "offsets")
        answers = iter(core._list_offsets(queries, deadline))
        out: list[TopicPartition] = []
        for p, (tp, code) in zip(partitions, leaders):
            if tp is None:
                out.append(TopicPartition._make(p.topic, p.partition, p.offset,
                                                error=KafkaError(code)))
                continue
            err, offset, epoch = next(answers)
            _raise_lookup_error(err, "offsets")
            out.append(TopicPartition(p.topic, p.partition, offset,
                                      leader_epoch=epoch if epoch >= 0 else None))
        return out

    # --- commits -------------------------------------------------------------------------------

    def store_offsets(self, message: Message | None = None,
                      offsets: list[TopicPartition] | None = None) -> None:
        """Store offsets to be committed by the next commit() or auto commit. As librdkafka,
        partitions that are not assigned are skipped; it raises only when none was stored."""
        self._check_open()
        if (message is None) == (offsets is None):
            raise ValueError("expected either message or offsets")
        core = self._core
        if message is not None:
            if message.error() is not None:
                raise KafkaException(message.error())
            items: list[tuple[Any, Any, int, str | None]] = [
                (message.topic(), message.partition(), (message.offset() or 0) + 1, None)]
        else:
            assert offsets is not None
            _check_partitions(offsets)
            items = [(p.topic, p.partition, p.offset, p.metadata) for p in offsets]
        if core._auto_store:  # librdkafka refuses to store then
            _raise_store_error(ErrorCode._INVALID_ARG)
        last_err = 0
        stored = 0
        for topic, partition, offset, metadata in items:
            # A message without a partition is RD_KAFKA_PARTITION_UA (-1) to confluent-kafka.
            tp = core._assignment.get((str(topic), -1 if partition is None else int(partition)))
            if tp is None:
                last_err = core._not_assigned_error(str(topic))
                continue
            tp.stored_offset = offset
            tp.stored_metadata = metadata
            stored += 1
        if items and not stored:
            _raise_store_error(last_err)

    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None,
               asynchronous: bool = True) -> list[TopicPartition] | None:
        """Commit `message`'s offset + 1, `offsets`, or the stored offsets of the assignment.
        As librdkafka, explicit offsets below 0 are not sent (_NO_OFFSET if none is left)."""
        self._check_open()
        if message is not None and offsets is not None:
            raise ValueError("Commit: message and offsets are mutually exclusive")
        core = self._core
        if message is not None:
            if message.error() is not None:
                raise KafkaException(message.error())
            partition = message.partition()
            to_commit = [TopicPartition(str(message.topic()),
                                        -1 if partition is None else partition,
                                        (message.offset() or 0) + 1)]
        elif offsets is not None:
            _check_partitions(offsets)
            to_commit = list(offsets)
        else:
            return core._commit_stored(asynchronous, auto=False)
        return core._commit(to_commit, asynchronous, auto=False)

    def committed(self, partitions: list[TopicPartition], timeout: float | None = None
                  ) -> list[TopicPartition]:
        """The committed offsets of `partitions` for this group (OFFSET_INVALID if none)."""
        self._check_open()
        _check_partitions(partitions)
        deadline = deadline_for(timeout)
        while True:
            result = self._core._fetch_committed(list(partitions), deadline)
            if result is not None:
                return [TopicPartition(p.topic, p.partition,
                                       result.get((p.topic, p.partition), OFFSET_INVALID))
                        for p in partitions]
            if time.monotonic() >= deadline:
                raise KafkaException(KafkaError(ErrorCode._TIMED_OUT,
                                                "Failed to get committed offsets: Local: "
                                                "Timed out"))
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    # --- misc ----------------------------------------------------------------------------------

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """Ask the cluster for its brokers and topics (all, or just `topic`)."""
        if self._core._closed:
            raise RuntimeError("Handle has been closed")  # confluent-kafka's wording here
        if topic is not None:
            # confluent-kafka creates the topic object to ask about it: seek() and
            # store_offsets() then say _STATE for its partitions, no longer _UNKNOWN_PARTITION.
            self._core._known_topics.add(topic)
        return list_topics(self._handle, topic, timeout)

    def subscribe(self, topics: Sequence[str], **kwargs: Any) -> None:
        raise NotImplementedError("rdpy does not implement consumer groups (subscribe) yet; "
                                  "use assign()")

    def unsubscribe(self) -> None:
        raise NotImplementedError("rdpy does not implement consumer groups (subscribe) yet")

    def close(self) -> None:
        """Commit stored offsets (if auto commit is on), then stop the client's threads."""
        core = self._core
        if core._closed:
            return
        if core._auto_commit:
            try:
                core._commit_stored(asynchronous=False, auto=True)
            except KafkaException:
                pass
        # As librdkafka's close: outstanding asynchronous commits finish first (their
        # on_commit callbacks are served here), for at most the socket timeout.
        deadline = time.monotonic() + self._handle.request_timeout
        try:
            while core._commits_inflight > 0 and time.monotonic() < deadline:
                self._serve_events()
                self._handle.reply_q.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            self._serve_events()
        finally:  # an on_commit that raises still gets the client stopped
            core._closed = True
            self._queue.drop_current()  # poll()'s fast path must not hand out anything more
            self._handle.destroy()

    def _check_open(self) -> None:
        if self._core._closed:
            raise RuntimeError("Consumer closed")

    def __del__(self) -> None:
        # Dropped without close(): stop the threads and close the sockets (no final commit,
        # as confluent-kafka). Nothing but the application refers to a Consumer, so this runs
        # when its last reference goes (or from the cyclic GC, if the application's own
        # objects, e.g. its callbacks, refer back to it).
        core = getattr(self, "_core", None)
        if core is not None:
            core._closed = True
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.destroy_on_gc()


class _ConsumerCore:
    """A Consumer's state, and the work its background threads do for it: offset lookups,
    commits, auto commit, offset resets, group statistics. The handle's hooks and request
    callbacks are bound to this object, which never refers to the Consumer (see Consumer).

    Threads: the assignment is changed on the application's thread and copied under the
    handle lock by the main thread; each method says which thread runs it."""

    def __init__(self, handle: Handle, settings: Settings, group_id: str) -> None:
        self._handle = handle
        self._group_id = group_id
        self._coordinator = handle.coordinators.get(CoordinatorType.GROUP, group_id)
        t = settings.topic
        self._auto_reset = t.get_enum("auto.offset.reset")
        self._auto_commit = settings.get_bool("enable.auto.commit")
        self._auto_commit_interval = settings.get_int("auto.commit.interval.ms") / 1000.0
        self._auto_store = settings.get_bool("enable.auto.offset.store")
        self._isolation = 1 if handle.read_committed else 0
        self._queue = ConsumerQueue(settings.get_int("queued.max.messages.kbytes") * 1024,
                                    settings.get_int("queued.min.messages"))
        handle.consumer_queue = self._queue
        handle.partition_eof = settings.get_bool("enable.partition.eof")
        self._assignment: dict[tuple[str, int], Toppar] = {}
        #: The offsets assign() was given, as assignment() reports them (confluent does).
        self._assigned_offsets: dict[tuple[str, int], int] = {}
        #: Topics librdkafka would have a topic object for: one of their partitions was
        #: assigned, or list_topics() asked for them (seek/store_offsets errors depend on it).
        self._known_topics: set[str] = set()
        #: Partitions waiting for a logical offset to be resolved (main thread issues queries).
        self._pending: dict[Toppar, int] = {}
        #: Partitions whose offset lookup is in flight, and when a failed one may be retried
        #: (handle lock: the main thread sends lookups, broker threads answer them).
        self._querying: set[Toppar] = set()
        self._retry_at: dict[Toppar, float] = {}
        self._backoff = settings.get_int("fetch.error.backoff.ms") / 1000.0
        self._retry_backoff = settings.get_int("retry.backoff.ms") / 1000.0
        #: Asynchronous commits waiting for the coordinator to be found: (offsets, deadline,
        #: auto), handle lock; and asynchronous commits in flight (close() waits for them).
        self._waiting_commits: list[tuple[list[TopicPartition], float, bool]] = []
        self._commits_inflight = 0
        self._last_auto_commit = time.monotonic()
        self._committing = False  # an automatic commit is in flight
        self._closed = False
        handle.offset_reset = self._offset_out_of_range
        handle.main_hooks.append(self._main_tick)
        handle.group_stats = self._group_stats

    # --- assignment (app thread) --------------------------------------------------------------

    def _incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """Add `partitions` (checked first: nothing changes if one is refused)."""
        self._check_additions(partitions)
        handle = self._handle
        if "consumer" in handle.debug or "cgrp" in handle.debug:
            handle.log(7, "ASSIGN", f"Adding {len(partitions)} partition(s) to the assignment: "
                       + ", ".join(f"{p.topic} [{p.partition}] offset {_offset_name(p.offset)}"
                                   for p in partitions))
        for p in partitions:
            topic = handle.get_topic(p.topic)
            with handle.lock:
                tp = self._toppar(topic, p.partition)
                tp.assigned = True
                tp.paused = False
                tp.app_pos = OFFSET_INVALID
                tp.stored_offset = OFFSET_INVALID
                tp.auto_store = self._auto_store
                tp.eof_offset = OFFSET_INVALID
                self._assignment[(p.topic, p.partition)] = tp
                # librdkafka's assignment says OFFSET_STORED for OFFSET_INVALID (the same:
                # start at the committed offset).
                self._assigned_offsets[(p.topic, p.partition)] = (
                    p.offset if p.offset != OFFSET_INVALID else OFFSET_STORED)
                self._known_topics.add(p.topic)
                self._start_at(tp, p.offset)
        handle.wake_main()

    def _incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """Remove `partitions` (checked first: nothing changes if one is not assigned)."""
        self._check_removals(partitions)
        for p in partitions:
            with self._handle.lock:  # the main thread's auto commit reads the assignment
                tp = self._assignment.pop((p.topic, p.partition), None)
                self._assigned_offsets.pop((p.topic, p.partition), None)
            if tp is not None:
                self._stop(tp)

    def _not_assigned_error(self, topic: str) -> int:
        """App thread. What seek()/store_offsets() of a partition that is not assigned fail
        with, as librdkafka: _STATE for a topic it has an object for, else _UNKNOWN_PARTITION."""
        return ErrorCode._STATE if topic in self._known_topics else ErrorCode._UNKNOWN_PARTITION

    def _check_additions(self, partitions: Sequence[TopicPartition]) -> None:
        """As librdkafka's rd_kafka_assignment_add, before anything changes: start offsets
        must be real or known logical ones, no partition twice, none already assigned."""
        seen: set[tuple[str, int]] = set()
        for p in sorted(partitions, key=lambda p: (p.topic, p.partition)):
            key = (p.topic, p.partition)
            if p.offset < 0 and p.offset not in _LOGICAL_OFFSETS and p.offset > _OFFSET_TAIL_BASE:
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG,
                    f"{p.topic} [{p.partition}] has invalid start offset {p.offset}"))
            if key in seen:
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG, f"Duplicate {p.topic} [{p.partition}] in input list"))
            seen.add(key)
            if key in self._assignment:
                raise KafkaException(KafkaError(
                    ErrorCode._CONFLICT,
                    f"{p.topic} [{p.partition}] is already part of the current assignment"))

    def _check_removals(self, partitions: Sequence[TopicPartition]) -> None:
        """As librdkafka's rd_kafka_assignment_subtract: every partition must be assigned."""
        if not self._assignment and partitions:
            raise KafkaException(KafkaError(ErrorCode._INVALID_ARG,
                                            "Can't subtract from empty assignment"))
        for p in sorted(partitions, key=lambda p: (p.topic, p.partition)):
            if (p.topic, p.partition) not in self._assignment:
                raise KafkaException(KafkaError(
                    ErrorCode._INVALID_ARG,
                    f"{p.topic} [{p.partition}] can't be unassigned since it is not in the "
                    "current assignment"))

    def _unassign_all(self) -> None:
        with self._handle.lock:  # the main thread's auto commit reads the assignment
            stopping = list(self._assignment.values())
            self._assignment.clear()
            self._assigned_offsets.clear()
        for tp in stopping:
            self._stop(tp)

    def _stop(self, tp: Toppar) -> None:
        with self._handle.lock:
            tp.assigned = False
            tp.fetch_state = "none"
            tp.version += 1
            self._pending.pop(tp, None)
        queue = self._handle.consumer_queue
        queue.purge(tp)

    def _toppar(self, topic: Any, partition: int) -> Toppar:
        """Handle lock. The toppar, created ahead of metadata if the topic is still unknown.
        A negative partition (librdkafka accepts TopicPartition(t, -1) and reads nothing)
        gets a toppar of its own that no broker ever fetches: it must never index the
        topic's partitions from the end."""
        if partition < 0:
            return Toppar(topic.name, partition)
        while len(topic.partitions) <= partition:
            topic.partitions.append(Toppar(topic.name, len(topic.partitions)))
        tp: Toppar = topic.partitions[partition]
        return tp

    def _start_at(self, tp: Toppar, offset: int) -> None:
        """Handle lock. Start fetching at `offset`, or queue its resolution if logical."""
        tp.version += 1
        tp.fetch_backoff_until = 0.0
        if offset >= 0:
            tp.fetch_pos = tp.start_pos = offset
            tp.fetch_state = "active"
            self._pending.pop(tp, None)
            if tp.leader is not None:
                tp.leader.wake()
        else:
            tp.fetch_state = "offset_query"
            tp.fetch_pos = tp.start_pos = OFFSET_INVALID
            tp.query_offset = offset
            self._pending[tp] = offset
        self._handle.wake_main()

    def _group_stats(self, now: float) -> dict[str, Any]:
        """Main thread. The statistics "cgrp" object of a consumer that is not a group member
        (assign() only): no joins or rebalances ever happen, so join_state stays "init"."""
        coord = self._coordinator
        return {
            "state": "up" if coord.node_id >= 0 else "init",
            "stateage": int((now - coord.state_since) * 1000),
            "join_state": "init",
            "rebalance_age": 0,
            "rebalance_cnt": 0,
            "rebalance_reason": "",
            # The group's assignment, which a consumer using assign() does not have (librdkafka
            # reports 0 too: rkcg_group_assignment, not the partitions given to assign()).
            "assignment_size": 0,
        }

    # --- offsets resolution (main thread) -----------------------------------------------------

    def _main_tick(self, now: float) -> None:
        """Main thread: send the offset lookups that pending partitions need, commits that
        waited for the coordinator, auto commit. Nothing here waits for an answer: answers
        are handled on broker threads (_on_committed_offsets, _on_list_offsets)."""
        if self._closed:
            return
        handle = self._handle
        with handle.lock:
            due = [(tp, logical, tp.version) for tp, logical in self._pending.items()
                   if tp not in self._querying and tp.leader is not None
                   and self._retry_at.get(tp, 0.0) <= now]
            for tp, _, _ in due:
                self._querying.add(tp)
        try:
            self._send_lookups(due)
        except BaseException:
            for tp, _, _ in due:  # or they would never be looked up again
                self._query_done(tp, self._backoff)
            raise
        self._serve_waiting_commits(now)
        if (self._auto_commit and self._auto_commit_interval > 0  # 0: only on close()
                and now - self._last_auto_commit >= self._auto_commit_interval
                and not self._committing):
            self._last_auto_commit = now
            self._commit_stored(asynchronous=True, auto=True)

    def _send_lookups(self, due: list[tuple[Toppar, int, int]]) -> None:
        """Main thread. One OffsetFetch for the partitions starting at their committed
        offsets, one ListOffsets per leader for the others."""
        stored = [(tp, version) for tp, logical, version in due
                  if logical in (OFFSET_STORED, OFFSET_INVALID)]
        if stored:
            self._query_committed(stored)
        by_leader: dict[Broker, list[tuple[Toppar, int, int]]] = {}
        for tp, logical, version in due:
            leader = tp.leader
            if logical in (OFFSET_STORED, OFFSET_INVALID):
                continue
            if leader is None:
                self._query_done(tp, 0.0)
                continue
            by_leader.setdefault(leader, []).append((tp, logical, version))
        for leader, items in by_leader.items():
            self._query_offsets(leader, items)

    def _query_done(self, tp: Toppar, retry_in: float | None) -> None:
        """Any thread. `tp`'s lookup is over; a failed one may be repeated after `retry_in` s."""
        handle = self._handle
        with handle.lock:
            self._querying.discard(tp)
            if retry_in is None:
                self._retry_at.pop(tp, None)
            else:
                self._retry_at[tp] = handle.clock() + retry_in
        handle.wake_main()

    def _query_committed(self, items: list[tuple[Toppar, int]]) -> None:
        """Main thread. One OffsetFetch for the partitions starting at their committed offset."""
        coordinator = self._coordinator.current()
        if coordinator is None:
            self._coordinator.lookup()  # its answer wakes the main thread: ask again then
            for tp, _ in items:
                self._query_done(tp, 0.0)
            return
        coordinator.enqueue_request(Request(
            OffsetFetchResponse, self._offset_fetch_builder([tp for tp, _ in items]),
            lambda b, err, response, request: self._on_committed_offsets(items, err, response),
            self._handle.request_timeout, max_version=_OFFSET_FETCH_MAX))

    def _on_committed_offsets(self, items: list[tuple[Toppar, int]], err: int,
                              response: OffsetFetchResponse | None) -> None:
        """Broker thread. Start at the committed offsets; where there is none, apply
        auto.offset.reset (a ListOffsets on the next tick) or report _AUTO_OFFSET_RESET."""
        committed = self._committed_from(err, response)
        for tp, version in items:
            offset = committed.get((tp.topic, tp.partition)) if committed is not None else None
            if offset is None:
                self._query_done(tp, self._backoff)
            elif offset >= 0:
                self._set_position(tp, version, offset, committed=True)
                self._query_done(tp, None)
            else:
                target = self._reset_target()
                if target is None:
                    self._reset_error(tp, version, OFFSET_INVALID, ErrorCode._AUTO_OFFSET_RESET,
                                      "no previously committed offset available: "
                                      "Local: No offset stored")
                else:
                    with self._handle.lock:
                        if tp.version == version and tp in self._pending:
                            self._pending[tp] = target
                self._query_done(tp, None)

    def _query_offsets(self, leader: Broker, items: list[tuple[Toppar, int, int]]) -> None:
        """Main thread. One ListOffsets to `leader` for its partitions' logical offsets
        (OFFSET_TAIL(n) asks for the end)."""
        build = _list_offsets_builder(self._isolation, [
            (tp.topic, tp.partition, OFFSET_END if logical <= _OFFSET_TAIL_BASE else logical)
            for tp, logical, _ in items])
        leader.enqueue_request(Request(
            ListOffsetsResponse, build,
            lambda b, err, response, request: self._on_list_offsets(items, err, response),
            self._handle.request_timeout))

    def _on_list_offsets(self, items: list[tuple[Toppar, int, int]], err: int,
                         response: ListOffsetsResponse | None) -> None:
        """Broker thread. Start fetching at the offsets found; retry the others later."""
        found = _list_offsets_results(response) if response is not None else {}
        refresh = bool(err)
        for tp, logical, version in items:
            code, offset, _ = found.get((tp.topic, tp.partition), (ErrorCode._TRANSPORT, -1, -1))
            if code:
                refresh = refresh or code in _LEADER_ERRORS
                self._query_done(tp, self._backoff)
                continue
            if logical <= _OFFSET_TAIL_BASE:
                offset = max(0, offset - (_OFFSET_TAIL_BASE - logical))
            self._set_position(tp, version, offset)
            self._query_done(tp, None)
        if refresh:
            self._handle.request_metadata(reason="list offsets error")

    def _reset_target(self) -> int | None:
        reset = self._auto_reset
        if reset in ("smallest", "earliest", "beginning"):
            return OFFSET_BEGINNING
        if reset in ("largest", "latest", "end"):
            return OFFSET_END
        return None

    def _set_position(self, tp: Toppar, version: int, offset: int,
                      committed: bool = False) -> None:
        """Start fetching at `offset`, found by a lookup (`committed`: the group's committed
        offset, which commits of stored offsets then only move forward, as librdkafka)."""
        with self._handle.lock:
            if tp.version != version or not tp.assigned:
                return
            if committed:
                tp.committed_offset = offset
            tp.fetch_pos = tp.start_pos = offset
            tp.fetch_state = "active"
            self._pending.pop(tp, None)
            leader = tp.leader
        self._handle.dbg("fetch", "OFFSET", f"{tp.topic} [{tp.partition}]: offset "
                         f"{_offset_name(tp.query_offset)} resolved to {offset}: fetching")
        if leader is not None:
            leader.wake()

    def _reset_error(self, tp: Toppar, version: int, offset: int, err: int, reason: str) -> None:
        with self._handle.lock:
            if tp.version != version:
                return
            tp.fetch_state = "none"
            self._pending.pop(tp, None)
        self._handle.consumer_queue.put_event(tp, version, error_event(
            KafkaError(err, reason), tp.topic, tp.partition, offset))

    def _offset_out_of_range(self, tp: Toppar, offset: int, version: int, err: int,
                             reason: str) -> None:
        """Broker thread. OFFSET_OUT_OF_RANGE from the fetch of `offset` at `version`: apply
        auto.offset.reset, unless the application has moved the partition since."""
        target = self._reset_target()
        broker_id = tp.leader_id
        if target is None:
            self._reset_error(tp, version, offset, ErrorCode._AUTO_OFFSET_RESET,
                              f"{reason}: Broker: Offset out of range (broker {broker_id})")
            return
        with self._handle.lock:
            if tp.version != version or not tp.assigned or tp.fetch_pos != offset:
                return
            _forget_position(tp)  # pause() must not go back to where the reset came from
            tp.fetch_state = "offset_query"
            tp.query_offset = target
            tp.version += 1
            self._pending[tp] = target
        self._handle.wake_main()

    def _list_offsets(self, queries: Sequence[tuple[Toppar, int]], deadline: float
                      ) -> list[tuple[int, int, int]]:
        """App thread. ListOffsets for each (partition, timestamp or logical offset): one
        request per leader, all in flight together (a partition asked twice goes in a second
        request: a broker answers each partition once). Retriable errors (leader moved,
        connection lost) refresh the metadata and ask again after retry.backoff.ms, until
        `deadline`. Returns (error code, offset, leader epoch) per query, in order."""
        results: list[tuple[int, int, int]] = [(ErrorCode._TIMED_OUT, -1, -1)] * len(queries)
        todo = list(range(len(queries)))
        while True:
            todo = self._list_offsets_round(queries, todo, results, deadline)
            remaining = deadline - time.monotonic()
            if not todo or remaining <= 0:
                return results
            self._handle.request_metadata(reason="list offsets error")
            time.sleep(min(self._retry_backoff, remaining))

    def _list_offsets_round(self, queries: Sequence[tuple[Toppar, int]], todo: list[int],
                            results: list[tuple[int, int, int]], deadline: float) -> list[int]:
        """App thread. One round of _list_offsets: sends the `todo` queries, stores what the
        brokers answered in `results`, and returns the queries to retry."""
        groups: list[tuple[Broker, list[int]]] = []  # one request each
        retry: list[int] = []
        with self._handle.lock:
            leaders = [queries[i][0].leader for i in todo]
        for i, leader in zip(todo, leaders):
            if leader is None:
                retry.append(i)
                continue
            key = (queries[i][0].topic, queries[i][0].partition)
            for broker, members in groups:
                if broker is leader and all(
                        (queries[j][0].topic, queries[j][0].partition) != key for j in members):
                    members.append(i)
                    break
            else:
                groups.append((leader, [i]))
        answers = requests_sync(
            [(broker, _list_offsets_builder(self._isolation, [
                (queries[i][0].topic, queries[i][0].partition, queries[i][1]) for i in members]))
             for broker, members in groups],
            ListOffsetsResponse, deadline, self._handle.request_timeout)
        for (_, members), (err, response) in zip(groups, answers):
            found = _list_offsets_results(response) if response is not None else {}
            for i in members:
                tp = queries[i][0]
                result = found.get((tp.topic, tp.partition), (err or ErrorCode._TRANSPORT, -1, -1))
                results[i] = result
                if result[0] in _RETRY_LIST_OFFSETS:
                    retry.append(i)
        return retry

    def _fetch_committed(self, tps: Sequence[Toppar | TopicPartition], deadline: float
                         ) -> dict[tuple[str, int], int] | None:
        """App thread. OffsetFetch from the group coordinator: {(topic, partition): offset or
        -1001}, or None when it could not be asked."""
        coordinator = self._coordinator.broker(deadline)
        if coordinator is None:
            return None
        err, response = request_sync(coordinator, OffsetFetchResponse,
                                     self._offset_fetch_builder(tps),
                                     deadline, self._handle.request_timeout,
                                     max_version=_OFFSET_FETCH_MAX)
        return self._committed_from(err, response)

    def _offset_fetch_builder(self, tps: Sequence[Toppar | TopicPartition]
                              ) -> Callable[[int], OffsetFetchRequest]:
        by_topic: dict[str, list[int]] = {}
        for tp in tps:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        group = self._group_id

        def build(version: int) -> OffsetFetchRequest:
            return OffsetFetchRequest(group_id=group, topics=[
                OffsetFetchRequestTopic(name=t, partition_indexes=parts)
                for t, parts in by_topic.items()], require_stable=version >= 7)

        return build

    def _committed_from(self, err: int, response: OffsetFetchResponse | None
                        ) -> dict[tuple[str, int], int] | None:
        """Any thread. An OffsetFetch answer as {(topic, partition): offset or -1001}; None
        when it failed (a coordinator error forgets the coordinator)."""
        if response is None or response.error_code:
            if response is None or response.error_code in _COORDINATOR_ERRORS:
                self._coordinator.reset()
            return None
        out: dict[tuple[str, int], int] = {}
        for t in response.topics:
            for p in t.partitions:
                if p.error_code:
                    continue  # e.g. UNSTABLE_OFFSET_COMMIT: absent, so asked again
                out[(t.name, p.partition_index)] = (p.committed_offset
                                                    if p.committed_offset >= 0
                                                    else OFFSET_INVALID)
        return out

    def _leader_toppar(self, partition: TopicPartition, deadline: float
                       ) -> tuple[Toppar | None, int]:
        """App thread. The partition's toppar once its leader is known (metadata refreshed),
        or None and why not: UNKNOWN_TOPIC_OR_PART (no such topic), _UNKNOWN_PARTITION (no
        such partition; a negative one at once, without asking) or _TIMED_OUT."""
        if partition.partition < 0:
            return None, ErrorCode._UNKNOWN_PARTITION
        handle = self._handle
        topic = handle.get_topic(partition.topic)
        while True:
            with handle.lock:
                if topic.exists is False:
                    return None, ErrorCode.UNKNOWN_TOPIC_OR_PART
                info = handle.metadata.topics.get(partition.topic)
                if topic.exists is True and info is not None:
                    if partition.partition >= len(info.partitions):
                        return None, ErrorCode._UNKNOWN_PARTITION
                    if partition.partition < len(topic.partitions):
                        tp = topic.partitions[partition.partition]
                        if tp.leader is not None:
                            return tp, 0
            if time.monotonic() >= deadline:
                return None, ErrorCode._TIMED_OUT
            handle.request_metadata(reason="leader lookup")
            time.sleep(0.02)

    # --- commits -------------------------------------------------------------------------------

    def _commit_stored(self, asynchronous: bool, auto: bool) -> list[TopicPartition] | None:
        """Commit the stored offsets of the assignment. As in librdkafka, a partition with
        nothing stored, or nothing beyond what this consumer committed, is reported back as
        OFFSET_INVALID and not sent."""
        to_commit: list[TopicPartition] = []
        skipped: list[TopicPartition] = []
        with self._handle.lock:  # auto commit runs on the main thread, assign() on the app's
            assigned = list(self._assignment.values())
        for tp in assigned:
            stored, metadata = tp.stored_position()
            # As librdkafka, stored offsets only move the committed one forward (after a
            # seek backwards, commit explicit offsets to go back).
            if stored >= 0 and stored > tp.committed_offset:
                to_commit.append(TopicPartition(tp.topic, tp.partition, stored, metadata))
            else:
                skipped.append(TopicPartition(tp.topic, tp.partition, OFFSET_INVALID))
        if not to_commit:
            if auto:
                return None
            if asynchronous:
                self._handle.reply_q.push(CommitResult(KafkaError(ErrorCode._NO_OFFSET), []))
                return None
            raise KafkaException(KafkaError(ErrorCode._NO_OFFSET,
                                            "Commit failed: Local: No offset stored"))
        results = self._commit(to_commit, asynchronous, auto)
        return None if results is None else results + skipped

    def _commit(self, offsets: list[TopicPartition], asynchronous: bool, auto: bool
                ) -> list[TopicPartition] | None:
        """Commit `offsets`. As librdkafka, offsets below 0 are not sent (the results list them
        as given); with none left it is _NO_OFFSET (raised, or told to on_commit)."""
        if not any(p.offset >= 0 for p in offsets):
            if asynchronous:
                self._handle.reply_q.push(CommitResult(KafkaError(ErrorCode._NO_OFFSET),
                                                      offsets))
                return None
            raise KafkaException(KafkaError(ErrorCode._NO_OFFSET,
                                            "Commit failed: Local: No offset stored"))
        if asynchronous:
            coordinator = self._coordinator.current()
            if coordinator is not None:
                self._send_commit(coordinator, offsets, auto)
            else:
                self._coordinator.lookup()
                with self._handle.lock:
                    self._waiting_commits.append((offsets, self._handle.clock() + 10.0, auto))
                    self._commits_inflight += 1
                    if auto:
                        self._committing = True
            return None
        deadline = deadline_for(None if not auto else 10.0)
        coordinator = self._coordinator.broker(deadline)
        if coordinator is None:
            return self._commit_failed(offsets, ErrorCode._TIMED_OUT, report=auto)
        err, response = request_sync(coordinator, OffsetCommitResponse,
                                     self._offset_commit_builder(offsets), deadline,
                                     self._handle.request_timeout)
        if response is None:
            self._coordinator.reset()
            return self._commit_failed(offsets, err, report=auto)
        return self._commit_results(offsets, response, report=auto)

    def _send_commit(self, coordinator: Broker, offsets: list[TopicPartition], auto: bool,
                     waited: bool = False) -> None:
        """Any thread. An asynchronous OffsetCommit; on_commit hears of it from poll()."""
        if not waited:
            with self._handle.lock:
                self._commits_inflight += 1
                if auto:
                    self._committing = True

        def on_done(_b: Broker, err: int, response: OffsetCommitResponse | None,
                    _r: Request[OffsetCommitResponse]) -> None:
            # Broker thread.
            try:
                if response is None:
                    self._coordinator.reset()
                    self._handle.reply_q.push(CommitResult(KafkaError(err), offsets))
                else:
                    self._commit_results(offsets, response, report=True)
            finally:
                with self._handle.lock:
                    self._commits_inflight -= 1
                    if auto:
                        self._committing = False

        coordinator.enqueue_request(Request(OffsetCommitResponse,
                                            self._offset_commit_builder(offsets),
                                            on_done, self._handle.request_timeout))

    def _serve_waiting_commits(self, now: float) -> None:
        """Main thread. Send the asynchronous commits that waited for the coordinator; those
        that waited 10 s fail with _TIMED_OUT."""
        handle = self._handle
        with handle.lock:
            if not self._waiting_commits:
                return
        coordinator = self._coordinator.current()
        with handle.lock:
            if coordinator is not None:
                ready, self._waiting_commits = self._waiting_commits, []
                expired: list[tuple[list[TopicPartition], float, bool]] = []
            else:
                ready = []
                expired = [w for w in self._waiting_commits if w[1] <= now]
                self._waiting_commits = [w for w in self._waiting_commits if w[1] > now]
            for _, _, auto in expired:
                self._commits_inflight -= 1
                if auto:
                    self._committing = False
        if coordinator is None:
            self._coordinator.lookup()
        for offsets, _, _ in expired:
            handle.reply_q.push(CommitResult(KafkaError(ErrorCode._TIMED_OUT), offsets))
        for offsets, _, auto in ready:
            assert coordinator is not None
            self._send_commit(coordinator, offsets, auto, waited=True)

    def _offset_commit_builder(self, offsets: list[TopicPartition]
                               ) -> Callable[[int], OffsetCommitRequest]:
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for p in offsets:
            if p.offset < 0:
                continue  # never sent (librdkafka's rd_kafka_OffsetCommitRequest)
            by_topic.setdefault(p.topic, []).append(OffsetCommitRequestPartition(
                partition_index=p.partition, committed_offset=p.offset,
                committed_leader_epoch=p.leader_epoch if p.leader_epoch is not None else -1,
                commit_timestamp=-1, committed_metadata=p.metadata))
        group = self._group_id

        def build(version: int) -> OffsetCommitRequest:
            # Generation -1 and no member id: an assign()-only consumer is not a member.
            return OffsetCommitRequest(group_id=group, generation_id_or_member_epoch=-1,
                                       member_id="", retention_time_ms=-1, topics=[
                                           OffsetCommitRequestTopic(name=t, partitions=parts)
                                           for t, parts in by_topic.items()])

        return build

    def _commit_results(self, offsets: list[TopicPartition], response: OffsetCommitResponse,
                        report: bool) -> list[TopicPartition]:
        """Any thread. Per-partition outcome of an OffsetCommit; `report`: tell on_commit
        (asynchronous and automatic commits; a synchronous one answers by its return value)."""
        errors: dict[tuple[str, int], int] = {}
        for t in response.topics:
            for answer in t.partitions:
                errors[(t.name, answer.partition_index)] = answer.error_code
        results = []
        first_error = 0
        for p in offsets:
            code = errors.get((p.topic, p.partition), 0)
            first_error = first_error or code
            results.append(TopicPartition._make(p.topic, p.partition, p.offset, p.metadata,
                                                p.leader_epoch,
                                                KafkaError(code) if code else None))
            tp = self._assignment.get((p.topic, p.partition))
            if tp is not None and not code and p.offset >= 0:
                tp.committed_offset = p.offset
        if report:
            self._handle.reply_q.push(CommitResult(KafkaError(first_error) if first_error
                                                  else None, results))
        if first_error in _COORDINATOR_ERRORS:
            self._coordinator.reset()
        return results

    def _commit_failed(self, offsets: list[TopicPartition], err: int,
                       report: bool) -> list[TopicPartition]:
        if report:
            self._handle.reply_q.push(CommitResult(KafkaError(err), offsets))
        raise KafkaException(KafkaError(err, f"Commit failed: {KafkaError(err).str()}"))



#: Errors after which the partition leader is looked up again.
_LEADER_ERRORS = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PART,
    ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
})
#: ListOffsets answers asked again (after a metadata refresh) until the caller's deadline.
_RETRY_LIST_OFFSETS = RETRIABLE_BROKER_ERRORS | {ErrorCode._TRANSPORT}
#: Errors after which the group coordinator is looked up again.
_COORDINATOR_ERRORS = frozenset({
    ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
})


def _forget_position(tp: Toppar) -> None:
    """Handle lock. The partition moves elsewhere (seek, offset reset): as librdkafka,
    position() is unknown until a message from there is returned, and the stored offset
    keeps what was consumed before (enable.auto.offset.store stores the position)."""
    if tp.auto_store and tp.app_pos >= 0:
        tp.stored_offset = tp.app_pos
    tp.app_pos = OFFSET_INVALID


def _list_offsets_builder(isolation: int, queries: Sequence[tuple[str, int, int]]
                          ) -> Callable[[int], ListOffsetsRequest]:
    """A ListOffsets request for (topic, partition, timestamp or logical offset) queries, each
    partition at most once, grouped by topic in the order first asked."""
    by_topic: dict[str, list[ListOffsetsPartition]] = {}
    for topic, partition, timestamp in queries:
        by_topic.setdefault(topic, []).append(ListOffsetsPartition(
            partition_index=partition, current_leader_epoch=-1, timestamp=timestamp,
            max_num_offsets=1))

    def build(version: int) -> ListOffsetsRequest:
        return ListOffsetsRequest(replica_id=-1, isolation_level=isolation, topics=[
            ListOffsetsTopic(name=t, partitions=parts) for t, parts in by_topic.items()])
    return build


def _raise_lookup_error(code: int, what: str) -> None:
    """A failed offset lookup raises as confluent-kafka does: KafkaException(code), text
    "Failed to get <what>: <error>"."""
    if code:
        raise KafkaException(KafkaError(code, f"Failed to get {what}: {err2str(code)}",
                                        retriable=is_retriable(code)))


def _raise_store_error(code: int) -> NoReturn:
    """store_offsets() failed as confluent-kafka words it."""
    raise KafkaException(KafkaError(code, f"StoreOffsets failed: {err2str(code)}"))


def _list_offsets_results(response: ListOffsetsResponse) -> dict[tuple[str, int], tuple[int, int, int]]:
    """A ListOffsets answer as {(topic, partition): (error code, offset, leader epoch)}."""
    out: dict[tuple[str, int], tuple[int, int, int]] = {}
    for t in response.topics:
        for p in t.partitions:
            offset = int(p.old_style_offsets[0]) if p.old_style_offsets else int(p.offset)
            out[(t.name, p.partition_index)] = (p.error_code, offset, p.leader_epoch)
    return out


def _check_partitions(partitions: Any) -> None:
    """App thread, before anything changes. As confluent-kafka: a list (not a tuple) of
    TopicPartition objects (not subclasses)."""
    if not isinstance(partitions, list):
        raise TypeError("requires list of TopicPartition")
    for p in partitions:
        if type(p) is not TopicPartition:
            raise TypeError("expected TopicPartition")


def _check_partition(partition: Any) -> None:
    """App thread. One TopicPartition argument (seek, get_watermark_offsets)."""
    if type(partition) is not TopicPartition:
        raise TypeError("expected TopicPartition")


def _offset_name(offset: int) -> str:
    """Offsets as librdkafka prints them (rd_kafka_offset2str)."""
    names = {OFFSET_BEGINNING: "BEGINNING", OFFSET_END: "END", OFFSET_STORED: "STORED",
             OFFSET_INVALID: "INVALID"}
    if offset in names:
        return names[offset]
    if offset <= _OFFSET_TAIL_BASE:
        return f"TAIL({_OFFSET_TAIL_BASE - offset})"
    return str(offset)


__all__ = ["Consumer"]
