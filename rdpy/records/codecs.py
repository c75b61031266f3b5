"""Compression codecs for Kafka record data (attributes bits 0-2).

- gzip: zlib with a gzip wrapper (wbits=31); the `gzip` module is not used (it imports `time`).
- snappy: written as raw snappy blocks, as librdkafka does (rd_kafka_snappy_compress_slice in
  rdkafka_msgset_writer.c); read as either raw snappy or the xerial framing the Java client writes
  (magic b"\\x82SNAPPY\\x00", version, compat, then [int32 BE length][raw block]...).
- lz4: LZ4 frames (KIP-57) with independent 64 KiB blocks, no content size and no content
  checksum, which every Kafka client reads. For legacy magic-0 message sets Kafka 0.8-0.10 wrote
  a wrong frame header checksum (computed over the magic bytes too); `decompress(...,
  legacy_lz4=True)` repairs it before decoding, and `compress(..., legacy_lz4=True)` reproduces it.
- zstd: cramjam's streaming decoder, so frames without a content size decode.

The codec libraries (cramjam, lz4) are imported when a batch first needs them, by the function
that uses them: importing both costs more than the rest of rdpy.records, and a client uses one
codec or none. After the first use such an import is a dictionary lookup in sys.modules.
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Optional, Union

from rdpy.records.errors import CorruptRecordError, UnsupportedCodecError

__all__ = [
    "NONE",
    "GZIP",
    "SNAPPY",
    "LZ4",
    "ZSTD",
    "CODEC_NAMES",
    "codec_id",
    "compress",
    "decompress",
    "snappy_xerial_compress",
    "xxh32",
]

NONE = 0
GZIP = 1
SNAPPY = 2
LZ4 = 3
ZSTD = 4

CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
_BY_NAME = {v: k for k, v in CODEC_NAMES.items()}

BytesLike = Union[bytes, bytearray, memoryview]

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_I32 = struct.Struct(">i")

_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_ZSTD_DEFAULT_LEVEL = 3  # zstd's own default; cramjam's default (11) is far slower


def codec_id(name_or_id: Union[str, int]) -> int:
    """Map a `compression.codec` name ('none', 'gzip', 'snappy', 'lz4', 'zstd') or id to an id."""
    if isinstance(name_or_id, int):
        if name_or_id in CODEC_NAMES:
            return name_or_id
        raise UnsupportedCodecError(f"unknown compression codec id {name_or_id}")
    try:
        return _BY_NAME[name_or_id.lower()]
    except KeyError:
        raise UnsupportedCodecError(f"unknown compression codec {name_or_id!r}") from None


# --- xxHash32 (only used on LZ4 frame headers, a handful of bytes) -------------------------------

_P1 = 2654435761
_P2 = 2246822519
_P3 = 3266489917
_P4 = 668265263
_P5 = 374761393
_M32 = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def xxh32(data: bytes, seed: int = 0) -> int:
    """xxHash32 of `data` (pure Python; meant for short inputs such as LZ4 frame descriptors)."""
    n = len(data)
    pos = 0
    if n >= 16:
        v1 = (seed + _P1 + _P2) & _M32
        v2 = (seed + _P2) & _M32
        v3 = seed & _M32
        v4 = (seed - _P1) & _M32
        limit = n - 16
        while pos <= limit:
            a, b, c, d = struct.unpack_from("<IIII", data, pos)
            v1 = (_rotl((v1 + a * _P2) & _M32, 13) * _P1) & _M32
            v2 = (_rotl((v2 + b * _P2) & _M32, 13) * _P1) & _M32
            v3 = (_rotl((v3 + c * _P2) & _M32, 13) * _P1) & _M32
            v4 = (_rotl((v4 + d * _P2) & _M32, 13) * _P1) & _M32
            pos += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        h = (seed + _P5) & _M32
    h = (h + n) & _M32
    while pos + 4 <= n:
        (w,) = struct.unpack_from("<I", data, pos)
        h = (_rotl((h + w * _P3) & _M32, 17) * _P4) & _M32
        pos += 4
    while pos < n:
        h = (_rotl((h + data[pos] * _P5) & _M32, 11) * _P1) & _M32
        pos += 1
    h ^= h >> 15
    h = (h * _P2) & _M32
    h ^= h >> 13
    h = (h * _P3) & _M32
    h ^= h >> 16
    return h


def _lz4_descriptor_end(frame: bytes) -> int:
    """Index of the header-checksum byte of an LZ4 frame."""
    if len(frame) < 7 or frame[:4] != _LZ4_MAGIC:
        raise CorruptRecordError("lz4: not an LZ4 frame (bad magic)")
    flg = frame[4]
    end = 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
    if len(frame) <= end:
        raise CorruptRecordError("lz4: truncated frame header")
    return end


def _lz4_set_header_checksum(frame: bytes, broken: bool) -> bytes:
    end = _lz4_descriptor_end(frame)
    hc = (xxh32(frame[0 if broken else 4 : end]) >> 8) & 0xFF
    if frame[end] == hc:
        return frame
    return frame[:end] + bytes((hc,)) + frame[end + 1 :]


# --- snappy --------------------------------------------------------------------------------------


def snappy_xerial_compress(data: BytesLike, block_size: int = _XERIAL_BLOCK) -> bytes:
    """Xerial-framed snappy, as the Java client writes it (used by tests and legacy writers)."""
    import cramjam

    out = bytearray(_XERIAL_HEADER)
    mv = memoryview(data)
    for i in range(0, len(mv), block_size):
        block = bytes(cramjam.snappy.compress_raw(bytes(mv[i : i + block_size])))
        out += _I32.pack(len(block))
        out += block
    return bytes(out)


def _snappy_decompress(data: bytes) -> bytes:
    import cramjam

    if data[:8] == _XERIAL_MAGIC and len(data) >= 16:
        out = bytearray()
        pos = 16
        n = len(data)
        while pos < n:
            if pos + 4 > n:
                raise CorruptRecordError(f"snappy: truncated xerial block length at {pos}")
            (blen,) = _I32.unpack_from(data, pos)
            pos += 4
            if blen < 0 or pos + blen > n:
                raise CorruptRecordError(
                    f"snappy: xerial block length {blen} at {pos - 4} exceeds the data ({n} bytes)"
                )
            out += cramjam.snappy.decompress_raw(data[pos : pos + blen])
            pos += blen
        return bytes(out)
    return bytes(cramjam.snappy.decompress_raw(data))


# --- public API ----------------------------------------------------------------------------------


def _is_codec_error(e: Exception) -> bool:
    """Whether `e` is a codec library's complaint about its input (cramjam's error class is
    only looked at when cramjam was imported: otherwise it cannot have raised it)."""
    if isinstance(e, (zlib.error, RuntimeError, ValueError)):
        return True
    cramjam = sys.modules.get("cramjam")
    return cramjam is not None and isinstance(e, cramjam.DecompressionError)


def compress(
    codec: int, data: BytesLike, level: Optional[int] = None, *, legacy_lz4: bool = False
) -> bytes:
    """Compress `data` with codec id `codec`; `level` None means the codec's default."""
    if codec == LZ4:
        import lz4.frame as _lz4f  # type: ignore[import-untyped]

        kw = {} if level is None else {"compression_level": level}
        out: bytes = _lz4f.compress(
            data,
            block_size=_lz4f.BLOCKSIZE_MAX64KB,
            block_linked=False,
            content_checksum=False,
            store_size=False,
            **kw,
        )
        if legacy_lz4:
            out = _lz4_set_header_checksum(out, broken=True)
        return out
    if codec == GZIP:
        c = zlib.compressobj(-1 if level is None else level, zlib.DEFLATED, 31)
        return c.compress(data) + c.flush()
    if codec == SNAPPY:
        import cramjam

        return bytes(cramjam.snappy.compress_raw(bytes(data)))
    if codec == ZSTD:
        import cramjam

        return bytes(
            cramjam.zstd.compress(bytes(data), level=_ZSTD_DEFAULT_LEVEL if level is None else level)
        )
    if codec == NONE:
        return bytes(data)
    raise UnsupportedCodecError(f"unsupported compression codec id {codec}")


def decompress(codec: int, data: BytesLike, *, legacy_lz4: bool = False) -> bytes:
    """Decompress `data` compressed with codec id `codec`.

    Raises CorruptRecordError on undecodable input and UnsupportedCodecError on an unknown id.
    """
    if type(data) is not bytes:
        data = bytes(data)
    try:
        if codec == LZ4:
            import lz4.frame as _lz4f

            if legacy_lz4:
                data = _lz4_set_header_checksum(data, broken=False)
            return bytes(_lz4f.decompress(data))
        if codec == GZIP:
            out = bytearray()
            while True:
                d = zlib.decompressobj(47)  # gzip or zlib header, auto-detected
                out += d.decompress(data)
                if not d.eof:
                    raise CorruptRecordError("gzip: truncated stream")
                data = d.unused_data
                if not data:  # concatenated gzip members are allowed
                    return bytes(out)
        if codec == SNAPPY:
            return _snappy_decompress(data)
        if codec == ZSTD:
            import cramjam

            return bytes(cramjam.zstd.decompress(data))
        if codec == NONE:
            return data
    except CorruptRecordError:
        raise
    except Exception as e:
        if not _is_codec_error(e):
            raise
        raise CorruptRecordError(f"{CODEC_NAMES[codec]}: cannot decompress: {e}") from e
    raise UnsupportedCodecError(f"unsupported compression codec id {codec}")
