"""The client handle: configuration, brokers, metadata, topics, the reply queue, the main thread.

One Handle per Producer (and later Consumer/AdminClient). Background threads never call user
code: they push ops on `reply_q`, and the application's poll()/flush() serves them.

Locks: `lock` (re-entrant) guards the metadata cache, the broker and topic tables and partition
leadership; `_cnt_lock` guards the message counters used for backpressure.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rdpy.client.broker.broker import Broker
from rdpy.client.broker.role import BrokerRole, NoRole
from rdpy.client.coordinators import Coordinators
from rdpy.client.broker.setup import BrokerState
from rdpy.client.ops import (ConnectNow, DeliveryReports, ErrorEvent, LogLine, PlaceUnassigned,
                             ReplyOp, StatsReady, Throttled, TopparJoin, TopparLeave, TopparRemove)
from rdpy.client.request import Request
from rdpy.client.metadata import BrokerInfo, MetadataCache, PartitionInfo, TopicInfo
from rdpy.client.log import debug_contexts, thread_tag
from rdpy.client.log import emit as emit_log
from rdpy.client.msg import ProducerMessage
from rdpy.client.partitioner import TopicPartitioner
from rdpy.client.queue import OpQueue
from rdpy.client.toppar import Topic, Toppar
from rdpy.config.conf import ClientType, Conf, Settings
from rdpy.stats.counters import TopicCounters, statistics_interval
from rdpy.stats.emit import StatsEmitter
from rdpy.errors import ErrorCode, KafkaError, KafkaException
from rdpy.protocol.messages import MetadataRequest
from rdpy.protocol.messages.metadata import MetadataRequestTopic, MetadataResponse

if TYPE_CHECKING:
    from rdpy.mock import MockCluster

UP = BrokerState.UP
DOWN = BrokerState.DOWN
_MAIN_TICK = 0.1
_instance_counter = 0
_instance_lock = threading.Lock()

#: What the engine's settings hold in place of each application callback (engine_settings).
_APP_CALLBACK = "<application callback>"


def engine_settings(conf: Conf, kind: ClientType) -> Settings:
    """The settings a client's Handle and threads get: the application's callables replaced by
    a marker (the engine only asks whether one is set; callbacks run from poll(), served from
    the client's own settings). A callback that refers to its client (a bound method of the
    object that owns it) must not keep the client alive through the threads."""
    stripped = conf.copy()
    stripped.callbacks = {name: _APP_CALLBACK for name in conf.callbacks}
    return stripped.finalize(kind)


def parse_bootstrap(servers: str) -> list[tuple[str, int]]:
    """'host:port,host2' -> [(host, port)] with Kafka's default port 9092. Never raises: as in
    librdkafka, a malformed entry becomes a broker that fails to resolve (port 0) and is
    reported then, through error_cb and the log."""
    out: list[tuple[str, int]] = []
    for item in servers.replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        for prefix in ("PLAINTEXT://", "SSL://", "SASL_PLAINTEXT://", "SASL_SSL://"):
            if item.upper().startswith(prefix):
                item = item[len(prefix):]
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else "9092"
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        else:
            host, port_text = item, "9092"
        port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else 0
        out.append((host, port))
    return out


class MetadataAsk:
    """What one of the handle's Metadata requests asks for: `topics` (a full refresh fills
    them in when it is sent; empty means brokers only)."""

    __slots__ = ("topics", "full", "held")

    def __init__(self, topics: list[str], full: bool) -> None:
        self.topics = topics
        self.full = full
        #: The broker that sends no Produce until this is answered (Broker.awaiting_metadata).
        self.held: Broker | None = None


class Handle:
    """Shared engine state of one client instance."""

    def __init__(self, settings: Settings, kind: str,
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
        self.bootstrap: list[Broker] = []
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
        self.logger: Any = settings.callbacks.get("logger")
        self.user_partitioner: Any = settings.callbacks.get("partitioner")
        self._all_down_reported = False
        #: A refresh of every known topic is in flight (at most one at a time).
        self._metadata_inflight = False
        self._metadata_requested_at = -1e9
        #: Topics some Metadata request in flight asks for: a new topic is asked for at once
        #: unless it is among them (as librdkafka's metadata cache hints do).
        self._metadata_asking: set[str] = set()
        #: A full refresh is queued and has not listed its topics yet (see request_metadata).
        self._full_refresh_unsent = False
        self._last_full_refresh = clock()
        self.fast_refresh = settings.get_int("topic.metadata.refresh.fast.interval.ms") / 1000.0
        #: The interval between refreshes while a topic is unknown or leaderless: the fast
        #: interval, doubled after each such refresh up to retry.backoff.max.ms, as librdkafka
        #: documents topic.metadata.refresh.fast.interval.ms (main thread).
        self.refresh_backoff = self.fast_refresh
        self.refresh_backoff_max = max(self.fast_refresh,
                                       settings.get_int("retry.backoff.max.ms") / 1000.0)
        self.refresh_interval = settings.get_int("topic.metadata.refresh.interval.ms") / 1000.0
        self.propagation_max = settings.get_int("topic.metadata.propagation.max.ms") / 1000.0
        self.metadata_max_age = settings.get_int("metadata.max.age.ms") / 1000.0
        self.request_timeout = settings.get_int("socket.timeout.ms") / 1000.0
        self.rebootstrap = settings.get_enum("metadata.recovery.strategy") == "rebootstrap"
        #: Producer partitions removed from their topic (re-created smaller), still swept by
        #: the main thread for messages produce() put there as they went.
        self._removed: list[Toppar] = []
        self._next_probe = 0.0
        self.allow_auto_create = (settings.get_bool("allow.auto.create.topics")
                                  or (kind == "producer"
                                      and not settings.is_modified("allow.auto.create.topics")))
        #: Consumer only: prefetched messages for poll(), EOF events wanted, and the
        #: consumer's own main-thread work (offset queries, auto commit), set by Consumer.
        self.consumer_queue: Any = None
        self.partition_eof = False
        self.main_hooks: list[Callable[[float], None]] = []
        self.offset_reset: Callable[[Toppar, int, int, int, str], None] | None = None
        #: Consumer with a group.id: the "cgrp" statistics object, set by Consumer.
        self.group_stats: Callable[[float], dict[str, Any]] | None = None
        self.read_committed = settings.get_enum("isolation.level") == "read_committed"
        # Statistics: emitted by the main thread every statistics.interval.ms, served to
        # stats_cb by poll() (built only when someone will read them).
        self.stats_interval = statistics_interval(settings)
        self._next_stats = clock() + self.stats_interval
        self._stats: StatsEmitter | None = StatsEmitter(self) if self.stats_interval else None
        self._main_wake = threading.Event()
        self._main = threading.Thread(target=self._main_loop, name=f"rdpy:main:{self.name}",
                                      daemon=True)
        #: Group and transaction coordinators, by key type and key.
        self.coordinators = Coordinators(self)
        #: The cluster test.mock.num.brokers started (stopped by destroy()).
        self.mock_cluster: MockCluster | None = None

    # --- life cycle (app thread) --------------------------------------------------------------

    def start(self) -> None:
        from rdpy._version import __version__

        self.dbg("generic", "INIT", f"rdpy v{__version__} {self.name} initialized (debug "
                 f"{','.join(sorted(self.debug)) or 'none'})")
        if "conf" in self.debug:
            self.log(7, "CONF", "Client configuration:")
            for name, value in self.settings.conf().dump_modified():
                self.log(7, "CONF", f"  {name} = {value}")
        servers = self._start_mock_cluster() or self.settings.get_str("bootstrap.servers") or ""
        addresses = parse_bootstrap(servers)
        if not addresses:
            self.log(5, "CONFWARN", "No `bootstrap.servers` configured: "
                                    "client will not be able to connect to Kafka cluster")
        with self.lock:
            for i, (host, port) in enumerate(addresses):
                broker = Broker(self, -1 - i, host, port)
                self.bootstrap.append(broker)
                broker.start()
        self._main.start()
        self.request_metadata(reason="bootstrap")

    def _start_mock_cluster(self) -> str | None:
        """App thread. With test.mock.num.brokers, start rdpy's mock cluster and return its
        addresses to bootstrap from instead of bootstrap.servers, as librdkafka does."""
        num = self.settings.get_int("test.mock.num.brokers")
        if num <= 0:
            return None
        from rdpy.mock import MockCluster  # only tests pay for importing the mock

        self.mock_cluster = cluster = MockCluster(num)
        rtt = self.settings.get_int("test.mock.broker.rtt")
        for node_id in cluster.broker_ids:
            cluster.set_rtt(node_id, rtt)
        self.log(5, "MOCK", "Mock cluster enabled: original bootstrap.servers and "
                 f"security.protocol ignored and replaced with {cluster.bootstrap_servers}")
        return cluster.bootstrap_servers

    def destroy(self, timeout: float = 5.0) -> None:
        """App thread. Stops every thread; waits up to `timeout` s for them to end."""
        if self.terminating:
            return
        self.terminating = True
        self._main_wake.set()
        # Never block forever here: at interpreter exit a frozen daemon thread may hold it.
        locked = self.lock.acquire(timeout=timeout)
        try:
            brokers = self.bootstrap + list(self.brokers.values())
        finally:
            if locked:
                self.lock.release()
        for b in brokers:
            b.terminate()
        deadline = time.monotonic() + timeout
        for b in brokers:
            if b.thread.is_alive() and b.thread is not threading.current_thread():
                b.thread.join(max(0.0, deadline - time.monotonic()))
        if self._main.is_alive() and self._main is not threading.current_thread():
            self._main.join(max(0.0, deadline - time.monotonic()))
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
        if current is self._main or any(b.thread is current
                                        for b in self.bootstrap + list(self.brokers.values())):
            # Collected on one of the client's own threads, which may be holding one of its
            # locks right now: tell every thread to stop without a lock or a wait (the main
            # thread sees `terminating` within a tick; broker threads are woken).
            self.terminating = True
            for b in self.bootstrap + list(self.brokers.values()):
                b.terminating = True
                b.wake()
            return
        self.destroy(timeout=1.0)

    def add_broker(self, node_id: int, host: str, port: int) -> Broker:
        """Handle lock. The broker with `node_id`, its thread started if it is new."""
        broker = self.brokers.get(node_id)
        if broker is None:
            broker = self.brokers[node_id] = Broker(self, node_id, host, port)
            broker.start()
        return broker

    def all_brokers(self) -> list[Broker]:
        with self.lock:
            return list(self.brokers.values()) + self.bootstrap

    # --- events to the application (any thread) -----------------------------------------------

    def deliver(self, msgs: list[ProducerMessage]) -> None:
        """Any thread. Queue delivery reports for `msgs` (err set on each, 0 for success)."""
        if msgs:
            self.reply_q.push(DeliveryReports(msgs))

    def report_error(self, code: int, reason: str, fatal: bool = False) -> None:
        self.reply_q.push(ErrorEvent(KafkaError(code, reason, fatal=fatal)))

    def report_broker_error(self, broker: Broker, code: int, text: str) -> None:
        """Broker thread. A connection failure: logged, and an error event for error_cb (every
        time, as librdkafka does: one per failed attempt)."""
        self.log(3, "FAIL", text)
        self.report_error(code, text)

    def log(self, level: int, facility: str, text: str) -> None:
        """Any thread. A log line for the `logger` (served from poll) or Python logging."""
        if level > self.log_level:
            return
        tagged = f"[thrd:{thread_tag()}]: {text}"
        if self.logger is not None:
            self.reply_q.push(LogLine(level, facility, tagged))
        else:
            emit_log(None, self.name, level, facility, tagged)

    def dbg(self, context: str, facility: str, text: str) -> None:
        """Any thread. A debug line, logged when `context` is among the `debug` contexts.
        Call sites on busy paths test `context in handle.debug` first to skip formatting."""
        if context in self.debug:
            self.log(7, facility, text)

    def throttled(self, broker: Broker, ms: int) -> None:
        self.reply_q.push(Throttled(broker.host, broker.node_id, ms))

    def broker_state_changed(self, broker: Broker) -> None:
        """Broker thread. Tracks 'all brokers down' and asks for metadata when one comes up."""
        if broker.state == UP:
            self._all_down_reported = False
            # As librdkafka on every new connection: refresh the known topics through it, so
            # a broker that restarted without a topic (or lost leadership) is noticed before
            # anything more is produced to the old partitions.
            with self.lock:
                # Topics not known yet, or last learned before this broker's connection was
                # lost: a broker that restarted may have lost a topic or its leadership.
                cached = self.metadata.topics
                known = [name for name in self.topics if name not in cached
                         or cached[name].updated_at <= broker.lost_at]
            if known:
                # A producer's broker that was connected before holds its Produce requests
                # until the answer (a first connection has nothing stale to send).
                self.request_metadata(reason="connected", topics=known, via=broker,
                                      hold=broker.role.holds_for_metadata
                                      and broker.lost_at > float("-inf"))
            self._main_wake.set()
            return
        if broker.state != DOWN:
            return
        brokers = self.all_brokers()
        down = sum(1 for b in brokers if b.state in (DOWN, BrokerState.INIT, BrokerState.TRY_CONNECT))
        if down == len(brokers) and not self._all_down_reported and not self.terminating:
            attempted = [b for b in brokers if b.connects or b.state == DOWN]
            if len(attempted) == len(brokers) or broker.node_id < 0:
                self._all_down_reported = True
                self.report_error(ErrorCode._ALL_BROKERS_DOWN,
                                  f"{down}/{len(brokers)} brokers are down")

    # --- counters (produce() increments them inline under _cnt_lock) --------------------------

    def release(self, count: int, size: int) -> None:
        with self._cnt_lock:
            self.msg_cnt -= count
            self.msg_bytes -= size

    # --- topics and metadata -------------------------------------------------------------------

    def get_topic(self, name: str) -> Topic:
        """App thread. The topic object, created (and its metadata requested) on first use."""
        topic = self.topics.get(name)
        if topic is not None:
            return topic
        with self.lock:
            topic = self.topics.get(name)
            if topic is None:
                t = self.settings.topic
                topic = Topic(name, TopicPartitioner(
                    t.get_str("partitioner") or "consistent_random",
                    self.settings.get_int("sticky.partitioning.linger.ms")), self.clock(),
                    TopicCounters(self.settings))
                self.topics[name] = topic
                info = self.metadata.topics.get(name)
                if info is not None:
                    # Known from an earlier list_topics(): usable at once.
                    self.deliver(self._apply_topic_metadata(topic, info.error, info.partitions,
                                                            self.clock()))
                    return topic
        self.request_metadata(reason="new topic", topics=[name])
        return topic

    def consumer_offset_reset(self, tp: Toppar, offset: int, version: int, err: int,
                              reason: str) -> None:
        """Broker thread. The fetch of `offset` (at `version`) is out of range: apply
        auto.offset.reset."""
        if self.offset_reset is not None:
            self.offset_reset(tp, offset, version, err, reason)

    def wake_main(self) -> None:
        self._main_wake.set()

    def set_topic_error(self, name: str, err: int) -> None:
        """Any thread. A permanent topic error (e.g. authorization) seen in a response."""
        with self.lock:
            topic = self.topics.get(name)
            if topic is not None:
                topic.error = err

    def refresh_topic_metadata(self, topic: str, reason: str) -> None:
        self.request_metadata(reason=reason)

    def request_metadata(self, reason: str, force: bool = False,
                         topics: list[str] | None = None, via: Broker | None = None,
                         hold: bool = False) -> bool:
        """Any thread. Ask a usable broker (or `via`) for metadata.

        With `topics`, for those of them no request in flight asks for already, at once (a new
        topic, a new connection). Without, for every known topic: one such refresh at a time,
        at most once per `refresh_backoff` unless `force`d; a refresh turned down here is
        retried by the main thread's next tick. A refresh of every topic lists them when it is
        sent, not when it is queued: a topic added while it waits for a connection is in it,
        and is not asked for separately. `hold`: `via` sends no Produce until the answer, and
        is asked for all of `topics` whatever else is in flight.
        """
        now = self.clock()
        with self.lock:
            if self.terminating:
                return False
            full = topics is None
            if not full:
                assert topics is not None
                if hold:
                    # Its own answer releases the broker: no request elsewhere can stand in.
                    wanted = sorted(set(topics))
                elif self._full_refresh_unsent:
                    return False  # the refresh waiting to be sent will ask for them
                else:
                    wanted = sorted(t for t in set(topics) if t not in self._metadata_asking)
                if not wanted:
                    return False
            else:
                if self._metadata_inflight and not force:
                    return False
                if not force and now - self._metadata_requested_at < self.refresh_backoff:
                    return False
                wanted = []
            broker = via if via is not None else self.any_broker()
            if broker is None:
                return False
            if full:
                self._metadata_inflight = True
                self._full_refresh_unsent = True
                self._metadata_requested_at = now
            self._metadata_asking.update(wanted)
        ask = MetadataAsk(wanted, full)
        if hold and via is not None:
            via.awaiting_metadata = True
            ask.held = via
        allow = self.allow_auto_create

        def build(version: int) -> MetadataRequest:
            if ask.full:
                ask.topics = self._topics_for_full_refresh()
            return MetadataRequest(
                topics=[MetadataRequestTopic(name=t) for t in ask.topics],
                allow_auto_topic_creation=allow,
            )

        self.dbg("metadata", "METADATA", f"{broker.name}: Request metadata for "
                 f"{len(wanted)} topic(s): {reason}" if wanted else
                 f"{broker.name}: Request metadata for "
                 f"{'known topics' if full else 'brokers only'}: {reason}")
        broker.enqueue_request(Request(
            MetadataResponse, build,
            lambda b, err, response, request: self._on_metadata(ask, b, err, response, request),
            self.request_timeout))
        return True

    def _topics_for_full_refresh(self) -> list[str]:
        """Broker thread, as the full refresh is sent: every known topic, now asked for."""
        with self.lock:
            self._full_refresh_unsent = False
            topics = sorted(self.topics)
            self._metadata_asking.update(topics)
            return topics

    def any_broker(self) -> Broker | None:
        """Handle lock. An UP broker if any (learned first), else one not backing off."""
        learned = list(self.brokers.values())
        candidates = learned + self.bootstrap
        up = [b for b in candidates if b.state == UP]
        if up:
            return random.choice([b for b in up if b.node_id >= 0] or up)
        now = self.clock()
        ready = [b for b in candidates if b.next_connect_at <= now]
        pool = [b for b in ready if b.node_id >= 0] or ready or candidates
        return random.choice(pool) if pool else None

    def _on_metadata(self, ask: MetadataAsk, broker: Broker, err: int,
                     response: MetadataResponse | None,
                     request: Request[MetadataResponse]) -> None:
        """Broker thread. The answer to the handle's own Metadata request."""
        if response is not None:
            self.dbg("metadata", "METADATA", f"{broker.name}: Received metadata: "
                     f"{len(response.brokers)} broker(s), {len(response.topics)} topic(s)")
            self.apply_metadata(response, ask.topics)
        with self.lock:
            if ask.full:
                self._metadata_inflight = False
                if request.version < 0:  # failed before it was sent
                    self._full_refresh_unsent = False
            self._metadata_asking.difference_update(ask.topics)
        if ask.held is not None:
            ask.held.awaiting_metadata = False
            ask.held.wake()
        if err:
            self._main_wake.set()

    def apply_metadata(self, response: MetadataResponse, requested: list[str] | None) -> None:
        """Any thread. Apply a Metadata response to the cache, toppars and brokers.

        `requested`: the topics asked for (None: all topics), so that a topic the cluster
        does not list is known not to exist.
        """
        now = self.clock()
        expired: list[ProducerMessage] = []
        with self.lock:
            cache = self.metadata
            cache.cluster_id = response.cluster_id
            cache.controller_id = response.controller_id
            cache.updated_at = now
            for b in response.brokers:
                info = BrokerInfo(b.node_id, b.host, b.port, b.rack)
                cache.brokers[b.node_id] = info
                if not self.terminating:
                    self.add_broker(b.node_id, b.host, b.port)
            for t in response.topics:
                if t.name is None:
                    continue
                partitions = [PartitionInfo(p.partition_index, p.leader_id, p.leader_epoch,
                                            tuple(p.replica_nodes), tuple(p.isr_nodes),
                                            p.error_code)
                              for p in sorted(t.partitions, key=lambda p: p.partition_index)]
                cache.topics[t.name] = TopicInfo(t.name, t.error_code, partitions, t.topic_id,
                                                 t.is_internal, now)
                topic = self.topics.get(t.name)
                if topic is not None:
                    expired += self._apply_topic_metadata(topic, t.error_code, partitions, now)
            listed = {t.name for t in response.topics}
            for name in (requested if requested is not None else list(self.topics)):
                if name in self.topics and name not in listed:
                    self._topic_unknown(self.topics[name], 0)
        self.deliver(expired)

    def _apply_topic_metadata(self, topic: Topic, error: int, partitions: list[PartitionInfo],
                              now: float) -> list[ProducerMessage]:
        """Handle lock. Update a topic's partitions and leaders; place waiting messages.
        Returns the messages that failed (for delivery reports)."""
        if error in (ErrorCode.UNKNOWN_TOPIC_OR_PART, ErrorCode.UNKNOWN_TOPIC_ID):
            self._topic_unknown(topic, error)
            return []
        if error == ErrorCode.TOPIC_EXCEPTION:
            # An invalid name: known not to exist at once, without waiting for propagation
            # (librdkafka's rd_kafka_topic_set_notexists); what waits fails with the error.
            self._topic_unknown(topic, error)
            topic.notexists = True
            return self._fail_unassigned(topic, error)
        if error and not partitions:
            topic.error = error
            if error == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
                # librdkafka's topic error state: what waits fails now, produce() refuses.
                with topic.ua_lock:
                    topic.direct = False
                return self._fail_unassigned(topic, error)
            return []
        topic.error = 0
        topic.notexists = False
        if len(topic.partitions) != len(partitions):
            self.dbg("topic", "PARTCNT", f"Topic {topic.name} partition count changed from "
                     f"{len(topic.partitions)} to {len(partitions)}")
        if len(topic.partitions) < len(partitions):
            # A new list, published whole: produce() reads it without a lock.
            topic.partitions = topic.partitions + [
                Toppar(topic.name, i) for i in range(len(topic.partitions), len(partitions))]
        elif len(topic.partitions) > len(partitions) and self.kind == "producer":
            # The topic was re-created smaller (Kafka never shrinks one): librdkafka removes
            # the partitions no longer reported and fails what waits for them.
            removed = topic.partitions[len(partitions):]
            topic.partitions = topic.partitions[:len(partitions)]
            for tp in removed:
                self._remove_toppar(tp)
        for info in partitions:
            if info.id >= len(topic.partitions):
                continue
            tp = topic.partitions[info.id]
            tp.leader_epoch = info.leader_epoch
            self._set_leader(tp, info.leader if not info.error or info.leader >= 0 else -1)
        with topic.ua_lock:
            topic.exists = True
            return self._place_unassigned(topic)

    def _topic_unknown(self, topic: Topic, error: int) -> None:
        """Handle lock. The cluster does not (or no longer) know the topic: messages wait in
        the unassigned queue until it does or topic.metadata.propagation.max.ms passes."""
        with topic.ua_lock:
            topic.exists = False
            topic.direct = False
            if error:
                topic.error = error

    def _remove_toppar(self, tp: Toppar) -> None:
        """Handle lock. A producer's partition gone from the metadata: its leader's thread
        fails its queued messages; the main thread fails any produce() still put there
        (one that read the partition list just before it changed)."""
        self.dbg("topic", "REMOVE", f"{tp.topic} [{tp.partition}] no longer reported in metadata")
        old = tp.leader
        tp.leader = None
        tp.leader_id = -1
        self._removed.append(tp)
        if old is not None:
            old.post(TopparRemove(tp))

    def _set_leader(self, tp: Toppar, leader_id: int) -> None:
        """Handle lock. Delegate a partition to its (new) leader's broker thread."""
        new = self.brokers.get(leader_id) if leader_id >= 0 else None
        old = tp.leader
        tp.leader_id = leader_id if new is not None else -1
        if new is old:
            return
        self.dbg("topic", "BRKDELGT", f"{tp.topic} [{tp.partition}]: delegate to broker "
                 f"{new.name if new is not None else '(none)'} (was "
                 f"{old.name if old is not None else '(none)'})")
        tp.leader = new
        if old is not None:
            old.post(TopparLeave(tp))
        if new is not None:
            new.post(TopparJoin(tp))

    def _place_unassigned(self, topic: Topic) -> list[ProducerMessage]:
        """Handle lock and `topic.ua_lock`. Partition the messages produced before the
        partition count was known, in order, then let produce() place its own (`direct`).
        Returns the messages that failed (an explicit partition the topic does not have)."""
        if self.user_partitioner is not None:
            # User code runs only on the application's thread: poll() places these, and
            # sets `direct` once the queue is empty.
            if topic.ua:
                self.reply_q.push(PlaceUnassigned(topic))
            else:
                topic.direct = True
            return []
        msgs = list(topic.ua)
        topic.ua.clear()
        failed: list[ProducerMessage] = []
        count = len(topic.partitions)
        now_us = int(self.clock() * 1_000_000)
        woken: set[Broker] = set()
        for m in msgs:
            if m.partition == -1:
                m.partition = topic.partitioner.partition(m.key, count, now_us)
            elif not 0 <= m.partition < count:
                m.err = ErrorCode._UNKNOWN_PARTITION
                failed.append(m)
                continue
            tp = topic.partitions[m.partition]
            tp.enqueue(m)
            if tp.leader is not None:
                woken.add(tp.leader)
        # Only now: produce() reads `direct` without the lock and must not place a message
        # while older ones are still being placed here.
        topic.direct = True
        for leader in woken:
            leader.wake()
        return failed

    def _fail_unassigned(self, topic: Topic, err: int) -> list[ProducerMessage]:
        with topic.ua_lock:
            msgs = list(topic.ua)
            topic.ua.clear()
        for m in msgs:
            m.err = err
        return msgs

    # --- the main thread -----------------------------------------------------------------------

    def _main_loop(self) -> None:
        """Main thread: metadata refresh, unknown-topic and queued-message timeouts."""
        while not self.terminating:
            self._main_wake.wait(_MAIN_TICK)
            self._main_wake.clear()
            if self.terminating:
                break
            try:
                self.serve_main(self.clock())
            except Exception as exc:  # a bug must not silently kill the main thread
                self.log(3, "BUG", f"main thread: internal error: {exc!r}")
                self.report_error(ErrorCode._FAIL, f"main thread: internal error: {exc!r}")

    def serve_main(self, now: float) -> None:
        """Main thread. One tick: timeouts of messages no broker thread serves, refreshes."""
        failed: list[ProducerMessage] = []
        need_refresh = False
        with self.lock:
            topics = list(self.topics.values())
        for topic in topics:
            if topic.exists is True and not topic.direct and self.user_partitioner is None:
                with self.lock, topic.ua_lock:
                    failed += self._place_unassigned(topic)
            if topic.exists is not True:
                need_refresh = True
                failed += self._expire_unassigned(topic, now)
                continue
            for tp in topic.partitions:
                if tp.leader is None:
                    need_refresh = True
                    failed += _expire_msgq(tp, now)
        self.deliver(failed)
        self._evict_stale_metadata(now)
        self._fail_removed()
        self._probe_cluster(now)
        for hook in self.main_hooks:
            hook(now)
        self._emit_stats(now)
        if not need_refresh:
            self.refresh_backoff = self.fast_refresh
        if need_refresh or now - self._last_full_refresh >= self.refresh_interval:
            if self.request_metadata(reason="refresh"):
                if need_refresh:
                    self.refresh_backoff = min(self.refresh_backoff * 2, self.refresh_backoff_max)
                else:
                    self._last_full_refresh = now
        elif not self.brokers and now - self._metadata_requested_at > 1.0:
            self.request_metadata(reason="no brokers known")

    def _fail_removed(self) -> None:
        """Main thread. Messages queued on removed partitions with no leader to fail them."""
        with self.lock:
            removed = list(self._removed)
        failed = [m for tp in removed if tp.msgq and tp.leader is None for m in tp.take_all()]
        for m in failed:
            m.err = ErrorCode._UNKNOWN_PARTITION
        self.deliver(failed)

    def _probe_cluster(self, now: float) -> None:
        """Main thread. While no broker is up, once a second, tell every broker backing off
        from a failed connection to try again at once (those with nothing to send stay idle).

        librdkafka does the same in effect with metadata.recovery.strategy=rebootstrap (the
        default): when every broker is down it re-adds the bootstrap brokers, which start
        without a backoff, and its one-second timers ask for a cluster connection. So a
        cluster back after an outage is found within about a second, not after
        reconnect.backoff.max.ms (10 s)."""
        if not self.rebootstrap or now < self._next_probe:
            return
        brokers = self.all_brokers()
        if any(b.state == UP for b in brokers):
            return
        self._next_probe = now + 1.0
        for b in brokers:
            if b.state == DOWN and b.next_connect_at > now:
                b.post(ConnectNow())

    def _emit_stats(self, now: float) -> None:
        """Main thread. One statistics document per statistics.interval.ms, for poll()."""
        if self._stats is None or now < self._next_stats:
            return
        # Fixed cadence, as librdkafka's timer: a late tick does not shift the next ones.
        self._next_stats = max(self._next_stats + self.stats_interval, now)
        self.reply_q.push(StatsReady(self._stats.json()))

    def _evict_stale_metadata(self, now: float) -> None:
        """Main thread. Forget cached topic metadata older than metadata.max.age.ms (topics in
        use are refreshed well before that; this drops what nobody asks about any more)."""
        limit = now - self.metadata_max_age
        with self.lock:
            stale = [name for name, info in self.metadata.topics.items()
                     if info.updated_at < limit]
            for name in stale:
                del self.metadata.topics[name]

    def _expire_unassigned(self, topic: Topic, now: float) -> list[ProducerMessage]:
        """Unknown topic: fail with UNKNOWN_TOPIC_OR_PART after topic.metadata.propagation.max.ms,
        and any message whose message.timeout.ms passed with _MSG_TIMED_OUT."""
        with topic.ua_lock:
            if not topic.ua:
                return []
            if topic.exists is False and now - topic.created_at >= self.propagation_max:
                topic.notexists = True
                msgs = list(topic.ua)
                topic.ua.clear()
                # librdkafka 2.x reports the broker's UNKNOWN_TOPIC_OR_PART, not _UNKNOWN_TOPIC.
                for m in msgs:
                    m.err = ErrorCode.UNKNOWN_TOPIC_OR_PART
                return msgs
            if topic.ua[0].deadline > now:
                return []
            expired = [m for m in topic.ua if m.deadline <= now]
            keep = [m for m in topic.ua if m.deadline > now]
            topic.ua.clear()
            topic.ua.extend(keep)
        for m in expired:
            m.err = ErrorCode._MSG_TIMED_OUT
        return expired


def _expire_msgq(tp: Toppar, now: float) -> list[ProducerMessage]:
    """Main thread. Timed-out messages at the head of a leaderless partition's queue."""
    expired = tp.take_expired(now) if tp.msgq and tp.msgq[0].deadline <= now else []
    for m in expired:
        m.err = ErrorCode._MSG_TIMED_OUT
    return expired


def refuse_unimplemented(settings: Settings, kind: str, missing: list[str]) -> None:
    """Features this version of rdpy does not have fail loudly instead of being ignored:
    `missing` lists the client's own, the shared ones (TLS/SASL) are added here."""
    missing = list(missing)
    protocol = (settings.get_enum("security.protocol") or "plaintext").lower()
    # A mock cluster (test.mock.num.brokers) replaces bootstrap.servers and ignores
    # security.protocol, as in librdkafka: nothing of TLS or SASL is used then.
    if protocol != "plaintext" and settings.get_int("test.mock.num.brokers") <= 0:
        missing.append(f"`security.protocol={protocol}` (TLS and SASL)")
    if missing:
        raise KafkaException(KafkaError(
            ErrorCode._NOT_IMPLEMENTED,
            f"Failed to create {kind}: rdpy does not implement " + ", ".join(missing) + " yet"))
