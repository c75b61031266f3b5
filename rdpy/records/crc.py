"""Checksums: CRC-32C (Castagnoli) for RecordBatch v2, plain CRC-32 (IEEE) for MessageSet v0/v1.

CRC-32C comes from the `google_crc32c` C extension (hardware instructions where available).
The `crc32c` wheel is deliberately not used: importing it loads socket and threading.
`google_crc32c` is imported by the first checksum rather than with rdpy: its import (a C
extension, ~1.5 ms) is paid by a client that writes or checks a batch; after that the import
statement is a sys.modules lookup.
"""

from __future__ import annotations

import zlib
from typing import Union

__all__ = ["crc32c", "crc32c_extend", "crc32"]

BytesLike = Union[bytes, bytearray, memoryview]


def crc32c(data: BytesLike) -> int:
    """CRC-32C of `data` as an unsigned 32-bit int."""
    import google_crc32c

    if type(data) is not bytes:
        data = bytes(data)  # the extension accepts only read-only `bytes`
    return int(google_crc32c.value(data))


def crc32c_extend(crc: int, data: BytesLike) -> int:
    """CRC-32C of the data hashed so far (`crc`) followed by `data`."""
    import google_crc32c

    if type(data) is not bytes:
        data = bytes(data)
    return int(google_crc32c.extend(crc, data))


def crc32(data: BytesLike) -> int:
    """Plain CRC-32 (zlib polynomial) of `data` as an unsigned 32-bit int."""
    return zlib.crc32(data) & 0xFFFFFFFF
