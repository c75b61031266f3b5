"""The client handle: one client's engine, its lifecycle and what its threads share.

One Handle per Producer or Consumer (later AdminClient): the settings, the broker and topic
tables, the reply queue, the message counters, the logging entry points, and the components
that do the rest: `refresher` (metadata), `main_thread` (timers), `coordinators`, and what a
client plugs in (`main_work`, `consumer_stats`). Background threads never call user code: they
push ops on `reply_q`, served by the application's poll()/consume()/flush(). Each method says
which thread runs it. Locks: `lock` (re-entrant) guards the metadata cache, the broker and topic
tables and partition leadership; `_cnt_lock` the message counters used for backpressure.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rdpy._version import __version__
from rdpy.client.broker.broker import Broker
from rdpy.client.broker.role import BrokerRole, NoRole
from rdpy.client.broker.setup import BrokerState
from rdpy.client.component import ConsumerStatsSource, EosStatsSource, MainThreadWork
from rdpy.client.coordinators import Coordinators
from rdpy.client.log import debug_contexts, thread_tag
from rdpy.client.log import emit as emit_log
from rdpy.client.main_thread import MainThread
from rdpy.client.metadata import MetadataCache, MetadataRefresher
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import DeliveryReports, ErrorEvent, LogLine, ReplyOp, Throttled
from rdpy.client.queue import OpQueue
from rdpy.client.startup import parse_bootstrap, start_mock_cluster
from rdpy.client.toppar import Topic
from rdpy.config.conf import ClientType, Settings
from rdpy.errors import ErrorCode, KafkaError, err2name, err2str

if TYPE_CHECKING:
    from rdpy.client.request import QueuedRequest
    from rdpy.mock import MockCluster
    from rdpy.protocol.messages.metadata import MetadataResponse

__all__ = ["Handle"]

_NOT_UP = (BrokerState.DOWN, BrokerState.INIT, BrokerState.TRY_CONNECT)
_instance_counter = 0
_instance_lock = threading.Lock()


class Handle:
    """Shared engine state of one client instance."""

    def __init__(self, settings: Settings, kind: ClientType,
                 role_factory: Callable[[Broker], BrokerRole] = NoRole,
                 clock: Callable[[], float] = time.monotonic) -> None:
        global _instance_counter
        self.settings = settings
        self.kind = kind
        #: What each broker connection does for this client (see BrokerRole).
        self.role_factory = role_factory
        self.clock = clock
        with _instance_lock:
            _instance_counter += 1
            n = _instance_counter
        self.name = f"{settings.get_str('client.id')}#{kind}-{n}"
        self.lock = threading.RLock()
        self.reply_q: OpQueue[ReplyOp] = OpQueue()
        self.metadata = MetadataCache()
        self.brokers: dict[int, Broker] = {}
        #: The bootstrap.servers brokers, until a Metadata answer names the cluster's own
        #: brokers (then decommissioned, and added again by a re-bootstrap). Handle lock.
        self.bootstrap: list[Broker] = []
        self._bootstrap_addresses: list[tuple[str, int]] = []
        #: Decommissioned brokers whose threads may still be ending (joined by destroy()).
        self._decommissioned: list[Broker] = []
        self._rebootstrap = settings.get_enum("metadata.recovery.strategy") == "rebootstrap"
        #: Connections of their own to a broker for one component's requests (librdkafka's
        #: logical brokers: the consumer group coordinator's, so that JoinGroup, SyncGroup and
        #: heartbeats never wait behind a long-polling Fetch). Handle lock.
        self.logical: list[Broker] = []
        self.topics: dict[str, Topic] = {}
        self.flushing = False
        self.terminating = False
        self._cnt_lock = threading.Lock()
        self.msg_cnt = 0
        self.msg_bytes = 0
        self.debug = debug_contexts(settings.get_flags("debug"))
        # Any debug context raises the log level to debug, as in librdkafka.
        self.log_level = 7 if self.debug else settings.get_int("log_level")
        self.log_connection_close = settings.get_bool("log.connection.close")
        # Whether the application gave these callables (the engine's settings hold a marker
        # for each: engine_settings). With a `logger`, log lines are served by poll(); with a
        # `partitioner`, poll() places what waited for metadata.
        self.app_logger = settings.callbacks.get("logger") is not None
        self.user_partitioner = settings.callbacks.get("partitioner") is not None
        self._all_down_reported = False
        self.request_timeout = settings.get_int("socket.timeout.ms") / 1000.0
        self.read_committed = settings.get_enum("isolation.level") == "read_committed"
        #: What a client's components do on the main thread's tick.
        self.main_work: list[MainThreadWork] = []
        #: Requests posted to a broker whose thread had ended, with the error they fail with:
        #: failed by the main thread's next tick (Broker.post).
        self._late_failures: list[tuple[Broker, QueuedRequest, int]] = []
        self._late_lock = threading.Lock()
        #: A consumer's own statistics ("cgrp", prefetched bytes); None for other clients.
        self.consumer_stats: ConsumerStatsSource | None = None
        #: An idempotent producer's "eos" statistics; None for other clients.
        self.eos_stats: EosStatsSource | None = None
        #: Group and transaction coordinators, by key type and key.
        self.coordinators = Coordinators(self)
        self.refresher = MetadataRefresher(self)
        self.main_thread = MainThread(self)
        #: The first fatal error (rd_kafka_fatal_error()) and how many were raised: once set,
        #: the client keeps no guarantee any more (see set_fatal_error).
        self.fatal_error: KafkaError | None = None
        self.fatal_cnt = 0
        #: What else a fatal error stops (the producer: its queued messages fail).
        self.on_fatal: list[Callable[[], None]] = []
        #: The cluster test.mock.num.brokers started (stopped by destroy()).
        self.mock_cluster: MockCluster | None = None

    # --- life cycle (app thread) --------------------------------------------------------------

    def start(self) -> None:
        """App thread. Start the bootstrap brokers' and the main thread, ask for metadata."""
        self.dbg("all", "INIT", f"rdpy v{__version__} {self.name} initialized (debug "
                 f"{','.join(sorted(self.debug))})")
        if "conf" in self.debug:
            self.log(7, "CONF", "Client configuration:")
            for name, value in self.settings.conf().dump_modified():
                self.log(7, "CONF", f"  {name} = {value}")
        servers = self.settings.get_str("bootstrap.servers") or ""
        self.mock_cluster = start_mock_cluster(self.settings)
        if self.mock_cluster is not None:
            servers = self.mock_cluster.bootstrap_servers
            self.log(5, "MOCK", "Mock cluster enabled: original bootstrap.servers and "
                     f"security.protocol ignored and replaced with {servers}")
        addresses = parse_bootstrap(servers)
        if not addresses:
            self.log(5, "CONFWARN", "No `bootstrap.servers` configured: "
                                    "client will not be able to connect to Kafka cluster")
        with self.lock:
            self._bootstrap_addresses = addresses
            self._add_bootstrap_brokers()
        self.main_thread.start()
        self.request_metadata(reason="bootstrap")

    def destroy(self, timeout: float = 5.0) -> None:
        """App thread. Stops every thread; waits up to `timeout` s for them to end."""
        if self.terminating:
            return
        self.terminating = True
        self.main_thread.wake()
        # Never block forever here: at interpreter exit a frozen daemon thread may hold it.
        locked = self.lock.acquire(timeout=timeout)
        try:
            brokers = (self.bootstrap + list(self.brokers.values()) + self.logical
                       + self._decommissioned)
        finally:
            if locked:
                self.lock.release()
        for b in brokers:
            b.terminate()
        deadline = time.monotonic() + timeout
        for b in brokers:
            if b.thread.is_alive() and b.thread is not threading.current_thread():
                b.thread.join(max(0.0, deadline - time.monotonic()))
        self.main_thread.join(max(0.0, deadline - time.monotonic()))
        if self.mock_cluster is not None:
            self.mock_cluster.close()

    def destroy_on_gc(self) -> None:
        """From a client's __del__: stop the threads, never hanging. Usually on the thread
        that dropped the client's last reference (the application's): stopped and joined as
        destroy() does. The cyclic GC may run it on any thread, the client's own included."""
        if self.terminating:
            return
        if sys.is_finalizing():
            # Interpreter exit: daemon threads are already frozen (possibly holding locks) and
            # end with the process; waiting for them could hang.
            self.terminating = True
            return
        current = threading.current_thread()
        brokers = self.bootstrap + list(self.brokers.values()) + self.logical
        if current is self.main_thread.thread or any(b.thread is current for b in brokers):
            # Collected on one of the client's own threads, which may be holding one of its
            # locks right now: tell every thread to stop without a lock or a wait (the main
            # thread sees `terminating` within a tick; broker threads are woken).
            self.terminating = True
            for b in brokers:
                b.terminating = True
                b.wake()
            return
        self.destroy(timeout=1.0)

    # --- the broker table ----------------------------------------------------------------------

    def _add_bootstrap_brokers(self) -> None:
        """Handle lock. A broker (and its thread) per bootstrap.servers address."""
        for i, (host, port) in enumerate(self._bootstrap_addresses):
            broker = Broker(self, -1 - i, host, port)
            self.bootstrap.append(broker)
            broker.start()

    def decommission_unavailable(self, listed: set[int]) -> None:
        """Handle lock; the thread applying a Metadata answer that named the brokers `listed`.
        librdkafka (>= 2.10) keeps only the brokers the cluster names: once some are known,
        every broker that is neither logical nor one of them is decommissioned, the
        bootstrap ones first of all (they leave the statistics then), and learned ones the
        cluster stopped listing. A broker listed again later is added again."""
        if not self.brokers or self.terminating:
            return
        self._decommission(self.bootstrap
                           + [b for node_id, b in self.brokers.items() if node_id not in listed])

    def _decommission(self, brokers: list[Broker]) -> None:
        """Handle lock. Take `brokers` out of the broker table, their partitions delegated
        to no broker, and end their threads: what they still hold fails with _DESTROY_BROKER,
        which the owners retry elsewhere (librdkafka's rd_kafka_broker_decommission)."""
        if not brokers:
            return
        self._decommissioned = [b for b in self._decommissioned if b.thread.is_alive()]
        gone = set(map(id, brokers))
        self.bootstrap = [b for b in self.bootstrap if id(b) not in gone]
        for broker in brokers:
            if self.brokers.get(broker.node_id) is broker:
                del self.brokers[broker.node_id]
                self.refresher.undelegate(broker)
            self.dbg("broker", "DESTROY", f"Sending TERMINATE to {broker.name}")
            broker.decommission()
            self._decommissioned.append(broker)

    def rebootstrap(self) -> None:
        """Takes the handle lock; the broker thread that found every broker down. With
        metadata.recovery.strategy=rebootstrap, librdkafka's re-bootstrap sequence: the
        learned brokers are decommissioned and the bootstrap.servers brokers added again, so
        that a cluster whose brokers all moved is found again; the next Metadata answer
        naming the cluster's brokers decommissions the bootstrap ones again. Bootstrap
        brokers still there are kept, with their reconnect backoff (librdkafka 2.16 replaces
        them with new ones; 2.15's rd_kafka_find_or_add_broker() kept them)."""
        with self.lock:
            if not self._rebootstrap or self.terminating:
                return
            if self.debug:  # librdkafka's ALL context: logged with any debug context
                self.log(7, "REBOOTSTRAP", "Starting re-bootstrap sequence")
            self._decommission(list(self.brokers.values()))
            if not self.bootstrap:
                self._add_bootstrap_brokers()

    def add_broker(self, node_id: int, host: str, port: int) -> Broker:
        """Handle lock. The broker with `node_id`, its thread started if it is new."""
        broker = self.brokers.get(node_id)
        if broker is None:
            broker = self.brokers[node_id] = Broker(self, node_id, host, port)
            broker.start()
        return broker

    def add_logical_broker(self, name: str, node_id: int, host: str, port: int) -> Broker:
        """Any thread, takes the handle lock. A connection of its own to broker `node_id`
        (see `logical`), its thread started unless the client is closing."""
        broker = Broker(self, node_id, host, port)
        broker.logical = True
        broker.logical_name = name
        broker.name = f"{name}/{node_id}"
        with self.lock:
            if not self.terminating:
                self.logical.append(broker)
                broker.start()
        return broker

    def remove_logical_broker(self, broker: Broker) -> None:
        """Any thread. Stop a logical broker's thread (its requests fail as on destroy)."""
        with self.lock:
            if broker in self.logical:
                self.logical.remove(broker)
        broker.terminate()

    def all_brokers(self) -> list[Broker]:
        """Any thread, takes the handle lock. Learned brokers, then bootstrap ones."""
        with self.lock:
            return list(self.brokers.values()) + self.bootstrap

    def any_broker(self) -> Broker | None:
        """Handle lock. An UP broker if any (learned first), else one not backing off."""
        candidates = list(self.brokers.values()) + self.bootstrap
        up = [b for b in candidates if b.state == BrokerState.UP]
        if up:
            return random.choice([b for b in up if b.node_id >= 0] or up)
        now = self.clock()
        ready = [b for b in candidates if b.next_connect_at <= now]
        pool = [b for b in ready if b.node_id >= 0] or ready or candidates
        return random.choice(pool) if pool else None

    def broker_state_changed(self, broker: Broker, previous: BrokerState) -> None:
        """Broker thread. A connection up refreshes the metadata through it; a connection
        lost refreshes the known topics elsewhere (librdkafka's "broker down", so a moved
        leader is found at once); all of them down is reported once (_ALL_BROKERS_DOWN).
        A logical broker's connection concerns only its owner, a decommissioned broker's
        nobody."""
        if broker.logical or broker.decommissioned:
            return
        if broker.state == BrokerState.UP:
            self._all_down_reported = False
            self.refresher.broker_up(broker)
            self.main_thread.wake()
        elif broker.state == BrokerState.DOWN:
            self.refresher.broker_down(previous)
            self._report_all_down(broker)

    def _report_all_down(self, broker: Broker) -> None:
        """Broker thread, takes the handle lock. _ALL_BROKERS_DOWN once every broker is down
        (and each was tried, unless a bootstrap broker went down)."""
        brokers = self.all_brokers()
        down = sum(1 for b in brokers if b.state in _NOT_UP)
        if down == len(brokers) and not self._all_down_reported and not self.terminating:
            attempted = [b for b in brokers if b.connects or b.state == BrokerState.DOWN]
            if len(attempted) == len(brokers) or broker.node_id < 0:
                self._all_down_reported = True
                self.rebootstrap()  # before the error, as librdkafka
                self.report_error(ErrorCode._ALL_BROKERS_DOWN,
                                  f"{down}/{len(brokers)} brokers are down")

    # --- events to the application (any thread) -----------------------------------------------

    def deliver(self, msgs: list[ProducerMessage]) -> None:
        """Any thread. Queue delivery reports for `msgs` (err set on each, 0 for success)."""
        if msgs:
            self.reply_q.push(DeliveryReports(msgs))

    def report_error(self, code: int, reason: str, fatal: bool = False) -> None:
        """Any thread. An error event for error_cb."""
        self.reply_q.push(ErrorEvent(KafkaError(code, reason, fatal=fatal)))

    def set_fatal_error(self, code: int, reason: str) -> bool:
        """Any thread. Raise a fatal error (rd_kafka_set_fatal_error): only the first one is
        kept; the application gets a _FATAL error event (confluent-kafka raises the
        underlying error from poll()/flush()) and each `on_fatal` action runs. Returns whether
        this was the first."""
        with self.lock:
            self.fatal_cnt += 1
            if self.fatal_error is not None:
                self.dbg("all", "FATAL", "Suppressing subsequent fatal error: "
                         f"{err2name(code)}")
                return False
            self.fatal_error = KafkaError(code, reason, fatal=True)
        text = f"Fatal error: {err2str(code)}: {reason}"
        self.log(0, "FATAL", text)
        self.report_error(ErrorCode._FATAL, text, fatal=True)
        for action in self.on_fatal:
            action()
        return True

    def report_broker_error(self, broker: Broker, code: int, text: str) -> None:
        """Broker thread. A connection failure: logged, and an error event for error_cb (every
        time, as librdkafka does: one per failed attempt)."""
        self.log(3, "FAIL", text)
        self.report_error(code, text)

    def throttled(self, broker: Broker, ms: int) -> None:
        """Broker thread. A response said the broker throttled us (throttle_cb)."""
        self.reply_q.push(Throttled(broker.host, broker.node_id, ms))

    def log(self, level: int, facility: str, text: str) -> None:
        """Any thread. A log line for the `logger` (served from poll) or Python logging."""
        if level > self.log_level:
            return
        tagged = f"[thrd:{thread_tag()}]: {text}"
        if self.app_logger:
            self.reply_q.push(LogLine(level, facility, tagged))
        else:
            emit_log(None, self.name, level, facility, tagged)

    def dbg(self, context: str, facility: str, text: str) -> None:
        """Any thread. A debug line, logged when `context` is among the `debug` contexts, or
        for context "all" when any is (librdkafka's RD_KAFKA_DBG_ALL matches every bit).
        Call sites on busy paths test `context in handle.debug` first to skip formatting."""
        if context in self.debug or context == "all" and self.debug:
            self.log(7, facility, text)

    # --- counters (produce() increments them inline under _cnt_lock) --------------------------

    def release(self, count: int, size: int) -> None:
        """App thread (serving delivery reports), takes `_cnt_lock`."""
        with self._cnt_lock:
            self.msg_cnt -= count
            self.msg_bytes -= size

    # --- entry points other modules call; the work is in the components ------------------------

    def get_topic(self, name: str) -> Topic:
        """App thread. The topic object, created (and its metadata requested) on first use."""
        return self.refresher.get_topic(name)

    def request_metadata(self, reason: str, force: bool = False,
                         topics: list[str] | None = None) -> bool:
        """Any thread. See MetadataRefresher.request."""
        return self.refresher.request(reason, force, topics)

    def refresh_topic_metadata(self, topic: str, reason: str) -> None:
        """Broker thread (a Produce error). A refresh of the known topics."""
        self.refresher.request(reason=reason)

    def set_topic_error(self, name: str, err: int) -> None:
        """Any thread. See MetadataRefresher.set_topic_error."""
        self.refresher.set_topic_error(name, err)

    def apply_metadata(self, response: MetadataResponse, requested: list[str] | None) -> None:
        """Any thread. See MetadataRefresher.apply."""
        self.refresher.apply(response, requested)

    def fail_late(self, broker: Broker, request: QueuedRequest, err: int) -> None:
        """Any thread. `request` was posted to `broker` after its thread ended: the main
        thread fails it with `err` (see Broker.post)."""
        with self._late_lock:
            self._late_failures.append((broker, request, err))
        self.wake_main()

    def take_late_failures(self) -> list[tuple[Broker, QueuedRequest, int]]:
        """Main thread. The requests fail_late() handed over since the last call."""
        with self._late_lock:
            taken, self._late_failures = self._late_failures, []
        return taken

    def wake_main(self) -> None:
        """Any thread. The main thread runs its next tick now."""
        self.main_thread.wake()

    def wake_main_at(self, when: float) -> None:
        """Any thread. The main thread runs a tick no later than `when` (monotonic)."""
        self.main_thread.wake_at(when)

    def serve_main(self, now: float) -> None:
        """Main thread (or a test with a fake clock). One tick: see MainThread.serve."""
        self.main_thread.serve(now)
