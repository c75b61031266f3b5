"""Commits: OffsetCommit of explicit or stored offsets, synchronous (the application's thread
waits) or asynchronous (a request with a callback; on_commit hears of it from poll()), and the
automatic commit every auto.commit.interval.ms (main thread).

Answers are decided by err_action(RequestKind.OFFSET_COMMIT), the partitions' actions OR-ed (the
request's own error when no partition has one), as librdkafka's rd_kafka_handle_OffsetCommit:
REFRESH looks the coordinator up again (SPECIAL: forget it first), RETRY sends the commit again
after retry.backoff.ms (doubling, up to retry.backoff.max.ms) at most twice unless a partition's
error is PERMANENT (librdkafka's default request retries), and the outcome is reported once.
An asynchronous commit waiting for its coordinator, or for its retry, sits in `_waiting`, which
the main thread serves; close() waits for `inflight` to reach 0.

Threads: commit()/commit_stored() on the application's thread (auto commit on the main
thread); answers on the coordinator's broker thread. `_waiting`, `inflight` and `committing`
change under the handle lock. The OffsetCommit carries the group membership's identity as it
is when the request is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.consume.assignment import Assignment
from rdpy.client.coordinators import Coordinator
from rdpy.client.group.membership import GroupMembership
from rdpy.client.handle import Handle
from rdpy.client.ops import CommitResult
from rdpy.client.request import Request
from rdpy.client.sync import deadline_for, request_sync
from rdpy.config import Settings
from rdpy.constants import OFFSET_INVALID
from rdpy.errors import ErrAction, ErrorCode, KafkaError, KafkaException, RequestKind, err_action
from rdpy.protocol.messages import offset_commit as offset_commit_msgs
from rdpy.topic_partition import TopicPartition

if TYPE_CHECKING:
    from rdpy.protocol.messages.offset_commit import (
        OffsetCommitRequest,
        OffsetCommitRequestPartition,
        OffsetCommitResponse,
    )

#: An asynchronous commit waits this long for its coordinator to be found, then fails with
#: _TIMED_OUT; an automatic commit from close() waits as long in all.
_COORDINATOR_WAIT = 10.0
#: librdkafka sends a request again at most RD_KAFKA_REQUEST_DEFAULT_RETRIES (2) times.
_MAX_RETRIES = 2


@dataclass(slots=True)
class _Commit:
    """One commit under way: the offsets asked, whether it is the automatic one, how often it
    was retried, and (while in `_waiting`) when it may be sent and until when it waits for
    the coordinator."""

    offsets: list[TopicPartition]
    auto: bool
    retries: int = 0
    #: Called once it ended, whatever the outcome (the group's revoke waits for it).
    on_done: Callable[[], None] | None = None
    not_before: float = 0.0
    coordinator_deadline: float = 0.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What an OffsetCommit came to: per-partition results (None: the request failed, `error`
    is its local error), the error to report (the first partition's) and the actions."""

    results: list[TopicPartition] | None
    error: int
    actions: ErrAction


class Committer:
    """A consumer's commits (see the module docstring)."""

    def __init__(self, handle: Handle, settings: Settings, group_id: str,
                 coordinator: Coordinator, membership: GroupMembership,
                 assignment: Assignment) -> None:
        self._handle = handle
        self._group_id = group_id
        self._coordinator = coordinator
        self._membership = membership
        self._assignment = assignment
        self._auto = settings.get_bool("enable.auto.commit")
        self._auto_interval = settings.get_int("auto.commit.interval.ms") / 1000.0
        self._retry_backoff = settings.get_int("retry.backoff.ms") / 1000.0
        self._retry_backoff_max = settings.get_int("retry.backoff.max.ms") / 1000.0
        self._last_auto_commit = time.monotonic()
        self._waiting: list[_Commit] = []
        #: Asynchronous commits not finished yet (close() waits for them), and whether the
        #: automatic one is among them (the next one waits for it). Handle lock.
        self.inflight = 0
        self.committing = False

    @property
    def auto_commit(self) -> bool:
        """enable.auto.commit: commit stored offsets periodically and on close()."""
        return self._auto

    # --- starting a commit --------------------------------------------------------------------

    def commit_stored(self, asynchronous: bool, auto: bool) -> list[TopicPartition] | None:
        """App or main thread. Commit the stored offsets of the assignment. As in librdkafka,
        a partition with nothing stored, or nothing beyond what this consumer committed, is
        reported back as OFFSET_INVALID and not sent."""
        to_commit: list[TopicPartition] = []
        skipped: list[TopicPartition] = []
        with self._handle.lock:  # auto commit runs on the main thread, assign() on the app's
            assigned = self._assignment.toppars()
        for tp in assigned:
            stored, metadata = tp.stored_position()
            # As librdkafka, stored offsets only move the committed one forward (after a
            # seek backwards, commit explicit offsets to go back).
            if stored >= 0 and stored > tp.committed_offset:
                to_commit.append(TopicPartition(tp.topic, tp.partition, stored, metadata))
            else:
                skipped.append(TopicPartition(tp.topic, tp.partition, OFFSET_INVALID))
        if not to_commit:
            if not auto:
                self._nothing_to_commit([], asynchronous)
            return None
        results = self.commit(to_commit, asynchronous, auto)
        return None if results is None else results + skipped

    def commit(self, offsets: list[TopicPartition], asynchronous: bool, auto: bool
               ) -> list[TopicPartition] | None:
        """App or main thread. Commit `offsets`. As librdkafka, offsets below 0 are not sent
        (the results list them as given); with none left it is _NO_OFFSET (raised, or told to
        on_commit). Synchronous: the results (raises if the request failed)."""
        if not any(p.offset >= 0 for p in offsets):
            self._nothing_to_commit(offsets, asynchronous)
            return None
        if asynchronous:
            self._start_async(_Commit(offsets, auto))
            return None
        return self._commit_sync(offsets, auto)

    def commit_revoked(self, offsets: list[TopicPartition], on_done: Callable[[], None]
                       ) -> bool:
        """Main thread. The group's commit of revoked partitions' offsets before it rejoins
        (librdkafka's commit of removed partitions with enable.auto.commit): asynchronous,
        told to on_commit, `on_done` called when it ended. False: nothing to send."""
        if not any(p.offset >= 0 for p in offsets):
            return False
        self._start_async(_Commit(offsets, auto=False, on_done=on_done))
        return True

    def _nothing_to_commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        """App thread. _NO_OFFSET: told to on_commit, or raised."""
        if asynchronous:
            self._handle.reply_q.push(CommitResult(KafkaError(ErrorCode._NO_OFFSET), offsets))
            return
        raise KafkaException(KafkaError(ErrorCode._NO_OFFSET,
                                        "Commit failed: Local: No offset stored"))

    # --- synchronous --------------------------------------------------------------------------

    def _commit_sync(self, offsets: list[TopicPartition], auto: bool) -> list[TopicPartition]:
        """App thread. Send, retry as the answers say, and return the results (reported to
        on_commit too when automatic: close()'s final commit); raise if any partition failed."""
        deadline = deadline_for(_COORDINATOR_WAIT if auto else None)
        retries = 0
        while True:
            coordinator = self._coordinator.broker(deadline)
            if coordinator is None:
                return self._commit_failed(offsets, ErrorCode._TIMED_OUT, report=auto)
            err, response = request_sync(coordinator, offset_commit_msgs.OffsetCommitResponse,
                                         self._builder(offsets), deadline,
                                         self._handle.request_timeout)
            outcome = self._outcome(offsets, err, response)
            backoff = self._backoff(retries)
            if _may_retry(outcome, retries) and time.monotonic() + backoff < deadline:
                retries += 1
                time.sleep(backoff)
                continue
            if outcome.results is None:
                return self._commit_failed(offsets, outcome.error, report=auto)
            self._finish(outcome, report=auto)
            if outcome.error:
                # As rd_kafka_commit(): a partition's error is the call's (confluent-kafka
                # raises it); what did commit is remembered above.
                raise KafkaException(KafkaError(
                    outcome.error, f"Commit failed: {KafkaError(outcome.error).str()}"))
            return outcome.results

    def _commit_failed(self, offsets: list[TopicPartition], err: int,
                       report: bool) -> list[TopicPartition]:
        """App thread. A synchronous commit failed as a whole: raise (and tell on_commit when
        it is the automatic one)."""
        if report:
            self._handle.reply_q.push(CommitResult(KafkaError(err), offsets))
        raise KafkaException(KafkaError(err, f"Commit failed: {KafkaError(err).str()}"))

    # --- asynchronous -------------------------------------------------------------------------

    def _start_async(self, commit: _Commit) -> None:
        """App or main thread. Count the commit in, then send it or let it wait for the
        coordinator."""
        with self._handle.lock:
            self.inflight += 1
            if commit.auto:
                self.committing = True
        coordinator = self._coordinator.current()
        if coordinator is not None:
            self._send(coordinator, commit)
        else:
            self._coordinator.lookup()
            self._wait(commit, 0.0)

    def _wait(self, commit: _Commit, delay: float) -> None:
        """Any thread. The main thread sends `commit` once `delay` s passed and the
        coordinator is known (it waits _COORDINATOR_WAIT for that)."""
        now = self._handle.clock()
        commit.not_before = now + delay
        commit.coordinator_deadline = commit.not_before + _COORDINATOR_WAIT
        with self._handle.lock:
            self._waiting.append(commit)

    def _send(self, coordinator: Broker, commit: _Commit) -> None:
        """Any thread. The OffsetCommit request; _on_answer completes it."""
        coordinator.enqueue_request(Request(
            offset_commit_msgs.OffsetCommitResponse, self._builder(commit.offsets),
            lambda b, err, response, r: self._on_answer(commit, err, response),
            self._handle.request_timeout))

    def _on_answer(self, commit: _Commit, err: int, response: OffsetCommitResponse | None
                   ) -> None:
        """Broker thread. Retry, or report the outcome to on_commit (from poll())."""
        retrying = False
        try:
            outcome = self._outcome(commit.offsets, err, response)
            if _may_retry(outcome, commit.retries):
                backoff = self._backoff(commit.retries)
                commit.retries += 1
                self._wait(commit, backoff)
                retrying = True
            elif outcome.results is None:
                self._handle.reply_q.push(CommitResult(KafkaError(outcome.error),
                                                       commit.offsets))
            else:
                self._finish(outcome, report=True)
        finally:
            if not retrying:
                self._done(commit)

    def _done(self, commit: _Commit) -> None:
        """Any thread. An asynchronous commit is over."""
        with self._handle.lock:
            self.inflight -= 1
            if commit.auto:
                self.committing = False
        if commit.on_done is not None:
            commit.on_done()

    # --- the main thread ----------------------------------------------------------------------

    def main_tick(self, now: float) -> None:
        """Main thread. Send the commits that waited (for the coordinator or their retry);
        the automatic commit when its interval has passed (0: only on close())."""
        self._serve_waiting(now)
        if (self._auto and self._auto_interval > 0
                and now - self._last_auto_commit >= self._auto_interval
                and not self.committing):
            self._last_auto_commit = now
            self.commit_stored(asynchronous=True, auto=True)

    def _serve_waiting(self, now: float) -> None:
        """Main thread. Waiting commits that are due go to the coordinator if it is known;
        those that waited _COORDINATOR_WAIT for it fail with _TIMED_OUT."""
        handle = self._handle
        with handle.lock:
            due = [c for c in self._waiting if c.not_before <= now]
            if not due:
                return
        coordinator = self._coordinator.current()
        with handle.lock:
            if coordinator is not None:
                ready, expired = due, []
            else:
                ready, expired = [], [c for c in due if c.coordinator_deadline <= now]
            leaving = {id(c) for c in ready + expired}
            self._waiting = [c for c in self._waiting if id(c) not in leaving]
        if coordinator is None:
            self._coordinator.lookup()
        for commit in expired:
            handle.reply_q.push(CommitResult(KafkaError(ErrorCode._TIMED_OUT), commit.offsets))
            self._done(commit)
        for commit in ready:
            assert coordinator is not None
            self._send(coordinator, commit)

    # --- requests and answers -----------------------------------------------------------------

    def _builder(self, offsets: list[TopicPartition]) -> Callable[[int], OffsetCommitRequest]:
        """Any thread (the build runs on the sending broker thread). The OffsetCommit for
        `offsets` (those below 0 are never sent: librdkafka's rd_kafka_OffsetCommitRequest),
        with the membership's identity as it is when the request is sent."""
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for p in offsets:
            if p.offset < 0:
                continue
            by_topic.setdefault(p.topic, []).append(offset_commit_msgs.OffsetCommitRequestPartition(
                partition_index=p.partition, committed_offset=p.offset,
                committed_leader_epoch=p.leader_epoch if p.leader_epoch is not None else -1,
                commit_timestamp=-1, committed_metadata=p.metadata))
        group, membership = self._group_id, self._membership

        def build(version: int) -> OffsetCommitRequest:
            member = membership.identity()
            return offset_commit_msgs.OffsetCommitRequest(
                group_id=group, generation_id_or_member_epoch=member.generation_id,
                member_id=member.member_id, group_instance_id=member.group_instance_id,
                retention_time_ms=-1,
                topics=[offset_commit_msgs.OffsetCommitRequestTopic(name=t, partitions=parts)
                        for t, parts in by_topic.items()])

        return build

    def _outcome(self, offsets: list[TopicPartition], err: int,
                 response: OffsetCommitResponse | None) -> _Outcome:
        """Any thread. The answer (or the local error `err`) decided, and its REFRESH acted
        on: the coordinator is forgotten or asked again, the membership told."""
        if response is None:
            outcome = _Outcome(None, err, err_action(err, RequestKind.OFFSET_COMMIT))
        else:
            outcome = _partition_outcome(offsets, response)
        if outcome.error:
            self._coordinator.request_failed(outcome.error, outcome.actions)
            self._membership.request_refused(outcome.error)
        return outcome

    def _finish(self, outcome: _Outcome, report: bool) -> None:
        """Any thread. Remember what was committed (commits of stored offsets only move it
        forward); `report`: tell on_commit (asynchronous and automatic commits)."""
        assert outcome.results is not None
        for p in outcome.results:
            tp = self._assignment.get(p.topic, p.partition)
            if tp is not None and p.error is None and p.offset >= 0:
                tp.committed_offset = p.offset
        if report:
            error = KafkaError(outcome.error) if outcome.error else None
            self._handle.reply_q.push(CommitResult(error, outcome.results))

    def _backoff(self, retries: int) -> float:
        """Any thread. Before retry number `retries` + 1: retry.backoff.ms doubled, at most
        retry.backoff.max.ms (librdkafka's rd_kafka_broker_buf_retry, without its jitter)."""
        return min(self._retry_backoff * float(1 << retries), self._retry_backoff_max)


def _partition_outcome(offsets: list[TopicPartition], response: OffsetCommitResponse
                       ) -> _Outcome:
    """Each partition's result, the first error, and the partitions' actions OR-ed."""
    errors: dict[tuple[str, int], int] = {}
    for t in response.topics:
        for answer in t.partitions:
            errors[(t.name, answer.partition_index)] = answer.error_code
    results: list[TopicPartition] = []
    first_error = 0
    actions = ErrAction.NONE
    for p in offsets:
        code = errors.get((p.topic, p.partition), 0)
        if code:
            first_error = first_error or code
            actions |= err_action(code, RequestKind.OFFSET_COMMIT)
        results.append(TopicPartition._make(p.topic, p.partition, p.offset, p.metadata,
                                            p.leader_epoch, KafkaError(code) if code else None))
    return _Outcome(results, first_error, actions)


def _may_retry(outcome: _Outcome, retries: int) -> bool:
    """Send the commit again: the table says RETRY, no partition's error is PERMANENT, and it
    was not retried _MAX_RETRIES times already."""
    actions = outcome.actions
    return (bool(actions & ErrAction.RETRY) and not actions & ErrAction.PERMANENT
            and retries < _MAX_RETRIES)


__all__ = ["Committer"]
