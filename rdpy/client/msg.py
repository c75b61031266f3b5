"""The producer's internal message: one object per produce() call, alive until its delivery report.

Kept deliberately small (slots, no methods on the hot path). The public `rdpy.Message` handed to
delivery callbacks is created only when the report is served, from these fields. No thread owns
the class: each message belongs to whichever queue holds it (see Toppar for which thread may
touch which queue).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from rdpy.constants import OFFSET_INVALID, TIMESTAMP_CREATE_TIME
from rdpy.errors import KafkaError
from rdpy.message import Message

Headers = Optional[list[tuple[str, Optional[bytes]]]]
#: on_delivery(err, msg), as confluent-kafka calls it (err None on success).
DeliveryCallback = Callable[[Optional[KafkaError], Message], None]


class ProducerMessage:
    """One produced message. Owned by whichever queue holds it; never shared between threads.

    `timestamp` is milliseconds since the epoch (create time), `enq_time` the monotonic time of
    produce() in seconds, `deadline` the monotonic time at which message.timeout.ms expires
    (0 for none). `msgid` orders messages within a partition (retries are re-inserted by it);
    an idempotent producer derives each batch's base sequence from it (produce/idempotence.py).
    """

    __slots__ = (
        "topic",
        "partition",
        "key",
        "value",
        "headers",
        "timestamp",
        "on_delivery",
        "enq_time",
        "deadline",
        "size",
        "msgid",
        "last_msgid",
        "retries",
        "offset",
        "ts_type",
        "err",
        "possibly_persisted",
    )

    def __init__(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        timestamp: int,
        on_delivery: DeliveryCallback | None,
        enq_time: float,
        deadline: float,
        size: int,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.on_delivery = on_delivery
        self.enq_time = enq_time
        self.deadline = deadline
        self.size = size
        #: Given when the message leaves msgq for its leader's transmit queue (Toppar).
        self.msgid = 0
        #: On the first message of a batch an idempotent producer must send again: the msgid
        #: of that batch's last message, so the retry carries exactly the same messages (and
        #: sequence numbers). 0: no such constraint.
        self.last_msgid = 0
        self.retries = 0
        self.offset = OFFSET_INVALID
        #: Create time until the broker says log-append time.
        self.ts_type = TIMESTAMP_CREATE_TIME
        self.err = 0
        self.possibly_persisted = False
