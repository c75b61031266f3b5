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
#: Frames at least this big are assembled in a buffer of their own, grown as their bytes arrive
#: (never from the announced size alone: a peer announcing 90 MB and sending nothing costs
#: nothing), and returned without a further copy.
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
    frame (>= 1 MiB) is assembled in a buffer of its own that grows with the bytes received
    (memory follows what the peer sent, not what it announced) and is handed out without any
    further copy. Both many small reads and one huge frame cost O(total bytes).

    A frame whose announced size is negative or larger than ``max_frame_size`` raises
    ProtocolError; the decoder then stays broken (the connection must be closed).
    """

    __slots__ = ("max_frame_size", "_buf", "_large", "_need", "_broken")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._large: bytearray | None = None  # the part of a large frame received so far
        self._need = 0  # the large frame's announced size
        self._broken: ProtocolError | None = None

    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) + (len(self._large) if self._large is not None else 0)

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
                    # Move what we have into the frame's own buffer; the rest goes there.
                    self._large = bytearray(mv[pos + 4 : end])
                    self._need = need
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
        n = min(self._need - len(large), src.nbytes)
        large += src[:n]
        if len(large) == self._need:
            frames.append(large)
            self._large = None
        return src[n:]
