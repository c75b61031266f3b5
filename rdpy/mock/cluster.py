"""MockCluster: the public face of rdpy's mock cluster (see rdpy/mock/__init__.py)."""

from __future__ import annotations

from types import TracebackType

from rdpy.mock.classic_group import GroupSnapshot
from rdpy.mock.faults import Fault, TrackedRequest
from rdpy.mock.server import MockServer
from rdpy.mock.state import COORDINATOR_GROUP, COORDINATOR_TRANSACTION, ClusterState

__all__ = ["MockCluster"]


class MockCluster:
    """`num_brokers` Kafka brokers (ids 1..n) on 127.0.0.1 free ports, served by one thread.

        with MockCluster(3) as cluster:
            cluster.create_topic("t", 2)
            Producer({"bootstrap.servers": cluster.bootstrap_servers})

    Topics requested through Metadata are auto-created with `default_partitions` partitions
    (4, like librdkafka's mock) unless `auto_create_topics` is False. Group coordinators use
    Kafka's group.initial.rebalance.delay.ms, group.min.session.timeout.ms and
    group.max.session.timeout.ms as given (defaults 0, 1 and 1800000 ms: fast tests). Every
    method is safe to call from any thread; each returns once the brokers see the change.
    """

    def __init__(
        self,
        num_brokers: int = 3,
        *,
        default_partitions: int = 4,
        default_replication_factor: int = 3,
        auto_create_topics: bool = True,
        host: str = "127.0.0.1",
        group_initial_rebalance_delay_ms: int = 0,
        group_min_session_timeout_ms: int = 1,
        group_max_session_timeout_ms: int = 1_800_000,
    ) -> None:
        if num_brokers < 1:
            raise ValueError(f"num_brokers must be at least 1, not {num_brokers}")
        self._state = ClusterState(
            default_partitions=default_partitions,
            default_replication_factor=default_replication_factor,
            auto_create_topics=auto_create_topics,
            group_initial_rebalance_delay_ms=group_initial_rebalance_delay_ms,
            group_min_session_timeout_ms=group_min_session_timeout_ms,
            group_max_session_timeout_ms=group_max_session_timeout_ms)
        self._server = MockServer(self._state, num_brokers, host)
        self._server.start()
        with self._state.lock:
            brokers = sorted(self._state.brokers.values(), key=lambda b: b.node_id)
            self.bootstrap_servers = ",".join(f"{b.host}:{b.port}" for b in brokers)
            self.broker_ids = [b.node_id for b in brokers]

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving and close every socket (idempotent)."""
        self._server.close()

    def __enter__(self) -> MockCluster:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def internal_errors(self) -> list[str]:
        """Handler crashes (bugs in the mock) so far; the client saw a closed connection."""
        return list(self._server.internal_errors)

    # --- topics and leaders -------------------------------------------------------------------

    def create_topic(self, name: str, partitions: int = -1, replication_factor: int = -1) -> None:
        """Create a topic (-1: the cluster's defaults). Raises BrokerError as CreateTopics
        would answer (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...)."""
        with self._state.lock:
            self._state.create_topic(name, partitions, replication_factor)
        self._server.wake()

    def partition_set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        """Move a partition's leadership (its leader epoch increases): the old leader answers
        NOT_LEADER_OR_FOLLOWER from now on."""
        with self._state.lock:
            self._state.set_leader(topic, partition, broker_id)
        self._server.wake()

    def partition_leader(self, topic: str, partition: int) -> int:
        with self._state.lock:
            part = self._state.partition(topic, partition)
            if part is None:
                raise KeyError(f"no partition {topic} [{partition}]")
            return part.leader

    def watermarks(self, topic: str, partition: int) -> tuple[int, int, int]:
        """(log start offset, last stable offset, high watermark) of a partition."""
        with self._state.lock:
            part = self._state.partition(topic, partition)
            if part is None:
                raise KeyError(f"no partition {topic} [{partition}]")
            log = part.log
            return log.log_start_offset, log.last_stable_offset, log.high_watermark

    def append_stored(self, topic: str, partition: int, data: bytes) -> int:
        """Put `data` at the end of a partition's log as a broker would have it on disk, not
        as a producer sends it: message sets of the old formats (magic 0/1, e.g. from
        rdpy.records.build_message_set) or a batch with a damaged CRC. Its offsets must start
        at the high watermark. Returns that offset. Fetch serves the bytes unchanged."""
        with self._state.lock:
            part = self._state.partition(topic, partition)
            if part is None:
                raise KeyError(f"no partition {topic} [{partition}]")
            offset = part.log.append_stored(data)
            self._state.changed()
        self._server.wake()
        return offset

    # --- coordinators -------------------------------------------------------------------------

    def coordinator_set(self, key_type: str, key: str, broker_id: int) -> None:
        """librdkafka's rd_kafka_mock_coordinator_set: make `broker_id` the coordinator of group
        (`key_type` "group") or transactional id ("transaction") `key`. Requests the old
        coordinator is sent for it from now on are answered NOT_COORDINATOR."""
        types = {"group": COORDINATOR_GROUP, "transaction": COORDINATOR_TRANSACTION}
        if key_type not in types:
            raise ValueError(f"key_type must be 'group' or 'transaction', not {key_type!r}")
        with self._state.lock:
            self._state.set_coordinator(types[key_type], key, broker_id)
        self._server.wake()

    def coordinator(self, key_type: str, key: str) -> int:
        """The broker id coordinating group (`key_type` "group") or transactional id
        ("transaction") `key` now."""
        types = {"group": COORDINATOR_GROUP, "transaction": COORDINATOR_TRANSACTION}
        if key_type not in types:
            raise ValueError(f"key_type must be 'group' or 'transaction', not {key_type!r}")
        with self._state.lock:
            return self._state.coordinator(types[key_type], key)

    # --- groups -------------------------------------------------------------------------------

    def group_initial_rebalance_delay_ms(self, delay_ms: int) -> None:
        """librdkafka's rd_kafka_mock_group_initial_rebalance_delay_ms: how long a new (or
        emptied) group's first join phase waits for more members, from its next rebalance."""
        if delay_ms < 0:
            raise ValueError(f"delay must not be negative: {delay_ms}")
        with self._state.lock:
            self._state.group_initial_rebalance_delay_ms = delay_ms
            for group in self._state.groups.values():
                group.membership.initial_rebalance_delay_ms = delay_ms

    def group_snapshot(self, group_id: str) -> GroupSnapshot | None:
        """The classic group's membership now (state, generation, protocol, leader, members
        and their assignments, rebalances so far), or None for a group the coordinator does
        not know."""
        with self._state.lock:
            group = self._state.groups.get(group_id)
            return group.membership.snapshot() if group is not None else None

    # --- faults -------------------------------------------------------------------------------

    def broker_set_down(self, broker_id: int) -> None:
        """The broker drops its connections and every new one until broker_set_up(). It stays
        in Metadata and keeps its partitions, as a broker that crashed would until the
        controller noticed: clients retry until it is back (or leadership moves)."""
        with self._state.lock:
            self._state.set_broker_up(broker_id, False)
        self._server.call(lambda: self._server.close_broker_connections(broker_id))

    def broker_set_up(self, broker_id: int) -> None:
        with self._state.lock:
            self._state.set_broker_up(broker_id, True)
        self._server.wake()

    def push_request_errors(self, api_key: int, *error_codes: int) -> None:
        """The next len(error_codes) requests of `api_key`, to any broker, fail with these
        codes in order (every partition of the request gets the code). -195 (librdkafka's
        _TRANSPORT) closes the connection instead of answering."""
        with self._state.lock:
            self._state.faults.push(api_key, tuple(int(c) for c in error_codes))

    def broker_push_request_error_rtts(self, broker_id: int, api_key: int,
                                       *errors_and_rtts: tuple[int, int]) -> None:
        """librdkafka's rd_kafka_mock_broker_push_request_error_rtts: the next requests of
        `api_key` to `broker_id` get these (error code, rtt ms) pairs in order, before anything
        push_request_errors queued. Code 0 serves the request as usual; either way its
        response leaves rtt ms late (after the broker's own rtt; later responses on the
        connection wait behind it). -195 closes the connection instead of answering."""
        faults = []
        for code, rtt_ms in errors_and_rtts:
            if rtt_ms < 0:
                raise ValueError(f"rtt must not be negative: {rtt_ms}")
            faults.append(Fault(int(code), rtt_ms / 1000.0))
        with self._state.lock:
            self._state.broker(broker_id)  # KeyError names an unknown broker
            self._state.faults.push_broker(broker_id, api_key, tuple(faults))

    def broker_error_stack_cnt(self, broker_id: int, api_key: int) -> int:
        """How many entries remain on `broker_id`'s error stack for `api_key`."""
        with self._state.lock:
            return self._state.faults.broker_stack_count(broker_id, api_key)

    def clear_request_errors(self, api_key: int) -> None:
        """Drop what push_request_errors queued for `api_key` (not the brokers' own stacks)."""
        with self._state.lock:
            self._state.faults.clear(api_key)

    def request_count(self, api_key: int, broker_id: int | None = None) -> int:
        """How many requests of `api_key` the brokers (or broker `broker_id`) have been sent
        so far, tracked or not."""
        with self._state.lock:
            faults = self._state.faults
            if broker_id is None:
                return faults.counts.get(api_key, 0)
            return faults.broker_counts.get((broker_id, api_key), 0)

    # --- request tracking (librdkafka's rd_kafka_mock_start_request_tracking & co.) -----------

    def start_request_tracking(self) -> None:
        """Record every request from now on (get_requests)."""
        with self._state.lock:
            self._state.faults.start_tracking()

    def stop_request_tracking(self) -> None:
        with self._state.lock:
            self._state.faults.stop_tracking()

    def clear_requests(self) -> None:
        """Forget the requests recorded so far."""
        with self._state.lock:
            self._state.faults.clear_tracked()

    def get_requests(self) -> list[TrackedRequest]:
        """Requests recorded since tracking started (or clear_requests), in arrival order:
        broker_id, api_key and timestamp_us (a monotonic clock) of each."""
        with self._state.lock:
            return self._state.faults.tracked()

    def broker_set_rtt(self, broker_id: int, rtt_ms: int) -> None:
        """librdkafka's rd_kafka_mock_broker_set_rtt: delay every response of broker
        `broker_id` (-1: of every broker) by `rtt_ms` milliseconds."""
        with self._state.lock:
            ids = sorted(self._state.brokers) if broker_id == -1 else [broker_id]
        for node_id in ids:
            self.set_rtt(node_id, rtt_ms)

    def set_rtt(self, broker_id: int, ms: float) -> None:
        """Delay every response of the broker by `ms` milliseconds (order is kept)."""
        if ms < 0:
            raise ValueError(f"rtt must not be negative: {ms}")
        with self._state.lock:
            self._state.broker(broker_id).rtt_s = ms / 1000.0
