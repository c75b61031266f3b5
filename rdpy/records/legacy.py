"""Legacy MessageSet v0 (magic 0) and v1 (magic 1): reader and a small writer.

    MessageSet entry: offset int64, message_size int32, then the message:
      crc uint32 (CRC-32 over magic..end), magic int8, attributes int8,
      [timestamp int64, magic 1 only], key bytes (int32 length, -1 null), value bytes (same)

A compressed message is a wrapper whose value is a compressed inner message set. In magic 1 the
inner offsets are relative: absolute = wrapper offset - last inner relative + inner relative;
magic 0 inner offsets are absolute. LZ4 in magic 0 uses Kafka 0.8-0.10's broken frame header
checksum.
"""

from __future__ import annotations

import struct
from typing import Optional, Sequence, Tuple, Union

from rdpy.records import codecs
from rdpy.records.batch import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Batch,
    Record,
)
from rdpy.records.crc import crc32
from rdpy.records.errors import CorruptRecordError, UnsupportedCodecError

__all__ = ["LegacyBatch", "read_legacy_entry", "build_message_set", "encode_message"]

BytesLike = Union[bytes, bytearray, memoryview]

_ENTRY = struct.Struct(">qiIbb")  # offset, size, crc, magic, attributes
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_CRC = struct.Struct(">I")
_MIN_SIZE = {0: 14, 1: 22}  # crc+magic+attrs(+ts)+keylen+valuelen
_ATTR_TIMESTAMP_TYPE = 0x08


class _Message:
    __slots__ = ("offset", "crc", "magic", "attributes", "timestamp", "key", "value", "crc_ok")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        if end - pos < 12 + _MIN_SIZE[0]:
            raise CorruptRecordError(f"message at byte {pos}: bad message size {end - pos - 12}")
        offset, size, crc, magic, attrs = _ENTRY.unpack_from(data, pos)
        if magic not in (0, 1):
            raise CorruptRecordError(f"message at offset {offset}: unknown magic {magic}")
        if size < _MIN_SIZE[magic] or pos + 12 + size != end:
            raise CorruptRecordError(f"message at offset {offset}: bad message size {size}")
        self.offset = offset
        self.crc = crc
        self.magic = magic
        self.attributes = attrs
        self.crc_ok = crc32(memoryview(data)[pos + 16 : end]) == crc
        p = pos + 18
        if magic == 1:
            (self.timestamp,) = _I64.unpack_from(data, p)
            p += 8
        else:
            self.timestamp = -1
        self.key, p = _read_bytes(data, p, end, offset, "key")
        self.value, p = _read_bytes(data, p, end, offset, "value")
        if p != end:
            raise CorruptRecordError(f"message at offset {offset}: {end - p} trailing bytes")


def _read_bytes(data: bytes, p: int, end: int, offset: int, what: str) -> tuple[Optional[bytes], int]:
    if p + 4 > end:
        raise CorruptRecordError(f"message at offset {offset}: {what} length past the end")
    (n,) = _I32.unpack_from(data, p)
    p += 4
    if n == -1:
        return None, p
    if n < 0 or p + n > end:
        raise CorruptRecordError(f"message at offset {offset}: {what} length {n} out of bounds")
    return data[p : p + n], p + n


class LegacyBatch(Batch):
    """One top-level v0/v1 message (plain, or a compressed wrapper and its inner messages)."""

    __slots__ = ("_records", "_crc_ok")

    _records: list[Record]
    _crc_ok: bool

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        wrapper = _Message(data, pos, end)
        self.magic = wrapper.magic
        self.crc = wrapper.crc
        self.attributes = wrapper.attributes
        self.compression = wrapper.attributes & 0x07
        self.timestamp_type = (
            TIMESTAMP_NOT_AVAILABLE
            if wrapper.magic == 0
            else (wrapper.attributes & _ATTR_TIMESTAMP_TYPE) >> 3
        )
        self.producer_id = -1
        self.producer_epoch = -1
        self.base_sequence = -1
        self.is_transactional = False
        self.is_control = False
        self.partition_leader_epoch = -1
        self.size_in_bytes = end - pos
        self._crc_ok = wrapper.crc_ok
        ts_type = self.timestamp_type
        if self.compression == 0:
            recs = [
                Record(wrapper.offset, wrapper.timestamp, ts_type, wrapper.key, wrapper.value, ())
            ]
        else:
            recs = self._inner(wrapper, ts_type)
        self._records = recs
        self.record_count = len(recs)
        if recs:
            self.base_offset = recs[0].offset
            self.last_offset = recs[-1].offset
            self.base_timestamp = recs[0].timestamp
            self.max_timestamp = max(r.timestamp for r in recs)
        else:
            self.base_offset = self.last_offset = wrapper.offset
            self.base_timestamp = self.max_timestamp = wrapper.timestamp

    def _inner(self, wrapper: _Message, ts_type: int) -> list[Record]:
        if self.compression > 4:
            raise UnsupportedCodecError(
                f"message at offset {wrapper.offset}: unknown compression codec {self.compression}"
            )
        if wrapper.value is None:
            raise CorruptRecordError(f"compressed message at offset {wrapper.offset} has no value")
        try:
            inner = codecs.decompress(
                self.compression, wrapper.value, legacy_lz4=wrapper.magic == 0
            )
        except CorruptRecordError as e:
            raise CorruptRecordError(f"message at offset {wrapper.offset}: {e}") from None
        msgs: list[_Message] = []
        pos = 0
        n = len(inner)
        while n - pos >= 12:
            (size,) = _I32.unpack_from(inner, pos + 8)
            end = pos + 12 + size
            if size < 0 or end > n:
                raise CorruptRecordError(
                    f"compressed message at offset {wrapper.offset}: truncated inner message"
                )
            m = _Message(inner, pos, end)
            if m.attributes & 0x07:
                raise CorruptRecordError(
                    f"compressed message at offset {wrapper.offset}: nested compression"
                )
            if not m.crc_ok:
                self._crc_ok = False
            msgs.append(m)
            pos = end
        if pos != n:
            raise CorruptRecordError(
                f"compressed message at offset {wrapper.offset}: {n - pos} trailing bytes"
            )
        if not msgs:
            return []
        delta = wrapper.offset - msgs[-1].offset if wrapper.magic == 1 else 0
        log_append = ts_type == TIMESTAMP_LOG_APPEND_TIME
        return [
            Record(
                m.offset + delta,
                wrapper.timestamp if log_append else m.timestamp,
                ts_type,
                m.key,
                m.value,
                (),
            )
            for m in msgs
        ]

    def records(self) -> list[Record]:
        return list(self._records)

    def validate_crc(self) -> bool:
        return self._crc_ok


def read_legacy_entry(data: bytes, pos: int, end: int) -> LegacyBatch:
    """Parse the magic 0/1 message set entry occupying data[pos:end]."""
    return LegacyBatch(data, pos, end)


# --- writer (tests, tools) ------------------------------------------------------------------------


def _bytes_field(b: Optional[BytesLike]) -> bytes:
    if b is None:
        return _I32.pack(-1)
    return _I32.pack(len(b)) + bytes(b)


def encode_message(
    offset: int,
    magic: int,
    attributes: int,
    timestamp: int,
    key: Optional[BytesLike],
    value: Optional[BytesLike],
) -> bytes:
    """One message set entry (offset, size, message)."""
    if magic not in (0, 1):
        raise ValueError(f"legacy magic must be 0 or 1, not {magic}")
    body = bytes((magic, attributes & 0xFF))
    if magic == 1:
        body += _I64.pack(timestamp)
    body += _bytes_field(key) + _bytes_field(value)
    msg = _CRC.pack(crc32(body)) + body
    return _I64.pack(offset) + _I32.pack(len(msg)) + msg


def build_message_set(
    magic: int,
    messages: Sequence[Tuple[int, int, Optional[BytesLike], Optional[BytesLike]]],
    compression: int = codecs.NONE,
    timestamp_type: int = TIMESTAMP_CREATE_TIME,
) -> bytes:
    """A v0/v1 message set from (offset, timestamp, key, value) tuples.

    Uncompressed: one entry per message. Compressed: a single wrapper message whose offset is the
    last message's and, for magic 1, inner offsets relative to the first message.
    """
    ts_attr = _ATTR_TIMESTAMP_TYPE if (magic == 1 and timestamp_type == 1) else 0
    if compression == codecs.NONE:
        return b"".join(
            encode_message(o, magic, ts_attr, t, k, v) for (o, t, k, v) in messages
        )
    if not messages:
        raise ValueError("cannot build an empty compressed message set")
    first = messages[0][0]
    inner = b"".join(
        encode_message(o - first if magic == 1 else o, magic, 0, t, k, v)
        for (o, t, k, v) in messages
    )
    wrapped = codecs.compress(compression, inner, legacy_lz4=magic == 0)
    max_ts = max(t for (_, t, _, _) in messages)
    return encode_message(messages[-1][0], magic, compression | ts_attr, max_ts, None, wrapped)
