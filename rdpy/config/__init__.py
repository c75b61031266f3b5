"""Configuration: the property table, parsing/validation, and the cross-property rules.

Typical use by a client::

    conf = Conf.from_dict(user_dict, "producer")   # raises KafkaException/TypeError like confluent-kafka
    settings = conf.finalize("producer")           # raises "Failed to create producer: ..."
    linger_s = settings.get_float("linger.ms") / 1000.0
    for line in settings.warnings: log.warning(line)
"""

from rdpy.config.conf import ClientType, Conf, Settings, TopicConf, TopicSettings, invalid_arg
from rdpy.config.properties import PROPERTIES, Level, Property, Type

__all__ = [
    "ClientType",
    "Conf",
    "Settings",
    "TopicConf",
    "TopicSettings",
    "invalid_arg",
    "PROPERTIES",
    "Level",
    "Property",
    "Type",
]
