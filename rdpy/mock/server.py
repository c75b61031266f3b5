"""The mock cluster's network side: one thread, one selector, every listener and connection.

Each broker is a listening socket on loopback. A connection's requests are served strictly in
order, one at a time, as Kafka does (it mutes a connection while a request is in progress):
a held Fetch, or a JoinGroup/SyncGroup waiting for the rest of its group (a handler's
`Pending`), delays the requests pipelined behind it. Responses leave after the broker's
injected round-trip time, still in order. Group timers (session and rebalance timeouts) are
fired from the loop with the same monotonic clock (`ClusterState.tick_groups`).

Threads: everything here runs on the server thread except `start`, `wake`, `call` and `close`,
which the owner (MockCluster, on the test's thread) calls. Cluster state is read and changed
only with `state.lock` held.
"""

from __future__ import annotations

import logging
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdpy.mock.faults import TRANSPORT
from rdpy.mock.handlers import (
    HANDLERS,
    SUPPORTED,
    Pending,
    RequestContext,
    Wait,
    api_versions_error,
)
from rdpy.mock.state import ClusterState
from rdpy.protocol import (
    API_NAMES,
    FrameDecoder,
    ProtocolError,
    Reader,
    RequestHeader,
    ResponseHeader,
    request_header_version,
    request_type,
    response_header_version,
)
from rdpy.protocol.base import Message
from rdpy.protocol.messages.api_versions import ApiVersionsRequest

__all__ = ["MockServer"]

log = logging.getLogger("rdpy.mock")

_API_KEY_VERSION = struct.Struct(">hh")
_SIZE = struct.Struct(">i")
_RECV_SIZE = 256 * 1024


@dataclass
class _Listener:
    broker_id: int
    sock: socket.socket


@dataclass
class _Held:
    """A Fetch waiting for data (see handlers.Wait)."""

    api_key: int
    api_version: int
    correlation_id: int
    request: Any
    injected_error: int
    #: Extra delay injected for this request's response, in seconds.
    delay_s: float
    deadline: float
    seen_version: int


@dataclass
class _Waiting:
    """A request whose answer the group coordinator completes later (handlers.Pending)."""

    api_key: int
    api_version: int
    correlation_id: int
    pending: Pending
    #: Extra delay injected for this request's response, in seconds.
    delay_s: float


class _Conn:
    """One client connection. Server thread only."""

    def __init__(self, sock: socket.socket, broker_id: int, peer: str) -> None:
        self.sock = sock
        self.broker_id = broker_id
        self.peer = peer
        self.decoder = FrameDecoder()
        self.inbox: deque[bytes | bytearray] = deque()  # request frames not yet served
        self.held: _Held | None = None
        self.waiting: _Waiting | None = None
        self.outq: deque[tuple[float, bytes]] = deque()  # (send no earlier than, frame)
        self.wbuf = bytearray()
        self.last_ready = 0.0
        self.writing = False  # registered for EVENT_WRITE


class MockServer:
    """Listeners for `num_brokers` brokers (ids 1..n) and the thread serving them."""

    def __init__(self, state: ClusterState, num_brokers: int, host: str = "127.0.0.1") -> None:
        self.state = state
        self.host = host
        #: Handler crashes (bugs in the mock), for tests to assert there were none.
        self.internal_errors: list[str] = []
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._listeners: dict[int, _Listener] = {}
        self._conns: set[_Conn] = set()
        self._tasks: deque[tuple[Callable[[], None], threading.Event]] = deque()
        self._tasks_lock = threading.Lock()
        self._stop = False
        try:
            for node_id in range(1, num_brokers + 1):
                self._listen(node_id)
        except BaseException:
            self._close_sockets()
            raise
        self._thread = threading.Thread(target=self._run, name="rdpy-mock-cluster", daemon=True)

    def _listen(self, node_id: int) -> None:
        """Constructor (owner's thread, before the server thread starts)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(128)
        sock.setblocking(False)
        listener = _Listener(node_id, sock)
        self._listeners[node_id] = listener
        self._sel.register(sock, selectors.EVENT_READ, listener)
        with self.state.lock:
            self.state.add_broker(node_id, self.host, sock.getsockname()[1])

    # --- owner's API (any thread but the server's) --------------------------------------------

    def start(self) -> None:
        """Owner's thread."""
        self._thread.start()

    def wake(self) -> None:
        """Any thread. End the server's select() so it looks at the state again."""
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or we are closing

    def call(self, fn: Callable[[], None], timeout: float = 10.0) -> None:
        """Owner's thread. Run `fn` on the server thread and wait until it has run."""
        done = threading.Event()
        with self._tasks_lock:
            self._tasks.append((fn, done))
        self.wake()
        if not done.wait(timeout):
            raise TimeoutError("mock cluster server thread did not respond")

    def close(self) -> None:
        """Owner's thread. Stop the thread, close every socket."""
        if self._stop:
            return
        self._stop = True
        self.wake()
        if self._thread.is_alive():
            self._thread.join(10.0)
        self._close_sockets()

    def _close_sockets(self) -> None:
        for conn in list(self._conns):
            self._drop(conn, "cluster closed")
        for listener in self._listeners.values():
            listener.sock.close()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def close_broker_connections(self, broker_id: int) -> None:
        """Server thread (through call()). Drop every connection to `broker_id`."""
        for conn in [c for c in self._conns if c.broker_id == broker_id]:
            self._drop(conn, "broker set down")

    # --- the loop (server thread) -------------------------------------------------------------

    def _run(self) -> None:
        """Server thread: select, read, serve, write, until close()."""
        while not self._stop:
            events = self._sel.select(self._select_timeout(time.monotonic()))
            for key, mask in events:
                self._on_event(key.data, mask)
            self._run_tasks()
            self._serve_all(time.monotonic())

    def _on_event(self, data: _Listener | _Conn | None, mask: int) -> None:
        """Server thread."""
        if data is None:
            try:
                while self._wake_r.recv(4096):
                    pass
            except BlockingIOError:
                pass
        elif isinstance(data, _Listener):
            self._accept(data)
        else:
            if mask & selectors.EVENT_READ:
                self._read(data)
            if mask & selectors.EVENT_WRITE and data in self._conns:
                self._write(data)

    def _run_tasks(self) -> None:
        """Server thread."""
        while True:
            with self._tasks_lock:
                if not self._tasks:
                    return
                fn, done = self._tasks.popleft()
            try:
                fn()
            finally:
                done.set()

    def _select_timeout(self, now: float) -> float | None:
        """Server thread. Until the next held Fetch deadline, delayed response or group timer,
        or None."""
        due: float | None = None
        with self.state.lock:
            group_due = self.state.next_group_deadline()
        if group_due is not None:
            due = group_due / 1000.0
        for conn in self._conns:
            if conn.held is not None:
                due = conn.held.deadline if due is None else min(due, conn.held.deadline)
            if conn.outq:
                due = conn.outq[0][0] if due is None else min(due, conn.outq[0][0])
        return None if due is None else max(0.0, due - now)

    def _accept(self, listener: _Listener) -> None:
        """Server thread. A down broker accepts and drops at once (connection reset)."""
        try:
            sock, addr = listener.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        with self.state.lock:
            up = self.state.broker(listener.broker_id).up
        if not up:
            sock.close()
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock, listener.broker_id, f"{addr[0]}:{addr[1]}")
        self._conns.add(conn)
        self._sel.register(sock, selectors.EVENT_READ, conn)
        log.debug("broker %d: connection from %s", conn.broker_id, conn.peer)

    def _read(self, conn: _Conn) -> None:
        """Server thread."""
        try:
            data = conn.sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._drop(conn, f"receive failed: {e}")
            return
        if not data:
            self._drop(conn, "closed by client")
            return
        try:
            conn.inbox.extend(conn.decoder.feed(data))
        except ProtocolError as e:
            self._drop(conn, f"bad framing: {e}")

    def _write(self, conn: _Conn) -> None:
        """Server thread."""
        try:
            sent = conn.sock.send(conn.wbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._drop(conn, f"send failed: {e}")
            return
        del conn.wbuf[:sent]
        self._update_interest(conn)

    def _update_interest(self, conn: _Conn) -> None:
        """Server thread. Ask for EVENT_WRITE only while bytes wait to be sent."""
        want = bool(conn.wbuf)
        if want != conn.writing:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want else 0)
            self._sel.modify(conn.sock, events, conn)
            conn.writing = want

    def _drop(self, conn: _Conn, why: str) -> None:
        """Server thread (or close() after the thread ended)."""
        if conn not in self._conns:
            return
        log.debug("broker %d: dropping connection from %s: %s", conn.broker_id, conn.peer, why)
        self._conns.discard(conn)
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    # --- serving (server thread) --------------------------------------------------------------

    def _serve_all(self, now: float) -> None:
        """Server thread. Serve every connection, again while serving changed the cluster
        (a Produce on one connection may complete a Fetch held on another), then send."""
        with self.state.lock:
            while True:
                self.state.tick_groups(now * 1000.0)
                version = self.state.version
                for conn in list(self._conns):
                    self._serve(conn, now)
                if self.state.version == version:
                    break
        for conn in list(self._conns):
            self._flush(conn, now)

    def _serve(self, conn: _Conn, now: float) -> None:
        """Server thread, state.lock held. The held Fetch or pending answer first, then queued
        requests."""
        if conn not in self._conns:
            return
        if not self.state.broker(conn.broker_id).up:
            self._drop(conn, "broker is down")
            return
        held = conn.held
        if held is not None:
            if held.seen_version == self.state.version and now < held.deadline:
                return
            conn.held = None
            self._answer(conn, held.api_key, held.api_version, held.correlation_id,
                         held.request, held.injected_error, held.delay_s, now, held.deadline)
        waiting = conn.waiting
        if waiting is not None:
            response = waiting.pending.response()
            if response is None:
                return
            conn.waiting = None
            self._respond(conn, waiting.api_key, waiting.api_version, waiting.correlation_id,
                          response, now + waiting.delay_s)
        while conn.held is None and conn.waiting is None and conn.inbox and conn in self._conns:
            self._dispatch(conn, conn.inbox.popleft(), now)

    def _dispatch(self, conn: _Conn, frame: bytes | bytearray, now: float) -> None:
        """Server thread, state.lock held. Decode one request and answer it (or hold it)."""
        if len(frame) < 8:
            self._drop(conn, f"request frame of {len(frame)} bytes")
            return
        api_key, api_version = _API_KEY_VERSION.unpack_from(frame, 0)
        name = API_NAMES.get(api_key, f"ApiKey {api_key}")
        versions = SUPPORTED.get(api_key)
        if versions is None:
            # Not advertised: Kafka cannot parse it and closes the connection; so do we.
            self._drop(conn, f"unsupported request {name} v{api_version}")
            return
        r = Reader(frame)
        try:
            header = RequestHeader.read(r, request_header_version(api_key, api_version))
            if api_key == ApiVersionsRequest.API_KEY and api_version > versions[1]:
                self._respond(conn, api_key, 0, header.correlation_id,
                              api_versions_error(), now)
                return
            if not versions[0] <= api_version <= versions[1]:
                self._drop(conn, f"unsupported version {name} v{api_version}")
                return
            request = request_type(api_key).read(r, api_version)
        except ProtocolError as e:
            self._drop(conn, f"cannot parse {name} v{api_version}: {e}")
            return
        log.debug("broker %d: %s v%d (correlation id %d) from %s", conn.broker_id, name,
                  api_version, header.correlation_id, header.client_id)
        faults = self.state.faults
        faults.record(conn.broker_id, api_key, time.monotonic_ns() // 1000)
        fault = faults.take(conn.broker_id, api_key)
        if fault.code == TRANSPORT:
            self._drop(conn, f"injected transport error on {name}")
            return
        self._answer(conn, api_key, api_version, header.correlation_id, request, fault.code,
                     fault.delay_s, now, None, header.client_id or "")

    def _answer(self, conn: _Conn, api_key: int, api_version: int, correlation_id: int,
                request: Any, injected: int, delay_s: float, now: float,
                deadline: float | None, client_id: str = "") -> None:
        """Server thread, state.lock held. Run the handler; respond (`delay_s` later than the
        broker's rtt alone), hold a Fetch, or wait for a pending group answer."""
        ctx = RequestContext(self.state, conn.broker_id, api_version, injected,
                             int(time.time() * 1000), may_wait=deadline is None or now < deadline,
                             clock_ms=now * 1000.0, client_id=client_id,
                             client_host="/" + conn.peer.rsplit(":", 1)[0])
        try:
            reply = HANDLERS[api_key](ctx, request)
            if isinstance(reply, Pending):
                conn.waiting = _Waiting(api_key, api_version, correlation_id, reply, delay_s)
                self.state.changed()  # look at it again in this pass: it may be complete
            elif isinstance(reply, Wait):
                conn.held = _Held(api_key, api_version, correlation_id, request, injected,
                                  delay_s, now + reply.max_wait_ms / 1000 if deadline is None else deadline,
                                  self.state.version)
            elif reply is not None:
                self._respond(conn, api_key, api_version, correlation_id, reply, now + delay_s)
        except Exception as e:  # a bug in the mock: make it visible, keep serving the others
            msg = f"{API_NAMES.get(api_key)} v{api_version} failed: {e!r}"
            log.exception("broker %d: %s", conn.broker_id, msg)
            self.internal_errors.append(msg)
            self._drop(conn, msg)

    def _respond(self, conn: _Conn, api_key: int, api_version: int, correlation_id: int,
                 response: Message, now: float) -> None:
        """Server thread, state.lock held. Queue the framed response after the broker's rtt,
        never before an earlier one (responses stay in request order)."""
        out = bytearray(4)
        ResponseHeader(correlation_id=correlation_id).encode_into(
            out, response_header_version(api_key, api_version))
        response.encode_into(out, api_version)
        _SIZE.pack_into(out, 0, len(out) - 4)
        ready = max(now + self.state.broker(conn.broker_id).rtt_s, conn.last_ready)
        conn.last_ready = ready
        conn.outq.append((ready, bytes(out)))

    def _flush(self, conn: _Conn, now: float) -> None:
        """Server thread. Move due responses to the socket."""
        while conn.outq and conn.outq[0][0] <= now:
            conn.wbuf += conn.outq.popleft()[1]
        if conn.wbuf and not conn.writing:
            self._write(conn)
        else:
            self._update_interest(conn)
