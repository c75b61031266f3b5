"""Errors raised by the sans-I/O protocol layer."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """A Kafka protocol message could not be encoded or decoded.

    ``api`` is the message name (e.g. ``"MetadataResponse"``), ``version`` the
    message version and ``field`` the dotted field path (e.g.
    ``"topics[3].partitions"``); each may be ``None`` when unknown.
    ``str(err)`` reads like
    ``MetadataResponse v12: field topics[3].partitions: buffer underflow reading int32 at offset 117``.
    ``underflow`` tells a message that ended before its fields did (librdkafka's _UNDERFLOW)
    from other malformed content (_BAD_MSG).
    """

    def __init__(
        self,
        reason: str,
        api: str | None = None,
        version: int | None = None,
        field: str | None = None,
        underflow: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.underflow = underflow
        self.api = api
        self.version = version
        # innermost component first, filled by generated code while the error unwinds
        self._path: list[str] = [field] if field else []

    @property
    def field(self) -> str | None:
        if not self._path:
            return None
        out = ""
        for comp in reversed(self._path):
            if comp.startswith("["):
                out += comp
            elif out:
                out += "." + comp
            else:
                out = comp
        return out

    def push(self, component: str) -> None:
        """Prepend a path component (used by generated code while unwinding)."""
        if component:
            self._path.append(component)

    def set_context(self, api: str, version: int) -> None:
        if self.api is None:
            self.api = api
            self.version = version

    def __str__(self) -> str:
        parts = []
        if self.api is not None:
            parts.append(self.api if self.version is None else f"{self.api} v{self.version}")
        field = self.field
        if field:
            parts.append(f"field {field}")
        parts.append(self.reason)
        return ": ".join(parts)

    def __reduce__(self) -> tuple[object, ...]:
        return (ProtocolError, (self.reason, self.api, self.version, self.field, self.underflow))
