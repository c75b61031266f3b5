"""The mock cluster's partition log (rdpy.mock.log): offsets, validation, idempotence and the
transaction index, without sockets."""

from __future__ import annotations

import struct

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock.log import READ_COMMITTED, READ_UNCOMMITTED, AbortedTxn, BrokerError, PartitionLog
from rdpy.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    RecordBatch,
    RecordBatchBuilder,
    build_message_set,
    codecs,
    decode_control_key,
    read_batches,
)

T0 = 1_700_000_000_000


def batch(n: int = 1, *, pid: int = -1, epoch: int = -1, seq: int = -1, txn: bool = False,
          ts: int = T0, codec: int = codecs.NONE, tag: bytes = b"v") -> bytes:
    b = RecordBatchBuilder(compression=codec, producer_id=pid, producer_epoch=epoch,
                           base_sequence=seq, transactional=txn)
    for i in range(n):
        assert b.append(ts + i, b"k%d" % i, tag + b"%d" % i, [("h", b"x")])
    return b.build()


def offsets_of(records: bytes) -> list[tuple[int, int]]:
    return [(b.base_offset, b.last_offset) for b in read_batches(records)]


def code_of(excinfo: pytest.ExceptionInfo[BrokerError]) -> ErrorCode:
    return ErrorCode(excinfo.value.code)


# --- offsets and reading ----------------------------------------------------------------------


def test_append_assigns_contiguous_offsets_without_touching_the_crc() -> None:
    log = PartitionLog()
    assert log.append(batch(3), leader_epoch=7).base_offset == 0
    assert log.append(batch(2)).base_offset == 3
    assert (log.log_start_offset, log.last_stable_offset, log.high_watermark) == (0, 5, 5)
    stored = log.batches
    assert [(b.base_offset, b.last_offset) for b in stored] == [(0, 2), (3, 4)]
    first = RecordBatch(stored[0].data)
    assert first.validate_crc()
    assert first.partition_leader_epoch == 7
    assert [(r.offset, r.value) for r in first.records()] == [(0, b"v0"), (1, b"v1"), (2, b"v2")]
    assert [r.offset for r in RecordBatch(stored[1].data).records()] == [3, 4]


def test_read_returns_whole_batches_from_the_one_holding_the_offset() -> None:
    log = PartitionLog()
    for _ in range(3):
        log.append(batch(4))  # offsets 0-3, 4-7, 8-11
    got = log.read(5, 1 << 20, READ_UNCOMMITTED, min_one_batch=True)
    assert offsets_of(got.records) == [(4, 7), (8, 11)]
    assert got.last_offset == 11
    assert got.aborted is None  # read_uncommitted: Kafka sends a null list


def test_read_limits_bytes_but_returns_the_first_batch_whole() -> None:
    log = PartitionLog()
    for _ in range(3):
        log.append(batch(4))
    size = len(log.batches[0].data)
    assert offsets_of(log.read(0, 2 * size, READ_UNCOMMITTED, True).records) == [(0, 3), (4, 7)]
    assert offsets_of(log.read(0, 2 * size - 1, READ_UNCOMMITTED, True).records) == [(0, 3)]
    assert offsets_of(log.read(0, 10, READ_UNCOMMITTED, True).records) == [(0, 3)]
    nothing = log.read(0, 10, READ_UNCOMMITTED, min_one_batch=False)
    assert (nothing.records, nothing.last_offset) == (b"", -1)


def test_read_at_the_end_is_empty_and_beyond_it_out_of_range() -> None:
    log = PartitionLog()
    log.append(batch(2))
    assert log.read(2, 1000, READ_UNCOMMITTED, True).records == b""
    with pytest.raises(BrokerError) as e:
        log.read(3, 1000, READ_UNCOMMITTED, True)
    assert code_of(e) == ErrorCode.OFFSET_OUT_OF_RANGE
    with pytest.raises(BrokerError) as e:
        log.read(-1, 1000, READ_UNCOMMITTED, True)
    assert code_of(e) == ErrorCode.OFFSET_OUT_OF_RANGE


def test_readable_bytes_counts_up_to_the_isolation_bound() -> None:
    log = PartitionLog()
    log.append(batch(1))
    log.append(batch(1, pid=5, epoch=0, seq=0, txn=True))
    first = len(log.batches[0].data)
    assert log.readable_bytes(0, READ_UNCOMMITTED, 1 << 20) == first + len(log.batches[1].data)
    assert log.readable_bytes(0, READ_COMMITTED, 1 << 20) == first
    assert log.readable_bytes(1, READ_COMMITTED, 1 << 20) == 0


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [codecs.NONE, codecs.GZIP, codecs.SNAPPY, codecs.LZ4, codecs.ZSTD])
def test_every_codec_is_accepted_and_kept_as_sent(codec: int) -> None:
    log = PartitionLog()
    wire = batch(5, codec=codec)
    log.append(wire)
    stored = log.batches[0].data
    # Only the base offset (0 already) and the leader epoch (-1 -> 0) are rewritten.
    assert (stored[:12], stored[16:]) == (wire[:12], wire[16:])
    assert RecordBatch(stored).partition_leader_epoch == 0
    assert [r.value for r in RecordBatch(stored).records()] == [b"v%d" % i for i in range(5)]


def test_zstd_is_refused_to_produce_requests_older_than_v7() -> None:
    with pytest.raises(BrokerError) as e:
        PartitionLog().append(batch(1, codec=codecs.ZSTD), allow_zstd=False)
    assert code_of(e) == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


def test_a_corrupted_batch_is_refused() -> None:
    wire = bytearray(batch(2))
    wire[-1] ^= 0xFF
    with pytest.raises(BrokerError) as e:
        PartitionLog().append(bytes(wire))
    assert code_of(e) == ErrorCode.INVALID_MSG


def test_the_partition_data_must_be_exactly_one_v2_batch() -> None:
    log = PartitionLog()
    for bad in (batch(1) + batch(1), batch(2)[:-3], build_message_set(1, [(0, T0, b"k", b"v")])):
        with pytest.raises(BrokerError) as e:
            log.append(bad)
        assert code_of(e) in (ErrorCode.INVALID_RECORD, ErrorCode.INVALID_MSG), bad
    assert log.high_watermark == 0


def test_clients_may_not_write_control_batches() -> None:
    b = RecordBatchBuilder(producer_id=1, producer_epoch=0, transactional=True, is_control=True)
    b.append(T0, b"\0\0\0\1", b"\0\0\0\0\0\0")
    with pytest.raises(BrokerError) as e:
        PartitionLog().append(b.build())
    assert code_of(e) == ErrorCode.INVALID_RECORD


def test_a_batch_whose_record_count_lies_is_refused() -> None:
    wire = bytearray(batch(3))
    struct.pack_into(">i", wire, 23, 5)  # lastOffsetDelta: claims 6 records
    from rdpy.records import crc32c

    struct.pack_into(">I", wire, 17, crc32c(bytes(wire[21:])))
    with pytest.raises(BrokerError) as e:
        PartitionLog().append(bytes(wire))
    assert code_of(e) == ErrorCode.INVALID_RECORD


def test_batches_above_the_size_limit_are_refused() -> None:
    with pytest.raises(BrokerError) as e:
        PartitionLog(max_batch_bytes=100).append(batch(10))
    assert code_of(e) == ErrorCode.MSG_SIZE_TOO_LARGE


# --- idempotence ------------------------------------------------------------------------------


def test_in_sequence_batches_are_appended_and_a_recent_retry_gets_its_offset_back() -> None:
    log = PartitionLog()
    assert log.append(batch(2, pid=9, epoch=0, seq=0)).base_offset == 0
    assert log.append(batch(3, pid=9, epoch=0, seq=2)).base_offset == 2
    retry = log.append(batch(2, pid=9, epoch=0, seq=0))
    assert (retry.base_offset, retry.duplicate) == (0, True)
    assert log.high_watermark == 5


def test_a_sequence_gap_is_out_of_order() -> None:
    log = PartitionLog()
    log.append(batch(2, pid=9, epoch=0, seq=0))
    with pytest.raises(BrokerError) as e:
        log.append(batch(1, pid=9, epoch=0, seq=3))
    assert code_of(e) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_a_retry_older_than_the_five_cached_batches_is_a_duplicate() -> None:
    log = PartitionLog()
    for i in range(6):
        log.append(batch(1, pid=9, epoch=0, seq=i))
    with pytest.raises(BrokerError) as e:
        log.append(batch(1, pid=9, epoch=0, seq=0))
    assert code_of(e) == ErrorCode.DUPLICATE_SEQUENCE_NUMBER
    assert log.append(batch(1, pid=9, epoch=0, seq=1)).duplicate  # still cached
    assert log.high_watermark == 6


def test_an_older_epoch_is_fenced_and_a_new_epoch_starts_at_sequence_zero() -> None:
    log = PartitionLog()
    log.append(batch(1, pid=9, epoch=1, seq=0))
    with pytest.raises(BrokerError) as e:
        log.append(batch(1, pid=9, epoch=0, seq=1))
    assert code_of(e) == ErrorCode.INVALID_PRODUCER_EPOCH
    with pytest.raises(BrokerError) as e:
        log.append(batch(1, pid=9, epoch=2, seq=1))
    assert code_of(e) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.append(batch(1, pid=9, epoch=2, seq=0)).base_offset == 1


def test_an_unknown_producer_may_start_at_any_sequence() -> None:
    """As Kafka: its state may have been lost (retention), so the first batch is trusted."""
    log = PartitionLog()
    assert log.append(batch(1, pid=9, epoch=0, seq=41)).base_offset == 0
    assert log.append(batch(1, pid=9, epoch=0, seq=42)).base_offset == 1


def test_sequences_wrap_after_int32_max() -> None:
    log = PartitionLog()
    log.append(batch(2, pid=9, epoch=0, seq=0x7FFFFFFE))  # 2**31-2, 2**31-1
    assert log.append(batch(1, pid=9, epoch=0, seq=0)).base_offset == 2


# --- transactions -----------------------------------------------------------------------------


def test_an_open_transaction_holds_the_last_stable_offset() -> None:
    log = PartitionLog()
    log.append(batch(2))  # 0-1
    log.append(batch(2, pid=5, epoch=0, seq=0, txn=True))  # 2-3, open
    log.append(batch(1))  # 4
    assert (log.last_stable_offset, log.high_watermark) == (2, 5)
    committed = log.read(0, 1 << 20, READ_COMMITTED, True)
    assert offsets_of(committed.records) == [(0, 1)]
    assert committed.aborted == []
    assert offsets_of(log.read(0, 1 << 20, READ_UNCOMMITTED, True).records) == [(0, 1), (2, 3), (4, 4)]
    assert log.read(2, 1 << 20, READ_COMMITTED, True).records == b""  # between LSO and HW
    assert log.fetch_upper_bound(READ_COMMITTED) == 2


def test_commit_marker_ends_the_transaction_without_an_index_entry() -> None:
    log = PartitionLog()
    log.append(batch(2, pid=5, epoch=0, seq=0, txn=True))
    assert log.append_marker(5, 0, commit=True, now_ms=T0 + 50) == 2
    assert (log.last_stable_offset, log.high_watermark) == (3, 3)
    assert log.aborted_transactions == ()
    marker = RecordBatch(log.batches[-1].data)
    assert marker.validate_crc()
    assert (marker.is_control, marker.is_transactional, marker.producer_id, marker.producer_epoch) == (
        True, True, 5, 0)
    assert decode_control_key(marker.records()[0].key).type == CONTROL_COMMIT
    assert marker.records()[0].value == b"\0\0\0\0\0\0"  # EndTxnMarker v0, coordinator epoch 0


def test_abort_marker_indexes_the_aborted_range() -> None:
    log = PartitionLog()
    log.append(batch(1))  # 0
    log.append(batch(2, pid=5, epoch=0, seq=0, txn=True))  # 1-2
    log.append(batch(2, pid=5, epoch=0, seq=2, txn=True))  # 3-4
    assert log.append_marker(5, 0, commit=False, now_ms=T0) == 5
    assert log.aborted_transactions == (AbortedTxn(5, 1, 5),)
    assert decode_control_key(RecordBatch(log.batches[-1].data).records()[0].key).type == CONTROL_ABORT
    got = log.read(0, 1 << 20, READ_COMMITTED, True)
    assert offsets_of(got.records) == [(0, 0), (1, 2), (3, 4), (5, 5)]
    assert got.aborted == [AbortedTxn(5, 1, 5)]


def test_aborted_transactions_are_listed_only_where_they_overlap_the_fetch() -> None:
    log = PartitionLog()
    log.append(batch(1, pid=5, epoch=0, seq=0, txn=True))  # 0
    log.append_marker(5, 0, commit=False, now_ms=T0)  # 1
    log.append(batch(1))  # 2
    log.append(batch(1, pid=6, epoch=0, seq=0, txn=True))  # 3
    log.append_marker(6, 0, commit=False, now_ms=T0)  # 4
    assert log.aborted_in_range(0, 0) == [AbortedTxn(5, 0, 1)]
    assert log.aborted_in_range(1, 2) == [AbortedTxn(5, 0, 1)]  # ends at the fetch offset
    assert log.aborted_in_range(2, 2) == []
    assert log.aborted_in_range(2, 3) == [AbortedTxn(6, 3, 4)]  # starts at the last offset
    assert log.aborted_in_range(0, 4) == [AbortedTxn(5, 0, 1), AbortedTxn(6, 3, 4)]
    size = len(log.batches[2].data)
    assert log.read(2, size, READ_COMMITTED, True).aborted == []  # only offset 2 returned


def test_interleaved_transactions_keep_the_oldest_open_one_as_lso() -> None:
    log = PartitionLog()
    log.append(batch(1, pid=5, epoch=0, seq=0, txn=True))  # 0
    log.append(batch(1, pid=6, epoch=0, seq=0, txn=True))  # 1
    log.append(batch(1, pid=5, epoch=0, seq=1, txn=True))  # 2
    log.append_marker(6, 0, commit=True, now_ms=T0)  # 3
    assert log.last_stable_offset == 0
    log.append_marker(5, 0, commit=False, now_ms=T0)  # 4
    assert log.last_stable_offset == log.high_watermark == 5
    assert log.aborted_transactions == (AbortedTxn(5, 0, 4),)
    assert log.open_transactions == {}


def test_a_marker_for_a_partition_the_producer_never_wrote_indexes_nothing() -> None:
    log = PartitionLog()
    assert log.append_marker(5, 0, commit=False, now_ms=T0) == 0
    assert log.aborted_transactions == ()
    assert log.high_watermark == 1


def test_a_marker_with_a_bumped_epoch_fences_the_old_producer() -> None:
    log = PartitionLog()
    log.append(batch(1, pid=5, epoch=0, seq=0, txn=True))
    log.append_marker(5, 1, commit=False, now_ms=T0)  # coordinator aborts and bumps the epoch
    with pytest.raises(BrokerError) as e:
        log.append(batch(1, pid=5, epoch=0, seq=1, txn=True))
    assert code_of(e) == ErrorCode.INVALID_PRODUCER_EPOCH
    with pytest.raises(BrokerError) as e:
        log.append_marker(5, 0, commit=True, now_ms=T0)
    assert code_of(e) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert log.append(batch(1, pid=5, epoch=1, seq=0, txn=True)).base_offset == 2


def test_a_transactional_batch_needs_a_producer_id() -> None:
    with pytest.raises(BrokerError) as e:
        PartitionLog().append(batch(1, txn=True))
    assert code_of(e) == ErrorCode.INVALID_RECORD


# --- offsets by time --------------------------------------------------------------------------


def test_offset_for_timestamp_finds_the_first_record_at_or_after_it() -> None:
    log = PartitionLog()
    log.append(batch(3, ts=T0))  # T0, T0+1, T0+2 at 0-2
    log.append(batch(3, ts=T0 + 100))  # 3-5
    assert log.offset_for_timestamp(0, READ_UNCOMMITTED) == (0, T0)
    assert log.offset_for_timestamp(T0 + 1, READ_UNCOMMITTED) == (1, T0 + 1)
    assert log.offset_for_timestamp(T0 + 3, READ_UNCOMMITTED) == (3, T0 + 100)
    assert log.offset_for_timestamp(T0 + 102, READ_UNCOMMITTED) == (5, T0 + 102)
    assert log.offset_for_timestamp(T0 + 103, READ_UNCOMMITTED) == (-1, -1)
    assert log.max_timestamp_offset(READ_UNCOMMITTED) == (5, T0 + 102)


def test_offset_lookups_stop_at_the_last_stable_offset_for_read_committed() -> None:
    log = PartitionLog()
    log.append(batch(1, ts=T0))
    log.append(batch(1, pid=5, epoch=0, seq=0, txn=True, ts=T0 + 10))
    assert log.offset_for_timestamp(T0 + 5, READ_UNCOMMITTED) == (1, T0 + 10)
    assert log.offset_for_timestamp(T0 + 5, READ_COMMITTED) == (-1, -1)
    assert log.max_timestamp_offset(READ_COMMITTED) == (0, T0)
    assert PartitionLog().max_timestamp_offset(READ_UNCOMMITTED) == (-1, -1)


def test_append_stored_keeps_old_formats_and_damaged_batches_as_given() -> None:
    log = PartitionLog()
    log.append(batch(2))
    legacy = build_message_set(1, [(2, T0, b"k", b"a"), (3, T0 + 5, None, b"b")], compression=codecs.GZIP)
    assert log.append_stored(legacy) == 2
    damaged = bytearray(batch(1))
    struct.pack_into(">q", damaged, 0, 4)
    damaged[-3] ^= 0xFF  # inside the record: the CRC no longer matches
    assert log.append_stored(bytes(damaged)) == 4
    assert log.high_watermark == 5
    got = log.read(2, 1 << 20, READ_UNCOMMITTED, True)
    assert got.records == legacy + bytes(damaged) and got.last_offset == 4
    assert log.offset_for_timestamp(T0 + 2, READ_UNCOMMITTED) == (3, T0 + 5)  # inside the old set
    with pytest.raises(ValueError, match="do not continue the log at 5"):
        log.append_stored(build_message_set(0, [(7, -1, None, b"gap")]))
    with pytest.raises(ValueError, match="nothing left over"):
        log.append_stored(build_message_set(0, [(5, -1, None, b"x")]) + b"\x00" * 10)
    with pytest.raises(ValueError, match="not a message set"):
        log.append_stored(build_message_set(0, [(5, -1, None, b"x")]) + b"\x00" * 20)
