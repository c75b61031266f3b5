"""One broker connection, served by its own thread as an explicit state machine.

The thread owns the connection, its requests and its state; other threads reach it only
through typed ops (rdpy/client/ops.py) posted to its op queue, which also wakes it. States
follow librdkafka's names: INIT, then TRY_CONNECT when there is something to send, then the
setup steps of setup.py's table (CONNECT, APIVERSION_QUERY, and for TLS/SASL the steps they
add) up to UP; DOWN after a failure, reconnecting after a jittered, doubling backoff.
Connections are sparse: a broker connects only when it has something to send.

`serve_once(now)` is one step: ops from other threads, connection upkeep and the setup
deadline, queued requests, the client's role (the producer's batching, the consumer's
prefetch: rdpy/client/broker/role.py), request timeouts, then one wait on the socket and the
wake-up socketpair. Time comes from the handle's clock and the wait is the `io_wait` function
the Broker was made with (select.select), so a test can step the machine with a fake clock
and a wait that never blocks.
"""

from __future__ import annotations

import random
import select
import socket
import threading
from collections import deque
from collections.abc import Set
from typing import TYPE_CHECKING

from rdpy.client.broker.role import IDLE_WAKEUP, BrokerRole
from rdpy.client.broker.setup import SETUP_STATES, BrokerState, SetupPlan, SetupStep, api_name
from rdpy.client.broker.transport import (Connection, IoWait, TransportError, format_address,
                                          resolve)
from rdpy.client.ops import (BrokerOp, Connect, ConnectNow, Purge, SendRequest, Terminate,
                             TopparJoin, TopparLeave, TopparRemove, unknown_op)
from rdpy.client.request import QueuedRequest
from rdpy.errors import ErrorCode
from rdpy.protocol import ProtocolError, ProtocolSession
from rdpy.stats.counters import BrokerCounters

if TYPE_CHECKING:
    from rdpy.client.handle import Handle
    from rdpy.client.toppar import Toppar

# Module-level names for the states the hot path compares against (a global lookup).
INIT = BrokerState.INIT
DOWN = BrokerState.DOWN
TRY_CONNECT = BrokerState.TRY_CONNECT
UP = BrokerState.UP
_NOT_CONNECTED = frozenset((INIT, DOWN))
_SETUP = frozenset(SETUP_STATES)

_INF = float("inf")


class Broker:
    """A broker connection and its thread. `node_id` < 0 for bootstrap brokers. Implements
    setup.py's SetupLink for the setup steps."""

    def __init__(self, handle: Handle, node_id: int, host: str, port: int, *,
                 io_wait: IoWait = select.select) -> None:
        self.handle = handle
        self.node_id = node_id
        self.host = host
        self.port = port
        self.name = (f"{host}:{port}/{node_id}" if node_id >= 0 else f"{host}:{port}/bootstrap")
        #: A logical broker: a connection of its own for one component (Handle.logical).
        self.logical = False
        #: A logical broker's own name ("GroupCoordinator"): its key in the statistics,
        #: where librdkafka lists it with node id -1 (`name` adds the node id, for logs).
        self.logical_name = ""
        settings = handle.settings
        self.clock = handle.clock
        #: How the thread waits for its sockets: select.select, or a test's non-blocking one.
        self._io_wait = io_wait
        self.state = INIT
        self.state_since = self.clock()
        self.conn: Connection | None = None
        self.session = ProtocolSession(settings.get_str("client.id"))
        self.versions: dict[int, int] = {}
        #: The setup steps this client's connections go through, and the current one.
        self.setup = SetupPlan(settings)
        self._step: SetupStep | None = None
        #: When the connection being set up must be UP (socket.connection.setup.timeout.ms).
        self._setup_deadline = _INF
        #: Requests waiting for the connection to be UP (broker thread + ops).
        self.outq: deque[QueuedRequest] = deque()
        #: Sent requests awaiting a response, by correlation id (broker thread).
        self.waitresp: dict[int, QueuedRequest] = {}
        self.toppars: list[Toppar] = []
        self.ops: deque[BrokerOp] = deque()
        self._ops_lock = threading.Lock()
        #: Set under the ops lock by the ending thread: the error a request posted after that
        #: fails with (a decommissioned broker ends while the client runs on).
        self._ended_with: int | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        #: When the thread's wait will end by itself (inf while it is awake).
        self.sleep_until = _INF
        self.terminating = False
        #: The client no longer uses this broker (see decommission()).
        self.decommissioned = False
        #: A connection was asked for with nothing to send (sparse connections' Connect op):
        #: the next attempt is made anyway (librdkafka's rkb_persistconn.internal).
        self.connect_requested = False
        self.reconnect_backoff_min = settings.get_int("reconnect.backoff.ms") / 1000.0
        self.reconnect_backoff = self.reconnect_backoff_min
        self.reconnect_backoff_max = settings.get_int("reconnect.backoff.max.ms") / 1000.0
        #: No connection attempt before this monotonic time (0: at once).
        self.next_connect_at = 0.0
        self.max_inflight = settings.get_int("max.in.flight.requests.per.connection")
        self.max_frame = settings.get_int("receive.message.max.bytes") + 512
        self.connects = 0
        #: After a reconnect, the role's own requests wait (serve_unsendable) until the
        #: metadata refresh this connection triggered is answered, if the role asks for it
        #: (BrokerRole.holds_for_metadata). Set and cleared by the handle.
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
        """Any thread. Ends the broker thread's wait early (at most one byte pending)."""
        if self._woken:
            return
        self._woken = True
        try:
            self._wake_w.send(b"\x01")
        except (BlockingIOError, OSError):
            pass

    def post(self, op: BrokerOp) -> None:
        """Any thread, takes the ops lock. Queues an op for the broker thread and wakes it.
        Once the thread has ended (decommissioned: a component may have picked this broker
        just before it left the table), a request is failed as the thread failed the ones it
        held, on the main thread (Handle.fail_late): no caller waits for an answer that cannot
        come, and no callback runs on the poster's thread, which may hold locks."""
        with self._ops_lock:
            ended_with = self._ended_with
            if ended_with is None:
                self.ops.append(op)
        if ended_with is None:
            self.wake()
        elif isinstance(op, SendRequest) and not op.request.purged:
            self.handle.fail_late(self, op.request, ended_with)

    def enqueue_request(self, request: QueuedRequest) -> None:
        """Any thread. The request is sent when the connection is UP (connecting if needed)."""
        self.post(SendRequest(request))

    def terminate(self) -> None:
        """Any thread. Close the connection and end the thread."""
        self.post(Terminate())

    def decommission(self) -> None:
        """Any thread. The client stops using this broker (librdkafka's
        rd_kafka_broker_decommission); the caller has taken it out of the broker table, so
        nothing new comes to it. The thread ends once no answer is awaited on an UP
        connection: the requests already sent are answered rather than failed (librdkafka
        fails them, but its timers keep them from racing the Metadata answer that
        decommissions a bootstrap broker; rdpy's idempotent producer asks for its id at
        once). What is left then fails with _DESTROY_BROKER rather than _DESTROY, so that
        its owners retry on another broker instead of taking it for the client closing."""
        self.decommissioned = True
        self.wake()

    def is_up(self) -> bool:
        """Any thread (a racy read, as a hint)."""
        return self.state == UP

    # --- broker thread: the loop --------------------------------------------------------------

    def _run(self) -> None:
        """Broker thread. Steps the machine until terminated; a bug in one step is reported
        and the connection reset, never the end of the thread."""
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
            # librdkafka's rd_kafka_broker_destroy_error().
            self._fail_outstanding(ErrorCode._DESTROY_BROKER
                                   if self.decommissioned and not self.handle.terminating
                                   else ErrorCode._DESTROY)
            for s in (self._wake_r, self._wake_w):
                s.close()

    def _fail_outstanding(self, err: int) -> None:
        """Broker thread, ending. Every request it still holds (in flight, queued, or posted
        and not taken in yet) completes with `err`, so nobody waits for an answer that
        cannot come (as librdkafka purges a destroyed broker's queues with _DESTROY); then
        its partitions are handed back (_hand_back_partitions). Posting ends here."""
        with self._ops_lock:
            pending = list(self.ops)
            self.ops.clear()
            self._ended_with = err
        posted = [op.request for op in pending if isinstance(op, SendRequest)]
        requests = list(self.waitresp.values()) + list(self.outq) + posted
        self.waitresp.clear()
        self.outq.clear()
        for request in requests:
            if request.purged:
                continue
            try:
                request.fail(self, err)
            except Exception as exc:  # the thread is ending: log, and fail the others
                self.handle.log(3, "BUG", f"{self.name}: failing a request at exit: {exc!r}")
        self._hand_back_partitions([op for op in pending if not isinstance(op, SendRequest)])

    def _hand_back_partitions(self, pending: list[BrokerOp]) -> None:
        """Broker thread, ending, after its requests failed (a producer's retried messages
        are back in its transmit queues by then). The ops posted and not served yet are
        served (partition moves, a purge whose caller waits), then every partition still
        here is handed back as if it moved away (its transmit queue to the head of msgq, its
        new leader woken): a transmit queue left owned by an ended thread would never be
        sent, nor expired. (A decommissioned broker's partitions are moved off it by
        TopparLeave ops, which can come just after the thread's last look at its ops.)"""
        for op in pending:  # partition moves, and a purge (whose caller waits for it)
            try:
                self._serve_op(op, self.clock())
            except Exception as exc:  # the thread is ending: log, and go on
                self.handle.log(3, "BUG", f"{self.name}: serving {op!r} at exit: {exc!r}")
        toppars, self.toppars = self.toppars, []
        for tp in toppars:
            try:
                self.role.toppar_left(tp)
            except Exception as exc:  # the thread is ending: log, and hand back the others
                self.handle.log(3, "BUG", f"{self.name}: handing back {tp!r} at exit: {exc!r}")

    def serve_once(self, now: float) -> None:
        """Broker thread. One step of the state machine, ending in one bounded wait."""
        # While awake, producers must wake us (we may have looked at their queue already).
        self.sleep_until = _INF
        self.stats.wakeups += 1
        if self.ops:
            self._serve_ops(now)
        if self.decommissioned and not (self.state is UP and (self.waitresp or self.outq)):
            self.handle.dbg("broker", "TERM", f"{self.name}: Decommissioning this broker "
                            f"(after {int((now - self.state_since) * 1000)}ms in state "
                            f"{self.state})")
            self.terminating = True
        if self.terminating:
            return
        next_wakeup = now + IDLE_WAKEUP
        state = self.state
        if state in _NOT_CONNECTED:
            if self._wants_connection():
                if now >= self.next_connect_at:
                    self._connect(now)
                else:
                    next_wakeup = min(next_wakeup, self.next_connect_at)
        elif state in _SETUP:
            if now >= self._setup_deadline:
                self._fail(ErrorCode._TRANSPORT,
                           f"Connection setup timed out in state {state}", now)
            else:
                next_wakeup = min(next_wakeup, self._setup_deadline)
        if self.state is UP:
            if self.outq:
                self._send_queued(now)
            next_wakeup = min(next_wakeup, self.role.serve_unsendable(now)
                              if self.awaiting_metadata else self.role.serve(now))
        elif self.toppars:
            next_wakeup = min(next_wakeup, self.role.serve_unsendable(now))
        if self.waitresp:
            next_wakeup = min(next_wakeup, self.role.scan_inflight(now),
                              self._scan_request_timeouts(now))
        # Published after everything was looked at: a producer whose message is due later
        # than this need not wake us (see Producer.produce()).
        self.sleep_until = next_wakeup
        self._io(max(0.0, next_wakeup - now))

    def _serve_ops(self, now: float) -> None:
        """Broker thread, takes the ops lock briefly. Serves every op posted so far."""
        with self._ops_lock:
            ops = list(self.ops)
            self.ops.clear()
        for i, op in enumerate(ops):
            try:
                self._serve_op(op, now)
            except BaseException:
                # A bug in one op: the ones after it are still served (next step).
                with self._ops_lock:
                    self.ops.extendleft(reversed(ops[i + 1:]))
                raise

    def _serve_op(self, op: BrokerOp, now: float) -> None:
        """Broker thread. One op from another thread."""
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
                if self.state in _NOT_CONNECTED:
                    self.next_connect_at = 0.0
            case Connect():
                # Sparse connections: the main thread wants one broker connected (backoff
                # respected, as librdkafka's CONNECT op moves INIT to TRY_CONNECT).
                if self.state in _NOT_CONNECTED:
                    self.handle.dbg("broker", "CONNECT", f"{self.name}: Received CONNECT op")
                    self.connect_requested = True
            case Purge():
                self.role.purge(op, now)
            case Terminate():
                self.terminating = True
                self._close_connection()
            case _:
                unknown_op(op)

    def _wants_connection(self) -> bool:
        """Broker thread. Something to send (queued requests, or work for the role), or a
        connection asked for (connect_requested)."""
        if self.outq or self.waitresp or self.connect_requested:
            return True
        for tp in self.toppars:
            if tp.msgq or tp.xmitq or tp.fetchable():
                return True
        return False

    def _set_state(self, state: BrokerState, now: float) -> None:
        """Broker thread. Log and publish a state change (the handle tracks all-down/up)."""
        if state != self.state:
            self.handle.dbg("broker", "STATE",
                            f"{self.name}: Broker changed state {self.state} -> {state}")
            previous = self.state
            self.state = state
            self.state_since = now
            self.handle.broker_state_changed(self, previous)

    # --- broker thread: connection setup (setup.py's table) -----------------------------------

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
        """Broker thread, state INIT or DOWN. A connection attempt: the first setup step."""
        self.connect_requested = False  # one attempt per Connect op
        self._set_state(TRY_CONNECT, now)
        self.connects += 1
        self._update_reconnect_backoff(now)
        self._setup_deadline = now + self.setup.timeout
        self._enter(self.setup.first(), now)

    def _enter(self, step: SetupStep, now: float) -> None:
        """Broker thread. Enter a setup step's state and start it."""
        self._step = step
        self._set_state(step.state, now)
        step.enter(self, now)

    def step_done(self, now: float) -> None:
        """Broker thread (SetupLink). The current setup step is complete: the next one that
        applies, or UP."""
        assert self._step is not None
        step = self.setup.after(self._step)
        if step is None:
            self._step = None
            self._setup_deadline = _INF
            self._set_state(UP, now)
        else:
            self._enter(step, now)

    def setup_failed(self, err: int, reason: str, now: float) -> None:
        """Broker thread (SetupLink). Queued requests fail with the same error."""
        self._fail(err, reason, now, request_error=err)

    @property
    def debug(self) -> Set[str]:
        """Any thread (SetupLink). The debug contexts switched on."""
        return self.handle.debug

    def dbg(self, context: str, facility: str, text: str) -> None:
        """Any thread (SetupLink). A debug line."""
        self.handle.dbg(context, facility, text)

    def open_transport(self, now: float) -> None:
        """Broker thread, state CONNECT (SetupLink). Resolve (librdkafka resolves in state
        CONNECT: its errors say "in state CONNECT") and start the connect; _connected() runs
        once the socket is connected."""
        settings = self.handle.settings
        try:
            family, addr = random.choice(resolve(self.host, self.port))
            self.conn = Connection(family, addr, self.max_frame,
                                   settings.get_int("socket.send.buffer.bytes"),
                                   settings.get_int("socket.receive.buffer.bytes"),
                                   settings.get_bool("socket.nagle.disable"))
        except TransportError as exc:
            self._fail(ErrorCode._RESOLVE if exc.resolve else ErrorCode._TRANSPORT,
                       exc.reason, now)
            return
        self.handle.dbg("broker", "CONNECT", f"{self.name}: Connecting to "
                        f"{format_address(addr)} ({self.setup.security.value})")
        if self.conn.connected:
            self._connected(now)

    def _connected(self, now: float) -> None:
        """Broker thread, state CONNECT. The socket is connected: CONNECT is complete."""
        self.handle.dbg("broker", "CONNECTED", f"{self.name}: Connected (#{self.connects})")
        self.step_done(now)

    def send_setup_request(self, request: QueuedRequest, version: int, now: float) -> None:
        """Broker thread, a setup state (SetupLink). Sent ahead of the queue, which waits for
        UP."""
        self._transmit(request, version, now)

    def forget_inflight(self) -> None:
        """Broker thread, a setup state (SetupLink). Only the step's own requests are in
        flight before UP: they are dropped unanswered, with the session's correlation ids."""
        self.waitresp.clear()
        self.session.clear()

    # --- broker thread: requests --------------------------------------------------------------

    def version_for(self, api_key: int) -> int | None:
        """Broker thread. The negotiated version of `api_key`, None if the broker lacks it."""
        return self.versions.get(api_key)

    def inflight_count(self) -> int:
        """Broker thread. Requests awaiting a response."""
        return len(self.waitresp)

    def can_send(self) -> bool:
        """Broker thread. UP, with room under max.in.flight.requests.per.connection."""
        return self.state is UP and len(self.waitresp) < self.max_inflight

    def _send_queued(self, now: float) -> None:
        """Broker thread, state UP. Sends queued requests while the in-flight limit allows."""
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
        """Broker thread, connected. Encode `request`, queue the frame, await the answer."""
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
        """Broker thread. Tears the connection down if a request timed out; returns the next
        deadline."""
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

    # --- broker thread: I/O -------------------------------------------------------------------

    def _io(self, timeout: float) -> None:
        """Broker thread. Wait up to `timeout` s for the socket or a wake-up, then move
        bytes: finish a connect, send queued frames, serve the frames received."""
        conn = self.conn
        rlist: list[socket.socket] = [self._wake_r]
        wlist: list[socket.socket] = []
        if conn is not None:
            rlist.append(conn.sock)
            if conn.wants_write():
                wlist.append(conn.sock)
        try:
            readable, writable, _ = self._io_wait(rlist, wlist, [], timeout)
        except (OSError, ValueError):
            readable, writable = [], []
        if self._wake_r in readable:
            self._drain_wakeups()
        if conn is None or self.conn is not conn:
            return
        now = self.clock()
        receiving = False
        try:
            if conn.sock in writable:
                if not conn.connected:
                    conn.finish_connect()
                    self._connected(now)
                    if self.conn is not conn:
                        return  # the next setup step failed the connection
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
                    self.stats.rxerrs += 1
                else:
                    self.stats.txerrs += 1
            self._fail(ErrorCode._TRANSPORT, exc.reason, now)
        except ProtocolError as exc:
            self.stats.rxerrs += 1
            self._fail(ErrorCode._BAD_MSG, f"Protocol error: {exc}", now)

    def _drain_wakeups(self) -> None:
        """Broker thread. Empty the wake-up socketpair; later wake() calls write again."""
        try:
            while self._wake_r.recv(256):
                pass
        except (BlockingIOError, OSError):
            pass
        self._woken = False

    def _on_frame(self, frame: bytes | bytearray, now: float) -> None:
        """Broker thread. One response frame: complete its request."""
        if len(frame) >= 4 and int.from_bytes(frame[:4], "big") not in self.waitresp:
            self.stats.rxcorriderrs += 1
        try:
            corr, response, _ = self.session.receive(frame)
        except ProtocolError as exc:
            step = self._step
            if step is not None and step.undecodable(self, now):
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
        """Broker thread. A response frame that cannot be decoded. If it names a request we
        sent, the frame was delimited correctly and only that request fails, as librdkafka
        fails a parse failure: _UNDERFLOW when the response ended early, else _BAD_MSG (both
        permanent for a Produce); the connection stays. Otherwise the stream is out of step
        and the connection is torn down (ProtocolError)."""
        corr = int.from_bytes(frame[:4], "big") if len(frame) >= 4 else -1
        request = self.waitresp.pop(corr, None)
        if request is None or self.state is not UP:
            raise exc
        self.stats.rxerrs += 1
        self.handle.log(3, "PROTOERR", f"{self.name}: Protocol parse failure for "
                        f"{api_name(request.api_key)} v{request.version} (CorrId {corr}): "
                        f"{exc}")
        if not request.purged:
            code = ErrorCode._UNDERFLOW if exc.underflow else ErrorCode._BAD_MSG
            request.fail(self, code)

    # --- broker thread: failure ---------------------------------------------------------------

    def _close_connection(self) -> None:
        """Broker thread (or the terminating thread). Close the socket, forget the session."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.session.clear()

    def _fail(self, err: int, reason: str, now: float,
              request_error: int = ErrorCode._TRANSPORT) -> None:
        """Broker thread. Close the connection, fail what was in flight, back off, report."""
        was_up = self.state is UP
        ms = int((now - self.state_since) * 1000)
        state = self.state
        if self.conn is not None:
            self.disconnects += 1
        self.lost_at = now
        self._close_connection()
        self._step = None
        self._setup_deadline = _INF
        inflight = list(self.waitresp.values())
        self.waitresp.clear()
        self.role.disconnected()
        if state in _SETUP:
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


__all__ = ["Broker", "DOWN", "INIT", "TRY_CONNECT", "UP"]
