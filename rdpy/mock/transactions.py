"""A transactional producer as the mock cluster's transaction coordinator keeps it: its id and
epoch, the transaction's state, and the partitions and groups the open transaction touches.

The transitions that concern one transaction alone are here; what crosses families (fencing by
InitProducerId, markers written to partition logs, group offsets applied at the end) is the
cluster state's (state.py), which owns the transactions by transactional id. No sockets; the
cluster state's lock guards everything here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from rdpy.errors import ErrorCode
from rdpy.mock.log import BrokerError

__all__ = ["Transaction", "TxnState"]


class TxnState(enum.Enum):
    EMPTY = "Empty"
    ONGOING = "Ongoing"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"


@dataclass
class Transaction:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    partitions: set[tuple[str, int]] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def begin(self) -> None:
        """The first partition or group added opens the transaction (a no-op while open)."""
        if self.state is not TxnState.ONGOING:
            self.state = TxnState.ONGOING
            self.partitions.clear()
            self.groups.clear()

    def completed(self, commit: bool) -> None:
        """Markers written and offsets settled: the transaction is over."""
        self.state = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        self.partitions.clear()
        self.groups.clear()

    def check_retry(self, commit: bool) -> None:
        """EndTxn on a transaction not open: a retry of the outcome it already had succeeds,
        anything else is INVALID_TXN_STATE."""
        done = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
        if self.state is not done:
            raise BrokerError(ErrorCode.INVALID_TXN_STATE,
                              f"cannot {'commit' if commit else 'abort'} in state "
                              f"{self.state.value}")
