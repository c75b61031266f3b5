"""Broker-side configuration as the admin API describes and alters it, with
confluent_kafka.admin's types and behaviour: ConfigResource (a resource and the configuration
to set on it, wholesale or incrementally), ConfigEntry (one property as described, or one
incremental operation), ConfigSource and AlterConfigOpType (librdkafka's numbers, also
exported as CONFIG_SOURCE_* and ALTER_CONFIG_OP_TYPE_* constants).

Leaf value types: no engine import, no thread; any thread may use them. The AdminClient that
sends them is not implemented yet.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping

from rdpy.admin.resource import ResourceType
from rdpy.errors import KafkaError

__all__ = [
    "AlterConfigOpType", "ConfigSource", "ConfigEntry", "ConfigResource",
    "ALTER_CONFIG_OP_TYPE_SET", "ALTER_CONFIG_OP_TYPE_DELETE", "ALTER_CONFIG_OP_TYPE_APPEND",
    "ALTER_CONFIG_OP_TYPE_SUBTRACT",
    "CONFIG_SOURCE_UNKNOWN_CONFIG", "CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG",
    "CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG", "CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG",
    "CONFIG_SOURCE_STATIC_BROKER_CONFIG", "CONFIG_SOURCE_DEFAULT_CONFIG",
    "CONFIG_SOURCE_GROUP_CONFIG",
]

# rd_kafka_AlterConfigOpType_t: IncrementalAlterConfigs' operation numbers (KIP-339).
ALTER_CONFIG_OP_TYPE_SET = 0
ALTER_CONFIG_OP_TYPE_DELETE = 1
ALTER_CONFIG_OP_TYPE_APPEND = 2
ALTER_CONFIG_OP_TYPE_SUBTRACT = 3

# rd_kafka_ConfigSource_t: DescribeConfigs' ConfigSource numbers (7 is the protocol's
# DYNAMIC_CLIENT_METRICS_CONFIG, which librdkafka does not name).
CONFIG_SOURCE_UNKNOWN_CONFIG = 0
CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG = 1
CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG = 2
CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG = 3
CONFIG_SOURCE_STATIC_BROKER_CONFIG = 4
CONFIG_SOURCE_DEFAULT_CONFIG = 5
CONFIG_SOURCE_GROUP_CONFIG = 8


class AlterConfigOpType(enum.Enum):
    """An incremental configuration change (incremental_alter_configs)."""

    SET = ALTER_CONFIG_OP_TYPE_SET  #: Set the entry's value.
    DELETE = ALTER_CONFIG_OP_TYPE_DELETE  #: Revert the entry to its default (possibly null).
    APPEND = ALTER_CONFIG_OP_TYPE_APPEND  #: List entries only: add the values to the list.
    SUBTRACT = ALTER_CONFIG_OP_TYPE_SUBTRACT  #: List entries only: remove the values.


class ConfigSource(enum.Enum):
    """Where a described configuration value comes from."""

    UNKNOWN_CONFIG = CONFIG_SOURCE_UNKNOWN_CONFIG
    DYNAMIC_TOPIC_CONFIG = CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG
    DYNAMIC_BROKER_CONFIG = CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG
    DYNAMIC_DEFAULT_BROKER_CONFIG = CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG
    STATIC_BROKER_CONFIG = CONFIG_SOURCE_STATIC_BROKER_CONFIG
    DEFAULT_CONFIG = CONFIG_SOURCE_DEFAULT_CONFIG
    GROUP_CONFIG = CONFIG_SOURCE_GROUP_CONFIG


class ConfigEntry:
    """One configuration property: as describe_configs() returns it (value None when unset or
    sensitive, its source, flags and synonyms), or as an incremental_alter_configs()
    operation (`incremental_operation`; the value is ignored for DELETE)."""

    def __init__(
        self,
        name: str,
        value: str | None,
        source: ConfigSource = ConfigSource.UNKNOWN_CONFIG,
        is_read_only: bool = False,
        is_default: bool = False,
        is_sensitive: bool = False,
        is_synonym: bool = False,
        synonyms: Mapping[str, ConfigEntry] | None = None,
        incremental_operation: AlterConfigOpType | None = None,
    ) -> None:
        self.name = name
        self.value = value
        self.source = source
        # bool(): confluent-kafka normalises the flags (the C layer passes ints).
        self.is_read_only = bool(is_read_only)
        self.is_default = bool(is_default)
        self.is_sensitive = bool(is_sensitive)
        self.is_synonym = bool(is_synonym)
        # confluent-kafka's default is one dict shared by every entry; a fresh one each keeps
        # the same contents without entries seeing each other's synonyms.
        self.synonyms: dict[str, ConfigEntry] = {} if synonyms is None else dict(synonyms)
        self.incremental_operation = incremental_operation

    def __repr__(self) -> str:
        return f'ConfigEntry({self.name}="{self.value}")'

    def __str__(self) -> str:
        return f'{self.name}="{self.value}"'


@functools.total_ordering
class ConfigResource:
    """A resource with configuration (a topic, a broker, a group...) and, optionally, the
    configuration to set on it: wholesale (`set_config`, alter_configs) or by operation
    (`add_incremental_config`, incremental_alter_configs). describe_configs() fills
    `configs` (and `error`). Equal and hashed by (type, name).

    `restype` is a ResourceType, its name as a string in any case ("topic"), or its number.
    """

    Type = ResourceType

    def __init__(
        self,
        restype: ResourceType | str | int,
        name: str,
        set_config: Mapping[str, str] | None = None,
        described_configs: dict[str, ConfigEntry] | None = None,
        error: KafkaError | None = None,
        incremental_configs: list[ConfigEntry] | None = None,
    ) -> None:
        if name is None:
            raise ValueError("Expected resource name to be a string")
        if isinstance(restype, str):
            try:
                restype = ResourceType[restype.upper()]
            except KeyError:
                raise ValueError(
                    f'Unknown resource type "{restype}": should be a ConfigResource.Type') from None
        elif isinstance(restype, int):
            restype = ResourceType(restype)  # ValueError for a number that names no type
        self.restype: ResourceType = restype
        #: The type's number, as the wire (and confluent-kafka's C layer) carries it.
        self.restype_int = int(restype.value)
        self.name = name
        self.set_config_dict: dict[str, str] = dict(set_config) if set_config is not None else {}
        self.incremental_configs: list[ConfigEntry] = list(incremental_configs or [])
        self.configs = described_configs
        self.error = error

    def __repr__(self) -> str:
        if self.error is not None:
            return f"ConfigResource({self.restype},{self.name},{self.error!r})"
        return f"ConfigResource({self.restype},{self.name})"

    def __hash__(self) -> int:
        return hash((self.restype, self.name))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ConfigResource):
            return NotImplemented
        # confluent-kafka's order, kept so sorted results match: a smaller type sorts first,
        # otherwise the names decide (even when this type is the larger one).
        if self.restype < other.restype:
            return True
        return self.name < other.name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigResource):
            return NotImplemented
        return self.restype == other.restype and self.name == other.name

    def __len__(self) -> int:
        """The number of configuration entries set with set_config()."""
        return len(self.set_config_dict)

    def set_config(self, name: str, value: str, overwrite: bool = True) -> None:
        """Set `name` to `value` for alter_configs() (which reverts every property not
        set to its default); with overwrite=False an existing entry is kept."""
        if not overwrite and name in self.set_config_dict:
            return
        self.set_config_dict[name] = value

    def add_incremental_config(self, config_entry: ConfigEntry) -> None:
        """Add an operation (config_entry.incremental_operation) for incremental_alter_configs()."""
        self.incremental_configs.append(config_entry)
