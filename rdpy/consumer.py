"""Consumer: confluent-kafka-python's API, librdkafka semantics: assigned partitions and
consumer groups (subscribe(), the classic protocol).

This module is the facade: it checks arguments as confluent-kafka does, words errors as it does,
runs the poll()/consume() loops (and the callbacks they serve: rebalance callbacks included) on
the application's thread, and closes. The engine underneath is rdpy/client/consume/
(ConsumerEngine: assignment, prefetch by broker threads, logical offsets and commits resolved on
the main and broker threads) and rdpy/client/group/classic.py (the group membership, on the
main thread). group.protocol=consumer (KIP-848) is not implemented yet: subscribe() says so.

Lifetime: the engine (handle, threads, their hooks and request callbacks) never refers to the
Consumer, and gets settings without the application's callables; so a Consumer dropped without
close() is freed by its reference count and its __del__ stops the threads and closes the
sockets.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, overload

from rdpy._clientargs import check_sasl_credentials, config_from_args, require_group_id, timeout_arg
from rdpy.admin import ClusterMetadata
from rdpy.client.consume.cqueue import ConsumerQueue
from rdpy.client.consume.engine import ConsumerEngine, StoreItem
from rdpy.client.events import ClientEvents
from rdpy.client.group.metadata import GroupMetadata
from rdpy.client.startup import refuse_unimplemented
from rdpy.client.group.assignors import RebalanceProtocol
from rdpy.client.ops import CommitResult, Rebalance, ReplyOp
from rdpy.client.sync import deadline_for, list_topics, require_cluster_id
from rdpy.client.toppar import FetchState, Toppar
from rdpy.config import Conf
from rdpy.constants import OFFSET_INVALID, OFFSET_STORED
from rdpy.errors import ErrorCode, KafkaError, KafkaException, err2str, is_retriable
from rdpy.message import FetchedMessage, Message
from rdpy.topic_partition import TopicPartition


#: on_assign/on_revoke/on_lost(consumer, partitions).
RebalanceCallback = Callable[["Consumer", list[TopicPartition]], object]

_CLOSED = "Consumer closed"

_C = TypeVar("_C", bound="Consumer")

#: What __init__ sets: read on a Consumer whose __init__ never ran (a subclass that skips
#: it), each is confluent-kafka's RuntimeError("Consumer closed"), not an AttributeError.
_STATE = frozenset({
    "_engine", "_handle", "_events", "_on_commit", "_queue", "_reply_pending", "_membership",
    "_group_protocol", "_on_assign", "_on_revoke", "_on_lost", "_rebalance_calls",
})


class Consumer:
    """A Kafka consumer (confluent_kafka.Consumer's API): assign() or subscribe().

    Its state and the work background threads do for it live in a ConsumerEngine, which holds
    no reference back: only the application refers to the Consumer, so dropping it without
    close() runs __del__, which stops the client's threads and closes its sockets (without
    close()'s final commit, as confluent-kafka). Also a context manager: `with Consumer(conf)
    as c:` closes on the way out.
    """

    @overload
    def __init__(self, config: dict[str, Any], /, **kwargs: Any) -> None: ...

    @overload
    def __init__(self, /, **config: Any) -> None: ...

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        merged = config_from_args(args, kwargs)
        require_group_id(merged)
        conf = Conf.from_dict(merged, "consumer")
        settings = conf.finalize("consumer")
        group_id = settings.get_str("group.id")
        if not group_id:
            raise ValueError("Failed to create consumer: group.id must be set")
        refuse_unimplemented(settings, "consumer", [])
        engine = ConsumerEngine(conf, settings, group_id)
        self._engine = engine
        handle = self._handle = engine.handle
        for warning in settings.warnings:
            handle.log(4, "CONFWARN", warning)
        callbacks = settings.callbacks
        self._events = ClientEvents(callbacks, handle.name)
        self._on_commit: Callable[[KafkaError | None, list[TopicPartition]], object] | None = (
            callbacks.get("on_commit"))  # type: ignore[assignment]  # checked by Conf
        self._queue: ConsumerQueue = engine.queue
        self._reply_pending = handle.reply_q.pending
        self._membership = engine.membership
        self._group_protocol = (settings.get_enum("group.protocol") or "classic").lower()
        self._on_assign: RebalanceCallback | None = None
        self._on_revoke: RebalanceCallback | None = None
        self._on_lost: RebalanceCallback | None = None
        #: assign()/unassign() calls (incremental ones too) since the last rebalance callback
        #: began (confluent-kafka assigns itself when the callback made none).
        self._rebalance_calls = 0
        handle.start()

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute
        def __getattr__(self, name):
            # Only reached when normal lookup failed: __init__ never ran (a subclass skipped
            # it) or failed part way. confluent-kafka raises its "closed" RuntimeError then.
            if name in _STATE:
                raise RuntimeError(_CLOSED)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Close (as close()); returns None, so an exception from the block propagates."""
        self.close()

    def _initialized(self) -> bool:
        """Whether __init__ got as far as creating the engine (see __getattr__)."""
        return "_engine" in self.__dict__

    # --- assignment (app thread) --------------------------------------------------------------

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Replace the assignment with `partitions` (offsets as given, or logical)."""
        self._check_open()
        _check_partitions(partitions)
        self._rebalance_calls += 1
        self._check_assign_method(incremental=False, what="Failed to set assignment")
        engine = self._engine
        engine.unassign_all()
        try:
            engine.incremental_assign(partitions)
        except KafkaException as exc:
            # rd_kafka_assign() reports a code only; confluent-kafka words it like this.
            code = exc.args[0].code()
            raise KafkaException(KafkaError(
                code, f"Failed to set assignment: {KafkaError(code).str()}")) from None
        engine.membership.app_assigned()

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """Add `partitions` to the assignment."""
        self._check_open()
        _check_partitions(partitions)
        self._rebalance_calls += 1
        self._check_assign_method(incremental=True, what=None)
        self._engine.incremental_assign(partitions)
        self._engine.membership.app_assigned()

    def unassign(self) -> None:
        """Drop the whole assignment."""
        self._check_open()
        self._rebalance_calls += 1
        self._check_assign_method(incremental=False, what="Failed to remove assignment")
        engine = self._engine
        engine.membership.app_unassigned(False, engine.unassign_all())

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """Remove `partitions` from the assignment."""
        self._check_open()
        _check_partitions(partitions)
        self._rebalance_calls += 1
        self._check_assign_method(incremental=True, what=None)
        engine = self._engine
        engine.membership.app_unassigned(True, engine.incremental_unassign(partitions))

    def _check_assign_method(self, incremental: bool, what: str | None) -> None:
        """App thread. As librdkafka: once the group chose its assignor, the assignment
        changes with the calls of its rebalance protocol only (_STATE otherwise)."""
        protocol = self._engine.membership.protocol
        if protocol is RebalanceProtocol.COOPERATIVE and not incremental:
            text = ("Changes to the current assignment must be made using "
                    "incremental_assign() or incremental_unassign() when rebalance protocol "
                    "type is COOPERATIVE")
        elif protocol is RebalanceProtocol.EAGER and incremental:
            text = ("Changes to the current assignment must be made using assign() when "
                    "rebalance protocol type is EAGER")
        else:
            return
        self._handle.log(4, "ASSIGN", f"Group \"{self._engine.group_id}\": application "
                         f"*assign() call failed: {text}")
        if what is None:
            raise KafkaException(KafkaError(ErrorCode._STATE, text))
        raise KafkaException(KafkaError(ErrorCode._STATE, f"{what}: {err2str(ErrorCode._STATE)}"))

    def assignment(self) -> list[TopicPartition]:
        """The assigned partitions, ordered by topic and partition (as librdkafka keeps them)."""
        self._check_open()
        return self._engine.assignment.listing()

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
        if self._engine.closed:
            raise RuntimeError(_CLOSED)
        # Checked here, off the fast path: a message already fetched is returned whatever
        # the timeout; otherwise a timeout that is not a number is confluent-kafka's TypeError.
        timeout = timeout_arg(timeout)
        queue = self._queue
        self._membership.last_poll = time.monotonic()
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
            self._wait(remaining)

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Message]:
        """Up to `num_messages` messages/events; waits up to `timeout` s for that many.

        A callback that raises (error_cb, on_assign, ...) does not end the wait: as
        confluent-kafka's, the call goes on until it has the messages or the timeout, then
        raises the last such exception, and the messages it had are dropped."""
        self._check_open()
        # As confluent-kafka's parser: an integer (anything with __index__), then a number.
        num_messages = operator.index(num_messages)
        timeout = timeout_arg(timeout)
        if num_messages < 0 or num_messages > 1_000_000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        failures: list[Exception] = []
        out = self._consume(num_messages, deadline_for(timeout), failures)
        if failures:
            raise failures[-1]
        return out

    def _consume(self, num_messages: int, deadline: float, failures: list[Exception]
                 ) -> list[Message]:
        """App thread. consume()'s loop; exceptions of callbacks go to `failures`."""
        queue = self._queue
        deliver = self._deliver
        self._membership.last_poll = time.monotonic()
        out: list[Message] = []
        #: The partitions `out` holds messages of, with their version when taken.
        sources: dict[int, tuple[Toppar, int]] = {}
        while True:
            if self._reply_pending:
                self._serve_events(failures)
                if out:
                    out = _drop_outdated(out, sources)
            while len(out) < num_messages:
                # Whole slices of the current batch at a time, then the queue's next entry.
                i, n = queue.cur_i, queue.cur_n
                if i < n:
                    k = min(n, i + num_messages - len(out))
                    chunk = queue.cur[i:k]
                    queue.cur_i = k
                    out += chunk
                    tp = queue.cur_tp
                    tp.app_pos = chunk[-1]._offset + 1  # type: ignore[operator]
                    if id(tp) not in sources:
                        sources[id(tp)] = (tp, tp.version)
                    continue
                item = queue.pop_nowait()
                if item is None:
                    break
                out.append(deliver(item[0], item[1]))
                owner = item[1]
                if owner is not None and id(owner) not in sources:
                    sources[id(owner)] = (owner, owner.version)
            # As librdkafka's consume_batch: wait for a full batch until the timeout.
            if len(out) >= num_messages:
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            self._wait(remaining)

    def _wait(self, timeout: float) -> None:
        """App thread. Wait (at most a slice of `timeout`) for messages or events; the group
        counts the time as polling (max.poll.interval.ms)."""
        membership = self._membership
        membership.in_poll = True
        try:
            self._queue.wait(timeout)
        finally:
            membership.in_poll = False
            membership.last_poll = time.monotonic()

    def _deliver(self, msg: Message, tp: Toppar | None) -> Message:
        if tp is not None and msg._error is None:
            tp.app_pos = msg._offset + 1  # type: ignore[operator]  # always set on messages
        return msg

    def _serve_events(self, failures: list[Exception] | None = None) -> None:
        """Error, commit, rebalance, throttle and log events, on the application's thread.

        poll() stops at a callback that raises (the events after it wait for the next call),
        as confluent-kafka's does. consume() passes `failures`: as librdkafka's
        consume_batch, which ignores rd_kafka_yield() after a callback, it keeps serving, and
        the exceptions are collected here for it to raise the last one when it returns."""
        q = self._handle.reply_q
        if not q:
            return
        if failures is None:
            q.serve_in_order(q.pop_all(), self._serve_op)
            return

        def serve(op: ReplyOp) -> None:
            try:
                self._serve_op(op)
            except Exception as exc:  # noqa: BLE001 - consume() raises it when it returns
                failures.append(exc)

        q.serve_in_order(q.pop_all(), serve)

    def _serve_op(self, op: ReplyOp) -> None:
        match op:
            case CommitResult(err, partitions):
                if self._on_commit is not None:
                    self._on_commit(err, partitions)
            case Rebalance():
                self._serve_rebalance(op)
            case _:
                self._events.serve(op)

    def _serve_rebalance(self, op: Rebalance) -> None:
        """App thread. As confluent-kafka's rebalance callback: on_assign, on_lost (when the
        assignment was lost and on_lost is set) or on_revoke runs with the partitions; if it
        did not change the assignment itself (or there is none, or it raised), the assignment
        changes here: incrementally under the COOPERATIVE protocol, else assign()/unassign().
        An exception from the callback is raised after that."""
        callback: RebalanceCallback | None
        if op.assign:
            callback = self._on_assign
        elif op.lost and self._on_lost is not None:
            callback = self._on_lost
        else:
            callback = self._on_revoke
        self._rebalance_calls = 0
        failure: BaseException | None = None
        if callback is not None:
            try:
                callback(self, list(op.partitions))
            except BaseException as exc:  # re-raised below, after the fallback
                failure = exc
        if self._rebalance_calls == 0 and not self._engine.closed:
            if op.incremental:
                if op.assign:
                    self.incremental_assign(op.partitions)
                else:
                    self.incremental_unassign(op.partitions)
            elif op.assign:
                self.assign(op.partitions)
            else:
                self.unassign()
        if failure is not None:
            raise failure

    # --- positions -----------------------------------------------------------------------------

    def seek(self, partition: TopicPartition) -> None:
        """Fetch `partition` from `partition.offset` next (it must be assigned)."""
        self._check_open()
        _check_partition(partition)
        engine = self._engine
        tp = engine.assignment.get(partition.topic, partition.partition)
        if tp is None:
            # librdkafka: a partition of a topic it knows (one of its partitions was assigned)
            # is _STATE, any other _UNKNOWN_PARTITION.
            code = engine.assignment.not_assigned_error(partition.topic)
        elif not _fetch_started(tp):
            code = ErrorCode._STATE
        elif partition.offset == OFFSET_STORED:
            code = ErrorCode._INVALID_ARG
        else:
            engine.seek(tp, partition.offset)
            return
        raise KafkaException(KafkaError(
            code, f"Failed to seek to offset {partition.offset}: {err2str(code)}"))

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Stop fetching `partitions` (already fetched messages of them are dropped)."""
        self._engine.pause(self._assigned_toppars(partitions))

    def resume(self, partitions: list[TopicPartition]) -> None:
        """Resume fetching `partitions`."""
        self._engine.resume(self._assigned_toppars(partitions))

    def _assigned_toppars(self, partitions: list[TopicPartition]) -> list[Toppar]:
        """App thread. The toppars of `partitions` that are assigned (others are ignored, as
        librdkafka's pause/resume ignore them), after the calls' common checks."""
        self._check_open()
        _check_partitions(partitions)
        return self._engine.assigned_toppars(partitions)

    def consumer_group_metadata(self) -> bytes:
        """This consumer's group metadata, for a transactional producer's
        send_offsets_to_transaction() (serialized as confluent-kafka hands it over)."""
        self._check_open()
        identity = self._engine.membership.identity()
        return GroupMetadata(self._engine.group_id, identity.generation_id, identity.member_id,
                             identity.group_instance_id).serialize()

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The offset after the last message returned for each partition (or OFFSET_INVALID)."""
        self._check_open()
        _check_partitions(partitions)
        return self._engine.positions(partitions)

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]:
        """(low, high) watermarks: from the last fetch if `cached`, else asked of the leader."""
        self._check_open()
        _check_partition(partition)
        lookups = self._engine.lookups
        if cached:
            return lookups.cached_watermarks(partition)
        code, low, high = lookups.watermarks(partition, deadline_for(timeout))
        _raise_lookup_error(code, "watermark offsets")
        return low, high

    def offsets_for_times(self, partitions: list[TopicPartition],
                          timeout: float | None = None) -> list[TopicPartition]:
        """The earliest offset whose timestamp >= `partition.offset` (a timestamp in ms), or
        -1 where there is none; one ListOffsets per leader broker, all sent together. As
        librdkafka, a partition the cluster does not have comes back with its error (and the
        timestamp asked as offset) unless no partition asked for exists: then it raises."""
        self._check_open()
        _check_partitions(partitions)
        code, found = self._engine.lookups.offsets_for_times(partitions, deadline_for(timeout))
        _raise_lookup_error(code, "offsets")
        return found

    # --- commits -------------------------------------------------------------------------------

    def store_offsets(self, message: Message | None = None,
                      offsets: list[TopicPartition] | None = None) -> None:
        """Store offsets to be committed by the next commit() or auto commit: `message`'s
        offset + 1, or `offsets`. As librdkafka, partitions that are not assigned are skipped;
        it raises only when none was stored."""
        self._check_open()
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        if message is not None:
            _check_message(message, "store")
            items: list[StoreItem] = [_message_item(message)]
        elif offsets is not None:
            _check_partitions(offsets)
            items = [(p.topic, p.partition, p.offset, p.metadata) for p in offsets]
        else:
            raise ValueError("expected either message or offsets")
        if self._engine.auto_store:  # librdkafka refuses to store then
            _raise_store_error(ErrorCode._INVALID_ARG)
        stored, last_err = self._engine.store(items)
        if items and not stored:
            _raise_store_error(last_err)

    @overload
    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None,
               asynchronous: Literal[True] = True) -> None: ...

    @overload
    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None, *,
               asynchronous: Literal[False]) -> list[TopicPartition]: ...

    @overload
    def commit(self, message: Message | None, offsets: list[TopicPartition] | None,
               asynchronous: bool) -> list[TopicPartition] | None: ...

    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None,
               asynchronous: bool = True) -> list[TopicPartition] | None:
        """Commit `message`'s offset + 1, `offsets`, or the stored offsets of the assignment.
        As librdkafka, explicit offsets below 0 are not sent (_NO_OFFSET if none is left)."""
        self._check_open()
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        commits = self._engine.commits
        if message is not None:
            _check_message(message, "commit")
            topic, partition, offset, _ = _message_item(message)
            to_commit = [TopicPartition(topic, partition, offset)]
        elif offsets is not None:
            _check_partitions(offsets)
            to_commit = list(offsets)
        else:
            return commits.commit_stored(asynchronous, auto=False)
        return commits.commit(to_commit, asynchronous, auto=False)

    def committed(self, partitions: list[TopicPartition], timeout: float | None = None
                  ) -> list[TopicPartition]:
        """The committed offsets of `partitions` for this group (OFFSET_INVALID if none)."""
        self._check_open()
        _check_partitions(partitions)
        code, found = self._engine.lookups.committed(list(partitions), deadline_for(timeout))
        if code:
            raise KafkaException(KafkaError(
                code, f"Failed to get committed offsets: {err2str(code)}"))
        return found

    # --- misc ----------------------------------------------------------------------------------

    def cluster_id(self, timeout: float = -1) -> str:
        """The cluster's id (Metadata v2+, KIP-78), waiting up to `timeout` s (-1: forever)
        for the first Metadata answer; KafkaException(_TIMED_OUT) when none carried one."""
        if not self._initialized() or self._engine.closed:
            raise RuntimeError("Handle has been closed")
        return require_cluster_id(self._handle, timeout_arg(timeout))

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Set the SASL username and password for the next authentication. rdpy has no SASL
        yet (security.protocol=sasl_* is refused at creation), so on the plaintext connections
        it has they are not used, as librdkafka does not use them there."""
        check_sasl_credentials(username, password)
        if not self._initialized() or self._engine.closed:
            raise RuntimeError("Handle has been closed")

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """Ask the cluster for its brokers and topics (all, or just `topic`)."""
        if not self._initialized() or self._engine.closed:
            raise RuntimeError("Handle has been closed")  # confluent-kafka's wording here
        if topic is not None:
            # confluent-kafka creates the topic object to ask about it: seek() and
            # store_offsets() then say _STATE for its partitions, no longer _UNKNOWN_PARTITION.
            self._engine.assignment.know_topic(topic)
        return list_topics(self._handle, topic, timeout)

    def subscribe(self, topics: list[str], on_assign: RebalanceCallback | None = None,
                  on_revoke: RebalanceCallback | None = None,
                  on_lost: RebalanceCallback | None = None, **unknown: object) -> None:
        """Join the group with `topics` (names, or patterns starting with '^'), replacing
        any earlier subscription. The rebalance callbacks run from poll()/consume()/close()
        as on_assign(consumer, partitions) etc.; without them the assignment changes as the
        group says."""
        self._check_open()
        for name in unknown:  # CPython's argument parser words it so for confluent-kafka
            raise TypeError(f"'{name}' is an invalid keyword argument for this function")
        if not isinstance(topics, list):
            raise TypeError("expected list of topic unicode strings")
        for name, cb in (("on_assign", on_assign), ("on_revoke", on_revoke),
                         ("on_lost", on_lost)):
            if cb is not None and not callable(cb):
                raise TypeError(f"{name} expects a callable")
        if not all(isinstance(t, str) for t in topics):
            raise TypeError("expected list of unicode strings")
        if self._group_protocol == "consumer":
            raise KafkaException(KafkaError(
                ErrorCode._NOT_IMPLEMENTED, "Failed to set subscription: rdpy does not "
                "implement group.protocol=consumer (KIP-848) yet; use group.protocol=classic"))
        if not topics or not all(_valid_subscription(t) for t in topics):
            # As rd_kafka_subscribe(): an empty list or a pattern that does not compile.
            raise KafkaException(KafkaError(
                ErrorCode._INVALID_ARG,
                f"Failed to set subscription: {err2str(ErrorCode._INVALID_ARG)}"))
        self._on_assign, self._on_revoke, self._on_lost = on_assign, on_revoke, on_lost
        self._engine.membership.subscribe(topics)

    def unsubscribe(self) -> None:
        """Leave the group (after on_revoke, served by poll())."""
        self._check_open()
        self._engine.membership.unsubscribe()

    def memberid(self) -> str | None:
        """The member id the group coordinator gave this consumer, None before it joined."""
        self._check_open()
        return self._engine.membership.member_id

    def rebalance_protocol(self) -> str:
        """The group's rebalance protocol: "NONE" before it joined, then "EAGER" or
        "COOPERATIVE" (librdkafka's rd_kafka_rebalance_protocol())."""
        self._check_open()
        return self._engine.membership.protocol.name

    def close(self) -> None:
        """Commit stored offsets (if auto commit is on), then stop the client's threads.
        Closing again (or a Consumer whose __init__ never ran) does nothing."""
        if not self._initialized():
            return
        engine = self._engine
        if engine.closed:
            return
        try:
            self._leave_group()
        except BaseException:
            engine.shut_down()
            raise
        commits = engine.commits
        if commits.auto_commit:
            try:
                commits.commit_stored(asynchronous=False, auto=True)
            except KafkaException:
                pass
        # As librdkafka's close: outstanding asynchronous commits finish first (their
        # on_commit callbacks are served here), for at most the socket timeout.
        deadline = time.monotonic() + self._handle.request_timeout
        try:
            while commits.inflight > 0 and time.monotonic() < deadline:
                self._serve_events()
                self._handle.reply_q.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            self._serve_events()
        finally:  # an on_commit that raises still gets the client stopped
            engine.shut_down()

    def _leave_group(self) -> None:
        """App thread, close(). As rd_kafka_consumer_close(): the group member revokes its
        partitions (on_revoke runs here), commits them (auto commit) and leaves the group
        (not a static member), serving events meanwhile; bounded by the session timeout, so
        an unreachable coordinator cannot hang close()."""
        membership = self._engine.membership
        if not membership.subscribed and membership.member_id is None:
            return
        membership.close()
        deadline = time.monotonic() + max(self._handle.request_timeout, 10.0)
        q = self._handle.reply_q
        failure: BaseException | None = None
        while True:
            try:  # a callback that raises must not keep the member in the group
                self._serve_events()
            except BaseException as exc:
                failure = failure or exc
                continue
            if membership.terminated or time.monotonic() >= deadline:
                break
            q.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        if failure is not None:
            raise failure

    def _check_open(self) -> None:
        if self._engine.closed:
            raise RuntimeError(_CLOSED)

    def __del__(self) -> None:
        # Dropped without close(): stop the threads and close the sockets (no final commit,
        # as confluent-kafka). Nothing but the application refers to a Consumer, so this runs
        # when its last reference goes (or from the cyclic GC, if the application's own
        # objects, e.g. its callbacks, refer back to it).
        engine: ConsumerEngine | None = self.__dict__.get("_engine")
        if engine is not None:
            engine.closed = True
            engine.handle.destroy_on_gc()


def _fetch_started(tp: Toppar) -> bool:
    """Whether librdkafka would count `tp`'s fetcher as started, which rd_kafka_seek needs
    (_STATE otherwise): not while the group's committed offset is still being fetched (rdpy
    resolves it as a lookup of OFFSET_INVALID/OFFSET_STORED), nor once fetching stopped."""
    state = tp.fetch_state
    if state is FetchState.NONE:
        return False
    return not (state is FetchState.OFFSET_QUERY
                and tp.query_offset in (OFFSET_INVALID, OFFSET_STORED))


def _drop_outdated(out: list[Message], sources: dict[int, tuple[Toppar, int]]
                   ) -> list[Message]:
    """App thread, consume(). Events served in the middle of a batch (a rebalance callback's
    unassign, a seek) moved some partitions on: their messages taken before are dropped, as
    librdkafka's consume_batch purges outdated messages at a version barrier, so the
    application never gets a revoked partition's messages after on_revoke."""
    outdated = {(tp.topic, tp.partition) for tp, version in sources.values()
                if tp.version != version}
    if not outdated:
        return out
    for key in [k for k, (tp, _) in sources.items() if (tp.topic, tp.partition) in outdated]:
        del sources[key]
    return [m for m in out if m._error is not None or (m._topic, m._partition) not in outdated]


def _valid_subscription(topic: str) -> bool:
    """A topic name, or a '^' pattern that compiles."""
    if not topic.startswith("^"):
        return True
    try:
        re.compile(topic)
    except re.error:
        return False
    return True


def _raise_lookup_error(code: int, what: str) -> None:
    """A failed offset lookup raises as confluent-kafka does: KafkaException(code), text
    "Failed to get <what>: <error>"."""
    if code:
        raise KafkaException(KafkaError(code, f"Failed to get {what}: {err2str(code)}",
                                        retriable=is_retriable(code)))


def _raise_store_error(code: int) -> NoReturn:
    """store_offsets() failed as confluent-kafka words it."""
    raise KafkaException(KafkaError(code, f"StoreOffsets failed: {err2str(code)}"))


#: The types commit(message=)/store_offsets(message=) take: not the application's subclasses.
_MESSAGE_TYPES = (Message, FetchedMessage)


def _check_message(message: object, what: str) -> None:
    """App thread. commit(message=)/store_offsets(message=) take a Message (not a subclass)
    without an error, as confluent-kafka: TypeError, or KafkaException(_INVALID_ARG).
    FetchedMessage is how rdpy builds the messages it consumes: a Message to the application."""
    if not isinstance(message, Message) or type(message) not in _MESSAGE_TYPES:
        # confluent-kafka names its type "confluent_kafka.cimpl.Message".
        raise TypeError("expected rdpy.cimpl.Message")
    error = message.error()
    if error is not None:
        raise KafkaException(KafkaError(
            ErrorCode._INVALID_ARG,
            f"Cannot {what} offsets for message with error: '{error.str()}'"))


def _message_item(message: Message) -> StoreItem:
    """(topic, partition, offset + 1, no metadata) of a message to store or commit. A message
    without a partition is RD_KAFKA_PARTITION_UA (-1) to confluent-kafka."""
    partition = message.partition()
    return (str(message.topic()), -1 if partition is None else partition,
            (message.offset() or 0) + 1, None)


def _check_partitions(partitions: object) -> None:
    """App thread, before anything changes. As confluent-kafka: a list (not a tuple) of
    TopicPartition objects (not subclasses)."""
    if not isinstance(partitions, list):
        raise TypeError("requires list of TopicPartition")
    for p in partitions:
        if type(p) is not TopicPartition:
            raise TypeError("expected TopicPartition")


def _check_partition(partition: object) -> None:
    """App thread. One TopicPartition argument (seek, get_watermark_offsets)."""
    if type(partition) is not TopicPartition:
        raise TypeError("expected TopicPartition")


__all__ = ["Consumer"]
