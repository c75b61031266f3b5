"""The sticky assignor behind "cooperative-sticky" (librdkafka's src/rdkafka_sticky_assignor.c,
after Kafka's AbstractStickyAssignor, KIP-54 and KIP-341): keep every member's valid owned
partitions (the highest generation wins a partition claimed twice; two claims in one generation
void it), give the unassigned ones to the least loaded members, then move partitions from the
most to the least loaded until balanced, undoing the moves if the balance did not improve. With
racks (KIP-881) a member keeps and first gets partitions with a replica on its rack.

The order in which librdkafka walks its hash maps is kept: rd_map iterates newest entry first
(`_newest_first`), which decides ties in the partition order of a reassignment. Where
librdkafka's C would crash or read freed memory (states the algorithm should not reach), this
port carries on as the Java original does; see the comments marked "librdkafka:".

Pure functions: the state below lives for one call. They run on whichever thread calls them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from .common import (
    Assignment,
    EligibleTopic,
    Member,
    TopicMetadata,
    TopicPartitionKey,
    c_qsort,
    eligible_topics,
    normalized,
    use_rack_aware_assignment,
)

__all__ = ["assign_sticky"]

TP = TopicPartitionKey
K = TypeVar("K")
V = TypeVar("V")
Pair = tuple[str | None, str]


def _newest_first(d: dict[K, V]) -> list[tuple[K, V]]:
    """RD_MAP_FOREACH order: rd_map inserts at the head of its iteration list."""
    return list(reversed(d.items()))


@dataclass(slots=True)
class _Racks:
    """rd_kafka_rack_info_t: members' racks and partitions' replica racks."""

    member_rack: dict[str, str | None]
    partition_racks: dict[TP, tuple[str, ...]]

    def mismatch(self, consumer: str, tp: TP) -> bool:
        """rd_kafka_racks_mismatch(): the member has a rack the partition has no replica on."""
        rack = self.member_rack.get(consumer)
        if rack is None:
            return False
        racks = self.partition_racks.get(tp)
        return racks is None or rack not in racks


def _rack_info(topics: list[EligibleTopic]) -> _Racks | None:
    if not use_rack_aware_assignment(topics):
        return None
    info = _Racks({}, {})
    for t in topics:
        for m in t.members:
            info.member_rack[m.member_id] = m.rack_id
        for p in range(t.metadata.partition_count):
            info.partition_racks[(t.metadata.name, p)] = t.metadata.racks(p)
    return info


@dataclass(slots=True)
class _Moves:
    """PartitionMovements_t: where each moved partition came from and went, by topic too."""

    by_partition: dict[TP, Pair] = field(default_factory=dict)
    by_topic: dict[str, dict[Pair, list[TP]]] = field(default_factory=dict)

    def remove_record(self, tp: TP, pair: Pair) -> None:
        # librdkafka asserts these exist; a stale record (see move) would abort it.
        topic_moves = self.by_topic.get(tp[0])
        if topic_moves is None or pair not in topic_moves:
            return
        plist = topic_moves[pair]
        if tp in plist:
            plist.remove(tp)
        if not plist:
            del topic_moves[pair]
        if not topic_moves:
            del self.by_topic[tp[0]]

    def add_record(self, tp: TP, pair: Pair) -> None:
        self.by_partition[tp] = pair
        self.by_topic.setdefault(tp[0], {}).setdefault(pair, []).append(tp)

    def move(self, tp: TP, old: str | None, new: str, alias: list[TP] | None) -> TP:
        """PartitionMovements_movePartition(); returns the partition actually moved.

        librdkafka: a partition moving back to where it came from keeps its record in
        partitionMovements (Java removes it). And when `tp` is the first entry of a movement
        list (`alias`, from actual_to_move), C holds a pointer into that list: removing the
        entry shifts the next one under the pointer, which is then the partition moved."""
        existing = self.by_partition.get(tp)
        if existing is None:
            self.add_record(tp, (old, new))
            return tp
        self.remove_record(tp, existing)
        if alias:
            tp = alias[0]
        if existing[0] != new:
            self.add_record(tp, (existing[0], new))
        return tp

    def actual_to_move(self, tp: TP, old: str, new: str) -> tuple[TP, list[TP] | None]:
        """PartitionMovements_getTheActualPartitionToBeMoved(): a partition of the same topic
        that moved from `new` to `old` goes back instead. librdkafka builds the reverse pair from
        the current owner, where Java uses the partition's original owner."""
        topic_moves = self.by_topic.get(tp[0])
        if topic_moves is None:
            return tp, None
        plist = topic_moves.get((new, old))
        if not plist:
            return tp, None
        return plist[0], plist


@dataclass(slots=True)
class _State:
    """The maps of rd_kafka_sticky_assignor_assign_cb(), insertion-ordered as rd_map."""

    subscriptions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    current: dict[str, list[TP]] = field(default_factory=dict)
    prev: dict[TP, tuple[str, int]] = field(default_factory=dict)
    partition_consumer: dict[TP, str] = field(default_factory=dict)
    p2c: dict[TP, list[str]] = field(default_factory=dict)
    c2p: dict[str, list[TP]] = field(default_factory=dict)
    c2p_sets: dict[str, set[TP]] = field(default_factory=dict)
    sorted_subs: list[str] = field(default_factory=list)
    moves: _Moves = field(default_factory=_Moves)
    racks: _Racks | None = None

    def count(self, consumer: str | None) -> int:
        # librdkafka dereferences the member's list; a member missing here would crash it.
        return len(self.current.get(consumer, ())) if consumer is not None else 0

    def resort(self) -> None:
        """sort_by_map_elem_val_toppar_list_cnt: ascending partition count, then member id."""
        self.sorted_subs.sort(key=lambda c: (self.count(c), c))


def _prepopulate(st: _State, members: Sequence[Member]) -> None:
    """prepopulateCurrentAssignments(): each owned partition to its highest-generation claimer,
    the claimer before that as its previous owner; claims tied in generation void it.
    librdkafka: currentPartitionConsumer keeps the last claimer in member order (Java: the
    winner)."""
    by_generation: dict[TP, list[tuple[str, int]]] = {}
    for m in members:
        st.subscriptions[m.member_id] = m.topics
        st.current[m.member_id] = []
        st.c2p[m.member_id] = []
        st.c2p_sets[m.member_id] = set()
        for tp in m.owned:
            by_generation.setdefault(tp, []).append((m.member_id, m.generation))
            st.partition_consumer[tp] = m.member_id
    for tp, claims in _newest_first(by_generation):
        ordered = c_qsort(claims, lambda a, b: a[1] - b[1])
        if any(a[1] == b[1] for a, b in zip(ordered, ordered[1:])):
            st.partition_consumer.pop(tp, None)
            continue
        st.current[ordered[-1][0]].append(tp)
        if len(ordered) >= 2:
            st.prev[tp] = ordered[-2]


def _populate_potential(st: _State, topics: list[EligibleTopic]) -> None:
    """populatePotentialMaps(): who may have which partition, in topic (metadata) order."""
    for t in topics:
        for m in t.members:
            for p in range(t.metadata.partition_count):
                tp = (t.metadata.name, p)
                st.c2p[m.member_id].append(tp)
                st.c2p_sets[m.member_id].add(tp)
                st.p2c.setdefault(tp, []).append(m.member_id)


def _subscriptions_identical(st: _State) -> bool:
    """areSubscriptionsIdentical(): every partition has the same potential members (in order)
    and every member the same potential partitions."""
    consumer_lists = list(st.p2c.values())
    if any(a != b for a, b in zip(consumer_lists, consumer_lists[1:])):
        return False
    partition_sets = [frozenset(v) for v in st.c2p_sets.values()]
    counts = [len(v) for v in st.c2p.values()]
    return (all(s == partition_sets[0] for s in partition_sets)
            and all(c == counts[0] for c in counts))


def _sort_partitions(st: _State, is_fresh: bool) -> list[TP]:
    """sortPartitions(): the order partitions are considered for reassignment."""
    if is_fresh or not _subscriptions_identical(st):
        return sorted(st.p2c, key=lambda tp: (len(st.p2c[tp]), tp))
    assignments: dict[str, list[TP]] = {}
    consumers: list[str] = []
    for consumer, parts in _newest_first(st.current):
        parts.sort()  # librdkafka sorts the current assignment in place here
        valid = [tp for tp in parts if tp in st.p2c]
        if valid:
            assignments[consumer] = valid
            consumers.append(consumer)
    consumers.sort(key=lambda c: (len(assignments[c]), c))
    out: list[TP] = []
    while consumers:
        remaining = assignments[consumers[-1]]
        moved_before = [tp for tp in remaining if tp in st.prev]
        if moved_before:
            remaining.remove(moved_before[0])
            out.append(moved_before[0])
        elif remaining:
            out.append(remaining.pop(0))
        else:
            consumers.pop()
            continue
        consumers.sort(key=lambda c: (len(assignments[c]), c))
    was_empty = not out
    seen = set(out)
    for tp, _ in _newest_first(st.p2c):
        if tp not in seen:
            out.append(tp)
            seen.add(tp)
    if was_empty:
        out.sort()
    return out


def _drop_invalid(st: _State, unassigned: list[TP]) -> bool:
    """The removal loop of assign_cb: owned partitions that no longer exist, or whose topic the
    member no longer subscribes to by name, or on the wrong rack, leave its assignment; the
    others need no assigning. Returns whether a revocation is required."""
    revocation_required = False
    for consumer, parts in _newest_first(st.current):
        if consumer not in st.subscriptions:
            for tp in parts:
                st.partition_consumer.pop(tp, None)
            del st.current[consumer]
            continue
        kept = []
        for tp in parts:
            if tp not in st.p2c:
                st.partition_consumer.pop(tp, None)
            elif (tp[0] not in st.subscriptions[consumer]
                  or (st.racks is not None and st.racks.mismatch(consumer, tp))):
                revocation_required = True
            else:
                if tp in unassigned:
                    unassigned.remove(tp)
                kept.append(tp)
        parts[:] = kept
    return revocation_required


def _maybe_assign_partition(st: _State, tp: TP, racks: _Racks | None) -> bool:
    """maybeAssignPartition(): to the least loaded member that may have it."""
    for consumer in st.sorted_subs:
        if tp not in st.c2p_sets[consumer]:
            continue
        if racks is not None and racks.mismatch(consumer, tp):
            continue
        st.current[consumer].append(tp)
        st.partition_consumer[tp] = consumer
        st.resort()
        return True
    return False


def _maybe_assign(st: _State, unassigned: list[TP], remove_assigned: bool,
                  racks: _Racks | None) -> None:
    i = 0
    while i < len(unassigned):
        tp = unassigned[i]
        if st.p2c.get(tp) and _maybe_assign_partition(st, tp, racks) and remove_assigned:
            del unassigned[i]
        else:
            i += 1


def _can_participate(st: _State, consumer: str) -> bool:
    """consumerCanParticipateInReassignment()."""
    parts = st.current[consumer]
    if len(parts) < len(st.c2p[consumer]):
        return True
    return any(len(st.p2c.get(tp, ())) >= 2 for tp in parts)


def _is_balanced(st: _State) -> bool:
    """isBalanced(): counts differ by at most one, or no member with room could take a
    partition from a member with more."""
    if not st.sorted_subs:
        return True
    minimum = st.count(st.sorted_subs[0])
    maximum = st.count(st.sorted_subs[-1])
    if minimum >= maximum - 1:
        return True
    owner: dict[TP, str] = {}
    for consumer, parts in _newest_first(st.current):
        for tp in parts:
            owner[tp] = consumer
    for consumer in st.sorted_subs:
        parts = st.current[consumer]
        potential = st.c2p[consumer]
        if len(parts) == len(potential):
            continue
        have = set(parts)
        for tp in potential:
            if tp in have:
                continue
            other = owner.get(tp)  # librdkafka: a partition nobody has would crash it
            if other is not None and len(parts) < st.count(other):
                return False
    return True


def _process_movement(st: _State, tp: TP, new: str, alias: list[TP] | None) -> None:
    """processPartitionMovement()."""
    old = st.partition_consumer.get(tp)
    tp = st.moves.move(tp, old, new, alias)
    st.current[new].append(tp)
    if old is not None and tp in st.current.get(old, ()):
        st.current[old].remove(tp)
    st.partition_consumer[tp] = new
    st.resort()


def _reassign_to(st: _State, tp: TP, new: str) -> None:
    """reassignPartitionToConsumer()."""
    current_owner = st.partition_consumer[tp]
    actual, alias = st.moves.actual_to_move(tp, current_owner, new)
    _process_movement(st, actual, new, alias)


def _reassign(st: _State, tp: TP) -> None:
    """reassignPartition(): to the least loaded member that may have it."""
    for consumer in st.sorted_subs:
        if tp in st.c2p_sets[consumer]:
            _reassign_to(st, tp, consumer)
            return


def _move_within_rack(st: _State, tp: TP, consumer: str, count: int) -> bool:
    """The rack-aware step of performReassignments(): when the owner shares a rack with the
    partition and another member on such a rack has at least two fewer partitions."""
    if st.racks is None:
        return False
    rack = st.racks.member_rack.get(consumer)
    racks = st.racks.partition_racks.get(tp)
    if rack is None or not racks or rack not in racks:
        return False
    for other in st.p2c[tp]:
        other_rack = st.racks.member_rack.get(other)
        if other_rack is None or other_rack not in racks:
            continue
        if count <= st.count(other) + 1:
            continue
        _reassign(st, tp)
        return True
    return False


def _reassign_one(st: _State, tp: TP) -> bool:
    """One partition's turn in performReassignments(); True if it moved."""
    consumer = st.partition_consumer[tp]
    count = st.count(consumer)
    prev = st.prev.get(tp)
    if prev is not None and prev[0] in st.current and count > st.count(prev[0]) + 1:
        _reassign_to(st, tp, prev[0])
        return True
    if _move_within_rack(st, tp, consumer, count):
        return True
    for other in st.p2c[tp]:
        if other == consumer or count <= st.count(other) + 1:
            continue
        _reassign(st, tp)
        return True
    return False


def _perform_reassignments(st: _State, reassignable: list[TP]) -> bool:
    """performReassignments(): passes over `reassignable` until one moves nothing."""
    performed = False
    while True:
        modified = False
        for tp in reassignable:
            if _is_balanced(st):
                break
            if _reassign_one(st, tp):
                performed = modified = True
        if not modified:
            return performed


def _balance_score(assignment: dict[str, list[TP]]) -> int:
    """getBalanceScore(): the sum over member pairs of their count difference."""
    sizes = [len(v) for v in assignment.values()]
    return sum(abs(a - b) for i, a in enumerate(sizes) for b in sizes[i + 1:])


def _balance(st: _State, sorted_partitions: list[TP], unassigned: list[TP],
             revocation_required: bool) -> None:
    """balance()."""
    initializing = st.count(st.sorted_subs[-1]) == 0
    leftover = unassigned
    if st.racks is not None and st.racks.member_rack:
        leftover = list(unassigned)
        _maybe_assign(st, leftover, True, st.racks)
    _maybe_assign(st, leftover, False, None)

    for tp, consumers in _newest_first(st.p2c):
        if len(consumers) < 2:
            _remove_first(sorted_partitions, tp)
            _remove_first(unassigned, tp)
    fixed: dict[str, list[TP]] = {}
    for consumer in list(st.sorted_subs):
        if not _can_participate(st, consumer):
            st.sorted_subs.remove(consumer)
            fixed[consumer] = list(st.current.pop(consumer))

    before = {c: list(ps) for c, ps in st.current.items()}
    before_owner = dict(st.partition_consumer)
    if not revocation_required and unassigned:
        _perform_reassignments(st, unassigned)
    performed = _perform_reassignments(st, sorted_partitions)
    if (not initializing and performed
            and _balance_score(st.current) >= _balance_score(before)):
        for consumer, parts in before.items():
            st.current[consumer] = list(parts)
        st.partition_consumer = before_owner

    for consumer, parts in _newest_first(fixed):
        st.current[consumer] = parts
        st.sorted_subs.append(consumer)
    st.resort()


def _remove_first(items: list[TP], tp: TP) -> None:
    if tp in items:
        items.remove(tp)


def _as_assignment(members: Iterable[Member], st: _State) -> Assignment:
    out: Assignment = {}
    for m in members:
        topics: dict[str, list[int]] = {}
        for topic, partition in st.current.get(m.member_id, ()):
            topics.setdefault(topic, []).append(partition)
        out[m.member_id] = topics
    return normalized(out)


def assign_sticky(members: Sequence[Member], topics: Sequence[TopicMetadata]) -> Assignment:
    """rd_kafka_sticky_assignor_assign_cb(): the sticky assignment of `topics` (metadata order)
    to `members` (JoinGroup order), from the partitions they own."""
    if not members:
        return {}
    eligible = eligible_topics(members, topics)
    st = _State(racks=_rack_info(eligible))
    _prepopulate(st, members)
    is_fresh = not st.current  # librdkafka: only with no members, so never here
    _populate_potential(st, eligible)
    sorted_partitions = _sort_partitions(st, is_fresh)
    unassigned = list(sorted_partitions)
    revocation_required = _drop_invalid(st, unassigned)
    st.sorted_subs = [c for c, _ in _newest_first(st.current)]
    st.resort()
    _balance(st, sorted_partitions, unassigned, revocation_required)
    return _as_assignment(members, st)
