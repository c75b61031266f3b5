"""The harness of the mixed-group suites: consumer groups started one member at a time, waited
on until settled, and what the group's leader assigned read back with the inputs it saw.

Where the inputs come from:

* the coordinator's DescribeGroups (rdpy's mock cluster and Kafka; sent with the raw protocol
  client, tests.support.rawclient): each member's id, group.instance.id, JoinGroup protocol
  metadata (the ConsumerProtocolSubscription bytes: topics, owned partitions, generation, rack,
  sticky user data) and the SyncGroup assignment bytes the leader sent it. A Stable group lists
  its members in the same order as the leader's JoinGroup response (both iterate the group's
  member map: Kafka's ClassicGroup and rdpy's classic_group.py alike); for librdkafka leaders
  this is checked against the leader's own log below;
* a confluent-kafka leader's log (debug=assignor, through the `logger` property): librdkafka's
  rd_kafka_assignor_run() dumps the members in the order it passes them to the assignor (id,
  owned partition count, subscription) and the assignor's result per member, partition order
  included, before the cooperative adjustment (src/rdkafka_assignor.c). On librdkafka's mock
  cluster, which has no DescribeGroups, this log is the only view of the inputs;
* the topics: librdkafka's leader asks Metadata for the union of the members' subscribed topics
  (JoinGroup order, each member's topics in its order, regexes left out, duplicates once:
  rd_kafka_topic_partition_list_get_topic_names) and hands the assignor the topics in the order
  the response lists them (rd_kafka_member_subscriptions_map walks metadata->topics; the parsed
  metadata keeps the broker's order). The harness sends the same Metadata request with the raw
  client and takes the response as it comes, brokers' racks included (librdkafka's partition
  racks are its replicas' brokers' racks, sorted, once each).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from rdpy.client.group.assignors import (
    Assignor,
    Member,
    TopicMetadata,
    decode_assignment,
    decode_member,
    find_assignor,
    run_assignor,
)
from rdpy.client.group.assignors import BUILTIN
from rdpy.protocol.messages import ApiVersionsRequest
from rdpy.protocol.messages.describe_groups import DescribeGroupsRequest
from rdpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from rdpy.protocol.messages.metadata import MetadataRequest, MetadataRequestTopic
from rdpy.protocol.versions import negotiate
from tests.support.rawclient import RawConnection

__all__ = [
    "Cluster",
    "Described",
    "GroupRun",
    "LeaderLog",
    "MemberSpec",
    "Running",
    "assignor_named",
    "check_valid",
    "decoded_members",
    "describe_group",
    "metadata_topics",
    "parse_assignor_runs",
    "request_topics",
    "run_rdpy",
    "unique",
]

TP = tuple[str, int]

#: Short enough for fast tests, long enough for a loaded 2-core machine.
SESSION_MS = 6000
HEARTBEAT_MS = 300


def unique(prefix: str) -> str:
    return f"rdpy-mixed-{prefix}-{uuid.uuid4().hex[:8]}"


def assignor_named(name: str) -> Assignor:
    a = find_assignor(name, BUILTIN)
    assert a is not None, name
    return a


@dataclass
class Cluster:
    """What a group runs on: its bootstrap servers, how to create a topic there, and whether
    its coordinator answers DescribeGroups (not librdkafka's mock)."""

    kind: str
    bootstrap_servers: str
    create: Callable[[str, int], object]
    describes_groups: bool = True
    #: broker id -> rack, when the brokers have racks.
    racks: dict[int, str] = field(default_factory=dict)
    #: For rdpy's mock: the MockCluster (its group_snapshot names the leader).
    mock: Any = None

    def topic(self, prefix: str, partitions: int) -> str:
        name = unique(prefix)
        self.create(name, partitions)
        return name


# --- raw protocol look-ups ------------------------------------------------------------------------


def _connect(bootstrap: str) -> RawConnection:
    conn = RawConnection(bootstrap, client_id="rdpy-mixed-groups", timeout=10.0)
    resp = conn.request(ApiVersionsRequest(), 0)  # librdkafka's mock has no ApiVersions v3
    assert resp.error_code == 0, resp
    conn.versions = negotiate({k.api_key: (k.min_version, k.max_version) for k in resp.api_keys})
    return conn


def request_topics(members: Sequence[Member]) -> list[str]:
    """The topics librdkafka's leader asks Metadata for: each member's subscription in
    JoinGroup order, regexes left out, duplicates once."""
    out: list[str] = []
    for m in members:
        for t in m.topics:
            if not t.startswith("^") and t not in out:
                out.append(t)
    return out


def metadata_topics(bootstrap: str, topics: Sequence[str]) -> list[TopicMetadata]:
    """The Metadata response for `topics` (in that order) as the leader's assignor gets it:
    topics in response order, partitions by id, each partition's replica racks sorted."""
    with _connect(bootstrap) as conn:
        req = MetadataRequest(topics=[MetadataRequestTopic(topic_id=uuid.UUID(int=0), name=t)
                                      for t in topics],
                              allow_auto_topic_creation=False,
                              include_cluster_authorized_operations=False,
                              include_topic_authorized_operations=False)
        resp = conn.request(req)
    rack_of = {b.node_id: b.rack for b in resp.brokers}
    out = []
    for t in resp.topics:
        assert t.error_code == 0, (t.name, t.error_code)
        parts = sorted(t.partitions, key=lambda p: p.partition_index)
        racks = tuple(tuple(sorted({rack_of[r] for r in p.replica_nodes
                                    if rack_of.get(r)}))
                      for p in parts)
        out.append(TopicMetadata(t.name, len(parts), racks if any(racks) else ()))
    return out


@dataclass(frozen=True)
class DescribedMember:
    member_id: str
    group_instance_id: str | None
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True)
class Described:
    state: str
    protocol: str
    members: tuple[DescribedMember, ...]

    def assignment_of(self, member_id: str) -> list[TP]:
        m = next(m for m in self.members if m.member_id == member_id)
        return decode_assignment(m.assignment)[0]


def describe_group(bootstrap: str, group: str) -> Described | None:
    """DescribeGroups from the group's coordinator (None while it cannot answer)."""
    with _connect(bootstrap) as conn:
        v = conn.versions[FindCoordinatorRequest.API_KEY]
        if v >= 4:
            fc = conn.request(FindCoordinatorRequest(key_type=0, coordinator_keys=[group]))
            c = fc.coordinators[0]
            err, host, port = c.error_code, c.host, c.port
        else:
            fc = conn.request(FindCoordinatorRequest(key=group, key_type=0))
            err, host, port = fc.error_code, fc.host, fc.port
        if err:
            return None
    with _connect(f"{host}:{port}") as conn:
        resp = conn.request(DescribeGroupsRequest(groups=[group],
                                                  include_authorized_operations=False))
    g = resp.groups[0]
    if g.error_code:
        return None
    return Described(g.group_state, g.protocol_data, tuple(
        DescribedMember(m.member_id, m.group_instance_id, m.member_metadata, m.member_assignment)
        for m in g.members))


# --- librdkafka's leader log ----------------------------------------------------------------------


_THREAD = re.compile(r"^\[thrd:[^\]]*\]: ")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []  # (facility, message)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 3:
            # librdkafka prefixes the thread: "[thrd:main]: <message>".
            self.lines.append((str(args[0]), _THREAD.sub("", str(args[2]), count=1)))
        else:
            self.lines.append(("", record.getMessage()))


_RUNNING = re.compile(r'^Group "(?P<g>.*)" running (?P<a>\S+) assignor for (?P<n>\d+) member\(s\) '
                      r'and (?P<e>\d+) eligible subscribed topic\(s\):$')
_MEMBER_IN = re.compile(r'^ Member "(?P<id>.*)"(?: \(me\))? with (?P<o>\d+) owned partition\(s\) '
                        r'and (?P<s>\d+) subscribed topic\(s\):$')
_FINISHED = re.compile(r'^Group "(?P<g>.*)" (?P<a>\S+) assignment for (?P<n>\d+) member\(s\) '
                       r'finished in .*:$')
_MEMBER_OUT = re.compile(r'^ Member "(?P<id>.*)"(?: \(me\))? assigned (?P<k>\d+) partition\(s\):$')
_TP = re.compile(r'^  (?P<t>.+) \[(?P<p>-?\d+)\]$')


@dataclass(frozen=True)
class LeaderLog:
    """One run of librdkafka's assignor as its debug log shows it."""

    assignor: str
    eligible_topics: int
    #: (member id, owned partition count, subscribed topics) in the assignor's member order.
    members: tuple[tuple[str, int, tuple[str, ...]], ...]
    #: member id -> the assignor's result for it, in its order (before the cooperative step).
    result: dict[str, list[TP]]


def parse_assignor_runs(lines: Sequence[tuple[str, str]]) -> list[LeaderLog]:
    msgs = [m for fac, m in lines if fac == "ASSIGN"]
    runs: list[LeaderLog] = []
    i = 0
    while i < len(msgs):
        head = _RUNNING.match(msgs[i])
        i += 1
        if not head:
            continue
        members = []
        for _ in range(int(head["n"])):
            mm = _MEMBER_IN.match(msgs[i])
            assert mm, msgs[i]
            i += 1
            subs = []
            for _ in range(int(mm["s"])):
                tp = _TP.match(msgs[i])
                assert tp, msgs[i]
                subs.append(tp["t"])
                i += 1
            members.append((mm["id"], int(mm["o"]), tuple(subs)))
        while i < len(msgs) and not _FINISHED.match(msgs[i]):
            i += 1
        if i >= len(msgs):
            break  # the rest was not served yet
        i += 1
        result: dict[str, list[TP]] = {}
        complete = True
        for _ in range(int(head["n"])):
            if i >= len(msgs):
                complete = False
                break
            mo = _MEMBER_OUT.match(msgs[i])
            assert mo, msgs[i]
            i += 1
            parts = []
            for _ in range(int(mo["k"])):
                tp = _TP.match(msgs[i])
                assert tp, msgs[i]
                parts.append((tp["t"], int(tp["p"])))
                i += 1
            result[mo["id"]] = parts
        if complete:
            runs.append(LeaderLog(head["a"], int(head["e"]), tuple(members), result))
    return runs


# --- groups ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSpec:
    """One member to start: its client module's name, topics, and optional static id/rack."""

    topics: tuple[str, ...]
    module: str = "confluent_kafka"
    instance_id: str | None = None
    rack: str | None = None


@dataclass
class Running:
    spec: MemberSpec
    module: ModuleType
    consumer: Any
    capture: _Capture | None

    @property
    def member_id(self) -> str:
        return str(self.consumer.memberid() or "")

    def assignment(self) -> set[TP]:
        return {(tp.topic, tp.partition) for tp in self.consumer.assignment()}


class GroupRun:
    """One group on `cluster` with `strategy`: add() members one at a time, settle() after each
    to let the group finish rebalancing, then check the leader's work."""

    def __init__(self, cluster: Cluster, strategy: str, modules: dict[str, ModuleType],
                 group: str | None = None) -> None:
        self.cluster = cluster
        self.strategy = strategy
        self.modules = modules
        self.group = group or unique("g")
        self.members: list[Running] = []
        self.partitions: dict[str, int] = {}  # topic -> partition count

    def conf(self, spec: MemberSpec, logger: logging.Logger | None) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": self.cluster.bootstrap_servers,
            "group.id": self.group,
            "partition.assignment.strategy": self.strategy,
            "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": HEARTBEAT_MS,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,
            "topic.metadata.refresh.interval.ms": 60000,
        }
        if spec.instance_id is not None:
            conf["group.instance.id"] = spec.instance_id
        if spec.rack is not None:
            conf["client.rack"] = spec.rack
        if logger is not None:
            conf["logger"] = logger
            conf["debug"] = "assignor"
        else:
            conf["log_level"] = 0
        return conf

    def add(self, spec: MemberSpec, topics: dict[str, int]) -> Running:
        """Start a member (its subscribe() may raise, e.g. NotImplementedError)."""
        self.partitions.update(topics)
        module = self.modules[spec.module]
        capture = None
        logger = None
        if module.__name__ == "confluent_kafka":
            capture = _Capture()
            logger = logging.Logger(f"mixed-{len(self.members)}")
            logger.setLevel(logging.DEBUG)
            logger.addHandler(capture)
        consumer = module.Consumer(self.conf(spec, logger))
        running = Running(spec, module, consumer, capture)
        self.members.append(running)
        consumer.subscribe(list(spec.topics))
        return running

    def close(self) -> None:
        for m in self.members:
            try:
                m.consumer.close()
            except RuntimeError:
                pass
        self.members.clear()

    def expected_partitions(self) -> set[TP]:
        """Every partition of a topic some member subscribes to."""
        subscribed = {t for m in self.members for t in m.spec.topics}
        return {(t, p) for t in subscribed for p in range(self.partitions[t])}

    def poll_all(self) -> None:
        for m in self.members:
            msg = m.consumer.poll(0.02)
            assert msg is None or msg.error() is None or msg.error().code() in (
                -191,), f"unexpected error from a member: {msg.error()}"

    def settle(self, timeout: float = 30.0) -> Described | None:
        """Poll every member until the group is Stable with exactly them, each holds what the
        coordinator says the leader gave it, and together they hold every subscribed partition
        once (cooperative-sticky moves a partition in a second rebalance). Where the cluster
        has no DescribeGroups, until the members' assignments cover every partition once and
        the leader's last assignor run is what they hold."""
        deadline = time.monotonic() + timeout
        want = self.expected_partitions()
        ids = None
        last: Any = None
        while time.monotonic() < deadline:
            self.poll_all()
            held = [m.assignment() for m in self.members]
            covered = (sum(len(h) for h in held) == len(want) and set().union(*held) == want)
            ids = [m.member_id for m in self.members]
            if not covered or not all(ids):
                last = ("not covered", held)
                continue
            if self.cluster.describes_groups:
                d = describe_group(self.cluster.bootstrap_servers, self.group)
                last = ("described", d, held)
                if (d is not None and d.state == "Stable"
                        and sorted(m.member_id for m in d.members) == sorted(ids)
                        and all(set(d.assignment_of(m.member_id)) == h
                                for m, h in zip(self.members, held, strict=True))):
                    return d
            else:
                run = self.last_run()
                last = ("log", run, held)
                if run is not None and sorted(run.result) == sorted(ids) and all(
                        set(run.result[m.member_id]) == h
                        for m, h in zip(self.members, held, strict=True)):
                    # Stable for a moment: no member mid-rebalance.
                    end = time.monotonic() + 0.5
                    while time.monotonic() < end:
                        self.poll_all()
                    if [m.assignment() for m in self.members] == held:
                        return None
            time.sleep(0.02)
        raise AssertionError(f"group {self.group} did not settle in {timeout}s: {last}")

    def run_for(self, members: Sequence[Member], timeout: float = 10.0) -> LeaderLog:
        """The leader's logged assignor run whose inputs are `members` (ids in order, owned
        partition counts, subscriptions), polling until the leader's log has served it: the
        log may lag behind the state the coordinator and the members show."""
        want = tuple((m.member_id, len(m.owned), m.topics) for m in members)
        deadline = time.monotonic() + timeout
        while True:
            runs = [run for _, run in self.leader_runs() if run.members == want]
            if runs:
                return runs[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no assignor run logged for {want}; last: {self.last_run()}")
            self.poll_all()

    def leader_runs(self) -> list[tuple[Running, LeaderLog]]:
        out = []
        for m in self.members:
            if m.capture is not None:
                for run in parse_assignor_runs(m.capture.lines):
                    out.append((m, run))
        return out

    def first_full_run(self) -> LeaderLog | None:
        """The first assignor run covering the current members. librdkafka's mock may follow
        it with more rounds for the same members (it refuses a follower's SyncGroup that
        comes after the leader's, and that follower rejoins), with partitions owned by then."""
        ids = sorted(m.member_id for m in self.members)
        return next((run for _, run in self.leader_runs() if sorted(run.result) == ids), None)

    def last_run(self) -> LeaderLog | None:
        """The assignor run of the current generation: the last one logged by the member
        whose log has one covering the current members (a leader logs its runs in order)."""
        ids = sorted(m.member_id for m in self.members)
        found = None
        for _, run in self.leader_runs():
            if sorted(run.result) == ids:
                found = run
        return found


def decoded_members(d: Described) -> list[Member]:
    out = []
    for dm in d.members:
        m = decode_member(dm.member_id, dm.group_instance_id, dm.metadata)
        assert m is not None, f"undecodable metadata of {dm.member_id}: {dm.metadata!r}"
        out.append(m)
    return out


def flat(result: dict[str, list[int]]) -> list[TP]:
    """An rdpy Assignment entry as the ordered partition list its SyncGroup bytes carry."""
    return [(t, p) for t, ps in result.items() for p in ps]


def check_valid(assignment: Mapping[str, Iterable[TP]], members: Sequence[Member],
                topics: Sequence[TopicMetadata]) -> None:
    """Every partition of a subscribed topic exactly once, each to a subscriber."""
    subs = {m.member_id: set(m.topics) for m in members}
    seen: dict[TP, str] = {}
    for mid, parts in assignment.items():
        for tp in parts:
            assert tp not in seen, f"{tp} assigned to {seen[tp]} and {mid}"
            assert tp[0] in subs[mid], f"{tp} assigned to {mid}, which does not subscribe to it"
            seen[tp] = mid
    want = {(t.name, p) for t in topics for p in range(t.partition_count)
            if any(t.name in s for s in subs.values())}
    assert set(seen) == want, f"missing {sorted(want - set(seen))}"


def run_rdpy(strategy: str, members: Sequence[Member],
             topics: Sequence[TopicMetadata]) -> tuple[dict[str, list[TP]], dict[str, list[TP]]]:
    """rdpy's assignor on the leader's inputs: (the assignor's own result, what the leader
    sends after the cooperative step), member id -> ordered partitions."""
    a = assignor_named(strategy)
    raw = a.assign(members, topics)
    sent = run_assignor(a, members, topics)
    return ({mid: flat(r) for mid, r in raw.items()}, {mid: flat(r) for mid, r in sent.items()})
