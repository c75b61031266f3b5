"""Fetch and ListOffsets: reading the partition logs this broker leads, and their offsets by
position or timestamp, under either isolation level. A Fetch with less than min_bytes to return
answers `Wait` so the server holds it. Runs on the server thread with `state.lock` held.
"""

from __future__ import annotations

from rdpy.errors import ErrorCode
from rdpy.mock.handlers.context import Reply, RequestContext, Wait, epoch_error, leader_error
from rdpy.mock.log import BrokerError, FetchSlice
from rdpy.protocol.messages import fetch as m_f
from rdpy.protocol.messages import list_offsets as m_lo

__all__ = ["handle_fetch", "handle_list_offsets"]

_EARLIEST = -2
_LATEST = -1
_MAX_TIMESTAMP = -3


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
    err = leader_error(ctx, part)
    if part is None or err:
        return _fetch_error(fp.partition, err), 0
    err = epoch_error(part, fp.current_leader_epoch)
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
    err = ctx.injected_error or leader_error(ctx, part)
    if not err and part is not None:
        err = epoch_error(part, lp.current_leader_epoch)
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
