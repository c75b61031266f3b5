"""RecordBatch v2 (magic 2): builder and reader.

Layout (big-endian), 61-byte header then the records (compressed as one block if bits 0-2 of
attributes are non-zero)::

    0 baseOffset int64      8 batchLength int32     12 partitionLeaderEpoch int32
    16 magic int8           17 crc uint32 (CRC-32C over bytes 21..end)
    21 attributes int16     23 lastOffsetDelta int32  27 baseTimestamp int64
    35 maxTimestamp int64   43 producerId int64     51 producerEpoch int16
    53 baseSequence int32   57 recordCount int32    61 records...

    record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
            keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
            headerCount varint, [keyLength varint, utf-8 key, valueLength varint, value]...

`Batch` and `Record` are the interface every magic is read through: legacy.py subclasses `Batch`
for v0/v1 message sets, and read.py (`read_batches()`, the magic-byte dispatcher) sits above both,
so neither this module nor legacy.py needs the dispatcher. Runs on whichever thread calls it.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence, Tuple, Union

from rdpy.records import codecs
from rdpy.records.crc import crc32c, crc32c_extend
from rdpy.records.errors import CorruptRecordError, UnsupportedCodecError
from rdpy.records.varint import TABLE_HALF, VARINT_TABLE, decode_uvarint, encode_varint

__all__ = [
    "Record",
    "Header",
    "Batch",
    "RecordBatch",
    "RecordBatchBuilder",
    "RecordReader",
    "ControlRecordKey",
    "decode_control_key",
    "encode_control_key",
    "encode_end_txn_marker",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "CONTROL_ABORT",
    "CONTROL_COMMIT",
    "HEADER_SIZE",
    "RECORD_OVERHEAD_MAX",
]

BytesLike = Union[bytes, bytearray, memoryview]
Header = Tuple[str, Optional[bytes]]

TIMESTAMP_NOT_AVAILABLE = -1  # magic 0 messages carry no timestamp
TIMESTAMP_CREATE_TIME = 0
TIMESTAMP_LOG_APPEND_TIME = 1

CONTROL_ABORT = 0
CONTROL_COMMIT = 1

_ATTR_CODEC_MASK = 0x07
_ATTR_TIMESTAMP_TYPE = 0x08
_ATTR_TRANSACTIONAL = 0x10
_ATTR_CONTROL = 0x20
_ATTR_DELETE_HORIZON = 0x40

_HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = _HEADER.size  # 61
_CRC = struct.Struct(">I")
_CONTROL_KEY = struct.Struct(">hh")
_END_TXN = struct.Struct(">hi")
_BATCH_OVERHEAD = HEADER_SIZE - 12  # smallest legal batchLength (49)
_MIN_RECORD = 7  # length, attributes, tsDelta, offsetDelta, keyLen, valueLen, headerCount
RECORD_OVERHEAD_MAX = 5 + 1 + 10 + 5 + 5 + 5 + 5  # varint/int8 framing around key/value/headers


class Record(NamedTuple):
    """One record. `headers` is a tuple of (key, value-or-None) pairs (`()` when none: an
    immutable shared empty tuple costs nothing per record); key/value None mean null."""

    offset: int
    timestamp: int
    timestamp_type: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: tuple[Header, ...]


class ControlRecordKey(NamedTuple):
    version: int
    type: int  # CONTROL_ABORT or CONTROL_COMMIT


def decode_control_key(key: Optional[bytes]) -> ControlRecordKey:
    """Decode a control record's key (version int16, type int16)."""
    if key is None or len(key) < 4:
        raise CorruptRecordError(f"control record key too short: {key!r}")
    version, ctype = _CONTROL_KEY.unpack_from(key, 0)
    return ControlRecordKey(version, ctype)


def encode_control_key(ctype: int, version: int = 0) -> bytes:
    return _CONTROL_KEY.pack(version, ctype)


def encode_end_txn_marker(coordinator_epoch: int, version: int = 0) -> bytes:
    """Value of an ABORT/COMMIT control record (EndTxnMarker: version int16, epoch int32)."""
    return _END_TXN.pack(version, coordinator_epoch)


# --------------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------------


class Batch:
    """What every batch read from a fetch response exposes, whatever its magic."""

    __slots__ = (
        "base_offset",
        "last_offset",
        "magic",
        "crc",
        "attributes",
        "compression",
        "timestamp_type",
        "base_timestamp",
        "max_timestamp",
        "producer_id",
        "producer_epoch",
        "base_sequence",
        "is_transactional",
        "is_control",
        "record_count",
        "partition_leader_epoch",
        "size_in_bytes",
    )

    base_offset: int
    last_offset: int
    magic: int
    crc: int
    attributes: int
    compression: int
    timestamp_type: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    is_transactional: bool
    is_control: bool
    record_count: int
    partition_leader_epoch: int
    size_in_bytes: int

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    def records(self) -> list[Record]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def validate_crc(self) -> bool:
        raise NotImplementedError

    def ensure_valid_crc(self) -> None:
        """Raise CorruptRecordError if the stored CRC does not match the data."""
        if not self.validate_crc():
            raise CorruptRecordError(
                f"CRC mismatch in magic {self.magic} batch at offset {self.base_offset} "
                f"(stored crc {self.crc:#010x})"
            )

    def control_record_key(self) -> Optional[ControlRecordKey]:
        """For a control batch, the decoded key of its (single) control record, else None."""
        if not self.is_control:
            return None
        recs = self.records()
        if not recs:
            return None
        return decode_control_key(recs[0].key)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} magic={self.magic} offsets={self.base_offset}.."
            f"{self.last_offset} count={self.record_count} codec={self.compression}"
            f" txn={self.is_transactional} control={self.is_control}>"
        )


class RecordBatch(Batch):
    """A v2 RecordBatch over a slice of a larger buffer (no copy until records() is called)."""

    __slots__ = ("_data", "_pos", "_end", "batch_length", "last_offset_delta", "has_delete_horizon")

    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None) -> None:
        if end is None:
            end = len(data)
        if end - pos < HEADER_SIZE:
            raise CorruptRecordError(f"record batch at byte {pos} shorter than its header")
        (
            self.base_offset,
            self.batch_length,
            self.partition_leader_epoch,
            self.magic,
            self.crc,
            attrs,
            self.last_offset_delta,
            self.base_timestamp,
            self.max_timestamp,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self.record_count,
        ) = _HEADER.unpack_from(data, pos)
        if self.magic != 2:
            raise CorruptRecordError(f"batch at offset {self.base_offset}: magic {self.magic} != 2")
        if self.batch_length + 12 != end - pos:
            raise CorruptRecordError(
                f"batch at offset {self.base_offset}: batchLength {self.batch_length} does not "
                f"match the {end - pos - 12} bytes available"
            )
        self._data = data
        self._pos = pos
        self._end = end
        self.attributes = attrs
        self.compression = attrs & _ATTR_CODEC_MASK
        self.timestamp_type = (attrs & _ATTR_TIMESTAMP_TYPE) >> 3
        self.is_transactional = bool(attrs & _ATTR_TRANSACTIONAL)
        self.is_control = bool(attrs & _ATTR_CONTROL)
        self.has_delete_horizon = bool(attrs & _ATTR_DELETE_HORIZON)
        self.last_offset = self.base_offset + self.last_offset_delta
        self.size_in_bytes = end - pos

    def validate_crc(self) -> bool:
        return crc32c(self._data[self._pos + 21 : self._end]) == self.crc

    @property
    def raw(self) -> bytes:
        """The batch's bytes as on the wire."""
        return self._data[self._pos : self._end]

    def records(self) -> list[Record]:
        out: list[Record] = []
        self.reader().read_into(out, self.record_count)
        return out

    def decode_into(
        self,
        out: list[Any],
        make: Callable[[], Any],
        topic: str,
        partition: int,
        leader_epoch: Optional[int],
        min_offset: int,
    ) -> int:
        """Append a `make()` message object per record at or after `min_offset` (see
        `_walk_records`); returns the value bytes appended."""
        return self.reader().read_into(out, self.record_count, make, topic, partition,
                                       leader_epoch, min_offset)

    def reader(self) -> RecordReader:
        """A reader of this batch's records, a chunk at a time (decompressed once, here)."""
        return RecordReader(self)


class RecordReader:
    """Decodes one v2 batch's records a chunk at a time.

    The consumer decodes records just before it hands them out, a few hundred at a time, so
    that the message objects of a chunk are usually gone before the next chunk is made: they
    die young, which keeps Python's cyclic garbage collector from scanning (and promoting)
    the whole prefetched backlog -- measured at 10-15% of a consumer's CPU otherwise.
    """

    __slots__ = ("batch", "remaining", "_data", "_pos", "_end", "_index", "_origin")

    def __init__(self, batch: RecordBatch) -> None:
        self.batch = batch
        count = batch.record_count
        codec = batch.compression
        if codec == 0:
            data = batch._data
            pos = batch._pos + HEADER_SIZE
            end = batch._end
        else:
            if codec > 4:
                raise UnsupportedCodecError(
                    f"batch at offset {batch.base_offset}: unknown compression codec {codec}"
                )
            try:
                data = codecs.decompress(codec, batch._data[batch._pos + HEADER_SIZE : batch._end])
            except CorruptRecordError as e:
                raise CorruptRecordError(f"batch at offset {batch.base_offset}: {e}") from None
            pos = 0
            end = len(data)
        if count < 0 or count > (end - pos) // _MIN_RECORD:
            raise CorruptRecordError(
                f"batch at offset {batch.base_offset}: record count {count} exceeds the "
                f"{end - pos} bytes of record data"
            )
        self.remaining = count
        self._data = data
        self._pos = pos
        self._end = end
        self._index = 0
        self._origin = pos

    def read_into(
        self,
        out: list[Any],
        n: int,
        make: Optional[Callable[[], Any]] = None,
        topic: Optional[str] = None,
        partition: int = -1,
        leader_epoch: Optional[int] = None,
        min_offset: int = 0,
    ) -> int:
        """Decode the next `n` records (fewer at the end) into `out`; see `_walk_records`.
        Returns the value bytes appended."""
        k = min(n, self.remaining)
        if k <= 0:
            return 0
        b = self.batch
        self._pos, size = _walk_records(
            self._data,
            self._pos,
            self._end,
            k,
            b.base_offset,
            b.base_timestamp,
            b.timestamp_type,
            b.max_timestamp,
            out,
            make,
            topic,
            partition,
            leader_epoch,
            min_offset,
            self._index,
            self._origin,
        )
        self.remaining -= k
        self._index += k
        if self.remaining == 0 and self._pos != self._end:
            raise CorruptRecordError(
                f"batch at offset {b.base_offset}: {self._end - self._pos} bytes left after "
                f"{b.record_count} records"
            )
        return size


_tuple_new = tuple.__new__


def _walk_records(
    data: bytes,
    pos: int,
    end: int,
    count: int,
    base_offset: int,
    base_ts: int,
    ts_type: int,
    max_ts: int,
    out: list[Any],
    make: Optional[Callable[[], Any]] = None,
    topic: Optional[str] = None,
    partition: int = -1,
    leader_epoch: Optional[int] = None,
    min_offset: int = 0,
    first_index: int = 0,
    origin: int = 0,
) -> tuple[int, int]:
    """The one record decoder: `count` records from `pos`. Appends to `out` one object per
    record and returns (the position after them, the value bytes of what it appended).
    `first_index` is the first record's index in its batch and `origin` where the batch's
    records start in `data`, for error messages.

    Without `make`, the objects are `Record`s. With `make` (the consumer's hot path) they are
    `make()` objects with rdpy.message.Message's slots filled in directly -- one object per
    record instead of a Record and then a Message, which halves the consumer's decoding cost
    (measured) -- carrying `topic`, `partition`, `leader_epoch`, the public timestamp type
    (wire type + 1: TIMESTAMP_CREATE_TIME / TIMESTAMP_LOG_APPEND_TIME) and headers as a list
    or None; records below `min_offset` are skipped. tests/unit/test_records_batch.py checks
    that both forms agree.
    """
    append = out.append
    new = _tuple_new
    R = Record
    uvarint = decode_uvarint
    log_append = ts_type == TIMESTAMP_LOG_APPEND_TIME
    public_ts_type = ts_type + 1
    last_ts = None
    ts_pair = (public_ts_type, 0)
    size = 0
    hkeys: dict[bytes, str] = {}  # header key bytes -> str, keys repeat across records
    rec_start = pos
    done = 0
    try:
        for done in range(count):
            rec_start = pos
            # length
            b = data[pos]
            if b < 128:
                v = b
                pos += 1
            else:
                c = data[pos + 1]
                if c < 128:
                    v = (b & 127) | (c << 7)
                    pos += 2
                else:
                    v, pos = uvarint(data, pos, 5)
            rec_end = pos + (v >> 1)
            if v & 1 or rec_end > end or rec_end - pos < _MIN_RECORD - 1:
                raise CorruptRecordError(
                    f"record length {(v >> 1) ^ -(v & 1)} out of bounds ({end - pos} bytes left)"
                )
            pos += 1  # record attributes (unused)
            # timestamp delta (varlong)
            b = data[pos]
            if b < 128:
                v = b
                pos += 1
            else:
                c = data[pos + 1]
                if c < 128:
                    v = (b & 127) | (c << 7)
                    pos += 2
                else:
                    v, pos = uvarint(data, pos, 10)
            ts = max_ts if log_append else base_ts + ((v >> 1) ^ -(v & 1))
            # offset delta
            b = data[pos]
            if b < 128:
                v = b
                pos += 1
            else:
                c = data[pos + 1]
                if c < 128:
                    v = (b & 127) | (c << 7)
                    pos += 2
                else:
                    v, pos = uvarint(data, pos, 5)
            offset = base_offset + ((v >> 1) ^ -(v & 1))
            # key
            b = data[pos]
            if b < 128:
                v = b
                pos += 1
            else:
                c = data[pos + 1]
                if c < 128:
                    v = (b & 127) | (c << 7)
                    pos += 2
                else:
                    v, pos = uvarint(data, pos, 5)
            if v & 1:
                if v != 1:
                    raise CorruptRecordError(f"negative key length {(v >> 1) ^ -1}")
                key = None
            else:
                v = pos + (v >> 1)
                key = data[pos:v]
                pos = v
            # value
            b = data[pos]
            if b < 128:
                v = b
                pos += 1
            else:
                c = data[pos + 1]
                if c < 128:
                    v = (b & 127) | (c << 7)
                    pos += 2
                else:
                    v, pos = uvarint(data, pos, 5)
            if v & 1:
                if v != 1:
                    raise CorruptRecordError(f"negative value length {(v >> 1) ^ -1}")
                value = None
                vlen = 0
            else:
                vlen = v >> 1
                v = pos + vlen
                value = data[pos:v]
                pos = v
            # headers: inline fast path for none or one header with a known key
            b = data[pos]
            if b == 0:
                pos += 1
                headers: Optional[tuple[Header, ...]] = ()
            else:
                headers = None
                if b == 2:
                    c = data[pos + 1]
                    if c < 128 and not c & 1:
                        v = pos + 2 + (c >> 1)
                        hkey = hkeys.get(data[pos + 2 : v])
                        if hkey is not None:
                            c = data[v]
                            if c < 128 and not c & 1 and v + 1 + (c >> 1) <= rec_end:
                                pos = v + 1 + (c >> 1)
                                headers = ((hkey, data[v + 1 : pos]),)
                if headers is None:
                    headers, pos = _decode_headers(data, pos, rec_end, hkeys)
            if pos != rec_end:
                raise CorruptRecordError(
                    f"record fields span {pos - rec_start} bytes, not the "
                    f"{rec_end - rec_start} its length says"
                )
            if make is None:
                append(new(R, (offset, ts, ts_type, key, value, headers)))
            elif offset >= min_offset:
                if ts != last_ts:  # records of a batch often share a timestamp: share the pair
                    last_ts = ts
                    ts_pair = (public_ts_type, ts)
                m = make()
                m._topic = topic
                m._partition = partition
                m._offset = offset
                m._key = key
                m._value = value
                m._headers = list(headers) if headers else None
                m._error = None
                m._timestamp = ts_pair
                m._latency = None
                m._leader_epoch = leader_epoch
                m._delivery_count = None
                append(m)
                size += vlen
    except CorruptRecordError as e:
        raise CorruptRecordError(
            f"batch at offset {base_offset}: record {first_index + done} "
            f"(byte {rec_start - origin} of the records): {e}"
        ) from None
    except IndexError:
        raise CorruptRecordError(
            f"batch at offset {base_offset}: record {first_index + done} "
            f"(byte {rec_start - origin} of the records) runs past the end of the data"
        ) from None
    return pos, size


def _decode_headers(
    data: bytes, pos: int, rec_end: int, hkeys: dict[bytes, str]
) -> tuple[tuple[Header, ...], int]:
    b = data[pos]
    if b < 128:
        u = b
        pos += 1
    else:
        u, pos = decode_uvarint(data, pos, 5)
    n = (u >> 1) ^ -(u & 1)
    if n < 0 or n > (rec_end - pos) // 2:
        raise CorruptRecordError(f"header count {n} out of bounds")
    headers: list[Header] = []
    append = headers.append
    hval: Optional[bytes]
    for _ in range(n):
        b = data[pos]
        if b < 128:
            u = b
            pos += 1
        else:
            u, pos = decode_uvarint(data, pos, 5)
        if u & 1:
            raise CorruptRecordError(f"negative header key length {(u >> 1) ^ -1}")
        kend = pos + (u >> 1)
        if kend > rec_end:
            raise CorruptRecordError("header key runs past the record")
        kb = data[pos:kend]
        hkey = hkeys.get(kb)
        if hkey is None:
            try:
                hkey = kb.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptRecordError(f"header key at byte {pos} is not valid UTF-8") from None
            if len(hkeys) < 256:
                hkeys[kb] = hkey
        pos = kend
        b = data[pos]
        if b < 128:
            u = b
            pos += 1
        else:
            u, pos = decode_uvarint(data, pos, 5)
        if u & 1:
            if u != 1:
                raise CorruptRecordError(f"negative header value length {(u >> 1) ^ -1}")
            hval = None
        else:
            vend = pos + (u >> 1)
            if vend > rec_end:
                raise CorruptRecordError("header value runs past the record")
            hval = data[pos:vend]
            pos = vend
        if n == 1:
            return ((hkey, hval),), pos
        append((hkey, hval))
    return tuple(headers), pos


# --------------------------------------------------------------------------------------------------
# Builder
# --------------------------------------------------------------------------------------------------


_HKEY_CACHE: dict[str, bytes] = {}  # header key -> varint length + utf-8 bytes


def _header_key_bytes(hkey: str) -> bytes:
    kb = hkey.encode("utf-8")
    enc = encode_varint(len(kb)) + kb
    if len(_HKEY_CACHE) < 1024:
        _HKEY_CACHE[hkey] = enc
    return enc


def _encode_headers(headers: Sequence[Tuple[str, Optional[BytesLike]]]) -> bytes:
    table = VARINT_TABLE
    n = len(headers)
    parts: list[BytesLike] = [table[n << 1] if n < TABLE_HALF else encode_varint(n)]
    append = parts.append
    cache_get = _HKEY_CACHE.get
    for hkey, hval in headers:
        kp = cache_get(hkey)
        append(kp if kp is not None else _header_key_bytes(hkey))
        if hval is None:
            append(b"\x01")
        else:
            hl = len(hval)
            append(table[hl << 1] if hl < TABLE_HALF else encode_varint(hl))
            append(hval)
    return b"".join(parts)


class RecordBatchBuilder:
    """Accumulates records into one v2 RecordBatch.

    `append()` returns False (and adds nothing) when the record would take the batch past
    `max_bytes` (uncompressed estimate); the first record is always accepted. `build()` returns
    the wire bytes with baseOffset `base_offset` (0 for produce requests).

    With `compression_fallback` a batch whose compressed records are not smaller than the
    uncompressed ones is sent uncompressed, as librdkafka does.
    """

    __slots__ = (
        "_parts",
        "_extend",
        "_size",
        "_count",
        "_base_ts",
        "_max_ts",
        "_max_bytes",
        "_attrs",
        "compression",
        "compression_level",
        "compression_fallback",
        "producer_id",
        "producer_epoch",
        "base_sequence",
        "partition_leader_epoch",
    )

    def __init__(
        self,
        compression: int = codecs.NONE,
        compression_level: Optional[int] = None,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        transactional: bool = False,
        is_control: bool = False,
        timestamp_type: int = TIMESTAMP_CREATE_TIME,
        partition_leader_epoch: int = -1,
        max_bytes: int = 1_000_000,
        compression_fallback: bool = False,
    ) -> None:
        if compression not in codecs.CODEC_NAMES:
            raise UnsupportedCodecError(f"unsupported compression codec id {compression}")
        self.compression = compression
        self.compression_level = compression_level
        self.compression_fallback = compression_fallback
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.partition_leader_epoch = partition_leader_epoch
        self._attrs = (
            (_ATTR_TRANSACTIONAL if transactional else 0)
            | (_ATTR_CONTROL if is_control else 0)
            | (_ATTR_TIMESTAMP_TYPE if timestamp_type == TIMESTAMP_LOG_APPEND_TIME else 0)
        )
        self._max_bytes = max_bytes
        self._parts: list[BytesLike] = []  # joined once in build(): cheaper than bytearray +=
        self._extend = self._parts.extend
        self._size = HEADER_SIZE
        self._count = 0
        self._base_ts = -1
        self._max_ts = -1

    @property
    def record_count(self) -> int:
        return self._count

    @property
    def is_transactional(self) -> bool:
        return bool(self._attrs & _ATTR_TRANSACTIONAL)

    def set_producer_state(
        self, producer_id: int, producer_epoch: int, base_sequence: int, transactional: bool
    ) -> None:
        """Set the idempotence/transaction fields (may be called any time before build())."""
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        if transactional:
            self._attrs |= _ATTR_TRANSACTIONAL
        else:
            self._attrs &= ~_ATTR_TRANSACTIONAL

    def size_in_bytes(self) -> int:
        """Current uncompressed size of the batch, header included."""
        return self._size

    @staticmethod
    def estimate_record_size(
        key: Optional[BytesLike],
        value: Optional[BytesLike],
        headers: Optional[Sequence[Tuple[str, Optional[BytesLike]]]] = None,
    ) -> int:
        """Upper bound of the bytes one record adds to a batch."""
        size = RECORD_OVERHEAD_MAX + (len(key) if key is not None else 0)
        size += len(value) if value is not None else 0
        if headers:
            for hk, hv in headers:
                size += 10 + len(hk.encode("utf-8")) + (len(hv) if hv is not None else 0)
        return size

    def append(
        self,
        timestamp_ms: int,
        key: Optional[BytesLike],
        value: Optional[BytesLike],
        headers: Optional[Sequence[Tuple[str, Optional[BytesLike]]]] = None,
    ) -> bool:
        """Add one record; False if it does not fit in `max_bytes` (batch unchanged)."""
        n = self._count
        base = self._base_ts if n else timestamp_ms
        table = VARINT_TABLE
        d = timestamp_ms - base
        tsb = table[d << 1] if 0 <= d < TABLE_HALF else encode_varint(d)
        odb = table[n << 1] if n < TABLE_HALF else encode_varint(n)
        if key is None:
            kb = b"\x01"
            key = b""
            kl = 0
        else:
            if type(key) is not bytes:
                key = bytes(key)  # snapshot: the batch is joined later, in build()
            kl = len(key)
            kb = table[kl << 1] if kl < TABLE_HALF else encode_varint(kl)
        if value is None:
            vb = b"\x01"
            value = b""
            vl = 0
        else:
            if type(value) is not bytes:
                value = bytes(value)
            vl = len(value)
            vb = table[vl << 1] if vl < TABLE_HALF else encode_varint(vl)
        if not headers:
            hb = b"\x00"
        elif len(headers) == 1:
            hkey, hval = headers[0]
            hk = _HKEY_CACHE.get(hkey)
            if hk is None:
                hk = _header_key_bytes(hkey)
            if hval is None:
                hb = b"\x02" + hk + b"\x01"
            else:
                hl = len(hval)
                hb = b"".join(
                    (b"\x02", hk, table[hl << 1] if hl < TABLE_HALF else encode_varint(hl), hval)
                )
        else:
            hb = _encode_headers(headers)
        body = 1 + len(tsb) + len(odb) + len(kb) + kl + len(vb) + vl + len(hb)
        lb = table[body << 1] if body < TABLE_HALF else encode_varint(body)
        size = self._size + len(lb) + body
        if n:
            if size > self._max_bytes:
                return False
            if timestamp_ms > self._max_ts:
                self._max_ts = timestamp_ms
        else:
            self._base_ts = self._max_ts = timestamp_ms
        self._extend((lb, b"\x00", tsb, odb, kb, key, vb, value, hb))
        self._size = size
        self._count = n + 1
        return True

    def build(self, base_offset: int = 0) -> bytes:
        """The batch's wire bytes (the builder stays usable; build() may be called again)."""
        n = self._count
        attrs = self._attrs
        payload = b"".join(self._parts)
        codec = self.compression
        if codec != codecs.NONE and n:
            compressed = codecs.compress(codec, payload, self.compression_level)
            if not (self.compression_fallback and len(compressed) >= len(payload)):
                payload = compressed
                attrs |= codec
        pack = _HEADER.pack
        args = (
            self.partition_leader_epoch,
            2,
            0,
            attrs,
            n - 1,
            self._base_ts,
            self._max_ts,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            n,
        )
        header = pack(base_offset, _BATCH_OVERHEAD + len(payload), *args)
        crc = crc32c_extend(crc32c(header[21:]), payload)
        return header[:17] + _CRC.pack(crc) + header[21:] + payload
