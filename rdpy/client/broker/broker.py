"""One broker connection, served by its own thread as an explicit state machine.

States follow librdkafka's names: INIT -> TRY_CONNECT -> CONNECT -> APIVERSION_QUERY -> UP, and
DOWN after a failure (reconnect after a jittered, doubling backoff). `serve_once(now)` is one step:
ops from other threads, connection upkeep, request (re)sends and timeouts, producer batching, then
one select() on the socket and the wake-up pipe. Connections are sparse: a broker connects only
when it has something to send.
"""

from __future__ import annotations

import random
import select
import socket
import threading
from collections import deque
from typing import TYPE_CHECKING

from rdpy._version import __version__
from rdpy.client.broker.role import BrokerRole
from rdpy.client.broker.setup import BrokerState
from rdpy.client.broker.transport import Connection, TransportError, format_address, resolve
from rdpy.client.ops import (BrokerOp, ConnectNow, Purge, SendRequest, Terminate, TopparJoin,
                             TopparLeave, TopparRemove, unknown_op)
from rdpy.client.request import QueuedRequest, Request
from rdpy.errors import ErrorCode
from rdpy.protocol import ProtocolError, ProtocolSession
from rdpy.protocol.messages import API_NAMES, ApiVersionsRequest
from rdpy.protocol.messages.api_versions import ApiVersionsResponse
from rdpy.protocol.versions import negotiate
from rdpy.stats.counters import BrokerCounters

if TYPE_CHECKING:
    from rdpy.client.handle import Handle
    from rdpy.client.toppar import Toppar

INIT = BrokerState.INIT
DOWN = BrokerState.DOWN
TRY_CONNECT = BrokerState.TRY_CONNECT
CONNECT = BrokerState.CONNECT
APIVERSION_QUERY = BrokerState.APIVERSION_QUERY
UP = BrokerState.UP

#: Longest sleep of an idle broker thread (it still wakes at once on work via the wake pipe).
IDLE_WAKEUP = 1.0
_API_VERSIONS = ApiVersionsRequest.API_KEY


class Broker:
    """A broker connection and its thread. `node_id` < 0 for bootstrap brokers."""

    def __init__(self, handle: Handle, node_id: int, host: str, port: int) -> None:
        self.handle = handle
        self.node_id = node_id
        self.host = host
        self.port = port
        self.name = (f"{host}:{port}/{node_id}" if node_id >= 0 else f"{host}:{port}/bootstrap")
        settings = handle.settings
        self.clock = handle.clock
        self.state = INIT
        self.state_since = self.clock()
        self.conn: Connection | None = None
        self.session = ProtocolSession(settings.get_str("client.id"))
        self.versions: dict[int, int] = {}
        #: Requests waiting for the connection to be UP (broker thread + ops).
        self.outq: deque[QueuedRequest] = deque()
        #: Sent requests awaiting a response, by correlation id (broker thread).
        self.waitresp: dict[int, QueuedRequest] = {}
        self.toppars: list[Toppar] = []
        self.ops: deque[BrokerOp] = deque()
        self._ops_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        #: When the thread's select() will return by itself (inf while it is awake).
        self.sleep_until = float("inf")
        self.terminating = False
        self.reconnect_backoff_min = settings.get_int("reconnect.backoff.ms") / 1000.0
        self.reconnect_backoff = self.reconnect_backoff_min
        self.reconnect_backoff_max = settings.get_int("reconnect.backoff.max.ms") / 1000.0
        #: No connection attempt before this monotonic time (0: at once).
        self.next_connect_at = 0.0
        self.setup_timeout = settings.get_int("socket.connection.setup.timeout.ms") / 1000.0
        self.max_inflight = settings.get_int("max.in.flight.requests.per.connection")
        self.max_frame = settings.get_int("receive.message.max.bytes") + 512
        self.connects = 0
        #: Producer: after a reconnect, no Produce until the metadata refresh this connection
        #: triggered is answered (a restarted broker may have lost a topic or a leadership,
        #: and acknowledge writes to partitions it no longer has). Set and cleared by the
        #: handle.
        self.awaiting_metadata = False
        #: When a connection (or attempt) last failed (-inf: never).
        self.lost_at = float("-inf")
        self.disconnects = 0
        #: Statistics (broker thread writes, the stats emitter reads).
        self.stats = BrokerCounters(settings)
        self.last_error: str | None = None
        #: The client's work on this connection (producer batching, consumer prefetch).
        self.role: BrokerRole = handle.role_factory(self)
        self.thread = threading.Thread(target=self._run, name=f"rdpy:broker:{self.name}",
                                       daemon=True)
        handle.dbg("broker", "BROKER", f"{self.name}: Added new broker with NodeId {node_id}")

    # --- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def wake(self) -> None:
        """Any thread. Ends the broker thread's select() early (at most one byte pending)."""
        if self._woken:
            return
        self._woken = True
        try:
            self._wake_w.send(b"\x01")
        except (BlockingIOError, OSError):
            pass

    def post(self, op: BrokerOp) -> None:
        """Any thread, takes the ops lock. Queues an op for the broker thread and wakes it."""
        with self._ops_lock:
            self.ops.append(op)
        self.wake()

    def enqueue_request(self, request: QueuedRequest) -> None:
        """Any thread. The request is sent when the connection is UP (connecting if needed)."""
        self.post(SendRequest(request))

    def terminate(self) -> None:
        self.post(Terminate())

    def is_up(self) -> bool:
        return self.state == UP

    # --- broker thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.terminating:
                try:
                    self.serve_once(self.clock())
                except Exception as exc:  # a bug must not silently kill the broker thread
                    self.handle.log(3, "BUG", f"{self.name}: internal error: {exc!r}")
                    self.handle.report_error(ErrorCode._FAIL,
                                             f"{self.name}: internal error: {exc!r}")
                    self._fail(ErrorCode._FAIL, f"internal error: {exc!r}", self.clock())
        finally:
            self._close_connection()
            for s in (self._wake_r, self._wake_w):
                s.close()

    def serve_once(self, now: float) -> None:
        """Broker thread. One step of the state machine, ending in one bounded select()."""
        # While awake, producers must wake us (we may have looked at their queue already).
        self.sleep_until = float("inf")
        self.stats.wakeups += 1
        self._serve_ops(now)
        if self.terminating:
            return
        next_wakeup = now + IDLE_WAKEUP
        state = self.state
        if state in (INIT, DOWN):
            if self._wants_connection() and now >= self.next_connect_at:
                self._connect(now)
            elif self._wants_connection():
                next_wakeup = min(next_wakeup, self.next_connect_at)
        elif state in (CONNECT, APIVERSION_QUERY):
            if now - self.state_since > self.setup_timeout:
                self._fail(ErrorCode._TRANSPORT,
                           f"Connection setup timed out in state {state}", now)
            else:
                next_wakeup = min(next_wakeup, self.state_since + self.setup_timeout)
        if self.state == UP:
            self._send_queued(now)
            next_wakeup = min(next_wakeup, self.role.serve_unsendable(now)
                              if self.awaiting_metadata else self.role.serve(now))
        elif self.toppars:
            next_wakeup = min(next_wakeup, self.role.serve_unsendable(now))
        if self.waitresp:
            next_wakeup = min(next_wakeup, self.role.scan_inflight(now))
            next_wakeup = min(next_wakeup, self._scan_request_timeouts(now))
        # Published after everything was looked at: a producer whose message is due later
        # than this need not wake us (see needs_wakeup()).
        self.sleep_until = next_wakeup
        self._io(max(0.0, next_wakeup - now))

    def _serve_ops(self, now: float) -> None:
        if not self.ops:
            return
        with self._ops_lock:
            ops = list(self.ops)
            self.ops.clear()
        for op in ops:
            self._serve_op(op, now)

    def _serve_op(self, op: BrokerOp, now: float) -> None:
        match op:
            case SendRequest(request):
                request.queued_at = now
                self.outq.append(request)
            case TopparJoin(tp):
                if tp not in self.toppars:
                    self.toppars.append(tp)
            case TopparLeave(tp):
                if tp in self.toppars:
                    self.toppars.remove(tp)
                    self.role.toppar_left(tp)
            case TopparRemove(tp):
                # The partition no longer exists: what waits for it fails.
                if tp in self.toppars:
                    self.toppars.remove(tp)
                self.role.toppar_removed(tp)
            case ConnectNow():
                # The main thread's probe while no broker is up: skip the rest of the backoff.
                if self.state in (INIT, DOWN):
                    self.next_connect_at = 0.0
            case Purge():
                self.role.purge(op, now)
            case Terminate():
                self.terminating = True
                self._close_connection()
            case _:
                unknown_op(op)

    def _wants_connection(self) -> bool:
        if self.outq or self.waitresp:
            return True
        for tp in self.toppars:
            if tp.msgq or tp.xmitq or tp.fetchable():
                return True
        return False

    def _set_state(self, state: BrokerState, now: float) -> None:
        if state != self.state:
            self.handle.dbg("broker", "STATE",
                            f"{self.name}: Broker changed state {self.state} -> {state}")
            self.state = state
            self.state_since = now
            self.handle.broker_state_changed(self)

    def _update_reconnect_backoff(self, now: float) -> None:
        """Broker thread. librdkafka's rd_kafka_broker_update_reconnect_backoff(): the next
        attempt waits reconnect.backoff.ms, doubled at every update up to
        reconnect.backoff.max.ms, with -25%..+50% jitter, capped at the maximum; the backoff
        starts over when the last scheduled attempt is longer ago than the maximum."""
        if self.next_connect_at + self.reconnect_backoff_max < now:
            self.reconnect_backoff = self.reconnect_backoff_min
        backoff = min(self.reconnect_backoff * random.uniform(0.75, 1.5),
                      self.reconnect_backoff_max)
        self.next_connect_at = now + backoff
        self.reconnect_backoff = min(self.reconnect_backoff * 2, self.reconnect_backoff_max)

    def _connect(self, now: float) -> None:
        self._set_state(TRY_CONNECT, now)
        self.connects += 1
        self._update_reconnect_backoff(now)
        # librdkafka resolves in state CONNECT (its errors say "in state CONNECT").
        self._set_state(CONNECT, now)
        try:
            family, addr = random.choice(resolve(self.host, self.port))
            self.conn = Connection(family, addr, self.max_frame,
                                   self.handle.settings.get_int("socket.send.buffer.bytes"),
                                   self.handle.settings.get_int("socket.receive.buffer.bytes"),
                                   self.handle.settings.get_bool("socket.nagle.disable"))
        except TransportError as exc:
            code = ErrorCode._RESOLVE if exc.resolve else ErrorCode._TRANSPORT
            self._fail(code, exc.reason, now)
            return
        self.handle.dbg("broker", "CONNECT",
                        f"{self.name}: Connecting to {format_address(addr)} (plaintext)")
        if self.conn.connected:
            self._on_connected(now)

    def _on_connected(self, now: float) -> None:
        self.handle.dbg("broker", "CONNECTED", f"{self.name}: Connected (#{self.connects})")
        self._set_state(APIVERSION_QUERY, now)
        self._send_api_versions(3, now)

    def _send_api_versions(self, version: int, now: float) -> None:
        request = Request(
            ApiVersionsResponse,
            lambda v: ApiVersionsRequest(client_software_name="rdpy",
                                         client_software_version=__version__),
            self._on_api_versions,
            # librdkafka gives ApiVersions an absolute timeout that rd_kafka_buf_calc_timeout
            # caps at socket.timeout.ms, so a stalled handshake costs the smaller of the two.
            min(self.handle.settings.get_int("api.version.request.timeout.ms"),
                self.handle.settings.get_int("socket.timeout.ms")) / 1000.0,
        )
        self._transmit(request, version, now)

    def _on_api_versions(self, broker: Broker, err: int, response: ApiVersionsResponse | None,
                         request: Request[ApiVersionsResponse]) -> None:
        now = self.clock()
        if err or response is None:
            return  # the connection failure was already handled
        if response.error_code == ErrorCode.UNSUPPORTED_VERSION and request.version > 0:
            theirs = {k.api_key: k.max_version for k in response.api_keys}
            self._send_api_versions(min(theirs.get(_API_VERSIONS, 0), request.version - 1), now)
            return
        if response.error_code:
            self._fail(ErrorCode._TRANSPORT,
                       f"ApiVersionRequest failed: broker error {response.error_code}", now)
            return
        self.versions = negotiate({k.api_key: (k.min_version, k.max_version)
                                   for k in response.api_keys})
        if "feature" in self.handle.debug:
            self.handle.dbg("feature", "APIVERSION", f"{self.name}: {len(self.versions)} APIs "
                            "usable: " + ", ".join(f"{_api_name(k)} v{v}"
                                                   for k, v in sorted(self.versions.items())))
        self._set_state(UP, now)

    def _retry_api_versions_v0(self, now: float) -> bool:
        """An ApiVersions answer we cannot parse (some brokers answer an unsupported version
        in a layout of their own): ask again with v0, which every broker speaks."""
        pending = [(c, r) for c, r in self.waitresp.items() if r.api_key == _API_VERSIONS]
        if not pending or pending[0][1].version == 0:
            return False
        for corr, _ in pending:
            del self.waitresp[corr]
        self.session.clear()
        self._send_api_versions(0, now)
        return True

    def version_for(self, api_key: int) -> int | None:
        """Broker thread. The negotiated version of `api_key`, None if the broker lacks it."""
        return self.versions.get(api_key)

    def inflight_count(self) -> int:
        return len(self.waitresp)

    def can_send(self) -> bool:
        return self.state == UP and len(self.waitresp) < self.max_inflight

    def _send_queued(self, now: float) -> None:
        while self.outq and len(self.waitresp) < self.max_inflight:
            request = self.outq.popleft()
            version = self.version_for(request.api_key)
            if version is not None and request.max_version is not None:
                version = min(version, request.max_version)
            if version is None:
                request.fail(self, ErrorCode._UNSUPPORTED_FEATURE)
                continue
            try:
                self.send_request(request, version, now)
            except ProtocolError as exc:
                # A request we cannot encode fails alone; the connection is fine.
                self.handle.log(3, "PROTOERR", f"{self.name}: {exc}")
                request.fail(self, ErrorCode._INVALID_ARG)

    def send_request(self, request: QueuedRequest, version: int, now: float) -> None:
        """Broker thread, state UP. Encodes and queues `request` on the socket."""
        self._transmit(request, version, now)

    def _transmit(self, request: QueuedRequest, version: int, now: float) -> None:
        assert self.conn is not None
        message = request.build(version)
        corr, frame = self.session.send_request(message, version, request.expect_response)
        request.version = version
        request.sent_at = now
        request.deadline = now + request.timeout
        self.conn.queue(frame)
        if request.expect_response:
            self.waitresp[corr] = request
        self.stats.sent(request.api_key, len(frame),
                        now - request.queued_at if request.queued_at else 0.0, now)
        if "protocol" in self.handle.debug:
            self.handle.dbg("protocol", "SEND", f"{self.name}: Sent {type(message).__name__} "
                            f"(v{version}, {len(frame)} bytes @ 0, CorrId {corr})")

    def _scan_request_timeouts(self, now: float) -> float:
        expired = [c for c, r in self.waitresp.items() if r.deadline <= now]
        if expired:
            self.stats.req_timeouts += len(expired)
            # Responses come in order on one connection: a timed-out request means the
            # connection is stuck, so it is torn down (librdkafka does the same).
            self._fail(ErrorCode._TIMED_OUT,
                       f"{len(expired)} request(s) timed out: disconnect", now,
                       request_error=ErrorCode._TIMED_OUT)
            return now
        return min(r.deadline for r in self.waitresp.values())

    def _io(self, timeout: float) -> None:
        conn = self.conn
        rlist: list[socket.socket] = [self._wake_r]
        wlist: list[socket.socket] = []
        if conn is not None:
            rlist.append(conn.sock)
            if conn.wants_write():
                wlist.append(conn.sock)
        try:
            readable, writable, _ = select.select(rlist, wlist, [], timeout)
        except (OSError, ValueError):
            readable, writable = [], []
        if self._wake_r in readable:
            try:
                while self._wake_r.recv(256):
                    pass
            except (BlockingIOError, OSError):
                pass
            self._woken = False
        if conn is None or self.conn is not conn:
            return
        now = self.clock()
        stats = self.stats
        receiving = False
        try:
            if conn.sock in writable:
                if not conn.connected:
                    conn.finish_connect()
                    self._on_connected(now)
                conn.send()
            if conn.sock in readable and conn.connected:
                receiving = True
                for frame in conn.receive():
                    self._on_frame(frame, now)
                    if self.conn is not conn:
                        return
                receiving = False
            if conn.connected and conn.wants_write() and self.conn is conn:
                conn.send()
        except TransportError as exc:
            if conn.connected and exc.reason != "Disconnected":
                if receiving:
                    stats.rxerrs += 1
                else:
                    stats.txerrs += 1
            self._fail(ErrorCode._TRANSPORT, exc.reason, now)
        except ProtocolError as exc:
            stats.rxerrs += 1
            self._fail(ErrorCode._BAD_MSG, f"Protocol error: {exc}", now)

    def _on_frame(self, frame: bytes | bytearray, now: float) -> None:
        if len(frame) >= 4 and int.from_bytes(frame[:4], "big") not in self.waitresp:
            self.stats.rxcorriderrs += 1
        try:
            corr, response, _ = self.session.receive(frame)
        except ProtocolError as exc:
            if self.state == APIVERSION_QUERY and self._retry_api_versions_v0(now):
                return
            self._on_undecodable(frame, exc, now)
            return
        request = self.waitresp.pop(corr, None)
        if request is None:
            return
        # Size prefix included, as librdkafka counts bytes on the wire.
        self.stats.received(len(frame) + 4, now - request.sent_at,
                            getattr(response, "throttle_time_ms", None), now)
        if "protocol" in self.handle.debug:
            self.handle.dbg("protocol", "RECV", f"{self.name}: Received "
                            f"{type(response).__name__} (v{request.version}, {len(frame) + 4} "
                            f"bytes, CorrId {corr}, rtt {(now - request.sent_at) * 1000:.2f}ms)")
        if request.purged:
            return
        request.complete(self, response)

    def _on_undecodable(self, frame: bytes | bytearray, exc: ProtocolError, now: float) -> None:
        """A response frame that cannot be decoded. If it names a request we sent, the frame
        was delimited correctly and only that request fails, as librdkafka fails a parse
        failure: _UNDERFLOW when the response ended early, else _BAD_MSG (both permanent for a
        Produce); the connection stays. Otherwise the stream is out of step and the
        connection is torn down (ProtocolError)."""
        corr = int.from_bytes(frame[:4], "big") if len(frame) >= 4 else -1
        request = self.waitresp.pop(corr, None)
        if request is None or self.state != UP:
            raise exc
        self.stats.rxerrs += 1
        self.handle.log(3, "PROTOERR", f"{self.name}: Protocol parse failure for "
                        f"{_api_name(request.api_key)} v{request.version} (CorrId {corr}): "
                        f"{exc}")
        if not request.purged:
            code = ErrorCode._UNDERFLOW if exc.underflow else ErrorCode._BAD_MSG
            request.fail(self, code)

    def _close_connection(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.session.clear()

    def _fail(self, err: int, reason: str, now: float,
              request_error: int = ErrorCode._TRANSPORT) -> None:
        """Broker thread. Close the connection, fail what was in flight, back off, report."""
        was_up = self.state == UP
        ms = int((now - self.state_since) * 1000)
        state = self.state
        if self.conn is not None:
            self.disconnects += 1
        self.lost_at = now
        self._close_connection()
        inflight = list(self.waitresp.values())
        self.waitresp.clear()
        self.role.disconnected()
        if state in (CONNECT, APIVERSION_QUERY):
            # A connection attempt failed: back off before the next (librdkafka updates the
            # backoff when it has tried every address the name resolved to; rdpy tries one).
            self._update_reconnect_backoff(now)
        text = f"{self.name}: {reason} (after {ms}ms in state {state})"
        # Reported before the state change, so error_cb sees the cause before any
        # _ALL_BROKERS_DOWN it leads to (librdkafka's order).
        if was_up and not inflight and err == ErrorCode._TRANSPORT and reason == "Disconnected":
            # An idle connection closed by the broker is not worth an error event, and with
            # log.connection.close=false not even a log line (brokers closing idle
            # connections after connections.max.idle.ms would flood the log).
            if self.handle.log_connection_close:
                self.handle.log(6, "FAIL", text)
        else:
            self.handle.report_broker_error(self, err, text)
        self._set_state(DOWN, now)
        # Requests not sent yet fail too (librdkafka purges the broker's output queue); their
        # owners decide whether to retry, possibly on another broker.
        unsent = list(self.outq)
        self.outq.clear()
        for request in inflight + unsent:
            if not request.purged:
                request.fail(self, request_error)


def _api_name(api_key: int) -> str:
    return API_NAMES.get(api_key, f"Unknown-{api_key}?")
