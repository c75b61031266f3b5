"""The typed ops that threads send each other: one small class per kind of op.

Two queues carry them. The handle's reply queue takes `ReplyOp`s from background threads to
the application's thread, which serves them from poll()/consume()/flush()/close() (the only
place user callbacks run). Each broker's op queue takes `BrokerOp`s from any thread to that
broker's thread. Receivers dispatch with `match` over these classes and treat an op they do not
know as a bug (`unknown_op`), never as something to drop silently.

No thread runs code here: these are values. `ProducerMessage`, `Toppar` and `Topic` are
referred to, not copied: their own docstrings say which thread may touch what.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, Union

from rdpy.errors import KafkaError

if TYPE_CHECKING:
    from rdpy.client.msg import ProducerMessage
    from rdpy.client.request import QueuedRequest
    from rdpy.client.toppar import Topic, Toppar
    from rdpy.topic_partition import TopicPartition


# --- to the application's thread (Handle.reply_q) ----------------------------------------------

@dataclass(slots=True)
class DeliveryReports:
    """Producer: delivery reports for `msgs` (each message's `err` says how it ended)."""
    msgs: list[ProducerMessage]


@dataclass(slots=True)
class ErrorEvent:
    """An error for error_cb."""
    error: KafkaError


@dataclass(slots=True)
class LogLine:
    """A log line for the `logger` callback (level is syslog's)."""
    level: int
    facility: str
    text: str


@dataclass(slots=True)
class Throttled:
    """A broker throttled this client for `ms` milliseconds (throttle_cb)."""
    broker_host: str
    broker_id: int
    ms: int


@dataclass(slots=True)
class StatsReady:
    """A statistics document for stats_cb."""
    json: str


@dataclass(slots=True)
class PlaceUnassigned:
    """Producer with a user partitioner: the topic's partition count is known; poll() places
    the messages that waited for it (user code runs only on the application's thread)."""
    topic: Topic


@dataclass(slots=True)
class CommitResult:
    """Consumer: an asynchronous or automatic commit ended (on_commit)."""
    error: KafkaError | None
    partitions: list[TopicPartition]


@dataclass(slots=True)
class Rebalance:
    """Consumer group: partitions given (`assign`) or taken away; poll() runs on_assign,
    on_revoke or (`lost`: the group already moved them) on_lost, or assigns/unassigns itself
    when the application has no callback (incrementally when `incremental`)."""
    assign: bool
    partitions: list[TopicPartition]
    lost: bool
    incremental: bool


ReplyOp = Union[DeliveryReports, ErrorEvent, LogLine, Throttled, StatsReady, PlaceUnassigned,
                CommitResult, Rebalance]


# --- to a broker's thread (Broker.post) ---------------------------------------------------------

@dataclass(slots=True)
class SendRequest:
    """Send `request` once the connection is up (connecting if needed)."""
    request: QueuedRequest


@dataclass(slots=True)
class TopparJoin:
    """This broker now leads `toppar`."""
    toppar: Toppar


@dataclass(slots=True)
class TopparLeave:
    """`toppar` moved to another leader: hand its transmit queue back."""
    toppar: Toppar


@dataclass(slots=True)
class TopparRemove:
    """`toppar` is gone from the cluster's metadata: what waits for it fails."""
    toppar: Toppar


@dataclass(slots=True)
class ConnectNow:
    """The main thread's probe while no broker is up: skip the rest of the reconnect backoff."""


@dataclass(slots=True)
class Connect:
    """Sparse connections: connect even with nothing to send, the reconnect backoff respected
    (librdkafka's RD_KAFKA_OP_CONNECT, sent by rd_kafka_connect_any() while no broker is up)."""


@dataclass(slots=True)
class Purge:
    """Producer.purge(): fail queued and/or in-flight messages; set `done` afterwards.
    `abort_txn`: abort_transaction()'s purge (an idempotent producer's sequence skips the
    purged messages instead of starting over)."""
    in_queue: bool
    in_flight: bool
    done: threading.Event | None
    abort_txn: bool = False


@dataclass(slots=True)
class Terminate:
    """Close the connection and end the thread."""


BrokerOp = Union[SendRequest, TopparJoin, TopparLeave, TopparRemove, Connect, ConnectNow, Purge,
                 Terminate]


def unknown_op(op: object) -> NoReturn:
    """A receiver got an op it has no case for: a bug in whoever sent it."""
    raise TypeError(f"unknown op {op!r}")


__all__ = ["BrokerOp", "CommitResult", "Connect", "ConnectNow", "DeliveryReports", "ErrorEvent", "LogLine",
           "PlaceUnassigned", "Purge", "Rebalance", "ReplyOp", "SendRequest", "StatsReady",
           "Terminate", "Throttled", "TopparJoin", "TopparLeave", "TopparRemove", "unknown_op"]
