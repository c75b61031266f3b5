"""Primitive encoders/decoders for the Kafka wire protocol.

Encoding appends to a ``bytearray`` through small module-level functions (``w_*``), which the
generated message code calls directly; :class:`Writer` wraps the same functions for other users.
Decoding goes through :class:`Reader`, which bounds-checks every read and raises
:class:`~rdpy.protocol.errors.ProtocolError` (never anything else) on malformed input.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any, Iterable, Sequence, Union

from .errors import ProtocolError

__all__ = [
    "Reader",
    "Writer",
    "Buffer",
    "ZERO_UUID",
    "S_INT8",
    "S_INT16",
    "S_INT32",
    "S_INT64",
    "S_UINT16",
    "S_UINT32",
    "S_FLOAT64",
    "S_BOOL",
    "w_uvarint",
    "w_varint",
    "w_varlong",
    "w_string",
    "w_nstring",
    "w_cstring",
    "w_cnstring",
    "w_bytes",
    "w_nbytes",
    "w_cbytes",
    "w_cnbytes",
    "w_uuid",
    "w_array_len",
    "w_narray_len",
    "w_carray_len",
    "w_cnarray_len",
    "w_tags",
    "w_no_tags",
    "w_prim_array",
    "encode_uvarint",
]

#: Anything the encoders accept for ``bytes``/``records`` fields.
Buffer = Union[bytes, bytearray, memoryview]

ZERO_UUID = uuid.UUID(int=0)

S_INT8 = struct.Struct(">b")
S_INT16 = struct.Struct(">h")
S_INT32 = struct.Struct(">i")
S_INT64 = struct.Struct(">q")
S_UINT16 = struct.Struct(">H")
S_UINT32 = struct.Struct(">I")
S_FLOAT64 = struct.Struct(">d")
S_BOOL = struct.Struct(">?")

_pack_h = S_INT16.pack
_pack_i = S_INT32.pack

_CODE_NAMES = {
    "b": "int8",
    "h": "int16",
    "i": "int32",
    "q": "int64",
    "H": "uint16",
    "I": "uint32",
    "d": "float64",
    "?": "bool",
}

# Single-byte unsigned varints are by far the most common (short compact strings, small arrays).
_UVARINT1 = [bytes((i,)) for i in range(128)]


# --------------------------------------------------------------------------------------------
# Writing (append to a bytearray)
# --------------------------------------------------------------------------------------------


def encode_uvarint(value: int) -> bytes:
    """Unsigned varint (7 bits per byte, little-endian groups, MSB = continuation)."""
    if 0 <= value < 128:
        return _UVARINT1[value]
    if value < 0:
        raise ProtocolError(f"cannot encode negative value {value} as unsigned varint")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def w_uvarint(out: bytearray, value: int) -> None:
    if 0 <= value < 128:
        out.append(value)
    else:
        out += encode_uvarint(value)


def w_varint(out: bytearray, value: int) -> None:
    """Signed (zigzag) 32-bit varint."""
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ProtocolError(f"value {value} out of range for varint")
    w_uvarint(out, ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def w_varlong(out: bytearray, value: int) -> None:
    """Signed (zigzag) 64-bit varint."""
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ProtocolError(f"value {value} out of range for varlong")
    w_uvarint(out, ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def _null(what: str) -> ProtocolError:
    return ProtocolError(f"null value for non-nullable {what}")


def w_string(out: bytearray, value: str | None) -> None:
    if value is None:
        raise _null("string")
    b = value.encode()
    if len(b) > 0x7FFF:
        raise ProtocolError(f"string of {len(b)} bytes is too long")
    out += _pack_h(len(b))
    out += b


def w_nstring(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff"
    else:
        w_string(out, value)


def w_cstring(out: bytearray, value: str | None) -> None:
    if value is None:
        raise _null("string")
    b = value.encode()
    if len(b) > 0x7FFF:
        raise ProtocolError(f"string of {len(b)} bytes is too long")
    w_uvarint(out, len(b) + 1)
    out += b


def w_cnstring(out: bytearray, value: str | None) -> None:
    if value is None:
        out.append(0)
    else:
        w_cstring(out, value)


def w_bytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        raise _null("bytes")
    out += _pack_i(len(value) if not isinstance(value, memoryview) else value.nbytes)
    out += value


def w_nbytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
    else:
        w_bytes(out, value)


def w_cbytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        raise _null("bytes")
    w_uvarint(out, (len(value) if not isinstance(value, memoryview) else value.nbytes) + 1)
    out += value


def w_cnbytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out.append(0)
    else:
        w_cbytes(out, value)


def w_uuid(out: bytearray, value: uuid.UUID) -> None:
    out += value.bytes


def w_array_len(out: bytearray, value: Sequence[object] | None) -> None:
    if value is None:
        raise _null("array")
    out += _pack_i(len(value))


def w_narray_len(out: bytearray, value: Sequence[object] | None) -> None:
    out += _pack_i(-1 if value is None else len(value))


def w_carray_len(out: bytearray, value: Sequence[object] | None) -> None:
    if value is None:
        raise _null("array")
    w_uvarint(out, len(value) + 1)


def w_cnarray_len(out: bytearray, value: Sequence[object] | None) -> None:
    w_uvarint(out, 0 if value is None else len(value) + 1)


def w_prim_array(out: bytearray, code: str, values: Sequence[object] | None) -> None:
    """Elements of a fixed-width primitive array (the length is written separately)."""
    if values:
        out += struct.pack(f">{len(values)}{code}", *values)


_NO_TAGS = b"\x00"


def w_no_tags(out: bytearray, unknown: list[tuple[int, bytes]] | None) -> None:
    """The tagged-field section of a struct without known tagged fields in this version."""
    if not unknown:
        out.append(0)
    else:
        w_tags(out, [], unknown)


def w_tags(
    out: bytearray, known: list[tuple[int, bytes]], unknown: list[tuple[int, bytes]] | None
) -> None:
    """Write a tagged-field section; ``known`` holds already-encoded (tag, value) pairs."""
    if unknown:
        fields = sorted(known + list(unknown), key=lambda kv: kv[0])
    else:
        fields = known  # generated code appends known tags in ascending order
    w_uvarint(out, len(fields))
    for tag, data in fields:
        w_uvarint(out, tag)
        w_uvarint(out, len(data))
        out += data


class Writer:
    """Convenience wrapper: ``Writer().int32(1).string("x").getvalue()``."""

    __slots__ = ("buf",)

    def __init__(self, buf: bytearray | None = None) -> None:
        self.buf = bytearray() if buf is None else buf

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def int8(self, v: int) -> Writer:
        self.buf += S_INT8.pack(v)
        return self

    def int16(self, v: int) -> Writer:
        self.buf += S_INT16.pack(v)
        return self

    def int32(self, v: int) -> Writer:
        self.buf += S_INT32.pack(v)
        return self

    def int64(self, v: int) -> Writer:
        self.buf += S_INT64.pack(v)
        return self

    def uint16(self, v: int) -> Writer:
        self.buf += S_UINT16.pack(v)
        return self

    def uint32(self, v: int) -> Writer:
        self.buf += S_UINT32.pack(v)
        return self

    def float64(self, v: float) -> Writer:
        self.buf += S_FLOAT64.pack(v)
        return self

    def boolean(self, v: bool) -> Writer:
        self.buf.append(1 if v else 0)
        return self

    def uvarint(self, v: int) -> Writer:
        w_uvarint(self.buf, v)
        return self

    def varint(self, v: int) -> Writer:
        w_varint(self.buf, v)
        return self

    def varlong(self, v: int) -> Writer:
        w_varlong(self.buf, v)
        return self

    def string(self, v: str | None, compact: bool = False) -> Writer:
        if compact:
            w_cnstring(self.buf, v)
        else:
            w_nstring(self.buf, v)
        return self

    def bytes_(self, v: Buffer | None, compact: bool = False) -> Writer:
        if compact:
            w_cnbytes(self.buf, v)
        else:
            w_nbytes(self.buf, v)
        return self

    def uuid(self, v: uuid.UUID) -> Writer:
        self.buf += v.bytes
        return self

    def raw(self, v: Buffer) -> Writer:
        self.buf += v
        return self

    def tagged_fields(self, fields: Iterable[tuple[int, bytes]] = ()) -> Writer:
        w_tags(self.buf, sorted(fields, key=lambda kv: kv[0]), None)
        return self


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class Reader:
    """Bounds-checked reader over a bytes-like buffer.

    ``pos`` is the next offset, ``end`` the (possibly temporarily lowered) limit. Variable-size
    reads return ``bytes``/``str``; :meth:`records` returns a zero-copy ``memoryview``.
    """

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: Buffer, pos: int = 0, end: int | None = None) -> None:
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        self.buf = mv
        self.pos = pos
        self.end = mv.nbytes if end is None else end

    # -- errors ---------------------------------------------------------------------------
    def underflow(self, what: str, needed: int | None = None) -> ProtocolError:
        extra = f" (need {needed} bytes, {self.end - self.pos} left)" if needed is not None else ""
        return ProtocolError(f"buffer underflow reading {what} at offset {self.pos}{extra}",
                             underflow=True)

    def error(self, reason: str) -> ProtocolError:
        return ProtocolError(f"{reason} at offset {self.pos}")

    def remaining(self) -> int:
        return self.end - self.pos

    # -- fixed width -----------------------------------------------------------------------
    def fixed(self, st: struct.Struct) -> tuple[Any, ...]:
        p = self.pos
        n = p + st.size
        if n > self.end:
            raise self.underflow(", ".join(_CODE_NAMES.get(c, c) for c in st.format[1:]), st.size)
        self.pos = n
        return st.unpack_from(self.buf, p)

    def _one(self, st: struct.Struct, what: str) -> int:
        p = self.pos
        n = p + st.size
        if n > self.end:
            raise self.underflow(what, st.size)
        self.pos = n
        v: int = st.unpack_from(self.buf, p)[0]
        return v

    def int8(self) -> int:
        return self._one(S_INT8, "int8")

    def int16(self) -> int:
        return self._one(S_INT16, "int16")

    def int32(self) -> int:
        return self._one(S_INT32, "int32")

    def int64(self) -> int:
        return self._one(S_INT64, "int64")

    def uint16(self) -> int:
        return self._one(S_UINT16, "uint16")

    def uint32(self) -> int:
        return self._one(S_UINT32, "uint32")

    def float64(self) -> float:
        p = self.pos
        if p + 8 > self.end:
            raise self.underflow("float64", 8)
        self.pos = p + 8
        v: float = S_FLOAT64.unpack_from(self.buf, p)[0]
        return v

    def boolean(self) -> bool:
        p = self.pos
        if p >= self.end:
            raise self.underflow("bool", 1)
        self.pos = p + 1
        return self.buf[p] != 0

    def uuid(self) -> uuid.UUID:
        p = self.pos
        n = p + 16
        if n > self.end:
            raise self.underflow("uuid", 16)
        self.pos = n
        return uuid.UUID(bytes=bytes(self.buf[p:n]))

    def raw(self, n: int) -> bytes:
        p = self.pos
        if n < 0 or p + n > self.end:
            raise self.underflow(f"{n} raw bytes", n)
        self.pos = p + n
        return bytes(self.buf[p : p + n])

    # -- varints ---------------------------------------------------------------------------
    def uvarint(self, max_bytes: int = 5) -> int:
        buf = self.buf
        p = self.pos
        end = self.end
        if p < end:
            b = buf[p]
            if b < 0x80:
                self.pos = p + 1
                return b
        result = 0
        shift = 0
        for i in range(max_bytes):
            if p >= end:
                raise self.underflow("varint")
            b = buf[p]
            p += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = p
                return result
            shift += 7
        raise self.error("varint is too long")

    def varint(self) -> int:
        v = self.uvarint(5)
        if v > 0xFFFFFFFF:
            raise self.error("varint out of range")
        return (v >> 1) ^ -(v & 1)

    def varlong(self) -> int:
        v = self.uvarint(10)
        if v > 0xFFFFFFFFFFFFFFFF:
            raise self.error("varlong out of range")
        return (v >> 1) ^ -(v & 1)

    # -- lengths ---------------------------------------------------------------------------
    def _len_check(self, n: int, what: str) -> None:
        if n > self.end - self.pos:
            raise self.error(f"{what} length {n} exceeds the {self.end - self.pos} remaining bytes")

    def _utf8(self, p: int, n: int) -> str:
        try:
            return str(self.buf[p : p + n], "utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"invalid UTF-8 in string at offset {p}: {e.reason}") from None

    # -- strings ---------------------------------------------------------------------------
    def nstring(self) -> str | None:
        n = self._one(S_INT16, "string length")
        if n < 0:
            if n == -1:
                return None
            raise self.error(f"negative string length {n}")
        self._len_check(n, "string")
        p = self.pos
        self.pos = p + n
        return self._utf8(p, n)

    def string(self) -> str:
        # A null where the spec says non-nullable reads as "": librdkafka reads every string
        # as nullable and carries on (its mock cluster answers FindCoordinator errors with a
        # null host), and the field's other content is intact.
        s = self.nstring()
        return "" if s is None else s

    def cnstring(self) -> str | None:
        n = self.uvarint() - 1
        if n < 0:
            return None
        self._len_check(n, "string")
        p = self.pos
        self.pos = p + n
        return self._utf8(p, n)

    def cstring(self) -> str:
        s = self.cnstring()
        return "" if s is None else s  # as string()

    # -- bytes -----------------------------------------------------------------------------
    def nbytes_view(self) -> memoryview | None:
        n = self._one(S_INT32, "bytes length")
        if n < 0:
            if n == -1:
                return None
            raise self.error(f"negative bytes length {n}")
        self._len_check(n, "bytes")
        p = self.pos
        self.pos = p + n
        return self.buf[p : p + n]

    def cnbytes_view(self) -> memoryview | None:
        n = self.uvarint() - 1
        if n < 0:
            return None
        self._len_check(n, "bytes")
        p = self.pos
        self.pos = p + n
        return self.buf[p : p + n]

    def nbytes(self) -> bytes | None:
        v = self.nbytes_view()
        return None if v is None else bytes(v)

    def bytes_(self) -> bytes:
        # A null where the spec says non-nullable reads as b"", as string() does: librdkafka
        # reads every bytes field as nullable, and its mock cluster answers a SyncGroup that
        # failed (REBALANCE_IN_PROGRESS) with a null assignment; refusing the whole answer
        # would lose its error code, and with it the prompt rejoin.
        v = self.nbytes_view()
        return b"" if v is None else bytes(v)

    def cnbytes(self) -> bytes | None:
        v = self.cnbytes_view()
        return None if v is None else bytes(v)

    def cbytes(self) -> bytes:
        v = self.cnbytes_view()
        return b"" if v is None else bytes(v)  # as bytes_()

    def records(self) -> memoryview | None:
        """``records`` fields: nullable bytes, returned zero-copy."""
        return self.nbytes_view()

    def crecords(self) -> memoryview | None:
        return self.cnbytes_view()

    # -- arrays ----------------------------------------------------------------------------
    def narray_len(self) -> int:
        """Array element count; -1 for null. Never more than the remaining bytes."""
        n = self._one(S_INT32, "array length")
        if n < 0:
            if n == -1:
                return -1
            raise self.error(f"negative array length {n}")
        self._len_check(n, "array")
        return n

    def array_len(self) -> int:
        n = self.narray_len()
        if n < 0:
            raise self.error("null value for non-nullable array")
        return n

    def cnarray_len(self) -> int:
        n = self.uvarint() - 1
        if n >= 0:
            self._len_check(n, "array")
        return n

    def carray_len(self) -> int:
        n = self.cnarray_len()
        if n < 0:
            raise self.error("null value for non-nullable array")
        return n

    def prim_array(self, code: str, size: int, n: int) -> list[Any]:
        """``n`` fixed-width elements (struct format ``code`` of ``size`` bytes each)."""
        p = self.pos
        total = size * n
        if p + total > self.end:
            raise self.underflow(f"array of {n} {code}", total)
        self.pos = p + total
        return list(struct.unpack_from(f">{n}{code}", self.buf, p))

    # -- tagged fields ---------------------------------------------------------------------
    def push_limit(self, size: int) -> int:
        """Restrict reads to the next ``size`` bytes; returns the token for :meth:`pop_limit`."""
        if size > self.end - self.pos:
            raise self.underflow(f"tagged field of {size} bytes", size)
        old = self.end
        self.end = self.pos + size
        return old

    def pop_limit(self, old_end: int) -> None:
        """Skip what is left of the limited region and restore the previous limit."""
        self.pos = self.end
        self.end = old_end

    def skip_tags(self) -> list[tuple[int, bytes]] | None:
        """Read a tagged-field section where no tag is known: all are kept raw."""
        n = self.uvarint()
        if n == 0:
            return None
        out = []
        for _ in range(n):
            tag = self.uvarint()
            size = self.uvarint()
            out.append((tag, self.raw(size)))
        return out
