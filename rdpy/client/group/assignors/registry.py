"""Which assignors exist and which one runs: the built-in assignors with their protocol names
and rebalance protocols (rd_kafka_assignors_init in src/rdkafka_assignor.c), parsing
`partition.assignment.strategy` as librdkafka does (texts included), the JoinGroup metadata
each assignor sends, the leader running the assignor the coordinator chose
(rd_kafka_cgrp_assignor_run), and the coordinator's choice itself (Kafka's
ClassicGroup.selectProtocol, for rdpy's mock cluster).

Pure functions and immutable values: they run on whichever thread calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .common import Assignment, Member, RebalanceProtocol, TopicMetadata, TopicPartitionKey
from .cooperative import adjust_cooperative
from .protocol import StickyState, encode_sticky_user_data, encode_subscription
from .range import assign_range
from .roundrobin import assign_roundrobin
from .sticky import assign_sticky

__all__ = [
    "BUILTIN",
    "COOPERATIVE_STICKY",
    "PROTOCOL_TYPE",
    "RANGE",
    "ROUNDROBIN",
    "Assignor",
    "StrategyError",
    "configured_assignors",
    "find_assignor",
    "member_metadata",
    "rebalance_protocol",
    "run_assignor",
    "select_protocol",
]

#: JoinGroup's protocol type for consumers (group.protocol.type).
PROTOCOL_TYPE = "consumer"


@dataclass(frozen=True, slots=True)
class Assignor:
    """A partition assignor: its JoinGroup protocol name, rebalance protocol and function."""

    name: str
    protocol: RebalanceProtocol
    assign: Callable[[Sequence[Member], Sequence[TopicMetadata]], Assignment]
    #: Whether JoinGroup metadata carries StickyAssignorUserData once assigned.
    sticky_user_data: bool = False


RANGE = Assignor("range", RebalanceProtocol.EAGER, assign_range)
ROUNDROBIN = Assignor("roundrobin", RebalanceProtocol.EAGER, assign_roundrobin)
COOPERATIVE_STICKY = Assignor("cooperative-sticky", RebalanceProtocol.COOPERATIVE,
                              assign_sticky, sticky_user_data=True)
#: In librdkafka's registration order. (librdkafka has no eager "sticky" assignor.)
BUILTIN = (RANGE, ROUNDROBIN, COOPERATIVE_STICKY)


class StrategyError(ValueError):
    """partition.assignment.strategy cannot be used; the message is librdkafka's."""


def configured_assignors(strategy: str) -> list[Assignor]:
    """The assignors `strategy` enables, in its order (duplicates once), as
    rd_kafka_assignors_init() parses it: names split on ',', spaces and commas skipped before a
    name but not after it (librdkafka's right trim is a no-op, so "range ,roundrobin" names
    "range "). Raises StrategyError for an unknown name or a mix of rebalance protocols."""
    enabled: list[Assignor] = []
    for part in strategy.split(","):
        name = part.lstrip(" ")
        if not name:
            continue
        assignor = find_assignor(name, BUILTIN)
        if assignor is None:
            raise StrategyError(f"Unsupported partition.assignment.strategy: {name}")
        if assignor not in enabled:
            enabled.append(assignor)
    if len({a.protocol for a in enabled}) > 1:
        raise StrategyError(
            f"All partition.assignment.strategy ({strategy}) assignors must have the same "
            "protocol type, online migration between assignors with different protocol types "
            "is not supported")
    return enabled


def rebalance_protocol(enabled: Sequence[Assignor]) -> RebalanceProtocol:
    """The consumer's rebalance protocol before any join: its assignors' (NONE without)."""
    return enabled[0].protocol if enabled else RebalanceProtocol.NONE


def find_assignor(name: str, enabled: Sequence[Assignor]) -> Assignor | None:
    """The enabled assignor JoinGroup's protocol name names; None means librdkafka's
    _UNKNOWN_PROTOCOL (the leader does not run an assignor it was not configured with)."""
    return next((a for a in enabled if a.name == name), None)


def member_metadata(assignor: Assignor, topics: Sequence[str],
                    owned: Sequence[TopicPartitionKey], rack_id: str | None,
                    sticky: StickyState | None = None) -> bytes:
    """The metadata this consumer sends with `assignor`'s name in JoinGroup. `owned` is its
    current group assignment; `sticky` what the sticky assignor kept from the last SyncGroup
    (None before the first). Without user data the generation field is -1."""
    if assignor.sticky_user_data and sticky is not None:
        return encode_subscription(topics, encode_sticky_user_data(sticky), owned,
                                   sticky.generation, rack_id)
    return encode_subscription(topics, None, owned, -1, rack_id)


def run_assignor(assignor: Assignor, members: Sequence[Member],
                 topics: Sequence[TopicMetadata]) -> Assignment:
    """What the leader sends in SyncGroup: `assignor`'s result for `members` (JoinGroup order)
    over `topics` (metadata order), adjusted for incremental rebalancing when the assignor is
    COOPERATIVE."""
    result = assignor.assign(members, topics)
    if assignor.protocol is RebalanceProtocol.COOPERATIVE:
        return adjust_cooperative(members, result)
    return result


def _java_string_hash(s: str) -> int:
    """java.lang.String.hashCode(), unsigned: over UTF-16 code units."""
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h


def _hashmap_order(keys: list[str]) -> list[str]:
    """The iteration order of a java.util.HashMap holding `keys` (inserted in that order)."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(k: str) -> int:
        h = _java_string_hash(k)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(keys, key=lambda k: (bucket(k), keys.index(k)))


def select_protocol(member_protocols: Sequence[Sequence[str]]) -> str | None:
    """The coordinator's choice (Kafka's ClassicGroup.selectProtocol): among the protocols all
    members support, each member votes for the first of its own list; most votes win, a tie
    going to the first in the vote map's HashMap order. None when no protocol is common."""
    if not member_protocols:
        return None
    common = set(member_protocols[0]).intersection(*member_protocols[1:])
    if not common:
        return None
    votes: dict[str, int] = {}
    for protocols in member_protocols:
        choice = next(p for p in protocols if p in common)
        votes[choice] = votes.get(choice, 0) + 1
    best: str | None = None
    for name in _hashmap_order(list(votes)):
        if best is None or votes[name] > votes[best]:
            best = name
    return best
