"""Zigzag varints (Kafka's varint/varlong), table driven for the small values on the hot path."""

from __future__ import annotations

from rdpy.records.errors import CorruptRecordError

__all__ = ["encode_varint", "decode_uvarint", "zigzag_decode", "VARINT_TABLE", "TABLE_HALF"]

_TABLE_SIZE = 1 << 14  # every zigzag value encoded in <= 2 bytes
TABLE_HALF = _TABLE_SIZE >> 1  # signed n with 0 <= n < TABLE_HALF is VARINT_TABLE[n << 1]


def _encode_unsigned(u: int) -> bytes:
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def _table() -> list[bytes]:
    """`_encode_unsigned(u)` for every u < _TABLE_SIZE, built by concatenation: the 16 384
    entries are made at import, and this is five times faster than encoding each one."""
    one = [bytes((u,)) for u in range(0x80)]  # u < 2**7: one byte
    low = [bytes((u | 0x80,)) for u in range(0x80)]  # first byte of a two-byte varint
    return one + [lo + hi for hi in one[1:] for lo in low]  # u = hi << 7 | lo


VARINT_TABLE: list[bytes] = _table()


def encode_varint(n: int) -> bytes:
    """Zigzag-encode signed `n` (must fit in 64 bits) as a Kafka varint/varlong."""
    u = (n << 1) if n >= 0 else ((-n << 1) - 1)
    if u < _TABLE_SIZE:
        return VARINT_TABLE[u]
    if u >> 64:
        raise ValueError(f"varint out of 64-bit range: {n}")
    return _encode_unsigned(u)


def zigzag_decode(u: int) -> int:
    return (u >> 1) ^ -(u & 1)


def decode_uvarint(data: bytes, pos: int, max_bytes: int = 10) -> tuple[int, int]:
    """Decode the raw (still zigzagged) varint at `pos`; returns (value, new position).

    Raises CorruptRecordError if it is longer than `max_bytes` (5 for varint, 10 for varlong)
    or runs past the end of `data`.
    """
    result = 0
    shift = 0
    start = pos
    n = len(data)
    while True:
        if pos >= n:
            raise CorruptRecordError(f"varint at {start} runs past the end of the data")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if pos - start >= max_bytes:
            raise CorruptRecordError(f"varint at {start} is longer than {max_bytes} bytes")
