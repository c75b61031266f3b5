"""A consumer group as the mock cluster's group coordinator keeps it: committed offsets, the
transactional offsets (TxnOffsetCommit) that wait for their producer's transaction to end, and
its membership (classic_group.py: members, generations, rebalances), which decides whose
commits are valid (`offset_commit_error`).

No sockets: the cluster state (state.py) owns the groups by id, and its lock guards everything
here (held by the server thread while it serves a request, by the test thread in control calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdpy.errors import ErrorCode
from rdpy.mock.classic_group import ClassicGroup

__all__ = ["CommittedOffset", "Group", "missing_group_commit_error"]


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str | None


@dataclass
class Group:
    membership: ClassicGroup
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


def missing_group_commit_error(generation_id: int) -> int:
    """The error of an offset commit to a group the coordinator does not know: generation -1
    creates it (a "simple" group: assign() consumers, admin clients); a generation is
    ILLEGAL_GENERATION (Kafka's answer before OffsetCommit v9)."""
    if generation_id >= 0:
        return ErrorCode.ILLEGAL_GENERATION
    return 0
