"""Admin-side types, shaped like confluent_kafka.admin's:

- metadata.py: the cluster metadata returned by list_topics() (ClusterMetadata, BrokerMetadata,
  TopicMetadata, PartitionMetadata), which the engine (client/sync.py) builds;
- configs.py: ConfigResource, ConfigEntry, ConfigSource, AlterConfigOpType and their constants;
- resource.py: ResourceType, ResourcePatternType and their constants.

All are leaf value types that import nothing of the engine. The AdminClient itself is not
implemented yet: admin/client.py's AdminClient refuses with _NOT_IMPLEMENTED once its
configuration is checked. It is imported on first use, so that the value types stay free of the
engine (see docs/DESIGN.md, "Where the coming features live").
"""

from typing import TYPE_CHECKING, Any

from rdpy.admin.configs import (
    ALTER_CONFIG_OP_TYPE_APPEND,
    ALTER_CONFIG_OP_TYPE_DELETE,
    ALTER_CONFIG_OP_TYPE_SET,
    ALTER_CONFIG_OP_TYPE_SUBTRACT,
    CONFIG_SOURCE_DEFAULT_CONFIG,
    CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG,
    CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG,
    CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG,
    CONFIG_SOURCE_GROUP_CONFIG,
    CONFIG_SOURCE_STATIC_BROKER_CONFIG,
    CONFIG_SOURCE_UNKNOWN_CONFIG,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
)
from rdpy.admin.metadata import BrokerMetadata, ClusterMetadata, PartitionMetadata, TopicMetadata
from rdpy.admin.resource import (
    RESOURCE_ANY,
    RESOURCE_BROKER,
    RESOURCE_GROUP,
    RESOURCE_PATTERN_ANY,
    RESOURCE_PATTERN_LITERAL,
    RESOURCE_PATTERN_MATCH,
    RESOURCE_PATTERN_PREFIXED,
    RESOURCE_PATTERN_UNKNOWN,
    RESOURCE_TOPIC,
    RESOURCE_TRANSACTIONAL_ID,
    RESOURCE_UNKNOWN,
    ResourcePatternType,
    ResourceType,
)

__all__ = [
    "ALTER_CONFIG_OP_TYPE_APPEND", "ALTER_CONFIG_OP_TYPE_DELETE", "ALTER_CONFIG_OP_TYPE_SET",
    "ALTER_CONFIG_OP_TYPE_SUBTRACT",
    "AlterConfigOpType", "BrokerMetadata", "ClusterMetadata",
    "CONFIG_SOURCE_DEFAULT_CONFIG", "CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG",
    "CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG", "CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG",
    "CONFIG_SOURCE_GROUP_CONFIG", "CONFIG_SOURCE_STATIC_BROKER_CONFIG",
    "CONFIG_SOURCE_UNKNOWN_CONFIG",
    "ConfigEntry", "ConfigResource", "ConfigSource", "PartitionMetadata",
    "RESOURCE_ANY", "RESOURCE_BROKER", "RESOURCE_GROUP", "RESOURCE_PATTERN_ANY",
    "RESOURCE_PATTERN_LITERAL", "RESOURCE_PATTERN_MATCH", "RESOURCE_PATTERN_PREFIXED",
    "RESOURCE_PATTERN_UNKNOWN", "RESOURCE_TOPIC", "RESOURCE_TRANSACTIONAL_ID", "RESOURCE_UNKNOWN",
    "ResourcePatternType", "ResourceType", "TopicMetadata", "AdminClient",
]

if TYPE_CHECKING:
    from rdpy.admin.client import AdminClient


def __getattr__(name: str) -> Any:
    if name != "AdminClient":
        raise AttributeError(f"module 'rdpy.admin' has no attribute {name!r}")
    import importlib

    value = importlib.import_module("rdpy.admin.client").AdminClient
    globals()[name] = value
    return value
