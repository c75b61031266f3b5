"""Compression codecs and checksums of the record layer."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import cramjam
import lz4.frame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpy.records import codecs
from rdpy.records.crc import crc32, crc32c, crc32c_extend
from rdpy.records.errors import CorruptRecordError, UnsupportedCodecError

ALL = [codecs.NONE, codecs.GZIP, codecs.SNAPPY, codecs.LZ4, codecs.ZSTD]


@pytest.mark.parametrize("codec", ALL)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000) | st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=20), st.integers(1, 9000)))
def test_round_trip(codec: int, data: bytes) -> None:
    assert codecs.decompress(codec, codecs.compress(codec, data)) == data


@pytest.mark.parametrize("codec", ALL)
def test_round_trip_large_and_levels(codec: int) -> None:
    data = b"".join(b"record %d some text " % i for i in range(50_000))  # ~1 MB, several blocks
    for level in (None, 1):
        out = codecs.compress(codec, data, level)
        assert codecs.decompress(codec, out) == data
        assert codecs.decompress(codec, bytearray(out)) == data
        assert codecs.decompress(codec, memoryview(out)) == data


def test_gzip_is_a_gzip_stream_and_members_concatenate() -> None:
    out = codecs.compress(codecs.GZIP, b"hello")
    assert out[:2] == b"\x1f\x8b"
    assert zlib.decompress(out, 31) == b"hello"
    two = out + codecs.compress(codecs.GZIP, b" world")
    assert codecs.decompress(codecs.GZIP, two) == b"hello world"


def test_snappy_writes_raw_blocks_like_librdkafka() -> None:
    data = b"abc" * 1000
    out = codecs.compress(codecs.SNAPPY, data)
    assert not out.startswith(b"\x82SNAPPY\x00")
    assert bytes(cramjam.snappy.decompress_raw(out)) == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=100_000), block=st.sampled_from([1, 7, 1024, 32 * 1024]))
def test_snappy_reads_xerial_framing(data: bytes, block: int) -> None:
    framed = codecs.snappy_xerial_compress(data, block_size=block)
    assert framed.startswith(b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01")
    assert codecs.decompress(codecs.SNAPPY, framed) == data


def test_snappy_xerial_truncated_block_is_corrupt() -> None:
    framed = codecs.snappy_xerial_compress(b"x" * 100_000)
    with pytest.raises(CorruptRecordError, match="xerial"):
        codecs.decompress(codecs.SNAPPY, framed[:-10])


def test_lz4_frame_is_kip57_compatible() -> None:
    out = codecs.compress(codecs.LZ4, b"q" * 200_000)
    assert out[:4] == b"\x04\x22\x4d\x18"
    flg, bd = out[4], out[5]
    assert flg & 0x20  # independent blocks
    assert not flg & 0x08 and not flg & 0x04  # no content size, no content checksum
    assert bd == 0x40  # 64 KiB blocks
    assert lz4.frame.decompress(out) == b"q" * 200_000


def test_lz4_legacy_broken_header_checksum() -> None:
    data = b"legacy lz4 " * 50
    broken = codecs.compress(codecs.LZ4, data, legacy_lz4=True)
    with pytest.raises(RuntimeError):
        lz4.frame.decompress(broken)  # a strict reader rejects the Kafka 0.8 header checksum
    assert codecs.decompress(codecs.LZ4, broken, legacy_lz4=True) == data
    # The legacy reader also accepts correct frames.
    assert codecs.decompress(codecs.LZ4, codecs.compress(codecs.LZ4, data), legacy_lz4=True) == data


def test_xxh32_vectors() -> None:
    assert codecs.xxh32(b"") == 0x02CC5D05
    assert codecs.xxh32(b"a") == 0x550D7456
    assert codecs.xxh32(b"abc") == 0x32D153FF
    assert codecs.xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F


def test_zstd_frame_without_content_size() -> None:
    c = cramjam.zstd.Compressor()
    data = b"streamed zstd frame " * 5000
    c.compress(data)
    frame = bytes(c.finish())
    assert frame[4] & 0xC0 == 0  # frame header: no frame content size
    assert codecs.decompress(codecs.ZSTD, frame) == data


@pytest.mark.parametrize("codec", [codecs.GZIP, codecs.SNAPPY, codecs.LZ4, codecs.ZSTD])
@pytest.mark.parametrize("garbage", [b"", b"\xff", b"garbage garbage garbage", bytes(range(256))])
def test_garbage_is_corrupt(codec: int, garbage: bytes) -> None:
    with pytest.raises(CorruptRecordError):
        codecs.decompress(codec, garbage)


@pytest.mark.parametrize("codec", [codecs.GZIP, codecs.SNAPPY, codecs.LZ4, codecs.ZSTD])
def test_truncated_is_corrupt(codec: int) -> None:
    out = codecs.compress(codec, bytes(range(256)) * 400)
    with pytest.raises(CorruptRecordError):
        codecs.decompress(codec, out[: len(out) - 5])


@pytest.mark.parametrize("codec", [5, 6, 7, -1])
def test_unknown_codec(codec: int) -> None:
    with pytest.raises(UnsupportedCodecError):
        codecs.compress(codec, b"x")
    with pytest.raises(UnsupportedCodecError):
        codecs.decompress(codec, b"x")


def test_codec_ids_and_names() -> None:
    assert [codecs.codec_id(n) for n in ("none", "gzip", "snappy", "lz4", "ZSTD")] == ALL
    assert codecs.codec_id(3) == 3
    with pytest.raises(UnsupportedCodecError):
        codecs.codec_id("brotli")
    with pytest.raises(UnsupportedCodecError):
        codecs.codec_id(9)


def test_crcs() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # CRC-32C check value
    assert crc32(b"123456789") == 0xCBF43926  # CRC-32 check value
    assert crc32c(bytearray(b"123456789")) == crc32c(memoryview(b"x123456789")[1:]) == 0xE3069283
    assert crc32c_extend(crc32c(b"1234"), b"56789") == 0xE3069283


def test_records_package_imports_no_io_module() -> None:
    probe = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import rdpy.records\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    forbidden = {"socket", "threading", "_thread", "ssl", "select", "selectors", "time",
                 "asyncio", "gzip", "logging"}
    assert loaded & forbidden == set()
