"""One function per Kafka API the mock cluster serves: decoded request in, response out.

No sockets here: a handler gets a `RequestContext` (cluster state, the serving broker, the API
version, the fault to inject if any) and the decoded request, and returns the response message,
`None` when Kafka sends no response (Produce with acks=0), or `Wait` when a Fetch has fewer
than min_bytes to return and may be held (the server asks again when the cluster changes and
answers at the deadline with `may_wait=False`). Handlers run on the server thread with
`state.lock` held.

`SUPPORTED` is what ApiVersions advertises: exactly the APIs and versions below. Anything else
is refused the way Kafka refuses a request it cannot parse (the server closes the connection),
so a missing feature fails loudly instead of being faked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdpy.errors import ErrorCode
from rdpy.mock.log import READ_COMMITTED, BrokerError, FetchSlice
from rdpy.mock.state import (
    COORDINATOR_GROUP,
    COORDINATOR_TRANSACTION,
    ClusterState,
    CommittedOffset,
    Group,
    Partition,
    Topic,
)
from rdpy.protocol.base import Message
from rdpy.protocol.messages import add_offsets_to_txn as m_aot
from rdpy.protocol.messages import add_partitions_to_txn as m_apt
from rdpy.protocol.messages import api_versions as m_av
from rdpy.protocol.messages import create_topics as m_ct
from rdpy.protocol.messages import end_txn as m_et
from rdpy.protocol.messages import fetch as m_f
from rdpy.protocol.messages import find_coordinator as m_fc
from rdpy.protocol.messages import init_producer_id as m_ipi
from rdpy.protocol.messages import list_offsets as m_lo
from rdpy.protocol.messages import metadata as m_md
from rdpy.protocol.messages import offset_commit as m_oc
from rdpy.protocol.messages import offset_fetch as m_of
from rdpy.protocol.messages import produce as m_p
from rdpy.protocol.messages import txn_offset_commit as m_toc

__all__ = ["HANDLERS", "SUPPORTED", "RequestContext", "Reply", "Wait", "api_versions_error"]

PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
OFFSET_COMMIT = 8
OFFSET_FETCH = 9
FIND_COORDINATOR = 10
API_VERSIONS = 18
CREATE_TOPICS = 19
INIT_PRODUCER_ID = 22
ADD_PARTITIONS_TO_TXN = 24
ADD_OFFSETS_TO_TXN = 25
END_TXN = 26
TXN_OFFSET_COMMIT = 28

#: API key -> (min, max) version served and advertised. Upper bounds are where a newer
#: version would change semantics this mock does not implement: Fetch v13+ and
#: ListOffsets/OffsetFetch batching by topic id or group, FindCoordinator v4 batched keys,
#: AddPartitionsToTxn v4 (broker-side verification), InitProducerId v5 and EndTxn v4+
#: (KIP-890 epoch bumps per transaction), Produce v10+ (leader hints on errors).
SUPPORTED: dict[int, tuple[int, int]] = {
    PRODUCE: (3, 9),
    FETCH: (4, 12),
    LIST_OFFSETS: (1, 7),
    METADATA: (0, 12),
    OFFSET_COMMIT: (0, 8),
    OFFSET_FETCH: (0, 7),
    FIND_COORDINATOR: (0, 3),
    API_VERSIONS: (0, 3),
    CREATE_TOPICS: (0, 7),
    INIT_PRODUCER_ID: (0, 4),
    ADD_PARTITIONS_TO_TXN: (0, 3),
    ADD_OFFSETS_TO_TXN: (0, 3),
    END_TXN: (0, 3),
    TXN_OFFSET_COMMIT: (0, 3),
}

_EARLIEST = -2
_LATEST = -1
_MAX_TIMESTAMP = -3


@dataclass
class RequestContext:
    """What a handler knows besides the request."""

    state: ClusterState
    broker_id: int
    api_version: int
    #: Error to answer with instead of serving (push_request_errors), 0 for none.
    injected_error: int
    #: Wall clock in milliseconds (marker timestamps).
    now_ms: int
    #: False once a held Fetch reached its max wait: answer with what there is.
    may_wait: bool = True


@dataclass(frozen=True)
class Wait:
    """A Fetch below min_bytes: hold it up to `max_wait_ms` and ask again on changes."""

    max_wait_ms: int


Reply = Message | Wait | None
Handler = Callable[[RequestContext, Any], Reply]


def _leader_error(ctx: RequestContext, part: Partition | None) -> int:
    """The error a leader-only request for `part` gets on this broker, 0 if it may serve."""
    if part is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PART
    if part.leader != ctx.broker_id:
        return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return 0


def _epoch_error(part: Partition, current_leader_epoch: int) -> int:
    """Kafka's leader epoch check (KIP-320): -1 means the client does not know it."""
    if current_leader_epoch < 0 or current_leader_epoch == part.leader_epoch:
        return 0
    if current_leader_epoch < part.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    return ErrorCode.UNKNOWN_LEADER_EPOCH


# --- ApiVersions ------------------------------------------------------------------------------


def _api_keys() -> list[m_av.ApiVersion]:
    return [m_av.ApiVersion(api_key=k, min_version=lo, max_version=hi)
            for k, (lo, hi) in sorted(SUPPORTED.items())]


def handle_api_versions(ctx: RequestContext, req: m_av.ApiVersionsRequest) -> Reply:
    return m_av.ApiVersionsResponse(error_code=ctx.injected_error, api_keys=_api_keys())


def api_versions_error() -> m_av.ApiVersionsResponse:
    """Kafka's answer to an ApiVersions version it does not know: a v0 body with
    UNSUPPORTED_VERSION and its own ApiVersions range, so the client can retry lower."""
    lo, hi = SUPPORTED[API_VERSIONS]
    return m_av.ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[m_av.ApiVersion(api_key=API_VERSIONS, min_version=lo, max_version=hi)])


# --- Metadata and CreateTopics ----------------------------------------------------------------


def handle_metadata(ctx: RequestContext, req: m_md.MetadataRequest) -> Reply:
    state = ctx.state
    brokers = [m_md.MetadataResponseBroker(node_id=b.node_id, host=b.host, port=b.port, rack=None)
               for _, b in sorted(state.brokers.items())]
    if req.topics is None or (ctx.api_version == 0 and not req.topics):
        names = sorted(state.topics)  # null (v0: empty) asks for every topic
    else:
        names = [t.name for t in req.topics if t.name is not None]
    # Before v4 there was no flag and brokers auto-created topics whenever configured to.
    allow_create = req.allow_auto_topic_creation if ctx.api_version >= 4 else True
    topics = [_metadata_topic(ctx, name, allow_create) for name in names]
    return m_md.MetadataResponse(brokers=brokers, cluster_id=state.cluster_id,
                                 controller_id=state.controller_id, topics=topics)


def _metadata_topic(ctx: RequestContext, name: str, allow_create: bool) -> m_md.MetadataResponseTopic:
    state = ctx.state
    if ctx.injected_error:
        return m_md.MetadataResponseTopic(error_code=ctx.injected_error, name=name)
    topic = state.topics.get(name)
    if topic is None and allow_create and state.auto_create_topics:
        try:
            topic = state.create_topic(name)
        except BrokerError as e:
            return m_md.MetadataResponseTopic(error_code=e.code, name=name)
    if topic is None:
        return m_md.MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PART, name=name)
    return m_md.MetadataResponseTopic(
        name=name, topic_id=topic.topic_id, is_internal=False,
        partitions=[m_md.MetadataResponsePartition(
            partition_index=p.index, leader_id=p.leader, leader_epoch=p.leader_epoch,
            replica_nodes=list(p.replicas), isr_nodes=list(p.replicas), offline_replicas=[])
            for p in topic.partitions])


def handle_create_topics(ctx: RequestContext, req: m_ct.CreateTopicsRequest) -> Reply:
    results = [_create_topic(ctx, t, req.validate_only) for t in req.topics]
    return m_ct.CreateTopicsResponse(topics=results)


def _create_topic(ctx: RequestContext, t: m_ct.CreatableTopic,
                  validate_only: bool) -> m_ct.CreatableTopicResult:
    if ctx.injected_error:
        return m_ct.CreatableTopicResult(name=t.name, error_code=ctx.injected_error,
                                         error_message=None)
    assignments = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
    if assignments and (t.num_partitions != -1 or t.replication_factor != -1):
        return m_ct.CreatableTopicResult(
            name=t.name, error_code=ErrorCode.INVALID_REQUEST,
            error_message="both assignments and a partition count or replication factor")
    try:
        topic: Topic = ctx.state.create_topic(t.name, t.num_partitions, t.replication_factor,
                                              assignments, validate_only)
    except BrokerError as e:
        return m_ct.CreatableTopicResult(name=t.name, error_code=e.code, error_message=str(e))
    return m_ct.CreatableTopicResult(
        name=t.name, topic_id=topic.topic_id, error_message=None,
        num_partitions=len(topic.partitions),
        replication_factor=len(topic.partitions[0].replicas), configs=[])


# --- Produce ----------------------------------------------------------------------------------


def handle_produce(ctx: RequestContext, req: m_p.ProduceRequest) -> Reply:
    err = ctx.injected_error if req.acks in (-1, 0, 1) else ErrorCode.INVALID_REQUIRED_ACKS
    responses = [
        m_p.TopicProduceResponse(name=t.name, partition_responses=[
            _produce_partition(ctx, t.name, p, err) for p in t.partition_data])
        for t in req.topic_data]
    if req.acks == 0:
        return None  # Kafka never answers acks=0 (the records are still appended)
    return m_p.ProduceResponse(responses=responses)


def _produce_partition(ctx: RequestContext, topic: str, pd: m_p.PartitionProduceData,
                       err: int) -> m_p.PartitionProduceResponse:
    part = ctx.state.partition(topic, pd.index)
    err = err or _leader_error(ctx, part)
    records = pd.records
    if not err and not records:
        err = ErrorCode.INVALID_RECORD
    if err or part is None or records is None:
        return m_p.PartitionProduceResponse(index=pd.index, error_code=err, base_offset=-1)
    try:
        result = part.log.append(bytes(records), leader_epoch=part.leader_epoch,
                                 allow_zstd=ctx.api_version >= 7)
    except BrokerError as e:
        return m_p.PartitionProduceResponse(index=pd.index, error_code=e.code, base_offset=-1,
                                            error_message=str(e))
    if not result.duplicate:
        ctx.state.changed()
    return m_p.PartitionProduceResponse(
        index=pd.index, base_offset=result.base_offset,
        log_append_time_ms=result.log_append_time_ms,
        log_start_offset=part.log.log_start_offset)


# --- Fetch ------------------------------------------------------------------------------------


def handle_fetch(ctx: RequestContext, req: m_f.FetchRequest) -> Reply:
    """Whole batches per partition within partition_max_bytes and max_bytes (the first batch
    of the response always, KIP-74); held up to max_wait_ms while less than min_bytes is
    available, as Kafka's DelayedFetch; any partition error answers at once."""
    if ctx.injected_error:
        # As librdkafka's mock: the injected code at the top and on every partition asked.
        return m_f.FetchResponse(error_code=ctx.injected_error, session_id=0, responses=[
            m_f.FetchableTopicResponse(topic=t.topic, partitions=[
                _fetch_error(fp.partition, ctx.injected_error) for fp in t.partitions])
            for t in req.topics])
    if ctx.api_version >= 7 and req.session_id != 0:
        # Fetch sessions are not offered (session id 0 in every answer), so a client naming
        # one is told it does not exist and falls back to full fetches.
        return m_f.FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0)
    remaining = req.max_bytes
    total = 0
    errors = False
    topics = []
    for t in req.topics:
        parts = []
        for fp in t.partitions:
            pd, size = _fetch_partition(ctx, t.topic, fp, req.isolation_level, remaining,
                                        min_one=total == 0)
            parts.append(pd)
            total += size
            remaining = max(0, remaining - size)
            errors = errors or pd.error_code != 0
        topics.append(m_f.FetchableTopicResponse(topic=t.topic, partitions=parts))
    if ctx.may_wait and not errors and req.max_wait_ms > 0 and total < req.min_bytes:
        return Wait(req.max_wait_ms)
    return m_f.FetchResponse(session_id=0, responses=topics)


def _fetch_partition(ctx: RequestContext, topic: str, fp: m_f.FetchPartition, isolation: int,
                     remaining: int, min_one: bool) -> tuple[m_f.PartitionData, int]:
    part = ctx.state.partition(topic, fp.partition)
    err = _leader_error(ctx, part)
    if part is None or err:
        return _fetch_error(fp.partition, err), 0
    err = _epoch_error(part, fp.current_leader_epoch)
    if err:
        return _fetch_error(fp.partition, err), 0
    log = part.log
    try:
        got: FetchSlice = log.read(fp.fetch_offset, min(fp.partition_max_bytes, remaining),
                                   isolation, min_one)
    except BrokerError as e:
        return _fetch_error(fp.partition, e.code), 0
    aborted = None if got.aborted is None else [
        m_f.AbortedTransaction(producer_id=a.producer_id, first_offset=a.first_offset)
        for a in got.aborted]
    pd = m_f.PartitionData(
        partition_index=fp.partition, high_watermark=log.high_watermark,
        last_stable_offset=log.last_stable_offset, log_start_offset=log.log_start_offset,
        aborted_transactions=aborted, preferred_read_replica=-1, records=got.records)
    return pd, len(got.records)


def _fetch_error(index: int, err: int) -> m_f.PartitionData:
    return m_f.PartitionData(partition_index=index, error_code=err, high_watermark=-1,
                             last_stable_offset=-1, log_start_offset=-1,
                             aborted_transactions=None, records=b"")


# --- ListOffsets ------------------------------------------------------------------------------


def handle_list_offsets(ctx: RequestContext, req: m_lo.ListOffsetsRequest) -> Reply:
    isolation = req.isolation_level if ctx.api_version >= 2 else 0
    topics = [m_lo.ListOffsetsTopicResponse(name=t.name, partitions=[
        _list_offset(ctx, t.name, p, isolation) for p in t.partitions]) for t in req.topics]
    return m_lo.ListOffsetsResponse(topics=topics)


def _list_offset(ctx: RequestContext, topic: str, lp: m_lo.ListOffsetsPartition,
                 isolation: int) -> m_lo.ListOffsetsPartitionResponse:
    part = ctx.state.partition(topic, lp.partition_index)
    err = ctx.injected_error or _leader_error(ctx, part)
    if not err and part is not None:
        err = _epoch_error(part, lp.current_leader_epoch)
    if err or part is None:
        return m_lo.ListOffsetsPartitionResponse(partition_index=lp.partition_index,
                                                 error_code=err, timestamp=-1, offset=-1)
    log = part.log
    if lp.timestamp == _EARLIEST:
        offset, ts = log.log_start_offset, -1
    elif lp.timestamp == _LATEST:
        offset, ts = log.fetch_upper_bound(isolation), -1
    elif lp.timestamp == _MAX_TIMESTAMP and ctx.api_version >= 7:
        offset, ts = log.max_timestamp_offset(isolation)
    elif lp.timestamp >= 0:
        offset, ts = log.offset_for_timestamp(lp.timestamp, isolation)
    else:
        return m_lo.ListOffsetsPartitionResponse(
            partition_index=lp.partition_index, error_code=ErrorCode.INVALID_REQUEST,
            timestamp=-1, offset=-1)
    return m_lo.ListOffsetsPartitionResponse(partition_index=lp.partition_index, timestamp=ts,
                                             offset=offset, leader_epoch=part.leader_epoch)


# --- FindCoordinator --------------------------------------------------------------------------


def handle_find_coordinator(ctx: RequestContext, req: m_fc.FindCoordinatorRequest) -> Reply:
    state = ctx.state
    key_type = req.key_type if ctx.api_version >= 1 else COORDINATOR_GROUP
    err = ctx.injected_error
    if not err and key_type not in (COORDINATOR_GROUP, COORDINATOR_TRANSACTION):
        err = ErrorCode.INVALID_REQUEST
    if err:
        return m_fc.FindCoordinatorResponse(error_code=err, error_message=None, node_id=-1,
                                            host="", port=-1)
    broker = state.brokers[state.coordinator(key_type, req.key)]
    return m_fc.FindCoordinatorResponse(error_message=None, node_id=broker.node_id,
                                        host=broker.host, port=broker.port)


# --- Offsets of groups ------------------------------------------------------------------------


def _group_error(ctx: RequestContext, group_id: str, generation: int | None) -> int:
    """The error for an offset commit to `group_id` (injected, not its coordinator, or a
    stale `generation`; None: the request version carries no generation), else 0."""
    err = ctx.injected_error
    try:
        if not err:
            ctx.state.check_group_coordinator(group_id, ctx.broker_id)
            if generation is not None:
                ctx.state.check_generation(generation)
    except BrokerError as e:
        err = e.code
    return err


def _store_offsets(ctx: RequestContext, err: int, topics: Any,
                   into: dict[tuple[str, int], CommittedOffset]
                   ) -> list[tuple[str, list[tuple[int, int]]]]:
    """Store each committed offset of `topics` (OffsetCommit/TxnOffsetCommit request topics)
    `into` the group's committed or pending offsets: [(topic, [(partition, error code)])]."""
    out = []
    for t in topics:
        parts = []
        for p in t.partitions:
            perr = err or (0 if ctx.state.partition(t.name, p.partition_index)
                           else ErrorCode.UNKNOWN_TOPIC_OR_PART)
            if not perr:
                into[(t.name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata)
            parts.append((p.partition_index, perr))
        out.append((t.name, parts))
    return out


def handle_offset_commit(ctx: RequestContext, req: m_oc.OffsetCommitRequest) -> Reply:
    err = _group_error(ctx, req.group_id,
                       req.generation_id_or_member_epoch if ctx.api_version >= 1 else None)
    committed = ctx.state.group(req.group_id).committed if not err else {}
    return m_oc.OffsetCommitResponse(topics=[
        m_oc.OffsetCommitResponseTopic(name=name, partitions=[
            m_oc.OffsetCommitResponsePartition(partition_index=index, error_code=perr)
            for index, perr in parts])
        for name, parts in _store_offsets(ctx, err, req.topics, committed)])


def handle_offset_fetch(ctx: RequestContext, req: m_of.OffsetFetchRequest) -> Reply:
    state = ctx.state
    err = ctx.injected_error
    if not err:
        try:
            state.check_group_coordinator(req.group_id, ctx.broker_id)
        except BrokerError as e:
            err = e.code
    if err and ctx.api_version >= 2:
        return m_of.OffsetFetchResponse(error_code=err, topics=[])
    group = state.groups.get(req.group_id)
    wanted: dict[str, list[int]] = {}
    if req.topics is None:  # v2+: every partition the group has offsets for
        for topic, index in sorted(group.committed if group else {}):
            wanted.setdefault(topic, []).append(index)
    else:
        for t in req.topics:
            wanted.setdefault(t.name, []).extend(t.partition_indexes)
    require_stable = ctx.api_version >= 7 and req.require_stable
    topics = [m_of.OffsetFetchResponseTopic(name=name, partitions=[
        _fetched_offset(group, name, index, err, require_stable) for index in indexes])
        for name, indexes in wanted.items()]
    return m_of.OffsetFetchResponse(topics=topics)


def _fetched_offset(group: Group | None, topic: str, index: int, err: int,
                    require_stable: bool) -> m_of.OffsetFetchResponsePartition:
    tp = (topic, index)
    if not err and require_stable and group is not None and group.has_pending(tp):
        err = ErrorCode.UNSTABLE_OFFSET_COMMIT
    committed = group.committed.get(tp) if group is not None and not err else None
    if committed is None:
        return m_of.OffsetFetchResponsePartition(partition_index=index, committed_offset=-1,
                                                 metadata="", error_code=err)
    return m_of.OffsetFetchResponsePartition(
        partition_index=index, committed_offset=committed.offset,
        committed_leader_epoch=committed.leader_epoch, metadata=committed.metadata)


# --- Producer ids and transactions ------------------------------------------------------------


def handle_init_producer_id(ctx: RequestContext, req: m_ipi.InitProducerIdRequest) -> Reply:
    state = ctx.state
    err = ctx.injected_error
    pid, epoch = -1, -1
    try:
        if not err and req.transactional_id is not None and \
                state.coordinator(COORDINATOR_TRANSACTION, req.transactional_id) != ctx.broker_id:
            raise BrokerError(ErrorCode.NOT_COORDINATOR, "not the transaction coordinator")
        if not err:
            v3 = ctx.api_version >= 3
            pid, epoch = state.init_producer_id(
                req.transactional_id, req.transaction_timeout_ms,
                req.producer_id if v3 else -1, req.producer_epoch if v3 else -1, ctx.now_ms)
    except BrokerError as e:
        err = e.code
    return m_ipi.InitProducerIdResponse(error_code=err, producer_id=pid, producer_epoch=epoch)


def handle_add_partitions_to_txn(ctx: RequestContext,
                                 req: m_apt.AddPartitionsToTxnRequest) -> Reply:
    wanted = [(t.name, p) for t in req.v3_and_below_topics for p in t.partitions]
    err = ctx.injected_error
    failed: dict[tuple[str, int], int] = {}
    try:
        if not err:
            txn = ctx.state.transaction(req.v3_and_below_transactional_id,
                                        req.v3_and_below_producer_id,
                                        req.v3_and_below_producer_epoch, ctx.broker_id)
            ctx.state.add_partitions_to_txn(txn, wanted)
    except BrokerError as e:
        err = e.code
        if e.code == ErrorCode.UNKNOWN_TOPIC_OR_PART:
            # Kafka names the unknown partitions and leaves the rest OPERATION_NOT_ATTEMPTED.
            failed = {tp: e.code for tp in wanted if ctx.state.partition(*tp) is None}
            err = ErrorCode.OPERATION_NOT_ATTEMPTED
    results = [m_apt.AddPartitionsToTxnTopicResult(name=t.name, results_by_partition=[
        m_apt.AddPartitionsToTxnPartitionResult(
            partition_index=p, partition_error_code=failed.get((t.name, p), err))
        for p in t.partitions]) for t in req.v3_and_below_topics]
    return m_apt.AddPartitionsToTxnResponse(results_by_topic_v3_and_below=results)


def handle_add_offsets_to_txn(ctx: RequestContext, req: m_aot.AddOffsetsToTxnRequest) -> Reply:
    err = ctx.injected_error
    try:
        if not err:
            txn = ctx.state.transaction(req.transactional_id, req.producer_id,
                                        req.producer_epoch, ctx.broker_id)
            ctx.state.add_offsets_to_txn(txn, req.group_id)
    except BrokerError as e:
        err = e.code
    return m_aot.AddOffsetsToTxnResponse(error_code=err)


def handle_end_txn(ctx: RequestContext, req: m_et.EndTxnRequest) -> Reply:
    err = ctx.injected_error
    try:
        if not err:
            txn = ctx.state.transaction(req.transactional_id, req.producer_id,
                                        req.producer_epoch, ctx.broker_id)
            ctx.state.end_txn(txn, req.committed, ctx.now_ms)
    except BrokerError as e:
        err = e.code
    return m_et.EndTxnResponse(error_code=err)


def handle_txn_offset_commit(ctx: RequestContext, req: m_toc.TxnOffsetCommitRequest) -> Reply:
    """Offsets wait in the group as pending until the producer's transaction ends."""
    err = _group_error(ctx, req.group_id, req.generation_id if ctx.api_version >= 3 else None)
    pending = (ctx.state.group(req.group_id).pending.setdefault(req.producer_id, {})
               if not err else {})
    return m_toc.TxnOffsetCommitResponse(topics=[
        m_toc.TxnOffsetCommitResponseTopic(name=name, partitions=[
            m_toc.TxnOffsetCommitResponsePartition(partition_index=index, error_code=perr)
            for index, perr in parts])
        for name, parts in _store_offsets(ctx, err, req.topics, pending)])


HANDLERS: dict[int, Handler] = {
    PRODUCE: handle_produce,
    FETCH: handle_fetch,
    LIST_OFFSETS: handle_list_offsets,
    METADATA: handle_metadata,
    OFFSET_COMMIT: handle_offset_commit,
    OFFSET_FETCH: handle_offset_fetch,
    FIND_COORDINATOR: handle_find_coordinator,
    API_VERSIONS: handle_api_versions,
    CREATE_TOPICS: handle_create_topics,
    INIT_PRODUCER_ID: handle_init_producer_id,
    ADD_PARTITIONS_TO_TXN: handle_add_partitions_to_txn,
    ADD_OFFSETS_TO_TXN: handle_add_offsets_to_txn,
    END_TXN: handle_end_txn,
    TXN_OFFSET_COMMIT: handle_txn_offset_commit,
}
assert set(HANDLERS) == set(SUPPORTED)
