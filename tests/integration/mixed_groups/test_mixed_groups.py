"""Mixed groups: rdpy and confluent-kafka members in one group, each in turn as the leader, with
each assignor: the assignment is valid (every partition exactly once, only to subscribers) and,
for the same members and subscriptions, identical to what librdkafka's assignor computes.

The leader is the first member to join: it is started alone and waits for its assignment, then
the others join one at a time, each into a settled group. After every rebalance settles, the
coordinator's DescribeGroups gives each member's JoinGroup metadata (in the leader's JoinGroup
order) and the SyncGroup assignment the leader sent it; the assignment must be what rdpy's
run_assignor computes on those inputs (librdkafka's results are what rdpy's assignors are
proven against in test_assignors_vs_librdkafka.py), valid, and what each member's
assignment() holds.

`slots` names each member's client in join order ("rdpy" or "confluent_kafka"); `rdpy_as`
fills the "rdpy" slots: the real rdpy module, or confluent_kafka standing in for it (the
harness's proof, runnable before rdpy's subscribe() works). While rdpy.Consumer.subscribe()
raises NotImplementedError the real-rdpy cases skip, saying so. Runs on rdpy's mock cluster and
on real Kafka.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from tests.integration.mixed_groups._harness import (
    Cluster,
    GroupRun,
    MemberSpec,
    check_valid,
    decoded_members,
    metadata_topics,
    request_topics,
    run_rdpy,
)

STRATEGIES = ["range", "roundrobin", "cooperative-sticky"]

#: Members in join order (the first leads): client slot, topic keys. The subscriptions differ
#: so that the assignment depends on who subscribes to what.
SLOT_PATTERNS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "rdpy-leads": [("rdpy", ("a", "b")), ("confluent_kafka", ("a",)),
                   ("confluent_kafka", ("a", "b"))],
    "confluent-leads": [("confluent_kafka", ("a", "b")), ("rdpy", ("a",)),
                        ("rdpy", ("a", "b"))],
}
TOPICS = {"a": 5, "b": 3}


@pytest.mark.parametrize("rdpy_as", ["rdpy", "confluent_kafka"],
                         ids=["rdpy", "confluent-stand-in"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("slots", sorted(SLOT_PATTERNS))
def test_mixed_group_assignment_is_librdkafkas(group_cluster: Cluster,
                                              groups: Callable[..., GroupRun],
                                              slots: str, strategy: str, rdpy_as: str) -> None:
    modules = {"confluent_kafka": importlib.import_module("confluent_kafka"),
               "rdpy": importlib.import_module(rdpy_as)}
    names = {k: group_cluster.topic(k, n) for k, n in TOPICS.items()}
    partitions = {names[k]: n for k, n in TOPICS.items()}
    run = groups(group_cluster, strategy, modules)
    for slot, keys in SLOT_PATTERNS[slots]:
        try:
            run.add(MemberSpec(tuple(names[k] for k in keys), module=slot), partitions)
        except NotImplementedError as e:
            assert rdpy_as == "rdpy" and slot == "rdpy"
            pytest.skip(f"rdpy.Consumer.subscribe() is not implemented yet: {e}")
        described = run.settle()
        assert described is not None and described.protocol == strategy
        members = decoded_members(described)
        topics = metadata_topics(group_cluster.bootstrap_servers, request_topics(members))
        synced = {dm.member_id: described.assignment_of(dm.member_id)
                  for dm in described.members}
        check_valid(synced, members, topics)
        _, expected = run_rdpy(strategy, members, topics)
        assert {k: set(v) for k, v in synced.items()} == {k: set(v) for k, v in expected.items()}, (
            f"the leader's assignment is not librdkafka's (rdpy's assignor)\n members={members}\n"
            f" topics={topics}\n leader={synced}\n expected={expected}")
        for m in run.members:
            assert m.assignment() == set(synced[m.member_id]), m.member_id
        # The first member to join leads: the mock names the leader; elsewhere a
        # confluent-kafka leader's log shows it ran the assignor on these inputs.
        first = run.members[0]
        if group_cluster.mock is not None:
            snap = group_cluster.mock.group_snapshot(run.group)
            assert snap is not None and snap.leader_id == first.member_id, \
                "the first member to join does not lead"
        if first.capture is not None:
            run.run_for(members)
            assert all(who is first for who, _ in run.leader_runs()), \
                "a member other than the first ran the assignor"
