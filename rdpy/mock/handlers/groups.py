"""The group coordinator's APIs: FindCoordinator (for groups and transactions alike) and the
offsets of groups, OffsetCommit and OffsetFetch, with commits checked against the group's
membership (generation, member id, group instance id). Membership itself is membership.py.
`group_error` and `store_offsets` are shared with TxnOffsetCommit (txn.py). Runs on the server
thread with `state.lock` held.
"""

from __future__ import annotations

from typing import Any

from rdpy.errors import ErrorCode
from rdpy.mock.groups import CommittedOffset, Group, missing_group_commit_error
from rdpy.mock.handlers.context import Reply, RequestContext
from rdpy.mock.log import BrokerError
from rdpy.mock.state import COORDINATOR_GROUP, COORDINATOR_TRANSACTION
from rdpy.protocol.messages import find_coordinator as m_fc
from rdpy.protocol.messages import offset_commit as m_oc
from rdpy.protocol.messages import offset_fetch as m_of

__all__ = [
    "group_error",
    "handle_find_coordinator",
    "handle_offset_commit",
    "handle_offset_fetch",
    "store_offsets",
]


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


def group_error(ctx: RequestContext, group_id: str, generation: int, member_id: str,
                group_instance_id: str | None, transactional: bool) -> int:
    """The error for an offset commit to `group_id` (injected, not its coordinator, or refused
    by the group: Kafka's validateOffsetCommit), else 0. Request versions without a
    generation pass -1 and no member id (a commit from outside the group)."""
    err = ctx.injected_error
    try:
        if not err:
            ctx.state.check_group_coordinator(group_id, ctx.broker_id)
    except BrokerError as e:
        err = e.code
    if err:
        return err
    group = ctx.state.groups.get(group_id)
    if group is None:
        return missing_group_commit_error(generation)
    return group.membership.offset_commit_error(member_id, group_instance_id, generation,
                                                transactional)


def store_offsets(ctx: RequestContext, err: int, topics: Any,
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
    version = ctx.api_version
    err = group_error(ctx, req.group_id,
                      req.generation_id_or_member_epoch if version >= 1 else -1,
                      req.member_id if version >= 1 else "",
                      req.group_instance_id if version >= 7 else None, transactional=False)
    committed = ctx.state.group(req.group_id).committed if not err else {}
    return m_oc.OffsetCommitResponse(topics=[
        m_oc.OffsetCommitResponseTopic(name=name, partitions=[
            m_oc.OffsetCommitResponsePartition(partition_index=index, error_code=perr)
            for index, perr in parts])
        for name, parts in store_offsets(ctx, err, req.topics, committed)])


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
