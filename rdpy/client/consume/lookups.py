"""The application's blocking offset lookups: get_watermark_offsets(), offsets_for_times() and
committed(). Application's thread only: each call waits for its answers until its deadline.

ListOffsets go one request per leader, all in flight together (a partition asked twice goes in
a second request: a broker answers each partition once). Errors are decided by err_action():
what the table says to retry or refresh (leader moved, connection lost, coordinator loading)
is asked again after retry.backoff.ms until the caller's deadline, with a metadata refresh
between rounds (librdkafka retries such requests at most twice and returns REFRESH-only errors
to the caller: rdpy keeps asking while the caller's timeout allows); anything else is returned
for the facade to raise in confluent-kafka's words.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rdpy.client.broker.broker import Broker
from rdpy.client.consume.offset_requests import (
    OFFSET_FETCH_MAX_VERSION,
    CommittedOffsets,
    ListOffsetsAnswer,
    committed_offsets,
    list_offsets_answers,
    list_offsets_builder,
    offset_fetch_builder,
    partition_actions,
)
from rdpy.client.coordinators import Coordinator
from rdpy.client.group.membership import GroupMembership
from rdpy.client.handle import Handle
from rdpy.client.sync import request_sync, requests_sync
from rdpy.client.toppar import Toppar
from rdpy.config import Settings
from rdpy.constants import OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID
from rdpy.errors import ErrAction, ErrorCode, KafkaError
from rdpy.protocol.messages import list_offsets as list_offsets_msgs
from rdpy.protocol.messages import offset_fetch as offset_fetch_msgs
from rdpy.topic_partition import TopicPartition

#: How often to look at the metadata again while waiting for a partition's leader.
_LEADER_POLL = 0.02
#: An OffsetFetch error worth asking again about.
_ASK_AGAIN = ErrAction.RETRY | ErrAction.REFRESH


class OffsetLookups:
    """Blocking lookups for the application's thread."""

    def __init__(self, handle: Handle, settings: Settings, coordinator: Coordinator,
                 membership: GroupMembership, group_id: str) -> None:
        self._handle = handle
        self._coordinator = coordinator
        self._membership = membership
        self._group_id = group_id
        self._isolation = 1 if handle.read_committed else 0
        self._retry_backoff = settings.get_int("retry.backoff.ms") / 1000.0

    # --- watermarks and timestamps (ListOffsets) ----------------------------------------------

    def cached_watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        """App thread. (low, high) from the last fetch; OFFSET_INVALID where not known."""
        topic = self._handle.topics.get(partition.topic)
        if topic is None or not 0 <= partition.partition < len(topic.partitions):
            return OFFSET_INVALID, OFFSET_INVALID
        tp = topic.partitions[partition.partition]
        return tp.lo_offset, tp.hi_offset

    def watermarks(self, partition: TopicPartition, deadline: float) -> tuple[int, int, int]:
        """App thread. (error code, low, high) asked of the leader. A topic the cluster does
        not have is an unknown partition here (librdkafka)."""
        found, code = self._leader_toppar(partition, deadline)
        if found is None:
            return (code if code == ErrorCode._TIMED_OUT else ErrorCode._UNKNOWN_PARTITION,
                    OFFSET_INVALID, OFFSET_INVALID)
        low, high = self._list_offsets([(found, OFFSET_BEGINNING), (found, OFFSET_END)],
                                       deadline)
        if low.error or high.error:
            return low.error or high.error, OFFSET_INVALID, OFFSET_INVALID
        found.lo_offset, found.hi_offset = low.offset, high.offset
        return 0, low.offset, high.offset

    def offsets_for_times(self, partitions: list[TopicPartition], deadline: float
                          ) -> tuple[int, list[TopicPartition]]:
        """App thread. (error code, results): per partition the earliest offset whose
        timestamp >= `partition.offset`, or -1. As librdkafka, a partition the cluster does
        not have comes back with its error (and the timestamp asked as offset) unless no
        partition asked for exists: then the call fails."""
        if not partitions:
            return ErrorCode._INVALID_ARG, []
        leaders = [self._leader_toppar(p, deadline) for p in partitions]
        if any(code == ErrorCode._TIMED_OUT for _, code in leaders):
            return ErrorCode._TIMED_OUT, []
        queries = [(tp, p.offset) for p, (tp, _) in zip(partitions, leaders) if tp is not None]
        if not queries:
            return ErrorCode._UNKNOWN_PARTITION, []
        answers = iter(self._list_offsets(queries, deadline))
        out: list[TopicPartition] = []
        for p, (tp, code) in zip(partitions, leaders):
            if tp is None:
                out.append(TopicPartition._make(p.topic, p.partition, p.offset,
                                                error=KafkaError(code)))
                continue
            answer = next(answers)
            if answer.error:
                return answer.error, []
            epoch = answer.leader_epoch
            out.append(TopicPartition(p.topic, p.partition, answer.offset,
                                      leader_epoch=epoch if epoch >= 0 else None))
        return 0, out

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
            time.sleep(_LEADER_POLL)

    def _list_offsets(self, queries: Sequence[tuple[Toppar, int]], deadline: float
                      ) -> list[ListOffsetsAnswer]:
        """App thread. ListOffsets for each (partition, timestamp or logical offset), asked
        again after retriable answers until `deadline`; one answer per query, in order."""
        results = [ListOffsetsAnswer(ErrorCode._TIMED_OUT, OFFSET_INVALID, -1)] * len(queries)
        todo = list(range(len(queries)))
        while True:
            todo = self._list_offsets_round(queries, todo, results, deadline)
            remaining = deadline - time.monotonic()
            if not todo or remaining <= 0:
                return results
            # The leaders asked may have moved (or be unknown): the next round asks whoever
            # the refreshed metadata names.
            self._handle.request_metadata(reason="list offsets error")
            time.sleep(min(self._retry_backoff, remaining))

    def _list_offsets_round(self, queries: Sequence[tuple[Toppar, int]], todo: list[int],
                            results: list[ListOffsetsAnswer], deadline: float) -> list[int]:
        """App thread. One round of _list_offsets: sends the `todo` queries, stores what the
        brokers answered in `results`, and returns the queries to ask again."""
        groups, retry = self._group_by_leader(queries, todo)
        answers = requests_sync(
            [(broker, list_offsets_builder(self._isolation, [
                (queries[i][0].topic, queries[i][0].partition, queries[i][1]) for i in members]))
             for broker, members in groups],
            list_offsets_msgs.ListOffsetsResponse, deadline, self._handle.request_timeout)
        for (_, members), (err, response) in zip(groups, answers):
            keys = [(queries[i][0].topic, queries[i][0].partition) for i in members]
            found = list_offsets_answers(err, response, keys)
            for i, key in zip(members, keys):
                results[i] = found[key]
                if found[key].retriable:
                    retry.append(i)
        return retry

    def _group_by_leader(self, queries: Sequence[tuple[Toppar, int]], todo: list[int]
                         ) -> tuple[list[tuple[Broker, list[int]]], list[int]]:
        """App thread. The `todo` queries as requests (leader, query indexes), each partition
        at most once per request; and those whose leader is not known (asked again later)."""
        groups: list[tuple[Broker, list[int]]] = []
        leaderless: list[int] = []
        with self._handle.lock:
            leaders = [queries[i][0].leader for i in todo]
        for i, leader in zip(todo, leaders):
            if leader is None:
                leaderless.append(i)
                continue
            tp = queries[i][0]
            for broker, members in groups:
                if broker is leader and all(queries[j][0] is not tp for j in members):
                    members.append(i)
                    break
            else:
                groups.append((leader, [i]))
        return groups, leaderless

    # --- committed offsets (OffsetFetch) ------------------------------------------------------

    def committed(self, partitions: list[TopicPartition], deadline: float
                  ) -> tuple[int, list[TopicPartition]]:
        """App thread. (error code, results): the group's committed offset of each partition
        (OFFSET_INVALID if none). Asked again after retry.backoff.ms while errors are
        retriable (the request's, or a partition's UNSTABLE_OFFSET_COMMIT) and time is left;
        a partition still failing then, or failing for good, comes back with its error (as
        librdkafka returns it); _TIMED_OUT if the coordinator never answered."""
        keys = [(p.topic, p.partition) for p in partitions]
        while True:
            answer = self._fetch_committed(keys, deadline)
            if answer is not None and not answer.error:
                results, again = _committed_results(partitions, answer)
                if not again or time.monotonic() >= deadline:
                    return 0, results
            elif answer is not None and not answer.actions & _ASK_AGAIN:
                return answer.error, []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ErrorCode._TIMED_OUT, []
            time.sleep(min(self._retry_backoff, remaining))

    def _fetch_committed(self, keys: list[tuple[str, int]], deadline: float
                         ) -> CommittedOffsets | None:
        """App thread. One OffsetFetch from the group coordinator; None when the coordinator
        was not found by `deadline`. Errors go to the coordinator and the membership."""
        coordinator = self._coordinator.broker(deadline)
        if coordinator is None:
            return None
        err, response = request_sync(coordinator, offset_fetch_msgs.OffsetFetchResponse,
                                     offset_fetch_builder(self._group_id, keys),
                                     deadline, self._handle.request_timeout,
                                     max_version=OFFSET_FETCH_MAX_VERSION)
        answer = committed_offsets(err, response)
        if answer.error:
            self._coordinator.request_failed(answer.error, answer.actions)
            self._membership.request_refused(answer.error)
        for _, code in answer.partitions.values():
            if code:
                self._membership.request_refused(code)
        return answer


def _committed_results(partitions: list[TopicPartition], answer: CommittedOffsets
                       ) -> tuple[list[TopicPartition], bool]:
    """committed()'s results from one answer, and whether a partition should be asked again
    (OffsetFetch partition errors the table says to retry). A partition the broker left out
    has no committed offset."""
    results: list[TopicPartition] = []
    again = False
    for p in partitions:
        offset, code = answer.partitions.get((p.topic, p.partition), (OFFSET_INVALID, 0))
        if code:
            again = again or bool(partition_actions(code) & ErrAction.RETRY)
            results.append(TopicPartition._make(p.topic, p.partition, OFFSET_INVALID,
                                                error=KafkaError(code)))
        else:
            results.append(TopicPartition(p.topic, p.partition, offset))
    return results, again


__all__ = ["OffsetLookups"]
