"""A consumer's membership of its group, as the requests that name the group ask for it: the
OffsetCommit builder (rdpy/client/consume/commit.py) and the committed-offset lookups
(rdpy/client/consume/offsets.py, lookups.py). No thread of its own; each method says who calls
it.

The implementation is `ClassicMember` (rdpy/client/group/classic.py), every consumer's: idle
(and NOT_A_MEMBER, so commits carry generation -1 and an empty member id, which Kafka accepts for
a group without members) until subscribe().

- Classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): a `GroupMembership` whose
  `identity()` is the member id JoinGroup gave (kept across rejoins, reset after
  UNKNOWN_MEMBER_ID), the generation of the last completed SyncGroup, and `group.instance.id`
  (static membership, KIP-345). Its work runs on the main thread's tick (register it on
  `handle.main_work`: heartbeats every `heartbeat.interval.ms`, joins, `session.timeout.ms` and
  `max.poll.interval.ms`), its requests go to `handle.coordinators.get(GROUP, group_id)`, the
  partitions it is given go through ConsumerEngine.incremental_assign/_unassign, and rebalance
  callbacks reach the application as reply ops served by poll() (never on a background thread).
- KIP-848 (ConsumerGroupHeartbeat, `group.protocol=consumer`, not implemented yet):
  `identity().generation_id` is then
  the member epoch, which OffsetCommit v9+ sends in the same field
  (`generation_id_or_member_epoch`) and OffsetFetch v9+ sends as `member_epoch` with the member id
  (rdpy caps OffsetFetch at v7 today, which names no member).
- `request_refused(err)`: OffsetCommit and OffsetFetch tell it every error they get; the errors
  that concern membership are UNKNOWN_MEMBER_ID and ILLEGAL_GENERATION (rejoin),
  REBALANCE_IN_PROGRESS (a rebalance is under way: rejoin), FENCED_INSTANCE_ID (fatal, another
  instance took our group.instance.id) and, with KIP-848, STALE_MEMBER_EPOCH (heartbeat at once;
  the offset fetch is asked again after it). The commit itself has already failed or is retried by
  the caller (OffsetCommit: rdpy.errors.OFFSET_COMMIT_ACTIONS).
- `statistics(now)`: the "cgrp" statistics' membership fields (join state, rebalance age, count
  and reason, the group's assignment size), in librdkafka's names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MemberIdentity:
    """Who this consumer is in its group, as requests naming the group carry it. Immutable: an
    implementation replaces the whole value when it changes, so a request built on another
    thread never pairs a new generation with an old member id."""

    #: The classic protocol's generation (-1: not a member); under KIP-848 the member epoch.
    generation_id: int
    #: The member id the coordinator gave ("": not a member).
    member_id: str
    #: group.instance.id for static membership (None: dynamic member, or not a member).
    group_instance_id: str | None

    @property
    def is_member(self) -> bool:
        """Whether the coordinator knows this consumer as a member of the group."""
        return self.member_id != ""


#: An assign()-only consumer: OffsetCommit with generation -1 and no member id.
NOT_A_MEMBER = MemberIdentity(generation_id=-1, member_id="", group_instance_id=None)


class GroupMembership(Protocol):
    """What commits and committed-offset lookups ask of the consumer's group membership."""

    def identity(self) -> MemberIdentity:
        """Any thread, no lock. The identity to put in a request, read when the request is
        built (on the broker thread sending it, so a retry carries the current generation)."""
        ...

    def request_refused(self, err: int) -> None:
        """Any thread, must not block. A request naming the group failed with `err` (any
        error: an implementation acts on those that concern membership, see the module)."""
        ...

    def statistics(self, now: float) -> dict[str, object]:
        """Main thread. The "cgrp" statistics' membership fields: join_state, rebalance_age,
        rebalance_cnt, rebalance_reason, assignment_size."""
        ...


__all__ = ["GroupMembership", "MemberIdentity", "NOT_A_MEMBER"]
