"""Kafka errors with librdkafka's numbering and confluent-kafka-python's surface.

- ``ErrorCode``: every ``rd_kafka_resp_err_t`` value (local errors negative, ``_BEGIN`` = -200 ..
  ``_END`` = -100; broker errors 0..N, ``UNKNOWN`` = -1), same names as librdkafka without the
  ``RD_KAFKA_RESP_ERR_`` prefix. A unit test checks names, codes and descriptions against the
  bundled librdkafka's ``rd_kafka_get_err_descs()``.
- ``KafkaError``: the error object (``code()``, ``name()``, ``str()``, ``fatal()``, ``retriable()``,
  ``txn_requires_abort()``), with every code also a class attribute (``KafkaError._PARTITION_EOF``)
  as in confluent-kafka.
- ``KafkaException``: the exception; ``args[0]`` is the ``KafkaError``.
- ``err_action()``: maps an error to ``ErrAction`` flags, after librdkafka's
  ``rd_kafka_err_action()``, with one explicit table per ``RequestKind`` (``ACTIONS_BY_KIND``)
  transcribed from the librdkafka function that handles that request's errors
  (``rd_kafka_handle_Produce_error()``, ``rd_kafka_handle_ListOffsets()``, the Fetch reply's
  partition error switch, ...). Every broker-error decision goes through it.

Pure data and small functions; no locks, safe from any thread.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from enum import Enum, IntEnum, IntFlag
from typing import ClassVar, NamedTuple, cast


class ErrorCode(IntEnum):
    """librdkafka's ``rd_kafka_resp_err_t``: same names (without ``RD_KAFKA_RESP_ERR_``), same values."""

    _BEGIN = -200
    _BAD_MSG = -199
    _BAD_COMPRESSION = -198
    _DESTROY = -197
    _FAIL = -196
    _TRANSPORT = -195
    _CRIT_SYS_RESOURCE = -194
    _RESOLVE = -193
    _MSG_TIMED_OUT = -192
    _PARTITION_EOF = -191
    _UNKNOWN_PARTITION = -190
    _FS = -189
    _UNKNOWN_TOPIC = -188
    _ALL_BROKERS_DOWN = -187
    _INVALID_ARG = -186
    _TIMED_OUT = -185
    _QUEUE_FULL = -184
    _ISR_INSUFF = -183
    _NODE_UPDATE = -182
    _SSL = -181
    _WAIT_COORD = -180
    _UNKNOWN_GROUP = -179
    _IN_PROGRESS = -178
    _PREV_IN_PROGRESS = -177
    _EXISTING_SUBSCRIPTION = -176
    _ASSIGN_PARTITIONS = -175
    _REVOKE_PARTITIONS = -174
    _CONFLICT = -173
    _STATE = -172
    _UNKNOWN_PROTOCOL = -171
    _NOT_IMPLEMENTED = -170
    _AUTHENTICATION = -169
    _NO_OFFSET = -168
    _OUTDATED = -167
    _TIMED_OUT_QUEUE = -166
    _UNSUPPORTED_FEATURE = -165
    _WAIT_CACHE = -164
    _INTR = -163
    _KEY_SERIALIZATION = -162
    _VALUE_SERIALIZATION = -161
    _KEY_DESERIALIZATION = -160
    _VALUE_DESERIALIZATION = -159
    _PARTIAL = -158
    _READ_ONLY = -157
    _NOENT = -156
    _UNDERFLOW = -155
    _INVALID_TYPE = -154
    _RETRY = -153
    _PURGE_QUEUE = -152
    _PURGE_INFLIGHT = -151
    _FATAL = -150
    _INCONSISTENT = -149
    _GAPLESS_GUARANTEE = -148
    _MAX_POLL_EXCEEDED = -147
    _UNKNOWN_BROKER = -146
    _NOT_CONFIGURED = -145
    _FENCED = -144
    _APPLICATION = -143
    _ASSIGNMENT_LOST = -142
    _NOOP = -141
    _AUTO_OFFSET_RESET = -140
    _LOG_TRUNCATION = -139
    _INVALID_DIFFERENT_RECORD = -138
    _DESTROY_BROKER = -137
    _END = -100
    UNKNOWN = -1
    NO_ERROR = 0
    OFFSET_OUT_OF_RANGE = 1
    INVALID_MSG = 2
    UNKNOWN_TOPIC_OR_PART = 3
    INVALID_MSG_SIZE = 4
    LEADER_NOT_AVAILABLE = 5
    NOT_LEADER_FOR_PARTITION = 6
    REQUEST_TIMED_OUT = 7
    BROKER_NOT_AVAILABLE = 8
    REPLICA_NOT_AVAILABLE = 9
    MSG_SIZE_TOO_LARGE = 10
    STALE_CTRL_EPOCH = 11
    OFFSET_METADATA_TOO_LARGE = 12
    NETWORK_EXCEPTION = 13
    COORDINATOR_LOAD_IN_PROGRESS = 14
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    TOPIC_EXCEPTION = 17
    RECORD_LIST_TOO_LARGE = 18
    NOT_ENOUGH_REPLICAS = 19
    NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
    INVALID_REQUIRED_ACKS = 21
    ILLEGAL_GENERATION = 22
    INCONSISTENT_GROUP_PROTOCOL = 23
    INVALID_GROUP_ID = 24
    UNKNOWN_MEMBER_ID = 25
    INVALID_SESSION_TIMEOUT = 26
    REBALANCE_IN_PROGRESS = 27
    INVALID_COMMIT_OFFSET_SIZE = 28
    TOPIC_AUTHORIZATION_FAILED = 29
    GROUP_AUTHORIZATION_FAILED = 30
    CLUSTER_AUTHORIZATION_FAILED = 31
    INVALID_TIMESTAMP = 32
    UNSUPPORTED_SASL_MECHANISM = 33
    ILLEGAL_SASL_STATE = 34
    UNSUPPORTED_VERSION = 35
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_REPLICATION_FACTOR = 38
    INVALID_REPLICA_ASSIGNMENT = 39
    INVALID_CONFIG = 40
    NOT_CONTROLLER = 41
    INVALID_REQUEST = 42
    UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
    POLICY_VIOLATION = 44
    OUT_OF_ORDER_SEQUENCE_NUMBER = 45
    DUPLICATE_SEQUENCE_NUMBER = 46
    INVALID_PRODUCER_EPOCH = 47
    INVALID_TXN_STATE = 48
    INVALID_PRODUCER_ID_MAPPING = 49
    INVALID_TRANSACTION_TIMEOUT = 50
    CONCURRENT_TRANSACTIONS = 51
    TRANSACTION_COORDINATOR_FENCED = 52
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
    SECURITY_DISABLED = 54
    OPERATION_NOT_ATTEMPTED = 55
    KAFKA_STORAGE_ERROR = 56
    LOG_DIR_NOT_FOUND = 57
    SASL_AUTHENTICATION_FAILED = 58
    UNKNOWN_PRODUCER_ID = 59
    REASSIGNMENT_IN_PROGRESS = 60
    DELEGATION_TOKEN_AUTH_DISABLED = 61
    DELEGATION_TOKEN_NOT_FOUND = 62
    DELEGATION_TOKEN_OWNER_MISMATCH = 63
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED = 64
    DELEGATION_TOKEN_AUTHORIZATION_FAILED = 65
    DELEGATION_TOKEN_EXPIRED = 66
    INVALID_PRINCIPAL_TYPE = 67
    NON_EMPTY_GROUP = 68
    GROUP_ID_NOT_FOUND = 69
    FETCH_SESSION_ID_NOT_FOUND = 70
    INVALID_FETCH_SESSION_EPOCH = 71
    LISTENER_NOT_FOUND = 72
    TOPIC_DELETION_DISABLED = 73
    FENCED_LEADER_EPOCH = 74
    UNKNOWN_LEADER_EPOCH = 75
    UNSUPPORTED_COMPRESSION_TYPE = 76
    STALE_BROKER_EPOCH = 77
    OFFSET_NOT_AVAILABLE = 78
    MEMBER_ID_REQUIRED = 79
    PREFERRED_LEADER_NOT_AVAILABLE = 80
    GROUP_MAX_SIZE_REACHED = 81
    FENCED_INSTANCE_ID = 82
    ELIGIBLE_LEADERS_NOT_AVAILABLE = 83
    ELECTION_NOT_NEEDED = 84
    NO_REASSIGNMENT_IN_PROGRESS = 85
    GROUP_SUBSCRIBED_TO_TOPIC = 86
    INVALID_RECORD = 87
    UNSTABLE_OFFSET_COMMIT = 88
    THROTTLING_QUOTA_EXCEEDED = 89
    PRODUCER_FENCED = 90
    RESOURCE_NOT_FOUND = 91
    DUPLICATE_RESOURCE = 92
    UNACCEPTABLE_CREDENTIAL = 93
    INCONSISTENT_VOTER_SET = 94
    INVALID_UPDATE_VERSION = 95
    FEATURE_UPDATE_FAILED = 96
    PRINCIPAL_DESERIALIZATION_FAILURE = 97
    UNKNOWN_TOPIC_ID = 100
    INCONSISTENT_TOPIC_ID = 103
    FENCED_MEMBER_EPOCH = 110
    UNRELEASED_INSTANCE_ID = 111
    UNSUPPORTED_ASSIGNOR = 112
    STALE_MEMBER_EPOCH = 113
    MISMATCHED_ENDPOINT_TYPE = 114
    UNSUPPORTED_ENDPOINT_TYPE = 115
    UNKNOWN_CONTROLLER_ID = 116
    UNKNOWN_SUBSCRIPTION_ID = 117
    TELEMETRY_TOO_LARGE = 118
    INVALID_REGISTRATION = 119
    TRANSACTION_ABORTABLE = 120
    INVALID_RECORD_STATE = 121
    SHARE_SESSION_NOT_FOUND = 122
    INVALID_SHARE_SESSION_EPOCH = 123
    FENCED_STATE_EPOCH = 124
    INVALID_VOTER_KEY = 125
    DUPLICATE_VOTER = 126
    VOTER_NOT_FOUND = 127
    INVALID_REGULAR_EXPRESSION = 128
    REBOOTSTRAP_REQUIRED = 129
    STREAMS_INVALID_TOPOLOGY = 130
    STREAMS_INVALID_TOPOLOGY_EPOCH = 131
    STREAMS_TOPOLOGY_FENCED = 132
    SHARE_SESSION_LIMIT_REACHED = 133

    # rdkafka.h: #define RD_KAFKA_RESP_ERR_NOT_LEADER_OR_FOLLOWER RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION
    NOT_LEADER_OR_FOLLOWER = 6


# rd_kafka_err2str() texts, by code (from librdkafka's rd_kafka_err_descs[]).
_DESCS: dict[int, str] = {
    -199: 'Local: Bad message format',
    -198: 'Local: Invalid compressed data',
    -197: 'Local: Broker handle destroyed for termination',
    -196: 'Local: Communication failure with broker',
    -195: 'Local: Broker transport failure',
    -194: 'Local: Critical system resource failure',
    -193: 'Local: Host resolution failure',
    -192: 'Local: Message timed out',
    -191: 'Broker: No more messages',
    -190: 'Local: Unknown partition',
    -189: 'Local: File or filesystem error',
    -188: 'Local: Unknown topic',
    -187: 'Local: All broker connections are down',
    -186: 'Local: Invalid argument or configuration',
    -185: 'Local: Timed out',
    -184: 'Local: Queue full',
    -183: 'Local: ISR count insufficient',
    -182: 'Local: Broker node update',
    -181: 'Local: SSL error',
    -180: 'Local: Waiting for coordinator',
    -179: 'Local: Unknown group',
    -178: 'Local: Operation in progress',
    -177: 'Local: Previous operation in progress',
    -176: 'Local: Existing subscription',
    -175: 'Local: Assign partitions',
    -174: 'Local: Revoke partitions',
    -173: 'Local: Conflicting use',
    -172: 'Local: Erroneous state',
    -171: 'Local: Unknown protocol',
    -170: 'Local: Not implemented',
    -169: 'Local: Authentication failure',
    -168: 'Local: No offset stored',
    -167: 'Local: Outdated',
    -166: 'Local: Timed out in queue',
    -165: 'Local: Required feature not supported by broker',
    -164: 'Local: Awaiting cache update',
    -163: 'Local: Operation interrupted',
    -162: 'Local: Key serialization error',
    -161: 'Local: Value serialization error',
    -160: 'Local: Key deserialization error',
    -159: 'Local: Value deserialization error',
    -158: 'Local: Partial response',
    -157: 'Local: Read-only object',
    -156: 'Local: No such entry',
    -155: 'Local: Read underflow',
    -154: 'Local: Invalid type',
    -153: 'Local: Retry operation',
    -152: 'Local: Purged in queue',
    -151: 'Local: Purged in flight',
    -150: 'Local: Fatal error',
    -149: 'Local: Inconsistent state',
    -148: 'Local: Gap-less ordering would not be guaranteed if proceeding',
    -147: 'Local: Maximum application poll interval (max.poll.interval.ms) exceeded',
    -146: 'Local: Unknown broker',
    -145: 'Local: Functionality not configured',
    -144: 'Local: This instance has been fenced by a newer instance',
    -143: 'Local: Application generated error',
    -142: 'Local: Group partition assignment lost',
    -141: 'Local: No operation performed',
    -140: 'Local: No offset to automatically reset to',
    -139: 'Local: Partition log truncation detected',
    -138: 'Local: an invalid record in the same batch caused the failure of this message too',
    -137: 'Local: Broker handle destroyed without termination',
    -1: 'Unknown broker error',
    0: 'Success',
    1: 'Broker: Offset out of range',
    2: 'Broker: Invalid message',
    3: 'Broker: Unknown topic or partition',
    4: 'Broker: Invalid message size',
    5: 'Broker: Leader not available',
    6: 'Broker: Not leader for partition',
    7: 'Broker: Request timed out',
    8: 'Broker: Broker not available',
    9: 'Broker: Replica not available',
    10: 'Broker: Message size too large',
    11: 'Broker: StaleControllerEpochCode',
    12: 'Broker: Offset metadata string too large',
    13: 'Broker: Broker disconnected before response received',
    14: 'Broker: Coordinator load in progress',
    15: 'Broker: Coordinator not available',
    16: 'Broker: Not coordinator',
    17: 'Broker: Invalid topic',
    18: 'Broker: Message batch larger than configured server segment size',
    19: 'Broker: Not enough in-sync replicas',
    20: 'Broker: Message(s) written to insufficient number of in-sync replicas',
    21: 'Broker: Invalid required acks value',
    22: 'Broker: Specified group generation id is not valid',
    23: 'Broker: Inconsistent group protocol',
    24: 'Broker: Invalid group.id',
    25: 'Broker: Unknown member',
    26: 'Broker: Invalid session timeout',
    27: 'Broker: Group rebalance in progress',
    28: 'Broker: Commit offset data size is not valid',
    29: 'Broker: Topic authorization failed',
    30: 'Broker: Group authorization failed',
    31: 'Broker: Cluster authorization failed',
    32: 'Broker: Invalid timestamp',
    33: 'Broker: Unsupported SASL mechanism',
    34: 'Broker: Request not valid in current SASL state',
    35: 'Broker: API version not supported',
    36: 'Broker: Topic already exists',
    37: 'Broker: Invalid number of partitions',
    38: 'Broker: Invalid replication factor',
    39: 'Broker: Invalid replica assignment',
    40: 'Broker: Configuration is invalid',
    41: 'Broker: Not controller for cluster',
    42: 'Broker: Invalid request',
    43: 'Broker: Message format on broker does not support request',
    44: 'Broker: Policy violation',
    45: 'Broker: Broker received an out of order sequence number',
    46: 'Broker: Broker received a duplicate sequence number',
    47: 'Broker: Producer attempted an operation with an old epoch',
    48: 'Broker: Producer attempted a transactional operation in an invalid state',
    49: 'Broker: Producer attempted to use a producer id which is not currently assigned to its transactional id',
    50: "Broker: Transaction timeout is larger than the maximum value allowed by the broker's max.transaction.timeout.ms",
    51: 'Broker: Producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
    52: 'Broker: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer',
    53: 'Broker: Transactional Id authorization failed',
    54: 'Broker: Security features are disabled',
    55: 'Broker: Operation not attempted',
    56: 'Broker: Disk error when trying to access log file on disk',
    57: 'Broker: The user-specified log directory is not found in the broker config',
    58: 'Broker: SASL Authentication failed',
    59: 'Broker: Unknown Producer Id',
    60: 'Broker: Partition reassignment is in progress',
    61: 'Broker: Delegation Token feature is not enabled',
    62: 'Broker: Delegation Token is not found on server',
    63: 'Broker: Specified Principal is not valid Owner/Renewer',
    64: 'Broker: Delegation Token requests are not allowed on this connection',
    65: 'Broker: Delegation Token authorization failed',
    66: 'Broker: Delegation Token is expired',
    67: 'Broker: Supplied principalType is not supported',
    68: 'Broker: The group is not empty',
    69: 'Broker: The group id does not exist',
    70: 'Broker: The fetch session ID was not found',
    71: 'Broker: The fetch session epoch is invalid',
    72: 'Broker: No matching listener',
    73: 'Broker: Topic deletion is disabled',
    74: 'Broker: Leader epoch is older than broker epoch',
    75: 'Broker: Leader epoch is newer than broker epoch',
    76: 'Broker: Unsupported compression type',
    77: 'Broker: Broker epoch has changed',
    78: 'Broker: Leader high watermark is not caught up',
    79: 'Broker: Group member needs a valid member ID',
    80: 'Broker: Preferred leader was not available',
    81: 'Broker: Consumer group has reached maximum size',
    82: 'Broker: Static consumer fenced by other consumer with same group.instance.id',
    83: 'Broker: Eligible partition leaders are not available',
    84: 'Broker: Leader election not needed for topic partition',
    85: 'Broker: No partition reassignment is in progress',
    86: 'Broker: Deleting offsets of a topic while the consumer group is subscribed to it',
    87: 'Broker: Broker failed to validate record',
    88: 'Broker: There are unstable offsets that need to be cleared',
    89: 'Broker: Throttling quota has been exceeded',
    90: 'Broker: There is a newer producer with the same transactionalId which fences the current one',
    91: 'Broker: Request illegally referred to resource that does not exist',
    92: 'Broker: Request illegally referred to the same resource twice',
    93: 'Broker: Requested credential would not meet criteria for acceptability',
    94: 'Broker: Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters',
    95: 'Broker: Invalid update version',
    96: 'Broker: Unable to update finalized features due to server error',
    97: 'Broker: Request principal deserialization failed during forwarding',
    100: 'Broker: Unknown topic id',
    103: "Broker: The log's topic ID did not match the topic ID in the request",
    110: 'Broker: The member epoch is fenced by the group coordinator',
    111: 'Broker: The instance ID is still used by another member in the consumer group',
    112: 'Broker: The assignor or its version range is not supported by the consumer group',
    113: 'Broker: The member epoch is stale',
    114: 'Broker: The request was sent to an endpoint of the wrong type',
    115: 'Broker: This endpoint type is not supported yet',
    116: 'Broker: This controller ID is not known',
    117: 'Broker: Client sent a push telemetry request with an invalid or outdated subscription ID',
    118: 'Broker: Client sent a push telemetry request larger than the maximum size the broker will accept',
    119: 'Broker: The controller has considered the broker registration to be invalid',
    120: 'Broker: The server encountered an error with the transaction',
    121: 'Broker: The record state is invalid',
    122: 'Broker: The share session was not found',
    123: 'Broker: The share session epoch is invalid',
    124: 'Broker: The share-group state epoch did not match',
    125: "Broker: The voter key doesn't match the receiving replica's key",
    126: 'Broker: The voter is already part of the set of voters',
    127: 'Broker: The voter is not part of the set of voters',
    128: 'Broker: The regular expression is not valid',
    129: 'Broker: Client metadata is stale, client should rebootstrap to obtain new metadata',
    130: 'Broker: The supplied topology is invalid',
    131: 'Broker: The supplied topology epoch is invalid',
    132: 'Broker: The supplied topology epoch is outdated',
    133: 'Broker: The limit of share sessions has been reached',
}


def err2name(code: int) -> str:
    """The code's name like ``rd_kafka_err2name()``: ``"_MSG_TIMED_OUT"``, or ``"ERR_<n>?"`` if unknown."""
    if code in _DESCS:
        return ErrorCode(code).name
    return f"ERR_{code}?"


def err2str(code: int) -> str:
    """The code's description like ``rd_kafka_err2str()``, or ``"Err-<n>?"`` if unknown."""
    desc = _DESCS.get(code)
    if desc is None:
        return f"Err-{code}?"
    return desc


_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


def _check_code(code: object) -> int:
    if not isinstance(code, int):
        # confluent-kafka (argument parsing "i"): TypeError for anything but an int (bool is one).
        raise TypeError(f"'{type(code).__name__}' object cannot be interpreted as an integer")
    if code > _INT32_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if code < _INT32_MIN:
        raise OverflowError("signed integer is less than minimum")
    return int(code)


def _check_flag(flag: object) -> bool:
    if not isinstance(flag, int):
        # confluent-kafka parses the flags as C ints.
        raise TypeError(f"'{type(flag).__name__}' object cannot be interpreted as an integer")
    return bool(flag)


class KafkaError:
    """A Kafka error or event, like ``confluent_kafka.KafkaError``.

    ``KafkaError(error, reason=None, fatal=False, retriable=False, txn_requires_abort=False)``;
    ``code=`` is accepted as a keyword alias of ``error``. ``str()`` is ``reason`` if one was given,
    otherwise librdkafka's description of the code. Instances compare equal (and hash equal) to other
    ``KafkaError`` objects and to plain ints by code alone, as in confluent-kafka.
    """

    __slots__ = ("_code", "_reason", "_fatal", "_retriable", "_txn_requires_abort")

    _BAD_MSG: ClassVar[int] = ErrorCode._BAD_MSG.value
    _BAD_COMPRESSION: ClassVar[int] = ErrorCode._BAD_COMPRESSION.value
    _DESTROY: ClassVar[int] = ErrorCode._DESTROY.value
    _FAIL: ClassVar[int] = ErrorCode._FAIL.value
    _TRANSPORT: ClassVar[int] = ErrorCode._TRANSPORT.value
    _CRIT_SYS_RESOURCE: ClassVar[int] = ErrorCode._CRIT_SYS_RESOURCE.value
    _RESOLVE: ClassVar[int] = ErrorCode._RESOLVE.value
    _MSG_TIMED_OUT: ClassVar[int] = ErrorCode._MSG_TIMED_OUT.value
    _PARTITION_EOF: ClassVar[int] = ErrorCode._PARTITION_EOF.value
    _UNKNOWN_PARTITION: ClassVar[int] = ErrorCode._UNKNOWN_PARTITION.value
    _FS: ClassVar[int] = ErrorCode._FS.value
    _UNKNOWN_TOPIC: ClassVar[int] = ErrorCode._UNKNOWN_TOPIC.value
    _ALL_BROKERS_DOWN: ClassVar[int] = ErrorCode._ALL_BROKERS_DOWN.value
    _INVALID_ARG: ClassVar[int] = ErrorCode._INVALID_ARG.value
    _TIMED_OUT: ClassVar[int] = ErrorCode._TIMED_OUT.value
    _QUEUE_FULL: ClassVar[int] = ErrorCode._QUEUE_FULL.value
    _ISR_INSUFF: ClassVar[int] = ErrorCode._ISR_INSUFF.value
    _NODE_UPDATE: ClassVar[int] = ErrorCode._NODE_UPDATE.value
    _SSL: ClassVar[int] = ErrorCode._SSL.value
    _WAIT_COORD: ClassVar[int] = ErrorCode._WAIT_COORD.value
    _UNKNOWN_GROUP: ClassVar[int] = ErrorCode._UNKNOWN_GROUP.value
    _IN_PROGRESS: ClassVar[int] = ErrorCode._IN_PROGRESS.value
    _PREV_IN_PROGRESS: ClassVar[int] = ErrorCode._PREV_IN_PROGRESS.value
    _EXISTING_SUBSCRIPTION: ClassVar[int] = ErrorCode._EXISTING_SUBSCRIPTION.value
    _ASSIGN_PARTITIONS: ClassVar[int] = ErrorCode._ASSIGN_PARTITIONS.value
    _REVOKE_PARTITIONS: ClassVar[int] = ErrorCode._REVOKE_PARTITIONS.value
    _CONFLICT: ClassVar[int] = ErrorCode._CONFLICT.value
    _STATE: ClassVar[int] = ErrorCode._STATE.value
    _UNKNOWN_PROTOCOL: ClassVar[int] = ErrorCode._UNKNOWN_PROTOCOL.value
    _NOT_IMPLEMENTED: ClassVar[int] = ErrorCode._NOT_IMPLEMENTED.value
    _AUTHENTICATION: ClassVar[int] = ErrorCode._AUTHENTICATION.value
    _NO_OFFSET: ClassVar[int] = ErrorCode._NO_OFFSET.value
    _OUTDATED: ClassVar[int] = ErrorCode._OUTDATED.value
    _TIMED_OUT_QUEUE: ClassVar[int] = ErrorCode._TIMED_OUT_QUEUE.value
    _UNSUPPORTED_FEATURE: ClassVar[int] = ErrorCode._UNSUPPORTED_FEATURE.value
    _WAIT_CACHE: ClassVar[int] = ErrorCode._WAIT_CACHE.value
    _INTR: ClassVar[int] = ErrorCode._INTR.value
    _KEY_SERIALIZATION: ClassVar[int] = ErrorCode._KEY_SERIALIZATION.value
    _VALUE_SERIALIZATION: ClassVar[int] = ErrorCode._VALUE_SERIALIZATION.value
    _KEY_DESERIALIZATION: ClassVar[int] = ErrorCode._KEY_DESERIALIZATION.value
    _VALUE_DESERIALIZATION: ClassVar[int] = ErrorCode._VALUE_DESERIALIZATION.value
    _PARTIAL: ClassVar[int] = ErrorCode._PARTIAL.value
    _READ_ONLY: ClassVar[int] = ErrorCode._READ_ONLY.value
    _NOENT: ClassVar[int] = ErrorCode._NOENT.value
    _UNDERFLOW: ClassVar[int] = ErrorCode._UNDERFLOW.value
    _INVALID_TYPE: ClassVar[int] = ErrorCode._INVALID_TYPE.value
    _RETRY: ClassVar[int] = ErrorCode._RETRY.value
    _PURGE_QUEUE: ClassVar[int] = ErrorCode._PURGE_QUEUE.value
    _PURGE_INFLIGHT: ClassVar[int] = ErrorCode._PURGE_INFLIGHT.value
    _FATAL: ClassVar[int] = ErrorCode._FATAL.value
    _INCONSISTENT: ClassVar[int] = ErrorCode._INCONSISTENT.value
    _GAPLESS_GUARANTEE: ClassVar[int] = ErrorCode._GAPLESS_GUARANTEE.value
    _MAX_POLL_EXCEEDED: ClassVar[int] = ErrorCode._MAX_POLL_EXCEEDED.value
    _UNKNOWN_BROKER: ClassVar[int] = ErrorCode._UNKNOWN_BROKER.value
    _NOT_CONFIGURED: ClassVar[int] = ErrorCode._NOT_CONFIGURED.value
    _FENCED: ClassVar[int] = ErrorCode._FENCED.value
    _APPLICATION: ClassVar[int] = ErrorCode._APPLICATION.value
    _ASSIGNMENT_LOST: ClassVar[int] = ErrorCode._ASSIGNMENT_LOST.value
    _NOOP: ClassVar[int] = ErrorCode._NOOP.value
    _AUTO_OFFSET_RESET: ClassVar[int] = ErrorCode._AUTO_OFFSET_RESET.value
    _LOG_TRUNCATION: ClassVar[int] = ErrorCode._LOG_TRUNCATION.value
    _INVALID_DIFFERENT_RECORD: ClassVar[int] = ErrorCode._INVALID_DIFFERENT_RECORD.value
    _DESTROY_BROKER: ClassVar[int] = ErrorCode._DESTROY_BROKER.value
    UNKNOWN: ClassVar[int] = ErrorCode.UNKNOWN.value
    NO_ERROR: ClassVar[int] = ErrorCode.NO_ERROR.value
    OFFSET_OUT_OF_RANGE: ClassVar[int] = ErrorCode.OFFSET_OUT_OF_RANGE.value
    INVALID_MSG: ClassVar[int] = ErrorCode.INVALID_MSG.value
    UNKNOWN_TOPIC_OR_PART: ClassVar[int] = ErrorCode.UNKNOWN_TOPIC_OR_PART.value
    INVALID_MSG_SIZE: ClassVar[int] = ErrorCode.INVALID_MSG_SIZE.value
    LEADER_NOT_AVAILABLE: ClassVar[int] = ErrorCode.LEADER_NOT_AVAILABLE.value
    NOT_LEADER_FOR_PARTITION: ClassVar[int] = ErrorCode.NOT_LEADER_FOR_PARTITION.value
    REQUEST_TIMED_OUT: ClassVar[int] = ErrorCode.REQUEST_TIMED_OUT.value
    BROKER_NOT_AVAILABLE: ClassVar[int] = ErrorCode.BROKER_NOT_AVAILABLE.value
    REPLICA_NOT_AVAILABLE: ClassVar[int] = ErrorCode.REPLICA_NOT_AVAILABLE.value
    MSG_SIZE_TOO_LARGE: ClassVar[int] = ErrorCode.MSG_SIZE_TOO_LARGE.value
    STALE_CTRL_EPOCH: ClassVar[int] = ErrorCode.STALE_CTRL_EPOCH.value
    OFFSET_METADATA_TOO_LARGE: ClassVar[int] = ErrorCode.OFFSET_METADATA_TOO_LARGE.value
    NETWORK_EXCEPTION: ClassVar[int] = ErrorCode.NETWORK_EXCEPTION.value
    COORDINATOR_LOAD_IN_PROGRESS: ClassVar[int] = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.value
    COORDINATOR_NOT_AVAILABLE: ClassVar[int] = ErrorCode.COORDINATOR_NOT_AVAILABLE.value
    NOT_COORDINATOR: ClassVar[int] = ErrorCode.NOT_COORDINATOR.value
    TOPIC_EXCEPTION: ClassVar[int] = ErrorCode.TOPIC_EXCEPTION.value
    RECORD_LIST_TOO_LARGE: ClassVar[int] = ErrorCode.RECORD_LIST_TOO_LARGE.value
    NOT_ENOUGH_REPLICAS: ClassVar[int] = ErrorCode.NOT_ENOUGH_REPLICAS.value
    NOT_ENOUGH_REPLICAS_AFTER_APPEND: ClassVar[int] = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND.value
    INVALID_REQUIRED_ACKS: ClassVar[int] = ErrorCode.INVALID_REQUIRED_ACKS.value
    ILLEGAL_GENERATION: ClassVar[int] = ErrorCode.ILLEGAL_GENERATION.value
    INCONSISTENT_GROUP_PROTOCOL: ClassVar[int] = ErrorCode.INCONSISTENT_GROUP_PROTOCOL.value
    INVALID_GROUP_ID: ClassVar[int] = ErrorCode.INVALID_GROUP_ID.value
    UNKNOWN_MEMBER_ID: ClassVar[int] = ErrorCode.UNKNOWN_MEMBER_ID.value
    INVALID_SESSION_TIMEOUT: ClassVar[int] = ErrorCode.INVALID_SESSION_TIMEOUT.value
    REBALANCE_IN_PROGRESS: ClassVar[int] = ErrorCode.REBALANCE_IN_PROGRESS.value
    INVALID_COMMIT_OFFSET_SIZE: ClassVar[int] = ErrorCode.INVALID_COMMIT_OFFSET_SIZE.value
    TOPIC_AUTHORIZATION_FAILED: ClassVar[int] = ErrorCode.TOPIC_AUTHORIZATION_FAILED.value
    GROUP_AUTHORIZATION_FAILED: ClassVar[int] = ErrorCode.GROUP_AUTHORIZATION_FAILED.value
    CLUSTER_AUTHORIZATION_FAILED: ClassVar[int] = ErrorCode.CLUSTER_AUTHORIZATION_FAILED.value
    INVALID_TIMESTAMP: ClassVar[int] = ErrorCode.INVALID_TIMESTAMP.value
    UNSUPPORTED_SASL_MECHANISM: ClassVar[int] = ErrorCode.UNSUPPORTED_SASL_MECHANISM.value
    ILLEGAL_SASL_STATE: ClassVar[int] = ErrorCode.ILLEGAL_SASL_STATE.value
    UNSUPPORTED_VERSION: ClassVar[int] = ErrorCode.UNSUPPORTED_VERSION.value
    TOPIC_ALREADY_EXISTS: ClassVar[int] = ErrorCode.TOPIC_ALREADY_EXISTS.value
    INVALID_PARTITIONS: ClassVar[int] = ErrorCode.INVALID_PARTITIONS.value
    INVALID_REPLICATION_FACTOR: ClassVar[int] = ErrorCode.INVALID_REPLICATION_FACTOR.value
    INVALID_REPLICA_ASSIGNMENT: ClassVar[int] = ErrorCode.INVALID_REPLICA_ASSIGNMENT.value
    INVALID_CONFIG: ClassVar[int] = ErrorCode.INVALID_CONFIG.value
    NOT_CONTROLLER: ClassVar[int] = ErrorCode.NOT_CONTROLLER.value
    INVALID_REQUEST: ClassVar[int] = ErrorCode.INVALID_REQUEST.value
    UNSUPPORTED_FOR_MESSAGE_FORMAT: ClassVar[int] = ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT.value
    POLICY_VIOLATION: ClassVar[int] = ErrorCode.POLICY_VIOLATION.value
    OUT_OF_ORDER_SEQUENCE_NUMBER: ClassVar[int] = ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.value
    DUPLICATE_SEQUENCE_NUMBER: ClassVar[int] = ErrorCode.DUPLICATE_SEQUENCE_NUMBER.value
    INVALID_PRODUCER_EPOCH: ClassVar[int] = ErrorCode.INVALID_PRODUCER_EPOCH.value
    INVALID_TXN_STATE: ClassVar[int] = ErrorCode.INVALID_TXN_STATE.value
    INVALID_PRODUCER_ID_MAPPING: ClassVar[int] = ErrorCode.INVALID_PRODUCER_ID_MAPPING.value
    INVALID_TRANSACTION_TIMEOUT: ClassVar[int] = ErrorCode.INVALID_TRANSACTION_TIMEOUT.value
    CONCURRENT_TRANSACTIONS: ClassVar[int] = ErrorCode.CONCURRENT_TRANSACTIONS.value
    TRANSACTION_COORDINATOR_FENCED: ClassVar[int] = ErrorCode.TRANSACTION_COORDINATOR_FENCED.value
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED: ClassVar[int] = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.value
    SECURITY_DISABLED: ClassVar[int] = ErrorCode.SECURITY_DISABLED.value
    OPERATION_NOT_ATTEMPTED: ClassVar[int] = ErrorCode.OPERATION_NOT_ATTEMPTED.value
    KAFKA_STORAGE_ERROR: ClassVar[int] = ErrorCode.KAFKA_STORAGE_ERROR.value
    LOG_DIR_NOT_FOUND: ClassVar[int] = ErrorCode.LOG_DIR_NOT_FOUND.value
    SASL_AUTHENTICATION_FAILED: ClassVar[int] = ErrorCode.SASL_AUTHENTICATION_FAILED.value
    UNKNOWN_PRODUCER_ID: ClassVar[int] = ErrorCode.UNKNOWN_PRODUCER_ID.value
    REASSIGNMENT_IN_PROGRESS: ClassVar[int] = ErrorCode.REASSIGNMENT_IN_PROGRESS.value
    DELEGATION_TOKEN_AUTH_DISABLED: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED.value
    DELEGATION_TOKEN_NOT_FOUND: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_NOT_FOUND.value
    DELEGATION_TOKEN_OWNER_MISMATCH: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH.value
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED.value
    DELEGATION_TOKEN_AUTHORIZATION_FAILED: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED.value
    DELEGATION_TOKEN_EXPIRED: ClassVar[int] = ErrorCode.DELEGATION_TOKEN_EXPIRED.value
    INVALID_PRINCIPAL_TYPE: ClassVar[int] = ErrorCode.INVALID_PRINCIPAL_TYPE.value
    NON_EMPTY_GROUP: ClassVar[int] = ErrorCode.NON_EMPTY_GROUP.value
    GROUP_ID_NOT_FOUND: ClassVar[int] = ErrorCode.GROUP_ID_NOT_FOUND.value
    FETCH_SESSION_ID_NOT_FOUND: ClassVar[int] = ErrorCode.FETCH_SESSION_ID_NOT_FOUND.value
    INVALID_FETCH_SESSION_EPOCH: ClassVar[int] = ErrorCode.INVALID_FETCH_SESSION_EPOCH.value
    LISTENER_NOT_FOUND: ClassVar[int] = ErrorCode.LISTENER_NOT_FOUND.value
    TOPIC_DELETION_DISABLED: ClassVar[int] = ErrorCode.TOPIC_DELETION_DISABLED.value
    FENCED_LEADER_EPOCH: ClassVar[int] = ErrorCode.FENCED_LEADER_EPOCH.value
    UNKNOWN_LEADER_EPOCH: ClassVar[int] = ErrorCode.UNKNOWN_LEADER_EPOCH.value
    UNSUPPORTED_COMPRESSION_TYPE: ClassVar[int] = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE.value
    STALE_BROKER_EPOCH: ClassVar[int] = ErrorCode.STALE_BROKER_EPOCH.value
    OFFSET_NOT_AVAILABLE: ClassVar[int] = ErrorCode.OFFSET_NOT_AVAILABLE.value
    MEMBER_ID_REQUIRED: ClassVar[int] = ErrorCode.MEMBER_ID_REQUIRED.value
    PREFERRED_LEADER_NOT_AVAILABLE: ClassVar[int] = ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE.value
    GROUP_MAX_SIZE_REACHED: ClassVar[int] = ErrorCode.GROUP_MAX_SIZE_REACHED.value
    FENCED_INSTANCE_ID: ClassVar[int] = ErrorCode.FENCED_INSTANCE_ID.value
    ELIGIBLE_LEADERS_NOT_AVAILABLE: ClassVar[int] = ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE.value
    ELECTION_NOT_NEEDED: ClassVar[int] = ErrorCode.ELECTION_NOT_NEEDED.value
    NO_REASSIGNMENT_IN_PROGRESS: ClassVar[int] = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS.value
    GROUP_SUBSCRIBED_TO_TOPIC: ClassVar[int] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC.value
    INVALID_RECORD: ClassVar[int] = ErrorCode.INVALID_RECORD.value
    UNSTABLE_OFFSET_COMMIT: ClassVar[int] = ErrorCode.UNSTABLE_OFFSET_COMMIT.value
    THROTTLING_QUOTA_EXCEEDED: ClassVar[int] = ErrorCode.THROTTLING_QUOTA_EXCEEDED.value
    PRODUCER_FENCED: ClassVar[int] = ErrorCode.PRODUCER_FENCED.value
    RESOURCE_NOT_FOUND: ClassVar[int] = ErrorCode.RESOURCE_NOT_FOUND.value
    DUPLICATE_RESOURCE: ClassVar[int] = ErrorCode.DUPLICATE_RESOURCE.value
    UNACCEPTABLE_CREDENTIAL: ClassVar[int] = ErrorCode.UNACCEPTABLE_CREDENTIAL.value
    INCONSISTENT_VOTER_SET: ClassVar[int] = ErrorCode.INCONSISTENT_VOTER_SET.value
    INVALID_UPDATE_VERSION: ClassVar[int] = ErrorCode.INVALID_UPDATE_VERSION.value
    FEATURE_UPDATE_FAILED: ClassVar[int] = ErrorCode.FEATURE_UPDATE_FAILED.value
    PRINCIPAL_DESERIALIZATION_FAILURE: ClassVar[int] = ErrorCode.PRINCIPAL_DESERIALIZATION_FAILURE.value
    UNKNOWN_TOPIC_ID: ClassVar[int] = ErrorCode.UNKNOWN_TOPIC_ID.value
    INCONSISTENT_TOPIC_ID: ClassVar[int] = ErrorCode.INCONSISTENT_TOPIC_ID.value
    FENCED_MEMBER_EPOCH: ClassVar[int] = ErrorCode.FENCED_MEMBER_EPOCH.value
    UNRELEASED_INSTANCE_ID: ClassVar[int] = ErrorCode.UNRELEASED_INSTANCE_ID.value
    UNSUPPORTED_ASSIGNOR: ClassVar[int] = ErrorCode.UNSUPPORTED_ASSIGNOR.value
    STALE_MEMBER_EPOCH: ClassVar[int] = ErrorCode.STALE_MEMBER_EPOCH.value
    MISMATCHED_ENDPOINT_TYPE: ClassVar[int] = ErrorCode.MISMATCHED_ENDPOINT_TYPE.value
    UNSUPPORTED_ENDPOINT_TYPE: ClassVar[int] = ErrorCode.UNSUPPORTED_ENDPOINT_TYPE.value
    UNKNOWN_CONTROLLER_ID: ClassVar[int] = ErrorCode.UNKNOWN_CONTROLLER_ID.value
    UNKNOWN_SUBSCRIPTION_ID: ClassVar[int] = ErrorCode.UNKNOWN_SUBSCRIPTION_ID.value
    TELEMETRY_TOO_LARGE: ClassVar[int] = ErrorCode.TELEMETRY_TOO_LARGE.value
    INVALID_REGISTRATION: ClassVar[int] = ErrorCode.INVALID_REGISTRATION.value
    TRANSACTION_ABORTABLE: ClassVar[int] = ErrorCode.TRANSACTION_ABORTABLE.value
    INVALID_RECORD_STATE: ClassVar[int] = ErrorCode.INVALID_RECORD_STATE.value
    SHARE_SESSION_NOT_FOUND: ClassVar[int] = ErrorCode.SHARE_SESSION_NOT_FOUND.value
    INVALID_SHARE_SESSION_EPOCH: ClassVar[int] = ErrorCode.INVALID_SHARE_SESSION_EPOCH.value
    FENCED_STATE_EPOCH: ClassVar[int] = ErrorCode.FENCED_STATE_EPOCH.value
    INVALID_VOTER_KEY: ClassVar[int] = ErrorCode.INVALID_VOTER_KEY.value
    DUPLICATE_VOTER: ClassVar[int] = ErrorCode.DUPLICATE_VOTER.value
    VOTER_NOT_FOUND: ClassVar[int] = ErrorCode.VOTER_NOT_FOUND.value
    INVALID_REGULAR_EXPRESSION: ClassVar[int] = ErrorCode.INVALID_REGULAR_EXPRESSION.value
    REBOOTSTRAP_REQUIRED: ClassVar[int] = ErrorCode.REBOOTSTRAP_REQUIRED.value
    STREAMS_INVALID_TOPOLOGY: ClassVar[int] = ErrorCode.STREAMS_INVALID_TOPOLOGY.value
    STREAMS_INVALID_TOPOLOGY_EPOCH: ClassVar[int] = ErrorCode.STREAMS_INVALID_TOPOLOGY_EPOCH.value
    STREAMS_TOPOLOGY_FENCED: ClassVar[int] = ErrorCode.STREAMS_TOPOLOGY_FENCED.value
    SHARE_SESSION_LIMIT_REACHED: ClassVar[int] = ErrorCode.SHARE_SESSION_LIMIT_REACHED.value

    def __init__(
        self,
        error: int | None = None,
        reason: str | None = None,
        fatal: bool = False,
        retriable: bool = False,
        txn_requires_abort: bool = False,
        *,
        code: int | None = None,
    ) -> None:
        if error is None:
            if code is None:
                raise TypeError("function missing required argument 'error' (pos 1)")
            error = code
        elif code is not None:
            raise TypeError("KafkaError() got both 'error' and 'code'")
        self._code = _check_code(error)
        if reason is not None and not isinstance(reason, str):
            raise TypeError(f"argument 2 must be str or None, not {type(reason).__name__}")
        self._reason = reason
        self._fatal = _check_flag(fatal)
        self._retriable = _check_flag(retriable)
        self._txn_requires_abort = _check_flag(txn_requires_abort)

    def code(self) -> int:
        """The error code (an ``int``; compare with ``KafkaError.<NAME>`` or ``ErrorCode.<NAME>``)."""
        return self._code

    def name(self) -> str:
        """The code's name, e.g. ``"_MSG_TIMED_OUT"`` (``"ERR_<n>?"`` for an unknown code)."""
        return err2name(self._code)

    def str(self) -> str:
        """The reason given at construction, or librdkafka's description of the code."""
        if self._reason is not None:
            return self._reason
        return err2str(self._code)

    def fatal(self) -> bool:
        """True for a fatal error: the client instance is no longer usable."""
        return self._fatal

    def retriable(self) -> bool:
        """True if the operation that failed may be retried."""
        return self._retriable

    def txn_requires_abort(self) -> bool:
        """True if the current transaction must be aborted (an abortable transactional error)."""
        return self._txn_requires_abort

    def __repr__(self) -> builtins.str:
        fatal = "FATAL," if self._fatal else ""
        return f'KafkaError{{{fatal}code={self.name()},val={self._code},str="{self.str()}"}}'

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KafkaError):
            return self._code == other._code
        if isinstance(other, int):
            return self._code == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        if eq is NotImplemented:
            return NotImplemented
        return not eq

    def __lt__(self, other: object) -> bool:
        return self._code < _other_code(other)

    def __le__(self, other: object) -> bool:
        return self._code <= _other_code(other)

    def __gt__(self, other: object) -> bool:
        return self._code > _other_code(other)

    def __ge__(self, other: object) -> bool:
        return self._code >= _other_code(other)

    def __hash__(self) -> int:
        return hash(self._code)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            KafkaError,
            (self._code, self._reason, self._fatal, self._retriable, self._txn_requires_abort),
        )


def _other_code(other: object) -> int:
    if isinstance(other, KafkaError):
        return other._code
    if isinstance(other, int):
        return other
    raise TypeError(f"'{type(other).__name__}' object cannot be interpreted as an integer")


class KafkaException(Exception):
    """The exception rdpy raises; ``args[0]`` is a ``KafkaError``.

    ``KafkaException(kafka_error)`` as in confluent-kafka. rdpy also accepts
    ``KafkaException(code)`` and ``KafkaException(code, reason)`` and turns them into a ``KafkaError``
    in ``args[0]`` (confluent-kafka keeps the raw int; rdpy keeps its ``args[0]`` invariant so error
    handlers can always call ``e.args[0].code()``). Any other arguments are kept as given.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            code = args[0]
            if len(args) == 2 and (args[1] is None or isinstance(args[1], str)):
                args = (KafkaError(code, args[1]),)
            elif len(args) == 1:
                args = (KafkaError(code),)
        super().__init__(*args)


# Broker errors that Kafka's Java client treats as retriable: the codes whose exception class in
# org.apache.kafka.common.protocol.Errors extends RetriableException (directly or through
# InvalidMetadataException), as of apache/kafka trunk. Only codes librdkafka knows are listed.
RETRIABLE_BROKER_ERRORS: frozenset[int] = frozenset(
    {
        ErrorCode.INVALID_MSG,  # CORRUPT_MESSAGE: CorruptRecordException
        ErrorCode.UNKNOWN_TOPIC_OR_PART,  # UnknownTopicOrPartitionException (InvalidMetadata)
        ErrorCode.LEADER_NOT_AVAILABLE,  # InvalidMetadata
        ErrorCode.NOT_LEADER_FOR_PARTITION,  # NotLeaderOrFollowerException (InvalidMetadata)
        ErrorCode.REQUEST_TIMED_OUT,  # TimeoutException
        ErrorCode.REPLICA_NOT_AVAILABLE,  # InvalidMetadata
        ErrorCode.NETWORK_EXCEPTION,  # InvalidMetadata
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ErrorCode.NOT_CONTROLLER,
        ErrorCode.CONCURRENT_TRANSACTIONS,
        ErrorCode.KAFKA_STORAGE_ERROR,  # InvalidMetadata
        ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
        ErrorCode.INVALID_FETCH_SESSION_EPOCH,
        ErrorCode.LISTENER_NOT_FOUND,  # InvalidMetadata
        ErrorCode.FENCED_LEADER_EPOCH,  # InvalidMetadata
        ErrorCode.UNKNOWN_LEADER_EPOCH,
        ErrorCode.OFFSET_NOT_AVAILABLE,
        ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,  # InvalidMetadata
        ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,  # InvalidMetadata
        ErrorCode.UNSTABLE_OFFSET_COMMIT,
        ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        ErrorCode.UNKNOWN_TOPIC_ID,  # InvalidMetadata
        ErrorCode.INCONSISTENT_TOPIC_ID,  # InvalidMetadata
        ErrorCode.SHARE_SESSION_NOT_FOUND,
        ErrorCode.INVALID_SHARE_SESSION_EPOCH,
        ErrorCode.SHARE_SESSION_LIMIT_REACHED,
    }
)


def is_retriable(code: int) -> bool:
    """True if Kafka classifies the broker error ``code`` as retriable (``RETRIABLE_BROKER_ERRORS``)."""
    return code in RETRIABLE_BROKER_ERRORS


def broker_error(code: int, reason: str | None = None) -> KafkaError:
    """A ``KafkaError`` for a broker error code, with ``retriable`` set from Kafka's classification."""
    return KafkaError(code, reason, retriable=is_retriable(code))


class ErrAction(IntFlag):
    """What to do about a failed request: librdkafka's ``RD_KAFKA_ERR_ACTION_*`` (same bit values)."""

    NONE = 0
    PERMANENT = 0x1  # permanent error: fail the request
    IGNORE = 0x2  # the error can be ignored
    REFRESH = 0x4  # refresh state (metadata, coordinator)
    RETRY = 0x8  # retry the request after backoff
    INFORM = 0x10  # inform the application
    SPECIAL = 0x20  # special-purpose, depends on the call site
    MSG_NOT_PERSISTED = 0x40  # ProduceRequest: the messages were certainly not written
    MSG_POSSIBLY_PERSISTED = 0x80  # ProduceRequest: the messages may have been written
    MSG_PERSISTED = 0x100  # ProduceRequest: the messages were written
    FATAL = 0x200  # fatal error for the client instance


_MSG_FLAGS = ErrAction.MSG_NOT_PERSISTED | ErrAction.MSG_POSSIBLY_PERSISTED | ErrAction.MSG_PERSISTED

_A = ErrAction
_E = ErrorCode

# rd_kafka_err_action()'s default switch (src/rdkafka_request.c), applied when the call site gives no
# explicit action for the error. Anything not listed: PERMANENT | MSG_NOT_PERSISTED.
DEFAULT_ACTIONS: dict[int, ErrAction] = {
    _E.NO_ERROR: _A.NONE,
    # Request metadata information update
    _E.LEADER_NOT_AVAILABLE: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.NOT_LEADER_FOR_PARTITION: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.BROKER_NOT_AVAILABLE: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.REPLICA_NOT_AVAILABLE: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.COORDINATOR_NOT_AVAILABLE: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.NOT_COORDINATOR: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E._WAIT_COORD: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E._DESTROY_BROKER: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    # Request metadata update and retry
    _E.KAFKA_STORAGE_ERROR: _A.REFRESH | _A.RETRY | _A.MSG_NOT_PERSISTED,
    # The request may have reached the broker
    _E._TRANSPORT: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E._SSL: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E._TIMED_OUT: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E.REQUEST_TIMED_OUT: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E.NOT_ENOUGH_REPLICAS_AFTER_APPEND: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    # Rejected before being written; client-side wait-response/in-queue timeout
    _E.NOT_ENOUGH_REPLICAS: _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E.INVALID_MSG: _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E._TIMED_OUT_QUEUE: _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E._PURGE_INFLIGHT: _A.PERMANENT | _A.MSG_POSSIBLY_PERSISTED,
    # Buffer parse failures are typically a client-side bug: permanent
    _E._BAD_MSG: _A.PERMANENT | _A.MSG_POSSIBLY_PERSISTED,
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    # Explicitly permanent (same as the default for unlisted errors)
    _E._DESTROY: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    _E.INVALID_SESSION_TIMEOUT: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    _E._UNSUPPORTED_FEATURE: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    _E._PURGE_QUEUE: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
}

DEFAULT_UNKNOWN_ACTION = _A.PERMANENT | _A.MSG_NOT_PERSISTED

# The explicit actions rd_kafka_handle_Produce_error() passes to rd_kafka_err_action(); they take
# precedence over DEFAULT_ACTIONS for ProduceRequests. Idempotent-producer special handling
# (sequence/epoch bookkeeping) happens afterwards in the producer, not here.
PRODUCE_ACTIONS: dict[int, ErrAction] = {
    _E._TRANSPORT: _A.REFRESH | _A.MSG_POSSIBLY_PERSISTED,
    _E.UNKNOWN_TOPIC_OR_PART: _A.REFRESH | _A.MSG_NOT_PERSISTED,
    _E.TOPIC_AUTHORIZATION_FAILED: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    _E.KAFKA_STORAGE_ERROR: _A.REFRESH | _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E.NOT_ENOUGH_REPLICAS: _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E.NOT_ENOUGH_REPLICAS_AFTER_APPEND: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E._TIMED_OUT_QUEUE: _A.RETRY | _A.MSG_NOT_PERSISTED,
    _E._TIMED_OUT: _A.RETRY | _A.MSG_POSSIBLY_PERSISTED,
    _E._MSG_TIMED_OUT: _A.PERMANENT | _A.MSG_POSSIBLY_PERSISTED,
    # Idempotent-producer errors start out permanent; the idempotence layer may change that.
    _E.OUT_OF_ORDER_SEQUENCE_NUMBER: _A.PERMANENT | _A.MSG_POSSIBLY_PERSISTED,
    _E.DUPLICATE_SEQUENCE_NUMBER: _A.PERMANENT | _A.MSG_POSSIBLY_PERSISTED,
    _E.UNKNOWN_PRODUCER_ID: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    _E.INVALID_PRODUCER_EPOCH: _A.PERMANENT | _A.MSG_NOT_PERSISTED,
    # Message purged from the out-queue because the idempotent producer id changed
    _E._RETRY: _A.RETRY,
}


#: The librdkafka source the per-request tables below were transcribed from.
LIBRDKAFKA_REFERENCE = "librdkafka v2.15.0 (RD_KAFKA_VERSION 0x020f00ff), commit 4c3b017c3de8"


#: rd_kafka_actions2str()'s names, in bit order.
_ACTION_NAMES = ((ErrAction.PERMANENT, "Permanent"), (ErrAction.IGNORE, "Ignore"),
                 (ErrAction.REFRESH, "Refresh"), (ErrAction.RETRY, "Retry"),
                 (ErrAction.INFORM, "Inform"), (ErrAction.SPECIAL, "Special"),
                 (ErrAction.MSG_NOT_PERSISTED, "MsgNotPersisted"),
                 (ErrAction.MSG_POSSIBLY_PERSISTED, "MsgPossiblyPersisted"),
                 (ErrAction.MSG_PERSISTED, "MsgPersisted"))


def actions_str(actions: ErrAction) -> str:
    """Actions as librdkafka's rd_kafka_actions2str() lists them ("Permanent,Refresh")."""
    return ",".join(name for flag, name in _ACTION_NAMES if actions & flag)


class RequestKind(Enum):
    """Which request (or which part of its answer) failed, for ``err_action()``.

    Each kind has one table in ``ACTIONS_BY_KIND``, transcribed from the librdkafka function that
    decides about that request's errors (named at each table, with what each flag means there).
    Only Produce keeps the message-persistence flags. Kinds whose librdkafka handler is a
    ``switch`` rather than a ``rd_kafka_err_action()`` call also have a ``SWITCH_DEFAULTS`` entry:
    the switch's ``default:`` branch, used instead of ``DEFAULT_ACTIONS`` for errors the table does
    not name.
    """

    PRODUCE = "produce"
    OTHER = "other"
    # Consumer side
    FETCH = "fetch"  # one partition's error in a Fetch response
    FETCH_REQUEST = "fetch_request"  # the FetchRequest as a whole failed
    LIST_OFFSETS = "list_offsets"
    OFFSET_FOR_LEADER_EPOCH = "offset_for_leader_epoch"
    OFFSET_FETCH = "offset_fetch"  # the OffsetFetch request / its top-level error
    OFFSET_FETCH_PARTITION = "offset_fetch_partition"  # one partition's OffsetFetch error
    OFFSET_COMMIT = "offset_commit"
    METADATA = "metadata"
    FIND_COORDINATOR = "find_coordinator"  # the consumer group's own coordinator query
    COORD_REQ_FIND_COORDINATOR = "coord_req_find_coordinator"  # generic coordinator lookups
    # Idempotent and transactional producer
    TXN_FIND_COORDINATOR = "txn_find_coordinator"
    INIT_PRODUCER_ID = "init_producer_id"
    ADD_PARTITIONS_TO_TXN = "add_partitions_to_txn"
    ADD_OFFSETS_TO_TXN = "add_offsets_to_txn"
    TXN_OFFSET_COMMIT = "txn_offset_commit"
    END_TXN = "end_txn"


class SwitchDefault(NamedTuple):
    """A switch-based handler's ``default:`` branch: what an error its table does not name gets.
    ``broker`` for broker errors (code >= -1), ``local`` for librdkafka's local errors (< -1)."""

    broker: ErrAction
    local: ErrAction


# --- Consumer side -------------------------------------------------------------------------------

FETCH_ACTIONS: dict[int, ErrAction] = {
    # "Errors handled by rdkafka": rd_kafka_toppar_leader_unavailable() (and back to the leader
    # if fetching from a follower); never shown to the application.
    _E.OFFSET_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.UNKNOWN_TOPIC_OR_PART: _A.REFRESH | _A.RETRY,
    _E.LEADER_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.NOT_LEADER_OR_FOLLOWER: _A.REFRESH | _A.RETRY,
    _E.BROKER_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.REPLICA_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.KAFKA_STORAGE_ERROR: _A.REFRESH | _A.RETRY,
    _E.UNKNOWN_LEADER_EPOCH: _A.REFRESH | _A.RETRY,
    _E.FENCED_LEADER_EPOCH: _A.REFRESH | _A.RETRY,
    _E.UNKNOWN_TOPIC_ID: _A.REFRESH | _A.RETRY,
    # rd_kafka_offset_reset() (auto.offset.reset; with "error" it reports _AUTO_OFFSET_RESET)
    _E.OFFSET_OUT_OF_RANGE: _A.SPECIAL | _A.RETRY,
    # Reported once until the partition fetches without error (rktp_last_error); backoff
    # max(1000 ms, 10 x fetch.error.backoff.ms)
    _E.TOPIC_AUTHORIZATION_FAILED: _A.INFORM | _A.RETRY,
    # Only with enable.partition.eof; no backoff
    _E._PARTITION_EOF: _A.INFORM,
    _E.MSG_SIZE_TOO_LARGE: _A.INFORM | _A.RETRY,
}
"""Fetch response, one partition's error (the request-level error of Fetch v7+ counts as every
partition's): librdkafka's switch in ``rd_kafka_fetch_reply_handle_partition_error()``
(src/rdkafka_fetcher.c), followed by ``rd_kafka_toppar_fetch_backoff()``. Unnamed errors: the
switch's ``default:`` (report, back off), see ``SWITCH_DEFAULTS``.

- REFRESH: the leader is looked up again (metadata refresh for the topic); not reported.
- RETRY: back this partition off for fetch.error.backoff.ms, then fetch it again.
- INFORM: a consumer error event for the partition, returned by poll()/consume().
- SPECIAL: OFFSET_OUT_OF_RANGE: reset the offset with auto.offset.reset (when fetching from a
  follower and the offset is above its high watermark, go back to the leader instead).
- PERMANENT: never: librdkafka does not stop fetching a partition because of a Fetch error.
"""

FETCH_REQUEST_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,  # terminating: return before the backoff
    # "Request metadata information update"
    _E.UNKNOWN_TOPIC_OR_PART: _A.REFRESH | _A.RETRY,
    _E.LEADER_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.NOT_LEADER_FOR_PARTITION: _A.REFRESH | _A.RETRY,
    _E.BROKER_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.REPLICA_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.UNKNOWN_TOPIC_ID: _A.REFRESH | _A.RETRY,
    # "The fetch is already intervalled from consumer_serve() so dont retry": just the backoff
    _E._TRANSPORT: _A.RETRY,
    _E.REQUEST_TIMED_OUT: _A.RETRY,
    _E._MSG_TIMED_OUT: _A.RETRY,
}
"""A FetchRequest that failed as a whole (transport, timeout, unparsable response):
librdkafka's switch in ``rd_kafka_broker_fetch_reply()`` (src/rdkafka_fetcher.c). Nothing is
reported to the application.

- REFRESH: refresh the metadata of the known topics.
- RETRY: back off the broker's whole fetcher for fetch.error.backoff.ms (every error but
  _DESTROY), then fetch as usual.
- IGNORE: _DESTROY (terminating): do nothing.
"""

LIST_OFFSETS_ACTIONS: dict[int, ErrAction] = {
    _E.UNKNOWN_TOPIC_OR_PART: _A.PERMANENT,
    _E.NOT_LEADER_FOR_PARTITION: _A.REFRESH,
    _E.REPLICA_NOT_AVAILABLE: _A.REFRESH,
    _E.KAFKA_STORAGE_ERROR: _A.REFRESH,
    _E.OFFSET_NOT_AVAILABLE: _A.REFRESH,
    _E.LEADER_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.FENCED_LEADER_EPOCH: _A.REFRESH | _A.RETRY,
    _E.UNKNOWN_LEADER_EPOCH: _A.REFRESH | _A.RETRY,
    _E._TRANSPORT: _A.RETRY,
    _E.REQUEST_TIMED_OUT: _A.RETRY,
}
"""ListOffsets: the explicit actions ``rd_kafka_handle_ListOffsets()`` (src/rdkafka_request.c)
passes to ``rd_kafka_err_action()``; the error is the request's, else the first partition's.
Unnamed errors: ``DEFAULT_ACTIONS`` (e.g. BROKER_NOT_AVAILABLE refreshes, _TIMED_OUT retries,
anything unlisted is PERMANENT).

- REFRESH: refresh the metadata of the known topics (the leader may have moved).
- RETRY: send the same request again (retry.backoff.ms, within the request's retry limit).
- PERMANENT: give up. The consumer's offset query (``rd_kafka_toppar_handle_Offset()``) then
  reports the error to the application and applies auto.offset.reset; offsets_for_times() and
  query_watermark_offsets() return it.
- The consumer's offset query tries again after 500 ms whenever REFRESH or RETRY is set (so a
  REFRESH-only error is retried there too), while query_watermark_offsets() returns a
  REFRESH-only error to its caller (after dropping the topic's cached metadata).
"""

OFFSET_FOR_LEADER_EPOCH_ACTIONS: dict[int, ErrAction] = {
    _E.UNKNOWN_LEADER_EPOCH: _A.REFRESH,
    _E.FENCED_LEADER_EPOCH: _A.REFRESH,
    _E.UNKNOWN_TOPIC_OR_PART: _A.REFRESH,
    _E.OFFSET_NOT_AVAILABLE: _A.REFRESH,
    _E.KAFKA_STORAGE_ERROR: _A.REFRESH,
}
"""OffsetForLeaderEpoch (offset validation): the explicit actions of
``rd_kafka_toppar_handle_OffsetForLeaderEpoch()`` (src/rdkafka_offset.c). Unnamed errors:
``DEFAULT_ACTIONS``. _UNSUPPORTED_FEATURE (skip validation) and _OUTDATED are handled before.

- REFRESH: force a leader query for the topic.
- Whatever the actions, the validation is tried again after 500 ms (even PERMANENT ones).
"""

OFFSET_FETCH_ACTIONS: dict[int, ErrAction] = {}
"""OffsetFetch, the request's error or the response's top-level error code:
``rd_kafka_handle_OffsetFetch_err_action()`` (src/rdkafka_request.c) passes no explicit actions,
so ``DEFAULT_ACTIONS`` decide (NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE refresh,
COORDINATOR_LOAD_IN_PROGRESS / _TRANSPORT / _TIMED_OUT retry, anything unlisted is PERMANENT).

- REFRESH: query the group coordinator again.
- RETRY: send the request again (librdkafka only while the assignment is unchanged).
- Otherwise the error goes back to the caller; the assignment code reports it to the
  application as a consumer error.
- Per-partition errors are ``OFFSET_FETCH_PARTITION``'s (rd_kafka_handle_OffsetFetch() also
  retries the whole request when a partition says UNSTABLE_OFFSET_COMMIT).
"""

OFFSET_FETCH_PARTITION_ACTIONS: dict[int, ErrAction] = {
    # Ongoing transactions block the offset: query it again
    _E.UNSTABLE_OFFSET_COMMIT: _A.RETRY,
    # KIP-848: query again (offset STORED) after the next ConsumerGroupHeartbeat
    _E.STALE_MEMBER_EPOCH: _A.RETRY,
}
"""OffsetFetch, one partition's error in the response: ``rd_kafka_assignment_apply_offsets()``
(src/rdkafka_assignment.c) and the ``retry_unstable`` check in ``rd_kafka_handle_OffsetFetch()``.
Unnamed errors: report and leave the partition unstarted (see ``SWITCH_DEFAULTS``).

- RETRY: ask for this partition's committed offset again.
- INFORM: a consumer error event for the partition.
- PERMANENT: the partition is not started (not fetched) until it is assigned again.
"""

OFFSET_COMMIT_ACTIONS: dict[int, ErrAction] = {
    # rd_kafka_handle_OffsetCommit_error(): per-partition errors, "mimicking AK's
    # ConsumerCoordinator.java"
    _E.GROUP_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.TOPIC_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.OFFSET_METADATA_TOO_LARGE: _A.PERMANENT,
    _E.INVALID_COMMIT_OFFSET_SIZE: _A.PERMANENT,
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    _E.UNKNOWN_TOPIC_OR_PART: _A.RETRY,
    # "mark coordinator dead, refresh and retry"
    _E.COORDINATOR_NOT_AVAILABLE: _A.REFRESH | _A.RETRY | _A.SPECIAL,
    _E.NOT_COORDINATOR: _A.REFRESH | _A.RETRY | _A.SPECIAL,
    # "Replicas possibly unavailable: Refresh coordinator (but don't mark as dead), and retry"
    _E.REQUEST_TIMED_OUT: _A.REFRESH | _A.RETRY,
    _E.FENCED_INSTANCE_ID: _A.PERMANENT | _A.FATAL,
    _E.REBALANCE_IN_PROGRESS: _A.PERMANENT,
    _E.UNKNOWN_MEMBER_ID: _A.PERMANENT,
    _E.ILLEGAL_GENERATION: _A.PERMANENT,
    # rd_kafka_handle_OffsetCommit(): the request-level explicit action (a broker error code is
    # never negative, so the two lists of the C code never meet)
    _E._TRANSPORT: _A.REFRESH | _A.SPECIAL | _A.RETRY,
}
"""OffsetCommit: the explicit actions of ``rd_kafka_handle_OffsetCommit_error()`` (each
partition's error) and of ``rd_kafka_handle_OffsetCommit()`` (the request's own error, used only
when no partition reported one), src/rdkafka_request.c. Unnamed errors: ``DEFAULT_ACTIONS``.
The partitions' actions are OR-ed together before acting on them.

- REFRESH: query the group coordinator again; with SPECIAL: mark the coordinator dead first
  (forget it, which makes the next request wait for a new one).
- RETRY: send the commit again (retry.backoff.ms, within the retry limit), unless any
  partition's actions include PERMANENT.
- PERMANENT: the commit fails with this error (commit() raises, offset_commit_cb reports it).
- FATAL: raise a fatal consumer error (FENCED_INSTANCE_ID).
"""

METADATA_ACTIONS: dict[int, ErrAction] = {
    _E.REBOOTSTRAP_REQUIRED: _A.SPECIAL,
    _E._PARTIAL: _A.RETRY,
}
"""Metadata, the request's error: the explicit actions of ``rd_kafka_handle_Metadata()``
(src/rdkafka_request.c); _DESTROY (terminating) is dropped before. Unnamed errors:
``DEFAULT_ACTIONS``. Per-topic errors in a response are not decided here (the topic's state
follows them: rd_kafka_topic_metadata_update()).

- SPECIAL: re-bootstrap: forget the learned brokers and start again from bootstrap.servers.
- RETRY: send the request again, except for a full brokers refresh (to another broker later).
- PERMANENT: log a warning and fail the waiting caller, if any.
- REFRESH (from the default rows) has no effect for Metadata itself.
"""

FIND_COORDINATOR_ACTIONS: dict[int, ErrAction] = {
    # librdkafka names it GROUP_COORDINATOR_NOT_AVAILABLE, the same code
    _E.COORDINATOR_NOT_AVAILABLE: _A.RETRY | _A.REFRESH,
    _E._TRANSPORT: _A.RETRY,
    _E._TIMED_OUT: _A.RETRY,
    _E._TIMED_OUT_QUEUE: _A.RETRY,
    _E._DESTROY_BROKER: _A.RETRY,
}
"""FindCoordinator for the consumer group: the explicit actions of
``rd_kafka_cgrp_handle_FindCoordinator()`` (src/rdkafka_cgrp.c); _DESTROY is dropped before.
Unnamed errors: ``DEFAULT_ACTIONS`` (NOT_COORDINATOR refreshes, COORDINATOR_LOAD_IN_PROGRESS
retries, e.g. GROUP_AUTHORIZATION_FAILED is PERMANENT).

- REFRESH: forget the current coordinator (rd_kafka_cgrp_coord_update(-1)).
- RETRY: say nothing and query again on the coordinator query interval (_DESTROY_BROKER: at once).
- Neither (PERMANENT): report the error to the application as a consumer error, once per distinct
  error in a row, and keep querying on the interval. The lookup never stops for good.
"""

COORD_REQ_FIND_COORDINATOR_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.SPECIAL,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E._TRANSPORT: _A.REFRESH,
    _E.COORDINATOR_NOT_AVAILABLE: _A.RETRY,
}
"""FindCoordinator for a request that needs a coordinator (TxnOffsetCommit's group coordinator,
the admin group APIs): the explicit actions of ``rd_kafka_coord_req_handle_FindCoordinator()``
(src/rdkafka_coord.c). Unnamed errors: ``DEFAULT_ACTIONS``.

- PERMANENT: fail the request that was waiting for the coordinator, with this error.
- RETRY: send the FindCoordinator again.
- Otherwise (REFRESH, SPECIAL): wait for a broker state change to look again.
"""

# --- Idempotent and transactional producer -------------------------------------------------------

TXN_FIND_COORDINATOR_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    _E._UNKNOWN_BROKER: _A.REFRESH | _A.RETRY,  # rd_kafka_metadata_refresh_brokers()
}
"""FindCoordinator for the transaction coordinator: the switch in
``rd_kafka_txn_handle_FindCoordinator()`` (src/rdkafka_txnmgr.c). Every other error: forget the
coordinator and query again in 500 ms (``SWITCH_DEFAULTS``).

- FATAL: fatal error (the idempotence state goes to FATAL_ERROR).
- REFRESH: refresh the broker list (the coordinator's node id is not known yet).
- RETRY: query for the coordinator again after 500 ms.
- IGNORE: terminating.
"""

INIT_PRODUCER_ID_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    # rd_kafka_idemp_check_error(): fatal
    _E._UNSUPPORTED_FEATURE: _A.FATAL,
    _E.INVALID_TRANSACTION_TIMEOUT: _A.FATAL,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    # fatal, raised as _FENCED ("Producer fenced by newer instance")
    _E.INVALID_PRODUCER_EPOCH: _A.FATAL,
    _E.PRODUCER_FENCED: _A.FATAL,
    # transactional producer: forget the transaction coordinator
    _E.NOT_COORDINATOR: _A.REFRESH | _A.RETRY,
    _E.COORDINATOR_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
}
"""InitProducerId: ``rd_kafka_handle_InitProducerId()`` (src/rdkafka_request.c) ->
``rd_kafka_idemp_request_pid_failed()`` -> ``rd_kafka_idemp_check_error()``
(src/rdkafka_idempotence.c). Every other error: try again in 500 ms (``SWITCH_DEFAULTS``).

- FATAL: fatal error for the producer (INVALID_PRODUCER_EPOCH / PRODUCER_FENCED as _FENCED).
- REFRESH: transactional producer only: forget the transaction coordinator (look it up again).
- RETRY: request a producer id again after 500 ms (the error is kept for init_transactions()).
- IGNORE: terminating.
"""

ADD_PARTITIONS_TO_TXN_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    _E._OUTDATED: _A.IGNORE,
    # "Request-level errors" (any partition's error stands for all)
    _E.NOT_COORDINATOR: _A.REFRESH | _A.RETRY,  # coordinator forgotten
    _E.COORDINATOR_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.CONCURRENT_TRANSACTIONS: _A.RETRY,  # retried after 20 ms instead of 500 ms
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    _E.UNKNOWN_TOPIC_OR_PART: _A.RETRY,
    _E.INVALID_PRODUCER_EPOCH: _A.FATAL,
    _E.PRODUCER_FENCED: _A.FATAL,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.INVALID_TXN_STATE: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    _E.UNKNOWN_PRODUCER_ID: _A.PERMANENT | _A.SPECIAL,  # require_bump
    _E.INVALID_PRODUCER_ID_MAPPING: _A.PERMANENT | _A.SPECIAL,
    # "Partition-level errors"
    _E.TOPIC_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.OPERATION_NOT_ATTEMPTED: _A.PERMANENT,
    # Local request-level errors ("can't be sure if the request was received")
    _E._TRANSPORT: _A.RETRY,
    _E._TIMED_OUT: _A.RETRY,
    # An unparsable response (err_parse adds PERMANENT)
    _E._BAD_MSG: _A.PERMANENT,
    _E._UNDERFLOW: _A.PERMANENT,
}
"""AddPartitionsToTxn: the two switches of ``rd_kafka_txn_handle_AddPartitionsToTxn()``
(src/rdkafka_txnmgr.c): per partition (broker errors; unnamed ones are PERMANENT) and for the
request (local errors; unnamed ones are RETRY), see ``SWITCH_DEFAULTS``. The C code ORs RETRY into
every error and then checks FATAL, then PERMANENT, then RETRY; this table holds the outcome.

- FATAL: fatal transactional error.
- PERMANENT: abortable transaction error; with SPECIAL: an epoch bump is needed instead
  (rd_kafka_idemp_drain_epoch_bump()).
- REFRESH: forget the transaction coordinator (look it up again).
- RETRY: register the partitions again after 500 ms (20 ms for CONCURRENT_TRANSACTIONS).
- IGNORE: terminating, or the response is for a transaction that is over.
"""

ADD_OFFSETS_TO_TXN_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    _E._OUTDATED: _A.IGNORE,  # librdkafka: SPECIAL, "a non-actionable actions flag"
    _E._TRANSPORT: _A.RETRY | _A.REFRESH,
    _E._TIMED_OUT: _A.RETRY | _A.REFRESH,
    _E._TIMED_OUT_QUEUE: _A.RETRY | _A.REFRESH,
    _E.COORDINATOR_NOT_AVAILABLE: _A.RETRY | _A.REFRESH,
    _E.NOT_COORDINATOR: _A.RETRY | _A.REFRESH,
    _E.REQUEST_TIMED_OUT: _A.RETRY | _A.REFRESH,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    _E.INVALID_PRODUCER_EPOCH: _A.FATAL,
    _E.INVALID_TXN_STATE: _A.FATAL,
    _E.UNSUPPORTED_FOR_MESSAGE_FORMAT: _A.FATAL,
    _E.TOPIC_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.GROUP_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.UNKNOWN_TOPIC_OR_PART: _A.RETRY,
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    _E.CONCURRENT_TRANSACTIONS: _A.RETRY,
}
"""AddOffsetsToTxn: the switch in ``rd_kafka_txn_handle_AddOffsetsToTxn()``
(src/rdkafka_txnmgr.c). Unnamed errors: PERMANENT ("All unhandled errors are permanent"; note
that PRODUCER_FENCED is not named, so it is abortable here).

- FATAL: fatal transactional error.
- PERMANENT: abortable transaction error.
- REFRESH: query for the transaction coordinator again in 50 ms.
- RETRY: send the request again while send_offsets_to_transaction()'s timeout allows, else the
  call fails with a retriable error.
- IGNORE: terminating or outdated: no side effects.
"""

TXN_OFFSET_COMMIT_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    _E._OUTDATED: _A.IGNORE,
    # "this is the group coordinator, not the transaction coordinator": evicted from the cache
    _E.NOT_COORDINATOR: _A.REFRESH | _A.RETRY,
    _E.COORDINATOR_NOT_AVAILABLE: _A.REFRESH | _A.RETRY,
    _E.REQUEST_TIMED_OUT: _A.REFRESH | _A.RETRY,
    _E._TRANSPORT: _A.REFRESH | _A.RETRY,
    _E._TIMED_OUT: _A.REFRESH | _A.RETRY,
    _E._TIMED_OUT_QUEUE: _A.REFRESH | _A.RETRY,
    _E.CONCURRENT_TRANSACTIONS: _A.RETRY,
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    _E.UNKNOWN_TOPIC_OR_PART: _A.RETRY,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    _E.INVALID_PRODUCER_ID_MAPPING: _A.FATAL,
    _E.INVALID_PRODUCER_EPOCH: _A.FATAL,
    _E.INVALID_TXN_STATE: _A.FATAL,
    _E.UNSUPPORTED_FOR_MESSAGE_FORMAT: _A.FATAL,
    _E.TOPIC_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.GROUP_AUTHORIZATION_FAILED: _A.PERMANENT,
    _E.ILLEGAL_GENERATION: _A.PERMANENT,
    _E.UNKNOWN_MEMBER_ID: _A.PERMANENT,
    _E.FENCED_INSTANCE_ID: _A.PERMANENT,
}
"""TxnOffsetCommit (the request's error, else the first partition's): the switch in
``rd_kafka_txn_handle_TxnOffsetCommit()`` (src/rdkafka_txnmgr.c). Unnamed errors: PERMANENT
("Unhandled error, fail transaction").

- FATAL: fatal transactional error.
- PERMANENT: abortable transaction error.
- REFRESH: evict the group coordinator from the coordinator cache (look it up again).
- RETRY: send again through the group coordinator after 500 ms while the call's timeout allows,
  else the call fails with _TIMED_OUT (abortable).
- IGNORE: terminating or outdated.
"""

END_TXN_ACTIONS: dict[int, ErrAction] = {
    _E._DESTROY: _A.IGNORE,
    _E._OUTDATED: _A.IGNORE,
    _E._TIMED_OUT: _A.RETRY | _A.REFRESH,
    _E._TIMED_OUT_QUEUE: _A.RETRY | _A.REFRESH,
    _E._TRANSPORT: _A.RETRY | _A.REFRESH,
    # librdkafka forgets the coordinator here itself (rd_kafka_txn_coord_set(NULL)) and returns
    # RETRY: the coordinator is looked up again either way
    _E.COORDINATOR_NOT_AVAILABLE: _A.RETRY | _A.REFRESH,
    _E.NOT_COORDINATOR: _A.RETRY | _A.REFRESH,
    _E.COORDINATOR_LOAD_IN_PROGRESS: _A.RETRY,
    _E.CONCURRENT_TRANSACTIONS: _A.RETRY,
    _E.UNKNOWN_PRODUCER_ID: _A.PERMANENT | _A.SPECIAL,  # require_bump
    _E.INVALID_PRODUCER_ID_MAPPING: _A.PERMANENT | _A.SPECIAL,
    _E.INVALID_PRODUCER_EPOCH: _A.FATAL,
    _E.PRODUCER_FENCED: _A.FATAL,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: _A.FATAL,
    _E.CLUSTER_AUTHORIZATION_FAILED: _A.FATAL,
    _E.INVALID_TXN_STATE: _A.FATAL,
}
"""EndTxn: the switch in ``rd_kafka_txn_handle_EndTxn()`` (src/rdkafka_txnmgr.c). Unnamed
errors: PERMANENT ("All unhandled errors are permanent").

- FATAL: fatal transactional error.
- PERMANENT: abortable transaction error (an abort goes back to BEGIN_ABORT so it can be
  retried); with SPECIAL, for an abort: bump the epoch instead (rd_kafka_idemp_drain_epoch_bump0).
- REFRESH: look the transaction coordinator up again (in 50 ms, or at once when forgotten).
- RETRY: send EndTxn again while committing or aborting.
- IGNORE: terminating or outdated: no transactional side effects.
"""

# --- The kind -> table mapping ------------------------------------------------------------------

ACTIONS_BY_KIND: dict[RequestKind, Mapping[int, ErrAction]] = {
    RequestKind.PRODUCE: PRODUCE_ACTIONS,
    RequestKind.OTHER: {},
    RequestKind.FETCH: FETCH_ACTIONS,
    RequestKind.FETCH_REQUEST: FETCH_REQUEST_ACTIONS,
    RequestKind.LIST_OFFSETS: LIST_OFFSETS_ACTIONS,
    RequestKind.OFFSET_FOR_LEADER_EPOCH: OFFSET_FOR_LEADER_EPOCH_ACTIONS,
    RequestKind.OFFSET_FETCH: OFFSET_FETCH_ACTIONS,
    RequestKind.OFFSET_FETCH_PARTITION: OFFSET_FETCH_PARTITION_ACTIONS,
    RequestKind.OFFSET_COMMIT: OFFSET_COMMIT_ACTIONS,
    RequestKind.METADATA: METADATA_ACTIONS,
    RequestKind.FIND_COORDINATOR: FIND_COORDINATOR_ACTIONS,
    RequestKind.COORD_REQ_FIND_COORDINATOR: COORD_REQ_FIND_COORDINATOR_ACTIONS,
    RequestKind.TXN_FIND_COORDINATOR: TXN_FIND_COORDINATOR_ACTIONS,
    RequestKind.INIT_PRODUCER_ID: INIT_PRODUCER_ID_ACTIONS,
    RequestKind.ADD_PARTITIONS_TO_TXN: ADD_PARTITIONS_TO_TXN_ACTIONS,
    RequestKind.ADD_OFFSETS_TO_TXN: ADD_OFFSETS_TO_TXN_ACTIONS,
    RequestKind.TXN_OFFSET_COMMIT: TXN_OFFSET_COMMIT_ACTIONS,
    RequestKind.END_TXN: END_TXN_ACTIONS,
}
"""Each request kind's explicit table: what ``err_action(code, kind)`` consults first."""

SWITCH_DEFAULTS: dict[RequestKind, SwitchDefault] = {
    # rd_kafka_fetch_reply_handle_partition_error(): "default: /* and all other errors */"
    RequestKind.FETCH: SwitchDefault(_A.INFORM | _A.RETRY, _A.INFORM | _A.RETRY),
    # rd_kafka_broker_fetch_reply(): every error backs the fetcher off
    RequestKind.FETCH_REQUEST: SwitchDefault(_A.RETRY, _A.RETRY),
    # rd_kafka_assignment_apply_offsets(): "Partition-level error": reported, not started
    RequestKind.OFFSET_FETCH_PARTITION: SwitchDefault(_A.INFORM | _A.PERMANENT,
                                                      _A.INFORM | _A.PERMANENT),
    # rd_kafka_txn_handle_FindCoordinator(): coordinator forgotten, queried again in 500 ms
    RequestKind.TXN_FIND_COORDINATOR: SwitchDefault(_A.RETRY, _A.RETRY),
    # rd_kafka_idemp_request_pid_failed(): "Restart acquisition after a short wait"
    RequestKind.INIT_PRODUCER_ID: SwitchDefault(_A.RETRY, _A.RETRY),
    # per partition "Other partition error": PERMANENT; request level "default:": RETRY
    RequestKind.ADD_PARTITIONS_TO_TXN: SwitchDefault(_A.PERMANENT, _A.RETRY),
    RequestKind.ADD_OFFSETS_TO_TXN: SwitchDefault(_A.PERMANENT, _A.PERMANENT),
    RequestKind.TXN_OFFSET_COMMIT: SwitchDefault(_A.PERMANENT, _A.PERMANENT),
    RequestKind.END_TXN: SwitchDefault(_A.PERMANENT, _A.PERMANENT),
}
"""The kinds whose librdkafka handler is a switch: their ``default:`` branch. The other kinds
fall back to ``DEFAULT_ACTIONS`` (rd_kafka_err_action()'s own switch)."""


def err_action(
    code: int,
    request_kind: RequestKind = RequestKind.OTHER,
    explicit: Mapping[int, ErrAction] | Mapping[ErrorCode, ErrAction] | None = None,
    *,
    have_request: bool = True,
) -> ErrAction:
    """Decide what to do about error ``code`` from a ``request_kind`` request, like librdkafka.

    The kind's table (``ACTIONS_BY_KIND``), or ``explicit`` when given (the call site's own
    {error: actions}, librdkafka's var-args), is consulted first; a match is returned as is.
    Otherwise, for a switch-based kind (``SWITCH_DEFAULTS``) the switch's default branch is
    returned. For the others the default table applies like in ``rd_kafka_err_action()``:
    PERMANENT or FATAL clears RETRY; no request (``have_request=False``) clears RETRY; non-Produce
    requests lose the MSG_* persistence flags.
    """
    if code == 0:
        return _A.NONE
    table = ACTIONS_BY_KIND[request_kind] if explicit is None else explicit
    actions = cast("Mapping[int, ErrAction]", table).get(code, _A.NONE)
    if actions:
        return actions
    switch = SWITCH_DEFAULTS.get(request_kind)
    if switch is not None:
        return switch.local if code < -1 else switch.broker
    actions = DEFAULT_ACTIONS.get(code, DEFAULT_UNKNOWN_ACTION)
    if actions & (_A.FATAL | _A.PERMANENT):
        actions &= ~_A.RETRY
    if not have_request:
        actions &= ~_A.RETRY
    elif request_kind is not RequestKind.PRODUCE:
        actions &= ~_MSG_FLAGS
    return actions
