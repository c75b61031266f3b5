"""Real Apache Kafka for the tests: jars from Maven Central (dist), a test PKI (certs), the
single four-listener broker and the 3-node cluster (server), pytest fixtures (fixtures).

The Kafka version is pinned once, in dist.KAFKA_VERSION. The package exports server's API and
dist's version, error and jar lookup.
"""

from tests.support.kafka import server
from tests.support.kafka.dist import KAFKA_VERSION, KafkaDistError, kafka_libs
from tests.support.kafka.server import *  # noqa: F401,F403

__all__ = ["KAFKA_VERSION", "KafkaDistError", "kafka_libs"]
__all__ += server.__all__
