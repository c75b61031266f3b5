"""One partition's log for the mock cluster: pure logic, no sockets, threads or clocks.

The log stores the RecordBatches producers sent, each rewritten only where Kafka rewrites it
without touching the CRC (baseOffset, bytes 0..7, and partitionLeaderEpoch, bytes 12..15; the
CRC covers bytes 21..end). Offsets are contiguous: every offset in [log start, high watermark)
belongs to exactly one stored batch, control batches (transaction markers) included.

Idempotence follows Kafka's ProducerStateManager: per producer id the current epoch and the
last five batches' sequence ranges. Transactions: a transactional batch opens its producer's
transaction at the batch's base offset; a marker (COMMIT/ABORT control batch) closes it, and an
ABORT records (producer id, first offset, marker offset) in the aborted-transaction index that
read_committed fetches consult. The last stable offset (LSO) is the first offset of the oldest
open transaction, or the high watermark when none is open.

Callers own the locking (the cluster state's lock) and pass the wall clock in as `now_ms`.
"""

from __future__ import annotations

import bisect
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from rdpy.errors import ErrorCode
from rdpy.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    Record,
    RecordBatch,
    RecordBatchBuilder,
    RecordError,
    encode_control_key,
    encode_end_txn_marker,
    codecs,
    read_batches,
)

__all__ = [
    "READ_COMMITTED",
    "READ_UNCOMMITTED",
    "AbortedTxn",
    "AppendResult",
    "BrokerError",
    "FetchSlice",
    "PartitionLog",
    "StoredBatch",
]

READ_UNCOMMITTED = 0
READ_COMMITTED = 1

#: Kafka keeps the sequence ranges of this many recent batches per producer to recognise
#: retries (librdkafka caps max.in.flight at 5 with idempotence for the same reason).
PRODUCER_BATCH_CACHE = 5
#: Kafka's default message.max.bytes (1 MB plus the batch header allowance).
DEFAULT_MAX_BATCH_BYTES = 1_048_588

_BASE_OFFSET = struct.Struct(">q")
_LEADER_EPOCH_POS = 12
_LEADER_EPOCH = struct.Struct(">i")
_INT32_MAX = 0x7FFFFFFF
_ZSTD = codecs.ZSTD


class BrokerError(Exception):
    """A request the mock broker refuses; `code` is the Kafka error code to answer with."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredBatch:
    """A batch as stored: its wire bytes (offsets assigned) and what lookups need."""

    base_offset: int
    last_offset: int
    data: bytes
    producer_id: int
    is_transactional: bool
    is_control: bool
    max_timestamp: int


class AbortedTxn(NamedTuple):
    """An aborted transaction's range in this partition; last_offset is its ABORT marker."""

    producer_id: int
    first_offset: int
    last_offset: int


class AppendResult(NamedTuple):
    base_offset: int
    #: -1: every topic here uses CreateTime, so the producer's timestamps are kept.
    log_append_time_ms: int
    #: True when the batch was a retry of one already stored (answered with its offset).
    duplicate: bool


@dataclass
class FetchSlice:
    """What a fetch returns for one partition."""

    records: bytes
    #: Offset of the last record returned, -1 when nothing was returned.
    last_offset: int
    #: read_committed: aborted transactions overlapping the returned range; None otherwise
    #: (Kafka sends a null list to read_uncommitted fetches).
    aborted: list[AbortedTxn] | None


class _CachedBatch(NamedTuple):
    first_seq: int
    last_seq: int
    base_offset: int


@dataclass
class _ProducerState:
    epoch: int
    batches: deque[_CachedBatch] = field(default_factory=lambda: deque(maxlen=PRODUCER_BATCH_CACHE))

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1


def _records(stored: StoredBatch) -> list[Record]:
    """The records of a stored batch (or of a stored message set of the old formats)."""
    return [rec for entry in read_batches(stored.data) for rec in entry.records()]


def _next_seq(seq: int) -> int:
    """Sequence numbers wrap from 2**31-1 to 0 (Kafka's DefaultRecordBatch.incrementSequence)."""
    return 0 if seq == _INT32_MAX else seq + 1


class PartitionLog:
    """A partition's batches, watermarks, producer state and transaction index.

    Not thread-safe: the cluster state's lock guards every call.
    """

    def __init__(self, max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> None:
        self.max_batch_bytes = max_batch_bytes
        self.log_start_offset = 0
        self._end_offset = 0  # next offset to assign == high watermark (no followers to wait for)
        self._batches: list[StoredBatch] = []
        self._last_offsets: list[int] = []  # parallel to _batches, for bisect
        self._producers: dict[int, _ProducerState] = {}
        self._open_txns: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self._aborted: list[AbortedTxn] = []  # in the order the aborts completed (Kafka's index)

    # --- watermarks ---------------------------------------------------------------------------

    @property
    def high_watermark(self) -> int:
        return self._end_offset

    @property
    def last_stable_offset(self) -> int:
        if not self._open_txns:
            return self._end_offset
        return min(self._open_txns.values())

    def fetch_upper_bound(self, isolation_level: int) -> int:
        """The first offset a consumer of that isolation level may not read."""
        return self.last_stable_offset if isolation_level == READ_COMMITTED else self._end_offset

    @property
    def batches(self) -> tuple[StoredBatch, ...]:
        return tuple(self._batches)

    @property
    def aborted_transactions(self) -> tuple[AbortedTxn, ...]:
        return tuple(self._aborted)

    @property
    def open_transactions(self) -> dict[int, int]:
        """Producer id -> first offset of its open transaction (a copy)."""
        return dict(self._open_txns)

    # --- appending ----------------------------------------------------------------------------

    def append(self, data: bytes, leader_epoch: int = 0, allow_zstd: bool = True) -> AppendResult:
        """Validate a produced RecordBatch and store it at the end of the log.

        Raises BrokerError with the error code Kafka answers a bad batch with. A retry of one of
        the producer's last five batches is not stored again: its original offset is returned.
        `allow_zstd` is False for Produce requests older than v7, which may not carry zstd.
        """
        batch = self._parse_produced(data)
        if batch.compression == _ZSTD and not allow_zstd:
            raise BrokerError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7+")
        pid = batch.producer_id
        if pid >= 0:
            dup = self._check_producer(batch)
            if dup is not None:
                return AppendResult(dup, -1, True)
        elif batch.is_transactional:
            raise BrokerError(ErrorCode.INVALID_RECORD, "transactional batch without a producer id")
        base = self._store(batch, data, leader_epoch)
        if pid >= 0:
            self._remember(batch, base)
        if batch.is_transactional:
            self._open_txns.setdefault(pid, base)
        return AppendResult(base, -1, False)

    def append_marker(
        self,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
        now_ms: int,
        coordinator_epoch: int = 0,
        leader_epoch: int = 0,
    ) -> int:
        """Write a COMMIT or ABORT control batch for `producer_id`; returns its offset.

        Closes the producer's open transaction here (if it wrote anything to this partition)
        and, on abort, records it in the aborted-transaction index.
        """
        state = self._producers.get(producer_id)
        if state is not None and producer_epoch < state.epoch:
            raise BrokerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                           f"marker epoch {producer_epoch} < producer epoch {state.epoch}")
        builder = RecordBatchBuilder(producer_id=producer_id, producer_epoch=producer_epoch,
                                     base_sequence=-1, transactional=True, is_control=True)
        builder.append(now_ms, encode_control_key(CONTROL_COMMIT if commit else CONTROL_ABORT),
                       encode_end_txn_marker(coordinator_epoch))
        wire = builder.build()
        parsed = RecordBatch(wire)
        offset = self._store(parsed, wire, leader_epoch)
        if state is None:
            self._producers[producer_id] = _ProducerState(producer_epoch)
        elif producer_epoch > state.epoch:
            # A marker with a bumped epoch (the coordinator fencing a producer) starts a new
            # epoch, whose first batch must have sequence 0.
            self._producers[producer_id] = _ProducerState(producer_epoch)
        first = self._open_txns.pop(producer_id, None)
        if first is not None and not commit:
            self._aborted.append(AbortedTxn(producer_id, first, offset))
        return offset

    def append_stored(self, data: bytes) -> int:
        """Store `data` exactly as given and return its first offset: what a broker serves
        from disk without looking inside, such as message sets in the old formats (magic 0/1)
        written before an upgrade, or a batch damaged on disk -- nothing is checked but the
        framing and the offsets, which must continue the log. For tests of consumers; Produce
        always goes through append()'s validation."""
        try:
            entries = list(read_batches(data))
        except RecordError as e:
            raise ValueError(f"not a message set: {e}") from None
        if not entries or sum(e.size_in_bytes for e in entries) != len(data):
            raise ValueError("data must be whole batches or messages, with nothing left over")
        expected = self._end_offset
        for entry in entries:
            if entry.base_offset != expected or entry.last_offset < entry.base_offset:
                raise ValueError(f"offsets {entry.base_offset}..{entry.last_offset} do not "
                                 f"continue the log at {expected}")
            expected = entry.last_offset + 1
        stored = StoredBatch(entries[0].base_offset, entries[-1].last_offset, bytes(data), -1,
                             False, False, max(e.max_timestamp for e in entries))
        self._batches.append(stored)
        self._last_offsets.append(stored.last_offset)
        self._end_offset = stored.last_offset + 1
        return stored.base_offset

    def _parse_produced(self, data: bytes) -> RecordBatch:
        """The single v2 batch a Produce v3+ partition must hold, fully validated."""
        if len(data) > self.max_batch_bytes:
            raise BrokerError(ErrorCode.MSG_SIZE_TOO_LARGE,
                           f"batch of {len(data)} bytes exceeds {self.max_batch_bytes}")
        try:
            batches = list(read_batches(data))
        except RecordError as e:
            raise BrokerError(ErrorCode.INVALID_MSG, f"corrupt batch: {e}") from None
        if len(batches) != 1 or batches[0].size_in_bytes != len(data):
            raise BrokerError(ErrorCode.INVALID_RECORD,
                           "a produced partition must hold exactly one whole record batch")
        batch = batches[0]
        if not isinstance(batch, RecordBatch):
            raise BrokerError(ErrorCode.INVALID_RECORD, f"magic {batch.magic} batch: v2 required")
        if not batch.validate_crc():
            raise BrokerError(ErrorCode.INVALID_MSG, "record batch CRC mismatch")
        if batch.is_control:
            raise BrokerError(ErrorCode.INVALID_RECORD, "clients may not produce control batches")
        self._check_records(batch)
        return batch

    @staticmethod
    def _check_records(batch: RecordBatch) -> None:
        """Decode every record (decompressing if needed): offset deltas must be 0..n-1."""
        try:
            records = batch.records()
        except RecordError as e:
            raise BrokerError(ErrorCode.INVALID_MSG, f"corrupt records: {e}") from None
        if not records or batch.last_offset - batch.base_offset != len(records) - 1:
            raise BrokerError(ErrorCode.INVALID_RECORD,
                           f"{len(records)} records but lastOffsetDelta "
                           f"{batch.last_offset - batch.base_offset}")
        for i, rec in enumerate(records):
            if rec.offset - batch.base_offset != i:
                raise BrokerError(ErrorCode.INVALID_RECORD,
                               f"record {i} has offset delta {rec.offset - batch.base_offset}")

    def _check_producer(self, batch: RecordBatch) -> int | None:
        """Kafka's epoch and sequence checks; the original base offset of a recent duplicate."""
        state = self._producers.get(batch.producer_id)
        if state is None:
            # Unknown producer (new, or its state was lost): Kafka accepts any sequence.
            return None
        epoch = batch.producer_epoch
        if epoch < state.epoch:
            raise BrokerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                           f"producer epoch {epoch} is older than {state.epoch}")
        first = batch.base_sequence
        last = first + batch.record_count - 1
        if last > _INT32_MAX:
            last -= _INT32_MAX + 1
        if epoch > state.epoch:
            if first != 0:
                raise BrokerError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                               f"new epoch {epoch} must start at sequence 0, not {first}")
            return None
        for cached in state.batches:
            if cached.first_seq == first and cached.last_seq == last:
                return cached.base_offset
        expected = _next_seq(state.last_seq)
        if first != expected:
            if state.batches and first < expected and last < expected:
                # A retry older than the cached batches: already stored. Kafka answers
                # OUT_OF_ORDER_SEQUENCE_NUMBER here, which producers treat as fatal for what
                # is a harmless duplicate; librdkafka counts DUPLICATE as delivered.
                raise BrokerError(ErrorCode.DUPLICATE_SEQUENCE_NUMBER,
                               f"sequence {first}..{last} was already written")
            raise BrokerError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                           f"expected sequence {expected}, got {first}")
        return None

    def _remember(self, batch: RecordBatch, base_offset: int) -> None:
        state = self._producers.get(batch.producer_id)
        if state is None or batch.producer_epoch > state.epoch:
            state = _ProducerState(batch.producer_epoch)
            self._producers[batch.producer_id] = state
        first = batch.base_sequence
        last = first + batch.record_count - 1
        if last > _INT32_MAX:
            last -= _INT32_MAX + 1
        state.batches.append(_CachedBatch(first, last, base_offset))

    def _store(self, batch: RecordBatch, data: bytes, leader_epoch: int) -> int:
        """Assign offsets by rewriting baseOffset and the leader epoch (outside the CRC)."""
        base = self._end_offset
        buf = bytearray(data)
        _BASE_OFFSET.pack_into(buf, 0, base)
        _LEADER_EPOCH.pack_into(buf, _LEADER_EPOCH_POS, leader_epoch)
        count = batch.last_offset - batch.base_offset + 1
        stored = StoredBatch(base, base + count - 1, bytes(buf), batch.producer_id,
                             batch.is_transactional, batch.is_control, batch.max_timestamp)
        self._batches.append(stored)
        self._last_offsets.append(stored.last_offset)
        self._end_offset = stored.last_offset + 1
        return base

    # --- reading ------------------------------------------------------------------------------

    def check_fetch_offset(self, offset: int) -> None:
        """OFFSET_OUT_OF_RANGE unless log start <= offset <= high watermark."""
        if offset < self.log_start_offset or offset > self._end_offset:
            raise BrokerError(ErrorCode.OFFSET_OUT_OF_RANGE,
                           f"offset {offset} outside [{self.log_start_offset}, "
                           f"{self._end_offset}]")

    def read(self, offset: int, max_bytes: int, isolation_level: int,
             min_one_batch: bool) -> FetchSlice:
        """Whole batches from the one holding `offset`, below the isolation level's bound.

        At most `max_bytes`, except that with `min_one_batch` the first batch is returned even
        when it is larger (KIP-74: a consumer must always make progress). Kafka may also cut
        the last batch short at the byte limit; this log never does.
        """
        self.check_fetch_offset(offset)
        upper = self.fetch_upper_bound(isolation_level)
        i = bisect.bisect_left(self._last_offsets, offset)
        chunks: list[bytes] = []
        size = 0
        last = -1
        while i < len(self._batches):
            batch = self._batches[i]
            if batch.base_offset >= upper:
                break
            n = len(batch.data)
            if size + n > max_bytes and not (min_one_batch and not chunks):
                break
            chunks.append(batch.data)
            size += n
            last = batch.last_offset
            i += 1
        aborted = None
        if isolation_level == READ_COMMITTED:
            aborted = self.aborted_in_range(offset, last) if chunks else []
        return FetchSlice(b"".join(chunks), last, aborted)

    def aborted_in_range(self, first: int, last: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping [first, last] (Kafka's TransactionIndex lookup:
        the transaction ends at or after the fetch offset and starts at or before the last
        offset returned)."""
        return [t for t in self._aborted if t.last_offset >= first and t.first_offset <= last]

    def readable_bytes(self, offset: int, isolation_level: int, limit: int) -> int:
        """Bytes a fetch at `offset` could return now (up to `limit`), for min_bytes."""
        upper = self.fetch_upper_bound(isolation_level)
        i = bisect.bisect_left(self._last_offsets, offset)
        size = 0
        while i < len(self._batches) and size < limit:
            batch = self._batches[i]
            if batch.base_offset >= upper:
                break
            size += len(batch.data)
            i += 1
        return size

    # --- offset lookups (ListOffsets) ---------------------------------------------------------

    def offset_for_timestamp(self, timestamp: int, isolation_level: int) -> tuple[int, int]:
        """(offset, timestamp) of the first record whose timestamp is >= `timestamp`, or
        (-1, -1) when there is none below the isolation level's bound. Control batches count,
        as in Kafka's time index (a consumer starting at a marker simply skips it)."""
        upper = self.fetch_upper_bound(isolation_level)
        for batch in self._batches:
            if batch.base_offset >= upper:
                break
            if batch.max_timestamp < timestamp:
                continue
            for rec in _records(batch):
                if rec.timestamp >= timestamp:
                    if rec.offset >= upper:
                        return -1, -1
                    return rec.offset, rec.timestamp
        return -1, -1

    def max_timestamp_offset(self, isolation_level: int) -> tuple[int, int]:
        """(offset, timestamp) of the first record with the largest timestamp (ListOffsets
        v7's MAX_TIMESTAMP), or (-1, -1) for an empty log."""
        upper = self.fetch_upper_bound(isolation_level)
        best_ts = -1
        best: StoredBatch | None = None
        for batch in self._batches:
            if batch.base_offset >= upper:
                break
            if batch.max_timestamp > best_ts:
                best_ts, best = batch.max_timestamp, batch
        if best is None:
            return -1, -1
        for rec in _records(best):
            if rec.timestamp == best_ts:
                return rec.offset, rec.timestamp
        return best.last_offset, best_ts  # pragma: no cover - max_timestamp is a record's
