"""ShareConsumer and DeserializingShareConsumer: confluent-kafka's share-group consumers
(KIP-932), not implemented yet.

They exist so that code importing them (confluent-kafka-python's own test helpers do) keeps
working, and so that creating one fails as rdpy fails for any feature it lacks: the
configuration is checked first, exactly as for a Consumer (so a wrong property reads the same),
then KafkaException(_NOT_IMPLEMENTED) is raised (client/startup.py's refuse_unimplemented).
Nothing is started, so there is no thread to own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rdpy._clientargs import config_from_args, require_group_id
from rdpy.client.startup import refuse_unimplemented
from rdpy.config import Conf

__all__ = ["ShareConsumer", "DeserializingShareConsumer"]

_SHARE_GROUPS = "share consumers (KIP-932 share groups)"


class ShareConsumer:
    """confluent_kafka.ShareConsumer(config): a share-group consumer. Not implemented yet:
    creating one raises KafkaException(_NOT_IMPLEMENTED) once the configuration is valid."""

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        config = config_from_args(args, kwargs)  # the arguments as a Consumer takes them
        require_group_id(config)
        settings = Conf.from_dict(config, "consumer").finalize("consumer")
        refuse_unimplemented(settings, "consumer", [_SHARE_GROUPS])


class DeserializingShareConsumer(ShareConsumer):
    """confluent_kafka.DeserializingShareConsumer(conf): a ShareConsumer that takes
    `key.deserializer` and `value.deserializer` from its configuration. Not implemented yet,
    as ShareConsumer."""

    def __init__(self, conf: Mapping[str, Any]) -> None:
        conf_copy = dict(conf)
        self._key_deserializer: object = conf_copy.pop("key.deserializer", None)
        self._value_deserializer: object = conf_copy.pop("value.deserializer", None)
        super().__init__(conf_copy)
