"""Sans-I/O record layer: RecordBatch v2 builder/reader, legacy v0/v1 reader, codecs, CRCs.

Producer side::

    b = RecordBatchBuilder(compression=codecs.LZ4, producer_id=pid, producer_epoch=epoch,
                           base_sequence=seq, transactional=txn, max_bytes=batch_size)
    if not b.append(timestamp_ms, key, value, headers):   # False: batch full, start a new one
        ...
    wire = b.build()                                       # bytes for ProduceRequest records

Consumer side::

    for batch in read_batches(fetch_records_blob, check_crcs=False):
        if batch.is_control: batch.control_record_key().type  -> CONTROL_ABORT / CONTROL_COMMIT
        for rec in batch.records(): rec.offset, rec.timestamp, rec.key, rec.value, rec.headers
"""

from rdpy.records import codecs
from rdpy.records.batch import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    HEADER_SIZE,
    RECORD_OVERHEAD_MAX,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Batch,
    ControlRecordKey,
    Header,
    Record,
    RecordBatch,
    RecordBatchBuilder,
    RecordReader,
    decode_control_key,
    encode_control_key,
    encode_end_txn_marker,
)
from rdpy.records.codecs import GZIP, LZ4, NONE, SNAPPY, ZSTD, codec_id, compress, decompress
from rdpy.records.crc import crc32, crc32c
from rdpy.records.errors import CorruptRecordError, RecordError, UnsupportedCodecError
from rdpy.records.legacy import LegacyBatch, build_message_set
from rdpy.records.read import read_batches

__all__ = [
    "codecs",
    "CONTROL_ABORT",
    "CONTROL_COMMIT",
    "HEADER_SIZE",
    "RECORD_OVERHEAD_MAX",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "Batch",
    "ControlRecordKey",
    "Header",
    "Record",
    "RecordBatch",
    "RecordBatchBuilder",
    "RecordReader",
    "LegacyBatch",
    "decode_control_key",
    "encode_control_key",
    "encode_end_txn_marker",
    "read_batches",
    "build_message_set",
    "NONE",
    "GZIP",
    "SNAPPY",
    "LZ4",
    "ZSTD",
    "codec_id",
    "compress",
    "decompress",
    "crc32",
    "crc32c",
    "RecordError",
    "CorruptRecordError",
    "UnsupportedCodecError",
]
