"""The mock cluster's state and request handlers (rdpy.mock.state, rdpy.mock.handlers), driven
with decoded requests and no sockets."""

from __future__ import annotations

from typing import Any

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import handlers as h
from rdpy.mock.log import AbortedTxn, BrokerError
from rdpy.mock.groups import CommittedOffset
from rdpy.mock.state import COORDINATOR_GROUP, COORDINATOR_TRANSACTION, ClusterState
from rdpy.mock.transactions import TxnState
from rdpy.protocol.messages import add_partitions_to_txn as m_apt
from rdpy.protocol.messages import fetch as m_f
from rdpy.protocol.messages import metadata as m_md
from rdpy.protocol.messages import offset_commit as m_oc
from rdpy.protocol.messages import offset_fetch as m_of
from rdpy.protocol.messages import produce as m_p
from rdpy.records import RecordBatchBuilder

T0 = 1_700_000_000_000


def cluster(brokers: int = 3, **kw: Any) -> ClusterState:
    state = ClusterState(**kw)
    for i in range(1, brokers + 1):
        state.add_broker(i, "127.0.0.1", 9000 + i)
    return state


def ctx(state: ClusterState, broker: int, version: int, *, injected: int = 0,
        may_wait: bool = True) -> h.RequestContext:
    return h.RequestContext(state, broker, version, injected, T0, may_wait)


def batch(n: int = 1, **kw: Any) -> bytes:
    b = RecordBatchBuilder(**kw)
    for i in range(n):
        b.append(T0 + i, None, b"v%d" % i)
    return b.build()


def code(e: pytest.ExceptionInfo[BrokerError]) -> ErrorCode:
    return ErrorCode(e.value.code)


# --- topics, leaders, coordinators ------------------------------------------------------------


def test_topics_spread_leaders_and_replicas_over_the_brokers() -> None:
    state = cluster()
    topic = state.create_topic("t", 4, 2)
    assert [(p.leader, p.replicas) for p in topic.partitions] == [
        (1, [1, 2]), (2, [2, 3]), (3, [3, 1]), (1, [1, 2])]
    default = state.create_topic("d")
    assert len(default.partitions) == 4 and len(default.partitions[0].replicas) == 3


@pytest.mark.parametrize("name, partitions, rf, err", [
    ("bad name", 1, 1, ErrorCode.TOPIC_EXCEPTION),
    ("..", 1, 1, ErrorCode.TOPIC_EXCEPTION),
    ("t", 0, 1, ErrorCode.INVALID_PARTITIONS),
    ("t", 1, 4, ErrorCode.INVALID_REPLICATION_FACTOR),
])
def test_create_topic_refuses_what_kafka_refuses(name: str, partitions: int, rf: int,
                                                 err: ErrorCode) -> None:
    with pytest.raises(BrokerError) as e:
        cluster().create_topic(name, partitions, rf)
    assert code(e) == err


def test_create_topic_twice_is_topic_already_exists() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    with pytest.raises(BrokerError) as e:
        state.create_topic("t", 1, 1)
    assert code(e) == ErrorCode.TOPIC_ALREADY_EXISTS


def test_moving_a_leader_bumps_its_epoch_and_the_state_version() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    before = state.version
    state.set_leader("t", 0, 3)
    part = state.partition("t", 0)
    assert part is not None and (part.leader, part.leader_epoch, part.replicas) == (3, 1, [1, 3])
    assert state.version > before
    with pytest.raises(KeyError):
        state.set_leader("t", 0, 9)


def test_coordinators_are_stable_and_skip_brokers_that_are_down() -> None:
    state = cluster()
    chosen = state.coordinator(COORDINATOR_GROUP, "g")
    assert all(state.coordinator(COORDINATOR_GROUP, "g") == chosen for _ in range(3))
    assert len({state.coordinator(COORDINATOR_TRANSACTION, f"tx{i}") for i in range(30)}) == 3
    state.set_broker_up(chosen, False)
    moved = state.coordinator(COORDINATOR_GROUP, "g")
    assert moved != chosen and state.brokers[moved].up
    state.set_broker_up(chosen, True)
    assert state.coordinator(COORDINATOR_GROUP, "g") == chosen


# --- producer ids and transactions ------------------------------------------------------------


def test_idempotent_producers_get_a_fresh_id_every_time() -> None:
    state = cluster()
    a = state.init_producer_id(None, 0, -1, -1, T0)
    b = state.init_producer_id(None, 0, -1, -1, T0)
    assert a[1] == b[1] == 0 and a[0] != b[0]


def test_reinitialising_a_transactional_id_bumps_the_epoch_and_aborts_the_open_transaction() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    pid, epoch = state.init_producer_id("tx", 60000, -1, -1, T0)
    txn = state.transaction("tx", pid, epoch, state.coordinator(COORDINATOR_TRANSACTION, "tx"))
    state.add_partitions_to_txn(txn, [("t", 0)])
    part = state.partition("t", 0)
    assert part is not None
    part.log.append(batch(2, producer_id=pid, producer_epoch=epoch, base_sequence=0,
                          transactional=True))
    assert part.log.last_stable_offset == 0
    assert state.init_producer_id("tx", 60000, -1, -1, T0) == (pid, epoch + 1)
    assert part.log.aborted_transactions == (AbortedTxn(pid, 0, 2),)
    assert part.log.last_stable_offset == part.log.high_watermark == 3
    assert txn.state is TxnState.EMPTY
    with pytest.raises(BrokerError) as e:  # KIP-360: the old epoch is fenced
        state.init_producer_id("tx", 60000, pid, epoch, T0)
    assert code(e) == ErrorCode.INVALID_PRODUCER_EPOCH
    with pytest.raises(BrokerError) as e:
        state.init_producer_id("tx", 0, -1, -1, T0)
    assert code(e) == ErrorCode.INVALID_TRANSACTION_TIMEOUT


def test_coordinator_requests_check_coordinator_producer_id_and_epoch() -> None:
    state = cluster()
    pid, epoch = state.init_producer_id("tx", 60000, -1, -1, T0)
    coord = state.coordinator(COORDINATOR_TRANSACTION, "tx")
    other = next(b for b in state.brokers if b != coord)
    for args, err in [(("tx", pid, epoch, other), ErrorCode.NOT_COORDINATOR),
                      (("nope", pid, epoch, state.coordinator(COORDINATOR_TRANSACTION, "nope")),
                       ErrorCode.INVALID_PRODUCER_ID_MAPPING),
                      (("tx", pid + 1, epoch, coord), ErrorCode.INVALID_PRODUCER_ID_MAPPING),
                      (("tx", pid, epoch + 1, coord), ErrorCode.INVALID_PRODUCER_EPOCH)]:
        with pytest.raises(BrokerError) as e:
            state.transaction(*args)
        assert code(e) == err, args


def test_end_txn_states_and_transactional_offsets() -> None:
    state = cluster()
    state.create_topic("t", 2, 1)
    pid, epoch = state.init_producer_id("tx", 60000, -1, -1, T0)
    txn = state.transaction("tx", pid, epoch, state.coordinator(COORDINATOR_TRANSACTION, "tx"))
    with pytest.raises(BrokerError) as e:
        state.end_txn(txn, True, T0)
    assert code(e) == ErrorCode.INVALID_TXN_STATE  # nothing was added: no transaction

    state.add_partitions_to_txn(txn, [("t", 0), ("t", 1)])
    state.add_offsets_to_txn(txn, "g")
    state.group("g").pending[pid] = {("t", 0): CommittedOffset(5, -1, "m")}
    state.end_txn(txn, True, T0)
    assert state.group("g").committed[("t", 0)].offset == 5
    assert [state.partition("t", i).log.high_watermark for i in (0, 1)] == [1, 1]  # type: ignore[union-attr]
    state.end_txn(txn, True, T0)  # a retried commit succeeds
    with pytest.raises(BrokerError) as e:
        state.end_txn(txn, False, T0)
    assert code(e) == ErrorCode.INVALID_TXN_STATE

    state.add_offsets_to_txn(txn, "g")
    state.group("g").pending[pid] = {("t", 0): CommittedOffset(9, -1, None)}
    assert state.group("g").has_pending(("t", 0))
    state.end_txn(txn, False, T0)
    assert state.group("g").committed[("t", 0)].offset == 5
    assert not state.group("g").has_pending(("t", 0))


def test_adding_an_unknown_partition_adds_nothing() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    pid, epoch = state.init_producer_id("tx", 60000, -1, -1, T0)
    coord = state.coordinator(COORDINATOR_TRANSACTION, "tx")
    req = m_apt.AddPartitionsToTxnRequest(
        v3_and_below_transactional_id="tx", v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[m_apt.AddPartitionsToTxnTopic(name="t", partitions=[0, 1])])
    resp: Any = h.handle_add_partitions_to_txn(ctx(state, coord, 3), req)
    results = {r.partition_index: r.partition_error_code
               for r in resp.results_by_topic_v3_and_below[0].results_by_partition}
    assert results == {0: ErrorCode.OPERATION_NOT_ATTEMPTED, 1: ErrorCode.UNKNOWN_TOPIC_OR_PART}
    assert state.transactions["tx"].partitions == set()


# --- handlers ---------------------------------------------------------------------------------


def fetch_request(offset: int, *, min_bytes: int = 1, max_wait: int = 500, isolation: int = 0,
                  epoch: int = -1) -> m_f.FetchRequest:
    return m_f.FetchRequest(max_wait_ms=max_wait, min_bytes=min_bytes, max_bytes=1 << 20,
                            isolation_level=isolation, topics=[m_f.FetchTopic(topic="t", partitions=[
                                m_f.FetchPartition(partition=0, fetch_offset=offset,
                                                   current_leader_epoch=epoch,
                                                   partition_max_bytes=1 << 20)])])


def produce_request(acks: int = -1) -> m_p.ProduceRequest:
    return m_p.ProduceRequest(acks=acks, timeout_ms=1000, topic_data=[m_p.TopicProduceData(
        name="t", partition_data=[m_p.PartitionProduceData(index=0, records=batch(2))])])


def test_fetch_below_min_bytes_waits_until_told_to_answer() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    assert h.handle_fetch(ctx(state, 1, 12), fetch_request(0)) == h.Wait(500)
    resp: Any = h.handle_fetch(ctx(state, 1, 12, may_wait=False), fetch_request(0))
    pd = resp.responses[0].partitions[0]
    assert (pd.error_code, pd.high_watermark, pd.records) == (0, 0, b"")
    h.handle_produce(ctx(state, 1, 9), produce_request())
    resp = h.handle_fetch(ctx(state, 1, 12), fetch_request(0))
    assert resp.responses[0].partitions[0].high_watermark == 2
    assert resp.responses[0].partitions[0].aborted_transactions is None
    committed: Any = h.handle_fetch(ctx(state, 1, 12), fetch_request(0, isolation=1))
    assert committed.responses[0].partitions[0].aborted_transactions == []


def test_fetch_errors_answer_at_once() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    state.set_leader("t", 0, 2)  # epoch 1
    for broker, req, err in [(1, fetch_request(0), ErrorCode.NOT_LEADER_OR_FOLLOWER),
                             (2, fetch_request(0, epoch=0), ErrorCode.FENCED_LEADER_EPOCH),
                             (2, fetch_request(0, epoch=2), ErrorCode.UNKNOWN_LEADER_EPOCH),
                             (2, fetch_request(1), ErrorCode.OFFSET_OUT_OF_RANGE)]:
        resp: Any = h.handle_fetch(ctx(state, broker, 12), req)
        assert resp.responses[0].partitions[0].error_code == err
    resp = h.handle_fetch(ctx(state, 2, 12, injected=ErrorCode.NOT_ENOUGH_REPLICAS), fetch_request(0))
    assert resp.error_code == ErrorCode.NOT_ENOUGH_REPLICAS


def test_produce_with_acks_0_appends_without_answering() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    assert h.handle_produce(ctx(state, 1, 9), produce_request(acks=0)) is None
    assert state.partition("t", 0).log.high_watermark == 2  # type: ignore[union-attr]
    resp: Any = h.handle_produce(ctx(state, 1, 9), produce_request(acks=2))
    assert resp.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_REQUIRED_ACKS
    resp = h.handle_produce(ctx(state, 2, 9), produce_request())
    assert resp.responses[0].partition_responses[0].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_metadata_auto_creates_only_when_allowed() -> None:
    state = cluster()
    req = m_md.MetadataRequest(topics=[m_md.MetadataRequestTopic(name="auto")],
                               allow_auto_topic_creation=False)
    resp: Any = h.handle_metadata(ctx(state, 1, 12), req)
    assert resp.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PART
    req.allow_auto_topic_creation = True
    resp = h.handle_metadata(ctx(state, 1, 12), req)
    assert (resp.topics[0].error_code, len(resp.topics[0].partitions)) == (0, 4)
    assert [b.node_id for b in resp.brokers] == [1, 2, 3] and resp.controller_id == 1
    off = cluster(auto_create_topics=False)
    resp = h.handle_metadata(ctx(off, 1, 12), req)
    assert resp.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PART


def test_group_offsets_outside_a_group_only() -> None:
    state = cluster()
    state.create_topic("t", 1, 1)
    coord = state.coordinator(COORDINATOR_GROUP, "g")
    other = next(b for b in state.brokers if b != coord)

    def commit(broker: int, generation: int) -> int:
        req = m_oc.OffsetCommitRequest(group_id="g", generation_id_or_member_epoch=generation,
                                       topics=[m_oc.OffsetCommitRequestTopic(name="t", partitions=[
                                           m_oc.OffsetCommitRequestPartition(
                                               partition_index=0, committed_offset=7)])])
        resp: Any = h.handle_offset_commit(ctx(state, broker, 8), req)
        return int(resp.topics[0].partitions[0].error_code)

    assert commit(other, -1) == ErrorCode.NOT_COORDINATOR
    assert commit(coord, 3) == ErrorCode.ILLEGAL_GENERATION
    assert commit(coord, -1) == 0
    fetch = m_of.OffsetFetchRequest(group_id="g", topics=[
        m_of.OffsetFetchRequestTopic(name="t", partition_indexes=[0])], require_stable=True)
    resp: Any = h.handle_offset_fetch(ctx(state, coord, 7), fetch)
    assert resp.topics[0].partitions[0].committed_offset == 7
    state.group("g").pending[1] = {("t", 0): CommittedOffset(9, -1, None)}
    resp = h.handle_offset_fetch(ctx(state, coord, 7), fetch)
    assert resp.topics[0].partitions[0].error_code == ErrorCode.UNSTABLE_OFFSET_COMMIT
    resp = h.handle_offset_fetch(ctx(state, other, 7), fetch)
    assert resp.error_code == ErrorCode.NOT_COORDINATOR


def test_api_versions_advertises_exactly_what_is_handled() -> None:
    resp: Any = h.handle_api_versions(ctx(cluster(), 1, 3), None)
    assert {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys} == h.SUPPORTED
    assert set(h.SUPPORTED) == set(h.HANDLERS)
    err = h.api_versions_error()
    assert err.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert [(k.api_key, k.max_version) for k in err.api_keys] == [(18, 3)]
