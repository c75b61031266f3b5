"""A consumer's membership of its group under the classic protocol (JoinGroup, SyncGroup,
Heartbeat, LeaveGroup): librdkafka's rd_kafka_cgrp_t for `group.protocol=classic`
(src/rdkafka_cgrp.c), as `ClassicMember`, the consumer's `GroupMembership`.

What it owns: the subscription (topic names and `^regex` patterns), the effective subscribed
topics (the names metadata matched, with their partition counts), the member id, generation and
`group.instance.id`, the join state machine (librdkafka's join states, names included), the
group assignment this member holds ("owned" partitions), the leader's assignor run, heartbeats,
the session timeout, max.poll.interval.ms, LeaveGroup, and the "cgrp" statistics' membership
fields.

Threads: everything here runs on the main thread's tick (`main_tick`), except the entry points
other threads call (`subscribe`, `unsubscribe`, `app_assigned`, `app_unassigned`, `close`,
`request_refused`): those only post a continuation to the inbox (a deque, atomic in CPython)
and wake the main thread. Request answers arrive on broker threads and are posted the same
way, so the state machine has one thread and no lock; `identity()` and the properties read
values that are replaced whole.

Group requests (and, through `Coordinator.dedicated`, commits and offset fetches) go over a
connection of their own to the coordinator (librdkafka's "GroupCoordinator" logical broker):
on the shared connection they would wait behind Fetch requests the broker holds for
fetch.wait.max.ms.

How partitions reach the application: a rebalance is a `Rebalance` reply op (rdpy/client/ops.py)
served by poll()/consume()/close() on the application's thread, which runs on_assign /
on_revoke / on_lost or, as confluent-kafka does, assign()/unassign() (incremental ones under
the COOPERATIVE protocol) itself. Those calls come back here as `app_assigned` /
`app_unassigned`, which move the join state on (WAIT_ASSIGN_CALL -> STEADY, WAIT_UNASSIGN_CALL
-> WAIT_UNASSIGN_TO_COMPLETE -> rejoin), as rd_kafka_cgrp_assign/unassign do. Revoked
partitions' stored offsets are committed first when enable.auto.commit is on (librdkafka's
assignment removal commit), and the rejoin waits for that commit.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.coordinators import Coordinator
from rdpy.client.group.assignors import (
    PROTOCOL_TYPE,
    Assignor,
    Member,
    RebalanceProtocol,
    StickyState,
    TopicMetadata,
    TopicPartitionKey,
    configured_assignors,
    decode_assignment,
    decode_member,
    encode_assignment,
    find_assignor,
    member_metadata,
    run_assignor,
)
from rdpy.client.group.membership import NOT_A_MEMBER, MemberIdentity
from rdpy.client.handle import Handle
from rdpy.client.ops import Rebalance
from rdpy.client.request import Request
from rdpy.config import Settings
from rdpy.errors import ErrAction, ErrorCode, KafkaError, RequestKind, err2str, err_action
from rdpy.protocol.errors import ProtocolError
from rdpy.protocol.messages import heartbeat as heartbeat_msgs
from rdpy.protocol.messages import join_group as join_group_msgs
from rdpy.protocol.messages import leave_group as leave_group_msgs
from rdpy.protocol.messages import metadata as metadata_msgs
from rdpy.protocol.messages import sync_group as sync_group_msgs
from rdpy.topic_partition import TopicPartition

if TYPE_CHECKING:
    from rdpy.protocol.messages.heartbeat import HeartbeatResponse
    from rdpy.protocol.messages.join_group import JoinGroupRequest, JoinGroupResponse
    from rdpy.protocol.messages.leave_group import LeaveGroupResponse
    from rdpy.protocol.messages.metadata import MetadataRequest, MetadataResponse
    from rdpy.protocol.messages.sync_group import (
        SyncGroupRequest,
        SyncGroupRequestAssignment,
        SyncGroupResponse,
    )

__all__ = ["ClassicMember", "JoinState"]

#: The versions librdkafka sends (rd_kafka_JoinGroupRequest etc.): JoinGroup v5 has KIP-394's
#: MEMBER_ID_REQUIRED and static members, but not KIP-814's skip_assignment (v9).
_JOIN_GROUP_MAX = 5
_SYNC_GROUP_MAX = 3
_HEARTBEAT_MAX = 3
_LEAVE_GROUP_MAX = 1
#: LeaveGroup's timeout (librdkafka's): it may wait behind a JoinGroup the coordinator holds,
#: and close() must not wait for that rebalance.
_LEAVE_TIMEOUT = 5.0
#: librdkafka joins at most once a second (rkcg_join_intvl), except where it resets the
#: interval ("skip the join backoff").
_JOIN_INTERVAL = 1.0
#: JoinGroup may be held by the coordinator for the whole rebalance timeout: its request
#: timeout is that plus a grace period (librdkafka: 3 s).
_JOIN_GRACE = 3.0
#: rd_kafka_cgrp_handle_JoinGroup's own actions (the rest from the default table): a
#: PERMANENT error is also told to the application as a consumer error.
_JOIN_GROUP_ACTIONS = {
    ErrorCode.UNKNOWN_MEMBER_ID: ErrAction.IGNORE,
    ErrorCode.MEMBER_ID_REQUIRED: ErrAction.IGNORE,
    ErrorCode.ILLEGAL_GENERATION: ErrAction.IGNORE,
    ErrorCode.FENCED_INSTANCE_ID: ErrAction.PERMANENT,
}
#: Errors meaning the coordinator is gone or moved: look it up again.
_COORDINATOR_ERRORS = frozenset({
    ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode._TRANSPORT, ErrorCode._TIMED_OUT,
})


class JoinState(enum.Enum):
    """librdkafka's rd_kafka_cgrp_join_state_t; the value is its name in the statistics."""

    INIT = "init"
    WAIT_JOIN = "wait-join"
    WAIT_METADATA = "wait-metadata"
    WAIT_SYNC = "wait-sync"
    WAIT_ASSIGN_CALL = "wait-assign-call"
    WAIT_UNASSIGN_CALL = "wait-unassign-call"
    WAIT_UNASSIGN_TO_COMPLETE = "wait-unassign-to-complete"
    WAIT_INCR_UNASSIGN_TO_COMPLETE = "wait-incr-unassign-to-complete"
    STEADY = "steady"


#: The states in which a rebalance is under way (librdkafka's RD_KAFKA_CGRP_REBALANCING, the
#: WAIT_JOIN/WAIT_METADATA part only counting once joined).
_REBALANCING = frozenset({
    JoinState.WAIT_SYNC, JoinState.WAIT_UNASSIGN_TO_COMPLETE,
    JoinState.WAIT_INCR_UNASSIGN_TO_COMPLETE, JoinState.WAIT_ASSIGN_CALL,
    JoinState.WAIT_UNASSIGN_CALL,
})
#: The states in which heartbeats are sent (rd_kafka_cgrp_join_state_serve).
_HEARTBEATING = frozenset({JoinState.STEADY, JoinState.WAIT_ASSIGN_CALL,
                           JoinState.WAIT_UNASSIGN_CALL})


@dataclass(frozen=True, slots=True)
class _TopicInfo:
    """A subscribed topic as metadata described it (librdkafka's rd_kafka_topic_info_t)."""

    name: str
    partition_count: int


@dataclass(slots=True)
class RevokedOffsets:
    """What an unassign call removed, as the revoke commit needs it: each partition's stored
    offset (and metadata) and the offset it last committed."""

    partitions: list[TopicPartition]
    committed: dict[tuple[str, int], int]


class ClassicMember:
    """One consumer's classic group membership (see the module docstring)."""

    def __init__(self, handle: Handle, settings: Settings, group_id: str,
                 coordinator: Coordinator,
                 commit_revoked: Callable[[list[TopicPartition], Callable[[], None]], bool],
                 consumer_error: Callable[[KafkaError], None]) -> None:
        self._handle = handle
        self._group_id = group_id
        self._coordinator = coordinator
        #: Starts an asynchronous commit of revoked partitions' offsets, calling back when it
        #: ended; returns False when there was nothing to commit (the Committer's).
        self._commit_revoked = commit_revoked
        self._consumer_error = consumer_error
        self._instance_id = settings.get_str("group.instance.id") or None
        self._session_timeout = settings.get_int("session.timeout.ms") / 1000.0
        self._heartbeat_interval = settings.get_int("heartbeat.interval.ms") / 1000.0
        self._max_poll_interval = settings.get_int("max.poll.interval.ms") / 1000.0
        self._metadata_interval = settings.get_int("topic.metadata.refresh.interval.ms") / 1000.0
        self._auto_commit = settings.get_bool("enable.auto.commit")
        self._rack = settings.get_str("client.rack") or None
        self._allow_auto_create = settings.get_bool("allow.auto.create.topics")
        #: Raises StrategyError (a ValueError) for a bad partition.assignment.strategy.
        self.assignors: list[Assignor] = configured_assignors(
            settings.get_str("partition.assignment.strategy") or "")

        self._inbox: deque[Callable[[], None]] = deque()
        self._conn: Broker | None = None
        self._identity = NOT_A_MEMBER
        self._member_id = ""
        self._generation = -1
        self.join_state = JoinState.INIT
        #: The subscription as given (None: not subscribed) and its effective topics.
        self._subscription: list[str] | None = None
        self._patterns: list[re.Pattern[str]] = []
        self._next_subscription: list[str] | None = None
        self._next_unsubscribe = False
        self._subscribed_topics: list[_TopicInfo] = []
        self._errored_topics: dict[str, int] = {}
        #: The partitions the group gave this member (None: none yet, librdkafka's NULL).
        self._group_assignment: list[TopicPartitionKey] | None = None
        #: The assignor the coordinator chose at the last join, and the sticky assignor's
        #: memory of the last assignment.
        self._assignor: Assignor | None = None
        self._sticky: StickyState | None = None
        #: Cooperative: the partitions to assign once the revoke now under way completed,
        #: and whether to rejoin after the current incremental operation.
        self._incr_assignment: list[TopicPartitionKey] | None = None
        self._rebalance_rejoin = False
        #: The assignment now being revoked was lost (on_lost rather than on_revoke).
        self._assignment_lost = False
        #: Leave the group once the revoke now under way completed (unsubscribe, close).
        self._leave_on_unassign_done = False
        self._terminating = False
        self.terminated = False
        self._wait_leave = False
        self._max_poll_exceeded = False
        self._fatal = False

        #: Which request is outstanding (JoinGroup, SyncGroup or the leader's Metadata), by a
        #: sequence number that discards outdated answers.
        self._join_seq = 0
        self._awaiting: str | None = None
        self._next_join_at = 0.0
        self._heartbeat_inflight = False
        self._next_heartbeat_at = 0.0
        self._session_deadline = 0.0
        self._last_heartbeat_err = 0
        self._metadata_inflight = False
        self._next_metadata_at = 0.0
        #: When the application last polled (app thread writes, main thread reads), and
        #: whether it is inside poll() now (a blocking poll counts as polling).
        self.last_poll = handle.clock()
        self.in_poll = False
        self._poll_progress: Callable[[], object] = lambda: None
        self._last_progress: object = None
        self._max_poll_started = False
        #: Statistics.
        self._rebalance_cnt = 0
        self._rebalance_at = 0.0
        self._rebalance_reason = ""

    # --- GroupMembership ---------------------------------------------------------------------

    def identity(self) -> MemberIdentity:
        """Any thread. The identity requests naming the group carry."""
        return self._identity

    def request_refused(self, err: int) -> None:
        """Any thread. A commit or offset fetch failed with `err`: a rejoin-worthy error is
        handled as a heartbeat's would be."""
        if err in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION,
                   ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.FENCED_INSTANCE_ID):
            self._post(lambda: self._membership_error(err, "commit"))

    def statistics(self, now: float) -> dict[str, object]:
        """Main thread. The "cgrp" statistics' membership fields (librdkafka's rkcg_c)."""
        return {
            "join_state": self.join_state.value,
            "rebalance_age": int((now - self._rebalance_at) * 1000) if self._rebalance_at else 0,
            "rebalance_cnt": self._rebalance_cnt,
            "rebalance_reason": self._rebalance_reason,
            "assignment_size": len(self._group_assignment or ()),
        }

    # --- the application's thread ------------------------------------------------------------

    @property
    def subscribed(self) -> bool:
        """Any thread. Whether a subscription is in force (or about to be)."""
        return self._subscription is not None or self._next_subscription is not None

    @property
    def protocol(self) -> RebalanceProtocol:
        """Any thread. The rebalance protocol: the chosen assignor's once joined, NONE before
        (librdkafka's rd_kafka_cgrp_rebalance_protocol; NONE acts as EAGER)."""
        if self._assignor is not None:
            return self._assignor.protocol
        return RebalanceProtocol.NONE

    @property
    def member_id(self) -> str | None:
        """Any thread. The member id the coordinator gave, None before that (memberid())."""
        return self._member_id or None

    def set_poll_progress(self, progress: Callable[[], object]) -> None:
        """App thread, before start. A value that changes whenever the application takes a
        message out (poll()'s fast path takes no timestamps; see _max_poll_check)."""
        self._poll_progress = progress

    def subscribe(self, topics: list[str]) -> None:
        """App thread. Replace the subscription (validated by the caller)."""
        topics = list(topics)
        self._post(lambda: self._subscribe(topics))

    def unsubscribe(self) -> None:
        """App thread. Drop the subscription and leave the group (after the revoke)."""
        self._post(self._unsubscribe)

    def app_assigned(self) -> None:
        """App thread. assign()/incremental_assign() was called."""
        self._post(self._assign_call_done)

    def app_unassigned(self, incremental: bool, removed: RevokedOffsets) -> None:
        """App thread. unassign()/incremental_unassign() (or assign() replacing the whole
        assignment) was called, removing `removed`."""
        self._post(lambda: self._unassign_call_done(incremental, removed))

    def close(self) -> None:
        """App thread. Start leaving: revoke what is held (the application's callback runs
        from close()), commit, LeaveGroup (not for static members); `terminated` turns True
        at the end."""
        self._post(self._terminate)

    # --- the inbox -------------------------------------------------------------------------------

    def _post(self, work: Callable[[], None]) -> None:
        """Any thread. Run `work` on the main thread's next tick."""
        self._inbox.append(work)
        self._handle.wake_main()

    def main_tick(self, now: float) -> None:
        """Main thread. Serve what was posted, then what is due: coordinator, session and
        poll checks, the join state machine, heartbeats, the metadata refresh."""
        inbox = self._inbox
        while inbox:
            inbox.popleft()()
        if self.terminated or self._fatal:
            return
        if self._subscription is None and self.join_state is JoinState.INIT:
            self._try_terminate()
            return
        coordinator = self._coordinator_connection()
        if coordinator is None:
            self._coordinator.lookup()
        if self.join_state is JoinState.STEADY:
            self._session_timeout_check(now)
        self._max_poll_check(now)
        if coordinator is not None:
            self._join_state_serve(coordinator, now)
        self._metadata_refresh_maybe(now)

    # --- subscription ------------------------------------------------------------------------

    def _subscribe(self, topics: list[str]) -> None:
        """Main thread. rd_kafka_cgrp_subscribe: a rebalance under way finishes first (the
        subscription waits as the next one); a changed subscription rejoins, revoking all
        (EAGER) or what no longer matches (COOPERATIVE)."""
        if self._terminating:
            return
        if self._rebalancing():
            self._next_subscription = topics
            self._next_unsubscribe = False
            self._dbg("SUBSCRIBE", f"Group \"{self._group_id}\": postponing subscribe until "
                      "previous rebalance completes")
            return
        self._set_subscription(topics)
        self._dbg("SUBSCRIBE", f"Group \"{self._group_id}\": subscribe to new subscription "
                  f"of {len(topics)} topics (join-state {self.join_state.value})")
        if self.join_state is JoinState.INIT:
            return  # the next tick joins
        if self.protocol is RebalanceProtocol.COOPERATIVE:
            gone = [tp for tp in self._group_assignment or () if not self._matches(tp[0])]
            if gone:
                self._rebalance_op(False, gone, incremental=True, rejoin=True,
                                   reason="subscription modified")
                return
            self._rejoin("Subscription modified")
            return
        self._revoke_all_rejoin(lost=False, reason="Subscription modified")

    def _set_subscription(self, topics: list[str] | None) -> None:
        """Main thread. The subscription in force, and its compiled patterns."""
        self._subscription = topics
        self._patterns = [re.compile(t) for t in topics or () if t.startswith("^")]
        self._subscribed_topics = []
        self._errored_topics = {}
        self._next_metadata_at = 0.0

    def _unsubscribe(self) -> None:
        """Main thread. rd_kafka_cgrp_unsubscribe(leave=True)."""
        if self._rebalancing():
            self._next_unsubscribe = True
            self._next_subscription = None
            return
        self._set_subscription(None)
        self._leave_on_unassign_done = True
        self._revoke_all_rejoin(lost=False, reason="unsubscribe")

    def _trigger_waiting_subscribe_maybe(self) -> bool:
        """Main thread. Apply a subscribe/unsubscribe that waited for a rebalance to end."""
        if self._next_subscription is not None:
            topics, self._next_subscription = self._next_subscription, None
            self._subscribe(topics)
            return True
        if self._next_unsubscribe:
            self._next_unsubscribe = False
            self._unsubscribe()
            return True
        return False

    def _matches(self, topic: str) -> bool:
        """Main thread. Whether `topic` is in the subscription (by name or pattern)."""
        subscription = self._subscription or []
        return topic in subscription or any(p.search(topic) for p in self._patterns)

    # --- metadata ----------------------------------------------------------------------------

    def _metadata_refresh_maybe(self, now: float) -> None:
        """Main thread. Every topic.metadata.refresh.interval.ms while subscribed: ask for the
        subscribed topics (all topics for a pattern) and rejoin if what matches changed."""
        if (self._subscription is None or self._metadata_inflight
                or now < self._next_metadata_at or self.join_state is JoinState.INIT):
            return
        self._request_metadata(self._on_refresh_metadata)

    def _request_metadata(self, then: Callable[[MetadataResponse], None],
                          topics: list[str] | None = None) -> bool:
        """Main thread. A Metadata request for `topics` (default: the subscription's names,
        or all topics for a pattern); its answer is applied to the handle's metadata, then
        `then` runs on the main thread. Returns False when no broker can be asked."""
        broker = self._coordinator_connection()
        if broker is None:
            with self._handle.lock:
                broker = self._handle.any_broker()
        if broker is None:
            return False
        if topics is None and not self._patterns:
            topics = sorted(set(self._subscription or ()))
        asked = topics
        allow = self._allow_auto_create
        self._metadata_inflight = True
        self._next_metadata_at = self._handle.clock() + self._metadata_interval

        def build(version: int) -> MetadataRequest:
            return metadata_msgs.MetadataRequest(
                topics=None if asked is None
                else [metadata_msgs.MetadataRequestTopic(name=t) for t in asked],
                allow_auto_topic_creation=allow)

        def done(b: Broker, err: int, response: MetadataResponse | None,
                 request: Request[MetadataResponse]) -> None:
            if response is not None:
                self._handle.apply_metadata(response, asked)
            self._post(lambda: self._metadata_answered(err, response, then))

        broker.enqueue_request(Request(metadata_msgs.MetadataResponse, build, done,
                                       self._handle.request_timeout))
        return True

    def _metadata_answered(self, err: int, response: MetadataResponse | None,
                           then: Callable[[MetadataResponse], None]) -> None:
        """Main thread."""
        self._metadata_inflight = False
        if response is None:
            self._dbg("CGRPMETADATA", f"Group \"{self._group_id}\": metadata request failed: "
                      f"{err2str(err)}")
            self._next_metadata_at = self._handle.clock() + 1.0
            if self.join_state is JoinState.WAIT_METADATA and self._awaiting == "metadata":
                self._awaiting = None
                self._set_join_state(JoinState.INIT)
            return
        then(response)

    def _matching_topics(self, response: MetadataResponse) -> list[_TopicInfo]:
        """Main thread. The subscribed topics the answer lists (sorted as librdkafka sorts
        them); the others are reported once per error as consumer errors."""
        found: list[_TopicInfo] = []
        errored: dict[str, int] = {}
        listed = {t.name: t for t in response.topics if t.name is not None}
        subscription = self._subscription or []
        for name in subscription:
            if name.startswith("^"):
                continue
            t = listed.get(name)
            if t is None or t.error_code:
                errored[name] = (t.error_code if t is not None
                                 else ErrorCode.UNKNOWN_TOPIC_OR_PART)
            else:
                found.append(_TopicInfo(name, len(t.partitions)))
        if self._patterns:
            for t in response.topics:
                if (t.name is None or t.is_internal or t.error_code or t.name in subscription
                        or not any(p.search(t.name) for p in self._patterns)):
                    continue
                found.append(_TopicInfo(t.name, len(t.partitions)))
        for name, code in errored.items():
            if self._errored_topics.get(name) != code:
                text = f"Subscribed topic not available: {name}: {err2str(code)}"
                self._dbg("TOPICERR", text)
                self._consumer_error(KafkaError(code, text))
        self._errored_topics = errored
        return sorted(set(found), key=lambda i: (i.name, i.partition_count))

    def _on_refresh_metadata(self, response: MetadataResponse) -> None:
        """Main thread. rd_kafka_cgrp_metadata_update_check(do_join=True)."""
        if self._subscription is None:
            return
        topics = self._matching_topics(response)
        if topics == self._subscribed_topics:
            return
        self._subscribed_topics = topics
        self._dbg("REJOIN", f"Group \"{self._group_id}\": subscription updated from metadata "
                  f"change: rejoining group in state {self.join_state.value}")
        if self.join_state in (JoinState.INIT, JoinState.WAIT_METADATA):
            return
        if self.protocol is RebalanceProtocol.COOPERATIVE:
            names = {t.name for t in topics}
            gone = [tp for tp in self._group_assignment or () if tp[0] not in names]
            if gone:
                self._assignment_lost = True
                self._rebalance_op(False, gone, incremental=True, rejoin=True,
                                   reason="topics not available")
            elif not self._rebalancing():
                self._rejoin("Metadata for subscribed topic(s) has changed")
        elif not self._rebalancing():
            self._revoke_all_rejoin(lost=False,
                                    reason="Metadata for subscribed topic(s) has changed")

    # --- joining -------------------------------------------------------------------------------

    def _join_state_serve(self, coordinator: Broker, now: float) -> None:
        """Main thread. rd_kafka_cgrp_join_state_serve."""
        state = self.join_state
        if state is JoinState.INIT:
            if self._awaiting is not None:
                return
            self._trigger_waiting_subscribe_maybe()
            if self._subscription is None:
                return
            if now < self._next_join_at:
                self._handle.wake_main_at(self._next_join_at)
                return
            if self._max_poll_exceeded and self._poll_exceeded_by(now) > 0:
                return  # rejoin only once the application polls again
            self._max_poll_exceeded = False
            self._next_join_at = now + _JOIN_INTERVAL
            self._join()
        elif state in _HEARTBEATING and now >= self._next_heartbeat_at:
            self._heartbeat(coordinator, now)

    def _join(self) -> None:
        """Main thread. rd_kafka_cgrp_join: fresh metadata for the subscription first."""
        self._dbg("JOIN", f"Group \"{self._group_id}\": join with "
                  f"{len(self._subscribed_topics)} subscribed topic(s)")
        self._join_seq += 1
        seq = self._join_seq
        cached = self._topics_from_cache()
        if cached is not None:
            # As librdkafka: metadata the client already holds for every subscribed name
            # saves a round trip (members subscribing together then join in one generation).
            self._update_subscribed_topics(cached)
            coordinator = self._coordinator_connection()
            if coordinator is not None:
                self._send_join_group(coordinator)
            return
        if self._request_metadata(lambda r: self._join_with_metadata(seq, r)):
            self._awaiting = "metadata"
            self._set_join_state(JoinState.WAIT_METADATA)

    def _update_subscribed_topics(self, topics: list[_TopicInfo]) -> None:
        """Main thread. The effective subscription before a join. A change is librdkafka's
        rd_kafka_cgrp_metadata_update_check, whose rejoin (EAGER, or before any assignor
        was chosen) names the reason the statistics show."""
        if (topics != self._subscribed_topics
                and self.protocol is not RebalanceProtocol.COOPERATIVE):
            self._rebalance_reason = "Metadata for subscribed topic(s) has changed"
        self._subscribed_topics = topics

    def _topics_from_cache(self) -> list[_TopicInfo] | None:
        """Main thread. The subscribed topics from the client's metadata cache when it holds
        every subscribed name without an error and younger than metadata.max.age.ms (None:
        ask; a pattern always asks, as only a full listing can match it)."""
        if self._patterns or not self._subscription:
            return None
        handle = self._handle
        oldest = handle.clock() - handle.refresher.max_age
        found: list[_TopicInfo] = []
        with handle.lock:
            for name in set(self._subscription):
                info = handle.metadata.topics.get(name)
                if info is None or info.error or info.updated_at < oldest or not info.partitions:
                    return None
                found.append(_TopicInfo(name, len(info.partitions)))
        self._errored_topics = {}
        return sorted(found, key=lambda i: (i.name, i.partition_count))

    def _join_with_metadata(self, seq: int, response: MetadataResponse) -> None:
        """Main thread. The subscription's metadata is in: JoinGroup with the topics that
        exist (none: wait for the next refresh, as librdkafka)."""
        if seq != self._join_seq or self.join_state is not JoinState.WAIT_METADATA:
            return
        self._awaiting = None
        self._update_subscribed_topics(self._matching_topics(response))
        self._set_join_state(JoinState.INIT)
        if not self._subscribed_topics:
            # Ask again: a pattern at the metadata refresh interval (librdkafka's), a topic
            # name each second (a topic the application expects usually appears soon).
            retry = self._metadata_interval if self._patterns else _JOIN_INTERVAL
            self._next_join_at = self._handle.clock() + retry
            self._dbg("JOIN", f"Group \"{self._group_id}\": no matching topics based on "
                      f"metadata: next metadata refresh in {int(retry * 1000)}ms")
            return
        coordinator = self._coordinator_connection()
        if coordinator is None or self._subscription is None:
            return
        self._send_join_group(coordinator)

    def _send_join_group(self, coordinator: Broker) -> None:
        """Main thread. JoinGroup with a protocol per enabled assignor."""
        topics = [t.name for t in self._subscribed_topics]
        owned = list(self._group_assignment or ())
        protocols = [join_group_msgs.JoinGroupRequestProtocol(
            name=a.name, metadata=member_metadata(a, topics, owned, self._rack,
                                                  self._sticky if a.sticky_user_data else None))
            for a in self.assignors]
        group, instance = self._group_id, self._instance_id
        member_id = self._member_id
        session_ms = int(self._session_timeout * 1000)
        rebalance_ms = int(self._max_poll_interval * 1000)
        self._dbg("JOIN", f"Joining group \"{group}\" with {len(topics)} subscribed topic(s) "
                  f"and member id \"{member_id}\"")
        self._join_seq += 1
        seq = self._join_seq
        self._awaiting = "join"
        self._set_join_state(JoinState.WAIT_JOIN)

        def build(version: int) -> JoinGroupRequest:
            return join_group_msgs.JoinGroupRequest(
                group_id=group, session_timeout_ms=session_ms, rebalance_timeout_ms=rebalance_ms,
                member_id=member_id, group_instance_id=instance, protocol_type=PROTOCOL_TYPE,
                protocols=protocols, reason=None)

        timeout = max(self._session_timeout, self._max_poll_interval) + _JOIN_GRACE
        coordinator.enqueue_request(Request(
            join_group_msgs.JoinGroupResponse, build,
            lambda b, err, r, req: self._post(lambda: self._on_join_group(seq, err, r)),
            timeout, max_version=_JOIN_GROUP_MAX))

    def _on_join_group(self, seq: int, err: int, response: JoinGroupResponse | None) -> None:
        """Main thread. rd_kafka_cgrp_handle_JoinGroup."""
        if seq != self._join_seq or self.join_state is not JoinState.WAIT_JOIN:
            self._dbg("JOINGROUP", "JoinGroup response: discarding outdated request "
                      f"(now in join-state {self.join_state.value})")
            return
        self._awaiting = None
        if self._terminating:
            self._set_join_state(JoinState.INIT)
            return
        code = err if response is None else response.error_code
        assignor: Assignor | None = None
        if response is not None and not code:
            if response.protocol_name is None:
                code = ErrorCode._BAD_MSG
            else:
                assignor = find_assignor(response.protocol_name, self.assignors)
                if assignor is None:
                    code = ErrorCode._UNKNOWN_PROTOCOL
        if response is not None:
            me = response.member_id
            self._dbg("JOINGROUP", f"JoinGroup response: GenerationId {response.generation_id}"
                      f", Protocol {response.protocol_name}, LeaderId {response.leader}"
                      f"{' (me)' if me and me == response.leader else ''}, my MemberId {me}, "
                      f"member metadata count {len(response.members)}: "
                      f"{err2str(code) if code else '(no error)'}")
        if code:
            self._join_group_failed(code, response)
            return
        assert response is not None and assignor is not None
        self._set_member(response.member_id, response.generation_id)
        if self._assignor is not assignor:
            self._sticky = None
        self._assignor = assignor
        if response.leader == response.member_id:
            self._lead(response, assignor)
        else:
            self._send_sync_group([])

    def _join_group_failed(self, code: int, response: JoinGroupResponse | None) -> None:
        """Main thread. The error half of rd_kafka_cgrp_handle_JoinGroup."""
        if code in _COORDINATOR_ERRORS:
            self._coordinator.request_failed(code, ErrAction.REFRESH)
        self._next_join_at = self._handle.clock() + _JOIN_INTERVAL
        if code == ErrorCode.FENCED_INSTANCE_ID:
            self._fenced(code)
            return
        if code == ErrorCode.UNKNOWN_MEMBER_ID:
            self._set_member("", self._generation)
        elif code == ErrorCode.ILLEGAL_GENERATION:
            self._set_member(self._member_id, -1)
        elif code == ErrorCode.MEMBER_ID_REQUIRED and response is not None:
            self._set_member(response.member_id, self._generation)
            self._next_join_at = 0.0  # KIP-394: join again at once with the id
        elif err_action(code, RequestKind.OTHER, _JOIN_GROUP_ACTIONS) & ErrAction.PERMANENT:
            self._consumer_error(KafkaError(code, f"JoinGroup failed: {err2str(code)}"))
        if (self.protocol is RebalanceProtocol.COOPERATIVE
                and code in (ErrorCode.ILLEGAL_GENERATION, ErrorCode.MEMBER_ID_REQUIRED)):
            self._revoke_all_rejoin(lost=True, reason="JoinGroup error")
        else:
            self._rejoin(f"JoinGroup error: {err2str(code)}")

    def _lead(self, response: JoinGroupResponse, assignor: Assignor) -> None:
        """Main thread. Elected leader: metadata for every member's topics, then the
        assignor, then SyncGroup with everyone's assignment."""
        members = [m for m in (decode_member(x.member_id, x.group_instance_id, x.metadata)
                               for x in response.members) if m is not None]
        self._dbg("JOINGROUP", f"I am elected leader for group \"{self._group_id}\" "
                  f"with {len(response.members)} member(s)")
        topics = sorted({t for m in members for t in m.topics if not t.startswith("^")})
        seq = self._join_seq
        self._awaiting = "metadata"
        self._set_join_state(JoinState.WAIT_METADATA)
        if not self._request_metadata(lambda r: self._run_assignor(seq, members, assignor, r),
                                      topics):
            self._awaiting = None
            self._rejoin("no broker for the partition assignor's metadata")

    def _run_assignor(self, seq: int, members: list[Member], assignor: Assignor,
                      response: MetadataResponse) -> None:
        """Main thread. rd_kafka_cgrp_assignor_run."""
        if seq != self._join_seq or self.join_state is not JoinState.WAIT_METADATA:
            return
        self._awaiting = None
        topics = _assignor_topics(response, any(m.rack_id for m in members))
        try:
            result = run_assignor(assignor, members, topics)
        except Exception as exc:  # an assignor bug must not stop the group
            self._handle.log(3, "ASSIGNOR", f"Group \"{self._group_id}\": "
                             f"\"{assignor.name}\" assignor failed: {exc!r}")
            self._rejoin(f"{assignor.name} assignor failed: {exc!r}")
            return
        self._dbg("ASSIGNOR", f"Group \"{self._group_id}\": \"{assignor.name}\" assignor run "
                  f"for {len(members)} member(s)")
        self._send_sync_group([
            sync_group_msgs.SyncGroupRequestAssignment(
                member_id=m.member_id,
                assignment=encode_assignment(result.get(m.member_id, {}), m.user_data))
            for m in members])

    def _send_sync_group(self, assignments: list[SyncGroupRequestAssignment]) -> None:
        """Main thread. SyncGroup (empty assignments unless leader)."""
        coordinator = self._coordinator_connection()
        if coordinator is None:
            self._rejoin("coordinator lost before SyncGroup")
            return
        group, generation, member_id = self._group_id, self._generation, self._member_id
        instance = self._instance_id
        protocol = self._assignor.name if self._assignor is not None else None
        self._join_seq += 1
        seq = self._join_seq
        self._awaiting = "sync"
        self._set_join_state(JoinState.WAIT_SYNC)

        def build(version: int) -> SyncGroupRequest:
            return sync_group_msgs.SyncGroupRequest(
                group_id=group, generation_id=generation, member_id=member_id,
                group_instance_id=instance, protocol_type=PROTOCOL_TYPE, protocol_name=protocol,
                assignments=assignments)

        timeout = max(self._session_timeout, self._max_poll_interval) + _JOIN_GRACE
        coordinator.enqueue_request(Request(
            sync_group_msgs.SyncGroupResponse, build,
            lambda b, err, r, req: self._post(lambda: self._on_sync_group(seq, err, r)),
            timeout, max_version=_SYNC_GROUP_MAX))

    def _on_sync_group(self, seq: int, err: int, response: SyncGroupResponse | None) -> None:
        """Main thread. rd_kafka_cgrp_handle_SyncGroup(_memberstate)."""
        if seq != self._join_seq or self.join_state is not JoinState.WAIT_SYNC:
            self._dbg("SYNCGROUP", "SyncGroup response: discarding outdated request "
                      f"(now in join-state {self.join_state.value})")
            return
        self._awaiting = None
        code = err if response is None else response.error_code
        if not code and self._terminating:
            code = ErrorCode._DESTROY
        assignment: list[TopicPartitionKey] = []
        if not code and response is not None:
            try:
                assignment, _user_data = decode_assignment(response.assignment)
            except ProtocolError:
                code = ErrorCode._BAD_MSG
        self._dbg("SYNCGROUP", f"SyncGroup response: {err2str(code) if code else 'Success'} "
                  f"({len(response.assignment) if response is not None else 0} bytes of "
                  f"MemberState data)")
        if code:
            self._sync_group_failed(code)
            return
        self._session_deadline = self._handle.clock() + self._session_timeout
        if self._assignor is not None and self._assignor.sticky_user_data:
            self._sticky = StickyState(tuple(assignment), self._generation)
        self._handle_assignment(assignment)

    def _sync_group_failed(self, code: int) -> None:
        """Main thread. The error half of rd_kafka_cgrp_handle_SyncGroup_memberstate."""
        self._dbg("GRPSYNC", f"Group \"{self._group_id}\": synchronization failed: "
                  f"{err2str(code)}: rejoining")
        if code in _COORDINATOR_ERRORS:
            self._coordinator.request_failed(code, ErrAction.REFRESH)
        if code == ErrorCode._DESTROY:
            self._set_join_state(JoinState.INIT)
            return
        if code == ErrorCode.FENCED_INSTANCE_ID:
            self._fenced(code)
            return
        if code == ErrorCode.ILLEGAL_GENERATION:
            self._set_member(self._member_id, -1)
        elif code == ErrorCode.UNKNOWN_MEMBER_ID:
            self._set_member("", self._generation)
        elif code == ErrorCode.REBALANCE_IN_PROGRESS:
            # Members joined while this one synced (members subscribing together race so):
            # the next generation is forming now, so join it at once rather than after
            # librdkafka's one-second join interval.
            self._next_join_at = 0.0
        if (self.protocol is RebalanceProtocol.COOPERATIVE
                and code in (ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID)):
            self._revoke_all_rejoin(lost=True, reason="SyncGroup error")
        else:
            self._rejoin(f"SyncGroup error: {err2str(code)}")

    # --- assignments and the application's calls ---------------------------------------------

    def _handle_assignment(self, assignment: list[TopicPartitionKey]) -> None:
        """Main thread. rd_kafka_cgrp_handle_assignment: EAGER hands the whole assignment to
        the application; COOPERATIVE revokes what it lost first, then assigns what is new."""
        if self.protocol is RebalanceProtocol.COOPERATIVE:
            old = set(self._group_assignment or ())
            new = set(assignment)
            added = [tp for tp in assignment if tp not in old]
            revoked = [tp for tp in self._group_assignment or () if tp not in new]
            self._dbg("COOPASSIGN", f"Group \"{self._group_id}\": incremental assignment: "
                      f"{len(added)} newly added, {len(revoked)} revoked partitions based on "
                      f"assignment of {len(assignment)} partitions")
            if revoked:
                self._incr_assignment = added
                self._rebalance_op(False, revoked, incremental=True, rejoin=False,
                                   reason="sync group revoke")
            else:
                self._rebalance_op(True, added, incremental=True, rejoin=False,
                                   reason="sync group assign")
            return
        self._set_group_assignment(list(assignment))
        self._rebalance_op(True, assignment, incremental=False, rejoin=False,
                           reason="new assignment")

    def _rebalance_op(self, assign: bool, partitions: list[TopicPartitionKey],
                      incremental: bool, rejoin: bool, reason: str) -> None:
        """Main thread. rd_kafka_rebalance_op(_incr): hand the (incremental) assign or revoke
        to the application (poll() serves it) and wait for its call."""
        self._rebalance_rejoin = rejoin
        self._rebalance_cnt += 1
        self._rebalance_at = self._handle.clock()
        self._set_join_state(JoinState.WAIT_ASSIGN_CALL if assign
                             else JoinState.WAIT_UNASSIGN_CALL)
        kind = "assign" if assign else "revoke"
        self._dbg("ASSIGN", f"Group \"{self._group_id}\": delegating "
                  f"{'incremental ' if incremental else ''}{kind} of {len(partitions)} "
                  f"partition(s) to application: {reason}")
        if incremental:
            self._modify_group_assignment(assign, partitions)
        self._handle.reply_q.push(Rebalance(
            assign, [TopicPartition(t, p) for t, p in partitions],
            lost=self._assignment_lost and not assign,
            incremental=incremental and self.protocol is RebalanceProtocol.COOPERATIVE))

    def _assign_call_done(self) -> None:
        """Main thread. The application called assign()/incremental_assign()
        (rd_kafka_cgrp_assign / rd_kafka_cgrp_incremental_assign)."""
        self._assignment_lost = False
        if self.join_state is not JoinState.WAIT_ASSIGN_CALL:
            return
        self._set_join_state(JoinState.STEADY)
        self._session_deadline = max(self._session_deadline,
                                     self._handle.clock() + self._session_timeout)
        if self._terminating:  # close() came while the application was being asked
            self._incr_assignment = None
            self._rebalance_rejoin = False
            self._revoke_all_rejoin(lost=False, reason="consumer close")
            self._try_terminate()
            return
        if self._trigger_waiting_subscribe_maybe():
            return
        if self._rebalance_rejoin:
            self._rebalance_rejoin = False
            self._next_join_at = 0.0
            self._rejoin("rejoining group to redistribute previously owned partitions to "
                         "other group members")
            return
        self._try_terminate()

    def _unassign_call_done(self, incremental: bool, removed: RevokedOffsets) -> None:
        """Main thread. The application called unassign()/incremental_unassign(): commit the
        revoked partitions' offsets (auto commit, not when lost), then go on."""
        lost = self._assignment_lost
        if not incremental:
            self._assignment_lost = False
        if self.join_state is not JoinState.WAIT_UNASSIGN_CALL:
            return
        waiting = (JoinState.WAIT_INCR_UNASSIGN_TO_COMPLETE if incremental
                   else JoinState.WAIT_UNASSIGN_TO_COMPLETE)
        self._set_join_state(waiting)
        if not incremental and self._group_assignment is not None:
            self._set_group_assignment(None)
        to_commit = [p for p in removed.partitions
                     if p.offset >= 0 and p.offset > removed.committed.get(
                         (p.topic, p.partition), -1)]
        seq = self._join_seq

        def committed() -> None:
            self._post(lambda: self._unassign_done(waiting, seq))

        if (self._auto_commit and not lost and to_commit
                and self._commit_revoked(to_commit, committed)):
            return
        self._unassign_done(waiting, seq)

    def _unassign_done(self, waiting: JoinState, seq: int) -> None:
        """Main thread. rd_kafka_cgrp_unassign_done / rd_kafka_cgrp_incr_unassign_done."""
        if self.join_state is not waiting or seq != self._join_seq:
            return
        if waiting is JoinState.WAIT_UNASSIGN_TO_COMPLETE:
            self._dbg("UNASSIGN", f"Group \"{self._group_id}\": unassign done in state up "
                      f"(join-state {waiting.value})")
            self._leave_maybe()
            self._next_join_at = 0.0
            self._rejoin("Unassignment done")
            return
        if self._terminating:
            self._incr_assignment = None
            self._rebalance_rejoin = False
            self._leave_maybe()
            self._set_join_state(JoinState.INIT)
            self._try_terminate()
            return
        if self._incr_assignment is not None:
            added, self._incr_assignment = self._incr_assignment, None
            self._rebalance_op(True, added, incremental=True, rejoin=True,
                               reason="cooperative assign after revoke")
        elif self._rebalance_rejoin:
            self._rebalance_rejoin = False
            self._next_join_at = 0.0
            self._leave_maybe()
            self._rejoin("Incremental unassignment done")
        elif not self._trigger_waiting_subscribe_maybe():
            self._set_join_state(JoinState.STEADY)

    def _set_group_assignment(self, partitions: list[TopicPartitionKey] | None) -> None:
        """Main thread. rd_kafka_cgrp_group_assignment_set (kept sorted by topic)."""
        self._group_assignment = None if partitions is None else sorted(partitions)

    def _modify_group_assignment(self, add: bool, partitions: list[TopicPartitionKey]) -> None:
        """Main thread. rd_kafka_cgrp_group_assignment_modify."""
        current = list(self._group_assignment or ())
        if add:
            current += [tp for tp in partitions if tp not in current]
        else:
            gone = set(partitions)
            current = [tp for tp in current if tp not in gone]
        self._group_assignment = sorted(current) if current else None

    # --- rebalances ----------------------------------------------------------------------------

    def _rebalancing(self) -> bool:
        """Main thread. librdkafka's RD_KAFKA_CGRP_REBALANCING."""
        return (self.join_state in _REBALANCING
                or (self._member_id != "" and self.join_state in (JoinState.WAIT_JOIN,
                                                                  JoinState.WAIT_METADATA))
                or self._incr_assignment is not None or self._rebalance_rejoin)

    def _rejoin(self, reason: str) -> None:
        """Main thread. rd_kafka_cgrp_rejoin: back to INIT, the next tick joins."""
        owned = self._group_assignment
        with_what = (f" with {len(owned)} owned partition(s)" if owned is not None
                     else " without an assignment")
        if self._subscription is not None:
            self._dbg("REJOIN", f"Group \"{self._group_id}\": "
                      f"{'Joining' if self.join_state is JoinState.INIT else 'Rejoining'} "
                      f"group{with_what}: {reason}")
        else:
            self._dbg("NOREJOIN", f"Group \"{self._group_id}\": Not rejoining group"
                      f"{with_what}: {reason}: no subscribed topics")
            self._leave_maybe()
        self._set_join_state(JoinState.INIT)

    def _revoke_all_rejoin_maybe(self, lost: bool, reason: str) -> None:
        """Main thread. rd_kafka_cgrp_revoke_all_rejoin_maybe: as _revoke_all_rejoin unless
        a rebalance is under way already (it ends with a rejoin anyway)."""
        if self._rebalancing():
            self._dbg("REBALANCE", f"Group \"{self._group_id}\": rebalance already in "
                      f"progress, skipping in join-state {self.join_state.value}: {reason}")
            return
        self._revoke_all_rejoin(lost, reason)

    def _revoke_all_rejoin(self, lost: bool, reason: str) -> None:
        """Main thread. rd_kafka_cgrp_revoke_all_rejoin: revoke everything held (the
        application's callback), then rejoin; nothing held: rejoin at once."""
        self._rebalance_reason = reason
        held = self._group_assignment
        self._dbg("REBALANCE", f"Group \"{self._group_id}\" initiating rebalance "
                  f"({self.protocol.name}) in state up (join-state {self.join_state.value}) "
                  f"with {len(held or ())} assigned partition(s){' (lost)' if lost else ''}: "
                  f"{reason}")
        if self.protocol is not RebalanceProtocol.COOPERATIVE:
            if lost:
                self._assignment_lost = True
            if held is not None and self.join_state not in (JoinState.WAIT_ASSIGN_CALL,
                                                            JoinState.WAIT_UNASSIGN_CALL):
                self._rebalance_op(False, held, incremental=False, rejoin=False, reason=reason)
            else:
                self._next_join_at = 0.0
                self._rejoin(reason)
            return
        if held:
            if lost:
                self._assignment_lost = True
            self._rebalance_op(False, held, incremental=True, rejoin=not self._terminating,
                               reason=reason)
            return
        if self._terminating:
            return
        self._rejoin("Current assignment is empty")

    def _group_is_rebalancing(self) -> None:
        """Main thread. A heartbeat said REBALANCE_IN_PROGRESS."""
        if self.protocol is not RebalanceProtocol.COOPERATIVE:
            self._revoke_all_rejoin_maybe(lost=False, reason="rebalance in progress")
        elif not self._rebalancing():
            self._rejoin("Group is rebalancing")

    def _membership_error(self, err: int, what: str) -> None:
        """Main thread. A request said this member is no longer what it thinks."""
        if err == ErrorCode.FENCED_INSTANCE_ID:
            self._fenced(err)
        elif err == ErrorCode.REBALANCE_IN_PROGRESS:
            if self.join_state in _HEARTBEATING:
                self._group_is_rebalancing()
        elif err == ErrorCode.UNKNOWN_MEMBER_ID:
            self._set_member("", self._generation)
            self._revoke_all_rejoin_maybe(lost=True, reason=f"{what}: resetting member-id")
        elif err == ErrorCode.ILLEGAL_GENERATION:
            self._set_member(self._member_id, -1)
            self._revoke_all_rejoin_maybe(lost=True, reason=f"{what}: illegal generation")

    # --- heartbeats, session and poll interval -----------------------------------------------

    def _heartbeat(self, coordinator: Broker, now: float) -> None:
        """Main thread. rd_kafka_cgrp_heartbeat."""
        if self._max_poll_exceeded or self._heartbeat_inflight or not self._member_id:
            return
        self._heartbeat_inflight = True
        self._next_heartbeat_at = now + self._heartbeat_interval
        self._handle.wake_main_at(self._next_heartbeat_at)
        request = heartbeat_msgs.HeartbeatRequest(
            group_id=self._group_id, generation_id=self._generation, member_id=self._member_id,
            group_instance_id=self._instance_id)
        coordinator.enqueue_request(Request(
            heartbeat_msgs.HeartbeatResponse, lambda v: request,
            lambda b, err, r, req: self._post(lambda: self._on_heartbeat(err, r)),
            self._session_timeout, max_version=_HEARTBEAT_MAX))

    def _on_heartbeat(self, err: int, response: HeartbeatResponse | None) -> None:
        """Main thread. rd_kafka_cgrp_handle_Heartbeat."""
        self._heartbeat_inflight = False
        code = err if response is None else response.error_code
        self._last_heartbeat_err = code
        if not code:
            self._session_deadline = self._handle.clock() + self._session_timeout
            return
        self._dbg("HEARTBEAT", f"Group \"{self._group_id}\" heartbeat error response in "
                  f"state up (join-state {self.join_state.value}, "
                  f"{len(self._group_assignment or ())} partition(s) assigned): "
                  f"{err2str(code)}")
        if self.join_state not in _HEARTBEATING and self.join_state not in (
                JoinState.WAIT_UNASSIGN_TO_COMPLETE, JoinState.WAIT_INCR_UNASSIGN_TO_COMPLETE):
            return  # outdated
        if code in _COORDINATOR_ERRORS:
            self._coordinator.request_failed(code, ErrAction.REFRESH)
            return
        if code == ErrorCode.REBALANCE_IN_PROGRESS:
            self._session_deadline = self._handle.clock() + self._session_timeout
            if self.join_state in (JoinState.WAIT_ASSIGN_CALL, JoinState.WAIT_UNASSIGN_CALL):
                return
            self._group_is_rebalancing()
            return
        if code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION,
                    ErrorCode.FENCED_INSTANCE_ID):
            self._membership_error(code, "heartbeat")

    def _session_timeout_check(self, now: float) -> None:
        """Main thread. rd_kafka_cgrp_session_timeout_check: no successful answer from the
        coordinator for session.timeout.ms: the coordinator has expired us."""
        if not self._session_deadline or now < self._session_deadline:
            return
        overdue = int((now - self._session_deadline + self._session_timeout) * 1000)
        text = (f"Consumer group session timed out (in join-state {self.join_state.value}) "
                f"after {overdue} ms without a successful response from the group coordinator "
                f"(broker {self._coordinator.node_id}, last error was "
                f"{err2str(self._last_heartbeat_err)})")
        self._handle.log(4, "SESSTMOUT", f"{text}: revoking assignment and rejoining group")
        self._session_deadline = 0.0
        self._set_member("", self._generation)
        self._revoke_all_rejoin_maybe(lost=True, reason=text)

    def _poll_exceeded_by(self, now: float) -> float:
        """Main thread. How far past max.poll.interval.ms the application is (<= 0: not)."""
        progress = self._poll_progress()
        if self.in_poll or progress != self._last_progress:
            self._last_progress = progress
            self.last_poll = max(self.last_poll, now)
        return now - self.last_poll - self._max_poll_interval

    def _max_poll_check(self, now: float) -> None:
        """Main thread. rd_kafka_cgrp_max_poll_interval_check_tmr_cb: once joined, an
        application that does not poll for max.poll.interval.ms leaves the group (the
        assignment is lost) and gets _MAX_POLL_EXCEEDED; it rejoins when it polls again."""
        if self._max_poll_exceeded or not self._max_poll_started:
            return
        exceeded = self._poll_exceeded_by(now)
        if exceeded <= 0:
            return
        interval_ms = int(self._max_poll_interval * 1000)
        exceeded_ms = int(exceeded * 1000)
        self._handle.log(4, "MAXPOLL", f"Application maximum poll interval ({interval_ms}ms) "
                         f"exceeded by {exceeded_ms}ms (adjust max.poll.interval.ms for "
                         "long-running message processing): leaving group")
        self._consumer_error(KafkaError(
            ErrorCode._MAX_POLL_EXCEEDED, f"Application maximum poll interval ({interval_ms}ms) "
            f"exceeded by {exceeded_ms}ms"))
        self._max_poll_exceeded = True
        self._max_poll_started = False
        if self._instance_id is None:
            self._leave()
        self._set_member("", self._generation)
        self._revoke_all_rejoin_maybe(lost=True, reason="max.poll.interval.ms exceeded")

    # --- leaving and terminating -------------------------------------------------------------

    def _leave_maybe(self) -> None:
        """Main thread. rd_kafka_cgrp_leave_maybe: leave if asked to (unsubscribe, close);
        KIP-345: a static member does not leave when closing."""
        if not self._leave_on_unassign_done:
            return
        self._leave_on_unassign_done = False
        if self._instance_id is not None and self._terminating:
            return
        self._leave()

    def _leave(self) -> None:
        """Main thread. rd_kafka_cgrp_leave: LeaveGroup; the member id is void from now."""
        member_id = self._member_id
        self._set_member("", self._generation)
        if self._wait_leave or not member_id:
            return
        coordinator = self._coordinator_connection()
        self._dbg("LEAVE", f"Group \"{self._group_id}\": leave (in state up)")
        if coordinator is None:
            return
        self._wait_leave = True
        request = leave_group_msgs.LeaveGroupRequest(group_id=self._group_id, member_id=member_id,
                                                     members=[])
        coordinator.enqueue_request(Request(
            leave_group_msgs.LeaveGroupResponse, lambda v: request,
            lambda b, err, r, req: self._post(lambda: self._on_leave(err, r)),
            _LEAVE_TIMEOUT, max_version=_LEAVE_GROUP_MAX))

    def _on_leave(self, err: int, response: LeaveGroupResponse | None) -> None:
        """Main thread. rd_kafka_cgrp_handle_LeaveGroup."""
        self._wait_leave = False
        code = err if response is None else response.error_code
        self._dbg("LEAVEGROUP", "LeaveGroup response received in state up"
                  + (f": {err2str(code)}" if code else ""))
        self._try_terminate()

    def _terminate(self) -> None:
        """Main thread. rd_kafka_cgrp_terminate: revoke what is held, leave, end."""
        if self._terminating:
            return
        self._terminating = True
        self._set_subscription(None)
        self._next_subscription = None
        self._leave_on_unassign_done = True
        if self._group_assignment is not None and not self._fatal:
            if self.join_state in (JoinState.WAIT_ASSIGN_CALL, JoinState.WAIT_UNASSIGN_CALL):
                return  # the application's call completes it
            self._set_join_state(JoinState.STEADY)
            self._revoke_all_rejoin(lost=False, reason="consumer close")
            return
        self._leave_maybe()
        self._set_join_state(JoinState.INIT)
        self._try_terminate()

    def _try_terminate(self) -> None:
        """Main thread. rd_kafka_cgrp_try_terminate: done once nothing is outstanding."""
        if (self._terminating and not self._wait_leave
                and self.join_state in (JoinState.INIT, JoinState.STEADY)
                and (self._group_assignment is None or self._fatal)):
            if not self.terminated:
                self._dbg("CGRPTERM", f"Group \"{self._group_id}\": consumer group terminated")
            self.terminated = True
            self._handle.reply_q.wake()  # close() waits on it

    def _fenced(self, code: int) -> None:
        """Main thread. FENCED_INSTANCE_ID: another instance took our group.instance.id; a
        fatal error, the assignment is lost."""
        text = f"Fatal consumer error: {err2str(code)}"
        self._handle.set_fatal_error(code, text)
        self._consumer_error(KafkaError(ErrorCode._FATAL, text, fatal=True))
        self._fatal = True
        self._assignment_lost = True
        if self._group_assignment is not None:
            held = self._group_assignment
            self._rebalance_op(False, held, incremental=self.protocol is
                               RebalanceProtocol.COOPERATIVE, rejoin=False,
                               reason="consumer fenced by newer instance")

    # --- small helpers -----------------------------------------------------------------------

    def _coordinator_connection(self) -> Broker | None:
        """Main thread. The group's own connection to its coordinator (librdkafka's
        "GroupCoordinator" logical broker): group requests never queue behind a Fetch that
        the broker holds for fetch.wait.max.ms on the shared connection. A new one when the
        coordinator moved; None while it is unknown."""
        known = self._coordinator.current()  # the dedicated one while it is current
        conn = self._conn
        if known is None:
            return None
        if conn is not None and (conn.node_id, conn.host, conn.port) == (
                known.node_id, known.host, known.port):
            return conn
        if conn is not None:
            self._handle.remove_logical_broker(conn)
        self._conn = self._handle.add_logical_broker("GroupCoordinator", known.node_id,
                                                     known.host, known.port)
        self._coordinator.dedicated = self._conn
        return self._conn

    def _set_member(self, member_id: str, generation: int) -> None:
        """Main thread. Replace the identity requests carry."""
        self._member_id = member_id
        self._generation = generation
        if member_id:
            self._identity = MemberIdentity(generation, member_id, self._instance_id)
        else:
            self._identity = MemberIdentity(generation, "", self._instance_id) \
                if generation >= 0 else NOT_A_MEMBER

    def _set_join_state(self, state: JoinState) -> None:
        """Main thread."""
        if state is self.join_state:
            return
        self._dbg("CGRPJOINSTATE", f"Group \"{self._group_id}\" changed join state "
                  f"{self.join_state.value} -> {state.value} (state up)")
        self.join_state = state
        if state is JoinState.STEADY and self._subscription is not None:
            self._max_poll_started = True
            self._session_deadline = self._session_deadline or (
                self._handle.clock() + self._session_timeout)
        self._handle.wake_main()

    def _dbg(self, facility: str, text: str) -> None:
        """Any thread. A "cgrp" debug line."""
        handle = self._handle
        if "cgrp" in handle.debug or "consumer" in handle.debug:
            handle.log(7, facility, text)


def _assignor_topics(response: MetadataResponse, with_racks: bool) -> list[TopicMetadata]:
    """The leader's Metadata answer as the assignors take it: topics in answer order (those
    with errors left out), each partition's replica racks when any member has a rack."""
    racks = {b.node_id: b.rack for b in response.brokers}
    out: list[TopicMetadata] = []
    for t in response.topics:
        if t.name is None or t.error_code:
            continue
        partitions = sorted(t.partitions, key=lambda p: p.partition_index)
        partition_racks: tuple[tuple[str, ...], ...] = ()
        if with_racks:
            partition_racks = tuple(
                tuple(sorted({r for n in p.replica_nodes if (r := racks.get(n))}))
                for p in partitions)
        out.append(TopicMetadata(t.name, len(partitions), partition_racks))
    return out
