"""The classic group protocol on the wire: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
DescribeGroups and ListGroups. Each handler checks the coordinator and injected faults, turns the
request into a call on the group's ClassicGroup (classic_group.py, the state machine) and its
result into the response of the request's version; a JoinGroup or SyncGroup that must wait for
the rest of the group returns `Pending`, which the server answers when the group completes it.
Runs on the server thread with `state.lock` held.
"""

from __future__ import annotations

import uuid

from rdpy.errors import ErrorCode
from rdpy.mock.classic_group import ClassicGroup, Deferred, JoinResult, SyncResult
from rdpy.mock.handlers.context import Pending, Reply, RequestContext
from rdpy.mock.log import BrokerError
from rdpy.mock.state import COORDINATOR_GROUP
from rdpy.protocol.base import Message
from rdpy.protocol.messages import describe_groups as m_dg
from rdpy.protocol.messages import heartbeat as m_hb
from rdpy.protocol.messages import join_group as m_jg
from rdpy.protocol.messages import leave_group as m_lg
from rdpy.protocol.messages import list_groups as m_lig
from rdpy.protocol.messages import sync_group as m_sg

__all__ = [
    "handle_describe_groups",
    "handle_heartbeat",
    "handle_join_group",
    "handle_leave_group",
    "handle_list_groups",
    "handle_sync_group",
]

#: DescribeGroups' authorized_operations when the client did not ask for them (Kafka's
#: Integer.MIN_VALUE).
_OPERATIONS_OMITTED = -2147483648


def _coordinator_error(ctx: RequestContext, group_id: str) -> int:
    """The injected error, or NOT_COORDINATOR when this broker does not own `group_id`."""
    if ctx.injected_error:
        return ctx.injected_error
    try:
        ctx.state.check_group_coordinator(group_id, ctx.broker_id)
    except BrokerError as e:
        return e.code
    return 0


def _existing(ctx: RequestContext, group_id: str) -> ClassicGroup | None:
    group = ctx.state.groups.get(group_id)
    return group.membership if group is not None else None


# --- JoinGroup --------------------------------------------------------------------------------


def handle_join_group(ctx: RequestContext, req: m_jg.JoinGroupRequest) -> Reply:
    version = ctx.api_version
    err = _coordinator_error(ctx, req.group_id)
    if not err and not req.group_id:
        err = ErrorCode.INVALID_GROUP_ID
    if not err and req.member_id and _existing(ctx, req.group_id) is None:
        err = ErrorCode.UNKNOWN_MEMBER_ID
    if err:
        return _join_response(version, JoinResult(err, req.member_id))
    instance_id = req.group_instance_id if version >= 5 else None
    deferred = ctx.state.group(req.group_id).membership.join(
        ctx.clock_ms, member_id=req.member_id, group_instance_id=instance_id,
        client_id=ctx.client_id, client_host=ctx.client_host,
        session_timeout_ms=req.session_timeout_ms,
        rebalance_timeout_ms=req.rebalance_timeout_ms if version >= 1 else req.session_timeout_ms,
        protocol_type=req.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in req.protocols],
        new_member_id=f"{ctx.client_id}-{uuid.uuid4()}",
        require_known_member_id=version >= 4 and instance_id is None,
        supports_skip_assignment=version >= 9)
    ctx.state.changed()
    if deferred.value is not None:
        return _join_response(version, deferred.value)

    def response() -> Message | None:
        return None if deferred.value is None else _join_response(version, deferred.value)

    return Pending(response)


def _join_response(version: int, r: JoinResult) -> m_jg.JoinGroupResponse:
    return m_jg.JoinGroupResponse(
        error_code=r.error, generation_id=r.generation_id,
        protocol_type=r.protocol_type if version >= 7 else None,
        protocol_name=r.protocol_name if version >= 7 else (r.protocol_name or ""),
        leader=r.leader, skip_assignment=r.skip_assignment if version >= 9 else False,
        member_id=r.member_id,
        members=[m_jg.JoinGroupResponseMember(
            member_id=m.member_id,
            group_instance_id=m.group_instance_id if version >= 5 else None,
            metadata=m.metadata) for m in r.members])


# --- SyncGroup --------------------------------------------------------------------------------


def handle_sync_group(ctx: RequestContext, req: m_sg.SyncGroupRequest) -> Reply:
    version = ctx.api_version
    err = _coordinator_error(ctx, req.group_id)
    group = _existing(ctx, req.group_id)
    if not err and group is None:
        err = ErrorCode.UNKNOWN_MEMBER_ID
    if err or group is None:
        return _sync_response(version, SyncResult(err))
    deferred = group.sync(
        ctx.clock_ms, member_id=req.member_id,
        group_instance_id=req.group_instance_id if version >= 3 else None,
        generation_id=req.generation_id,
        protocol_type=req.protocol_type if version >= 5 else None,
        protocol_name=req.protocol_name if version >= 5 else None,
        assignments={a.member_id: bytes(a.assignment) for a in req.assignments})
    ctx.state.changed()
    if deferred.value is not None:
        return _sync_response(version, deferred.value)

    def response() -> Message | None:
        return None if deferred.value is None else _sync_response(version, deferred.value)

    return Pending(response)


def _sync_response(version: int, r: SyncResult) -> m_sg.SyncGroupResponse:
    return m_sg.SyncGroupResponse(
        error_code=r.error,
        protocol_type=r.protocol_type if version >= 5 else None,
        protocol_name=r.protocol_name if version >= 5 else None,
        assignment=r.assignment)


# --- Heartbeat, LeaveGroup --------------------------------------------------------------------


def handle_heartbeat(ctx: RequestContext, req: m_hb.HeartbeatRequest) -> Reply:
    err = _coordinator_error(ctx, req.group_id)
    group = _existing(ctx, req.group_id)
    if not err:
        if group is None:
            err = ErrorCode.UNKNOWN_MEMBER_ID
        else:
            err = group.heartbeat(
                ctx.clock_ms, member_id=req.member_id,
                group_instance_id=req.group_instance_id if ctx.api_version >= 3 else None,
                generation_id=req.generation_id)
            ctx.state.changed()
    return m_hb.HeartbeatResponse(error_code=err)


def handle_leave_group(ctx: RequestContext, req: m_lg.LeaveGroupRequest) -> Reply:
    version = ctx.api_version
    leaving: list[tuple[str, str | None]] = ([(m.member_id, m.group_instance_id) for m in req.members] if version >= 3
               else [(req.member_id, None)])
    err = _coordinator_error(ctx, req.group_id)
    if err:
        return m_lg.LeaveGroupResponse(error_code=err)
    group = _existing(ctx, req.group_id)
    if group is None:
        errors = [int(ErrorCode.UNKNOWN_MEMBER_ID)] * len(leaving)
    else:
        errors = group.leave(ctx.clock_ms, leaving)
        ctx.state.changed()
    if version < 3:  # one member: its error is the response's
        return m_lg.LeaveGroupResponse(error_code=errors[0])
    return m_lg.LeaveGroupResponse(members=[
        m_lg.MemberResponse(member_id=member_id, group_instance_id=instance_id,
                            error_code=code)
        for (member_id, instance_id), code in zip(leaving, errors, strict=True)])


# --- DescribeGroups, ListGroups ---------------------------------------------------------------


def handle_describe_groups(ctx: RequestContext, req: m_dg.DescribeGroupsRequest) -> Reply:
    version = ctx.api_version
    include_ops = version >= 3 and req.include_authorized_operations
    out = []
    for group_id in req.groups:
        err = _coordinator_error(ctx, group_id)
        group = _existing(ctx, group_id)
        ops = _OPERATIONS_OMITTED
        if include_ops:
            ops = 0b1_1010_0000  # READ, DESCRIBE, DELETE (the mock authorizes everything)
        if err or group is None:
            # Kafka describes a group it does not know as Dead, without an error.
            out.append(m_dg.DescribedGroup(error_code=err, group_id=group_id,
                                           group_state="" if err else "Dead",
                                           protocol_type="", protocol_data="", members=[],
                                           authorized_operations=ops))
            continue
        state, protocol_type, protocol, members = group.describe()
        out.append(m_dg.DescribedGroup(
            group_id=group_id, group_state=state, protocol_type=protocol_type,
            protocol_data=protocol, authorized_operations=ops,
            members=[m_dg.DescribedGroupMember(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id if version >= 4 else None,
                client_id=m.client_id, client_host=m.client_host,
                member_metadata=m.metadata, member_assignment=m.assignment)
                for m in members]))
    return m_dg.DescribeGroupsResponse(groups=out)


def handle_list_groups(ctx: RequestContext, req: m_lig.ListGroupsRequest) -> Reply:
    version = ctx.api_version
    if ctx.injected_error:
        return m_lig.ListGroupsResponse(error_code=ctx.injected_error, groups=[])
    states = {s.lower() for s in req.states_filter} if version >= 4 else set()
    types = {t.lower() for t in req.types_filter} if version >= 5 else set()
    out = []
    state = ctx.state
    for group_id, group in sorted(state.groups.items()):
        if state.coordinator(COORDINATOR_GROUP, group_id) != ctx.broker_id:
            continue
        g = group.membership
        if states and g.state.value.lower() not in states:
            continue
        if types and "classic" not in types:
            continue
        out.append(m_lig.ListedGroup(
            group_id=group_id, protocol_type=g.protocol_type or "",
            group_state=g.state.value if version >= 4 else "",
            group_type="classic" if version >= 5 else ""))
    return m_lig.ListGroupsResponse(groups=out)
