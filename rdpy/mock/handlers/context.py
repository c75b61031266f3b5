"""What every mock handler is given and may return, and the partition checks several share.

A handler gets a `RequestContext` and the decoded request and returns a `Reply`: the response
message, `None` when Kafka sends no response, `Wait` to have a Fetch held, or `Pending` for an
answer the group coordinator completes later (JoinGroup, SyncGroup). `leader_error` and
`epoch_error` are Kafka's leader-only and leader-epoch (KIP-320) checks, here because Produce,
Fetch and ListOffsets all make them. Runs on the server thread with `state.lock` held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdpy.errors import ErrorCode
from rdpy.mock.state import ClusterState, Partition
from rdpy.protocol.base import Message

__all__ = ["Handler", "Pending", "Reply", "RequestContext", "Wait", "epoch_error",
           "leader_error"]


@dataclass
class RequestContext:
    """What a handler knows besides the request."""

    state: ClusterState
    broker_id: int
    api_version: int
    #: Error to answer with instead of serving (push_request_errors), 0 for none.
    injected_error: int
    #: Wall clock in milliseconds (marker timestamps).
    now_ms: int
    #: False once a held Fetch reached its max wait: answer with what there is.
    may_wait: bool = True
    #: Monotonic clock in milliseconds (group session and rebalance timers).
    clock_ms: float = 0.0
    #: The request header's client id and the peer's address (group members show them).
    client_id: str = ""
    client_host: str = ""


@dataclass(frozen=True)
class Wait:
    """A Fetch below min_bytes: hold it up to `max_wait_ms` and ask again on changes."""

    max_wait_ms: int


@dataclass(frozen=True)
class Pending:
    """An answer that comes later: the server keeps the connection's request in progress and
    calls `response()` whenever the cluster changes, answering once it returns a message (the
    handler is not run again)."""

    response: Callable[[], Message | None]


Reply = Message | Wait | Pending | None
Handler = Callable[[RequestContext, Any], Reply]


def leader_error(ctx: RequestContext, part: Partition | None) -> int:
    """The error a leader-only request for `part` gets on this broker, 0 if it may serve."""
    if part is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PART
    if part.leader != ctx.broker_id:
        return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return 0


def epoch_error(part: Partition, current_leader_epoch: int) -> int:
    """Kafka's leader epoch check (KIP-320): -1 means the client does not know it."""
    if current_leader_epoch < 0 or current_leader_epoch == part.leader_epoch:
        return 0
    if current_leader_epoch < part.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    return ErrorCode.UNKNOWN_LEADER_EPOCH
