"""Configuration objects: `Conf` (global + default topic), `TopicConf`, and the frozen `Settings`.

Setting behaves as librdkafka's rd_kafka_conf_set(): unknown names, bad values and out-of-range
numbers raise `KafkaException(KafkaError(_INVALID_ARG, <librdkafka's errstr>))`; an alias is
reported by its canonical name; topic-level names set on a `Conf` go to its default topic
configuration.  `Conf.from_dict()` adds confluent-kafka-python's handling of Python callbacks
(`error_cb`, `on_delivery`, ...) and `default.topic.config`.

`Conf.finalize(client_type)` runs the cross-property rules (rules.py) on a copy and returns a
frozen, typed `Settings` for the client to read once at creation (no parsing on the hot path).

Thread ownership: a `Conf` belongs to the thread building it; `Settings` is immutable and may be
read from any thread without a lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from rdpy.config import rules
from rdpy.config.parse import UNSET, ConfError, default_value, format_value, parse
from rdpy.config.properties import (
    GLOBAL_PROPERTIES,
    PROPERTIES,
    TOPIC_PROPERTIES,
    Level,
    Property,
    Type,
    unknown_property_hint,
)
from rdpy.errors import ErrorCode, KafkaError, KafkaException

__all__ = ["CLIENT_TYPES", "ClientType", "Conf", "TopicConf", "Settings", "TopicSettings", "REDACTED",
           "invalid_arg"]

#: The kind of client a configuration is for: the one client type of the package (the
#: statistics schema, above this layer, imports it; its "type" field writes these strings).
ClientType = Literal["producer", "consumer", "admin"]
CLIENT_TYPES: tuple[ClientType, ...] = get_args(ClientType)

REDACTED = "[redacted]"


def invalid_arg(message: str) -> KafkaException:
    """The KafkaException librdkafka-based clients raise for a configuration error."""
    return KafkaException(KafkaError(ErrorCode._INVALID_ARG, message))


def _no_such(name: str) -> KafkaException:
    """librdkafka's error for an unknown name, text unchanged up to the closing quote (code
    that matches on it keeps working), then rdpy's hint when the name is another client's."""
    msg = f'No such configuration property: "{name}"'
    hint = unknown_property_hint(name)
    if hint is not None:
        msg += f" {hint}"
    return invalid_arg(msg)


def _defaults(level: Level) -> dict[str, object]:
    return {p.name: default_value(p) for p in PROPERTIES if p.level is level and p.type is not Type.INVALID}


_GLOBAL_DEFAULTS = _defaults(Level.GLOBAL)
_TOPIC_DEFAULTS = _defaults(Level.TOPIC)


class _AnyConf:
    """Values of one level, keyed by canonical name, plus which ones the user set."""

    _level: Level
    _table: Mapping[str, Property]

    def __init__(self) -> None:
        self._values: dict[str, object] = dict(
            _GLOBAL_DEFAULTS if self._level is Level.GLOBAL else _TOPIC_DEFAULTS
        )
        self._modified: set[str] = set()

    def _set_prop(self, prop: Property, value: str | None) -> None:
        try:
            typed = parse(prop, value, self._values.get(prop.name))
        except ConfError as e:
            raise invalid_arg(str(e)) from None
        if typed is UNSET:
            return
        self._values[prop.name] = typed
        self._modified.add(prop.name)

    def _get_prop(self, prop: Property) -> str | None:
        return format_value(prop, self._values.get(prop.name))

    def is_modified(self, name: str) -> bool:
        """True if the user set `name` (or one of its aliases)."""
        prop = self._table.get(name)
        if prop is None:
            raise KeyError(name)
        return prop.name in self._modified

    def _dump(self, redact: bool, only_modified: bool) -> list[tuple[str, str]]:
        out = []
        for prop in PROPERTIES:
            if prop.level is not self._level or prop.type is Type.INVALID:
                continue
            if only_modified and prop.name not in self._modified:
                continue
            if redact and prop.sensitive:
                out.append((prop.name, REDACTED))
                continue
            v = self._get_prop(prop)
            if v is not None:
                out.append((prop.name, v))
        return out

    def dump(self, redact: bool = True) -> list[tuple[str, str]]:
        """(name, value) for every property with a value, like rd_kafka_conf_dump().

        Sensitive values read as "[redacted]" unless `redact=False`.
        """
        return self._dump(redact, only_modified=False)

    def dump_modified(self) -> list[tuple[str, str]]:
        """The properties the user set, secrets redacted (what debug=conf logs)."""
        return self._dump(True, only_modified=True)

    def _copy_into(self, other: _AnyConf) -> None:
        other._values = dict(self._values)
        other._modified = set(self._modified)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.dump_modified())
        return f"{type(self).__name__}({items})"


class TopicConf(_AnyConf):
    """Topic-level configuration (rd_kafka_topic_conf_t)."""

    _level = Level.TOPIC
    _table = TOPIC_PROPERTIES

    def set(self, name: str, value: str | None) -> None:
        """rd_kafka_topic_conf_set(): a leading "topic." is ignored."""
        if name.startswith("topic."):
            name = name[len("topic.") :]
        prop = TOPIC_PROPERTIES.get(name)
        if prop is None:
            raise _no_such(name)
        self._set_prop(prop, value)

    def get(self, name: str) -> str | None:
        """The value as a string (rd_kafka_topic_conf_get()); None if unset."""
        prop = TOPIC_PROPERTIES.get(name)
        if prop is None:
            raise _no_such(name)
        return self._get_prop(prop)

    def copy(self) -> TopicConf:
        new = TopicConf()
        self._copy_into(new)
        return new


class Conf(_AnyConf):
    """Global configuration with its default topic configuration (rd_kafka_conf_t).

    `callbacks` holds the Python callables confluent-kafka-python handles itself
    (error_cb, stats_cb, throttle_cb, oauth_cb, logger, on_delivery, on_commit).
    """

    _level = Level.GLOBAL
    _table = GLOBAL_PROPERTIES

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self.topic_conf = TopicConf()
        self.callbacks: dict[str, object] = {}
        self.default_topic_conf_overwritten = False
        # librdkafka creates the default topic conf lazily (first topic-level set); its
        # finalize rules run only when it exists.
        self.has_topic_conf = False
        if values is not None:
            for k, v in values.items():
                self.set(k, None if v is None else str(v))

    # -- librdkafka API -------------------------------------------------------------------

    def set(self, name: str, value: str | None) -> None:
        """rd_kafka_conf_set(): global property, else a topic property of the default topic conf."""
        prop = GLOBAL_PROPERTIES.get(name)
        if prop is not None:
            self._set_prop(prop, value)
        else:
            self.has_topic_conf = True
            self.topic_conf.set(name, value)

    def get(self, name: str) -> str | None:
        """The value as a string (rd_kafka_conf_get()); None if unset."""
        prop = GLOBAL_PROPERTIES.get(name)
        if prop is not None:
            return self._get_prop(prop)
        return self.topic_conf.get(name)

    def set_pointer(self, name: str, obj: object) -> None:
        """The dedicated setters (rd_kafka_conf_set_error_cb() & co.) for POINTER properties."""
        prop = GLOBAL_PROPERTIES.get(name) or TOPIC_PROPERTIES.get(name)
        if prop is None or prop.type is not Type.POINTER:
            raise KeyError(name)
        target: _AnyConf = self if prop.level is Level.GLOBAL else self.topic_conf
        target._values[prop.name] = obj
        target._modified.add(prop.name)

    def set_default_topic_conf(self, tconf: TopicConf) -> None:
        """rd_kafka_conf_set_default_topic_conf(): replaces (and warns about) topic settings made so far."""
        if self.topic_conf._modified:
            self.default_topic_conf_overwritten = True
        self.topic_conf = tconf.copy()
        self.has_topic_conf = True

    def copy(self) -> Conf:
        new = Conf()
        self._copy_into(new)
        new.topic_conf = self.topic_conf.copy()
        new.callbacks = dict(self.callbacks)
        new.default_topic_conf_overwritten = self.default_topic_conf_overwritten
        new.has_topic_conf = self.has_topic_conf
        return new

    def __repr__(self) -> str:
        items = [f"{k}={v!r}" for k, v in self.dump_modified()]
        items += [f"{k}={v!r}" for k, v in self.topic_conf.dump_modified()]
        items += [f"{k}=<callback>" for k in self.callbacks]
        return f"Conf({', '.join(items)})"

    # -- confluent-kafka-python API ---------------------------------------------------------

    @classmethod
    def from_dict(cls, config: object, client_type: ClientType) -> Conf:
        """Build a Conf from a confluent-kafka-python configuration dict.

        Values are converted with str() (None unsets, so True becomes "True", which librdkafka
        accepts for booleans).  Python-only keys follow confluent-kafka-python 2.16 exactly,
        including its exception types.
        """
        if not isinstance(config, Mapping):
            raise TypeError("expected configuration dict")
        conf = cls()
        for key, value in config.items():
            name = str(key)
            if name == "default.topic.config":
                if not isinstance(value, Mapping):
                    raise invalid_arg("default.topic.config: requires a dict")
                conf.has_topic_conf = True
                for tk, tv in value.items():
                    conf.topic_conf.set(str(tk), None if tv is None else str(tv))
                continue
            if name in ("error_cb", "stats_cb", "oauth_cb", "throttle_cb"):
                if not callable(value):
                    exc = ValueError if name == "throttle_cb" else TypeError
                    raise exc(f"expected {name} property as a callable function")
                conf.callbacks[name] = value
                continue
            if name == "logger":
                if value is None:
                    conf.callbacks.pop("logger", None)
                else:
                    conf.callbacks["logger"] = value
                continue
            if client_type == "producer":
                if name == "partitioner" and callable(value):
                    # rdpy extension (confluent-kafka refuses callables here): a Python
                    # partitioner(key, partition_count) -> partition, always called on the
                    # application's thread, from produce() or poll()/flush().
                    conf.callbacks["partitioner"] = value
                    continue
                if name.lower() == "on_delivery":
                    if not callable(value):
                        raise invalid_arg(f"{name} requires a callable object")
                    conf.callbacks["on_delivery"] = value
                    continue
                if name == "delivery.report.only.error":
                    if not isinstance(value, bool):
                        raise TypeError(f"Expected {name} to be bool type, not {type(value).__name__}")
                    conf.set(name, "true" if value else "false")
                    continue
            elif client_type == "consumer" and name.lower() == "on_commit":
                if not callable(value):
                    raise invalid_arg(f"{name} requires a callable object")
                conf.callbacks["on_commit"] = value
                continue
            conf.set(name, None if value is None else str(value))
        return conf

    # -- client creation --------------------------------------------------------------------

    def finalize(self, client_type: ClientType) -> Settings:
        """Check cross-property rules and resolve adjusted values into a frozen Settings.

        Raises KafkaException(_INVALID_ARG, "Failed to create producer: <rule text>") like
        rd_kafka_new().  `Settings.warnings` holds the CONFWARN lines librdkafka would log.
        """
        work = self.copy()
        error = rules.finalize(work, client_type)
        if error is not None:
            kind = "consumer" if client_type == "consumer" else "producer"
            raise invalid_arg(f"Failed to create {kind}: {error}")
        warnings = rules.warnings(work, client_type)
        return Settings(work, client_type, warnings)


class _FrozenValues:
    """Typed read-only access to one level's values; names may be aliases."""

    __slots__ = ("_values", "_modified", "_table")

    def __init__(self, values: dict[str, object], modified: Iterable[str], table: Mapping[str, Property]):
        self._values = values
        self._modified = frozenset(modified)
        self._table = table

    def _typed(self, name: str, t: Type) -> object:
        prop = self._table.get(name)
        if prop is None:
            raise KeyError(name)
        if prop.type is not t:
            raise TypeError(f"{prop.name} is {prop.type.value}, not {t.value}")
        return self._values.get(prop.name)

    def get_int(self, name: str) -> int:
        v = self._typed(name, Type.INT)
        assert isinstance(v, int)
        return v

    def get_float(self, name: str) -> float:
        v = self._typed(name, Type.FLOAT)
        assert isinstance(v, float)
        return v

    def get_bool(self, name: str) -> bool:
        v = self._typed(name, Type.BOOL)
        assert isinstance(v, bool)
        return v

    def get_str(self, name: str) -> str | None:
        v = self._typed(name, Type.STRING)
        assert v is None or isinstance(v, str)
        return v

    def get_enum(self, name: str) -> str:
        """The canonical choice name (first synonym: auto.offset.reset=earliest -> "smallest")."""
        prop = self._table[name]
        v = self._typed(name, Type.ENUM)
        s = format_value(prop, v)
        assert s is not None
        return s

    def get_flags(self, name: str) -> frozenset[str]:
        prop = self._table[name]
        v = self._typed(name, Type.FLAGS)
        assert isinstance(v, int)
        return frozenset(n for n, bit in prop.choices if v & bit == bit)

    def get_patterns(self, name: str) -> tuple[re.Pattern[str], ...]:
        v = self._typed(name, Type.PATTERNS)
        assert v is None or isinstance(v, str)
        return tuple(re.compile(p) for p in v.split(",")) if v else ()

    def get_pointer(self, name: str) -> object:
        return self._typed(name, Type.POINTER)

    def is_modified(self, name: str) -> bool:
        return self._table[name].name in self._modified

    def get(self, name: str) -> str | None:
        """The value as librdkafka's conf_get() string."""
        prop = self._table[name]
        return format_value(prop, self._values.get(prop.name))


class TopicSettings(_FrozenValues):
    """Frozen typed topic-level settings."""


class Settings(_FrozenValues):
    """Frozen typed settings of a created client: read once, never re-parsed.

    `settings.get_int("linger.ms")` and friends take canonical names or aliases and check the type;
    `settings.topic` has the default topic configuration; `settings.callbacks` the Python
    callables; `settings.warnings` the CONFWARN lines to log at creation.
    """

    __slots__ = ("topic", "callbacks", "warnings", "client_type", "_conf")

    def __init__(self, conf: Conf, client_type: ClientType, warnings: list[str]):
        super().__init__(dict(conf._values), conf._modified, GLOBAL_PROPERTIES)
        self.topic = TopicSettings(dict(conf.topic_conf._values), conf.topic_conf._modified, TOPIC_PROPERTIES)
        self.callbacks: Mapping[str, object] = dict(conf.callbacks)
        self.warnings: tuple[str, ...] = tuple(warnings)
        self.client_type: ClientType = client_type
        self._conf = conf.copy()

    def conf(self) -> Conf:
        """A mutable copy of the finalized configuration (e.g. for topic objects)."""
        return self._conf.copy()

    def __repr__(self) -> str:
        return f"Settings({self.client_type}, {self._conf!r})"
