"""The transaction coordinator's APIs: InitProducerId (idempotent and transactional producers),
AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, and TxnOffsetCommit (which the group coordinator
serves, holding the offsets until the transaction ends). The state transitions are the cluster
state's (state.py, transactions.py). Runs on the server thread with `state.lock` held.
"""

from __future__ import annotations

from rdpy.errors import ErrorCode
from rdpy.mock.handlers.context import Reply, RequestContext
from rdpy.mock.handlers.groups import group_error, store_offsets
from rdpy.mock.log import BrokerError
from rdpy.mock.state import COORDINATOR_TRANSACTION
from rdpy.protocol.messages import add_offsets_to_txn as m_aot
from rdpy.protocol.messages import add_partitions_to_txn as m_apt
from rdpy.protocol.messages import end_txn as m_et
from rdpy.protocol.messages import init_producer_id as m_ipi
from rdpy.protocol.messages import txn_offset_commit as m_toc

__all__ = [
    "handle_add_offsets_to_txn",
    "handle_add_partitions_to_txn",
    "handle_end_txn",
    "handle_init_producer_id",
    "handle_txn_offset_commit",
]


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
    v3 = ctx.api_version >= 3
    err = group_error(ctx, req.group_id, req.generation_id if v3 else -1,
                      req.member_id if v3 else "", req.group_instance_id if v3 else None,
                      transactional=True)
    pending = (ctx.state.group(req.group_id).pending.setdefault(req.producer_id, {})
               if not err else {})
    return m_toc.TxnOffsetCommitResponse(topics=[
        m_toc.TxnOffsetCommitResponseTopic(name=name, partitions=[
            m_toc.TxnOffsetCommitResponsePartition(partition_index=index, error_code=perr)
            for index, perr in parts])
        for name, parts in store_offsets(ctx, err, req.topics, pending)])
