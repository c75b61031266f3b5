"""Transactions (transactional.id, issue 15) on librdkafka's mock cluster and on rdpy's own,
every scenario proven on confluent-kafka first: both clients on both mocks, where the mock
can play the scenario.

The scenarios follow librdkafka's tests/0105-transactions_mock.c and 0103-transactions.c:
the happy path read back, API misuse, coordinator errors and moves, AddPartitionsToTxn and
EndTxn errors, resumable timeouts, produce errors inside a transaction, fencing and KIP-360's
epoch bump after UNKNOWN_PRODUCER_ID. Each test pins the transaction coordinator
(``coordinator_set``, which both mocks implement) so faults can be aimed at it.

What librdkafka's mock cannot play (measured with confluent-kafka 2.16.1), so those tests run
on rdpy's mock alone:
- it lists no aborted transactions in Fetch responses: a read_committed consumer reads
  aborted records too;
- it drops the offsets of TxnOffsetCommit: the group's committed offsets stay unset after
  the commit;
- it checks no producer epoch: a producer whose transactional.id a newer instance
  initialised goes on committing (it is never fenced).

Every record is produced through tests.support.invariants.Ledger (one delivery report each)
and read back with confluent-kafka's consumer. Errors are asserted as confluent-kafka raises
them: code, text, retriable(), fatal(), txn_requires_abort().
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Protocol

import confluent_kafka
import pytest

from rdpy.mock import MockCluster
from tests.integration.producer._util import QUIET, consume_all, unique_topic
from tests.support.invariants import Ledger

pytestmark = pytest.mark.mockcluster

PRODUCE = 0
FIND_COORDINATOR = 10
INIT_PRODUCER_ID = 22
ADD_PARTITIONS_TO_TXN = 24
ADD_OFFSETS_TO_TXN = 25
END_TXN = 26
TXN_OFFSET_COMMIT = 28

NOT_COORDINATOR = 16
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
TOPIC_AUTHORIZATION_FAILED = 29
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
CONCURRENT_TRANSACTIONS = 51
INVALID_PRODUCER_EPOCH = 47
UNKNOWN_PRODUCER_ID = 59
INVALID_RECORD = 87
PRODUCER_FENCED = 90

#: The transaction coordinator every test pins its transactional.id to.
COORDINATOR = 1
TIMEOUT = 10.0


class AnyMock(Protocol):
    """What the tests use of either mock cluster (both spell it as librdkafka does)."""

    bootstrap_servers: str

    def create_topic(self, name: str, partitions: int = ..., replication_factor: int = ...) -> None: ...
    def coordinator_set(self, key_type: str, key: str, broker_id: int) -> None: ...
    def push_request_errors(self, api_key: int, *error_codes: int) -> None: ...
    def broker_push_request_error_rtts(self, broker_id: int, api_key: int, *errors_and_rtts: tuple[int, int]) -> None: ...
    def broker_error_stack_cnt(self, broker_id: int, api_key: int) -> int: ...
    def broker_set_down(self, broker_id: int) -> None: ...
    def broker_set_up(self, broker_id: int) -> None: ...
    def start_request_tracking(self) -> None: ...
    def get_requests(self) -> list[Any]: ...


@pytest.fixture(params=["librdkafka_mock", "rdpy_mock"], ids=["mock=librdkafka", "mock=builtin"])
def mock(request: pytest.FixtureRequest) -> Iterator[AnyMock]:
    """librdkafka's 3-broker mock cluster, then rdpy's own (tests.support.fixtures)."""
    yield request.getfixturevalue(request.param)


builtin_only = pytest.mark.parametrize("mock", ["rdpy_mock"], ids=["mock=builtin"], indirect=True)


def raised(client: ModuleType, call: Callable[[], Any]) -> Any:
    """The KafkaError of the KafkaException call() raises (fails if it raises none)."""
    with pytest.raises(client.KafkaException) as excinfo:
        call()
    return excinfo.value.args[0]


def flags(err: Any) -> tuple[bool, bool, bool]:
    """(retriable, fatal, txn_requires_abort) of a KafkaError."""
    return err.retriable(), err.fatal(), err.txn_requires_abort()


RETRIABLE = (True, False, False)
ABORTABLE = (False, False, True)
FATAL = (False, True, False)
PLAIN = (False, False, False)


class Txn:
    """A transactional producer of `client` on a fresh topic of `mock`, its transactional
    coordinator pinned to COORDINATOR, and the ledger of what it produced."""

    def __init__(self, client: ModuleType, mock: AnyMock, partitions: int = 3,
                 txn_id: str | None = None, **conf: Any) -> None:
        self.client = client
        self.mock = mock
        self.topic = unique_topic("txn")
        self.partitions = partitions
        self.txn_id = txn_id or f"rdpy-txn-{uuid.uuid4().hex[:8]}"
        mock.create_topic(self.topic, partitions)
        mock.coordinator_set("transaction", self.txn_id, COORDINATOR)
        self.conf = {"bootstrap.servers": mock.bootstrap_servers, **QUIET, "linger.ms": 5,
                     "transactional.id": self.txn_id, **conf}
        self.producer = client.Producer(self.conf)
        self.ledger = Ledger()
        self.raised: list[Any] = []  # KafkaErrors poll() raised

    def leader(self, partition: int) -> int:
        md = self.producer.list_topics(self.topic, timeout=TIMEOUT)
        return int(md.topics[self.topic].partitions[partition].leader)

    def produce(self, n: int, partition: int, label: str = "m") -> list[int]:
        return [self.ledger.produce(self.producer, self.topic, b"%s-%d" % (label.encode(), i),
                                    partition=partition) for i in range(n)]

    def serve(self, timeout: float = TIMEOUT) -> None:
        """poll() until every message has its report, collecting what poll() raises (a
        fatal error is raised by poll(), so flush() is not used where one may come)."""
        deadline = time.monotonic() + timeout
        while not self.ledger.all_reported():
            assert time.monotonic() < deadline, "delivery reports missing"
            try:
                self.producer.poll(0.05)
            except self.client.KafkaException as e:
                self.raised.append(e.args[0])

    def transaction(self, sizes: dict[int, int], *, commit: bool, label: str) -> list[int]:
        """One transaction of sizes[p] messages to each partition p, served, then committed or
        aborted; the messages' seqs."""
        self.producer.begin_transaction()
        seqs = [s for p, n in sizes.items() for s in self.produce(n, p, f"{label}-p{p}")]
        self.serve()
        (self.producer.commit_transaction if commit else self.producer.abort_transaction)(TIMEOUT)
        return seqs

    def requests(self, *api_keys: int) -> list[tuple[int, int]]:
        """(broker id, api key) of the tracked requests of `api_keys`, in arrival order."""
        return [(r.broker_id, r.api_key) for r in self.mock.get_requests() if r.api_key in api_keys]

    def read(self, isolation: str, expected: int) -> list[Any]:
        return consume_all(self.mock.bootstrap_servers, self.topic, self.partitions, expected=expected,
                           **{"isolation.level": isolation})

    def close(self) -> None:
        self.producer.close()


def committed_offsets(bootstrap: str, group: str, tps: list[tuple[str, int]]) -> list[int]:
    """The group's committed offsets, read with a read_uncommitted confluent-kafka consumer (so
    offsets still pending in a transaction read as unset rather than as UNSTABLE_OFFSET_COMMIT,
    which a read_committed consumer retries until its timeout)."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET,
                                         "isolation.level": "read_uncommitted"})
    try:
        got = consumer.committed([confluent_kafka.TopicPartition(t, p) for t, p in tps], timeout=TIMEOUT)
        assert all(tp.error is None for tp in got), got
        return [tp.offset for tp in got]
    finally:
        consumer.close()


def group_metadata(client: ModuleType, bootstrap: str, group: str) -> bytes:
    """consumer_group_metadata() of an assign()-only consumer of `client` in `group`."""
    consumer = client.Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET})
    try:
        md = consumer.consumer_group_metadata()
        assert isinstance(md, bytes)
        return md
    finally:
        consumer.close()


# --- 1. the happy path ---------------------------------------------------------------------------


def test_committed_and_aborted_transactions_read_back(client: ModuleType, mock: AnyMock) -> None:
    """Three transactions over three partitions: committed, aborted, committed (10 messages
    per partition each, every one delivered before the transaction ends). Each transaction
    leaves one control record per partition: the committed ones' messages sit at offsets
    0-9 and 22-31, the aborted one's at 11-20, markers at 10, 21 and 32. read_uncommitted reads
    all 90; read_committed (rdpy's mock: librdkafka's lists no aborted transactions) exactly
    the 60 committed."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    sizes = {p: 10 for p in range(3)}
    first = run.transaction(sizes, commit=True, label="c1")
    aborted = run.transaction(sizes, commit=False, label="a1")
    last = run.transaction(sizes, commit=True, label="c2")
    reports = run.ledger.check_reports(expect_delivered=True)
    for seqs, start in ((first, 0), (aborted, 11), (last, 22)):
        for p in range(3):
            offsets = [reports.delivered[s].offset for s in seqs if reports.delivered[s].partition == p]
            assert offsets == list(range(start, start + 10))
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", 90))
    if isinstance(mock, MockCluster):
        committed = run.ledger.subset(first + last)
        got = run.read("read_committed", 60)
        committed.check_log(got)  # an aborted record read would be "never produced"
        assert len(got) == 60


def test_an_empty_transaction_commits_and_aborts(client: ModuleType, mock: AnyMock) -> None:
    """A transaction with nothing in it commits (and aborts) without any request to the
    coordinator (librdkafka: 'No partitions registered: not sending EndTxn')."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    mock.start_request_tracking()
    run.producer.begin_transaction()
    run.producer.commit_transaction(TIMEOUT)
    run.producer.begin_transaction()
    run.producer.abort_transaction(TIMEOUT)
    assert run.requests(ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN) == []
    run.close()


def test_send_offsets_goes_to_both_coordinators(client: ModuleType, mock: AnyMock) -> None:
    """send_offsets_to_transaction with consumer_group_metadata(): AddOffsetsToTxn to the
    transaction coordinator, TxnOffsetCommit to the group's (pinned to another broker),
    EndTxn to the transaction coordinator."""
    run = Txn(client, mock)
    group = f"rdpy-txn-group-{uuid.uuid4().hex[:8]}"
    mock.coordinator_set("group", group, 2)
    run.producer.init_transactions(TIMEOUT)
    md = group_metadata(client, mock.bootstrap_servers, group)
    assert md == b"CGMDv2:\xff\xff\xff\xff" + group.encode() + b"\x00\x00\x01"
    mock.start_request_tracking()
    run.producer.begin_transaction()
    run.produce(3, 0)
    run.serve()
    run.producer.send_offsets_to_transaction(
        [client.TopicPartition(run.topic, 0, 5), client.TopicPartition(run.topic, 1, 7)], md, TIMEOUT)
    run.producer.commit_transaction(TIMEOUT)
    assert run.requests(ADD_OFFSETS_TO_TXN, TXN_OFFSET_COMMIT, END_TXN) == [
        (COORDINATOR, ADD_OFFSETS_TO_TXN), (2, TXN_OFFSET_COMMIT), (COORDINATOR, END_TXN)]
    run.ledger.check_reports(expect_delivered=True)
    run.close()


@builtin_only
def test_sent_offsets_are_committed_with_the_transaction(client: ModuleType, mock: AnyMock) -> None:
    """The group's offsets sent in a transaction are not visible while it is open, are after
    its commit, and an aborted transaction's offsets never are. (librdkafka's mock drops
    TxnOffsetCommit offsets: rdpy's mock alone.)"""
    run = Txn(client, mock)
    group = f"rdpy-txn-group-{uuid.uuid4().hex[:8]}"
    tps = [(run.topic, 0), (run.topic, 1)]
    run.producer.init_transactions(TIMEOUT)
    md = group_metadata(client, mock.bootstrap_servers, group)
    run.producer.begin_transaction()
    run.produce(2, 0)
    run.producer.send_offsets_to_transaction(
        [client.TopicPartition(run.topic, 0, 5), client.TopicPartition(run.topic, 1, 7)], md, TIMEOUT)
    run.serve()
    assert committed_offsets(mock.bootstrap_servers, group, tps) == [-1001, -1001]
    run.producer.commit_transaction(TIMEOUT)
    assert committed_offsets(mock.bootstrap_servers, group, tps) == [5, 7]
    run.producer.begin_transaction()
    run.produce(2, 0)
    run.producer.send_offsets_to_transaction([client.TopicPartition(run.topic, 0, 50)], md, TIMEOUT)
    run.serve()
    run.producer.abort_transaction(TIMEOUT)
    assert committed_offsets(mock.bootstrap_servers, group, tps) == [5, 7]
    run.ledger.check_reports(expect_delivered=True)
    run.close()


# --- 2. API misuse -------------------------------------------------------------------------------


def test_transactional_api_without_transactional_id(client: ModuleType) -> None:
    """confluent-kafka: _NOT_CONFIGURED 'The Transactional API requires transactional.id to be
    configured', neither retriable nor fatal nor abortable. send_offsets_to_transaction parses
    the group metadata first: bytes it cannot read raise _BAD_MSG 'Input buffer is too short'."""
    producer = client.Producer({"bootstrap.servers": "127.0.0.1:9", **QUIET})
    md = b"CGMDv2:\xff\xff\xff\xffg\x00\x00\x01"
    offsets = [client.TopicPartition("t", 0, 1)]
    for call in (lambda: producer.init_transactions(1), producer.begin_transaction,
                 lambda: producer.commit_transaction(1), lambda: producer.abort_transaction(1),
                 lambda: producer.send_offsets_to_transaction(offsets, md, 1)):
        err = raised(client, call)
        assert (err.code(), err.str()) == (client.KafkaError._NOT_CONFIGURED,
                                           "The Transactional API requires transactional.id to be configured")
        assert flags(err) == PLAIN
    err = raised(client, lambda: producer.send_offsets_to_transaction(offsets, b"x", 1))
    assert (err.code(), err.str()) == (client.KafkaError._BAD_MSG, "Input buffer is too short")
    producer.close()


def test_calls_in_the_wrong_state(client: ModuleType, mock: AnyMock) -> None:
    """Every transactional call outside the state it needs raises _STATE 'Operation not valid
    in state <State>' (not retriable, fatal or abortable) and changes nothing; produce()
    outside a transaction raises _STATE 'Unable to produce message: Local: Erroneous state'."""
    run = Txn(client, mock)
    p = run.producer
    KE = client.KafkaError

    def state_error(call: Callable[[], Any], state: str) -> None:
        err = raised(client, call)
        assert (err.code(), err.str(), flags(err)) == (KE._STATE, f"Operation not valid in state {state}", PLAIN)

    def produce_refused() -> None:
        err = raised(client, lambda: p.produce(run.topic, b"x", partition=0))
        assert (err.code(), err.str()) == (KE._STATE, "Unable to produce message: Local: Erroneous state")

    md = group_metadata(client, mock.bootstrap_servers, "g")
    offsets = [client.TopicPartition(run.topic, 0, 1)]
    for call in (p.begin_transaction, lambda: p.commit_transaction(1), lambda: p.abort_transaction(1),
                 lambda: p.send_offsets_to_transaction(offsets, md, 1)):
        state_error(call, "Init")
    produce_refused()
    p.init_transactions(TIMEOUT)
    for call in (lambda: p.init_transactions(1), lambda: p.commit_transaction(1), lambda: p.abort_transaction(1),
                 lambda: p.send_offsets_to_transaction(offsets, md, 1)):
        state_error(call, "Ready")
    produce_refused()
    p.begin_transaction()
    state_error(p.begin_transaction, "InTransaction")
    state_error(lambda: p.init_transactions(1), "InTransaction")
    seqs = run.produce(2, 0)
    p.commit_transaction(TIMEOUT)
    state_error(lambda: p.commit_transaction(1), "Ready")
    produce_refused()
    run.ledger.check_reports(expect_delivered=True)
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", len(seqs)))


def test_bad_group_metadata(client: ModuleType, mock: AnyMock) -> None:
    """send_offsets_to_transaction with bytes that are no group metadata raises _BAD_MSG
    'Input buffer is too short' (neither retriable nor abortable), a str raises TypeError;
    the transaction goes on and commits."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    run.producer.begin_transaction()
    run.produce(2, 0)
    offsets = [client.TopicPartition(run.topic, 0, 1)]
    for bad in (b"garbage", b""):
        err = raised(client, lambda: run.producer.send_offsets_to_transaction(offsets, bad, TIMEOUT))
        assert (err.code(), err.str(), flags(err)) == (client.KafkaError._BAD_MSG, "Input buffer is too short", PLAIN)
    with pytest.raises(TypeError):
        run.producer.send_offsets_to_transaction(offsets, "garbage", TIMEOUT)
    run.producer.commit_transaction(TIMEOUT)
    run.ledger.check_reports(expect_delivered=True)
    run.close()


def _wait_for_request(mock: AnyMock, api_key: int, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not any(r.api_key == api_key for r in mock.get_requests()):
        assert time.monotonic() < deadline, f"no request {api_key} sent"
        time.sleep(0.01)


def test_concurrent_and_conflicting_calls(client: ModuleType, mock: AnyMock) -> None:
    """While commit_transaction() waits (on another thread) for an EndTxn answer held back
    1.5 s, the same call raises _PREV_IN_PROGRESS 'Simultaneous commit_transaction API calls
    not allowed' and every other transactional call _CONFLICT 'Conflicting
    commit_transaction API call is already in progress', all retriable, at once; the commit
    then completes."""
    run = Txn(client, mock)
    p = run.producer
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    run.produce(1, 0)
    run.serve()
    md = group_metadata(client, mock.bootstrap_servers, "g")
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(COORDINATOR, END_TXN, (0, 1500))
    results: list[Any] = []
    committer = threading.Thread(target=lambda: results.append(p.commit_transaction(TIMEOUT)))
    committer.start()
    try:
        _wait_for_request(mock, END_TXN)
        t0 = time.monotonic()
        err = raised(client, lambda: p.commit_transaction(TIMEOUT))
        assert (err.code(), err.str(), flags(err)) == (
            client.KafkaError._PREV_IN_PROGRESS, "Simultaneous commit_transaction API calls not allowed", RETRIABLE)
        for call in (lambda: p.abort_transaction(TIMEOUT), p.begin_transaction, lambda: p.init_transactions(TIMEOUT),
                     lambda: p.send_offsets_to_transaction([client.TopicPartition(run.topic, 0, 1)], md, TIMEOUT)):
            err = raised(client, call)
            assert (err.code(), err.str(), flags(err)) == (
                client.KafkaError._CONFLICT, "Conflicting commit_transaction API call is already in progress",
                RETRIABLE)
        assert time.monotonic() - t0 < 1.0
    finally:
        committer.join(TIMEOUT)
    assert results == [None]
    run.ledger.check_reports(expect_delivered=True)
    run.close()


def test_init_times_out_without_a_coordinator_and_resumes(client: ModuleType, mock: AnyMock) -> None:
    """Every broker down: init_transactions(1) raises _TIMED_OUT 'Timed out waiting for
    operation to finish, retry call to resume' (retriable) after about 1 s, and other calls
    _CONFLICT with it; called again once the brokers are back, it completes and a
    transaction commits."""
    run = Txn(client, mock)
    for b in (1, 2, 3):
        mock.broker_set_down(b)
    for _ in range(2):
        t0 = time.monotonic()
        err = raised(client, lambda: run.producer.init_transactions(1))
        assert 0.9 < time.monotonic() - t0 < 2.0
        assert (err.code(), err.str(), flags(err)) == (
            client.KafkaError._TIMED_OUT, "Timed out waiting for operation to finish, retry call to resume", RETRIABLE)
        err = raised(client, run.producer.begin_transaction)
        assert (err.code(), err.str(), flags(err)) == (
            client.KafkaError._CONFLICT, "Conflicting init_transactions API call is already in progress", RETRIABLE)
    for b in (1, 2, 3):
        mock.broker_set_up(b)
    run.producer.init_transactions(TIMEOUT)
    run.transaction({0: 3}, commit=True, label="after")
    run.ledger.check_reports(expect_delivered=True)
    run.close()


# --- 3. coordinator errors and moves -------------------------------------------------------------


def test_coordinator_errors_on_init_are_retried(client: ModuleType, mock: AnyMock) -> None:
    """FindCoordinator answered COORDINATOR_NOT_AVAILABLE, and InitProducerId answered
    COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS and
    CONCURRENT_TRANSACTIONS: init_transactions() retries until it gets the id (the fifth
    InitProducerId), then a transaction commits."""
    run = Txn(client, mock)
    mock.start_request_tracking()
    mock.push_request_errors(FIND_COORDINATOR, COORDINATOR_NOT_AVAILABLE)
    mock.push_request_errors(INIT_PRODUCER_ID, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
                             COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS)
    run.producer.init_transactions(TIMEOUT)
    assert run.requests(INIT_PRODUCER_ID) == [(COORDINATOR, INIT_PRODUCER_ID)] * 5
    run.transaction({0: 3, 1: 3}, commit=True, label="c")
    run.ledger.check_reports(expect_delivered=True)
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", 6))


def test_end_txn_coordinator_errors_are_retried(client: ModuleType, mock: AnyMock) -> None:
    """EndTxn answered COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
    COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS: commit_transaction() retries (the
    coordinator looked up again) until the fifth EndTxn commits."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    run.producer.begin_transaction()
    run.produce(3, 0)
    run.serve()
    mock.start_request_tracking()
    mock.push_request_errors(END_TXN, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
                             COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS)
    run.producer.commit_transaction(TIMEOUT)
    assert run.requests(END_TXN) == [(COORDINATOR, END_TXN)] * 5
    run.ledger.check_reports(expect_delivered=True)
    run.close()


def test_transaction_coordinator_moves(client: ModuleType, mock: AnyMock) -> None:
    """The transaction coordinator moves between transactions (and again inside one): the
    old one answers NOT_COORDINATOR, the producer finds the new one and each transaction
    commits there; everything is read back once."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    seqs = run.transaction({0: 5, 1: 5}, commit=True, label="on1")
    mock.start_request_tracking()
    mock.coordinator_set("transaction", run.txn_id, 2)
    seqs += run.transaction({0: 5, 2: 5}, commit=True, label="on2")
    assert run.requests(END_TXN) == [(2, END_TXN)]
    run.producer.begin_transaction()
    seqs += run.produce(5, 1, "on3")
    run.serve()
    mock.coordinator_set("transaction", run.txn_id, 3)
    run.producer.commit_transaction(TIMEOUT)
    assert run.requests(END_TXN)[-1] == (3, END_TXN)
    run.ledger.check_reports(expect_delivered=True)
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", len(seqs)))


# --- 4. AddPartitionsToTxn errors ----------------------------------------------------------------


def test_add_partitions_concurrent_transactions_is_retried(client: ModuleType, mock: AnyMock) -> None:
    """AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS (the previous transaction still
    completing) is sent again; the transaction commits."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    mock.start_request_tracking()
    mock.push_request_errors(ADD_PARTITIONS_TO_TXN, CONCURRENT_TRANSACTIONS)
    seqs = run.transaction({0: 3}, commit=True, label="c")
    assert run.requests(ADD_PARTITIONS_TO_TXN) == [(COORDINATOR, ADD_PARTITIONS_TO_TXN)] * 2
    run.ledger.check_reports(expect_delivered=True)
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", len(seqs)))


def test_add_partitions_topic_authorization_failed_is_abortable(client: ModuleType, mock: AnyMock) -> None:
    """In a transaction that already holds partition 1, AddPartitionsToTxn for partition 0 is
    answered TOPIC_AUTHORIZATION_FAILED: the transaction must be aborted.
    commit_transaction() raises TOPIC_AUTHORIZATION_FAILED, txn_requires_abort(), 'Failed to
    add partition(s) to transaction on broker TxnCoordinator/1: Broker: Topic authorization
    failed (after N ms)'; the message is reported _PURGE_QUEUE; abort succeeds and the next
    transaction commits.

    (Partition 1 first, so the coordinator has a transaction to abort. With nothing added,
    confluent-kafka still sends EndTxn(abort) and a coordinator that checks the
    transaction's state, as Kafka's and rdpy's mock do, answers INVALID_TXN_STATE: fatal.)"""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    run.producer.begin_transaction()
    held = run.produce(1, 1, "held")
    run.serve()
    mock.push_request_errors(ADD_PARTITIONS_TO_TXN, TOPIC_AUTHORIZATION_FAILED)
    failed = run.produce(1, 0, "refused")
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), flags(err)) == (TOPIC_AUTHORIZATION_FAILED, ABORTABLE)
    assert re.fullmatch(rf"Failed to add partition\(s\) to transaction on broker TxnCoordinator/{COORDINATOR}: "
                        r"Broker: Topic authorization failed \(after \d+ ms\)", err.str()), err.str()
    run.producer.abort_transaction(TIMEOUT)
    ok = run.transaction({0: 2}, commit=True, label="after")
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in held + failed + ok] == [None, client.KafkaError._PURGE_QUEUE, None, None]
    run.close()
    run.ledger.subset(held + ok).check_log(run.read("read_uncommitted", len(held + ok)))
    if isinstance(mock, MockCluster):
        run.ledger.subset(ok).check_log(run.read("read_committed", len(ok)))


def test_add_partitions_transactional_id_authorization_failed_is_fatal(client: ModuleType, mock: AnyMock) -> None:
    """AddPartitionsToTxn answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED: a fatal error,
    raised by poll() (fatal(), 'Failed to add partitions to transaction: Broker:
    Transactional Id authorization failed'); the message is reported _PURGE_QUEUE; every
    transactional call raises that fatal error from then on and produce() _FATAL."""
    run = Txn(client, mock)
    run.producer.init_transactions(TIMEOUT)
    mock.push_request_errors(ADD_PARTITIONS_TO_TXN, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    run.producer.begin_transaction()
    failed = run.produce(1, 0)
    run.serve()
    text = "Failed to add partitions to transaction: Broker: Transactional Id authorization failed"
    assert [(e.code(), e.str(), flags(e)) for e in run.raised] == [
        (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, text, FATAL)]
    assert run.ledger.check_reports().codes()[failed[0]] == client.KafkaError._PURGE_QUEUE
    for call in (lambda: run.producer.commit_transaction(TIMEOUT), lambda: run.producer.abort_transaction(TIMEOUT),
                 run.producer.begin_transaction):
        err = raised(client, call)
        assert (err.code(), err.str(), flags(err)) == (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, text, FATAL)
    err = raised(client, lambda: run.producer.produce(run.topic, b"x", partition=0))
    assert err.code() == client.KafkaError._FATAL
    run.close()


# --- 5. EndTxn timeouts --------------------------------------------------------------------------


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "abort"])
def test_end_txn_timeout_is_resumable(client: ModuleType, mock: AnyMock, commit: bool) -> None:
    """EndTxn's answer held back 1.5 s: commit_transaction(0.5) (abort_transaction(0.5))
    raises _TIMED_OUT 'Timed out waiting for operation to finish, retry call to resume',
    retriable; other calls raise _CONFLICT meanwhile; calling it again resumes and completes
    (no second EndTxn), and the next transaction commits."""
    run = Txn(client, mock)
    p = run.producer
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    first = run.produce(3, 0, "first")
    run.serve()
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(COORDINATOR, END_TXN, (0, 1500))
    end = p.commit_transaction if commit else p.abort_transaction
    name = "commit_transaction" if commit else "abort_transaction"
    t0 = time.monotonic()
    err = raised(client, lambda: end(0.5))
    assert 0.4 < time.monotonic() - t0 < 1.4
    assert (err.code(), err.str(), flags(err)) == (
        client.KafkaError._TIMED_OUT, "Timed out waiting for operation to finish, retry call to resume", RETRIABLE)
    err = raised(client, p.begin_transaction)
    assert (err.code(), err.str(), flags(err)) == (
        client.KafkaError._CONFLICT, f"Conflicting {name} API call is already in progress", RETRIABLE)
    end(TIMEOUT)
    assert run.requests(END_TXN) == [(COORDINATOR, END_TXN)]
    second = run.transaction({0: 3}, commit=True, label="second")
    run.ledger.check_reports(expect_delivered=True)
    run.close()
    run.ledger.check_log(run.read("read_uncommitted", len(first + second)))
    if isinstance(mock, MockCluster):
        run.ledger.subset(first + second if commit else second).check_log(
            run.read("read_committed", len(first + second) if commit else len(second)))


# --- 6. produce errors inside a transaction ------------------------------------------------------


def test_permanent_produce_error_requires_abort(client: ModuleType, mock: AnyMock) -> None:
    """A Produce answered INVALID_RECORD (permanent) inside a transaction: the message is
    reported INVALID_RECORD and the transaction must be aborted; commit_transaction() raises
    INVALID_RECORD, txn_requires_abort(), 'ProduceRequest for T [0] with 1 message(s) failed:
    Broker: Broker failed to validate record (broker B PID{Id:..,Epoch:0}, base seq 1):
    current transaction must be aborted'. abort_transaction() succeeds without a new epoch.

    confluent-kafka (surprising): the next transaction on that partition fails as well. The
    failed message's sequence number stays skipped, the broker answers the next message
    OUT_OF_ORDER_SEQUENCE_NUMBER and commit_transaction() raises it, txn_requires_abort(),
    'skipped sequence numbers'; this second abort bumps the epoch (InitProducerId) and the
    transaction after it commits."""
    run = Txn(client, mock, partitions=1)
    run.producer.init_transactions(TIMEOUT)
    leader = run.leader(0)
    run.producer.begin_transaction()
    seqs = run.produce(1, 0, "ok")
    run.serve()
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(leader, PRODUCE, (INVALID_RECORD, 0))
    bad = run.produce(1, 0, "bad")
    run.serve()
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), flags(err)) == (INVALID_RECORD, ABORTABLE)
    assert re.fullmatch(rf"ProduceRequest for {run.topic} \[0\] with 1 message\(s\) failed: Broker: Broker failed "
                        rf"to validate record \(broker {leader} PID\{{Id:\d+,Epoch:0\}}, base seq 1\): current "
                        r"transaction must be aborted", err.str()), err.str()
    run.producer.abort_transaction(TIMEOUT)
    assert run.requests(INIT_PRODUCER_ID) == []
    run.producer.begin_transaction()
    skipped = run.produce(1, 0, "skipped")
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), err.str(), flags(err)) == (
        client.KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "skipped sequence numbers", ABORTABLE)
    run.producer.abort_transaction(TIMEOUT)
    assert run.requests(INIT_PRODUCER_ID) == [(COORDINATOR, INIT_PRODUCER_ID)]
    last = run.transaction({0: 2}, commit=True, label="last")
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in seqs + bad + skipped + last] == [
        None, INVALID_RECORD, client.KafkaError._PURGE_QUEUE, None, None]
    run.close()
    run.ledger.subset(seqs + last).check_log(run.read("read_uncommitted", 3))


@pytest.mark.parametrize("wait", [False, True], ids=["purged-at-once", "purged-later"])
def test_failed_delivery_makes_commit_inconsistent(client: ModuleType, mock: AnyMock, wait: bool) -> None:
    """A message of the transaction fails delivery without the transaction being in error
    (purge() while its leader is down: _PURGE_QUEUE): commit_transaction() raises
    _INCONSISTENT '1 message(s) failed delivery (see individual delivery reports)',
    txn_requires_abort(); abort succeeds and a next transaction on another partition
    commits."""
    run = Txn(client, mock, partitions=2)
    run.producer.init_transactions(TIMEOUT)
    down = run.leader(1)
    assert run.leader(0) != down
    run.producer.begin_transaction()
    ok = run.produce(1, 0, "ok")
    run.serve()
    mock.broker_set_down(down)
    purged = run.produce(1, 1, "purged")
    if wait:
        time.sleep(0.3)  # the partition's broker thread has taken the message by now
    run.producer.purge(in_queue=True, in_flight=True)
    run.serve()
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), err.str(), flags(err)) == (
        client.KafkaError._INCONSISTENT, "1 message(s) failed delivery (see individual delivery reports)", ABORTABLE)
    mock.broker_set_up(down)
    run.producer.abort_transaction(TIMEOUT)
    last = run.transaction({0: 2}, commit=True, label="last")
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in ok + purged + last] == [None, client.KafkaError._PURGE_QUEUE, None, None]
    run.close()


def test_unknown_producer_id_bumps_the_epoch_on_abort(client: ModuleType, mock: AnyMock) -> None:
    """A Produce answered UNKNOWN_PRODUCER_ID inside a transaction (KIP-360): the message is
    reported UNKNOWN_PRODUCER_ID and commit_transaction() raises it, txn_requires_abort(),
    'unknown producer id'. abort_transaction() sends EndTxn(abort) and then InitProducerId
    (the epoch bump), and the next transaction commits on the same partition."""
    run = Txn(client, mock, partitions=1, **{"batch.num.messages": 1})
    run.producer.init_transactions(TIMEOUT)
    leader = run.leader(0)
    mock.start_request_tracking()
    run.producer.begin_transaction()
    ok = run.produce(1, 0, "ok")
    run.serve()
    mock.broker_push_request_error_rtts(leader, PRODUCE, (UNKNOWN_PRODUCER_ID, 0))
    bad = run.produce(1, 0, "bad")
    run.serve()
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), err.str(), flags(err)) == (
        client.KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id", ABORTABLE)
    run.producer.abort_transaction(TIMEOUT)
    assert run.requests(ADD_PARTITIONS_TO_TXN, END_TXN, INIT_PRODUCER_ID) == [
        (COORDINATOR, ADD_PARTITIONS_TO_TXN), (COORDINATOR, END_TXN), (COORDINATOR, INIT_PRODUCER_ID)]
    last = run.transaction({0: 2}, commit=True, label="last")
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in ok + bad + last] == [None, client.KafkaError.UNKNOWN_PRODUCER_ID, None, None]
    run.close()
    run.ledger.subset(ok + last).check_log(run.read("read_uncommitted", 3))


# --- 7. fencing ----------------------------------------------------------------------------------


@builtin_only
def test_fenced_in_a_transaction_by_a_newer_instance(client: ModuleType, mock: AnyMock) -> None:
    """A second producer with the same transactional.id calls init_transactions() while the
    first is in a transaction (the coordinator aborts it with the bumped epoch). The first
    producer's next Produce is refused INVALID_PRODUCER_EPOCH: poll() raises a fatal _FENCED,
    'ProduceRequest for T [0] with 1 message(s) failed: Broker: Producer attempted an
    operation with an old epoch (broker B PID{Id:P,Epoch:0}, base seq 1): transactional
    producer fenced by newer producer instance'; every transactional call raises that same
    error afterwards and produce() _FATAL. The new producer commits; read_committed reads
    its messages alone. (librdkafka's mock fences no one: rdpy's mock alone.)"""
    run = Txn(client, mock, partitions=1)
    run.producer.init_transactions(TIMEOUT)
    leader = run.leader(0)
    run.producer.begin_transaction()
    first = run.produce(1, 0, "first")
    run.serve()
    newer = Txn(client, mock, partitions=1, txn_id=run.txn_id)
    newer.producer.init_transactions(TIMEOUT)
    fenced = run.produce(1, 0, "fenced")
    run.serve()
    assert len(run.raised) == 1
    fatal = run.raised[0]
    assert (fatal.code(), flags(fatal)) == (client.KafkaError._FENCED, FATAL)
    assert re.fullmatch(rf"ProduceRequest for {run.topic} \[0\] with 1 message\(s\) failed: Broker: Producer "
                        rf"attempted an operation with an old epoch \(broker {leader} PID\{{Id:\d+,Epoch:0\}}, base "
                        r"seq 1\): transactional producer fenced by newer producer instance", fatal.str()), fatal.str()
    p = run.producer
    for call in (lambda: p.commit_transaction(TIMEOUT), lambda: p.abort_transaction(TIMEOUT), p.begin_transaction,
                 lambda: p.init_transactions(TIMEOUT)):
        err = raised(client, call)
        assert (err.code(), err.str(), flags(err)) == (client.KafkaError._FENCED, fatal.str(), FATAL)
    err = raised(client, lambda: p.produce(run.topic, b"x", partition=0))
    assert (err.code(), err.str()) == (client.KafkaError._FATAL, "Unable to produce message: Local: Fatal error")
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in first + fenced] == [None, INVALID_PRODUCER_EPOCH]
    newer.topic = run.topic
    newer.producer.begin_transaction()
    kept = newer.produce(2, 0, "newer")
    newer.serve()
    newer.producer.commit_transaction(TIMEOUT)
    newer.ledger.check_reports(expect_delivered=True)
    run.close()
    newer.close()
    newer.ledger.check_log(newer.read("read_committed", len(kept)))


@builtin_only
def test_fenced_before_a_transaction_by_a_newer_instance(client: ModuleType, mock: AnyMock) -> None:
    """The newer instance initialises while the first producer is between transactions: the
    first one's next AddPartitionsToTxn is refused with the old epoch; poll() raises a fatal
    _FENCED 'Failed to add partitions to transaction: Local: This instance has been fenced by
    a newer instance', the message is reported _PURGE_QUEUE, commit/abort raise the same."""
    run = Txn(client, mock, partitions=1)
    run.producer.init_transactions(TIMEOUT)
    newer = Txn(client, mock, partitions=1, txn_id=run.txn_id)
    newer.producer.init_transactions(TIMEOUT)
    run.producer.begin_transaction()
    seqs = run.produce(1, 0)
    run.serve()
    text = "Failed to add partitions to transaction: Local: This instance has been fenced by a newer instance"
    assert [(e.code(), e.str(), flags(e)) for e in run.raised] == [(client.KafkaError._FENCED, text, FATAL)]
    for call in (lambda: run.producer.commit_transaction(TIMEOUT), lambda: run.producer.abort_transaction(TIMEOUT)):
        err = raised(client, call)
        assert (err.code(), err.str(), flags(err)) == (client.KafkaError._FENCED, text, FATAL)
    assert run.ledger.check_reports().codes()[seqs[0]] == client.KafkaError._PURGE_QUEUE
    run.close()
    newer.close()


@pytest.mark.parametrize("code", [PRODUCER_FENCED, INVALID_PRODUCER_EPOCH], ids=["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"])
def test_fencing_error_on_end_txn_is_fatal(client: ModuleType, mock: AnyMock, code: int) -> None:
    """EndTxn answered PRODUCER_FENCED (or the older INVALID_PRODUCER_EPOCH): commit raises a
    fatal _FENCED 'Failed to end transaction: Local: This instance has been fenced by a newer
    instance'; the next poll() raises it once more (the fatal error event; confluent-kafka's
    close() raises it when no poll() came first), and every call after raises it again,
    produce() _FATAL."""
    run = Txn(client, mock, partitions=1)
    run.producer.init_transactions(TIMEOUT)
    run.producer.begin_transaction()
    run.produce(1, 0)
    run.serve()
    mock.push_request_errors(END_TXN, code)
    err = raised(client, lambda: run.producer.commit_transaction(TIMEOUT))
    assert (err.code(), flags(err)) == (client.KafkaError._FENCED, FATAL), err.str()
    fatal_text = err.str()
    assert fatal_text == "Failed to end transaction: Local: This instance has been fenced by a newer instance"
    # The fatal error event is still queued: the next poll() raises it, once.
    err = raised(client, lambda: run.producer.poll(0.5))
    assert (err.code(), err.str(), flags(err)) == (client.KafkaError._FENCED, fatal_text, FATAL)
    assert run.producer.poll(0.1) == 0
    err = raised(client, run.producer.begin_transaction)
    assert (err.code(), err.str(), flags(err)) == (client.KafkaError._FENCED, fatal_text, FATAL)
    err = raised(client, lambda: run.producer.produce(run.topic, b"x", partition=0))
    assert err.code() == client.KafkaError._FATAL
    run.close()
