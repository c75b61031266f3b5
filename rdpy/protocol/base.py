"""Base classes and helpers shared by the generated message modules."""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterable, NamedTuple, TypeVar

from .errors import ProtocolError
from .primitives import Buffer, Reader

__all__ = ["DEFAULT", "FieldSpec", "Struct", "Message", "read_structs", "write_structs", "wrap_error"]

T = TypeVar("T")
M = TypeVar("M", bound="Message")

#: Version-range upper bound meaning "and every later version".
INF = 0x7FFF


class _Default:
    """Sentinel: "use the field's default" for nullable fields whose default is not null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


#: Constructor default of nullable list/struct fields whose spec default is non-null (``None``
#: is then a real value: e.g. ``MetadataRequest(topics=None)`` asks for all topics).
DEFAULT: Any = _Default()


class FieldSpec(NamedTuple):
    """Schema of one field, as emitted by the generator (``Struct._SCHEMA``)."""

    name: str  #: Python attribute name (snake_case)
    kind: str  #: int8..int64, uint16, uint32, float64, bool, string, bytes, records, uuid, struct
    array: bool  #: True for ``[]type``
    versions: tuple[int, int]  #: inclusive range, upper bound INF when open-ended
    nullable: tuple[int, int] | None
    tagged: tuple[int, int] | None
    tag: int | None
    ignorable: bool
    struct: type[Struct] | None  #: element/field class for struct types

    def present(self, version: int) -> bool:
        return self.versions[0] <= version <= self.versions[1]

    def is_nullable(self, version: int) -> bool:
        return self.nullable is not None and self.nullable[0] <= version <= self.nullable[1]

    def is_tagged(self, version: int) -> bool:
        return self.tagged is not None and self.tagged[0] <= version <= self.tagged[1]


class Struct:
    """A generated struct: ``__slots__`` attributes, keyword constructor, ``==`` and ``repr``.

    Every struct has ``unknown_tagged_fields``: ``None`` or a list of ``(tag, raw bytes)`` pairs
    read from (and written back to) the wire for tags this version does not know.
    """

    __slots__ = ()
    _SCHEMA: ClassVar[tuple[FieldSpec, ...]] = ()
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        slots: tuple[str, ...] = self.__slots__
        for name in slots:
            if getattr(self, name) != getattr(other, name):
                return False
        return True

    def __repr__(self) -> str:
        parts = []
        slots: tuple[str, ...] = self.__slots__
        for name in slots:
            value = getattr(self, name)
            if name == "unknown_tagged_fields" and value is None:
                continue
            if isinstance(value, memoryview):
                r = f"<{value.nbytes} bytes>"
            elif isinstance(value, (bytes, bytearray)) and len(value) > 64:
                r = f"<{len(value)} bytes>"
            else:
                r = repr(value)
            parts.append(f"{name}={r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Message(Struct):
    """A top-level generated message (request, response, data or header)."""

    __slots__ = ()
    NAME: ClassVar[str] = ""
    API_KEY: ClassVar[int] = -1  #: -1 for data and header types
    MIN_VERSION: ClassVar[int] = 0
    MAX_VERSION: ClassVar[int] = 0
    #: First flexible version (compact encodings, tagged fields), None when never flexible.
    FLEXIBLE_VERSIONS: ClassVar[int | None] = None
    _ENCODERS: ClassVar[dict[int, Callable[[Any, bytearray], None]]] = {}
    _DECODERS: ClassVar[dict[int, Callable[[Reader], Any]]] = {}

    @classmethod
    def is_flexible(cls, version: int) -> bool:
        return cls.FLEXIBLE_VERSIONS is not None and version >= cls.FLEXIBLE_VERSIONS

    def encode_into(self, out: bytearray, version: int) -> None:
        """Append the body encoding of this message at ``version`` to ``out``."""
        enc = self._ENCODERS.get(version)
        if enc is None:
            raise ProtocolError(
                f"unsupported version (valid: {self.MIN_VERSION}-{self.MAX_VERSION})",
                self.NAME,
                version,
            )
        try:
            enc(self, out)
        except ProtocolError as e:
            e.set_context(self.NAME, version)
            raise
        except Exception as e:  # pragma: no cover - generated code wraps field errors
            raise ProtocolError(f"encode failed: {e!r}", self.NAME, version) from e

    def encode(self, version: int) -> bytes:
        """The body encoding (no header) of this message at ``version``."""
        out = bytearray()
        self.encode_into(out, version)
        return bytes(out)

    @classmethod
    def read(cls: type[M], r: Reader, version: int) -> M:
        """Decode from ``r`` at its position (no trailing-bytes check)."""
        dec = cls._DECODERS.get(version)
        if dec is None:
            raise ProtocolError(
                f"unsupported version (valid: {cls.MIN_VERSION}-{cls.MAX_VERSION})",
                cls.NAME,
                version,
            )
        try:
            obj: M = dec(r)
        except ProtocolError as e:
            e.set_context(cls.NAME, version)
            raise
        except Exception as e:  # defensive: decoders only raise ProtocolError
            raise ProtocolError(f"decode failed: {e!r}", cls.NAME, version) from e
        return obj

    @classmethod
    def decode(cls: type[M], buf: Buffer, version: int) -> M:
        """Decode a whole body (no header); trailing bytes are an error."""
        r = Reader(buf)
        obj = cls.read(r, version)
        if r.pos != r.end:
            raise ProtocolError(
                f"{r.end - r.pos} unexpected trailing bytes at offset {r.pos}", cls.NAME, version
            )
        return obj


def read_structs(r: Reader, fn: Callable[[Reader], T], n: int) -> list[T]:
    """``n`` structs decoded by ``fn``; errors get the element index in their path."""
    out: list[T] = []
    app = out.append
    i = 0
    try:
        for i in range(n):
            app(fn(r))
    except ProtocolError as e:
        e.push(f"[{i}]")
        raise
    return out


def write_structs(
    out: bytearray, items: Iterable[T] | None, fn: Callable[[T, bytearray], None]
) -> None:
    i = 0
    if items is None:
        raise ProtocolError("null value for non-nullable array")
    try:
        for i, item in enumerate(items):
            fn(item, out)
    except ProtocolError as e:
        e.push(f"[{i}]")
        raise
    except Exception as e:
        err = wrap_error(e)
        err.push(f"[{i}]")
        raise err from e


def wrap_error(e: Exception) -> ProtocolError:
    """Turn an encoder-side exception (bad type, out of range value) into a ProtocolError."""
    if isinstance(e, ProtocolError):
        return e
    return ProtocolError(f"cannot encode value: {type(e).__name__}: {e}")
