"""Kafka framing: every request and response is preceded by a 4-byte big-endian size."""

from __future__ import annotations

import struct
from typing import Union

from .errors import ProtocolError
from .primitives import Buffer

__all__ = ["FrameDecoder", "Frame", "frame", "DEFAULT_MAX_FRAME_SIZE", "SIZE_PREFIX"]

#: Default frame ceiling: librdkafka's receive.message.max.bytes default (100 MB) plus room for
#: protocol overhead.
DEFAULT_MAX_FRAME_SIZE = 100_000_000 + 512
#: Frames at least this big are assembled in a preallocated buffer and returned without a copy.
LARGE_FRAME = 1 << 20
SIZE_PREFIX = struct.Struct(">i")
_unpack_size = SIZE_PREFIX.unpack_from

#: A complete frame payload (size prefix stripped): ``bytes``, or a ``bytearray`` for large frames.
Frame = Union[bytes, bytearray]


def frame(payload: Buffer) -> bytes:
    """``payload`` with its size prefix."""
    n = payload.nbytes if isinstance(payload, memoryview) else len(payload)
    return SIZE_PREFIX.pack(n) + bytes(payload)


class FrameDecoder:
    """Incremental frame splitter (sans-I/O).

    ``feed(chunk)`` accepts any number of bytes and returns the complete frames (payload only,
    without the size prefix) that became available, in order. Small frames are cut out of one
    bytearray consumed from the front (O(1) amortized in CPython) and copied out once; a large
    frame (>= 1 MiB) is assembled in a buffer preallocated from its announced size and handed
    out without any further copy. Both many small reads and one huge frame cost O(total bytes).

    A frame whose announced size is negative or larger than ``max_frame_size`` raises
    ProtocolError; the decoder then stays broken (the connection must be closed).
    """

    __slots__ = ("max_frame_size", "_buf", "_large", "_filled", "_broken")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._large: bytearray | None = None  # preallocated payload of a large frame
        self._filled = 0  # bytes of _large received so far
        self._broken: ProtocolError | None = None

    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) + self._filled

    def feed(self, data: Buffer) -> list[Frame]:
        if self._broken is not None:
            raise self._broken
        frames: list[Frame] = []
        src = data if isinstance(data, memoryview) else memoryview(data)
        if src.format != "B":
            src = src.cast("B")
        if self._large is not None:
            src = self._fill(src, frames)
            if not src:
                return frames
        buf = self._buf
        buf += src
        pos = 0
        end = len(buf)
        mv = memoryview(buf)
        try:
            while end - pos >= 4:
                need = _unpack_size(buf, pos)[0]
                if need < 0 or need > self.max_frame_size:
                    self._broken = ProtocolError(
                        f"invalid frame size {need} (maximum {self.max_frame_size})"
                    )
                    raise self._broken
                if end - pos - 4 >= need:
                    frames.append(bytes(mv[pos + 4 : pos + 4 + need]))
                    pos += 4 + need
                    continue
                if need >= LARGE_FRAME:
                    # Move what we have into a preallocated buffer; the rest goes there directly.
                    have = end - pos - 4
                    large = bytearray(need)
                    large[:have] = mv[pos + 4 : end]
                    self._large = large
                    self._filled = have
                    pos = end
                break
        finally:
            mv.release()
            if pos:
                del buf[:pos]
        return frames

    def _fill(self, src: memoryview, frames: list[Frame]) -> memoryview:
        large = self._large
        assert large is not None
        n = min(len(large) - self._filled, src.nbytes)
        large[self._filled : self._filled + n] = src[:n]
        self._filled += n
        if self._filled == len(large):
            frames.append(large)
            self._large = None
            self._filled = 0
        return src[n:]
