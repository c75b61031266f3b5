"""The client's view of the cluster, and how it is kept current.

`MetadataCache` is plain data: brokers, topics, partitions and their leaders as last reported,
replaced wholesale per topic. `MetadataRefresher` sends the handle's own Metadata requests (a
new topic at once, each new connection's "connected" refresh, the main thread's periodic and
fast refreshes) and applies every Metadata answer (its own and list_topics()'s) to the cache,
the topics and the partitions: their count, their leaders (each partition delegated to its
leader's broker thread) and the producer's unassigned queue. An answer is applied on the thread
that got it (a broker thread, or the application's in list_topics()); the cache, the topic
table and leadership are read and written under the handle lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdpy.client.broker.setup import BrokerState
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import TopparJoin, TopparLeave, TopparRemove
from rdpy.client.partitioner import TopicPartitioner
from rdpy.client.produce import unassigned
from rdpy.client.request import Request
from rdpy.client.toppar import Topic, Toppar
from rdpy.errors import ErrAction, ErrorCode, RequestKind, actions_str, err2str, err_action
from rdpy.protocol.messages import metadata as metadata_msgs
from rdpy.stats.counters import TopicCounters

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.handle import Handle
    from rdpy.protocol.messages.metadata import MetadataRequest, MetadataResponse

__all__ = ["BrokerInfo", "MetadataAsk", "MetadataCache", "MetadataRefresher", "PartitionInfo",
           "TopicInfo"]


@dataclass(frozen=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PartitionInfo:
    id: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isrs: tuple[int, ...]
    error: int = 0


@dataclass
class TopicInfo:
    name: str
    error: int
    partitions: list[PartitionInfo]
    topic_id: uuid.UUID | None = None
    is_internal: bool = False
    updated_at: float = 0.0


@dataclass
class MetadataCache:
    """Brokers and topics as last reported; `cluster_id`/`controller_id` as the broker says.
    Handle lock."""

    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    topics: dict[str, TopicInfo] = field(default_factory=dict)
    cluster_id: str | None = None
    controller_id: int = -1
    updated_at: float = 0.0

    def evict_older_than(self, limit: float) -> None:
        """Main thread, handle lock. Forget topics last reported before `limit` (monotonic
        seconds)."""
        for name in [name for name, info in self.topics.items() if info.updated_at < limit]:
            del self.topics[name]


class MetadataAsk:
    """What one of the handle's Metadata requests asks for: `topics` (a full refresh fills
    them in when it is sent; empty means brokers only)."""

    __slots__ = ("topics", "full", "held", "reason")

    def __init__(self, topics: list[str], full: bool, reason: str) -> None:
        self.topics = topics
        self.full = full
        #: Why it was asked (the debug and warning lines say it, as librdkafka's).
        self.reason = reason
        #: The broker that sends no Produce until this is answered (Broker.awaiting_metadata).
        self.held: Broker | None = None


class MetadataRefresher:
    """The handle's Metadata requests and what their answers change (see the module)."""

    def __init__(self, handle: Handle) -> None:
        s = handle.settings
        self.handle = handle
        self.cache = handle.metadata
        #: A refresh of every known topic is in flight (at most one at a time).
        self._full_inflight = False
        self.requested_at = -1e9
        #: Topics some Metadata request in flight asks for: a new topic is asked for at once
        #: unless it is among them (as librdkafka's metadata cache hints do).
        self._asking: set[str] = set()
        #: A full refresh is queued and has not listed its topics yet (see request()).
        self._full_refresh_unsent = False
        self.last_full_refresh = handle.clock()
        self.fast_interval = s.get_int("topic.metadata.refresh.fast.interval.ms") / 1000.0
        #: The interval between refreshes while a topic is unknown or leaderless: the fast
        #: interval, doubled after each such refresh up to retry.backoff.max.ms, as librdkafka
        #: documents topic.metadata.refresh.fast.interval.ms (main thread).
        self.backoff = self.fast_interval
        self.backoff_max = max(self.fast_interval, s.get_int("retry.backoff.max.ms") / 1000.0)
        self.interval = s.get_int("topic.metadata.refresh.interval.ms") / 1000.0
        self.propagation_max = s.get_int("topic.metadata.propagation.max.ms") / 1000.0
        self.max_age = s.get_int("metadata.max.age.ms") / 1000.0
        self.allow_auto_create = (s.get_bool("allow.auto.create.topics")
                                  or (handle.kind == "producer"
                                      and not s.is_modified("allow.auto.create.topics")))
        #: Producer partitions removed from their topic (re-created smaller), still swept by
        #: the main thread for messages produce() put there as they went. Handle lock.
        self.removed: list[Toppar] = []

    # --- topics --------------------------------------------------------------------------------

    def get_topic(self, name: str) -> Topic:
        """App thread, takes the handle lock. The topic object, created (and its metadata
        requested) on first use."""
        h = self.handle
        topic = h.topics.get(name)
        if topic is not None:
            return topic
        with h.lock:
            topic = h.topics.get(name)
            if topic is None:
                topic = h.topics[name] = self._new_topic(name)
                info = self.cache.topics.get(name)
                if info is not None:
                    # Known from an earlier list_topics(): usable at once.
                    h.deliver(self.apply_topic(topic, info.error, info.partitions, h.clock()))
                    return topic
        self.request(reason="new topic", topics=[name])
        return topic

    def _new_topic(self, name: str) -> Topic:
        """App thread, handle lock. A topic object with its partitioner and counters."""
        s = self.handle.settings
        partitioner = TopicPartitioner(s.topic.get_str("partitioner") or "consistent_random",
                                       s.get_int("sticky.partitioning.linger.ms"))
        return Topic(name, partitioner, self.handle.clock(), TopicCounters(s))

    def set_topic_error(self, name: str, err: int) -> None:
        """Any thread, takes the handle lock. A permanent topic error (e.g. authorization)
        seen in a response."""
        with self.handle.lock:
            topic = self.handle.topics.get(name)
            if topic is not None:
                topic.error = err

    # --- requests ------------------------------------------------------------------------------

    def request(self, reason: str, force: bool = False, topics: list[str] | None = None,
                via: Broker | None = None, hold: bool = False) -> bool:
        """Any thread, takes the handle lock. Ask a usable broker (or `via`) for metadata.

        With `topics`, for those of them no request in flight asks for already, at once (a new
        topic, a new connection). Without, for every known topic: one such refresh at a time,
        at most once per `backoff` unless `force`d; a refresh turned down here is retried by
        the main thread's next tick. A refresh of every topic lists them when it is sent, not
        when it is queued: a topic added while it waits for a connection is in it, and is not
        asked for separately. `hold`: `via` sends no Produce until the answer, and is asked
        for all of `topics` whatever else is in flight.
        """
        now = self.handle.clock()
        with self.handle.lock:
            wanted = self._wanted(topics, force, hold, now)
            if wanted is None:
                return False
            broker = via if via is not None else self.handle.any_broker()
            if broker is None:
                return False
            if topics is None:
                self._full_inflight = True
                self._full_refresh_unsent = True
                self.requested_at = now
            self._asking.update(wanted)
        ask = MetadataAsk(wanted, topics is None, reason)
        if hold and via is not None:
            via.awaiting_metadata = True
            ask.held = via
        self._send(broker, ask, reason)
        return True

    def _wanted(self, topics: list[str] | None, force: bool, hold: bool,
                now: float) -> list[str] | None:
        """Any thread, handle lock. The topics to ask for (empty for a full refresh, filled in
        when it is sent), or None when no request is due."""
        if self.handle.terminating:
            return None
        if topics is None:
            if self._full_inflight and not force:
                return None
            if not force and now - self.requested_at < self.backoff:
                return None
            return []
        if hold:
            # Its own answer releases the broker: no request elsewhere can stand in.
            wanted = sorted(set(topics))
        elif self._full_refresh_unsent:
            return None  # the refresh waiting to be sent will ask for them
        else:
            wanted = sorted(t for t in set(topics) if t not in self._asking)
        return wanted or None

    def _send(self, broker: Broker, ask: MetadataAsk, reason: str) -> None:
        """Any thread. Queue the request on `broker`."""
        allow = self.allow_auto_create

        def build(version: int) -> MetadataRequest:
            if ask.full:
                ask.topics = self._topics_for_full_refresh()
            return metadata_msgs.MetadataRequest(
                topics=[metadata_msgs.MetadataRequestTopic(name=t) for t in ask.topics],
                allow_auto_topic_creation=allow)

        what = (f"{len(ask.topics)} topic(s)" if ask.topics
                else "known topics" if ask.full else "brokers only")
        self.handle.dbg("metadata", "METADATA",
                        f"{broker.name}: Request metadata for {what}: {reason}")
        broker.enqueue_request(Request(
            metadata_msgs.MetadataResponse, build,
            lambda b, err, response, request: self._on_metadata(ask, b, err, response, request),
            self.handle.request_timeout))

    def _topics_for_full_refresh(self) -> list[str]:
        """Broker thread, as the full refresh is sent, takes the handle lock: every known
        topic, now asked for."""
        with self.handle.lock:
            self._full_refresh_unsent = False
            topics = sorted(self.handle.topics)
            self._asking.update(topics)
            return topics

    def _on_metadata(self, ask: MetadataAsk, broker: Broker, err: int,
                     response: MetadataResponse | None,
                     request: Request[MetadataResponse]) -> None:
        """Broker thread. The answer to the handle's own Metadata request."""
        h = self.handle
        if response is not None:
            h.dbg("metadata", "METADATA", f"{broker.name}: Received metadata: "
                  f"{len(response.brokers)} broker(s), {len(response.topics)} topic(s)")
            self.apply(response, ask.topics)
        with h.lock:
            if ask.full:
                self._full_inflight = False
                if request.version < 0:  # failed before it was sent
                    self._full_refresh_unsent = False
            self._asking.difference_update(ask.topics)
        if ask.held is not None:
            ask.held.awaiting_metadata = False
            ask.held.wake()
        # As rd_kafka_handle_Metadata(): nothing more while terminating (the requests
        # still queued fail with _DESTROY then; no warning for those).
        if err and err != ErrorCode._DESTROY and not h.terminating:
            self._failed(ask, broker, err, request)

    def _failed(self, ask: MetadataAsk, broker: Broker, err: int,
                request: Request[MetadataResponse]) -> None:
        """Broker thread. The request failed locally (a Metadata answer has no error of its
        own; its topics' errors are applied with them). As rd_kafka_handle_Metadata():
        a permanent error is logged as a warning; either way the main thread's next tick asks
        again, through another broker if one is usable, after the refresh backoff."""
        actions = err_action(err, RequestKind.METADATA)
        if actions & ErrAction.PERMANENT:
            sent_ms = int(request.sent_at * 1000) if request.version >= 0 else 0
            self.handle.log(4, "METADATA", f"{broker.name}: Metadata request failed: "
                            f"{ask.reason}: {err2str(err)} ({sent_ms}ms): "
                            f"{actions_str(actions)}")
        self.handle.wake_main()

    def broker_up(self, broker: Broker) -> None:
        """Broker thread, takes the handle lock. As librdkafka on every new connection:
        refresh the known topics through it, so a broker that restarted without a topic (or
        lost leadership) is noticed before anything more is produced to the old partitions."""
        with self.handle.lock:
            # Topics not known yet, or last learned before this broker's connection was
            # lost: a broker that restarted may have lost a topic or its leadership.
            cached = self.cache.topics
            known = [name for name in self.handle.topics if name not in cached
                     or cached[name].updated_at <= broker.lost_at]
        if known:
            # A producer's broker that was connected before holds its Produce requests until
            # the answer (a first connection has nothing stale to send).
            self.request(reason="connected", topics=known, via=broker,
                         hold=broker.role.holds_for_metadata and broker.lost_at > float("-inf"))

    def broker_down(self, previous: BrokerState) -> None:
        """Broker thread. A connection that was up is lost: refresh the known topics through
        another broker at once, so a leader that moved is found (librdkafka's "broker down"
        in rd_kafka_broker_fail); a failed connection attempt asks nothing."""
        if previous == BrokerState.UP and not self.handle.terminating:
            self.request(reason="broker down", force=True)

    def main_tick(self, now: float, need_refresh: bool) -> None:
        """Main thread. The periodic refresh (topic.metadata.refresh.interval.ms), or the fast
        one while `need_refresh` (a topic unknown or a partition leaderless), backing off."""
        if not need_refresh:
            self.backoff = self.fast_interval
        if need_refresh or now - self.last_full_refresh >= self.interval:
            if self.request(reason="refresh"):
                if need_refresh:
                    self.backoff = min(self.backoff * 2, self.backoff_max)
                else:
                    self.last_full_refresh = now
        elif not self.handle.brokers and now - self.requested_at > 1.0:
            self.request(reason="no brokers known")

    # --- answers -------------------------------------------------------------------------------

    def apply(self, response: MetadataResponse, requested: list[str] | None) -> None:
        """Any thread, takes the handle lock. Apply a Metadata response to the cache, the
        topics and the brokers (starting a thread for each new one).

        `requested`: the topics asked for (None: all topics), so that a topic the cluster
        does not list is known not to exist.
        """
        h = self.handle
        now = h.clock()
        failed: list[ProducerMessage] = []
        with h.lock:
            self._apply_cluster(response, now)
            for t in response.topics:
                if t.name is None:
                    continue
                partitions = [PartitionInfo(p.partition_index, p.leader_id, p.leader_epoch,
                                            tuple(p.replica_nodes), tuple(p.isr_nodes),
                                            p.error_code)
                              for p in sorted(t.partitions, key=lambda p: p.partition_index)]
                self.cache.topics[t.name] = TopicInfo(t.name, t.error_code, partitions,
                                                      t.topic_id, t.is_internal, now)
                topic = h.topics.get(t.name)
                if topic is not None:
                    failed += self.apply_topic(topic, t.error_code, partitions, now)
            listed = {t.name for t in response.topics}
            for name in (requested if requested is not None else list(h.topics)):
                if name in h.topics and name not in listed:
                    self._topic_unknown(h.topics[name], 0)
        h.deliver(failed)

    def _apply_cluster(self, response: MetadataResponse, now: float) -> None:
        """Any thread applying an answer, handle lock. Its cluster id, controller, brokers."""
        cache = self.cache
        # The cluster id sticks: an answer without one (Metadata v0/v1) does not forget it,
        # and another one means the client talks to two clusters (librdkafka warns too).
        if response.cluster_id and response.cluster_id != cache.cluster_id:
            if cache.cluster_id is not None:
                self.handle.log(4, "CLUSTERID", f"Broker reports different ClusterId "
                                f'"{response.cluster_id}" than previously known '
                                f'"{cache.cluster_id}": a client must not be simultaneously '
                                "connected to multiple clusters")
            cache.cluster_id = response.cluster_id
        cache.controller_id = response.controller_id
        cache.updated_at = now
        for b in response.brokers:
            cache.brokers[b.node_id] = BrokerInfo(b.node_id, b.host, b.port, b.rack)
            if not self.handle.terminating:
                self.handle.add_broker(b.node_id, b.host, b.port)
        if response.brokers:
            self.handle.decommission_unavailable({b.node_id for b in response.brokers})

    def apply_topic(self, topic: Topic, error: int, partitions: list[PartitionInfo],
                    now: float) -> list[ProducerMessage]:
        """Any thread applying metadata, handle lock (takes `topic.ua_lock`). Update a topic's
        partitions and leaders; place waiting messages. Returns the messages that failed (for
        delivery reports)."""
        if error in (ErrorCode.UNKNOWN_TOPIC_OR_PART, ErrorCode.UNKNOWN_TOPIC_ID):
            self._topic_unknown(topic, error)
            return []
        if error == ErrorCode.TOPIC_EXCEPTION:
            # An invalid name: known not to exist at once, without waiting for propagation
            # (librdkafka's rd_kafka_topic_set_notexists); what waits fails with the error.
            self._topic_unknown(topic, error)
            topic.notexists = True
            return unassigned.fail(topic, error)
        if error and not partitions:
            topic.error = error
            if error == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
                # librdkafka's topic error state: what waits fails now, produce() refuses.
                with topic.ua_lock:
                    topic.direct = False
                return unassigned.fail(topic, error)
            return []
        topic.error = 0
        topic.notexists = False
        self._resize(topic, len(partitions))
        for info in partitions:
            if info.id >= len(topic.partitions):
                continue
            tp = topic.partitions[info.id]
            tp.leader_epoch = info.leader_epoch
            self._set_leader(tp, info.leader if not info.error or info.leader >= 0 else -1)
        with topic.ua_lock:
            topic.exists = True
            return unassigned.place(self.handle, topic)

    def _resize(self, topic: Topic, count: int) -> None:
        """Any thread applying metadata, handle lock. Give the topic `count` partitions."""
        old = len(topic.partitions)
        if old != count:
            self.handle.dbg("topic", "PARTCNT", f"Topic {topic.name} partition count changed "
                            f"from {old} to {count}")
        if old < count:
            # A new list, published whole: produce() reads it without a lock.
            topic.partitions = topic.partitions + [Toppar(topic.name, i)
                                                   for i in range(old, count)]
        elif old > count and self.handle.kind == "producer":
            # The topic was re-created smaller (Kafka never shrinks one): librdkafka removes
            # the partitions no longer reported and fails what waits for them.
            removed = topic.partitions[count:]
            topic.partitions = topic.partitions[:count]
            for tp in removed:
                self._remove_toppar(tp)

    def _topic_unknown(self, topic: Topic, error: int) -> None:
        """Any thread applying metadata, handle lock (takes `topic.ua_lock`). The cluster
        does not (or no longer) know the topic: messages wait in the unassigned queue until it does or
        topic.metadata.propagation.max.ms passes."""
        with topic.ua_lock:
            topic.exists = False
            topic.direct = False
            if error:
                topic.error = error

    # --- leadership ----------------------------------------------------------------------------

    def _remove_toppar(self, tp: Toppar) -> None:
        """Any thread applying metadata, handle lock. A producer's partition gone from the
        metadata: its leader's thread
        fails its queued messages; the main thread fails any produce() still put there
        (one that read the partition list just before it changed)."""
        self.handle.dbg("topic", "REMOVE",
                        f"{tp.topic} [{tp.partition}] no longer reported in metadata")
        old = tp.leader
        tp.leader = None
        tp.leader_id = -1
        self.removed.append(tp)
        if old is not None:
            old.post(TopparRemove(tp))

    def undelegate(self, broker: Broker) -> None:
        """Handle lock. `broker` is being decommissioned: its partitions have no leader until
        a Metadata answer names one (what it transmitted goes back to their queues)."""
        for topic in self.handle.topics.values():
            for tp in topic.partitions:
                if tp.leader is broker:
                    self._set_leader(tp, -1)

    def _set_leader(self, tp: Toppar, leader_id: int) -> None:
        """Any thread applying metadata, handle lock. Delegate a partition to its (new)
        leader's broker thread."""
        new = self.handle.brokers.get(leader_id) if leader_id >= 0 else None
        old = tp.leader
        tp.leader_id = leader_id if new is not None else -1
        if new is old:
            return
        self.handle.dbg("topic", "BRKDELGT", f"{tp.topic} [{tp.partition}]: delegate to broker "
                        f"{new.name if new is not None else '(none)'} (was "
                        f"{old.name if old is not None else '(none)'})")
        tp.leader = new
        if old is not None:
            old.post(TopparLeave(tp))
        if new is not None:
            new.post(TopparJoin(tp))
