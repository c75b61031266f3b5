"""Interop with kafka-python's record codec (an independent implementation of the same formats)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import codec as kp_codec
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatch, LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from rdpy.records import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    ZSTD,
    RecordBatchBuilder,
    build_message_set,
    read_batches,
)

KP_AVAILABLE = {
    NONE: True,
    GZIP: kp_codec.has_gzip(),
    SNAPPY: kp_codec.has_snappy(),
    LZ4: kp_codec.has_lz4(),
    ZSTD: kp_codec.has_zstd(),
}
ALL = [NONE, GZIP, SNAPPY, LZ4, ZSTD]
HAS_XXHASH = kp_codec.xxhash is not None


def kp_param(codec: int) -> object:
    return pytest.param(
        codec,
        marks=pytest.mark.skipif(
            not KP_AVAILABLE[codec], reason=f"kafka-python lacks the library for codec {codec}"
        ),
    )


KP_CODECS = [kp_param(c) for c in ALL]

record = st.tuples(
    st.integers(0, 2**42),
    st.none() | st.binary(max_size=200),
    st.none() | st.binary(max_size=200),
    st.lists(st.tuples(st.text(max_size=10), st.none() | st.binary(max_size=20)), max_size=3),
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("codec", ALL)  # kafka-python only needs the codec to *read*
@SETTINGS
@given(records=st.lists(record, min_size=1, max_size=25), base=st.integers(0, 2**40))
def test_rdpy_built_read_by_kafka_python(codec: int, records: list, base: int) -> None:  # type: ignore[type-arg]
    if not KP_AVAILABLE[codec]:
        pytest.skip(f"kafka-python cannot decompress codec {codec} here")
    b = RecordBatchBuilder(compression=codec, producer_id=11, producer_epoch=2, base_sequence=7)
    for ts, k, v, h in records:
        b.append(ts, k, v, h)
    kb = DefaultRecordBatch(b.build(base_offset=base))
    assert kb.validate_crc()
    assert (kb.base_offset, kb.compression_type, kb.producer_id, kb.producer_epoch,
            kb.base_sequence) == (base, codec, 11, 2, 7)
    assert kb.first_timestamp == records[0][0]
    assert kb.max_timestamp == max(r[0] for r in records)
    assert kb.last_offset_delta == len(records) - 1
    got = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in kb]
    assert got == [(base + i, ts, k, v, h) for i, (ts, k, v, h) in enumerate(records)]


@pytest.mark.parametrize("codec", KP_CODECS)
@pytest.mark.parametrize("transactional", [False, True])
@SETTINGS
@given(records=st.lists(record, min_size=1, max_size=25))
def test_kafka_python_built_read_by_rdpy(codec: int, transactional: bool, records: list) -> None:  # type: ignore[type-arg]
    b = DefaultRecordBatchBuilder(2, codec, transactional, 99, 3, 1000, 1 << 30)
    for i, (ts, k, v, h) in enumerate(records):
        b.append(i, ts, k, v, h)
    raw = bytes(b.build())
    (batch,) = read_batches(raw, check_crcs=True)
    # kafka-python sends uncompressed when compression does not pay off (librdkafka does too).
    assert batch.compression == DefaultRecordBatch(raw).compression_type in (codec, NONE)
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (99, 3, 1000)
    assert batch.is_transactional == transactional
    got = [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in batch.records()]
    assert got == [(i, ts, k, v, tuple(h)) for i, (ts, k, v, h) in enumerate(records)]


@pytest.mark.parametrize("codec", KP_CODECS)
def test_identical_uncompressed_bytes(codec: int) -> None:
    """For the same input both builders emit the same records section (and, uncompressed, the
    same batch bytes)."""
    records = [(1000 + i, b"key%d" % i, b"value" * i, [("h", b"x")] if i % 3 else []) for i in range(50)]
    ours = RecordBatchBuilder(compression=codec, partition_leader_epoch=0)  # kafka-python writes 0
    theirs = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, 1 << 30)
    for i, (ts, k, v, h) in enumerate(records):
        ours.append(ts, k, v, h)
        theirs.append(i, ts, k, v, h)
    a, b = ours.build(), bytes(theirs.build())
    if codec == NONE:
        assert a == b
    else:
        assert next(read_batches(b)).compression == codec
    ra = next(read_batches(a)).records()
    rb = next(read_batches(b)).records()
    assert ra == rb


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", [kp_param(c) for c in (NONE, GZIP, SNAPPY, LZ4)])
def test_kafka_python_legacy_read_by_rdpy(magic: int, codec: int) -> None:
    if magic == 0 and codec == LZ4 and not HAS_XXHASH:
        pytest.skip("kafka-python needs xxhash for magic 0 lz4")
    b = LegacyRecordBatchBuilder(magic, codec, 1 << 20)
    msgs = [(i, 1_600_000_000_000 + i, b"k%d" % i if i % 2 else None, b"v" * i) for i in range(10)]
    for off, ts, k, v in msgs:
        b.append(off, ts, k, v)
    blob = bytes(b.build())
    if magic == 1 and codec != NONE:
        # A producer writes wrapper offset 0; the broker rewrites it to the last absolute offset
        # (inner offsets stay relative). The offset is not covered by the CRC.
        blob = (9).to_bytes(8, "big") + blob[8:]
    recs = [r for bt in read_batches(blob, check_crcs=True) for r in bt.records()]
    assert [(r.offset, r.key, r.value) for r in recs] == [(o, k, v) for (o, _, k, v) in msgs]
    if magic == 1:
        assert [r.timestamp for r in recs] == [t for (_, t, _, _) in msgs]


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", [kp_param(c) for c in (NONE, GZIP, SNAPPY, LZ4)])
def test_rdpy_legacy_read_by_kafka_python(magic: int, codec: int) -> None:
    if magic == 0 and codec == LZ4 and not HAS_XXHASH:
        pytest.skip("kafka-python needs xxhash for magic 0 lz4")
    msgs = [(500 + i, 1_600_000_000_000 + i, b"k%d" % i, b"v" * i) for i in range(10)]
    blob = build_message_set(magic, msgs, compression=codec)
    mr = MemoryRecords(blob)
    got = []
    while True:
        batch = mr.next_batch()
        if batch is None:
            break
        assert isinstance(batch, LegacyRecordBatch)
        for r in batch:
            assert r.validate_crc()
            got.append((r.offset, r.key, r.value))
    assert got == [(o, k, v) for (o, _, k, v) in msgs]


def test_mixed_blob_read_by_both() -> None:
    parts = [build_message_set(1, [(0, 1, None, b"a")], compression=GZIP)]
    b = RecordBatchBuilder(compression=LZ4)
    b.append(2, None, b"b")
    parts.append(b.build(base_offset=1))
    blob = b"".join(parts)
    ours = [(r.offset, r.value) for bt in read_batches(blob) for r in bt.records()]
    mr = MemoryRecords(blob)
    theirs = []
    while (bt := mr.next_batch()) is not None:
        theirs.extend((r.offset, r.value) for r in bt)
    assert ours == theirs == [(0, b"a"), (1, b"b")]


def _zstd_stream(data: bytes) -> bytes:
    import cramjam

    c = cramjam.zstd.Compressor()
    c.compress(data)
    return bytes(c.finish())  # streaming frame: no content size in the header


@pytest.mark.parametrize(
    "codec,encoder,name",
    [
        (SNAPPY, "xerial", "snappy"),  # what the Java producer writes
        (ZSTD, "stream", "zstd"),
    ],
)
def test_kafka_python_builder_with_java_style_compressors(
    codec: int, encoder: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka-python's batch builder, its compressor swapped for Java-style framing: xerial
    snappy blocks and zstd frames without a content size both decode."""
    import kafka.record.default_records as kdr

    from rdpy.records.codecs import snappy_xerial_compress

    enc = (lambda d: snappy_xerial_compress(d, block_size=1000)) if encoder == "xerial" else _zstd_stream
    monkeypatch.setattr(kp_codec, f"has_{name}", lambda: True)
    monkeypatch.setattr(kdr, f"{name}_encode", enc)
    records = [(1000 + i, b"k%d" % i, b"value-%d " % i * 20, [("h", None)]) for i in range(300)]
    b = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, 1 << 30)
    for i, (ts, k, v, h) in enumerate(records):
        b.append(i, ts, k, v, h)
    (batch,) = read_batches(bytes(b.build()), check_crcs=True)
    assert batch.compression == codec
    got = [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in batch.records()]
    assert got == [(i, ts, k, v, tuple(h)) for i, (ts, k, v, h) in enumerate(records)]
