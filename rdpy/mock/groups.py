"""A consumer group as the mock cluster's group coordinator keeps it: committed offsets, and the
transactional offsets (TxnOffsetCommit) that wait for their producer's transaction to end.

Group membership (JoinGroup, SyncGroup, Heartbeat: members, generations, rebalances) is not
served yet; it belongs here when it comes, and `check_generation` is the rule it will replace.
No sockets: the cluster state (state.py) owns the groups by id, and its lock guards everything
here (held by the server thread while it serves a request, by the test thread in control calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdpy.errors import ErrorCode
from rdpy.mock.log import BrokerError

__all__ = ["CommittedOffset", "Group", "check_generation"]


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str | None


@dataclass
class Group:
    committed: dict[tuple[str, int], CommittedOffset] = field(default_factory=dict)
    #: Transactional offsets (TxnOffsetCommit) by producer id, applied when its transaction
    #: commits and dropped when it aborts.
    pending: dict[int, dict[tuple[str, int], CommittedOffset]] = field(default_factory=dict)

    def has_pending(self, tp: tuple[str, int]) -> bool:
        return any(tp in offsets for offsets in self.pending.values())

    def end_transaction(self, producer_id: int, commit: bool) -> None:
        """The producer's transaction ended: its pending offsets become committed (commit) or
        are dropped (abort)."""
        offsets = self.pending.pop(producer_id, {})
        if commit:
            self.committed.update(offsets)


def check_generation(generation_id: int) -> None:
    """This mock has no group membership (JoinGroup is not served): only the commits of
    consumers outside a group (generation -1, as assign()-only consumers send) are valid,
    like Kafka's answer for a group it has no members for."""
    if generation_id >= 0:
        raise BrokerError(ErrorCode.ILLEGAL_GENERATION,
                          f"generation {generation_id}: the group has no members")
