"""What the consumer does with each broker error, per request kind, as librdkafka's handlers
decide (rdpy.errors.err_action() tables): which errors are handled silently (metadata or
coordinator looked up again, request retried), which are reported -- once, with which code and
text -- and whether the partition goes on, starts at auto.offset.reset's position, or stays
stopped. The errors are injected with the mock clusters' push_request_errors (the next N
requests of an API key, to any broker, fail with the codes given), on rdpy's mock and on
librdkafka's; a transport error (the broker drops the connection) only on librdkafka's, whose
mock can inject one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from rdpy.protocol.messages import (
    FetchRequest,
    FindCoordinatorRequest,
    ListOffsetsRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
)
from tests.integration.consumer._util import (
    check_consumed,
    consumer_conf,
    mock_topic,
    produce,
    produce_seq,
    seq_expected,
)
from tests.support.clients import has_capability
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

_FETCH = FetchRequest.API_KEY
_LIST_OFFSETS = ListOffsetsRequest.API_KEY
_OFFSET_COMMIT = OffsetCommitRequest.API_KEY
_OFFSET_FETCH = OffsetFetchRequest.API_KEY
_FIND_COORDINATOR = FindCoordinatorRequest.API_KEY

N = 10  # records in the test partition
LEADER = 2  # its leader


@pytest.fixture(params=["rdpy_mock", pytest.param("librdkafka_mock", marks=pytest.mark.mockcluster)])
def cluster(request: pytest.FixtureRequest) -> Any:
    """A fresh 3-broker mock cluster: rdpy's or librdkafka's (the latter tracking requests,
    for sent())."""
    mock = request.getfixturevalue(request.param)
    if isinstance(mock, LibrdkafkaMockCluster):
        mock.start_request_tracking()
    return mock


def sent(cluster: Any, api_key: int) -> int:
    """How many requests of `api_key` the cluster's brokers received so far."""
    if isinstance(cluster, LibrdkafkaMockCluster):
        return sum(1 for r in cluster.get_requests() if r.api_key == api_key)
    return int(cluster.request_count(api_key))


def _topic(cluster: Any) -> str:
    """A new topic of one partition, led by broker LEADER, holding produce_seq's records 0..N-1."""
    topic = mock_topic(cluster, "erract", 1)
    cluster.partition_set_leader(topic, 0, LEADER)
    produce_seq(cluster.bootstrap_servers, topic, 1, N)
    return topic


def _conf(cluster: Any, **extra: Any) -> dict[str, Any]:
    return consumer_conf(cluster.bootstrap_servers, **{"fetch.error.backoff.ms": 100, **extra})


def _code(ck: ModuleType, name: str) -> int:
    return int(getattr(ck.KafkaError, name))


def _read(consumer: Any, want: int, seconds: float, quiet: float = 0.3) -> tuple[list[Any], list[Any]]:
    """poll() until `want` messages were read or `seconds` passed, then `quiet` seconds more;
    (messages, error events) in the order returned."""
    msgs: list[Any] = []
    errors: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(msgs) < want:
        m = consumer.poll(0.1)
        if m is not None:
            (errors if m.error() is not None else msgs).append(m)
    deadline = time.monotonic() + quiet
    while time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is not None:
            (errors if m.error() is not None else msgs).append(m)
    return msgs, errors


def _events(errors: list[Any]) -> list[tuple[int, str, str | None]]:
    return [(m.error().code(), m.error().str(), m.topic()) for m in errors]


def _all_of_it(msgs: list[Any], topic: str, start: int = 0) -> None:
    """Records start..N-1 of the test partition, each once, in order, with their values."""
    offsets, values = seq_expected({0: list(range(N))}, {0: start})
    check_consumed(msgs, {(topic, 0): offsets[0]}, values={(topic, 0): values[0]})


def _connected(consumer: Any, ck: ModuleType, topic: str) -> None:
    """The consumer knows the topic's leader and is connected to it (a watermark lookup), so
    the next Fetch/ListOffsets requests are the ones a test's injected errors hit."""
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, N)


def _knows_coordinator(consumer: Any, ck: ModuleType, topic: str) -> None:
    """The consumer found its group coordinator (a committed() lookup, none committed yet)."""
    got = consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
    assert [(tp.offset, tp.error) for tp in got] == [(ck.OFFSET_INVALID, None)]


# --- Fetch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["NOT_LEADER_FOR_PARTITION", "BROKER_NOT_AVAILABLE", "UNKNOWN_TOPIC_ID"])
def test_fetch_error_that_refreshes_is_silent(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any, name: str
) -> None:
    """A Fetch partition error the table marks REFRESH (the leader is looked up again) is
    never shown to the application: every record arrives, once, in order, no error event."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster))
    _connected(consumer, ck, topic)
    before = sent(cluster, _FETCH)
    cluster.push_request_errors(_FETCH, _code(ck, name), _code(ck, name))
    consumer.assign([ck.TopicPartition(topic, 0, 0)])
    msgs, errors = _read(consumer, N, 10)
    assert _events(errors) == []
    _all_of_it(msgs, topic)
    assert sent(cluster, _FETCH) - before >= 3, "both injected errors were answered"


def test_fetch_topic_authorization_failed_is_reported_once(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """TOPIC_AUTHORIZATION_FAILED on two fetches in a row: one error event for the partition
    (librdkafka's rktp_last_error suppresses the repeat), then the fetch goes on and every
    record arrives."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster))
    _connected(consumer, ck, topic)
    before = sent(cluster, _FETCH)
    code = ck.KafkaError.TOPIC_AUTHORIZATION_FAILED
    cluster.push_request_errors(_FETCH, code, code)
    consumer.assign([ck.TopicPartition(topic, 0, 0)])
    msgs, errors = _read(consumer, N, 10)
    assert [(m.error().code(), m.error().str(), m.topic(), m.partition(), m.offset()) for m in errors] == [
        (code, f"Fetch from broker {LEADER} failed: Broker: Topic authorization failed", topic, 0, 0)]
    _all_of_it(msgs, topic)
    assert sent(cluster, _FETCH) - before >= 3, "both injected errors were answered"


# --- ListOffsets (a logical start offset resolved in the background) --------------------------


def test_list_offsets_permanent_error_resets_to_auto_offset_reset(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """Starting at OFFSET_END, the ListOffsets answer UNKNOWN_TOPIC_OR_PART (PERMANENT): the
    error is reported -- worded after the reset, so naming the offset now looked up -- and
    auto.offset.reset applies: consumption starts at the beginning."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "earliest"}))
    _connected(consumer, ck, topic)
    code = ck.KafkaError.UNKNOWN_TOPIC_OR_PART
    cluster.push_request_errors(_LIST_OFFSETS, code)
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_END)])
    msgs, errors = _read(consumer, N, 10)
    assert _events(errors) == [
        (code, "Failed to query logical offset BEGINNING: Broker: Unknown topic or partition", topic)]
    _all_of_it(msgs, topic)


def test_list_offsets_permanent_error_with_auto_offset_reset_error(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """The same with auto.offset.reset=error: _AUTO_OFFSET_RESET, then the error itself, and
    the partition stays stopped (records produced afterwards are not read)."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "error"}))
    _connected(consumer, ck, topic)
    code = ck.KafkaError.UNKNOWN_TOPIC_OR_PART
    cluster.push_request_errors(_LIST_OFFSETS, code)
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_END)])
    msgs, errors = _read(consumer, 1, 1.5)
    assert _events(errors) == [
        (ck.KafkaError._AUTO_OFFSET_RESET,
         f"failed to query logical offset: Broker: Unknown topic or partition (broker {LEADER})", topic),
        (code, "Failed to query logical offset END: Broker: Unknown topic or partition", topic),
    ]
    assert msgs == []
    produce(cluster.bootstrap_servers, topic, [{"value": b"later", "partition": 0}] * 3)
    msgs, errors = _read(consumer, 1, 1.5)
    assert (msgs, errors) == ([], [])


@pytest.mark.parametrize("name", ["NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT"])
def test_list_offsets_retriable_error_is_asked_again_silently(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any, name: str
) -> None:
    """Starting at OFFSET_BEGINNING, a ListOffsets error the table marks REFRESH or RETRY:
    asked again, nothing reported, every record read."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "error"}))
    _connected(consumer, ck, topic)
    before = sent(cluster, _LIST_OFFSETS)
    cluster.push_request_errors(_LIST_OFFSETS, _code(ck, name))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    msgs, errors = _read(consumer, N, 10)
    assert _events(errors) == []
    _all_of_it(msgs, topic)
    assert sent(cluster, _LIST_OFFSETS) - before >= 2


# --- offsets_for_times / get_watermark_offsets ------------------------------------------------


def test_offset_lookup_permanent_error_raises_at_once(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """UNKNOWN_TOPIC_OR_PART (PERMANENT for ListOffsets) is raised at once, not retried until
    the 10 s timeout.

    get_watermark_offsets sends two ListOffsets at once (low and high watermark), and both
    fail here: librdkafka 2.16 loses the error of one when the other's success is served in
    the same pass of its reply queue (rd_kafka_query_wmark_offsets_resp_cb overwrites
    state->err), and returns (high, high) instead of raising."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster))
    _connected(consumer, ck, topic)
    code = ck.KafkaError.UNKNOWN_TOPIC_OR_PART
    calls: list[tuple[Callable[[], Any], str, int]] = [
        (lambda: consumer.offsets_for_times([ck.TopicPartition(topic, 0, -1)], timeout=10), "offsets", 1),
        (lambda: consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10), "watermark offsets", 2),
    ]
    for call, what, requests in calls:
        cluster.push_request_errors(_LIST_OFFSETS, *[code] * requests)
        t0 = time.monotonic()
        with pytest.raises(ck.KafkaException) as info:
            call()
        took = time.monotonic() - t0
        assert (info.value.args[0].code(), info.value.args[0].str()) == (
            code, f"Failed to get {what}: Broker: Unknown topic or partition")
        assert took < 2.0, f"{what}: raised after {took:.1f} s"
    # Nothing was left broken: the lookups work again.
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, N)


@pytest.mark.parametrize(
    ("cluster", "name"),
    [
        ("rdpy_mock", "REQUEST_TIMED_OUT"),
        pytest.param("librdkafka_mock", "REQUEST_TIMED_OUT", marks=pytest.mark.mockcluster),
        # The broker drops the connection: only librdkafka's mock injects a transport error.
        pytest.param("librdkafka_mock", "_TRANSPORT", marks=pytest.mark.mockcluster),
    ],
    indirect=["cluster"],
)
def test_offset_lookup_retriable_error_is_retried_within_the_timeout(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any, name: str
) -> None:
    """A RETRY error for ListOffsets answers one lookup request: the request is sent again and
    the call returns the right answer, well within its timeout. (offsets_for_times asks for
    timestamp -1, the latest offset: librdkafka's mock looks up no other timestamps.)"""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster))
    _connected(consumer, ck, topic)
    code = _code(ck, name)
    before = sent(cluster, _LIST_OFFSETS)
    cluster.push_request_errors(_LIST_OFFSETS, code)
    t0 = time.monotonic()
    got = consumer.offsets_for_times([ck.TopicPartition(topic, 0, -1)], timeout=10)
    answered = [(tp.topic, tp.partition, tp.offset, tp.error) for tp in got]
    if name == "_TRANSPORT" or has_capability(ck, "answers_retried_offsets_for_times"):
        assert answered == [(topic, 0, N, None)]
    else:  # librdkafka: the first (failed) answer is what the call returns
        assert [(t, p, o, e.code()) for t, p, o, e in answered] == [(topic, 0, -1, code)]
    assert time.monotonic() - t0 < 5.0
    assert sent(cluster, _LIST_OFFSETS) - before >= 2
    before = sent(cluster, _LIST_OFFSETS)
    cluster.push_request_errors(_LIST_OFFSETS, code)
    t0 = time.monotonic()
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, N)
    assert time.monotonic() - t0 < 5.0
    assert sent(cluster, _LIST_OFFSETS) - before >= 2


# --- OffsetFetch (committed offsets) ----------------------------------------------------------


def _offset_fetch_failed(cluster: Any, group: str, topic: str, code: int, text: str) -> list[tuple[int, str, str | None]]:
    """The error events of an assignment's OffsetFetch failed with `code` (librdkafka's
    rd_kafka_assignment_handle_OffsetFetch): one for the request, counting the partitions in
    the answer, then one per partition the answer gives the error too. rdpy's mock answers a
    group-level error as Kafka does, with no partitions; librdkafka's mock puts the error on
    every partition asked as well."""
    if isinstance(cluster, LibrdkafkaMockCluster):
        return [
            (code, f'Failed to fetch committed offsets for 1 partition(s) in group "{group}": Broker: {text}', None),
            (code, f'Failed to fetch committed offset for group "{group}" topic {topic} [0]: Broker: {text}', topic),
        ]
    return [(code, f'Failed to fetch committed offsets for 0 partition(s) in group "{group}": Broker: {text}', None)]


def test_offset_fetch_permanent_error_at_assignment(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """Assigned at its committed offset, the OffsetFetch answers GROUP_AUTHORIZATION_FAILED
    (PERMANENT): one consumer error, and the partition is not started (nothing read, though
    the topic holds records) until it is assigned again."""
    ck = consumer_client
    topic = _topic(cluster)
    conf = _conf(cluster, **{"auto.offset.reset": "earliest"})
    consumer = make_consumer(conf)
    _connected(consumer, ck, topic)
    _knows_coordinator(consumer, ck, topic)
    code = ck.KafkaError.GROUP_AUTHORIZATION_FAILED
    cluster.push_request_errors(_OFFSET_FETCH, code)
    consumer.assign([ck.TopicPartition(topic, 0)])
    msgs, errors = _read(consumer, 1, 2.0)
    assert _events(errors) == _offset_fetch_failed(cluster, conf["group.id"], topic, code, "Group authorization failed")
    assert msgs == []
    # Assigned again: its committed offset is asked for again (none: auto.offset.reset).
    consumer.assign([ck.TopicPartition(topic, 0)])
    msgs, errors = _read(consumer, N, 10)
    assert _events(errors) == []
    _all_of_it(msgs, topic)


def test_offset_fetch_retriable_error_at_assignment(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """COORDINATOR_LOAD_IN_PROGRESS (RETRY): asked again silently; the partition starts at
    its committed offset."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "error"}))
    _connected(consumer, ck, topic)
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 4)], asynchronous=False)
    before = sent(cluster, _OFFSET_FETCH)
    cluster.push_request_errors(_OFFSET_FETCH, ck.KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    consumer.assign([ck.TopicPartition(topic, 0)])
    msgs, errors = _read(consumer, N - 4, 10)
    assert _events(errors) == []
    _all_of_it(msgs, topic, start=4)
    assert sent(cluster, _OFFSET_FETCH) - before >= 2


def test_offset_fetch_not_coordinator_at_assignment(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """NOT_COORDINATOR on the OffsetFetch for an assignment. librdkafka reports it and never
    starts the partition; rdpy (capability requeries_coordinator_for_committed_offsets) looks
    the coordinator up again, asks again, and starts at the committed offset silently."""
    ck = consumer_client
    topic = _topic(cluster)
    conf = _conf(cluster, **{"auto.offset.reset": "error"})
    consumer = make_consumer(conf)
    _connected(consumer, ck, topic)
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 4)], asynchronous=False)
    lookups = sent(cluster, _FIND_COORDINATOR)
    code = ck.KafkaError.NOT_COORDINATOR
    cluster.push_request_errors(_OFFSET_FETCH, code)
    consumer.assign([ck.TopicPartition(topic, 0)])
    if has_capability(ck, "requeries_coordinator_for_committed_offsets"):
        msgs, errors = _read(consumer, N - 4, 10)
        assert _events(errors) == []
        _all_of_it(msgs, topic, start=4)
        assert sent(cluster, _FIND_COORDINATOR) > lookups
    else:
        msgs, errors = _read(consumer, 1, 2.0)
        assert _events(errors) == _offset_fetch_failed(cluster, conf["group.id"], topic, code, "Not coordinator")
        assert msgs == []


def test_committed_permanent_error_raises_at_once(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """committed() answered GROUP_AUTHORIZATION_FAILED raises it at once (not after its 10 s
    timeout); answered COORDINATOR_LOAD_IN_PROGRESS it asks again and returns the offset."""
    ck = consumer_client
    topic = _topic(cluster)
    consumer = make_consumer(_conf(cluster))
    _knows_coordinator(consumer, ck, topic)
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 6)], asynchronous=False)
    code = ck.KafkaError.GROUP_AUTHORIZATION_FAILED
    cluster.push_request_errors(_OFFSET_FETCH, code)
    t0 = time.monotonic()
    with pytest.raises(ck.KafkaException) as info:
        consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
    took = time.monotonic() - t0
    assert (info.value.args[0].code(), info.value.args[0].str()) == (
        code, "Failed to get committed offsets: Broker: Group authorization failed")
    assert took < 2.0, f"raised after {took:.1f} s"
    before = sent(cluster, _OFFSET_FETCH)
    cluster.push_request_errors(_OFFSET_FETCH, ck.KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    got = consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in got] == [(topic, 0, 6, None)]
    assert sent(cluster, _OFFSET_FETCH) - before >= 2


# --- OffsetCommit -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["COORDINATOR_LOAD_IN_PROGRESS", "REQUEST_TIMED_OUT", "NOT_COORDINATOR"])
def test_offset_commit_retriable_error_once_then_committed(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any, name: str
) -> None:
    """One OffsetCommit answered with an error the table retries: the commit is sent again and
    succeeds, synchronous (its result) and asynchronous (on_commit) alike; NOT_COORDINATOR
    also makes the consumer look the coordinator up again."""
    ck = consumer_client
    topic = _topic(cluster)
    results: list[tuple[Any, list[tuple[str, int, int, Any]]]] = []

    def on_commit(err: Any, partitions: Any) -> None:
        results.append((err, [(tp.topic, tp.partition, tp.offset, tp.error) for tp in partitions]))

    consumer = make_consumer(_conf(cluster, on_commit=on_commit))
    _knows_coordinator(consumer, ck, topic)
    code = _code(ck, name)

    commits, lookups = sent(cluster, _OFFSET_COMMIT), sent(cluster, _FIND_COORDINATOR)
    cluster.push_request_errors(_OFFSET_COMMIT, code)
    res = consumer.commit(offsets=[ck.TopicPartition(topic, 0, 3)], asynchronous=False)
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in res] == [(topic, 0, 3, None)]
    assert sent(cluster, _OFFSET_COMMIT) - commits == 2
    if name == "NOT_COORDINATOR":
        assert sent(cluster, _FIND_COORDINATOR) > lookups, "the coordinator was looked up again"

    commits, lookups = sent(cluster, _OFFSET_COMMIT), sent(cluster, _FIND_COORDINATOR)
    cluster.push_request_errors(_OFFSET_COMMIT, code)
    assert consumer.commit(offsets=[ck.TopicPartition(topic, 0, 5)], asynchronous=True) is None
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        consumer.poll(0.1)
    assert results == [(None, [(topic, 0, 5, None)])]
    assert sent(cluster, _OFFSET_COMMIT) - commits == 2
    if name == "NOT_COORDINATOR":
        assert sent(cluster, _FIND_COORDINATOR) > lookups, "the coordinator was looked up again"
    got = consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
    assert [(tp.offset, tp.error) for tp in got] == [(5, None)]


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("OFFSET_METADATA_TOO_LARGE", 1),  # PERMANENT: not retried
        ("REBALANCE_IN_PROGRESS", 1),  # PERMANENT
        ("COORDINATOR_LOAD_IN_PROGRESS", 3),  # RETRY, but only twice (the request's retries)
    ],
)
def test_offset_commit_that_fails_for_good(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any, name: str, errors: int
) -> None:
    """An OffsetCommit error the table marks PERMANENT, or a retried one still there after the
    two retries: the commit fails with it. A synchronous commit raises KafkaException ("Commit
    failed: ..."; librdkafka's rd_kafka_commit returns a partition's error); an asynchronous
    one tells on_commit the error, with it on the partition too. Nothing is committed."""
    ck = consumer_client
    topic = _topic(cluster)
    results: list[tuple[Any, list[tuple[str, int, int, Any]]]] = []

    def on_commit(err: Any, partitions: Any) -> None:
        results.append((err, [(tp.topic, tp.partition, tp.offset, tp.error) for tp in partitions]))

    consumer = make_consumer(_conf(cluster, on_commit=on_commit))
    _knows_coordinator(consumer, ck, topic)
    code = _code(ck, name)
    text = ck.KafkaError(code).str()

    commits = sent(cluster, _OFFSET_COMMIT)
    cluster.push_request_errors(_OFFSET_COMMIT, *[code] * errors)
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 5)], asynchronous=True)
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        consumer.poll(0.1)
    assert [(err.code(), err.str(), [(t, p, o, e.code()) for t, p, o, e in parts]) for err, parts in results] == [
        (code, text, [(topic, 0, 5, code)])]
    assert sent(cluster, _OFFSET_COMMIT) - commits == errors

    commits = sent(cluster, _OFFSET_COMMIT)
    cluster.push_request_errors(_OFFSET_COMMIT, *[code] * errors)
    with pytest.raises(ck.KafkaException) as info:
        consumer.commit(offsets=[ck.TopicPartition(topic, 0, 3)], asynchronous=False)
    assert (info.value.args[0].code(), info.value.args[0].str()) == (code, f"Commit failed: {text}")
    assert sent(cluster, _OFFSET_COMMIT) - commits == errors
    assert results == [results[0]], "on_commit is not told of a synchronous commit"
    got = consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
    assert [(tp.offset, tp.error) for tp in got] == [(ck.OFFSET_INVALID, None)]


# --- FindCoordinator --------------------------------------------------------------------------


def test_find_coordinator_permanent_error_reported_once_per_distinct_error(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """FindCoordinator answered GROUP_AUTHORIZATION_FAILED twice, then CLUSTER_AUTHORIZATION_
    FAILED: one consumer error per distinct error in a row; the lookup goes on (on its
    interval) and, once answered, the partition starts at auto.offset.reset's position."""
    ck = consumer_client
    topic = _topic(cluster)
    group_auth, cluster_auth = ck.KafkaError.GROUP_AUTHORIZATION_FAILED, ck.KafkaError.CLUSTER_AUTHORIZATION_FAILED
    cluster.push_request_errors(_FIND_COORDINATOR, group_auth, group_auth, cluster_auth)
    before = sent(cluster, _FIND_COORDINATOR)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "earliest"}))
    consumer.assign([ck.TopicPartition(topic, 0)])
    msgs, errors = _read(consumer, N, 10)
    assert _events(errors) == [
        (group_auth, "FindCoordinator response error: Broker: Group authorization failed", None),
        (cluster_auth, "FindCoordinator response error: Broker: Cluster authorization failed", None),
    ]
    _all_of_it(msgs, topic)
    assert sent(cluster, _FIND_COORDINATOR) - before >= 4


def test_find_coordinator_failing_for_a_while_is_not_asked_in_a_loop(
    consumer_client: ModuleType, make_consumer: Any, cluster: Any
) -> None:
    """While every FindCoordinator fails, lookups go out on an interval (rdpy: retry.backoff.ms;
    librdkafka: its coordinator query interval), not as fast as the client can send them (a
    main thread that woke itself after each failure spun at 100% CPU, ~160 lookups/s)."""
    ck = consumer_client
    topic = _topic(cluster)
    cluster.push_request_errors(_FIND_COORDINATOR, *[ck.KafkaError.COORDINATOR_NOT_AVAILABLE] * 200)
    consumer = make_consumer(_conf(cluster, **{"auto.offset.reset": "earliest"}))
    consumer.assign([ck.TopicPartition(topic, 0)])
    before = sent(cluster, _FIND_COORDINATOR)
    msgs, _ = _read(consumer, 1, 2.0, quiet=0)
    assert msgs == []  # no coordinator yet
    lookups = sent(cluster, _FIND_COORDINATOR) - before
    assert 1 <= lookups <= 30, f"{lookups} FindCoordinator requests in 2 s"
