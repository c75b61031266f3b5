"""Reading a Fetch response's records blob: the magic-byte dispatcher above both formats.

`read_batches()` walks the blob and hands every entry to the reader of its magic: RecordBatch
(batch.py) for magic 2, LegacyBatch (legacy.py) for magic 0/1, so callers see one Batch/Record
interface. It lives here, above both readers, so that batch.py never imports legacy.py (legacy.py
imports batch.py for that shared interface): no import cycle, no function-local import. Sans
I/O; runs on whichever thread calls it (the broker thread for CRC checks and read_committed, the
application thread when it decodes records).
"""

from __future__ import annotations

import struct
from typing import Iterator, Union

from rdpy.records.batch import HEADER_SIZE, Batch, RecordBatch
from rdpy.records.errors import CorruptRecordError
from rdpy.records.legacy import read_legacy_entry

__all__ = ["read_batches"]

BytesLike = Union[bytes, bytearray, memoryview]

_OFFSET_LENGTH = struct.Struct(">qi")  # baseOffset/offset and batchLength/size: every magic
_BATCH_OVERHEAD = HEADER_SIZE - 12  # smallest legal v2 batchLength (49)


def read_batches(buf: BytesLike, check_crcs: bool = False) -> Iterator[Batch]:
    """Iterate the batches in a Fetch response's records blob.

    Magic 2 batches come out as RecordBatch, magic 0/1 messages as legacy batches (a compressed
    wrapper message is one batch holding its inner messages). A truncated batch at the end (the
    broker may cut the last one at the fetch size limit) is silently ignored. With `check_crcs`
    every batch's CRC is verified (CorruptRecordError on mismatch).
    """
    data = buf if type(buf) is bytes else bytes(buf)
    n = len(data)
    pos = 0
    unpack = _OFFSET_LENGTH.unpack_from
    while n - pos >= 17:
        base_offset, length = unpack(data, pos)
        end = pos + 12 + length
        if length < 0:
            raise CorruptRecordError(f"negative batch length {length} at offset {base_offset}")
        if end > n:
            break  # partial trailing batch
        magic = data[pos + 16]
        batch: Batch
        if magic == 2:
            if length < _BATCH_OVERHEAD:
                raise CorruptRecordError(
                    f"batch at offset {base_offset}: batchLength {length} below the minimum "
                    f"{_BATCH_OVERHEAD}"
                )
            batch = RecordBatch(data, pos, end)
        elif magic == 0 or magic == 1:
            batch = read_legacy_entry(data, pos, end)
        else:
            raise CorruptRecordError(f"batch at offset {base_offset}: unknown magic {magic}")
        if check_crcs:
            batch.ensure_valid_crc()
        yield batch
        pos = end
