"""One TCP connection to a broker: non-blocking connect, an output buffer, frame input; and
`IoWait`, the shape of the wait a broker thread does on its sockets.

Owned by a single broker thread; no locks. Errors surface as `TransportError` with
librdkafka-like wording so the broker can report them as _TRANSPORT / _RESOLVE. TLS, when it
comes, is a layer of this module (see setup.py: the SSL_HANDSHAKE step).
"""

from __future__ import annotations

import errno
import os
import socket
from collections import deque
from typing import Protocol

from rdpy.protocol import FrameDecoder
from rdpy.protocol.framing import Frame


class IoWait(Protocol):
    """How a broker thread waits for its sockets: select.select's signature. Tests that step
    a Broker with a fake clock give one that never blocks."""

    def __call__(self, rlist: list[socket.socket], wlist: list[socket.socket],
                 xlist: list[socket.socket], timeout: float, /
                 ) -> tuple[list[socket.socket], list[socket.socket], list[socket.socket]]:
        ...


class TransportError(Exception):
    """The connection failed; `resolve` tells a name-resolution failure from the rest."""

    def __init__(self, reason: str, resolve: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resolve = resolve


def resolve(host: str, port: int) -> list[tuple[int, tuple[str, int]]]:
    """Broker thread. Addresses for host:port (blocking getaddrinfo, as librdkafka does).
    Port 0 stands for a malformed port in bootstrap.servers (see parse_bootstrap)."""
    if port <= 0:
        raise TransportError(f"Failed to resolve '{host}:{port}': invalid port", True)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError(f"Failed to resolve '{host}:{port}': {exc.strerror}", True) from None
    out: list[tuple[int, tuple[str, int]]] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            out.append((family, (str(sockaddr[0]), int(sockaddr[1]))))
    if not out:
        raise TransportError(f"Failed to resolve '{host}:{port}': no usable address", True)
    return out


class Connection:
    """A non-blocking socket with queued output frames and a FrameDecoder for input."""

    __slots__ = ("sock", "addr", "connected", "_out", "_out_head", "decoder", "bytes_sent",
                 "bytes_received", "_recv_size")

    def __init__(self, family: int, addr: tuple[str, int], max_frame_size: int,
                 send_buffer: int = 0, recv_buffer: int = 0, nodelay: bool = True) -> None:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if send_buffer > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        if recv_buffer > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        self.sock = sock
        self.addr = addr
        self.connected = False
        self._out: deque[bytes | bytearray] = deque()
        self._out_head = 0  # bytes of _out[0] already sent
        self.decoder = FrameDecoder(max_frame_size)
        self.bytes_sent = 0
        self.bytes_received = 0
        self._recv_size = 1 << 16
        err = sock.connect_ex(addr)
        if err == 0:
            self.connected = True
        elif err not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            sock.close()
            raise TransportError(f"Connect to {format_address(addr)} failed: {_strerror(err)}")

    def fileno(self) -> int:
        return self.sock.fileno()

    def finish_connect(self) -> None:
        """The socket became writable while connecting: did the connect succeed?"""
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise TransportError(f"Connect to {format_address(self.addr)} failed: {_strerror(err)}")
        self.connected = True

    def queue(self, frame: bytes | bytearray) -> None:
        self._out.append(frame)

    def wants_write(self) -> bool:
        return bool(self._out) or not self.connected

    def outbuf_count(self) -> int:
        return len(self._out)

    def send(self) -> None:
        """Write as much queued output as the socket takes now."""
        out = self._out
        sock = self.sock
        while out:
            head = out[0]
            pos = self._out_head
            if pos == 0 and len(out) > 1 and len(head) < 65536:
                # Coalesce small frames into one send() call.
                parts = []
                size = 0
                while out and size < 262144:
                    p = out.popleft()
                    parts.append(p)
                    size += len(p)
                head = b"".join(parts)
                out.appendleft(head)
            try:
                n = sock.send(memoryview(head)[pos:])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise TransportError(f"Send failed: {exc.strerror or exc}") from None
            self.bytes_sent += n
            if pos + n == len(head):
                out.popleft()
                self._out_head = 0
            else:
                self._out_head = pos + n
                return

    def receive(self) -> list[Frame]:
        """Read what is available; complete frames in order. Raises TransportError on close."""
        frames: list[Frame] = []
        sock = self.sock
        for _ in range(16):
            try:
                data = sock.recv(self._recv_size)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                raise TransportError(f"Receive failed: {exc.strerror or exc}") from None
            if not data:
                raise TransportError("Disconnected")
            self.bytes_received += len(data)
            frames.extend(self.decoder.feed(data))
            if len(data) < self._recv_size:
                break
        return frames

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def format_address(addr: tuple[str, int]) -> str:
    """librdkafka's way of printing a socket address: ipv4#host:port, ipv6#[host]:port."""
    return f"ipv4#{addr[0]}:{addr[1]}" if ":" not in addr[0] else f"ipv6#[{addr[0]}]:{addr[1]}"


def _strerror(err: int) -> str:
    return os.strerror(err)
