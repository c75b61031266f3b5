"""AdminClient: confluent-kafka's admin client, not implemented yet.

It exists so that code importing it (`from confluent_kafka.admin import AdminClient`, as
confluent-kafka-python's own tests do) keeps loading, and so that creating one fails as rdpy
fails for any feature it lacks: the arguments and configuration are checked first, as
librdkafka checks an admin client's (a producer-type handle), so a wrong property reads the
same; then KafkaException(_NOT_IMPLEMENTED) is raised (client/startup.py's
refuse_unimplemented). Nothing is started, so there is no thread to own. The real AdminClient
will be a facade here, over the engine like Producer and Consumer.
"""

from __future__ import annotations

from typing import Any

from rdpy._clientargs import config_from_args
from rdpy.client.startup import refuse_unimplemented
from rdpy.config import Conf

__all__ = ["AdminClient"]


class AdminClient:
    """confluent_kafka.admin.AdminClient(conf): not implemented yet. Creating one raises
    KafkaException(_NOT_IMPLEMENTED) once the configuration is valid."""

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        settings = Conf.from_dict(config_from_args(args, kwargs), "producer").finalize("producer")
        refuse_unimplemented(settings, "producer", ["the AdminClient"])
