"""THE statistics schema: every field of the stats_cb JSON document, at every level.

rdpy emits the JSON document librdkafka emits (``statistics.interval.ms`` + ``stats_cb``), so
monitoring built for librdkafka keeps working.  This table is the single source for:

- the emitted document (``rdpy.stats.shape`` walks it to know which keys to write, in which
  order, for which client type; the engine's counters which windows to create with which
  histogram range);
- the validator (``rdpy.stats.validate``), which checks a document against it;
- STATISTICS.md (``tools/gen_docs.py``).

Field paths are tuples of JSON keys; ``"*"`` stands for a key chosen at run time (broker name,
``"topic-partition"``, topic name, partition id).  Fields are declared in the order librdkafka
writes them, so iterating ``children(prefix)`` gives librdkafka's key order.  The names, shape,
types and emission rules follow librdkafka 2.16.0 (bundled with confluent-kafka 2.16) as
captured from its own stats_cb output (tests/data/librdkafka_stats_*.json) and its source
(src/rdkafka.c ``rd_kafka_stats_emit_all``).  Meanings are our own words.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

from rdpy.config.conf import ClientType

__all__ = [
    "ANY",
    "Emit",
    "Field",
    "FIELDS",
    "JsonType",
    "LEVELS",
    "Level",
    "Presence",
    "PLACEHOLDER_REQUEST_NAME",
    "REQUEST_NAMES",
    "RequestName",
    "RdType",
    "Unit",
    "WINDOW_KEYS",
    "WINDOWS",
    "WindowSpec",
    "children",
    "field",
    "is_map",
    "request_name",
]

ANY = "*"
"""Path component standing for a run-time key (broker name, topic, partition id...)."""


class Emit(enum.Enum):
    """Which client types write a field (``applies`` says for which it is meaningful)."""

    BOTH = "both"
    PRODUCER = "producer"
    CONSUMER = "consumer"

    def covers(self, client: ClientType) -> bool:
        return self is Emit.BOTH or self.value == client


class JsonType(enum.Enum):
    """The JSON type of a value."""

    INT = "int"
    STR = "string"
    FLOAT = "float"
    BOOL = "bool"
    OBJECT = "object"


class RdType(enum.Enum):
    """librdkafka STATISTICS.md's "Type" column (where it documents the field)."""

    COUNTER = "int"  # ever increasing
    GAUGE = "int gauge"  # current value / per-interval value
    STRING = "string"
    BOOL = "bool"
    OBJECT = "object"


class Unit(enum.Enum):
    NONE = ""
    COUNT = "count"
    BYTES = "bytes"
    MICROSECONDS = "µs"
    MILLISECONDS = "ms"
    SECONDS = "s"
    OFFSET = "offset"
    ID = "id"
    MESSAGES = "messages"
    REQUESTS = "requests"


class Presence(enum.Enum):
    """When a field (and everything below it) is written."""

    ALWAYS = "always"
    CGRP = "when group.id is set (consumer group handler exists)"
    IDEMPOTENT = "when enable.idempotence or transactional.id is set"
    FATAL = "after a fatal error was raised"
    NONZERO = "only when the count is non-zero"


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    type: JsonType
    unit: Unit
    applies: Emit  # the client types for which the value means something
    meaning: str
    rd_type: RdType | None  # None: not documented in librdkafka's STATISTICS.md
    emitted: Emit = Emit.BOTH  # the client types that write the key at all
    presence: Presence = Presence.ALWAYS
    note: str = ""  # librdkafka quirks, version notes

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Level:
    """One table of STATISTICS.md: an object, or the values of a map."""

    path: tuple[str, ...]  # path of the object itself ("brokers", "*") ; () = top level
    title: str
    key: str  # for maps ("*" last): what the key is; "" for plain objects
    intro: str


@dataclass(frozen=True)
class WindowSpec:
    """Initial HDR histogram range of a window, as librdkafka creates it (sigfigs 2).

    ``hi_property`` names the configuration property giving the upper bound when it is
    configuration-driven (then ``hi`` is librdkafka's default for it).
    """

    lo: int
    hi: int
    sigfigs: int = 2
    hi_property: str = ""


# Window object layout (rd_avg_t rollover), in librdkafka's key order.
WINDOW_KEYS: tuple[tuple[str, str], ...] = (
    ("min", "smallest value in the interval (0 when cnt is 0); as in librdkafka a 0 counts as "
     "\"no minimum yet\", so a recorded 0 is replaced by the next value"),
    ("max", "largest value in the interval"),
    ("avg", "sum / cnt, integer division (0 when cnt is 0)"),
    ("sum", "sum of the values"),
    ("stddev", "standard deviation, computed from the histogram, truncated to an integer"),
    ("p50", "50th percentile (histogram bucket's highest equivalent value)"),
    ("p75", "75th percentile"),
    ("p90", "90th percentile"),
    ("p95", "95th percentile"),
    ("p99", "99th percentile"),
    ("p99_99", "99.99th percentile"),
    ("outofrange", "values outside the histogram's range: left out of the percentiles and "
     "stddev, still counted in min, max, avg, sum and cnt; when every value of a period was out "
     "of range, the count carries over into the next period's report"),
    ("hdrsize", "size in bytes of the HDR histogram used for this period; it grows after a "
     "period that had out-of-range values as well as values in range (the next period's upper "
     "bound becomes the largest out-of-range value plus 20% of how far it overshot)"),
    ("cnt", "number of values in the interval"),
)

WINDOWS: dict[str, WindowSpec] = {
    "int_latency": WindowSpec(0, 100 * 1000),
    "outbuf_latency": WindowSpec(0, 100 * 1000),
    "rtt": WindowSpec(0, 500 * 1000),
    "throttle": WindowSpec(0, 5 * 1000 * 1000),
    "batchsize": WindowSpec(0, 1000000, hi_property="message.max.bytes"),
    "batchcnt": WindowSpec(0, 10000, hi_property="batch.num.messages"),
}


@dataclass(frozen=True)
class RequestName:
    api_key: int
    name: str  # the key librdkafka writes (rd_kafka_ApiKey2str), quirks included
    emitted: Emit
    presence: Presence = Presence.ALWAYS


_P, _C, _B = Emit.PRODUCER, Emit.CONSUMER, Emit.BOTH
_NZ = Presence.NONZERO

# The request-type counters in brokers.*.req, in API-key order (librdkafka's order).  librdkafka
# hides the group/fetch APIs from producers, the produce/transaction APIs from consumers,
# broker-internal APIs from everyone, and admin APIs unless they were used.  API keys it has
# no name for are written as "Unknown-NN?" placeholders: rdpy does not write those.
REQUEST_NAMES: tuple[RequestName, ...] = (
    RequestName(0, "Produce", _P),
    RequestName(1, "Fetch", _C),
    RequestName(2, "ListOffsets", _B),
    RequestName(3, "Metadata", _B),
    RequestName(8, "OffsetCommit", _C),
    RequestName(9, "OffsetFetch", _C),
    RequestName(10, "FindCoordinator", _B),
    RequestName(11, "JoinGroup", _C),
    RequestName(12, "Heartbeat", _C),
    RequestName(13, "LeaveGroup", _C),
    RequestName(14, "SyncGroup", _C),
    RequestName(15, "DescribeGroups", _B, _NZ),
    RequestName(16, "ListGroups", _B, _NZ),
    RequestName(17, "SaslHandshake", _B),
    RequestName(18, "ApiVersion", _B),
    RequestName(19, "CreateTopics", _B, _NZ),
    RequestName(20, "DeleteTopics", _B, _NZ),
    RequestName(21, "DeleteRecords", _B, _NZ),
    RequestName(22, "InitProducerId", _P),
    RequestName(24, "AddPartitionsToTxn", _P),
    RequestName(25, "AddOffsetsToTxn", _P),
    RequestName(26, "EndTxn", _P),
    RequestName(28, "TxnOffsetCommit", _P),
    RequestName(29, "DescribeAcls", _B, _NZ),
    RequestName(30, "CreateAcls", _B, _NZ),
    RequestName(31, "DeleteAcls", _B, _NZ),
    RequestName(32, "DescribeConfigs", _B, _NZ),
    RequestName(33, "AlterConfigs", _B, _NZ),
    RequestName(36, "SaslAuthenticate", _B),
    RequestName(37, "CreatePartitions", _B, _NZ),
    RequestName(42, "DeleteGroups", _B, _NZ),
    RequestName(47, "OffsetDeleteRequest", _B, _NZ),
    RequestName(48, "DescribeClientQuotasRequest", _B, _NZ),
    RequestName(49, "AlterClientQuotasRequest", _B, _NZ),
    RequestName(50, "DescribeUserScramCredentialsRequest", _B, _NZ),
    RequestName(60, "DescribeCluster", _B),
    RequestName(61, "DescribeProducers", _B),
    RequestName(65, "DescribeTransactions", _B),
    RequestName(66, "ListTransactions", _B),
    RequestName(69, "ConsumerGroupDescribe", _B, _NZ),
    RequestName(71, "GetTelemetrySubscriptions", _B),
    RequestName(72, "PushTelemetry", _B),
    RequestName(76, "ShareGroupHeartbeat", _B),
    RequestName(78, "ShareFetch", _B),
    RequestName(79, "ShareAcknowledge", _B),
)

_REQUEST_BY_KEY = {r.api_key: r for r in REQUEST_NAMES}

PLACEHOLDER_REQUEST_NAME = re.compile(r"Unknown-\d+\?\Z")
"""librdkafka's name for an API key it has no name for; tolerated, never emitted by rdpy."""


def request_name(api_key: int) -> RequestName | None:
    """The req counter an emitter writes for a request of this API key (None: not counted)."""
    return _REQUEST_BY_KEY.get(api_key)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

INT, STR, BOOL, OBJ = JsonType.INT, JsonType.STR, JsonType.BOOL, JsonType.OBJECT
CTR, GAU, RSTR, RBOOL, ROBJ = RdType.COUNTER, RdType.GAUGE, RdType.STRING, RdType.BOOL, RdType.OBJECT
U = Unit

_fields: list[Field] = []


def _f(
    path: tuple[str, ...],
    type_: JsonType,
    unit: Unit,
    applies: Emit,
    meaning: str,
    rd_type: RdType | None,
    *,
    emitted: Emit = Emit.BOTH,
    presence: Presence = Presence.ALWAYS,
    note: str = "",
) -> None:
    _fields.append(Field(path, type_, unit, applies, meaning, rd_type, emitted, presence, note))


def _window(
    prefix: tuple[str, ...], name: str, unit: Unit, applies: Emit, meaning: str, note: str = ""
) -> None:
    path = (*prefix, name)
    _f(path, OBJ, unit, applies, meaning + " (a window, see Windows)", ROBJ, note=note)
    for key, what in WINDOW_KEYS:
        if key == "cnt" or key == "outofrange":
            u = U.COUNT
        elif key == "hdrsize":
            u = U.BYTES
        else:
            u = unit
        _f((*path, key), INT, u, applies, what, GAU)


# --- top level --------------------------------------------------------------------------------
_f(("name",), STR, U.NONE, _B, 'handle name: client.id + "#producer-N" / "#consumer-N"', RSTR)
_f(("client_id",), STR, U.NONE, _B, "the configured client.id", RSTR)
_f(("type",), STR, U.NONE, _B, '"producer" or "consumer"', RSTR)
_f(("ts",), INT, U.MICROSECONDS, _B, "monotonic clock reading at emission", CTR)
_f(("time",), INT, U.SECONDS, _B, "wall clock at emission, seconds since the epoch", CTR)
_f(("age",), INT, U.MICROSECONDS, _B, "time since the client was created", None)
_f(("replyq",), INT, U.COUNT, _B, "events waiting for the application's poll()", GAU)
_f(("msg_cnt",), INT, U.MESSAGES, _P, "messages produced and not yet delivered/failed", GAU,
   note="0 for consumers")
_f(("msg_size",), INT, U.BYTES, _P, "payload bytes of the msg_cnt messages", GAU,
   note="0 for consumers")
_f(("msg_max",), INT, U.MESSAGES, _P, "queue.buffering.max.messages (limit of msg_cnt)", CTR,
   note="0 for consumers")
_f(("msg_size_max",), INT, U.BYTES, _P,
   "queue.buffering.max.kbytes in bytes (limit of msg_size)", CTR, note="0 for consumers")
_f(("simple_cnt",), INT, U.COUNT, _B, "legacy simple-consumer usage counter (always 0 in rdpy)",
   GAU)
_f(("metadata_cache_cnt",), INT, U.COUNT, _B, "topics in the metadata cache", GAU)
_f(("brokers",), OBJ, U.NONE, _B, "one object per broker handle, keyed by broker name", ROBJ)

# --- brokers.* --------------------------------------------------------------------------------
BR = ("brokers", ANY)
_f((*BR, "name"), STR, U.NONE, _B,
   '"host:port/nodeid", "host:port/bootstrap" for a bootstrap broker, or a logical name',
   RSTR)
_f((*BR, "nodeid"), INT, U.ID, _B, "broker id; -1 for bootstrap and logical brokers", CTR)
_f((*BR, "nodename"), STR, U.NONE, _B, '"host:port" (empty for a logical broker without one)',
   RSTR)
_f((*BR, "source"), STR, U.NONE, _B,
   'where the broker came from: "configured", "learned", "internal" or "logical"', RSTR)
_f((*BR, "state"), STR, U.NONE, _B,
   "connection state: INIT, DOWN, TRY_CONNECT, CONNECT, SSL_HANDSHAKE, AUTH_LEGACY, UP, "
   "UPDATE, APIVERSION_QUERY, AUTH_HANDSHAKE, AUTH_REQ, REAUTH", RSTR)
_f((*BR, "stateage"), INT, U.MICROSECONDS, _B, "time since the last state change", GAU)
_f((*BR, "outbuf_cnt"), INT, U.REQUESTS, _B, "requests queued, not yet written to the socket", GAU)
_f((*BR, "outbuf_msg_cnt"), INT, U.MESSAGES, _B, "messages in those queued requests", GAU)
_f((*BR, "waitresp_cnt"), INT, U.REQUESTS, _B, "requests sent and awaiting a response", GAU)
_f((*BR, "waitresp_msg_cnt"), INT, U.MESSAGES, _B, "messages in the requests awaiting a response",
   GAU)
_f((*BR, "tx"), INT, U.REQUESTS, _B, "requests sent", CTR)
_f((*BR, "txbytes"), INT, U.BYTES, _B, "bytes sent", CTR)
_f((*BR, "txerrs"), INT, U.COUNT, _B, "send errors", CTR)
_f((*BR, "txretries"), INT, U.COUNT, _B, "requests retried", CTR)
_f((*BR, "txidle"), INT, U.MICROSECONDS, _B,
   "time since the last send; -1 when never sent or the broker is not UP", None)
_f((*BR, "req_timeouts"), INT, U.COUNT, _B, "requests that timed out", CTR)
_f((*BR, "rx"), INT, U.COUNT, _B, "responses received", CTR)
_f((*BR, "rxbytes"), INT, U.BYTES, _B, "bytes received", CTR)
_f((*BR, "rxerrs"), INT, U.COUNT, _B, "receive errors", CTR)
_f((*BR, "rxcorriderrs"), INT, U.COUNT, _B,
   "responses matching no outstanding request (typically after a timeout)", CTR)
_f((*BR, "rxpartial"), INT, U.COUNT, _B, "partial message batches received at a fetch's end",
   CTR, note="always 0 in rdpy: truncated batches at the end of a fetch are not counted yet")
_f((*BR, "rxidle"), INT, U.MICROSECONDS, _B,
   "time since the last receive; -1 when nothing received or the broker is not UP", None)
_f((*BR, "zbuf_grow"), INT, U.COUNT, _B, "decompression buffer enlargements", CTR,
   note="always 0 in rdpy, which keeps no growing decompression buffers")
_f((*BR, "buf_grow"), INT, U.COUNT, _B, "buffer enlargements (unused, always 0)", CTR,
   note="always 0 in rdpy as well")
_f((*BR, "wakeups"), INT, U.COUNT, _B, "broker thread wake-ups", CTR)
_f((*BR, "connects"), INT, U.COUNT, _B,
   "connection attempts, successful or not, including name resolution failures", CTR)
_f((*BR, "disconnects"), INT, U.COUNT, _B, "connections lost or closed", CTR)
_window(BR, "int_latency", U.MICROSECONDS, _P,
        "per message: time from produce() to being put in a request batch")
_window(BR, "outbuf_latency", U.MICROSECONDS, _B,
        "per request: time from queueing to being written to the socket",
        note="in rdpy, measured from when the broker thread takes the request in to when it is "
        "handed to the connection's send buffer")
_window(BR, "rtt", U.MICROSECONDS, _B, "per response: time from sending a request to its response")
_window(BR, "throttle", U.MILLISECONDS, _B, "per response: throttle_time_ms the broker reported")
_f((*BR, "req"), OBJ, U.NONE, _B,
   "requests sent per request type, keyed by librdkafka's request name (see Request names)",
   ROBJ)
for _r in REQUEST_NAMES:
    _f((*BR, "req", _r.name), INT, U.REQUESTS, _r.emitted,
       f"{_r.name} requests sent (API key {_r.api_key})", None, emitted=_r.emitted,
       presence=_r.presence)
_f((*BR, "toppars"), OBJ, U.NONE, _B,
   'partitions this broker leads for the client, keyed by "topic-partition"', ROBJ)
BT = (*BR, "toppars", ANY)
_f((*BT, "topic"), STR, U.NONE, _B, "topic name", RSTR)
_f((*BT, "partition"), INT, U.ID, _B, "partition id", CTR)

# --- topics.* ---------------------------------------------------------------------------------
_f(("topics",), OBJ, U.NONE, _B, "one object per topic the client knows, keyed by topic name",
   ROBJ)
TP = ("topics", ANY)
_f((*TP, "topic"), STR, U.NONE, _B, "topic name", RSTR)
_f((*TP, "age"), INT, U.MILLISECONDS, _B, "time since the client created its topic object", None)
_f((*TP, "metadata_age"), INT, U.MILLISECONDS, _B,
   "time since the topic's metadata was last updated (0: never)", GAU)
_window(TP, "batchsize", U.BYTES, _B,
        "per batch: size of the record batches produced or fetched")
_window(TP, "batchcnt", U.MESSAGES, _B,
        "per batch: message count of the record batches produced or fetched")
_f((*TP, "partitions"), OBJ, U.NONE, _B,
   'partitions keyed by partition id as a string; "-1" is the internal unassigned (UA) '
   "partition holding messages not yet partitioned", ROBJ)
PA = (*TP, "partitions", ANY)
_f((*PA, "partition"), INT, U.ID, _B, "partition id (-1: the UA partition)", CTR)
_f((*PA, "broker"), INT, U.ID, _B, "id of the broker handling the partition now (-1: none)", None)
_f((*PA, "leader"), INT, U.ID, _B, "leader broker id from metadata (-1: unknown)", CTR)
_f((*PA, "desired"), BOOL, U.NONE, _B, "the application asked for this partition (assigned)",
   RBOOL)
_f((*PA, "unknown"), BOOL, U.NONE, _B, "the partition is absent from the broker's metadata",
   RBOOL)
_f((*PA, "msgq_cnt"), INT, U.MESSAGES, _P, "messages waiting in the partition queue", GAU)
_f((*PA, "msgq_bytes"), INT, U.BYTES, _P, "bytes of the msgq_cnt messages", GAU)
_f((*PA, "xmit_msgq_cnt"), INT, U.MESSAGES, _P,
   "messages in the broker thread's transmit queue", GAU,
   note="librdkafka always writes 0 (the queue belongs to the broker thread)")
_f((*PA, "xmit_msgq_bytes"), INT, U.BYTES, _P, "bytes of the xmit_msgq_cnt messages", GAU,
   note="librdkafka always writes 0")
_f((*PA, "fetchq_cnt"), INT, U.COUNT, _C, "prefetched messages and events queued", GAU)
_f((*PA, "fetchq_size"), INT, U.BYTES, _C, "bytes of the prefetched messages", GAU,
   note="in rdpy, the fetched record batches' bytes (decoded only when the application gets to "
   "them)")
_f((*PA, "fetch_state"), STR, U.NONE, _C,
   "fetcher state: none, stopping, stopped, offset-query, offset-wait, validate-epoch-wait, "
   "active", RSTR)
_f((*PA, "query_offset"), INT, U.OFFSET, _C, "offset (possibly logical) last looked up", GAU)
_f((*PA, "next_offset"), INT, U.OFFSET, _C, "next offset to fetch", GAU)
_f((*PA, "app_offset"), INT, U.OFFSET, _C,
   "offset of the last message handed to the application + 1 (-1001: none)", GAU)
_f((*PA, "stored_offset"), INT, U.OFFSET, _C, "offset stored for the next commit (-1001: none)",
   GAU)
_f((*PA, "stored_leader_epoch"), INT, U.ID, _C, "leader epoch of stored_offset (-1: none)", None)
_f((*PA, "commited_offset"), INT, U.OFFSET, _C, "same as committed_offset", None,
   note="librdkafka's legacy misspelling, still written for compatibility")
_f((*PA, "committed_offset"), INT, U.OFFSET, _C, "last committed offset (-1001: none)", GAU)
_f((*PA, "committed_leader_epoch"), INT, U.ID, _C, "leader epoch of committed_offset (-1: none)",
   None)
_f((*PA, "eof_offset"), INT, U.OFFSET, _C, "offset of the last partition EOF event (-1001: none)",
   GAU)
_f((*PA, "lo_offset"), INT, U.OFFSET, _C, "low watermark (log start) (-1001: unknown)", GAU)
_f((*PA, "hi_offset"), INT, U.OFFSET, _C, "high watermark (-1001: unknown)", GAU)
_f((*PA, "ls_offset"), INT, U.OFFSET, _C, "last stable offset (-1001: unknown)", None)
_f((*PA, "consumer_lag"), INT, U.MESSAGES, _C,
   "end offset - committed_offset, where end offset is ls_offset under read_committed and "
   "hi_offset otherwise; -1 when either is unknown", GAU,
   note="librdkafka's STATISTICS.md describes max(app_offset, committed_offset); the code uses "
   "committed_offset only")
_f((*PA, "consumer_lag_stored"), INT, U.MESSAGES, _C,
   "end offset - stored_offset (lag counting stored, not yet committed offsets); -1 when unknown",
   None)
_f((*PA, "leader_epoch"), INT, U.ID, _B, "partition leader epoch from metadata (-1: unknown)",
   None)
_f((*PA, "txmsgs"), INT, U.MESSAGES, _P, "messages sent in ProduceRequests (each resend counts)",
   CTR)
_f((*PA, "txbytes"), INT, U.BYTES, _P, "bytes of the txmsgs messages", CTR,
   note="in rdpy, key + value + header bytes of each message")
_f((*PA, "rxmsgs"), INT, U.MESSAGES, _C,
   "messages consumed (excluding those skipped, e.g. below the fetch offset)", CTR)
_f((*PA, "rxbytes"), INT, U.BYTES, _C, "bytes of the rxmsgs messages", CTR,
   note="in rdpy, value bytes of each message; rxmsgs and rxbytes count messages as they are "
   "decoded, just before poll()/consume() hand them out, where librdkafka counts them when "
   "they are fetched")
_f((*PA, "msgs"), INT, U.MESSAGES, _B,
   "producer: messages produced to the partition (sent or not); consumer: same as rxmsgs", CTR)
_f((*PA, "rx_ver_drops"), INT, U.MESSAGES, _C,
   "fetched messages dropped as outdated (after a seek, pause or re-assign)", CTR)
_f((*PA, "msgs_inflight"), INT, U.MESSAGES, _P, "messages in requests awaiting a response", GAU)
_f((*PA, "next_ack_seq"), INT, U.ID, _P, "idempotent producer: next sequence expected acked", GAU)
_f((*PA, "next_err_seq"), INT, U.ID, _P, "idempotent producer: next sequence expected to fail",
   GAU)
_f((*PA, "acked_msgid"), INT, U.ID, _P, "idempotent producer: last acknowledged message id", CTR)

# --- cgrp ---------------------------------------------------------------------------------------
_f(("cgrp",), OBJ, U.NONE, _C, "consumer group handler", ROBJ, emitted=_C,
   presence=Presence.CGRP)
CG = ("cgrp",)
_f((*CG, "state"), STR, U.NONE, _C,
   "coordinator state: init, term, query-coord, wait-coord, wait-broker, wait-broker-transport, "
   "up", RSTR, emitted=_C)
_f((*CG, "stateage"), INT, U.MILLISECONDS, _C, "time since the last state change", GAU,
   emitted=_C)
_f((*CG, "join_state"), STR, U.NONE, _C,
   "membership state: init, wait-join, wait-metadata, wait-sync, wait-assign-call, "
   "wait-unassign-call, wait-unassign-to-complete, wait-incr-unassign-to-complete, steady",
   RSTR, emitted=_C, note='STATISTICS.md names it "joinstate"; the JSON key is "join_state"')
_f((*CG, "rebalance_age"), INT, U.MILLISECONDS, _C, "time since the last rebalance (0: none)",
   GAU, emitted=_C)
_f((*CG, "rebalance_cnt"), INT, U.COUNT, _C, "rebalances (assign or revoke)", CTR, emitted=_C)
_f((*CG, "rebalance_reason"), STR, U.NONE, _C, "reason of the last rebalance, or empty", RSTR,
   emitted=_C)
_f((*CG, "assignment_size"), INT, U.COUNT, _C,
   "the group assignment's size; 0 for a consumer using assign() only (as in librdkafka)", GAU,
   emitted=_C)

# --- eos ----------------------------------------------------------------------------------------
_f(("eos",), OBJ, U.NONE, _P, "idempotent / transactional producer state", ROBJ, emitted=_P,
   presence=Presence.IDEMPOTENT)
EO = ("eos",)
_f((*EO, "idemp_state"), STR, U.NONE, _P,
   "producer id state: Init, Terminate, FatalError, RequestPID, WaitTransport, WaitPID, "
   "Assigned, DrainReset, DrainBump, WaitTxnAbort", RSTR, emitted=_P)
_f((*EO, "idemp_stateage"), INT, U.MILLISECONDS, _P, "time since the last idemp_state change",
   GAU, emitted=_P)
_f((*EO, "txn_state"), STR, U.NONE, _P,
   "transaction state: Init, WaitPID, ReadyNotAcked, Ready, InTransaction, BeginCommit, "
   "CommittingTransaction, CommitNotAcked, BeginAbort, AbortingTransaction, AbortedNotAcked, "
   "AbortableError, FatalError", None, emitted=_P)
_f((*EO, "txn_stateage"), INT, U.MILLISECONDS, _P, "time since the last txn_state change", None,
   emitted=_P)
_f((*EO, "txn_may_enq"), BOOL, U.NONE, _P, "produce() is allowed in the current txn state",
   None, emitted=_P)
_f((*EO, "producer_id"), INT, U.ID, _P, "current producer id (-1: none)", GAU, emitted=_P)
_f((*EO, "producer_epoch"), INT, U.ID, _P, "current producer epoch (-1: none)", GAU, emitted=_P)
_f((*EO, "epoch_cnt"), INT, U.COUNT, _P, "producer id/epoch assignments since start", CTR,
   emitted=_P)

# --- fatal --------------------------------------------------------------------------------------
_f(("fatal",), OBJ, U.NONE, _B, "the fatal error that stopped the client", None,
   presence=Presence.FATAL)
_f(("fatal", "error"), STR, U.NONE, _B, "error code name text (rd_kafka_err2str)", None)
_f(("fatal", "reason"), STR, U.NONE, _B, "error message", None)
_f(("fatal", "cnt"), INT, U.COUNT, _B, "fatal errors raised (only the first one is kept)", None)

# --- totals (written last) ----------------------------------------------------------------------
_f(("tx",), INT, U.REQUESTS, _B, "requests sent, sum over brokers", CTR)
_f(("tx_bytes",), INT, U.BYTES, _B, "bytes sent, sum over brokers", CTR,
   note='STATISTICS.md names it "txbytes"; the JSON key is "tx_bytes"')
_f(("rx",), INT, U.COUNT, _B, "responses received, sum over brokers", CTR)
_f(("rx_bytes",), INT, U.BYTES, _B, "bytes received, sum over brokers", CTR,
   note='STATISTICS.md names it "rxbytes"; the JSON key is "rx_bytes"')
_f(("txmsgs",), INT, U.MESSAGES, _B, "messages produced, sum of partitions' txmsgs", CTR)
_f(("txmsg_bytes",), INT, U.BYTES, _B, "sum of partitions' txbytes", CTR,
   note="in rdpy, key + value + header bytes of each message")
_f(("rxmsgs",), INT, U.MESSAGES, _B, "messages consumed, sum of partitions' rxmsgs", CTR)
_f(("rxmsg_bytes",), INT, U.BYTES, _B, "sum of partitions' rxbytes", CTR,
   note="in rdpy, value bytes of each message")

FIELDS: tuple[Field, ...] = tuple(_fields)
del _fields

_BY_PATH: dict[tuple[str, ...], Field] = {f.path: f for f in FIELDS}
_CHILDREN: dict[tuple[str, ...], list[Field]] = {}
for _fld in FIELDS:
    _CHILDREN.setdefault(_fld.path[:-1], []).append(_fld)

LEVELS: tuple[Level, ...] = (
    Level((), "Top level", "", "The document's root object."),
    Level(BR, "brokers", "broker name",
          "One object per broker handle: learned and logical brokers "
          '(e.g. "GroupCoordinator", "TxnCoordinator"), and the bootstrap brokers until a '
          "Metadata answer names the cluster's brokers: then, as librdkafka >= 2.10 does, "
          "they are decommissioned (and listed again while a re-bootstrap looks for the "
          "cluster)."),
    Level(BT, "brokers.toppars", '"topic-partition"',
          "The partitions whose leader this broker is, as seen by the client."),
    Level(("brokers", ANY, "req"), "brokers.req (request names)", "",
          "Requests sent, per request type. librdkafka writes a fixed set per client type; "
          "admin requests appear only once used. API keys librdkafka cannot name appear as "
          '"Unknown-NN?" in librdkafka; rdpy does not write them.'),
    Level(TP, "topics", "topic name", "One object per topic the client knows."),
    Level(PA, "partitions", "partition id as a string",
          'Including "-1", the internal unassigned (UA) partition.'),
    Level(CG, "cgrp", "", "Consumer group handler; present when group.id is set."),
    Level(EO, "eos", "", "Idempotent and transactional producer state; present when "
          "enable.idempotence or transactional.id is set."),
    Level(("fatal",), "fatal", "", "Present once a fatal error has been raised."),
)


def field(path: tuple[str, ...]) -> Field:
    """The declaration at ``path`` (with ``"*"`` for run-time keys); KeyError if undeclared."""
    return _BY_PATH[path]


def children(prefix: tuple[str, ...], client: ClientType | None = None) -> Iterator[Field]:
    """Fields directly below ``prefix``, in librdkafka's key order.

    With ``client``, only the fields that client type writes.
    """
    for f in _CHILDREN.get(prefix, ()):
        if client is None or f.emitted.covers(client):
            yield f


def is_map(path: tuple[str, ...]) -> bool:
    """True if the object at ``path`` is keyed by run-time keys (brokers, topics, ...)."""
    return (*path, ANY) in _CHILDREN
