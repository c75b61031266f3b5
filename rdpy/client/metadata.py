"""The client's view of the cluster: brokers, topics, partitions and their leaders.

Plain data, replaced wholesale per topic when a Metadata response arrives. Owned by the Handle and
read or written only under the handle lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PartitionInfo:
    id: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isrs: tuple[int, ...]
    error: int = 0


@dataclass
class TopicInfo:
    name: str
    error: int
    partitions: list[PartitionInfo]
    topic_id: uuid.UUID | None = None
    is_internal: bool = False
    updated_at: float = 0.0


@dataclass
class MetadataCache:
    """Brokers and topics as last reported; `cluster_id`/`controller_id` as the broker says."""

    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    topics: dict[str, TopicInfo] = field(default_factory=dict)
    cluster_id: str | None = None
    controller_id: int = -1
    updated_at: float = 0.0
