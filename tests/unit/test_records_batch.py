"""RecordBatch v2 builder and reader."""

from __future__ import annotations

import random
import struct
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdpy.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    GZIP,
    HEADER_SIZE,
    LZ4,
    NONE,
    SNAPPY,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    ZSTD,
    CorruptRecordError,
    Record,
    RecordBatch,
    RecordBatchBuilder,
    UnsupportedCodecError,
    codecs,
    decode_control_key,
    encode_control_key,
    encode_end_txn_marker,
    read_batches,
)
import rdpy
from rdpy.message import FetchedMessage, Message
from rdpy.records.crc import crc32c
from rdpy.records.varint import decode_uvarint, encode_varint, zigzag_decode

ALL_CODECS = [NONE, GZIP, SNAPPY, LZ4, ZSTD]

maybe_bytes = st.none() | st.binary(max_size=300)
header = st.tuples(st.text(max_size=20), st.none() | st.binary(max_size=50))
record = st.tuples(
    st.integers(-(2**40), 2**41),  # timestamp deltas well outside the varint table
    maybe_bytes,
    maybe_bytes,
    st.lists(header, max_size=4),
)


def build(records: list, **kw: object) -> bytes:  # type: ignore[type-arg]
    b = RecordBatchBuilder(max_bytes=1 << 30, **kw)  # type: ignore[arg-type]
    for ts, k, v, h in records:
        assert b.append(ts, k, v, h)
    assert b.record_count == len(records)
    return b.build()


def expect(records: list, base_offset: int = 0) -> list[Record]:  # type: ignore[type-arg]
    return [
        Record(base_offset + i, ts, TIMESTAMP_CREATE_TIME, k, v, tuple(h))
        for i, (ts, k, v, h) in enumerate(records)
    ]


@pytest.mark.parametrize("codec", ALL_CODECS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record, min_size=1, max_size=30))
def test_round_trip(codec: int, records: list) -> None:  # type: ignore[type-arg]
    raw = build(records, compression=codec)
    (batch,) = read_batches(raw, check_crcs=True)
    assert isinstance(batch, RecordBatch)
    assert batch.validate_crc()
    assert batch.compression == codec
    assert batch.records() == expect(records)
    assert list(batch) == expect(records)
    assert batch.record_count == len(records)
    assert batch.base_offset == 0 and batch.last_offset == len(records) - 1
    assert batch.base_timestamp == records[0][0]
    assert batch.max_timestamp == max(r[0] for r in records)
    assert batch.size_in_bytes == len(raw)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(-(2**63), 2**63 - 1))
def test_varint_round_trip(n: int) -> None:
    enc = encode_varint(n)
    u, pos = decode_uvarint(enc, 0)
    assert pos == len(enc) and zigzag_decode(u) == n


def test_varint_vectors_and_limits() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(-1) == b"\x01"
    assert encode_varint(1) == b"\x02"
    assert encode_varint(63) == b"\x7e"
    assert encode_varint(-64) == b"\x7f"
    assert encode_varint(64) == b"\x80\x01"
    assert encode_varint(2**31 - 1) == b"\xfe\xff\xff\xff\x0f"
    with pytest.raises(ValueError):
        encode_varint(2**64)
    with pytest.raises(CorruptRecordError, match="longer than 5"):
        decode_uvarint(b"\xff" * 6 + b"\x00", 0, 5)
    with pytest.raises(CorruptRecordError, match="past the end"):
        decode_uvarint(b"\xff\xff", 0)


def test_null_key_value_and_null_header_values() -> None:
    recs = [(5, None, None, []), (6, b"", b"", [("a", None), ("", b""), ("ü", b"\x00")])]
    (batch,) = read_batches(build(recs))
    assert batch.records() == expect(recs)


def test_bytes_like_inputs() -> None:
    b = RecordBatchBuilder()
    b.append(1, bytearray(b"k"), memoryview(b"value"), [("h", bytearray(b"x"))])
    b.append(2, memoryview(b"k2"), bytearray(b"v2"), [("h", memoryview(b"y")), ("i", None)])
    recs = list(read_batches(memoryview(b.build())))[0].records()
    assert [(r.key, r.value, r.headers) for r in recs] == [
        (b"k", b"value", (("h", b"x"),)),
        (b"k2", b"v2", (("h", b"y"), ("i", None))),
    ]
    assert all(type(r.value) is bytes for r in recs)


def test_empty_batch() -> None:
    b = RecordBatchBuilder(compression=LZ4)
    assert b.record_count == 0 and b.size_in_bytes() == HEADER_SIZE
    raw = b.build()
    assert len(raw) == HEADER_SIZE
    (batch,) = read_batches(raw, check_crcs=True)
    assert batch.record_count == 0 and batch.records() == []
    assert batch.compression == NONE  # nothing to compress
    assert batch.last_offset == -1


def test_empty_input_and_tiny_tails() -> None:
    assert list(read_batches(b"")) == []
    raw = build([(1, b"k", b"v", [])])
    for cut in range(len(raw)):
        assert list(read_batches(raw[:cut])) == []


def test_producer_fields_transactional_and_epochs() -> None:
    b = RecordBatchBuilder(
        compression=GZIP,
        producer_id=123456789012,
        producer_epoch=7,
        base_sequence=2**31 - 5,
        transactional=True,
        partition_leader_epoch=42,
    )
    b.append(1000, b"k", b"v")
    b.append(1001, b"k", b"v")
    raw = b.build(base_offset=500)
    (batch,) = read_batches(raw, check_crcs=True)
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (123456789012, 7, 2**31 - 5)
    assert batch.is_transactional and not batch.is_control
    assert batch.partition_leader_epoch == 42
    assert batch.base_offset == 500 and batch.last_offset == 501 and batch.next_offset == 502
    assert [r.offset for r in batch.records()] == [500, 501]
    assert batch.attributes == GZIP | 0x10


def test_set_producer_state() -> None:
    b = RecordBatchBuilder()
    b.append(1, None, b"x")
    b.set_producer_state(9, 1, 100, True)
    (batch,) = read_batches(b.build())
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (9, 1, 100)
    assert batch.is_transactional
    b.set_producer_state(9, 1, 100, False)
    (batch,) = read_batches(b.build())
    assert not batch.is_transactional


def test_idempotent_defaults() -> None:
    (batch,) = read_batches(build([(1, b"k", b"v", [])]))
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (-1, -1, -1)
    assert batch.partition_leader_epoch == -1 and batch.magic == 2


@pytest.mark.parametrize("ctype", [CONTROL_ABORT, CONTROL_COMMIT])
def test_control_batch(ctype: int) -> None:
    b = RecordBatchBuilder(producer_id=77, producer_epoch=3, transactional=True, is_control=True)
    b.append(1234, encode_control_key(ctype), encode_end_txn_marker(coordinator_epoch=5))
    (batch,) = read_batches(b.build(base_offset=10))
    assert batch.is_control and batch.is_transactional
    key = batch.control_record_key()
    assert key is not None and key.type == ctype and key.version == 0
    assert decode_control_key(batch.records()[0].key) == key
    assert batch.records()[0].value == b"\x00\x00\x00\x00\x00\x05"


def test_control_key_errors_and_non_control() -> None:
    with pytest.raises(CorruptRecordError):
        decode_control_key(b"\x00")
    with pytest.raises(CorruptRecordError):
        decode_control_key(None)
    (batch,) = read_batches(build([(1, b"k", b"v", [])]))
    assert batch.control_record_key() is None


def test_timestamps_create_and_log_append() -> None:
    recs = [(1000, None, b"a", []), (900, None, b"b", []), (1500, None, b"c", [])]
    (batch,) = read_batches(build(recs))
    assert batch.timestamp_type == TIMESTAMP_CREATE_TIME
    assert [r.timestamp for r in batch.records()] == [1000, 900, 1500]
    assert batch.base_timestamp == 1000 and batch.max_timestamp == 1500
    (batch,) = read_batches(build(recs, timestamp_type=TIMESTAMP_LOG_APPEND_TIME))
    assert batch.timestamp_type == TIMESTAMP_LOG_APPEND_TIME
    # Log-append time: every record carries the batch's max timestamp (the broker's clock).
    assert [(r.timestamp, r.timestamp_type) for r in batch.records()] == [(1500, 1)] * 3


def test_big_varints() -> None:
    big = b"x" * 70_000  # 3-byte varint lengths
    recs = [(0, big, big, [("k" * 9000, big)]), (2**62, None, b"", [])]
    b = RecordBatchBuilder(max_bytes=1 << 30)
    for ts, k, v, h in recs:
        b.append(ts, k, v, h)
    for _ in range(20_000):  # offset deltas beyond the 2-byte table
        b.append(5, None, None)
    (batch,) = read_batches(b.build())
    got = batch.records()
    assert got[:2] == expect(recs)
    assert got[-1].offset == 20_001 and got[-1].timestamp == 5


def test_max_bytes_limit() -> None:
    b = RecordBatchBuilder(max_bytes=HEADER_SIZE + 50)
    assert b.append(1, None, b"x" * 500)  # the first record is always accepted
    assert not b.append(1, None, b"y")
    assert b.record_count == 1
    b = RecordBatchBuilder(max_bytes=1000)
    n = 0
    while b.append(10 + n, b"key", b"v" * 40, [("h", b"1")]):
        n += 1
        assert b.size_in_bytes() <= 1000
    assert b.record_count == n
    raw = b.build()
    assert len(raw) == b.size_in_bytes() <= 1000
    (batch,) = read_batches(raw)
    assert len(batch.records()) == n
    assert batch.max_timestamp == 10 + n - 1  # a rejected record leaves no trace


def test_estimate_record_size_is_an_upper_bound() -> None:
    b = RecordBatchBuilder()
    for k, v, h in [(None, None, None), (b"k" * 300, b"v" * 20000, [("hé", b"x" * 300), ("n", None)])]:
        before = b.size_in_bytes()
        b.append(2**40, k, v, h)
        assert b.size_in_bytes() - before <= RecordBatchBuilder.estimate_record_size(k, v, h)


def test_compression_fallback() -> None:
    rnd = random.Random(1)
    data = bytes(rnd.getrandbits(8) for _ in range(2000))
    b = RecordBatchBuilder(compression=GZIP, compression_fallback=True)
    b.append(1, None, data)
    (batch,) = read_batches(b.build())
    assert batch.compression == NONE and batch.records()[0].value == data
    b = RecordBatchBuilder(compression=GZIP, compression_fallback=True)
    b.append(1, None, b"a" * 2000)
    (batch,) = read_batches(b.build())
    assert batch.compression == GZIP and batch.records()[0].value == b"a" * 2000


def test_unknown_codec_rejected() -> None:
    with pytest.raises(UnsupportedCodecError):
        RecordBatchBuilder(compression=5)
    raw = bytearray(build([(1, b"k", b"v", [])]))
    raw[22] |= 0x06  # codec 6
    raw[17:21] = struct.pack(">I", crc32c(bytes(raw[21:])))
    (batch,) = read_batches(bytes(raw), check_crcs=True)
    with pytest.raises(UnsupportedCodecError):
        batch.records()


# --- multiple batches, truncation ------------------------------------------------------------------


def test_concatenated_batches_and_truncated_tail() -> None:
    parts = []
    offset = 0
    for i, codec in enumerate(ALL_CODECS * 2):
        recs = [(100 + j, b"k%d" % j, b"v%d-%d" % (i, j), []) for j in range(i + 1)]
        b = RecordBatchBuilder(compression=codec)
        for r in recs:
            b.append(*r)
        parts.append(b.build(base_offset=offset))
        offset += len(recs)
    blob = b"".join(parts)
    batches = list(read_batches(blob, check_crcs=True))
    assert [b.compression for b in batches] == ALL_CODECS * 2
    offsets = [r.offset for bt in batches for r in bt.records()]
    assert offsets == list(range(offset))
    # A partial trailing batch (fetch size limit) is silently dropped, wherever the cut falls.
    last = len(parts[-1])
    for cut in (1, 11, 12, 17, 61, last - 1):
        got = list(read_batches(blob[: len(blob) - last + cut]))
        assert len(got) == len(parts) - 1


# --- corruption -------------------------------------------------------------------------------------


def test_crc_mismatch_detected() -> None:
    raw = bytearray(build([(1, b"key", b"value", [])]))
    raw[-3] ^= 0x01
    (batch,) = read_batches(bytes(raw))
    assert not batch.validate_crc()
    with pytest.raises(CorruptRecordError, match="CRC mismatch"):
        batch.ensure_valid_crc()
    with pytest.raises(CorruptRecordError, match="CRC mismatch .* offset 0"):
        list(read_batches(bytes(raw), check_crcs=True))


def test_partition_leader_epoch_not_covered_by_crc() -> None:
    raw = bytearray(build([(1, b"key", b"value", [])]))
    raw[12:16] = struct.pack(">i", 99)
    (batch,) = read_batches(bytes(raw), check_crcs=True)
    assert batch.partition_leader_epoch == 99


def _with_records(records_bytes: bytes, count: int) -> bytes:
    """A v2 batch with hand-made record bytes (valid CRC)."""
    body = struct.pack(">hiqqqhii", 0, max(count - 1, 0), 0, 0, -1, -1, -1, count) + records_bytes
    crc = crc32c(body)
    return struct.pack(">qiibI", 0, 9 + len(body), -1, 2, crc) + body


def _rec(body: bytes) -> bytes:
    return encode_varint(len(body)) + body


GOOD = b"\x00" + b"\x00" + b"\x00" + b"\x02k" + b"\x02v" + b"\x00"  # attrs ts off key val hdrs


@pytest.mark.parametrize(
    "records_bytes,count,match",
    [
        (_rec(GOOD), 2, "record count 2 exceeds"),
        (_rec(GOOD), -1, "record count -1"),
        (_rec(GOOD) * 2, 1, "bytes left after 1 records"),
        (encode_varint(500) + GOOD, 1, "record length 500 out of bounds"),
        (encode_varint(-3) + GOOD, 1, "record length -3"),
        (_rec(GOOD + b"\x00"), 1, "span 9 bytes, not the 10 its length says"),
        (_rec(b"\x00\x00\x00\x03k\x02v\x00"), 1, "negative key length"),
        (_rec(b"\x00\x00\x00\x02k\x05v\x00"), 1, "negative value length"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x03"), 1, "header count -2"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x7e"), 1, "header count 63 out of bounds"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x02\x02\xff\x00"), 1, "not valid UTF-8"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x02\x02a\x05"), 1, "negative header value length"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x02\x02a\x20xx"), 1, "header value runs past"),
        (_rec(b"\x00\x00\x00\x02k\x02v\x02\x20a\x00"), 1, "header key runs past"),
        (_rec(b"\x00" + b"\xff" * 11 + b"\x00\x02k\x02v\x00"), 1, "longer than 10 bytes"),
        (_rec(b"\x00\x00" + b"\xff" * 6 + b"\x00\x02k\x02v\x00"), 1, "longer than 5 bytes"),
        (_rec(b"\x00\x00\x00\x7ek\x02v\x00"), 1, "runs past the end"),
        (b"\x0e\x00\x00\x00\x02k\x02", 1, "record length 7 out of bounds"),
    ],
)
def test_malformed_records(records_bytes: bytes, count: int, match: str) -> None:
    raw = _with_records(records_bytes, count)
    (batch,) = read_batches(raw, check_crcs=True)
    with pytest.raises(CorruptRecordError, match=match):
        batch.records()


def test_hand_made_batch_is_valid() -> None:
    (batch,) = read_batches(_with_records(_rec(GOOD) * 3, 3), check_crcs=True)
    assert [(r.key, r.value) for r in batch.records()] == [(b"k", b"v")] * 3


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda r: r[:8] + struct.pack(">i", -5) + r[12:], "negative batch length"),
        (lambda r: r[:8] + struct.pack(">i", 20) + r[12:32], "below the minimum"),
        (lambda r: r[:16] + b"\x07" + r[17:], "unknown magic 7"),
        (lambda r: r[:16] + b"\x03" + r[17:], "unknown magic 3"),
    ],
)
def test_malformed_batch_headers(mutate, match: str) -> None:  # type: ignore[no-untyped-def]
    raw = build([(1, b"k", b"v", [])])
    with pytest.raises(CorruptRecordError, match=match):
        list(read_batches(mutate(raw)))


def test_corrupt_compressed_payload() -> None:
    raw = bytearray(build([(1, b"k", b"v" * 100, [])], compression=LZ4))
    raw[HEADER_SIZE + 8 :] = b"\xff" * (len(raw) - HEADER_SIZE - 8)
    (batch,) = read_batches(bytes(raw))
    with pytest.raises(CorruptRecordError, match="batch at offset 0: lz4"):
        batch.records()


def test_direct_record_batch_errors() -> None:
    raw = build([(1, b"k", b"v", [])])
    with pytest.raises(CorruptRecordError, match="shorter than its header"):
        RecordBatch(raw[:40])
    with pytest.raises(CorruptRecordError, match="does not match"):
        RecordBatch(raw + b"\x00")
    assert RecordBatch(raw).raw == raw


@pytest.mark.parametrize("codec", [NONE, GZIP, LZ4])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_corruption_never_hangs_or_escapes(codec: int, data: st.DataObject) -> None:
    recs = [(i, b"k%d" % i, b"v" * i, [("h", b"x")] if i % 2 else []) for i in range(12)]
    raw = bytearray(build(recs, compression=codec))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(HEADER_SIZE - 4, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        for batch in read_batches(bytes(raw)):
            recs_out = batch.records()
            assert len(recs_out) <= 12
    except CorruptRecordError:
        pass


def test_records_is_a_fresh_list() -> None:
    (batch,) = read_batches(build([(1, b"k", b"v", [])]))
    a = batch.records()
    a.clear()
    assert len(batch.records()) == 1


def test_repr() -> None:
    (batch,) = read_batches(build([(1, b"k", b"v", [])], compression=SNAPPY))
    assert "magic=2" in repr(batch) and "codec=2" in repr(batch)


def test_builder_snapshots_mutable_inputs() -> None:
    key, value, hval = bytearray(b"key"), bytearray(b"value"), bytearray(b"h")
    b = RecordBatchBuilder()
    b.append(1, key, value, [("h", hval)])
    key[0] = value[0] = hval[0] = ord("X")
    (rec,) = next(read_batches(b.build())).records()
    assert (rec.key, rec.value, rec.headers) == (b"key", b"value", (("h", b"h"),))


# --- decode_into: the consumer's message-building form of the same decoder -------------------


def _as_message(rec: Record, topic: str, partition: int, leader_epoch: int | None) -> Message:
    """What the consumer must hand out for `rec`, built with the public constructor."""
    return Message(topic, partition, rec.offset, rec.key, rec.value,
                   list(rec.headers) if rec.headers else None, None,
                   (rec.timestamp_type + 1, rec.timestamp), -1.0,
                   -1 if leader_epoch is None else leader_epoch)


@pytest.mark.parametrize("codec", ALL_CODECS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record, min_size=1, max_size=30), data=st.data())
def test_decode_into_agrees_with_records(codec: int, records: list, data: st.DataObject) -> None:  # type: ignore[type-arg]
    log_append = data.draw(st.booleans())
    base = data.draw(st.integers(0, 2**40))
    raw = bytearray(build(records, compression=codec,
                          timestamp_type=TIMESTAMP_LOG_APPEND_TIME if log_append else TIMESTAMP_CREATE_TIME))
    struct.pack_into(">q", raw, 0, base)  # the broker's offset assignment (not under the CRC)
    (batch,) = read_batches(bytes(raw), check_crcs=True)
    assert isinstance(batch, RecordBatch)
    min_offset = base + data.draw(st.integers(0, len(records)))
    leader_epoch = data.draw(st.none() | st.integers(0, 2**31 - 1))
    out: list[Message] = [Message("earlier")]
    size = batch.decode_into(out, FetchedMessage, "t", 3, leader_epoch, min_offset)
    want = [_as_message(r, "t", 3, leader_epoch) for r in batch.records() if r.offset >= min_offset]
    assert out[0] == Message("earlier") and out[1:] == want
    assert all(type(m) is FetchedMessage and m.latency() is None and m.error() is None
               and m.delivery_count() is None for m in out[1:])
    assert size == sum(len(m.value()) for m in want if m.value() is not None)


def test_decode_into_shares_equal_timestamps_but_not_headers() -> None:
    raw = build([(1000, None, b"a", [("h", b"1")]), (1000, None, b"b", [("h", b"1")]),
                 (1001, None, b"c", [])])
    (batch,) = read_batches(raw)
    assert isinstance(batch, RecordBatch)
    out: list[Message] = []
    batch.decode_into(out, FetchedMessage, "t", 0, None, 0)
    assert [m.timestamp() for m in out] == [(rdpy.TIMESTAMP_CREATE_TIME, 1000)] * 2 + [
        (rdpy.TIMESTAMP_CREATE_TIME, 1001)]
    assert out[0].headers() == out[1].headers() == [("h", b"1")]
    assert out[0].headers() is not out[1].headers()  # each message owns its list
    assert out[2].headers() is None


@pytest.mark.parametrize("records_bytes, count, match", [
    (_rec(b"\x00\x00\x00\x7ek\x02v\x00"), 1, "runs past the end"),
    (b"\x0e\x00\x00\x00\x02k\x02", 1, "record length 7 out of bounds"),
])
def test_decode_into_rejects_malformed_records(records_bytes: bytes, count: int, match: str) -> None:
    (batch,) = read_batches(_with_records(records_bytes, count), check_crcs=True)
    assert isinstance(batch, RecordBatch)
    with pytest.raises(CorruptRecordError, match=match):
        batch.decode_into([], FetchedMessage, "t", 0, None, 0)


@pytest.mark.parametrize("codec", [NONE, LZ4])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record, min_size=1, max_size=30), chunk=st.integers(1, 7))
def test_reader_chunks_add_up_to_the_batch(codec: int, records: list, chunk: int) -> None:  # type: ignore[type-arg]
    (batch,) = read_batches(build(records, compression=codec))
    assert isinstance(batch, RecordBatch)
    reader = batch.reader()
    got: list[Record] = []
    sizes = []
    while reader.remaining:
        before = len(got)
        reader.read_into(got, chunk)
        sizes.append(len(got) - before)
    assert got == batch.records()
    assert all(n == chunk for n in sizes[:-1]) and 0 < sizes[-1] <= chunk
    assert reader.read_into(got, chunk) == 0 and len(got) == len(records)


def test_reader_reports_the_record_index_within_the_batch() -> None:
    good = build([(0, None, b"v%d" % i, []) for i in range(3)])
    raw = bytearray(good)
    raw[-4] = 0x7E  # the third record's value length now runs past the batch
    (batch,) = read_batches(bytes(raw))
    assert isinstance(batch, RecordBatch)
    reader = batch.reader()
    out: list[Record] = []
    reader.read_into(out, 2)
    assert [r.value for r in out] == [b"v0", b"v1"]
    with pytest.raises(CorruptRecordError, match="record 2 "):
        reader.read_into(out, 2)
