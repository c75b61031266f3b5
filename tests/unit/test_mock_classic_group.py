"""rdpy's mock classic group coordinator (rdpy/mock/classic_group.py), sans I/O, with a fake
clock: Kafka's ClassicGroup states and transitions, KIP-394 member ids, the join phase's end
(everyone rejoined, or the rebalance timeout), protocol votes, SyncGroup, session expiry,
LeaveGroup, static membership (KIP-345/KIP-814) and offset commit validation; and its wire side
(handlers/membership.py) at every version the mock advertises."""

from __future__ import annotations

from typing import Any

import pytest

from rdpy.errors import ErrorCode as E
from rdpy.mock import handlers as h
from rdpy.mock.classic_group import ClassicGroup, Deferred, GroupState, JoinResult, SyncResult
from rdpy.mock.handlers.api import SUPPORTED
from rdpy.mock.state import COORDINATOR_GROUP, ClusterState
from rdpy.protocol.base import Message
from rdpy.protocol.messages import describe_groups as m_dg
from rdpy.protocol.messages import heartbeat as m_hb
from rdpy.protocol.messages import join_group as m_jg
from rdpy.protocol.messages import leave_group as m_lg
from rdpy.protocol.messages import list_groups as m_lig
from rdpy.protocol.messages import sync_group as m_sg

RANGE = [("range", b"meta-range")]


def join(g: ClassicGroup, now: float, new_id: str, *, member_id: str = "",
         instance: str | None = None, protocols: list[tuple[str, bytes]] | None = None,
         session: int = 1000, rebalance: int = 5000, v4: bool = False,
         skip: bool = False) -> Deferred[JoinResult]:
    return g.join(now, member_id=member_id, group_instance_id=instance, client_id="c",
                  client_host="/127.0.0.1", session_timeout_ms=session,
                  rebalance_timeout_ms=rebalance, protocol_type="consumer",
                  protocols=RANGE if protocols is None else protocols, new_member_id=new_id,
                  require_known_member_id=v4 and instance is None,
                  supports_skip_assignment=skip)


def jres(d: Deferred[JoinResult]) -> JoinResult:
    assert d.value is not None, "the JoinGroup answer is still pending"
    return d.value


def sres(d: Deferred[SyncResult]) -> SyncResult:
    assert d.value is not None, "the SyncGroup answer is still pending"
    return d.value


def sync(g: ClassicGroup, now: float, member_id: str, assignments: dict[str, bytes] | None = None,
         generation: int | None = None, instance: str | None = None) -> Deferred[SyncResult]:
    return g.sync(now, member_id=member_id, group_instance_id=instance,
                  generation_id=g.generation_id if generation is None else generation,
                  protocol_type=None, protocol_name=None, assignments=assignments or {})


def stable(ids: list[str], instances: dict[str, str] | None = None, **kw: Any) -> ClassicGroup:
    """A Stable group of `ids` (the first leads) at time 0, each assigned b"a-<id>"."""
    g = ClassicGroup("g", **kw)
    joins = [join(g, 0, i, instance=(instances or {}).get(i)) for i in ids]
    g.tick(0)
    assert [jres(d).generation_id for d in joins] == [1] * len(ids)
    syncs = [sync(g, 0, i) for i in ids[1:]]
    assert not any(d.done for d in syncs)  # followers wait for the leader
    sync(g, 0, ids[0], {i: b"a-" + i.encode() for i in ids})
    assert [sres(d).assignment for d in syncs] == [b"a-" + i.encode() for i in ids[1:]]
    assert g.state is GroupState.STABLE
    return g


def test_member_id_required_then_join_sync_and_stable() -> None:
    g = ClassicGroup("g")
    first = jres(join(g, 0, "m1", v4=True))
    assert (first.error, first.member_id) == (E.MEMBER_ID_REQUIRED, "m1")
    assert g.state is GroupState.EMPTY and g.pending_members == {"m1": 1000}
    d = join(g, 10, "unused", member_id="m1", v4=True)
    assert g.state is GroupState.PREPARING_REBALANCE and not d.done
    g.tick(10)  # group.initial.rebalance.delay.ms = 0: the join phase ends at once
    r = jres(d)
    assert (r.error, r.generation_id, r.leader, r.member_id, r.protocol_name) == (
        0, 1, "m1", "m1", "range")
    assert [(m.member_id, m.metadata) for m in r.members] == [("m1", b"meta-range")]
    assert g.state is GroupState.COMPLETING_REBALANCE
    assert sres(sync(g, 20, "m1", {"m1": b"x"})).assignment == b"x"
    assert g.state is GroupState.STABLE
    assert g.heartbeat(30, member_id="m1", group_instance_id=None, generation_id=1) == 0


def test_unclaimed_member_id_expires_after_the_session_timeout() -> None:
    g = stable(["a"])
    join(g, 100, "ghost", v4=True)  # MEMBER_ID_REQUIRED, never comes back
    d = join(g, 100, "x", member_id="a")  # the leader rejoins: a rebalance
    assert not d.done  # waits: the pending member might still join
    g.tick(1099)
    assert not d.done
    g.tick(1100)
    assert jres(d).generation_id == 2 and g.pending_members == {}


def test_initial_rebalance_delay_is_extended_while_members_arrive() -> None:
    g = ClassicGroup("g", initial_rebalance_delay_ms=100)
    a = join(g, 0, "a", rebalance=250)
    g.tick(50)
    b = join(g, 50, "b", rebalance=250)
    g.tick(100)  # a new member came: wait another delay (the rebalance timeout allows 150)
    assert not a.done and g.join_deadline == 200
    g.tick(200)  # nobody new: the phase ends, even though it could still be extended
    assert [jres(a).generation_id, jres(b).generation_id] == [1, 1]
    assert jres(a).leader == "a" and len(jres(a).members) == 2 and jres(b).members == ()


def test_join_phase_ends_when_all_rejoined_or_at_the_rebalance_timeout() -> None:
    g = stable(["a", "b", "c"])
    d = join(g, 1000, "d")
    assert g.state is GroupState.PREPARING_REBALANCE and g.join_deadline == 6000
    assert g.heartbeat(1000, member_id="b", group_instance_id=None,
                       generation_id=1) == E.REBALANCE_IN_PROGRESS
    a = join(g, 1100, "", member_id="a")
    b = join(g, 1100, "", member_id="b")
    assert not a.done
    # c neither rejoins nor heartbeats; a, b, d wait on the join (awaiting members keep
    # their session through it), c's session ends at 2000 and it is removed: all joined.
    g.tick(2000)
    assert [jres(x).generation_id for x in (a, b, d)] == [2, 2, 2]
    assert set(g.members) == {"a", "b", "d"}
    # Now the timeout path: d is slow to rejoin the next rebalance; a's rebalance timeout
    # (5000) ends the phase without it.
    sync(g, 2000, "a", {})
    sync(g, 2000, "b")
    sync(g, 2000, "d")
    a = join(g, 2100, "", member_id="a", protocols=[("range", b"new")])
    assert g.join_deadline == 7100
    b = join(g, 2100, "", member_id="b")
    for t in (2500, 3000, 3500, 4000):  # d keeps heartbeating but does not rejoin
        g.heartbeat(t, member_id="d", group_instance_id=None, generation_id=2)
        g.tick(t)
    assert not a.done
    g.tick(7100)
    assert jres(a).generation_id == 3 and set(g.members) == {"a", "b"}
    assert [m.metadata for m in jres(a).members] == [b"new", b"meta-range"]


def test_protocol_is_chosen_by_vote_among_common_protocols() -> None:
    g = ClassicGroup("g")
    rr, rng, sticky = ("roundrobin", b"rr"), ("range", b"rg"), ("cooperative-sticky", b"cs")
    join(g, 0, "a", protocols=[rng, rr, sticky])
    join(g, 0, "b", protocols=[rr, rng])
    c = join(g, 0, "c", protocols=[sticky, rr, rng])
    g.tick(0)
    # common: range, roundrobin; votes: a range, b roundrobin, c roundrobin
    assert jres(c).protocol_name == "roundrobin"
    refused = jres(join(g, 1, "d", protocols=[sticky]))
    assert refused.error == E.INCONSISTENT_GROUP_PROTOCOL
    accepted = join(g, 1, "e", protocols=[rng])  # range is common to all four: a rebalance
    assert not accepted.done and g.state is GroupState.PREPARING_REBALANCE
    tie = ClassicGroup("t")
    join(tie, 0, "a", protocols=[rng, rr])
    d = join(tie, 0, "b", protocols=[rr, rng])
    tie.tick(0)
    assert jres(d).protocol_name == "range"  # a tie goes to the first member's preference
    other_type = tie.join(1, member_id="", group_instance_id=None, client_id="c",
                          client_host="h", session_timeout_ms=1000, rebalance_timeout_ms=1000,
                          protocol_type="connect", protocols=[rng], new_member_id="x",
                          require_known_member_id=False, supports_skip_assignment=False)
    assert jres(other_type).error == E.INCONSISTENT_GROUP_PROTOCOL


def test_sync_errors_and_missing_assignments() -> None:
    g = ClassicGroup("g")
    join(g, 0, "a")
    join(g, 0, "b")
    g.tick(0)
    assert sres(sync(g, 1, "b", generation=0)).error == E.ILLEGAL_GENERATION
    assert sres(sync(g, 1, "zz")).error == E.UNKNOWN_MEMBER_ID
    follower = sync(g, 1, "b")
    leader = sync(g, 2, "a", {"a": b"A"})  # nothing for b: it gets an empty assignment
    assert (sres(leader).assignment, sres(follower).assignment) == (b"A", b"")
    assert sres(sync(g, 3, "b")).assignment == b""  # Stable: answered at once
    assert g.describe()[0:3] == ("Stable", "consumer", "range")
    join(g, 4, "c")  # Stable -> PreparingRebalance
    assert sres(sync(g, 5, "b")).error == E.REBALANCE_IN_PROGRESS
    assert g.describe()[2] == "" and g.describe()[3][0].assignment == b""


def test_a_rebalance_during_completing_rebalance_answers_waiting_syncs() -> None:
    g = ClassicGroup("g")
    join(g, 0, "a")
    join(g, 0, "b")
    g.tick(0)
    waiting = sync(g, 1, "b")
    join(g, 2, "c")
    assert sres(waiting).error == E.REBALANCE_IN_PROGRESS
    assert g.state is GroupState.PREPARING_REBALANCE


def test_session_timeout_expires_a_silent_member_and_rebalances() -> None:
    g = stable(["a", "b"])
    for t in (300, 600, 900):
        assert g.heartbeat(t, member_id="a", group_instance_id=None, generation_id=1) == 0
        g.tick(t)
    assert g.next_deadline() == 1000  # b's session (last heard at 0, 1000 ms)
    g.tick(999)
    assert "b" in g.members
    g.tick(1000)
    assert "b" not in g.members and g.state is GroupState.PREPARING_REBALANCE
    assert g.heartbeat(1100, member_id="b", group_instance_id=None,
                       generation_id=1) == E.UNKNOWN_MEMBER_ID
    d = join(g, 1100, "", member_id="a")
    assert jres(d).generation_id == 2 and [m.member_id for m in jres(d).members] == ["a"]


def test_members_that_do_not_sync_in_time_are_removed() -> None:
    g = ClassicGroup("g")
    join(g, 0, "a", rebalance=3000)
    join(g, 0, "b", rebalance=3000)
    g.tick(0)
    sync(g, 10, "a", {"a": b"A", "b": b"B"})
    assert g.state is GroupState.STABLE and g.pending_sync == {"b"}
    g.heartbeat(900, member_id="b", group_instance_id=None, generation_id=1)
    g.heartbeat(900, member_id="a", group_instance_id=None, generation_id=1)
    g.tick(1800)
    g.heartbeat(1800, member_id="b", group_instance_id=None, generation_id=1)
    g.heartbeat(1800, member_id="a", group_instance_id=None, generation_id=1)
    g.tick(2700)
    g.heartbeat(2700, member_id="a", group_instance_id=None, generation_id=1)
    g.tick(3000)
    assert "b" not in g.members and g.state is GroupState.PREPARING_REBALANCE


def test_leave_group_batch_and_leadership_handover() -> None:
    g = stable(["a", "b", "c"])
    assert g.leave(10, [("a", None), ("nobody", None)]) == [0, E.UNKNOWN_MEMBER_ID]
    assert g.leader_id == "b" and g.state is GroupState.PREPARING_REBALANCE
    b = join(g, 20, "", member_id="b")
    c = join(g, 20, "", member_id="c")
    assert jres(b).leader == "b" and jres(c).generation_id == 2
    # Everyone leaves while the group completes a rebalance: nobody is left to wait for, the
    # join phase ends at once with an empty generation.
    assert g.leave(30, [("b", None), ("c", None)]) == [0, 0]
    assert (g.state, g.generation_id, g.leader_id) == (GroupState.EMPTY, 3, None)
    assert g.describe()[1] == "consumer"  # an empty group keeps its protocol type


def test_the_last_member_leaving_empties_the_group_at_once() -> None:
    g = stable(["a"])
    assert g.leave(10, [("a", None)]) == [0]
    assert (g.state, g.generation_id, g.members) == (GroupState.EMPTY, 2, {})
    assert g.next_deadline() is None


def test_static_member_restart_keeps_its_assignment_without_a_rebalance() -> None:
    g = stable(["a", "b"], {"a": "inst-a", "b": "inst-b"})
    rebalances = g.rebalances
    r = jres(join(g, 100, "b2", instance="inst-b"))
    assert (r.error, r.member_id, r.generation_id, r.leader, r.members) == (0, "b2", 1, "a", ())
    assert g.state is GroupState.STABLE and g.rebalances == rebalances
    assert sres(sync(g, 110, "b2", instance="inst-b")).assignment == b"a-b"
    assert g.heartbeat(120, member_id="b", group_instance_id="inst-b",
                       generation_id=1) == E.FENCED_INSTANCE_ID
    assert g.heartbeat(120, member_id="b2", group_instance_id="inst-b", generation_id=1) == 0
    assert g.offset_commit_error("b", "inst-b", 1, False) == E.FENCED_INSTANCE_ID
    assert g.leave(130, [("b", "inst-b")]) == [E.FENCED_INSTANCE_ID]
    # The leader restarts: before JoinGroup v9 it is told the old leader id (no assignment
    # to run); with v9 it learns it leads and gets the members, with skip_assignment.
    old = jres(join(g, 200, "a2", instance="inst-a"))
    assert (old.leader, old.members, old.skip_assignment) == ("a", (), False)
    new = jres(join(g, 300, "a3", instance="inst-a", skip=True))
    assert (new.leader, new.skip_assignment) == ("a3", True)
    assert [m.group_instance_id for m in new.members] == ["inst-b", "inst-a"]
    assert g.rebalances == rebalances and g.generation_id == 1


def test_static_member_with_a_new_protocol_choice_rebalances() -> None:
    rr = [("roundrobin", b"rr"), ("range", b"rg")]  # roundrobin preferred now
    g = stable(["a"], {"a": "inst-a"})
    before = g.rebalances
    d = join(g, 100, "a2", instance="inst-a", protocols=rr)
    # A rebalance, which ends at once: the only member has rejoined.
    assert g.rebalances == before + 1 and g.state is GroupState.COMPLETING_REBALANCE
    assert jres(d).protocol_name == "roundrobin" and jres(d).generation_id == 2
    assert jres(join(g, 200, "", member_id="a", instance="inst-a",
                     protocols=rr)).error == E.FENCED_INSTANCE_ID
    assert jres(join(g, 200, "", member_id="zz", instance="inst-zz",
                     protocols=rr)).error == E.UNKNOWN_MEMBER_ID
    # No protocol in common with every member (its own current ones included): refused.
    assert jres(join(g, 300, "", member_id="a2", instance="inst-a",
                     protocols=[("cooperative-sticky", b"")])).error == \
        E.INCONSISTENT_GROUP_PROTOCOL


def test_offset_commit_validation() -> None:
    g = ClassicGroup("g")
    assert g.offset_commit_error("", None, -1, False) == 0  # simple (assign()) consumer
    assert g.offset_commit_error("x", None, 3, False) == E.UNKNOWN_MEMBER_ID
    join(g, 0, "a")
    join(g, 0, "b")
    g.tick(0)
    assert g.offset_commit_error("a", None, 1, False) == E.REBALANCE_IN_PROGRESS
    sync(g, 1, "a", {})
    assert g.offset_commit_error("a", None, 1, False) == 0
    assert g.offset_commit_error("a", None, 0, False) == E.ILLEGAL_GENERATION
    assert g.offset_commit_error("", None, -1, False) == E.UNKNOWN_MEMBER_ID
    assert g.offset_commit_error("", None, -1, True) == 0  # old TxnOffsetCommit versions
    assert g.offset_commit_error("zz", None, 1, False) == E.UNKNOWN_MEMBER_ID
    g.leave(2, [("a", None), ("b", None)])
    g.tick(2)
    assert g.state is GroupState.EMPTY
    assert g.offset_commit_error("", None, -1, False) == 0


def test_invalid_session_timeout_and_unknown_members() -> None:
    g = ClassicGroup("g", min_session_timeout_ms=6000)
    assert jres(join(g, 0, "a", session=1000)).error == E.INVALID_SESSION_TIMEOUT
    assert jres(join(g, 0, "", member_id="zz", session=6000)).error == E.UNKNOWN_MEMBER_ID
    assert g.heartbeat(0, member_id="zz", group_instance_id=None,
                       generation_id=0) == E.UNKNOWN_MEMBER_ID
    assert g.members == {} and g.state is GroupState.EMPTY


def test_new_member_that_never_completes_its_join_expires() -> None:
    g = stable(["a"], new_member_join_timeout_ms=2000, min_session_timeout_ms=1)
    join(g, 100, "n")  # joins; the leader heartbeats but never rejoins
    for t in range(300, 2400, 300):
        assert g.heartbeat(t, member_id="a", group_instance_id=None,
                           generation_id=1) == E.REBALANCE_IN_PROGRESS
        g.tick(t)
        assert ("n" in g.members) == (t < 2100)  # new members have 2000 ms to complete a join
    assert g.state is GroupState.PREPARING_REBALANCE
    g.tick(3100)  # "a" stopped heartbeating at 2100: its session ends, nobody is left
    assert (g.state, g.generation_id) == (GroupState.EMPTY, 2)


# --- the wire side (handlers/membership.py): every advertised version encodes -----------------


def _ctx(state: ClusterState, version: int, now: float = 0.0, injected: int = 0) -> h.RequestContext:
    return h.RequestContext(state, 1, version, injected, 0, clock_ms=now, client_id="cli",
                            client_host="/127.0.0.1")


def _answer(reply: h.Reply) -> Message:
    if isinstance(reply, h.Pending):
        response = reply.response()
        assert response is not None, "still pending"
        return response
    assert isinstance(reply, Message)
    return reply


@pytest.mark.parametrize("version", range(SUPPORTED[m_jg.JoinGroupRequest.API_KEY][1] + 1))
def test_every_join_sync_heartbeat_leave_version_round_trips(version: int) -> None:
    state = ClusterState()
    state.add_broker(1, "127.0.0.1", 9001)
    protocols = [m_jg.JoinGroupRequestProtocol(name="range", metadata=b"meta")]
    req = m_jg.JoinGroupRequest(group_id="g", session_timeout_ms=6000, member_id="",
                                protocol_type="consumer", protocols=protocols,
                                **({"rebalance_timeout_ms": 6000} if version >= 1 else {}))
    pending = h.handle_join_group(_ctx(state, version), req)
    first: Any = pending if isinstance(pending, Message) else None
    if version >= 4:  # KIP-394: the member id first
        assert first is not None and first.error_code == E.MEMBER_ID_REQUIRED
        req.member_id = first.member_id
        pending = h.handle_join_group(_ctx(state, version), req)
    assert isinstance(pending, h.Pending) and pending.response() is None
    state.tick_groups(0)
    joined: Any = _answer(pending)
    m_jg.JoinGroupResponse.decode(joined.encode(version), version)
    assert (joined.error_code, joined.generation_id, joined.leader) == (0, 1, joined.member_id)
    member = joined.member_id
    sv = min(version, SUPPORTED[m_sg.SyncGroupRequest.API_KEY][1])
    synced: Any = _answer(h.handle_sync_group(_ctx(state, sv), m_sg.SyncGroupRequest(
        group_id="g", generation_id=1, member_id=member,
        assignments=[m_sg.SyncGroupRequestAssignment(member_id=member, assignment=b"A")])))
    m_sg.SyncGroupResponse.decode(synced.encode(sv), sv)
    assert (synced.error_code, synced.assignment) == (0, b"A")
    hv = min(version, SUPPORTED[m_hb.HeartbeatRequest.API_KEY][1])
    beat: Any = h.handle_heartbeat(_ctx(state, hv), m_hb.HeartbeatRequest(
        group_id="g", generation_id=0, member_id=member))
    assert beat.error_code == E.ILLEGAL_GENERATION
    for dv in range(SUPPORTED[m_dg.DescribeGroupsRequest.API_KEY][1] + 1):
        described: Any = h.handle_describe_groups(_ctx(state, dv), m_dg.DescribeGroupsRequest(
            groups=["g", "unknown"]))
        m_dg.DescribeGroupsResponse.decode(described.encode(dv), dv)
        g, unknown = described.groups
        assert (g.group_state, g.protocol_data, unknown.group_state) == ("Stable", "range", "Dead")
        assert [(m.client_id, m.member_assignment) for m in g.members] == [("cli", b"A")]
    for lv in range(SUPPORTED[m_lig.ListGroupsRequest.API_KEY][1] + 1):
        listed: Any = h.handle_list_groups(_ctx(state, lv), m_lig.ListGroupsRequest(
            **({"states_filter": ["stable"]} if lv >= 4 else {})))
        m_lig.ListGroupsResponse.decode(listed.encode(lv), lv)
        assert [(x.group_id, x.protocol_type) for x in listed.groups] == [("g", "consumer")]
    lv = min(version, SUPPORTED[m_lg.LeaveGroupRequest.API_KEY][1])
    leave = (m_lg.LeaveGroupRequest(group_id="g", members=[
        m_lg.MemberIdentity(member_id=member), m_lg.MemberIdentity(member_id="x")]) if lv >= 3
        else m_lg.LeaveGroupRequest(group_id="g", member_id=member))
    left: Any = h.handle_leave_group(_ctx(state, lv), leave)
    m_lg.LeaveGroupResponse.decode(left.encode(lv), lv)
    if lv >= 3:
        assert [m.error_code for m in left.members] == [0, E.UNKNOWN_MEMBER_ID]
    else:
        assert left.error_code == 0
    assert state.groups["g"].membership.state is GroupState.EMPTY


def test_injected_errors_and_coordinator_checks_on_the_wire() -> None:
    state = ClusterState()
    for i in (1, 2):
        state.add_broker(i, "127.0.0.1", 9000 + i)
    other = 3 - state.coordinator(COORDINATOR_GROUP, "g")
    req = m_jg.JoinGroupRequest(group_id="g", session_timeout_ms=6000, rebalance_timeout_ms=6000,
                                member_id="", protocol_type="consumer", protocols=[
                                    m_jg.JoinGroupRequestProtocol(name="range", metadata=b"")])
    ctx = h.RequestContext(state, other, 5, 0, 0)
    assert _answer(h.handle_join_group(ctx, req)).error_code == E.NOT_COORDINATOR  # type: ignore[attr-defined]
    ctx = h.RequestContext(state, 3 - other, 5, E.COORDINATOR_LOAD_IN_PROGRESS, 0)
    assert _answer(h.handle_join_group(ctx, req)).error_code == E.COORDINATOR_LOAD_IN_PROGRESS  # type: ignore[attr-defined]
    assert "g" not in state.groups  # neither created the group
    hb = h.handle_heartbeat(h.RequestContext(state, 3 - other, 3, 0, 0), m_hb.HeartbeatRequest(
        group_id="g", generation_id=1, member_id="m"))
    assert hb.error_code == E.UNKNOWN_MEMBER_ID  # type: ignore[union-attr]
