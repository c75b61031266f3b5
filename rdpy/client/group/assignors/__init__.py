"""The partition assignors of the classic consumer group protocol, as pure functions giving
librdkafka's results for the same input, so that a group mixing rdpy and librdkafka consumers
gets the same assignment whoever leads it: `range`, `roundrobin`, `cooperative-sticky`
(range.py, roundrobin.py, sticky.py, cooperative.py), the consumer protocol's bytes
(protocol.py) and which assignor runs (registry.py). Inputs and results are in common.py.

No state and no thread of their own: they run on whichever thread calls them (the group
leader's assignment on the main thread).
"""

from __future__ import annotations

from .common import Assignment, Member, RebalanceProtocol, TopicMetadata, TopicPartitionKey
from .cooperative import adjust_cooperative
from .protocol import (
    StickyState,
    decode_assignment,
    decode_member,
    decode_sticky_user_data,
    encode_assignment,
    encode_sticky_user_data,
    encode_subscription,
)
from .range import assign_range
from .registry import (
    BUILTIN,
    COOPERATIVE_STICKY,
    PROTOCOL_TYPE,
    RANGE,
    ROUNDROBIN,
    Assignor,
    StrategyError,
    configured_assignors,
    find_assignor,
    member_metadata,
    rebalance_protocol,
    run_assignor,
    select_protocol,
)
from .roundrobin import assign_roundrobin
from .sticky import assign_sticky

__all__ = [
    "BUILTIN",
    "COOPERATIVE_STICKY",
    "PROTOCOL_TYPE",
    "RANGE",
    "ROUNDROBIN",
    "Assignment",
    "Assignor",
    "Member",
    "RebalanceProtocol",
    "StickyState",
    "StrategyError",
    "TopicMetadata",
    "TopicPartitionKey",
    "adjust_cooperative",
    "assign_range",
    "assign_roundrobin",
    "assign_sticky",
    "configured_assignors",
    "decode_assignment",
    "decode_member",
    "decode_sticky_user_data",
    "encode_assignment",
    "encode_sticky_user_data",
    "encode_subscription",
    "find_assignor",
    "member_metadata",
    "rebalance_protocol",
    "run_assignor",
    "select_protocol",
]
