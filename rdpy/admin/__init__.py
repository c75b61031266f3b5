"""Admin-side types. Today: the cluster metadata returned by list_topics(), shaped like
confluent_kafka.admin's (ClusterMetadata, BrokerMetadata, TopicMetadata, PartitionMetadata).
The AdminClient itself is not implemented yet.
"""

from rdpy.admin._metadata import BrokerMetadata, ClusterMetadata, PartitionMetadata, TopicMetadata

__all__ = ["BrokerMetadata", "ClusterMetadata", "PartitionMetadata", "TopicMetadata"]
