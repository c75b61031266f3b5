"""read_committed: which batches of a fetched partition a consumer may deliver (sans-I/O).

A Fetch response under READ_COMMITTED lists, per partition, the aborted transactions that
overlap the returned records: (producer id, first offset). Following the Java client: walking
the batches in offset order, a producer id becomes "aborting" once a batch at or after that
first offset is reached, its transactional batches are skipped, and its ABORT control batch
ends the aborted transaction. Control batches are never delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rdpy.records.batch import CONTROL_ABORT, Batch

__all__ = ["committed_batches"]


def committed_batches(batches: Iterable[Batch],
                      aborted: Iterable[tuple[int, int]]) -> Iterator[tuple[Batch, bool]]:
    """Yield (batch, deliver) for every batch: deliver is False for control batches and for
    transactional batches of aborted transactions. `aborted`: (producer_id, first_offset)."""
    pending = sorted((first, pid) for pid, first in aborted)
    aborting: set[int] = set()
    for batch in batches:
        while pending and pending[0][0] <= batch.last_offset:
            aborting.add(pending.pop(0)[1])
        if batch.is_control:
            key = batch.control_record_key()
            if key is not None and key.type == CONTROL_ABORT:
                aborting.discard(batch.producer_id)
            yield batch, False
        elif batch.is_transactional and batch.producer_id in aborting:
            yield batch, False
        else:
            yield batch, True
