"""rdpy's partition assignors (rdpy/client/group/assignors) against librdkafka's, on the inputs
librdkafka's own group leader had: groups of confluent-kafka consumers with each assignor
(range, roundrobin, cooperative-sticky) are grown one member at a time; after every rebalance
settles, what the leader computed is read back and rdpy's assignor is run on the same members
and topics. The results must be identical member by member.

What is compared, after each member joins (see _harness for where each piece comes from):

* the leader's inputs: the members in the order the leader's assignor got them (its debug log)
  are the group's members as DescribeGroups lists them, and each one's decoded JoinGroup
  metadata (rdpy's decode_member) has the subscription and owned-partition count the log shows;
  the topics are the leader's Metadata answer, in its order (eligible-topic count as logged);
* the assignor's own result (the log, before the cooperative step) against rdpy's
  `assignor.assign(...)`, as partition sets per member;
* what the leader sent in SyncGroup (DescribeGroups' assignment bytes, after the cooperative
  step) against rdpy's `run_assignor(...)`, as partition sets per member, and each consumer's
  assignment() is that;
* partition order: librdkafka's SyncGroup bytes carry the assignor's list order, which rdpy's
  Assignment (topic -> ascending partitions) does not keep. A difference only in order is
  reported as an xfail naming the members and both orders (sets must match regardless).

Runs on rdpy's mock cluster and on real Kafka (`group_cluster`); the rack-aware shapes run on
librdkafka's mock cluster, the only one here whose brokers have racks (it has no DescribeGroups:
there the leader's log and the configured racks/instance ids are the inputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import confluent_kafka
import pytest

from rdpy.client.group.assignors import Member, TopicMetadata
from rdpy.client.group.assignors.common import eligible_topics, use_rack_aware_assignment
from tests.integration.mixed_groups._harness import (
    Cluster,
    Described,
    GroupRun,
    MemberSpec,
    check_valid,
    decoded_members,
    metadata_topics,
    request_topics,
    run_rdpy,
)

STRATEGIES = ["range", "roundrobin", "cooperative-sticky"]

#: Shapes: topic key -> partition count, then the members in join order (topic keys,
#: group.instance.id). Every member joins a settled group, so from the second on the
#: existing members send owned partitions (and, with cooperative-sticky, sticky user data).
SHAPES: dict[str, tuple[dict[str, int], list[tuple[tuple[str, ...], str | None]]]] = {
    # Different subscriptions over topics of different sizes.
    "subsets": ({"a": 5, "b": 3, "c": 2},
                [(("a", "b"), None), (("a",), None), (("b", "c"), None), (("a", "b", "c"), None)]),
    # Static members (instance ids ordered unlike their member ids) among dynamic ones:
    # member_cmp compares instance ids only between two static members.
    "static": ({"a": 7, "b": 4},
               [(("a", "b"), "zz-static"), (("a", "b"), None), (("a", "b"), "aa-static"),
                (("a",), None)]),
}

ORDER_NOTE = ("rdpy's Assignment keeps partitions as topic -> ascending list (normalized), "
              "librdkafka's SyncGroup bytes keep its assignor's list order")


def _sets(d: dict[str, list[tuple[str, int]]]) -> dict[str, set[tuple[str, int]]]:
    return {k: set(v) for k, v in d.items()}


def _check_generation(run: GroupRun, described: Described | None, strategy: str,
                      members: list[Member], topics: list[TopicMetadata],
                      order_diffs: list[str]) -> None:
    """One settled generation: the leader log's inputs are `members`/`topics`, and rdpy's
    assignor gives what librdkafka gave."""
    log = run.run_for(members)
    assert log.assignor == strategy
    # Inputs: member order, ids, subscriptions, owned counts, eligible topics.
    assert [m[0] for m in log.members] == [m.member_id for m in members], \
        "the leader's member order is not the coordinator's"
    for (mid, owned, subs), m in zip(log.members, members, strict=True):
        assert tuple(subs) == m.topics, mid
        assert owned == len(m.owned), mid
    eligible = [t for t in topics if any(t.name in m.topics for m in members)]
    assert log.eligible_topics == len(eligible)

    raw, sent = run_rdpy(strategy, members, topics)
    # The assignor's own result (before the cooperative step).
    assert _sets(raw) == _sets(log.result), (
        f"{strategy} assignor differs from librdkafka's\n members={members}\n topics={topics}\n"
        f" librdkafka={log.result}\n rdpy={raw}")
    for mid in log.result:
        if raw[mid] != log.result[mid]:
            order_diffs.append(_order_diff("assignor result", mid, log.result[mid], raw[mid]))
    # What the leader sent.
    if described is not None:
        synced = {dm.member_id: described.assignment_of(dm.member_id) for dm in described.members}
        assert _sets(sent) == _sets(synced), (
            f"{strategy} leader's SyncGroup assignment differs from rdpy's run_assignor\n"
            f" members={members}\n topics={topics}\n librdkafka={synced}\n rdpy={sent}")
        for mid in synced:
            if sent[mid] != synced[mid]:
                order_diffs.append(_order_diff("SyncGroup assignment", mid, synced[mid],
                                               sent[mid]))
    for r in run.members:
        assert r.assignment() == set(sent[r.member_id]), r.member_id
    check_valid(sent, members, topics)


_TOPIC_KEY = re.compile(r"^rdpy-mixed-(.*)-[0-9a-f]{8}$")


def _short(parts: list[tuple[str, int]]) -> str:
    """Partitions as "a0 a1 b2" (the shape's topic keys)."""
    return " ".join(f"{_TOPIC_KEY.sub(lambda m: m[1], t)}{p}" for t, p in parts)


def _order_diff(what: str, mid: str, librdkafka: list[tuple[str, int]],
                rdpy: list[tuple[str, int]]) -> str:
    return f"{what} of {mid}: librdkafka [{_short(librdkafka)}], rdpy [{_short(rdpy)}]"


def _finish(order_diffs: list[str]) -> None:
    """Sets matched everywhere; a difference only in partition order is an xfail."""
    if order_diffs:
        shown = order_diffs[:4]
        more = f"\n  ... and {len(order_diffs) - 4} more" if len(order_diffs) > 4 else ""
        pytest.xfail(f"same partitions, different order ({ORDER_NOTE}):\n  "
                     + "\n  ".join(shown) + more)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rdpy_assignor_matches_librdkafka_leader(group_cluster: Cluster,
                                                 groups: Callable[..., GroupRun],
                                                 strategy: str, shape: str) -> None:
    sizes, joiners = SHAPES[shape]
    names = {k: group_cluster.topic(k, n) for k, n in sizes.items()}
    partitions = {names[k]: n for k, n in sizes.items()}
    run = groups(group_cluster, strategy, {"confluent_kafka": confluent_kafka})
    order_diffs: list[str] = []
    for keys, instance_id in joiners:
        iid = f"{run.group}-{instance_id}" if instance_id else None
        # Keep the instance ids' order as written (the group-id prefix is common).
        run.add(MemberSpec(tuple(names[k] for k in keys), instance_id=iid), partitions)
        described = run.settle()
        assert described is not None
        assert described.protocol == strategy
        members = decoded_members(described)
        topics = metadata_topics(group_cluster.bootstrap_servers, request_topics(members))
        _check_generation(run, described, strategy, members, topics, order_diffs)
    if group_cluster.mock is not None:
        snap = group_cluster.mock.group_snapshot(run.group)
        assert snap is not None and snap.leader_id == run.members[0].member_id
    _finish(order_diffs)


#: The rack-aware shape: topic key -> partition count, and the members (topic keys, rack,
#: group.instance.id). Topics have replication factor 2 over brokers on three racks, so every
#: partition lacks a replica on one rack and rack-aware assignment applies (KIP-881).
RACK_TOPICS = {"a": 6, "b": 6, "c": 4}
RACK_MEMBERS: list[tuple[tuple[str, ...], str | None, str | None]] = [
    (("a", "b", "c"), "rack-a", None),
    (("a", "b"), "rack-b", "static-1"),  # a and b: same subscribers and size (co-partitioned)
    (("a", "b", "c"), "rack-c", None),
    (("a", "b", "c"), None, None),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rdpy_assignor_matches_librdkafka_leader_with_racks(
        rack_cluster: Cluster, groups: Callable[..., GroupRun], strategy: str) -> None:
    """All members start together, so they join the mock's first rebalance (it waits
    group.initial.rebalance.delay.ms, 3 s in librdkafka's mock, for more members) and own
    nothing: the inputs are then fully known from the leader's log and the members' config."""
    names = {k: rack_cluster.topic(k, n) for k, n in RACK_TOPICS.items()}
    partitions = {names[k]: n for k, n in RACK_TOPICS.items()}
    run = groups(rack_cluster, strategy, {"confluent_kafka": confluent_kafka})
    for keys, rack, instance_id in RACK_MEMBERS:
        run.add(MemberSpec(tuple(names[k] for k in keys), rack=rack,
                           instance_id=f"{run.group}-{instance_id}" if instance_id else None),
                partitions)
    assert run.settle(timeout=40.0) is None
    log = run.first_full_run()
    assert log is not None
    by_id = {m.member_id: m for m in run.members}
    assert all(owned == 0 for _, owned, _ in log.members), log.members
    members = [Member(member_id=mid, group_instance_id=by_id[mid].spec.instance_id,
                      topics=tuple(subs),
                      # librdkafka sends an empty rack without client.rack
                      rack_id=by_id[mid].spec.rack or "")
               for mid, _, subs in log.members]
    topics = metadata_topics(rack_cluster.bootstrap_servers, request_topics(members))
    assert all(t.partition_racks for t in topics), topics  # the brokers' racks are visible
    assert use_rack_aware_assignment(eligible_topics(members, topics))
    order_diffs: list[str] = []
    _check_generation(run, None, strategy, members, topics, order_diffs)
    _finish(order_diffs)
