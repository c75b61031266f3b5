"""A blocking, single-connection Kafka client built from the protocol layer alone.

It exists to prove the sans-I/O layers against a real broker before (and independently of) the
threaded client engine: a socket, a FrameDecoder, a ProtocolSession, and nothing else.
"""

from __future__ import annotations

import socket
from typing import Any

from rdpy.protocol import FrameDecoder, ProtocolSession
from rdpy.protocol.messages import ApiVersionsRequest
from rdpy.protocol.versions import negotiate


class RawConnection:
    """One TCP connection to one broker; `request()` sends and waits for the matching response."""

    def __init__(self, bootstrap: str, client_id: str = "rdpy-raw", timeout: float = 15.0) -> None:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.session = ProtocolSession(client_id)
        self.decoder = FrameDecoder()
        self._ready: dict[int, Any] = {}
        self.versions: dict[int, int] = {}

    def negotiate_versions(self) -> Any:
        """ApiVersions v3 (flexible), then remember the highest common version of every API."""
        response = self.request(
            ApiVersionsRequest(client_software_name="rdpy-tests", client_software_version="0"), 3
        )
        assert response.error_code == 0, response
        self.versions = negotiate({k.api_key: (k.min_version, k.max_version) for k in response.api_keys})
        return response

    def request(self, request: Any, version: int | None = None) -> Any:
        if version is None:
            version = self.versions[request.API_KEY]
        correlation_id, frame = self.session.send_request(request, version)
        self.sock.sendall(frame)
        while correlation_id not in self._ready:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            for response_frame in self.decoder.feed(chunk):
                got_id, response, _ = self.session.receive(response_frame)
                self._ready[got_id] = response
        return self._ready.pop(correlation_id)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
