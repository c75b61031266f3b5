"""The mock cluster's classic group coordinator for one group, sans I/O: Kafka's ClassicGroup
state machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead) with its members,
generations, the join and sync phases, session and rebalance timeouts, static membership
(KIP-345) and the member id handshake (KIP-394), as Kafka 4's GroupMetadataManager runs it.

No sockets, threads or clocks: every call takes `now` (milliseconds of a monotonic clock) and
deadlines are plain numbers; `tick(now)` fires the ones that passed and `next_deadline()` says
when to call it again. JoinGroup and SyncGroup answers that must wait (for the other members, for
the leader's assignment) are `Deferred` slots the caller keeps and polls; everything else is
answered at once. The wire side (handlers/membership.py) turns requests into these calls and the
results into responses.

Threads: the cluster state owns one ClassicGroup per group (groups.py) under its lock; the mock
server thread calls everything here with that lock held, the test thread only through
MockCluster's control calls (which take the lock too).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rdpy.errors import ErrorCode

__all__ = [
    "ClassicGroup",
    "Deferred",
    "GroupSnapshot",
    "GroupState",
    "JoinResult",
    "JoinedMember",
    "MemberDescription",
    "SyncResult",
]

T = TypeVar("T")

#: Kafka's group.classic.new.member.join.timeout.ms (KAFKA-7610: a new member that never
#: completes its first join is removed after this long).
NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000


class GroupState(enum.Enum):
    """Kafka's classic group states; the values are the names DescribeGroups and ListGroups
    report."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


class Deferred(Generic[T]):
    """An answer a member waits for (its JoinGroup or SyncGroup response): empty until the
    group completes it, completed once (later completions are ignored)."""

    __slots__ = ("value",)

    def __init__(self, value: T | None = None) -> None:
        self.value: T | None = value

    @property
    def done(self) -> bool:
        return self.value is not None

    def complete(self, value: T) -> None:
        if self.value is None:
            self.value = value


@dataclass(frozen=True)
class JoinedMember:
    """One member as the leader's JoinGroup response lists it."""

    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True)
class JoinResult:
    """A JoinGroup answer (JoinGroupResponse's fields)."""

    error: int
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    skip_assignment: bool = False
    members: tuple[JoinedMember, ...] = ()


@dataclass(frozen=True)
class SyncResult:
    """A SyncGroup answer (SyncGroupResponse's fields)."""

    error: int
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


@dataclass(frozen=True)
class MemberDescription:
    """A member as DescribeGroups shows it (metadata and assignment only while Stable)."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True)
class GroupSnapshot:
    """A group's membership at one moment, for tests (MockCluster.group_snapshot)."""

    group_id: str
    state: str
    generation_id: int
    protocol_type: str | None
    protocol_name: str | None
    leader_id: str | None
    #: member id -> group instance id (None for dynamic members), in join order.
    members: dict[str, str | None]
    #: member id -> the assignment the leader gave it (b"" before one).
    assignments: dict[str, bytes]
    #: Rebalances started so far and why the last one started.
    rebalances: int
    rebalance_reason: str


@dataclass
class _Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    #: (name, metadata) in the member's order of preference.
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    #: The JoinGroup answer this member waits for (awaiting join), or None.
    join: Deferred[JoinResult] | None = None
    #: The SyncGroup answer this member waits for (awaiting sync), or None.
    sync: Deferred[SyncResult] | None = None
    #: Joined but has not yet completed a join phase (expires after the new-member timeout).
    is_new: bool = False
    #: When the member's heartbeat timer fires (session timeout), None when not scheduled.
    deadline: float | None = None

    def metadata(self, protocol: str | None) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""

    def same_protocols(self, protocols: list[tuple[str, bytes]]) -> bool:
        return self.protocols == protocols


@dataclass
class ClassicGroup:
    """One classic group's membership. Every method expects the cluster state's lock held."""

    group_id: str
    #: Kafka's group.initial.rebalance.delay.ms (the mock defaults to 0: tests are fast).
    initial_rebalance_delay_ms: int = 0
    #: Kafka's group.min/max.session.timeout.ms (INVALID_SESSION_TIMEOUT outside).
    min_session_timeout_ms: int = 1
    max_session_timeout_ms: int = 1_800_000
    new_member_join_timeout_ms: int = NEW_MEMBER_JOIN_TIMEOUT_MS

    state: GroupState = GroupState.EMPTY
    previous_state: GroupState = GroupState.EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    #: Members by id, in the order they joined (the first is the leader when one is needed).
    members: dict[str, _Member] = field(default_factory=dict)
    #: group.instance.id -> member id of the static members.
    static_members: dict[str, str] = field(default_factory=dict)
    #: Member ids handed out with MEMBER_ID_REQUIRED (KIP-394), by when they must rejoin.
    pending_members: dict[str, float] = field(default_factory=dict)
    #: Members that have not sent SyncGroup since the join phase completed.
    pending_sync: set[str] = field(default_factory=set)
    #: When the join phase ends without the members still missing (rebalance timeout).
    join_deadline: float | None = None
    #: When members still in pending_sync are removed (Kafka's pending sync timeout).
    sync_deadline: float | None = None
    #: The initial rebalance's remaining time to extend by (None: not in the initial delay).
    initial_remaining_ms: int | None = None
    new_member_added: bool = False
    #: Rebalances started so far, and why the last one started (for tests and logs).
    rebalances: int = 0
    rebalance_reason: str = ""

    # --- queries ------------------------------------------------------------------------------

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def rebalance_timeout_ms(self) -> int:
        """The longest rebalance timeout of the members (the join phase waits this long)."""
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def all_members_joined(self) -> bool:
        return (all(m.join is not None for m in self.members.values())
                and not self.pending_members)

    def select_protocol(self, extra: list[tuple[str, bytes]] | None = None,
                        replacing: str | None = None) -> str | None:
        """Kafka's selectProtocol: among the protocols every member supports, the one most
        members prefer (each votes for its first supported candidate); ties go to the
        candidate the earliest member lists first. `extra`/`replacing`: as if the member
        `replacing` had these protocols instead."""
        lists = [extra if extra is not None and m.member_id == replacing else m.protocols
                 for m in self.members.values()]
        if not lists:
            return None
        common = set.intersection(*({name for name, _ in p} for p in lists))
        candidates = [name for name, _ in lists[0] if name in common]
        if not candidates:
            return None
        votes = Counter(next(name for name, _ in p if name in common) for p in lists)
        return max(candidates, key=lambda name: (votes[name], -candidates.index(name)))

    def _supports(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        """Kafka's supportsProtocols: an Empty group takes any non-empty type and protocol
        list; otherwise the type must be the group's and one of the protocols supported by
        every member (a rejoining member's current protocols count too)."""
        if self.state is GroupState.EMPTY:
            return bool(protocol_type) and bool(protocols)
        if protocol_type != self.protocol_type:
            return False
        names = {name for name, _ in protocols}
        for m in self.members.values():
            names &= {name for name, _ in m.protocols}
        return bool(names)

    def describe(self) -> tuple[str, str, str, list[MemberDescription]]:
        """(state, protocol type, protocol, members) as DescribeGroups shows them: metadata,
        assignment and protocol only while Stable, as Kafka does."""
        stable = self.state is GroupState.STABLE
        protocol = (self.protocol_name or "") if stable else ""
        return (self.state.value, self.protocol_type or "", protocol, [
            MemberDescription(m.member_id, m.group_instance_id, m.client_id, m.client_host,
                              m.metadata(self.protocol_name) if stable else b"",
                              m.assignment if stable else b"")
            for m in self.members.values()])

    def snapshot(self) -> GroupSnapshot:
        return GroupSnapshot(self.group_id, self.state.value, self.generation_id,
                             self.protocol_type, self.protocol_name, self.leader_id,
                             {m.member_id: m.group_instance_id for m in self.members.values()},
                             {m.member_id: m.assignment for m in self.members.values()},
                             self.rebalances, self.rebalance_reason)

    # --- validation ---------------------------------------------------------------------------

    def _member_error(self, member_id: str, group_instance_id: str | None) -> int:
        """Kafka's validateMember: UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, else 0."""
        if group_instance_id is not None:
            existing = self.static_members.get(group_instance_id)
            if existing is None:
                return ErrorCode.UNKNOWN_MEMBER_ID
            if existing != member_id:
                return ErrorCode.FENCED_INSTANCE_ID
            return 0
        return 0 if member_id in self.members else ErrorCode.UNKNOWN_MEMBER_ID

    def offset_commit_error(self, member_id: str, group_instance_id: str | None,
                            generation_id: int, transactional: bool) -> int:
        """Kafka's ClassicGroup.validateOffsetCommit: generation -1 without a member id commits
        for a group nobody is a member of (assign() consumers, admin clients); a member's
        commit needs the current generation; none while the group completes a rebalance."""
        if self.state is GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and self.state is GroupState.EMPTY:
            return 0
        if generation_id >= 0 or member_id or group_instance_id is not None:
            err = self._member_error(member_id, group_instance_id)
            if err:
                return err
            if generation_id != self.generation_id:
                return ErrorCode.ILLEGAL_GENERATION
        elif not transactional and self.state is not GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if not transactional and self.state is GroupState.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return 0

    # --- JoinGroup ----------------------------------------------------------------------------

    def join(self, now: float, *, member_id: str, group_instance_id: str | None,
             client_id: str, client_host: str, session_timeout_ms: int,
             rebalance_timeout_ms: int, protocol_type: str,
             protocols: list[tuple[str, bytes]], new_member_id: str,
             require_known_member_id: bool, supports_skip_assignment: bool
             ) -> Deferred[JoinResult]:
        """A JoinGroup. `new_member_id` is the id a new member gets (Kafka: client id + "-" +
        a UUID); `require_known_member_id` is JoinGroup v4+ (KIP-394), `supports_skip_assignment`
        v9+ (KIP-814). The answer may come later: when the join phase completes."""
        if not self.min_session_timeout_ms <= session_timeout_ms <= self.max_session_timeout_ms:
            return _join_error(ErrorCode.INVALID_SESSION_TIMEOUT, member_id)
        if self.state is GroupState.DEAD:
            return _join_error(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id)
        if not self._supports(protocol_type, protocols):
            return _join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        if not member_id:
            return self._join_new(now, group_instance_id, client_id, client_host,
                                  session_timeout_ms, rebalance_timeout_ms, protocol_type,
                                  protocols, new_member_id, require_known_member_id,
                                  supports_skip_assignment)
        if member_id in self.pending_members:
            if group_instance_id is not None:  # static members never get MEMBER_ID_REQUIRED
                return _join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
            del self.pending_members[member_id]
            return self._add_member(now, member_id, None, client_id, client_host,
                                    session_timeout_ms, rebalance_timeout_ms, protocol_type,
                                    protocols, "pending member joins")
        err = self._member_error(member_id, group_instance_id)
        if err:
            return _join_error(err, member_id)
        member = self.members[member_id]
        if self.state is GroupState.PREPARING_REBALANCE:
            return self._update_member(now, member, protocols, rebalance_timeout_ms,
                                       session_timeout_ms, client_id, client_host,
                                       "member rejoins the rebalance")
        if self.state is GroupState.COMPLETING_REBALANCE:
            if member.same_protocols(protocols):
                # The member lost its JoinGroup answer: give it the current generation again.
                return Deferred(self._join_result(member, include_members=self.is_leader(
                    member_id)))
            return self._update_member(now, member, protocols, rebalance_timeout_ms,
                                       session_timeout_ms, client_id, client_host,
                                       f"member {member_id} changed its protocols")
        if self.state is GroupState.STABLE:
            if self.is_leader(member_id) or not member.same_protocols(protocols):
                return self._update_member(now, member, protocols, rebalance_timeout_ms,
                                           session_timeout_ms, client_id, client_host,
                                           f"leader {member_id} rejoins" if self.is_leader(
                                               member_id) else
                                           f"member {member_id} changed its protocols")
            # A follower with nothing new gets the current generation (and then syncs).
            return Deferred(self._join_result(member, include_members=False))
        return _join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)

    def _join_new(self, now: float, group_instance_id: str | None, client_id: str,
                  client_host: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                  protocol_type: str, protocols: list[tuple[str, bytes]], new_member_id: str,
                  require_known_member_id: bool, supports_skip_assignment: bool
                  ) -> Deferred[JoinResult]:
        if group_instance_id is not None:
            old_id = self.static_members.get(group_instance_id)
            if old_id is not None:
                return self._replace_static(now, old_id, new_member_id, client_id, client_host,
                                            session_timeout_ms, rebalance_timeout_ms, protocols,
                                            supports_skip_assignment)
        elif require_known_member_id:
            # KIP-394: hand out the id; the member joins for real when it comes back with it.
            self.pending_members[new_member_id] = now + session_timeout_ms
            return _join_error(ErrorCode.MEMBER_ID_REQUIRED, new_member_id)
        return self._add_member(now, new_member_id, group_instance_id, client_id, client_host,
                                session_timeout_ms, rebalance_timeout_ms, protocol_type,
                                protocols, "new member joins")

    def _add_member(self, now: float, member_id: str, group_instance_id: str | None,
                    client_id: str, client_host: str, session_timeout_ms: int,
                    rebalance_timeout_ms: int, protocol_type: str,
                    protocols: list[tuple[str, bytes]], reason: str) -> Deferred[JoinResult]:
        if not self.members:
            self.protocol_type = protocol_type
        member = _Member(member_id, group_instance_id, client_id, client_host,
                         session_timeout_ms, rebalance_timeout_ms, protocol_type,
                         list(protocols), join=Deferred(), is_new=True,
                         deadline=now + self.new_member_join_timeout_ms)
        self.members[member_id] = member
        if group_instance_id is not None:
            self.static_members[group_instance_id] = member_id
        if self.leader_id is None:
            self.leader_id = member_id
        if self.state is GroupState.PREPARING_REBALANCE and self.generation_id == 0:
            self.new_member_added = True
        assert member.join is not None
        result = member.join
        self._maybe_prepare_rebalance(now, f"{reason}: {member_id}")
        self._maybe_complete_join(now)
        return result

    def _update_member(self, now: float, member: _Member, protocols: list[tuple[str, bytes]],
                       rebalance_timeout_ms: int, session_timeout_ms: int, client_id: str,
                       client_host: str, reason: str) -> Deferred[JoinResult]:
        member.protocols = list(protocols)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        member.client_id, member.client_host = client_id, client_host
        if member.join is not None:  # a second JoinGroup while one waits: the newer wins
            member.join.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
        member.join = Deferred()
        result = member.join
        self._maybe_prepare_rebalance(now, reason)
        self._maybe_complete_join(now)
        return result

    def _replace_static(self, now: float, old_id: str, new_id: str, client_id: str,
                        client_host: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                        protocols: list[tuple[str, bytes]], supports_skip_assignment: bool
                        ) -> Deferred[JoinResult]:
        """KIP-345: a known group.instance.id joins with a new member id: the new id takes
        the old member's place (assignment included) and the old id is fenced."""
        old = self.members.pop(old_id)
        current_leader = self.leader_id
        if old.join is not None:
            old.join.complete(JoinResult(ErrorCode.FENCED_INSTANCE_ID, old_id))
        if old.sync is not None:
            old.sync.complete(SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        member = _Member(new_id, old.group_instance_id, client_id, client_host,
                         session_timeout_ms, rebalance_timeout_ms, old.protocol_type,
                         old.protocols, assignment=old.assignment,
                         deadline=now + session_timeout_ms)
        self.members[new_id] = member
        assert old.group_instance_id is not None
        self.static_members[old.group_instance_id] = new_id
        if self.leader_id == old_id:
            self.leader_id = new_id
        if old_id in self.pending_sync:
            self.pending_sync.discard(old_id)
            self.pending_sync.add(new_id)
        if self.state is GroupState.STABLE:
            if self.select_protocol(protocols, new_id) == self.protocol_name:
                # Nothing the group agreed on changes: no rebalance (KIP-345).
                member.protocols = list(protocols)
                if supports_skip_assignment and self.is_leader(new_id):
                    # KIP-814: the leader learns it leads, with the members, but must not
                    # assign (a Stable group would not pass a new assignment on).
                    return Deferred(self._join_result(member, include_members=True,
                                                      skip_assignment=True))
                # Older versions: name the previous leader id, so a rejoining leader does
                # not believe it leads and run a trivial assignment.
                return Deferred(JoinResult(0, new_id, self.generation_id, self.protocol_type,
                                           self.protocol_name, current_leader or ""))
            return self._update_member(now, member, protocols, rebalance_timeout_ms,
                                       session_timeout_ms, client_id, client_host,
                                       f"static member {old.group_instance_id} changed its "
                                       "protocols")
        if self.state in (GroupState.COMPLETING_REBALANCE, GroupState.PREPARING_REBALANCE):
            # In CompletingRebalance the leader may be assigning to the old id: rebalance.
            return self._update_member(now, member, protocols, rebalance_timeout_ms,
                                       session_timeout_ms, client_id, client_host,
                                       f"static member {old.group_instance_id} rejoins")
        return _join_error(ErrorCode.UNKNOWN_MEMBER_ID, new_id)

    def _join_result(self, member: _Member, include_members: bool,
                     skip_assignment: bool = False) -> JoinResult:
        members = tuple(JoinedMember(m.member_id, m.group_instance_id,
                                     m.metadata(self.protocol_name))
                        for m in self.members.values()) if include_members else ()
        return JoinResult(0, member.member_id, self.generation_id, self.protocol_type,
                          self.protocol_name, self.leader_id or "", skip_assignment, members)

    # --- rebalances ---------------------------------------------------------------------------

    def _maybe_prepare_rebalance(self, now: float, reason: str) -> None:
        if self.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY):
            self._prepare_rebalance(now, reason)

    def _prepare_rebalance(self, now: float, reason: str) -> None:
        if self.state is GroupState.COMPLETING_REBALANCE:
            # The leader's assignment will not come for this generation: every member that
            # waits for it hears REBALANCE_IN_PROGRESS and rejoins.
            for m in self.members.values():
                m.assignment = b""
                if m.sync is not None:
                    m.sync.complete(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
                    m.sync = None
        self.pending_sync.clear()
        self.sync_deadline = None
        initial = self.state is GroupState.EMPTY
        self._transition(GroupState.PREPARING_REBALANCE)
        self.rebalances += 1
        self.rebalance_reason = reason
        if initial:
            # A new group waits group.initial.rebalance.delay.ms for more members (extended
            # while new ones come, up to the rebalance timeout), never for "all joined".
            delay = self.initial_rebalance_delay_ms
            self.initial_remaining_ms = max(self.rebalance_timeout_ms() - delay, 0)
            self.new_member_added = False
            self.join_deadline = now + delay
        else:
            self.initial_remaining_ms = None
            self.join_deadline = now + self.rebalance_timeout_ms()
            self._maybe_complete_join(now)  # e.g. the last member left: nobody to wait for

    def _maybe_complete_join(self, now: float) -> None:
        """Kafka's maybeCompleteJoinPhase: complete early once everyone rejoined, except in a
        new group's initial delay."""
        if (self.state is GroupState.PREPARING_REBALANCE
                and self.previous_state is not GroupState.EMPTY
                and self.all_members_joined()):
            self._complete_join(now)

    def _complete_join(self, now: float) -> None:
        """The join phase ends: members that did not rejoin are removed, the generation moves
        on, the protocol is chosen and every joined member gets its answer (the leader with
        the members' metadata)."""
        if self.state is not GroupState.PREPARING_REBALANCE:
            return
        self.join_deadline = None
        self.initial_remaining_ms = None
        for m in [m for m in self.members.values() if m.join is None]:
            self._remove(m)
        if self.leader_id is None and self.members:
            self.leader_id = next(iter(self.members))
        self.generation_id += 1
        if not self.members:
            self.protocol_name = None
            self._transition(GroupState.EMPTY)
            return
        self.protocol_name = self.select_protocol()
        self._transition(GroupState.COMPLETING_REBALANCE)
        for m in self.members.values():
            assert m.join is not None
            m.join.complete(self._join_result(m, include_members=self.is_leader(m.member_id)))
            m.join = None
            m.is_new = False
            m.deadline = now + m.session_timeout_ms
        self.pending_sync = set(self.members)
        self.sync_deadline = now + self.rebalance_timeout_ms()

    def _transition(self, state: GroupState) -> None:
        self.previous_state = self.state
        self.state = state

    def _remove(self, member: _Member) -> None:
        """Drop a member: answer what it waits for with UNKNOWN_MEMBER_ID, hand the leadership
        on."""
        if member.join is not None:
            member.join.complete(JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, ""))
        if member.sync is not None:
            member.sync.complete(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        del self.members[member.member_id]
        if member.group_instance_id is not None and \
                self.static_members.get(member.group_instance_id) == member.member_id:
            del self.static_members[member.group_instance_id]
        self.pending_sync.discard(member.member_id)
        if self.leader_id == member.member_id:
            self.leader_id = next(iter(self.members), None)

    def _remove_and_rebalance(self, now: float, member: _Member, reason: str) -> None:
        """Kafka's removeMemberAndUpdateClassicGroup."""
        self._remove(member)
        if self.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(now, reason)
        elif self.state is GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(now)

    # --- SyncGroup, Heartbeat, LeaveGroup -----------------------------------------------------

    def sync(self, now: float, *, member_id: str, group_instance_id: str | None,
             generation_id: int, protocol_type: str | None, protocol_name: str | None,
             assignments: dict[str, bytes]) -> Deferred[SyncResult]:
        """A SyncGroup. The leader's assignments (member id -> bytes) reach every member; a
        follower that syncs first waits for them."""
        if self.state is GroupState.DEAD:
            return Deferred(SyncResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        err = self._member_error(member_id, group_instance_id)
        if not err and generation_id != self.generation_id:
            err = ErrorCode.ILLEGAL_GENERATION
        if not err and ((protocol_type is not None and protocol_type != self.protocol_type)
                        or (protocol_name is not None and protocol_name != self.protocol_name)):
            err = ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        if err:
            return Deferred(SyncResult(err))
        if self.state is GroupState.PREPARING_REBALANCE:
            return Deferred(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        member = self.members[member_id]
        self.pending_sync.discard(member_id)
        if not self.pending_sync:
            self.sync_deadline = None
        member.deadline = now + member.session_timeout_ms
        if self.state is GroupState.STABLE:
            return Deferred(self._sync_result(member))
        # CompletingRebalance: wait for the leader's assignment (or give it out).
        if member.sync is not None:
            member.sync.complete(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        member.sync = Deferred()
        result = member.sync
        if self.is_leader(member_id):
            for m in self.members.values():
                m.assignment = assignments.get(m.member_id, b"")
            self._transition(GroupState.STABLE)
            for m in self.members.values():
                if m.sync is not None:
                    m.sync.complete(self._sync_result(m))
                    m.sync = None
                    m.deadline = now + m.session_timeout_ms
        return result

    def _sync_result(self, member: _Member) -> SyncResult:
        return SyncResult(0, self.protocol_type, self.protocol_name, member.assignment)

    def heartbeat(self, now: float, *, member_id: str, group_instance_id: str | None,
                  generation_id: int) -> int:
        """A Heartbeat: its error code (REBALANCE_IN_PROGRESS tells the member to rejoin)."""
        if self.state is GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        err = self._member_error(member_id, group_instance_id)
        if err:
            return err
        if generation_id != self.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if self.state is GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        member = self.members[member_id]
        member.deadline = now + member.session_timeout_ms
        if self.state is GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return 0

    def leave(self, now: float, leaving: list[tuple[str, str | None]]) -> list[int]:
        """A LeaveGroup of (member id, group instance id) pairs: one error code each."""
        errors = []
        for member_id, group_instance_id in leaving:
            if self.state is GroupState.DEAD:
                errors.append(int(ErrorCode.COORDINATOR_NOT_AVAILABLE))
                continue
            if group_instance_id is not None:
                current = self.static_members.get(group_instance_id)
                if current is None:
                    errors.append(int(ErrorCode.UNKNOWN_MEMBER_ID))
                    continue
                if member_id and member_id != current:
                    errors.append(int(ErrorCode.FENCED_INSTANCE_ID))
                    continue
                member_id = current
            elif member_id in self.pending_members:
                del self.pending_members[member_id]
                errors.append(0)
                self._maybe_complete_join(now)
                continue
            member = self.members.get(member_id)
            if member is None:
                errors.append(int(ErrorCode.UNKNOWN_MEMBER_ID))
                continue
            self._remove_and_rebalance(now, member, f"member {member_id} left the group")
            errors.append(0)
        return errors

    # --- timers -------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When tick() has something to do next, or None."""
        due = [d for d in (self.join_deadline, self.sync_deadline) if d is not None]
        due.extend(m.deadline for m in self.members.values() if m.deadline is not None)
        due.extend(self.pending_members.values())
        return min(due, default=None)

    def tick(self, now: float) -> bool:
        """Fire every timer due at `now` (and those they schedule for `now`, as a zero initial
        rebalance delay does): the join phase's end, pending sync, session and new-member
        expiry, unclaimed MEMBER_ID_REQUIRED ids. True when anything changed."""
        changed = False
        while self._tick_once(now):
            changed = True
            due = self.next_deadline()
            if due is None or due > now:
                break
        return changed

    def _tick_once(self, now: float) -> bool:
        changed = False
        for member_id in [i for i, d in self.pending_members.items() if d <= now]:
            del self.pending_members[member_id]
            self._maybe_complete_join(now)
            changed = True
        if self.join_deadline is not None and self.join_deadline <= now:
            changed = True
            if (self.initial_remaining_ms is not None and self.new_member_added
                    and self.initial_remaining_ms > 0):
                delay = min(self.initial_rebalance_delay_ms, self.initial_remaining_ms)
                self.initial_remaining_ms = max(
                    self.initial_remaining_ms - self.initial_rebalance_delay_ms, 0)
                self.new_member_added = False
                self.join_deadline = now + delay
            else:
                self._complete_join(now)
        if self.sync_deadline is not None and self.sync_deadline <= now:
            self.sync_deadline = None
            changed = True
            if self.pending_sync and self.state in (GroupState.COMPLETING_REBALANCE,
                                                    GroupState.STABLE):
                for member_id in sorted(self.pending_sync):
                    self._remove(self.members[member_id])
                self._prepare_rebalance(now, "members did not sync in time")
        for member in list(self.members.values()):
            if member.deadline is None or member.deadline > now or \
                    self.members.get(member.member_id) is not member:
                continue
            changed = True
            member.deadline = None
            awaiting = member.join is not None or member.sync is not None
            if member.is_new or not awaiting:
                self._remove_and_rebalance(now, member,
                                           f"member {member.member_id} session expired")
        return changed


def _join_error(code: int, member_id: str) -> Deferred[JoinResult]:
    return Deferred(JoinResult(int(code), member_id))
