"""The group API as confluent-kafka has it: memberid()/assignment() around joining and
unsubscribe(), subscribe()'s argument errors, close() leaving the group, commits while a
member, auto commit on close, regex subscriptions picking up new topics, and the "cgrp"
statistics."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.groups._util import (
    broker_lacks,
    GroupBroker,
    Member,
    group_conf,
    poll_until,
    produce_each,
    stable,
    unique,
)
from tests.support.clients import outcome

PARTITIONS = 4
ALL = frozenset(range(PARTITIONS))


def test_memberid_and_assignment_around_join_and_unsubscribe(client: ModuleType, group_broker: GroupBroker,
                                                             make_consumer: Any) -> None:
    topic = group_broker.create_topic("api", PARTITIONS)
    c = make_consumer(group_conf(group_broker, unique("api")))
    assert c.memberid() is None
    assert c.assignment() == []
    c.subscribe([topic])
    assert c.memberid() is None  # not joined before a poll
    m = Member(c)
    poll_until([m], lambda: m.assigned() == ALL, "the assignment")
    member_id = c.memberid()
    assert isinstance(member_id, str) and member_id
    assert c.consumer_group_metadata() is not None
    assert sorted((tp.topic, tp.partition) for tp in c.assignment()) == [(topic, p) for p in range(PARTITIONS)]
    c.unsubscribe()
    poll_until([m], lambda: not m.assigned() and c.memberid() is None, "unsubscribe to leave the group")
    assert m.errors == []
    c.close()
    assert outcome(c.memberid) == ("RuntimeError", "Consumer closed")
    assert outcome(lambda: c.subscribe([topic])) == ("RuntimeError", "Consumer closed")


def test_subscribe_argument_errors(client: ModuleType) -> None:
    """Exactly confluent-kafka's exceptions and messages (no broker needed)."""
    c = client.Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": unique("args"), "log_level": 0})
    try:
        expected_list = ("TypeError", "expected list of topic unicode strings")
        assert outcome(lambda: c.subscribe("topic")) == expected_list
        assert outcome(lambda: c.subscribe(("topic",))) == expected_list
        for name in ("on_assign", "on_revoke", "on_lost"):
            assert outcome(lambda: c.subscribe(["topic"], **{name: 1})) == ("TypeError", f"{name} expects a callable")
        assert outcome(lambda: c.subscribe(["topic"], foo=1)) == (
            "TypeError", "'foo' is an invalid keyword argument for this function")
        kind, text = outcome(lambda: c.subscribe([]))
        assert (kind, text) == ("KafkaException", 'KafkaError{code=_INVALID_ARG,val=-186,str="Failed to set '
                                'subscription: Local: Invalid argument or configuration"}')
    finally:
        c.close()


def test_close_leaves_the_group_at_once(client: ModuleType, group_broker: GroupBroker, make_consumer: Any,
                                        request: pytest.FixtureRequest) -> None:
    """A closing member sends LeaveGroup: the other gets everything long before the session
    (10 s) would have expired (Kafka and rdpy's mock: in about 0.1 s)."""
    broker_lacks(request, group_broker, {
        "tansu": "after a LeaveGroup the remaining member gets the partitions only about "
                 "session.timeout.ms / 2 later (5.1 s with a 10 s session, 10.1 s with 20 s)",
        "librdkafka_mock": "LeaveGroup does not rebalance the group: the remaining member gets the "
                           "partitions only once the leaver's session has expired",
    })
    topic = group_broker.create_topic("leave", PARTITIONS)
    conf = group_conf(group_broker, unique("leave"), **{"session.timeout.ms": 10000})
    a, b = Member(make_consumer(conf), "a"), Member(make_consumer(conf), "b")
    a.subscribe([topic])
    b.subscribe([topic])
    poll_until([a, b], stable([a, b], PARTITIONS), "a and b to share the partitions", timeout=15)
    b.c.close()
    poll_until([a], lambda: a.assigned() == ALL, "a to get every partition", timeout=4.5)
    assert [e.kind for e in b.events][-1] == "revoke"  # close() revokes first


def test_commit_while_a_member_and_committed_after_a_rebalance(client: ModuleType, group_broker: GroupBroker,
                                                               make_consumer: Any) -> None:
    topic = group_broker.create_topic("commit", PARTITIONS)
    produce_each(group_broker.bootstrap_servers, topic, PARTITIONS, 10)
    conf = group_conf(group_broker, unique("commit"))
    a = Member(make_consumer(conf), "a")
    a.subscribe([topic])
    poll_until([a], lambda: a.assigned() == ALL, "a's assignment")
    tps = [client.TopicPartition(topic, p, 3 + p) for p in range(PARTITIONS)]
    answer = a.c.commit(offsets=tps, asynchronous=False)
    assert sorted((tp.partition, tp.offset, tp.error) for tp in answer) == [(p, 3 + p, None) for p in range(PARTITIONS)]
    # A second member: a rebalance. The commit is the group's: b starts where it says.
    b = Member(make_consumer(conf), "b")
    b.subscribe([topic])
    poll_until([a, b], stable([a, b], PARTITIONS), "a and b to share the partitions")
    got = b.c.committed([client.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    assert [(tp.partition, tp.offset) for tp in got] == [(p, 3 + p) for p in range(PARTITIONS)]
    poll_until([a, b], lambda: all((m.offsets(p) or [None])[-1] == 9 for m in (a, b) for p in m.assigned()),
               "every partition read to its end")
    for p in b.assigned():
        assert b.offsets(p) == list(range(3 + p, 10)), (p, b.offsets(p))
    # A commit in the new generation, read back by the other member.
    mine = sorted(b.assigned())[0]
    b.c.commit(offsets=[client.TopicPartition(topic, mine, 10)], asynchronous=False)
    assert a.c.committed([client.TopicPartition(topic, mine)], timeout=10)[0].offset == 10


def test_auto_commit_on_close(client: ModuleType, group_broker: GroupBroker, make_consumer: Any) -> None:
    """enable.auto.commit=true (with an interval too long to matter): close() commits what
    was consumed, and the next member goes on from there."""
    topic = group_broker.create_topic("autoc", 1)
    produce_each(group_broker.bootstrap_servers, topic, 1, 20)
    conf = group_conf(group_broker, unique("autoc"), **{"enable.auto.commit": True, "auto.commit.interval.ms": 600000})
    a = Member(make_consumer(conf), "a")
    a.subscribe([topic])
    poll_until([a], lambda: len(a.records) >= 7, "seven records")
    last = a.offsets(0)[-1]
    a.c.close()
    b = Member(make_consumer(conf), "b")
    b.subscribe([topic])
    poll_until([b], lambda: bool(b.records), "b's first record")
    assert b.offsets(0)[0] == last + 1, (last, b.offsets(0)[:3])


def test_regex_subscription_picks_up_a_new_topic(client: ModuleType, group_broker: GroupBroker,
                                                  make_consumer: Any) -> None:
    prefix = unique("rx").replace("-", "_")
    first = group_broker.create_topic("", 2, name=f"{prefix}_one")
    group_broker.create_topic("", 1, name=f"other_{prefix}")  # does not match
    conf = group_conf(group_broker, unique("rx"), **{"topic.metadata.refresh.interval.ms": 1000})
    c = Member(make_consumer(conf), "c")
    c.subscribe([f"^{prefix}_.*"])
    poll_until([c], lambda: c.c.assignment() != [], "the first topic's partitions")
    assert sorted((tp.topic, tp.partition) for tp in c.c.assignment()) == [(first, 0), (first, 1)]
    created = time.monotonic()
    second = group_broker.create_topic("", 3, name=f"{prefix}_two")
    produce_each(group_broker.bootstrap_servers, second, 3, 2)
    poll_until([c], lambda: {(second, p) for p in range(3)} <= {(tp.topic, tp.partition) for tp in c.c.assignment()},
               "the new topic's partitions", timeout=15)
    assert time.monotonic() - created < 10
    assert sorted((tp.topic, tp.partition) for tp in c.c.assignment()) == sorted(
        [(first, 0), (first, 1)] + [(second, p) for p in range(3)])
    poll_until([c], lambda: len(c.records) >= 6, "the new topic's records")
    assert sorted(v for _, _, _, v in c.records) == sorted(f"v-{p}-{i}".encode() for p in range(3) for i in range(2))


def test_statistics_cgrp(client: ModuleType, group_broker: GroupBroker, make_consumer: Any) -> None:
    topic = group_broker.create_topic("stats", PARTITIONS)
    group = unique("stats")
    a = Member(None, "a")
    a.c = make_consumer(group_conf(group_broker, group, **{"statistics.interval.ms": 100, "stats_cb": a.on_stats}))
    a.subscribe([topic])
    poll_until([a], lambda: a.assigned() == ALL, "a's assignment")
    b = Member(make_consumer(group_conf(group_broker, group)), "b")
    b.subscribe([topic])
    poll_until([a, b], stable([a, b], PARTITIONS), "a and b to share the partitions")
    since = len(a.stats)

    def steady() -> bool:
        cg = a.stats[-1]["cgrp"] if len(a.stats) > since else None
        return cg is not None and cg["join_state"] == "steady" and cg["assignment_size"] == len(a.assigned())

    poll_until([a, b], steady, "statistics showing a steady member")
    cgrp = a.stats[-1]["cgrp"]
    assert cgrp["state"] == "up"
    assert cgrp["rebalance_cnt"] >= 2  # joining, and b's arrival
    assert isinstance(cgrp["rebalance_reason"], str) and cgrp["rebalance_reason"], cgrp
    assert cgrp["assignment_size"] == len(a.assigned()) == PARTITIONS // 2
    assert {"stateage", "rebalance_age"} <= set(cgrp)

