"""Logical offsets resolved in the background, and offset resets (auto.offset.reset).

A partition told to start at a logical offset (BEGINNING, END, TAIL(n), or STORED/INVALID: the
group's committed offset) waits in `pending`. On each tick the main thread sends one OffsetFetch
to the group coordinator for the partitions starting at their committed offset and one
ListOffsets per leader for the others; the answers, on broker threads, start the partitions
(fetch state ACTIVE at the offset found), turn a missing committed offset into
auto.offset.reset's lookup, retry later, or stop the partition with an error event, as the
request kind's err_action() table says. A fetch answered OFFSET_OUT_OF_RANGE comes here from
its broker thread (out_of_range) to be reset.

Nothing here waits for an answer (the application's own blocking lookups are lookups.py).
Threads: start_at/stop under the handle lock (application's thread); main_tick on the main
thread; answers and out_of_range on broker threads. `pending`, `querying` and `retry_at` are
read and changed under the handle lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.consume.cqueue import ConsumerQueue
from rdpy.client.consume.logical import (
    is_tail,
    offset_name,
    starts_at_committed,
    tail_count,
)
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
from rdpy.client.request import Request
from rdpy.client.toppar import FetchState, Toppar
from rdpy.config import Settings
from rdpy.constants import OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID
from rdpy.errors import ErrAction, ErrorCode, KafkaError, err2str
from rdpy.protocol.messages import list_offsets as list_offsets_msgs
from rdpy.protocol.messages import offset_fetch as offset_fetch_msgs

if TYPE_CHECKING:
    from rdpy.protocol.messages.list_offsets import ListOffsetsResponse
    from rdpy.protocol.messages.offset_fetch import OffsetFetchResponse

#: librdkafka's rd_kafka_offset_reset(): after a failed lookup, the reset's own lookup is sent
#: 100 ms later.
_RESET_QUERY_DELAY = 0.1
#: An OffsetFetch request error or partition error worth asking again about.
_ASK_AGAIN = ErrAction.RETRY | ErrAction.REFRESH

#: (toppar, logical offset, version) of one lookup in flight.
Lookup = tuple[Toppar, int, int]


def forget_position(tp: Toppar) -> None:
    """Handle lock. The partition moves elsewhere (seek, offset reset): as librdkafka,
    position() is unknown until a message from there is returned, and the stored offset
    keeps what was consumed before (enable.auto.offset.store stores the position)."""
    if tp.auto_store and tp.app_pos >= 0:
        tp.stored_offset = tp.app_pos
    tp.app_pos = OFFSET_INVALID


class OffsetResolver:
    """The partitions waiting for a logical offset, their lookups, and offset resets."""

    def __init__(self, handle: Handle, settings: Settings, queue: ConsumerQueue,
                 coordinator: Coordinator, membership: GroupMembership, group_id: str) -> None:
        self._handle = handle
        self._queue = queue
        self._coordinator = coordinator
        self._membership = membership
        self._group_id = group_id
        self._reset_to = _reset_target(settings.topic.get_enum("auto.offset.reset"))
        self._isolation = 1 if handle.read_committed else 0
        #: A failed lookup is tried again after fetch.error.backoff.ms (librdkafka: 500 ms).
        self._backoff = settings.get_int("fetch.error.backoff.ms") / 1000.0
        #: Partitions waiting for their logical offset to be resolved (the main thread sends
        #: the lookups), those whose lookup is in flight, and when a failed one may be retried.
        self._pending: dict[Toppar, int] = {}
        self._querying: set[Toppar] = set()
        self._retry_at: dict[Toppar, float] = {}

    # --- the application's thread, handle lock ------------------------------------------------

    def start_at(self, tp: Toppar, offset: int) -> None:
        """Handle lock. Start fetching `tp` at `offset`, or queue its resolution if logical."""
        tp.version += 1
        tp.fetch_backoff_until = 0.0
        if offset >= 0:
            tp.fetch_pos = tp.start_pos = offset
            tp.fetch_state = FetchState.ACTIVE
            self._pending.pop(tp, None)
            if tp.leader is not None:
                tp.leader.wake()
        else:
            tp.fetch_state = FetchState.OFFSET_QUERY
            tp.fetch_pos = tp.start_pos = OFFSET_INVALID
            tp.query_offset = offset
            self._pending[tp] = offset
        self._handle.wake_main()

    def stop(self, tp: Toppar) -> None:
        """Handle lock. `tp` is no longer fetched (unassigned, or stopped by an error) until
        it is assigned or sought again: forget its lookup."""
        tp.fetch_state = FetchState.NONE
        self._pending.pop(tp, None)

    # --- the main thread ----------------------------------------------------------------------

    def main_tick(self, now: float) -> None:
        """Main thread. Send the lookups the pending partitions need (not those in flight,
        leaderless or backing off). Answers come on broker threads."""
        with self._handle.lock:
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

    def _send_lookups(self, due: list[Lookup]) -> None:
        """Main thread. One OffsetFetch for the partitions starting at their committed
        offsets, one ListOffsets per leader for the others."""
        committed = [(tp, version) for tp, logical, version in due
                     if starts_at_committed(logical)]
        if committed:
            self._query_committed(committed)
        by_leader: dict[Broker, list[Lookup]] = {}
        for tp, logical, version in due:
            if starts_at_committed(logical):
                continue
            leader = tp.leader
            if leader is None:
                self._query_done(tp, 0.0)
                continue
            by_leader.setdefault(leader, []).append((tp, logical, version))
        for leader, items in by_leader.items():
            self._query_offsets(leader, items)

    def _query_done(self, tp: Toppar, retry_in: float | None, wake: bool = True) -> None:
        """Any thread. `tp`'s lookup is over; a failed one may be repeated after `retry_in` s
        (the main thread's tick finds it due; `wake` it now for a lookup due at once)."""
        handle = self._handle
        with handle.lock:
            self._querying.discard(tp)
            if retry_in is None:
                self._retry_at.pop(tp, None)
            else:
                self._retry_at[tp] = handle.clock() + retry_in
        if wake:
            handle.wake_main()

    # --- committed offsets (OffsetFetch) ------------------------------------------------------

    def _query_committed(self, items: list[tuple[Toppar, int]]) -> None:
        """Main thread. One OffsetFetch for the partitions starting at their committed offset."""
        coordinator = self._coordinator.current()
        if coordinator is None:
            # A found coordinator wakes the main thread: ask again then. Until then the next
            # tick looks again (waking the main thread here would make it spin on lookups).
            self._coordinator.lookup()
            for tp, _ in items:
                self._query_done(tp, 0.0, wake=False)
            return
        coordinator.enqueue_request(Request(
            offset_fetch_msgs.OffsetFetchResponse,
            offset_fetch_builder(self._group_id, [(tp.topic, tp.partition) for tp, _ in items]),
            lambda b, err, response, request: self._on_committed(items, err, response),
            self._handle.request_timeout, max_version=OFFSET_FETCH_MAX_VERSION))

    def _on_committed(self, items: list[tuple[Toppar, int]], err: int,
                      response: OffsetFetchResponse | None) -> None:
        """Broker thread. The committed offsets (RequestKind.OFFSET_FETCH for the request,
        OFFSET_FETCH_PARTITION for each partition): start there; where there is none, apply
        auto.offset.reset; ask again after retriable errors; stop a partition with an error
        event after permanent ones (librdkafka leaves it unstarted until assigned again)."""
        answer = committed_offsets(err, response)
        if answer.error:
            self._committed_failed(items, answer)
            return
        for tp, version in items:
            found = answer.partitions.get((tp.topic, tp.partition))
            if found is None:  # left out of the answer: ask again
                self._query_done(tp, self._backoff)
                continue
            offset, code = found
            if code:
                self._committed_partition_failed(tp, version, code)
            elif offset >= 0:
                self._set_position(tp, version, offset, committed=True)
                self._query_done(tp, None)
            else:
                self._no_committed_offset(tp, version)

    def _committed_failed(self, items: list[tuple[Toppar, int]],
                          answer: CommittedOffsets) -> None:
        """Broker thread. The OffsetFetch failed as a whole."""
        code, actions = answer.error, answer.actions
        self._coordinator.request_failed(code, actions)
        self._membership.request_refused(code)
        if actions & _ASK_AGAIN:
            for tp, _ in items:
                self._query_done(tp, self._backoff)
            return
        # As librdkafka's rd_kafka_assignment_handle_OffsetFetch: one consumer error, which
        # counts the partitions in the answer (none when the request failed as a whole).
        self._queue.put_consumer_error(KafkaError(
            code, f"Failed to fetch committed offsets for {len(answer.partitions)} "
                  f"partition(s) in group \"{self._group_id}\": {err2str(code)}"))
        for tp, version in items:
            found = answer.partitions.get((tp.topic, tp.partition))
            if found is not None and found[1]:
                # The answer carries the partition's own error too (librdkafka's mock sends
                # one with the group's): reported as librdkafka reports it.
                self._committed_partition_failed(tp, version, found[1])
                continue
            self._stop_fetching(tp, version)
            self._query_done(tp, None)

    def _committed_partition_failed(self, tp: Toppar, version: int, code: int) -> None:
        """Broker thread. One partition's committed offset came with an error."""
        self._membership.request_refused(code)
        if partition_actions(code) & ErrAction.RETRY:  # e.g. UNSTABLE_OFFSET_COMMIT
            self._query_done(tp, self._backoff)
            return
        self._stop_with_error(tp, version, KafkaError(
            code, f"Failed to fetch committed offset for group \"{self._group_id}\" topic "
                  f"{tp.topic} [{tp.partition}]: {err2str(code)}"), OFFSET_INVALID)
        self._query_done(tp, None)

    def _no_committed_offset(self, tp: Toppar, version: int) -> None:
        """Broker thread. The group has no committed offset for `tp`: auto.offset.reset's
        lookup on the next tick, or _AUTO_OFFSET_RESET if it says "error"."""
        target = self._reset_to
        if target is None:
            self._stop_with_error(tp, version, KafkaError(
                ErrorCode._AUTO_OFFSET_RESET,
                "no previously committed offset available: Local: No offset stored"),
                OFFSET_INVALID)
        else:
            with self._handle.lock:
                if tp.version == version and tp in self._pending:
                    self._pending[tp] = target
        self._query_done(tp, None)

    # --- logical offsets (ListOffsets) --------------------------------------------------------

    def _query_offsets(self, leader: Broker, items: list[Lookup]) -> None:
        """Main thread. One ListOffsets to `leader` for its partitions' logical offsets
        (OFFSET_TAIL(n) asks for the end)."""
        build = list_offsets_builder(self._isolation, [
            (tp.topic, tp.partition, OFFSET_END if is_tail(logical) else logical)
            for tp, logical, _ in items])
        leader.enqueue_request(Request(
            list_offsets_msgs.ListOffsetsResponse, build,
            lambda b, err, response, request: self._on_offsets(items, b, err, response),
            self._handle.request_timeout))

    def _on_offsets(self, items: list[Lookup], broker: Broker, err: int,
                    response: ListOffsetsResponse | None) -> None:
        """Broker thread. Start fetching at the offsets found (RequestKind.LIST_OFFSETS):
        ask again after retriable errors (refreshing the metadata when the table says so),
        reset after permanent ones (as librdkafka's rd_kafka_toppar_handle_Offset)."""
        answers = list_offsets_answers(err, response, [(tp.topic, tp.partition)
                                                       for tp, _, _ in items])
        # A request that failed locally (connection lost, timed out) may have gone to a leader
        # that is gone: look the leaders up again (librdkafka's LIST_OFFSETS table says RETRY
        # only, but it also refreshes on every lost connection).
        refresh = response is None
        for tp, logical, version in items:
            answer = answers[(tp.topic, tp.partition)]
            refresh = refresh or bool(answer.actions & ErrAction.REFRESH)
            if not answer.error:
                self._found(tp, logical, version, answer)
            elif answer.retriable:
                self._query_done(tp, self._backoff)
            else:
                self._lookup_failed(tp, logical, version, answer.error, broker.node_id)
        if refresh:
            self._handle.request_metadata(reason="list offsets error")

    def _found(self, tp: Toppar, logical: int, version: int, answer: ListOffsetsAnswer) -> None:
        """Broker thread. `logical` resolved: OFFSET_TAIL(n) counts back from the end."""
        offset = answer.offset
        if is_tail(logical):
            offset = max(0, offset - tail_count(logical))
        self._set_position(tp, version, offset)
        self._query_done(tp, None)

    def _lookup_failed(self, tp: Toppar, logical: int, version: int, err: int,
                       broker_id: int) -> None:
        """Broker thread. The ListOffsets for `logical` failed for good: as librdkafka, apply
        auto.offset.reset (its lookup follows after 100 ms; with "error" the partition stops
        with _AUTO_OFFSET_RESET), then report the error itself."""
        target = self._reset_to
        reason = "failed to query logical offset"
        if target is None:
            self._stop_with_error(tp, version, KafkaError(
                ErrorCode._AUTO_OFFSET_RESET, f"{reason}: {err2str(err)} (broker {broker_id})"),
                logical)
        else:
            with self._handle.lock:
                if tp.version == version and tp in self._pending:
                    self._pending[tp] = tp.query_offset = target
            self._log_reset(tp, logical, target, broker_id, f"{reason}: {err2str(err)}")
        # librdkafka words this after the reset, so it names the offset now looked up.
        shown = logical if target is None else target
        self._queue.put_error(tp, version, KafkaError(
            err, f"Failed to query logical offset {offset_name(shown)}: {err2str(err)}"),
            shown)
        self._query_done(tp, None if target is None else _RESET_QUERY_DELAY)

    # --- outcomes -----------------------------------------------------------------------------

    def _set_position(self, tp: Toppar, version: int, offset: int,
                      committed: bool = False) -> None:
        """Broker thread. Start fetching at `offset`, found by a lookup (`committed`: the
        group's committed offset, which commits of stored offsets then only move forward, as
        librdkafka)."""
        with self._handle.lock:
            if tp.version != version or not tp.assigned:
                return
            if committed:
                tp.committed_offset = offset
            tp.fetch_pos = tp.start_pos = offset
            tp.fetch_state = FetchState.ACTIVE
            self._pending.pop(tp, None)
            leader = tp.leader
        self._handle.dbg("fetch", "OFFSET", f"{tp.topic} [{tp.partition}]: offset "
                         f"{offset_name(tp.query_offset)} resolved to {offset}: fetching")
        if leader is not None:
            leader.wake()

    def _stop_fetching(self, tp: Toppar, version: int) -> bool:
        """Any thread. `tp` is not fetched until it is assigned or sought again (False: it
        moved past `version` meanwhile, nothing changed)."""
        with self._handle.lock:
            if tp.version != version:
                return False
            self.stop(tp)
            return True

    def _stop_with_error(self, tp: Toppar, version: int, err: KafkaError, offset: int) -> None:
        """Any thread. Stop fetching `tp` and tell the application why (at `offset`)."""
        if self._stop_fetching(tp, version):
            self._queue.put_error(tp, version, err, offset)

    def out_of_range(self, tp: Toppar, offset: int, version: int, broker_id: int) -> None:
        """Broker thread. OFFSET_OUT_OF_RANGE from the fetch of `offset` at `version`: apply
        auto.offset.reset, unless the application has moved the partition since."""
        reason = "fetch failed due to requested offset not available on the broker"
        target = self._reset_to
        if target is None:
            self._stop_with_error(tp, version, KafkaError(
                ErrorCode._AUTO_OFFSET_RESET, f"{reason}: "
                f"{err2str(ErrorCode.OFFSET_OUT_OF_RANGE)} (broker {broker_id})"), offset)
            return
        with self._handle.lock:
            if tp.version != version or not tp.assigned or tp.fetch_pos != offset:
                return
            forget_position(tp)  # pause() must not go back to where the reset came from
            tp.fetch_state = FetchState.OFFSET_QUERY
            tp.query_offset = target
            tp.version += 1
            self._pending[tp] = target
        self._log_reset(tp, offset, target, broker_id,
                        f"{reason}: {err2str(ErrorCode.OFFSET_OUT_OF_RANGE)}")
        self._handle.wake_main()

    def _log_reset(self, tp: Toppar, at: int, to: int, broker_id: int, why: str) -> None:
        """Any thread. librdkafka logs an offset reset caused by an error as a warning
        (rd_kafka_offset_reset), since it skips or repeats messages."""
        self._handle.log(4, "OFFSET", f"{tp.topic} [{tp.partition}]: offset reset (at offset "
                         f"{offset_name(at)} (leader epoch -1), broker {broker_id}) to offset "
                         f"{offset_name(to)} (leader epoch -1): {why}")


def _reset_target(auto_offset_reset: str | None) -> int | None:
    """Where auto.offset.reset sends a partition: OFFSET_BEGINNING, OFFSET_END, or None
    ("error": stop it with _AUTO_OFFSET_RESET)."""
    if auto_offset_reset in ("smallest", "earliest", "beginning"):
        return OFFSET_BEGINNING
    if auto_offset_reset in ("largest", "latest", "end"):
        return OFFSET_END
    return None


__all__ = ["OffsetResolver", "forget_position"]
