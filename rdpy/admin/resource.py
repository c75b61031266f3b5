"""Kafka resource kinds (ResourceType, ResourcePatternType) with confluent_kafka.admin's names
and librdkafka's numbers (rd_kafka_ResourceType_t, rd_kafka_ResourcePatternType_t), and the
module-level constants confluent-kafka exports for them (RESOURCE_TOPIC, ...).

Leaf value types: no engine import, no thread; any thread may use them.
"""

from __future__ import annotations

import enum

__all__ = [
    "ResourceType", "ResourcePatternType",
    "RESOURCE_UNKNOWN", "RESOURCE_ANY", "RESOURCE_TOPIC", "RESOURCE_GROUP", "RESOURCE_BROKER",
    "RESOURCE_TRANSACTIONAL_ID",
    "RESOURCE_PATTERN_UNKNOWN", "RESOURCE_PATTERN_ANY", "RESOURCE_PATTERN_MATCH",
    "RESOURCE_PATTERN_LITERAL", "RESOURCE_PATTERN_PREFIXED",
]

# rd_kafka_ResourceType_t: the numbers the Kafka protocol's DescribeConfigs/CreateAcls carry.
RESOURCE_UNKNOWN = 0
RESOURCE_ANY = 1
RESOURCE_TOPIC = 2
RESOURCE_GROUP = 3
RESOURCE_BROKER = 4
RESOURCE_TRANSACTIONAL_ID = 5

# rd_kafka_ResourcePatternType_t (KIP-290).
RESOURCE_PATTERN_UNKNOWN = 0
RESOURCE_PATTERN_ANY = 1
RESOURCE_PATTERN_MATCH = 2
RESOURCE_PATTERN_LITERAL = 3
RESOURCE_PATTERN_PREFIXED = 4


class ResourceType(enum.Enum):
    """The kind of a Kafka resource. Ordered by value, as in confluent-kafka (ConfigResource
    sorts by it)."""

    UNKNOWN = RESOURCE_UNKNOWN  #: Not known or not set.
    ANY = RESOURCE_ANY  #: Matches any resource (lookups).
    TOPIC = RESOURCE_TOPIC  #: A topic; the resource name is the topic name.
    GROUP = RESOURCE_GROUP  #: A group; the resource name is the group.id.
    BROKER = RESOURCE_BROKER  #: A broker; the resource name is the broker id.
    TRANSACTIONAL_ID = RESOURCE_TRANSACTIONAL_ID  #: A transactional id.

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ResourceType):
            return NotImplemented
        return self.value < other.value


class ResourcePatternType(enum.Enum):
    """How an ACL's resource name matches resources."""

    UNKNOWN = RESOURCE_PATTERN_UNKNOWN  #: Not known or not set.
    ANY = RESOURCE_PATTERN_ANY  #: Matches any pattern type (lookups).
    MATCH = RESOURCE_PATTERN_MATCH  #: Pattern matching (lookups).
    LITERAL = RESOURCE_PATTERN_LITERAL  #: The name is literal.
    PREFIXED = RESOURCE_PATTERN_PREFIXED  #: The name is a prefix.

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ResourcePatternType):
            return NotImplemented
        return self.value < other.value
