"""The idempotent producer (enable.idempotence=true, issue 15) on librdkafka's mock cluster and
on rdpy's own, every scenario proven on confluent-kafka first: both clients on both mocks.

Each fault is pushed on the partition leader's own error stack for Produce
(``broker_push_request_error_rtts``, which both mocks implement alike) while five one-message
ProduceRequests are in flight. librdkafka caps a partition's in-flight requests at five *minus
the messages already in flight*, so five requests are in flight together only with
``batch.num.messages=1``; the first one's answer is held back (its rtt) so the other four are
sent before it comes, and every test checks from the mock's request record that they were.

The pushed codes are what a real broker would answer the whole window: a request behind one
that was not written is refused too (a broker never stores a sequence after a gap). That
matters because librdkafka's mock checks sequences only for transactional producers: it would
store requests 2..5 behind a refused first one, which no broker does (and librdkafka then
fails with _INCONSISTENT or reorders). rdpy's mock checks them as Kafka does, so the scripts
mean the same on both.

Everything produced goes through tests.support.invariants.Ledger: exactly one delivery report
per message, the log read back with confluent-kafka holds every delivered message exactly
once, in produce() order (no duplicate, no reorder). Fatal errors are checked as confluent-kafka
raises them: the next poll() raises one KafkaException whose error is fatal() with the
underlying code, and produce() raises _FATAL from then on.

confluent-kafka 2.16.1 calls on_delivery callbacks with the fatal exception still pending when
flush() raised it, which turns that exception into a SystemError; so the fatal scenarios serve
reports with poll(), as an application that checks for fatal errors does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Protocol

import pytest

from rdpy.protocol.messages import ApiVersionsRequest, FetchRequest, MetadataRequest
from rdpy.protocol.messages.fetch import FetchPartition, FetchTopic
from rdpy.protocol.messages.metadata import MetadataRequestTopic
from rdpy.protocol.versions import negotiate
from rdpy.records import read_batches
from tests.integration.producer._util import QUIET, Reports, consume_all, unique_topic
from tests.support.invariants import Ledger
from tests.support.rawclient import RawConnection

pytestmark = pytest.mark.mockcluster

PRODUCE = 0
INIT_PRODUCER_ID = 22
NOT_LEADER_OR_FOLLOWER = 6
NOT_ENOUGH_REPLICAS = 19
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
DUPLICATE_SEQUENCE_NUMBER = 46
UNKNOWN_PRODUCER_ID = 59

#: The first request's answer is held this long, so the four behind it are sent meanwhile.
HOLD_MS = 300
IN_FLIGHT = 5
#: One message per request, so five requests fit librdkafka's in-flight window together.
FIVE_IN_FLIGHT = {"batch.num.messages": 1, "linger.ms": 5}


class AnyMock(Protocol):
    """What the tests use of either mock cluster (both spell it as librdkafka does)."""

    bootstrap_servers: str

    def create_topic(self, name: str, partitions: int = ..., replication_factor: int = ...) -> None: ...
    def partition_set_leader(self, topic: str, partition: int, broker_id: int) -> None: ...
    def broker_push_request_error_rtts(self, broker_id: int, api_key: int, *errors_and_rtts: tuple[int, int]) -> None: ...
    def broker_error_stack_cnt(self, broker_id: int, api_key: int) -> int: ...
    def start_request_tracking(self) -> None: ...
    def get_requests(self) -> list[Any]: ...


@pytest.fixture(params=["librdkafka_mock", "rdpy_mock"], ids=["mock=librdkafka", "mock=builtin"])
def mock(request: pytest.FixtureRequest) -> Iterator[AnyMock]:
    """librdkafka's 3-broker mock cluster, then rdpy's own (tests.support.fixtures)."""
    yield request.getfixturevalue(request.param)


class Run:
    """An idempotent producer of `client` on one topic of `mock`, its ledger, its delivery
    reports and its statistics."""

    def __init__(self, client: ModuleType, mock: AnyMock, partitions: int = 1, **conf: Any) -> None:
        self.client = client
        self.mock = mock
        self.topic = unique_topic("idempo")
        self.partitions = partitions
        mock.create_topic(self.topic, partitions)
        self.stats: list[tuple[float, dict[str, Any]]] = []
        self.producer = client.Producer({
            "bootstrap.servers": mock.bootstrap_servers, **QUIET,
            "enable.idempotence": True,
            "statistics.interval.ms": 100, "stats_cb": self._on_stats,
            **conf,
        })
        md = self.producer.list_topics(self.topic, timeout=10)
        self.leaders = {p: pm.leader for p, pm in md.topics[self.topic].partitions.items()}
        self.ledger = Ledger()
        self.reports = Reports()
        self.raised: list[Any] = []  # KafkaErrors poll() raised

    def _on_stats(self, data: str) -> None:
        self.stats.append((time.monotonic(), json.loads(data)))

    def warm_up(self) -> None:
        """One delivered message per partition: the producer id is assigned, leaders known."""
        for p in range(self.partitions):
            self.ledger.produce(self.producer, self.topic, b"warm-up", partition=p)
        assert self.producer.flush(10) == 0
        self.ledger.check_reports(expect_delivered=True)

    def produce(self, n: int, partition: int = 0) -> list[int]:
        """n messages to `partition`, each with a Reports callback too; their seqs."""
        return [self.ledger.produce(self.producer, self.topic, b"m%d" % i, partition=partition,
                                    on_delivery=self.reports.callback(i)) for i in range(n)]

    def serve(self, timeout: float = 10.0) -> float:
        """poll() until nothing is outstanding, collecting what it raises; seconds taken."""
        t0 = time.monotonic()
        while len(self.producer) > 0:
            assert time.monotonic() - t0 < timeout, f"{len(self.producer)} still outstanding"
            try:
                self.producer.poll(0.1)
            except self.client.KafkaException as e:
                self.raised.append(e.args[0])
        return time.monotonic() - t0

    def eos(self, timeout: float = 5.0) -> dict[str, Any]:
        """The 'eos' block of the first statistics emitted from now on."""
        since = time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            fresh = [s for t, s in self.stats if t > since]
            if fresh:
                return dict(fresh[0]["eos"])
            self.producer.poll(0.05)
        raise TimeoutError("no statistics emitted")

    def produce_requests(self, broker_id: int) -> list[Any]:
        return [r for r in self.mock.get_requests() if r.api_key == PRODUCE and r.broker_id == broker_id]

    def read_back(self, expected: int) -> list[Any]:
        return consume_all(self.mock.bootstrap_servers, self.topic, self.partitions, expected=expected)

    def close(self) -> None:
        self.producer.close()


def _sent_together(requests: list[Any], hold_ms: int = HOLD_MS) -> int:
    """How many of `requests` arrived before the first one's held answer could have left."""
    if not requests:
        return 0
    first = requests[0].timestamp_us
    return sum(1 for r in requests if r.timestamp_us - first < hold_ms * 1000)


def _check_recovered(run: Run, seqs: list[int], *, epoch: int, producer_id: int) -> None:
    """Everything delivered exactly once, in order, without any fatal error; the producer
    kept its id (no new InitProducerId) with the epoch expected, and still produces."""
    assert run.raised == []
    run.ledger.check_reports(expect_delivered=True)
    eos = run.eos()
    assert (eos["idemp_state"], eos["producer_id"], eos["producer_epoch"]) == ("Assigned", producer_id, epoch)
    assert [r for r in run.mock.get_requests() if r.api_key == INIT_PRODUCER_ID] == []
    after = run.ledger.produce(run.producer, run.topic, b"after", partition=0)
    assert run.producer.flush(10) == 0
    assert run.ledger.check_reports(expect_delivered=True).delivered[after]
    run.close()
    consumed = run.read_back(len(run.ledger.sent))
    run.ledger.check_log(consumed)  # no duplicate, no reorder, nothing delivered lost
    assert [m.value() for m in consumed] == run.ledger.values()
    assert len(seqs) == len(consumed) - run.partitions - 1


def _negotiate(conn: RawConnection) -> None:
    """conn.negotiate_versions(), falling back to ApiVersions v2 for librdkafka's mock (which
    answers v3 with UNSUPPORTED_VERSION)."""
    response = conn.request(ApiVersionsRequest(), 2)
    assert response.error_code == 0, response
    conn.versions = negotiate({k.api_key: (k.min_version, k.max_version) for k in response.api_keys})


def _stored_batches(bootstrap: str, topic: str, partition: int) -> list[Any]:
    """The RecordBatches a partition's leader stores, read with a raw Fetch."""
    with RawConnection(bootstrap) as conn:
        _negotiate(conn)
        md = conn.request(MetadataRequest(topics=[MetadataRequestTopic(name=topic)]))
        leader = {p.partition_index: p.leader_id for p in md.topics[0].partitions}[partition]
        broker = next(b for b in md.brokers if b.node_id == leader)
        topic_id = md.topics[0].topic_id
    with RawConnection(f"{broker.host}:{broker.port}") as conn:
        _negotiate(conn)
        batches: list[Any] = []
        offset = 0
        while True:
            response = conn.request(FetchRequest(
                replica_id=-1, max_wait_ms=10, min_bytes=1, max_bytes=50 << 20,
                topics=[FetchTopic(topic=topic, topic_id=topic_id, partitions=[
                    FetchPartition(partition=partition, fetch_offset=offset, partition_max_bytes=50 << 20)])]))
            data = response.responses[0].partitions[0]
            assert data.error_code == 0, data
            got = list(read_batches(data.records or b""))
            if not got:
                return batches
            batches += got
            offset = got[-1].last_offset + 1
            if offset >= data.high_watermark:
                return batches


# --- 1. the happy path ---------------------------------------------------------------------------


def test_idempotent_produce_to_three_partitions(client: ModuleType, mock: AnyMock) -> None:
    """6,000 keyed messages over 3 partitions: all delivered once, in order; the stored batches
    carry the producer id the statistics report, epoch 0, and per partition sequence numbers
    that start at 0 and follow each other without a gap."""
    run = Run(client, mock, partitions=3, **{"linger.ms": 5})
    n = 6000
    for i in range(n):
        while True:
            try:
                run.ledger.produce(run.producer, run.topic, b"v%d" % i, key=b"k%d" % (i % 17))
                break
            except BufferError:
                run.producer.poll(0.01)
        run.producer.poll(0)
    assert run.producer.flush(30) == 0
    run.ledger.check_reports(expect_delivered=True)
    eos = run.eos()
    assert eos["idemp_state"] == "Assigned"
    assert eos["producer_id"] >= 0 and eos["producer_epoch"] == 0
    run.close()
    run.ledger.check_log(run.read_back(n))
    total = 0
    for p in range(3):
        batches = _stored_batches(mock.bootstrap_servers, run.topic, p)
        assert {(b.producer_id, b.producer_epoch) for b in batches} == {(eos["producer_id"], 0)}
        seqs = [(b.base_sequence, b.record_count) for b in batches]
        assert [s for s, _ in seqs] == [sum(c for _, c in seqs[:i]) for i in range(len(seqs))], seqs[:10]
        total += sum(c for _, c in seqs)
    assert total == n


# --- 2. leadership: NOT_LEADER_OR_FOLLOWER with five in flight -----------------------------------


def test_not_leader_on_five_in_flight_is_retried_in_order(client: ModuleType, mock: AnyMock) -> None:
    """The leader answers all five in-flight requests NOT_LEADER_OR_FOLLOWER: the client
    refreshes, waits for them to drain and sends them again: 20 messages delivered once, in
    order, no epoch bump, no error raised."""
    run = Run(client, mock, **FIVE_IN_FLIGHT)
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (NOT_LEADER_OR_FOLLOWER, HOLD_MS), *[(NOT_LEADER_OR_FOLLOWER, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    run.serve()
    assert _sent_together(run.produce_requests(leader)) == IN_FLIGHT
    assert mock.broker_error_stack_cnt(leader, PRODUCE) == 0
    _check_recovered(run, seqs, epoch=0, producer_id=pid)


def test_leader_moves_under_five_in_flight(client: ModuleType, mock: AnyMock) -> None:
    """The partition's leadership moves before the client knows: its five in-flight requests
    reach the old leader, which refuses them (NOT_LEADER_OR_FOLLOWER); they are sent again to
    the new leader, in order, and every message is stored once."""
    run = Run(client, mock, **FIVE_IN_FLIGHT)
    run.warm_up()
    pid = run.eos()["producer_id"]
    old = run.leaders[0]
    new = old % 3 + 1
    mock.start_request_tracking()
    mock.partition_set_leader(run.topic, 0, new)
    mock.broker_push_request_error_rtts(old, PRODUCE, (0, HOLD_MS))  # hold the first answer
    seqs = run.produce(20)
    run.serve()
    assert _sent_together(run.produce_requests(old)) == IN_FLIGHT
    assert len(run.produce_requests(new)) >= 1
    assert run.producer.list_topics(run.topic, timeout=10).topics[run.topic].partitions[0].leader == new
    _check_recovered(run, seqs, epoch=0, producer_id=pid)


# --- 3. request timeouts -------------------------------------------------------------------------


def test_request_timeout_with_five_in_flight_is_retried_in_order(client: ModuleType, mock: AnyMock) -> None:
    """The first of five in-flight requests is refused (NOT_ENOUGH_REPLICAS, so not written) but
    its answer would come only after 3 s, and the four behind it are refused as out of order:
    with socket.timeout.ms=1000 the client times the requests out, reconnects and sends them
    again; all delivered once, in order, well before the 3 s answer, without an epoch bump."""
    run = Run(client, mock, **FIVE_IN_FLIGHT, **{"socket.timeout.ms": 1000, "message.timeout.ms": 15000})
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (NOT_ENOUGH_REPLICAS, 3000), *[(OUT_OF_ORDER_SEQUENCE_NUMBER, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    took = run.serve()
    assert 0.9 < took < 2.9  # retried after the client-side timeout, not answered at 3 s
    assert _sent_together(run.produce_requests(leader), 900) == IN_FLIGHT
    _check_recovered(run, seqs, epoch=0, producer_id=pid)


@pytest.mark.parametrize("mock", ["rdpy_mock"], ids=["mock=builtin"], indirect=True)
def test_request_timeout_after_the_write_is_deduplicated_by_the_broker(client: ModuleType, mock: AnyMock) -> None:
    """The five in-flight requests are written but their answers come only after 3 s: the
    client times them out (socket.timeout.ms=1000) and sends them again; the broker recognises
    the retries (same producer id, epoch and sequences among its last five batches) and
    answers them with the offsets first assigned. Every message is stored once and its report
    names the offset it is stored at.

    rdpy's mock only: librdkafka's mock checks sequences only for transactional producers and
    stores such retries a second time (measured: the five messages appear twice)."""
    run = Run(client, mock, **FIVE_IN_FLIGHT, **{"socket.timeout.ms": 1000, "message.timeout.ms": 15000})
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(leader, PRODUCE, (0, 3000), *[(0, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    took = run.serve()
    assert 0.9 < took < 2.9
    assert _sent_together(run.produce_requests(leader), 900) == IN_FLIGHT
    reports = run.ledger.check_reports(expect_delivered=True)
    assert [reports.delivered[s].offset for s in seqs] == list(range(1, 21))
    _check_recovered(run, seqs, epoch=0, producer_id=pid)


# --- 4. OUT_OF_ORDER_SEQUENCE_NUMBER -------------------------------------------------------------


def test_out_of_order_sequence_at_the_head_is_fatal(client: ModuleType, mock: AnyMock) -> None:
    """The first in-flight request, whose sequence is the next the producer expects to be
    acknowledged, is answered OUT_OF_ORDER_SEQUENCE_NUMBER (and the four behind it too): the
    producer and broker disagree, so the idempotent producer raises a fatal error.

    confluent-kafka: the next poll() raises KafkaException(OUT_OF_ORDER_SEQUENCE_NUMBER,
    fatal() True, "ProduceRequest for T [0] with 1 message(s) failed due to sequence
    desynchronization with broker B (...)") once; the first message's report carries
    OUT_OF_ORDER_SEQUENCE_NUMBER, every other message's _PURGE_QUEUE (those in flight too),
    none of them fatal(); produce() raises KafkaException(_FATAL) from then on; later
    poll()/flush() do not raise again; the statistics say idemp_state FatalError. Nothing after
    the warm-up is stored."""
    run = Run(client, mock, **FIVE_IN_FLIGHT)
    run.warm_up()
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (OUT_OF_ORDER_SEQUENCE_NUMBER, HOLD_MS),
        *[(OUT_OF_ORDER_SEQUENCE_NUMBER, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    run.serve()
    assert _sent_together(run.produce_requests(leader)) == IN_FLIGHT
    assert len(run.raised) == 1
    fatal = run.raised[0]
    assert (fatal.code(), fatal.fatal()) == (client.KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, True)
    assert fatal.str().startswith(
        f"ProduceRequest for {run.topic} [0] with 1 message(s) failed due to sequence "
        f"desynchronization with broker {leader} ("), fatal.str()
    codes = run.ledger.check_reports().codes()
    assert [codes[s] for s in seqs] == [client.KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER] + [
        client.KafkaError._PURGE_QUEUE] * (len(seqs) - 1)
    assert len(run.reports) == len(seqs) and not any(r.err.fatal() for r in run.reports.items)
    with pytest.raises(client.KafkaException) as excinfo:
        run.ledger.produce(run.producer, run.topic, b"after", partition=0)
    assert excinfo.value.args[0].code() == client.KafkaError._FATAL
    assert run.producer.flush(5) == 0  # raises no more
    assert run.eos()["idemp_state"] == "FatalError"
    run.ledger.check_reports()
    run.close()
    run.ledger.check_log(run.read_back(1))  # the warm-up alone


def test_out_of_order_sequence_behind_a_failed_request_recovers(client: ModuleType, mock: AnyMock) -> None:
    """The first in-flight request is refused with a retriable error (NOT_ENOUGH_REPLICAS) and
    the four behind it, no longer in sequence, OUT_OF_ORDER_SEQUENCE_NUMBER: not the head of
    line, so not fatal. The producer drains, bumps its epoch itself (same producer id, epoch
    1, no InitProducerId), restarts the sequences at 0 and sends everything again: 20
    messages delivered once, in order."""
    run = Run(client, mock, **FIVE_IN_FLIGHT)
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (NOT_ENOUGH_REPLICAS, HOLD_MS), *[(OUT_OF_ORDER_SEQUENCE_NUMBER, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    run.serve()
    assert _sent_together(run.produce_requests(leader)) == IN_FLIGHT
    _check_recovered(run, seqs, epoch=1, producer_id=pid)
    batches = _stored_batches(mock.bootstrap_servers, run.topic, 0)
    assert [(b.producer_epoch, b.base_sequence) for b in batches[:2]] == [(0, 0), (1, 0)]


# --- 5. DUPLICATE_SEQUENCE_NUMBER ----------------------------------------------------------------


def test_duplicate_sequence_after_a_timed_out_write_counts_as_delivered(client: ModuleType, mock: AnyMock) -> None:
    """The five in-flight requests are written but answered only after 3 s; the client times
    them out (socket.timeout.ms=1000) and sends them again, and the broker answers each retry
    DUPLICATE_SEQUENCE_NUMBER: those messages are reported delivered, without error and with no
    offset (confluent-kafka's Message.offset() is None), and the log holds each once, in
    order."""
    run = Run(client, mock, **FIVE_IN_FLIGHT, **{"socket.timeout.ms": 1000, "message.timeout.ms": 15000})
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (0, 3000), *[(0, 0)] * (IN_FLIGHT - 1), *[(DUPLICATE_SEQUENCE_NUMBER, 0)] * IN_FLIGHT)
    seqs = run.produce(20)
    took = run.serve()
    assert 0.9 < took < 2.9
    assert _sent_together(run.produce_requests(leader), 900) == IN_FLIGHT
    assert mock.broker_error_stack_cnt(leader, PRODUCE) == 0  # the retries met the duplicates
    reports = run.ledger.check_reports(expect_delivered=True)
    assert [reports.delivered[s].offset for s in seqs[:IN_FLIGHT]] == [None] * IN_FLIGHT
    assert [reports.delivered[s].offset for s in seqs[IN_FLIGHT:]] == list(range(IN_FLIGHT + 1, 21))
    _check_recovered(run, seqs, epoch=0, producer_id=pid)


# --- 6. UNKNOWN_PRODUCER_ID ----------------------------------------------------------------------


def test_unknown_producer_id_on_first_sends_bumps_the_epoch_locally(client: ModuleType, mock: AnyMock) -> None:
    """The broker has lost the producer's state: the five in-flight requests, none of them a
    retry, are answered UNKNOWN_PRODUCER_ID. Nothing is outstanding that could be duplicated,
    so the producer bumps its epoch itself (KIP-360 without a coordinator: same producer id,
    epoch 1, no InitProducerId request) and sends them again from sequence 0: 20 messages
    delivered once, in order, no error raised."""
    run = Run(client, mock, **FIVE_IN_FLIGHT)
    run.warm_up()
    pid = run.eos()["producer_id"]
    leader = run.leaders[0]
    mock.start_request_tracking()
    mock.broker_push_request_error_rtts(
        leader, PRODUCE, (UNKNOWN_PRODUCER_ID, HOLD_MS), *[(UNKNOWN_PRODUCER_ID, 0)] * (IN_FLIGHT - 1))
    seqs = run.produce(20)
    run.serve()
    assert _sent_together(run.produce_requests(leader)) == IN_FLIGHT
    _check_recovered(run, seqs, epoch=1, producer_id=pid)
    batches = _stored_batches(mock.bootstrap_servers, run.topic, 0)
    assert [(b.producer_epoch, b.base_sequence) for b in batches[:2]] == [(0, 0), (1, 0)]


# --- 7. configuration conflicts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conf", "text"),
    [
        ({"acks": 1}, "`acks` must be set to `all` when `enable.idempotence` is true"),
        ({"acks": 0}, "`acks` must be set to `all` when `enable.idempotence` is true"),
        ({"max.in.flight.requests.per.connection": 6},
         "`max.in.flight` must be set <= 5 when `enable.idempotence` is true"),
        ({"retries": 0}, "`retries` must be set >= 1 when `enable.idempotence` is true"),
    ],
    ids=["acks=1", "acks=0", "max.in.flight=6", "retries=0"],
)
def test_conflicting_configuration_is_refused(client: ModuleType, conf: dict[str, Any], text: str) -> None:
    """confluent-kafka: KafkaException(_INVALID_ARG, "Failed to create producer: <text>")."""
    with pytest.raises(client.KafkaException) as excinfo:
        client.Producer({"bootstrap.servers": "127.0.0.1:9", "enable.idempotence": True, **conf})
    err = excinfo.value.args[0]
    assert (err.code(), err.str()) == (client.KafkaError._INVALID_ARG, f"Failed to create producer: {text}")
    assert not err.fatal()


@pytest.mark.parametrize("conf", [{"acks": "all"}, {"acks": -1}, {"max.in.flight.requests.per.connection": 5}],
                         ids=["acks=all", "acks=-1", "max.in.flight=5"])
def test_compatible_configuration_is_accepted(client: ModuleType, conf: dict[str, Any]) -> None:
    client.Producer({"bootstrap.servers": "127.0.0.1:9", "enable.idempotence": True, **QUIET, **conf}).close()
