"""MockCluster: the public face of rdpy's mock cluster (see rdpy/mock/__init__.py)."""

from __future__ import annotations

from types import TracebackType

from rdpy.mock.server import MockServer
from rdpy.mock.state import ClusterState

__all__ = ["MockCluster"]


class MockCluster:
    """`num_brokers` Kafka brokers (ids 1..n) on 127.0.0.1 free ports, served by one thread.

        with MockCluster(3) as cluster:
            cluster.create_topic("t", 2)
            Producer({"bootstrap.servers": cluster.bootstrap_servers})

    Topics requested through Metadata are auto-created with `default_partitions` partitions
    (4, like librdkafka's mock) unless `auto_create_topics` is False. Every method is safe to
    call from any thread; each returns once the brokers see the change.
    """

    def __init__(
        self,
        num_brokers: int = 3,
        *,
        default_partitions: int = 4,
        default_replication_factor: int = 3,
        auto_create_topics: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        if num_brokers < 1:
            raise ValueError(f"num_brokers must be at least 1, not {num_brokers}")
        self._state = ClusterState(default_partitions=default_partitions,
                                   default_replication_factor=default_replication_factor,
                                   auto_create_topics=auto_create_topics)
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
        codes in order (every partition of the request gets the code)."""
        with self._state.lock:
            self._state.push_request_errors(api_key, tuple(int(c) for c in error_codes))

    def request_count(self, api_key: int) -> int:
        """How many requests of `api_key` the brokers have been sent so far."""
        with self._state.lock:
            return self._state.request_counts.get(api_key, 0)

    def set_rtt(self, broker_id: int, ms: float) -> None:
        """Delay every response of the broker by `ms` milliseconds (order is kept)."""
        if ms < 0:
            raise ValueError(f"rtt must not be negative: {ms}")
        with self._state.lock:
            self._state.broker(broker_id).rtt_s = ms / 1000.0
