"""Admin-side types. Today: the cluster metadata returned by list_topics(), shaped like
confluent_kafka.admin's (ClusterMetadata, BrokerMetadata, TopicMetadata, PartitionMetadata), in
metadata.py: leaf value types that import nothing of the engine, so the engine (client/sync.py)
can build them. The AdminClient itself is not implemented yet; it will be a facade in
admin/client.py (see docs/DESIGN.md, "Where the coming features live").
"""

from rdpy.admin.metadata import BrokerMetadata, ClusterMetadata, PartitionMetadata, TopicMetadata

__all__ = ["BrokerMetadata", "ClusterMetadata", "PartitionMetadata", "TopicMetadata"]
