"""Produce: appending producers' batches to the partition logs this broker leads (validation,
offsets, idempotence and transactions are the log's, log.py). Runs on the server thread with
`state.lock` held.
"""

from __future__ import annotations

from rdpy.errors import ErrorCode
from rdpy.mock.handlers.context import Reply, RequestContext, leader_error
from rdpy.mock.log import BrokerError
from rdpy.protocol.messages import produce as m_p

__all__ = ["handle_produce"]


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
    err = err or leader_error(ctx, part)
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
