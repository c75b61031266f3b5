"""Legacy MessageSet v0/v1 reading (plain and compressed) through read_batches()."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpy.records import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    CorruptRecordError,
    LegacyBatch,
    RecordBatchBuilder,
    UnsupportedCodecError,
    build_message_set,
    codecs,
    read_batches,
)
from rdpy.records.legacy import encode_message

LEGACY_CODECS = [NONE, GZIP, SNAPPY, LZ4]

msg = st.tuples(st.integers(0, 2**50), st.none() | st.binary(max_size=100), st.none() | st.binary(max_size=200))


def _msgs(base: int, items: list) -> list:  # type: ignore[type-arg]
    return [(base + i, ts, k, v) for i, (ts, k, v) in enumerate(items)]


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", LEGACY_CODECS)
@settings(max_examples=25, deadline=None)
@given(items=st.lists(msg, min_size=1, max_size=20), base=st.integers(0, 2**40))
def test_round_trip(magic: int, codec: int, items: list, base: int) -> None:  # type: ignore[type-arg]
    messages = _msgs(base, items)
    blob = build_message_set(magic, messages, compression=codec)
    batches = list(read_batches(blob, check_crcs=True))
    assert all(isinstance(b, LegacyBatch) and b.magic == magic for b in batches)
    assert len(batches) == (len(messages) if codec == NONE else 1)
    recs = [r for b in batches for r in b.records()]
    expected_ts = [ts if magic == 1 else -1 for (_, ts, _, _) in messages]
    assert [(r.offset, r.key, r.value, r.headers) for r in recs] == [
        (o, k, v, ()) for (o, _, k, v) in messages
    ]
    assert [r.timestamp for r in recs] == expected_ts
    tstype = TIMESTAMP_CREATE_TIME if magic == 1 else TIMESTAMP_NOT_AVAILABLE
    assert {r.timestamp_type for r in recs} == {tstype}
    assert batches[0].base_offset == messages[0][0]
    assert batches[-1].last_offset == messages[-1][0]
    assert sum(b.record_count for b in batches) == len(messages)
    b = batches[-1]
    assert (b.producer_id, b.is_transactional, b.is_control) == (-1, False, False)
    assert b.compression == codec


def test_v1_compressed_relative_offsets() -> None:
    # Inner relative offsets 0..2, wrapper offset 1002 -> absolute 1000..1002.
    messages = [(1000, 5, b"a", b"1"), (1001, 6, b"b", b"2"), (1002, 7, None, b"3")]
    (batch,) = read_batches(build_message_set(1, messages, compression=GZIP))
    assert [r.offset for r in batch.records()] == [1000, 1001, 1002]
    assert (batch.base_offset, batch.last_offset) == (1000, 1002)
    assert (batch.base_timestamp, batch.max_timestamp) == (5, 7)


def test_v1_log_append_time_wrapper() -> None:
    messages = [(0, 5, None, b"a"), (1, 9, None, b"b")]
    (batch,) = read_batches(build_message_set(1, messages, GZIP, TIMESTAMP_LOG_APPEND_TIME))
    assert batch.timestamp_type == TIMESTAMP_LOG_APPEND_TIME
    assert [(r.timestamp, r.timestamp_type) for r in batch.records()] == [(9, 1), (9, 1)]


def test_v0_lz4_uses_broken_header_checksum() -> None:
    blob = build_message_set(0, [(0, -1, None, b"x" * 100)], compression=LZ4)
    (batch,) = read_batches(blob, check_crcs=True)
    assert batch.records()[0].value == b"x" * 100


def test_mixed_magic_blob_with_truncated_tail() -> None:
    v0 = build_message_set(0, [(0, -1, b"k0", b"v0")])
    v1 = build_message_set(1, [(1, 11, b"k1", b"v1"), (2, 12, b"k2", b"v2")], compression=SNAPPY)
    b = RecordBatchBuilder(compression=LZ4)
    b.append(13, b"k3", b"v3", [("h", b"x")])
    v2 = b.build(base_offset=3)
    v1b = build_message_set(1, [(4, 14, None, b"v4")])
    blob = v0 + v1 + v2 + v1b
    batches = list(read_batches(blob, check_crcs=True))
    assert [b.magic for b in batches] == [0, 1, 2, 1]
    recs = [r for bt in batches for r in bt.records()]
    assert [(r.offset, r.value) for r in recs] == [(i, b"v%d" % i) for i in range(5)]
    assert recs[3].headers == (("h", b"x"),)
    for cut in range(1, len(v1b)):
        assert len(list(read_batches(blob[: len(blob) - cut]))) == 3


def test_crc_mismatch() -> None:
    blob = bytearray(build_message_set(1, [(0, 1, b"k", b"value")]))
    blob[-2] ^= 0xFF
    (batch,) = read_batches(bytes(blob))
    assert not batch.validate_crc()
    with pytest.raises(CorruptRecordError, match="CRC mismatch in magic 1 batch at offset 0"):
        list(read_batches(bytes(blob), check_crcs=True))


def test_inner_crc_mismatch_reported() -> None:
    inner = bytearray(encode_message(0, 1, 0, 1, None, b"abc"))
    inner[-1] ^= 1
    wrapper = encode_message(0, 1, GZIP, 1, None, codecs.compress(GZIP, bytes(inner)))
    (batch,) = read_batches(wrapper)
    assert not batch.validate_crc()


@pytest.mark.parametrize(
    "blob,match",
    [
        (encode_message(0, 1, 0, 1, b"k", b"v")[:-1], None),  # truncated tail: ignored
        (b"\x00" * 8 + (5).to_bytes(4, "big") + b"\x00" * 5, "bad message size"),
        (
            encode_message(5, 1, GZIP, 1, None, b"not gzip at all"),
            "message at offset 5: gzip",
        ),
        (encode_message(5, 1, GZIP, 1, None, None), "has no value"),
        (
            encode_message(5, 1, GZIP, 1, None, codecs.compress(GZIP, b"\x00" * 30)),
            "truncated inner message|bad message size|unknown magic",
        ),
        (
            encode_message(
                5, 1, GZIP, 1, None,
                codecs.compress(GZIP, encode_message(0, 1, GZIP, 1, None, b"x")),
            ),
            "nested compression",
        ),
    ],
)
def test_malformed(blob: bytes, match: str | None) -> None:
    if match is None:
        assert list(read_batches(blob)) == []
        return
    with pytest.raises(CorruptRecordError, match=match):
        list(read_batches(blob))


def test_bad_key_length() -> None:
    good = bytearray(encode_message(0, 0, 0, 0, b"k", b"v"))
    good[18:22] = (100).to_bytes(4, "big")  # key length past the message
    with pytest.raises(CorruptRecordError, match="key length 100 out of bounds"):
        list(read_batches(bytes(good)))


def test_unknown_legacy_codec() -> None:
    with pytest.raises(UnsupportedCodecError):
        list(read_batches(encode_message(0, 1, 5, 1, None, b"x")))


def test_writer_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        encode_message(0, 2, 0, 0, None, None)
    with pytest.raises(ValueError):
        build_message_set(1, [], compression=GZIP)


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", [NONE, GZIP])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_random_corruption_raises_only_corrupt(magic: int, codec: int, data: st.DataObject) -> None:
    messages = [(i, i, b"k%d" % i, b"v" * i) for i in range(8)]
    blob = bytearray(build_message_set(magic, messages, compression=codec))
    for _ in range(data.draw(st.integers(1, 4))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        for batch in read_batches(bytes(blob)):
            assert len(batch.records()) <= 8
    except (CorruptRecordError, UnsupportedCodecError):
        pass
