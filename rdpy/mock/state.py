"""The mock cluster's state: brokers, topics and partitions, coordinators, producer ids,
transactions, groups (offsets and classic membership) and injected faults. No sockets: unit-testable on its own. A group's
own state is in groups.py, a transaction's in transactions.py, the injected request faults and
the request record in faults.py; what crosses them (fencing, markers on partitions, offsets
applied when a transaction ends) is here.

One lock (`ClusterState.lock`) guards everything here: the server thread holds it while it
serves a request, the test thread while it calls MockCluster's control API. Every method below
expects the caller to hold it, except the constructor.

`version` counts changes a held Fetch or a pending JoinGroup/SyncGroup answer may be waiting for
(appends, markers, leadership, topics, brokers going down, group membership): the server
re-evaluates held requests when it moves. Group timers (session and rebalance timeouts) fire in
`tick_groups`, which the server calls with its monotonic clock.
"""

from __future__ import annotations

import re
import threading
import uuid
import zlib
from dataclasses import dataclass, field

from rdpy.errors import ErrorCode
from rdpy.mock.faults import RequestFaults
from rdpy.mock.classic_group import ClassicGroup
from rdpy.mock.groups import Group
from rdpy.mock.log import BrokerError, PartitionLog
from rdpy.mock.transactions import Transaction, TxnState

__all__ = [
    "COORDINATOR_GROUP",
    "COORDINATOR_TRANSACTION",
    "BrokerState",
    "ClusterState",
    "Partition",
    "Topic",
]

COORDINATOR_GROUP = 0
COORDINATOR_TRANSACTION = 1

_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
#: Producer ids start here (any positive number would do; distinct from partition numbers
#: and offsets in logs makes them easy to spot).
_FIRST_PRODUCER_ID = 1000
_MAX_EPOCH = 0x7FFF


@dataclass
class BrokerState:
    node_id: int
    host: str
    port: int
    up: bool = True
    #: Extra delay before each response leaves this broker (set_rtt), in seconds.
    rtt_s: float = 0.0


@dataclass
class Partition:
    topic: str
    index: int
    leader: int
    replicas: list[int]
    leader_epoch: int = 0
    log: PartitionLog = field(default_factory=PartitionLog)


@dataclass
class Topic:
    name: str
    topic_id: uuid.UUID
    partitions: list[Partition]


class ClusterState:
    """Everything the mock brokers know. Callers hold `lock` (see the module docstring)."""

    def __init__(
        self,
        *,
        default_partitions: int = 4,
        default_replication_factor: int = 3,
        auto_create_topics: bool = True,
        cluster_id: str = "rdpy-mock-cluster",
        group_initial_rebalance_delay_ms: int = 0,
        group_min_session_timeout_ms: int = 1,
        group_max_session_timeout_ms: int = 1_800_000,
    ) -> None:
        self.lock = threading.Lock()
        #: Kafka's group.initial.rebalance.delay.ms and group.min/max.session.timeout.ms
        #: (Kafka's defaults are 3000, 6000 and 1800000; the mock's keep tests fast).
        self.group_initial_rebalance_delay_ms = group_initial_rebalance_delay_ms
        self.group_min_session_timeout_ms = group_min_session_timeout_ms
        self.group_max_session_timeout_ms = group_max_session_timeout_ms
        self.default_partitions = default_partitions
        self.default_replication_factor = default_replication_factor
        self.auto_create_topics = auto_create_topics
        self.cluster_id = cluster_id
        self.version = 0
        self.brokers: dict[int, BrokerState] = {}
        self.topics: dict[str, Topic] = {}
        self.transactions: dict[str, Transaction] = {}
        self.groups: dict[str, Group] = {}
        self._next_producer_id = _FIRST_PRODUCER_ID
        #: (key type, key) -> broker id: coordinators pinned by set_coordinator.
        self.pinned_coordinators: dict[tuple[int, str], int] = {}
        #: Injected request errors and delays, request counts and tracking (faults.py).
        self.faults = RequestFaults()

    def changed(self) -> None:
        """Caller holds lock. Note a change held fetches may be waiting for."""
        self.version += 1

    # --- brokers ------------------------------------------------------------------------------

    def add_broker(self, node_id: int, host: str, port: int) -> None:
        """Caller holds lock."""
        self.brokers[node_id] = BrokerState(node_id, host, port)

    def broker(self, node_id: int) -> BrokerState:
        """Caller holds lock. KeyError names an unknown broker."""
        try:
            return self.brokers[node_id]
        except KeyError:
            raise KeyError(f"no broker {node_id} (brokers: {sorted(self.brokers)})") from None

    @property
    def controller_id(self) -> int:
        return min(self.brokers)

    def set_broker_up(self, node_id: int, up: bool) -> None:
        """Caller holds lock."""
        self.broker(node_id).up = up
        self.changed()

    # --- topics -------------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        assignments: dict[int, list[int]] | None = None,
        validate_only: bool = False,
    ) -> Topic:
        """Caller holds lock. Raises BrokerError with CreateTopics' error codes.

        -1 means the cluster default; `assignments` (partition -> replica broker ids, leader
        first) replaces both counts, as in CreateTopics."""
        if not _TOPIC_NAME.match(name) or name in (".", ".."):
            raise BrokerError(ErrorCode.TOPIC_EXCEPTION, f"illegal topic name {name!r}")
        if name in self.topics:
            raise BrokerError(ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists")
        replicas = (self._check_assignments(assignments) if assignments
                    else self._assign_replicas(num_partitions, replication_factor))
        topic = Topic(name, uuid.uuid4(), [
            Partition(name, i, r[0], r) for i, r in enumerate(replicas)])
        if not validate_only:
            self.topics[name] = topic
            self.changed()
        return topic

    def _assign_replicas(self, num_partitions: int, replication_factor: int) -> list[list[int]]:
        if num_partitions == -1:
            num_partitions = self.default_partitions
        if replication_factor == -1:
            replication_factor = min(self.default_replication_factor, len(self.brokers))
        if num_partitions <= 0:
            raise BrokerError(ErrorCode.INVALID_PARTITIONS,
                              f"number of partitions must be positive: {num_partitions}")
        if not 0 < replication_factor <= len(self.brokers):
            raise BrokerError(ErrorCode.INVALID_REPLICATION_FACTOR,
                              f"replication factor {replication_factor} with "
                              f"{len(self.brokers)} brokers")
        ids = sorted(self.brokers)
        # Leaders round-robin over the brokers, followers are the next ones along, so a
        # topic's partitions spread over the cluster as Kafka's default placement does.
        return [[ids[(p + r) % len(ids)] for r in range(replication_factor)]
                for p in range(num_partitions)]

    def _check_assignments(self, assignments: dict[int, list[int]]) -> list[list[int]]:
        if sorted(assignments) != list(range(len(assignments))):
            raise BrokerError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                              "partitions must be numbered 0..n-1")
        out = []
        for p in range(len(assignments)):
            replicas = assignments[p]
            if not replicas or len(set(replicas)) != len(replicas) or \
                    any(b not in self.brokers for b in replicas):
                raise BrokerError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                                  f"partition {p}: invalid replicas {replicas}")
            out.append(list(replicas))
        return out

    def partition(self, topic: str, index: int) -> Partition | None:
        """Caller holds lock."""
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return t.partitions[index]

    def set_leader(self, topic: str, index: int, broker_id: int) -> None:
        """Caller holds lock. Move leadership; the leader epoch increases as in Kafka."""
        part = self.partition(topic, index)
        if part is None:
            raise KeyError(f"no partition {topic} [{index}]")
        self.broker(broker_id)
        if broker_id not in part.replicas:
            part.replicas.append(broker_id)
        part.leader = broker_id
        part.leader_epoch += 1
        self.changed()

    # --- coordinators -------------------------------------------------------------------------

    def coordinator(self, key_type: int, key: str) -> int:
        """Caller holds lock. The coordinator's broker id: the one pinned by set_coordinator
        (even while it is down, as librdkafka's mock keeps it), else a stable hash of the key
        over the brokers, moving to the next broker up (in id order) while the chosen one is
        down."""
        pinned = self.pinned_coordinators.get((key_type, key))
        if pinned is not None:
            return pinned
        ids = sorted(self.brokers)
        start = zlib.crc32(f"{key_type}:{key}".encode()) % len(ids)
        for i in range(len(ids)):
            node = ids[(start + i) % len(ids)]
            if self.brokers[node].up:
                return node
        return ids[start]

    def set_coordinator(self, key_type: int, key: str, broker_id: int) -> None:
        """Caller holds lock. Pin the coordinator of (key_type, key) to `broker_id` (librdkafka's
        rd_kafka_mock_coordinator_set): the previous coordinator answers NOT_COORDINATOR from
        now on, FindCoordinator names the new one. The transaction and group state move with
        it (one cluster-wide state, as if the new coordinator loaded the log at once)."""
        self.broker(broker_id)
        self.pinned_coordinators[(key_type, key)] = broker_id

    # --- producer ids and transactions --------------------------------------------------------

    def new_producer_id(self) -> int:
        """Caller holds lock."""
        pid = self._next_producer_id
        self._next_producer_id += 1
        return pid

    def init_producer_id(self, transactional_id: str | None, timeout_ms: int,
                         producer_id: int, producer_epoch: int, now_ms: int) -> tuple[int, int]:
        """Caller holds lock. InitProducerId: (producer id, epoch) or BrokerError.

        Without a transactional id every call gets a fresh id with epoch 0 (as Kafka does).
        With one, the id is kept and the epoch bumped, fencing older producers; a transaction
        still open is aborted first (Kafka answers CONCURRENT_TRANSACTIONS while it aborts
        and the client retries; here the abort completes at once)."""
        if transactional_id is None:
            return self.new_producer_id(), 0
        if timeout_ms <= 0:
            raise BrokerError(ErrorCode.INVALID_TRANSACTION_TIMEOUT,
                              f"transaction timeout {timeout_ms} ms")
        txn = self.transactions.get(transactional_id)
        if txn is None:
            txn = Transaction(transactional_id, self.new_producer_id(), 0, timeout_ms)
            self.transactions[transactional_id] = txn
            return txn.producer_id, txn.producer_epoch
        if producer_id >= 0 and (producer_id, producer_epoch) != (txn.producer_id,
                                                                   txn.producer_epoch):
            raise BrokerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                              f"producer {producer_id} epoch {producer_epoch} is not the current "
                              f"{txn.producer_id}/{txn.producer_epoch}")
        self._bump_epoch(txn)
        if txn.state is TxnState.ONGOING:
            self._complete(txn, commit=False, now_ms=now_ms)
        txn.state = TxnState.EMPTY
        txn.timeout_ms = timeout_ms
        return txn.producer_id, txn.producer_epoch

    def _bump_epoch(self, txn: Transaction) -> None:
        if txn.producer_epoch >= _MAX_EPOCH - 1:
            txn.producer_id, txn.producer_epoch = self.new_producer_id(), 0
        else:
            txn.producer_epoch += 1

    def transaction(self, transactional_id: str, producer_id: int, producer_epoch: int,
                    broker_id: int) -> Transaction:
        """Caller holds lock. The transaction a coordinator request names, checked as Kafka's
        coordinator checks it: right coordinator, known id, current producer id and epoch."""
        if self.coordinator(COORDINATOR_TRANSACTION, transactional_id) != broker_id:
            raise BrokerError(ErrorCode.NOT_COORDINATOR, f"not the coordinator of "
                              f"{transactional_id!r}")
        txn = self.transactions.get(transactional_id)
        if txn is None or txn.producer_id != producer_id:
            raise BrokerError(ErrorCode.INVALID_PRODUCER_ID_MAPPING,
                              f"{transactional_id!r} is not producer {producer_id}")
        if txn.producer_epoch != producer_epoch:
            raise BrokerError(ErrorCode.INVALID_PRODUCER_EPOCH,
                              f"epoch {producer_epoch} is not the current {txn.producer_epoch}")
        return txn

    def add_partitions_to_txn(self, txn: Transaction, partitions: list[tuple[str, int]]) -> None:
        """Caller holds lock. Unknown partitions fail the whole request (the handler answers
        them UNKNOWN_TOPIC_OR_PART and the others OPERATION_NOT_ATTEMPTED, as Kafka does)."""
        unknown = [tp for tp in partitions if self.partition(*tp) is None]
        if unknown:
            raise BrokerError(ErrorCode.UNKNOWN_TOPIC_OR_PART, f"unknown partitions {unknown}")
        txn.begin()
        txn.partitions.update(partitions)

    def add_offsets_to_txn(self, txn: Transaction, group_id: str) -> None:
        """Caller holds lock."""
        txn.begin()
        txn.groups.add(group_id)

    def end_txn(self, txn: Transaction, commit: bool, now_ms: int) -> None:
        """Caller holds lock. EndTxn: markers on every partition of the transaction, group
        offsets applied (commit) or dropped (abort). A retry of the same outcome succeeds."""
        if txn.state is TxnState.ONGOING:
            self._complete(txn, commit, now_ms)
        else:
            txn.check_retry(commit)

    def _complete(self, txn: Transaction, commit: bool, now_ms: int) -> None:
        for topic, index in sorted(txn.partitions):
            part = self.partition(topic, index)
            if part is not None:
                part.log.append_marker(txn.producer_id, txn.producer_epoch, commit, now_ms,
                                       leader_epoch=part.leader_epoch)
        for group_id in txn.groups:
            group = self.groups.get(group_id)
            if group is not None:
                group.end_transaction(txn.producer_id, commit)
        txn.completed(commit)
        self.changed()

    # --- groups -------------------------------------------------------------------------------

    def check_group_coordinator(self, group_id: str, broker_id: int) -> None:
        """Caller holds lock. NOT_COORDINATOR unless `broker_id` coordinates `group_id`."""
        if self.coordinator(COORDINATOR_GROUP, group_id) != broker_id:
            raise BrokerError(ErrorCode.NOT_COORDINATOR, f"not the coordinator of {group_id!r}")

    def group(self, group_id: str) -> Group:
        """Caller holds lock. The group (offsets and membership), created on first use."""
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(ClassicGroup(
                group_id,
                initial_rebalance_delay_ms=self.group_initial_rebalance_delay_ms,
                min_session_timeout_ms=self.group_min_session_timeout_ms,
                max_session_timeout_ms=self.group_max_session_timeout_ms))
        return group

    def tick_groups(self, now_ms: float) -> None:
        """Caller holds lock. Fire the groups' due timers (monotonic milliseconds); a change
        moves `version` so pending answers are looked at again."""
        for group in self.groups.values():
            if group.membership.tick(now_ms):
                self.changed()

    def next_group_deadline(self) -> float | None:
        """Caller holds lock. The earliest group timer (monotonic milliseconds), or None."""
        due = [d for g in self.groups.values()
               if (d := g.membership.next_deadline()) is not None]
        return min(due, default=None)
