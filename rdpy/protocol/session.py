"""Sans-I/O request/response bookkeeping for one connection.

    session = ProtocolSession("rdpy")
    corr_id, data = session.send_request(MetadataRequest(topics=None), 12)
    sock.sendall(data)                                  # (the caller does the I/O)
    for frame in frame_decoder.feed(sock.recv(65536)):
        corr_id, response, request = session.receive(frame)
"""

from __future__ import annotations

from typing import NamedTuple

from .base import Message
from .errors import ProtocolError
from .framing import SIZE_PREFIX
from .headers import (
    API_VERSIONS_KEY,
    RequestHeader,
    ResponseHeader,
    request_header_version,
    response_header_version,
)
from .messages import API_MODULES, API_NAMES, response_type
from .primitives import S_INT32, Buffer, Reader

__all__ = ["ProtocolSession", "PendingRequest", "Response"]

_PRODUCE_KEY = 0


class PendingRequest(NamedTuple):
    api_key: int
    api_version: int
    request: Message


class Response(NamedTuple):
    correlation_id: int
    response: Message
    request: Message


class ProtocolSession:
    """Correlation ids, headers and framing for one broker connection (no I/O, not thread-safe).

    Correlation ids start at ``first_correlation_id`` and increase by one, wrapping from
    2**31-1 to 0.
    """

    __slots__ = ("client_id", "_next_id", "_pending", "_header", "trailing_bytes_ignored")

    def __init__(self, client_id: str | None, first_correlation_id: int = 0) -> None:
        self.client_id = client_id
        self._next_id = first_correlation_id & 0x7FFFFFFF
        self._pending: dict[int, PendingRequest] = {}
        self._header = RequestHeader(client_id=client_id)
        #: Bytes after a response's last known field, skipped (see receive()).
        self.trailing_bytes_ignored = 0

    def pending(self) -> int:
        """Number of requests sent and still awaiting a response."""
        return len(self._pending)

    def pending_requests(self) -> dict[int, PendingRequest]:
        """Correlation id -> pending request (a copy, in send order)."""
        return dict(self._pending)

    def forget(self, correlation_id: int) -> PendingRequest | None:
        """Stop waiting for ``correlation_id`` (e.g. it timed out); returns what was pending."""
        return self._pending.pop(correlation_id, None)

    def clear(self) -> list[PendingRequest]:
        """Drop every pending request (connection closed); returns them in send order."""
        out = list(self._pending.values())
        self._pending.clear()
        return out

    def send_request(
        self, request: Message, api_version: int, expect_response: bool | None = None
    ) -> tuple[int, bytearray]:
        """Encode ``request`` at ``api_version`` into a complete frame.

        Returns ``(correlation_id, frame)``; the frame is a fresh bytearray owned by the caller.
        ``expect_response=None`` means "yes", except for ProduceRequest with ``acks == 0`` to
        which brokers never answer; such requests are not remembered.
        """
        api_key = request.API_KEY
        if api_key < 0 or api_key not in API_MODULES or request.NAME != API_MODULES[api_key][1]:
            raise ProtocolError(f"{type(request).__name__} is not a request message")
        corr = self._next_id
        self._next_id = (corr + 1) & 0x7FFFFFFF
        hdr = self._header
        hdr.request_api_key = api_key
        hdr.request_api_version = api_version
        hdr.correlation_id = corr
        out = bytearray(4)
        hdr.encode_into(out, request_header_version(api_key, api_version))
        request.encode_into(out, api_version)
        SIZE_PREFIX.pack_into(out, 0, len(out) - 4)
        if expect_response is None:
            expect_response = not (api_key == _PRODUCE_KEY and getattr(request, "acks", 1) == 0)
        if expect_response:
            self._pending[corr] = PendingRequest(api_key, api_version, request)
        # Handed out as is: a copy of a 1 MB ProduceRequest would cost as much as encoding it.
        return corr, out

    def receive(self, frame: Buffer) -> Response:
        """Decode one response frame (size prefix already stripped, see FrameDecoder)."""
        r = Reader(frame)
        if r.remaining() < 4:
            raise ProtocolError(f"response frame of {r.remaining()} bytes is too short")
        corr = S_INT32.unpack_from(r.buf, 0)[0]
        pend = self._pending.pop(corr, None)
        if pend is None:
            expected = ", ".join(str(c) for c in list(self._pending)[:5]) or "none"
            raise ProtocolError(
                f"response with unknown correlation id {corr} (awaiting: {expected})"
            )
        api_key, version, request = pend
        cls = response_type(api_key)
        ResponseHeader.read(r, response_header_version(api_key, version))
        start = r.pos
        try:
            resp = cls.read(r, version)
            if r.pos != r.end:
                # Tolerated, as the Java client and librdkafka do: some brokers (librdkafka's
                # own mock cluster, Metadata v12) append bytes we have no field for.
                self.trailing_bytes_ignored += r.end - r.pos
        except ProtocolError:
            if api_key == API_VERSIONS_KEY and version > 0:
                # A broker that does not support our ApiVersions version answers with a v0 body
                # (error UNSUPPORTED_VERSION and its own version ranges).
                r.pos = start
                try:
                    resp = cls.read(r, 0)
                except ProtocolError:
                    pass
                else:
                    if r.pos == r.end and getattr(resp, "error_code", 0) != 0:
                        return Response(corr, resp, request)
            raise
        return Response(corr, resp, request)

    def __repr__(self) -> str:
        names = [API_NAMES.get(p.api_key, str(p.api_key)) for p in self._pending.values()]
        return f"ProtocolSession(client_id={self.client_id!r}, pending={names})"
