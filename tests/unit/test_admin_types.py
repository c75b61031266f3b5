"""rdpy.admin's configuration and resource types against confluent_kafka.admin's, side by side,
and the share consumers' refusal (KIP-932 is not implemented yet).

Every expectation is what confluent-kafka does with the same calls: the values, reprs, order,
hashing, errors and the exported constants.
"""

from __future__ import annotations

from typing import Any

import pytest

import rdpy.admin as ra
from rdpy.errors import ErrorCode, KafkaException
from rdpy.share_consumer import DeserializingShareConsumer, ShareConsumer

ca = pytest.importorskip("confluent_kafka.admin")
ck = pytest.importorskip("confluent_kafka")

ENUMS = ["AlterConfigOpType", "ConfigSource", "ResourceType", "ResourcePatternType"]
CONSTANTS = ["CONFIG_SOURCE_DEFAULT_CONFIG", "CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG",
             "CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG", "CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG",
             "CONFIG_SOURCE_GROUP_CONFIG", "CONFIG_SOURCE_STATIC_BROKER_CONFIG",
             "CONFIG_SOURCE_UNKNOWN_CONFIG", "RESOURCE_ANY", "RESOURCE_BROKER", "RESOURCE_GROUP",
             "RESOURCE_TOPIC", "RESOURCE_TRANSACTIONAL_ID", "RESOURCE_UNKNOWN"]
#: Exported by confluent_kafka.cimpl only (rdpy.admin exports them too).
CIMPL_CONSTANTS = ["ALTER_CONFIG_OP_TYPE_SET", "ALTER_CONFIG_OP_TYPE_DELETE",
                   "ALTER_CONFIG_OP_TYPE_APPEND", "ALTER_CONFIG_OP_TYPE_SUBTRACT",
                   "RESOURCE_PATTERN_UNKNOWN", "RESOURCE_PATTERN_ANY", "RESOURCE_PATTERN_MATCH",
                   "RESOURCE_PATTERN_LITERAL", "RESOURCE_PATTERN_PREFIXED"]


@pytest.mark.parametrize("name", ENUMS)
def test_enums_have_confluents_members_and_numbers(name: str) -> None:
    ours, theirs = getattr(ra, name), getattr(ca, name)
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]
    assert [str(m) for m in ours] == [str(m) for m in theirs]


def test_constants() -> None:
    for name in CONSTANTS:
        assert getattr(ra, name) == getattr(ca, name), name
    for name in CIMPL_CONSTANTS:
        assert getattr(ra, name) == getattr(ck.cimpl, name), name


def test_resource_types_order_by_value() -> None:
    assert sorted(ra.ResourceType, reverse=True) == [ra.ResourceType(m.value) for m in sorted(ca.ResourceType, reverse=True)]
    assert ra.ResourceType.TOPIC < ra.ResourceType.BROKER
    assert ra.ResourcePatternType.LITERAL < ra.ResourcePatternType.PREFIXED


def _both(fn: Any) -> tuple[Any, Any]:
    """fn(module) for rdpy.admin and confluent_kafka.admin: the result or the exception."""
    out = []
    for mod in (ra, ca):
        try:
            out.append(fn(mod))
        except Exception as e:  # noqa: BLE001 - the exception is the result compared
            out.append((type(e), str(e)))
    return out[0], out[1]


@pytest.mark.parametrize("restype", ["topic", "BROKER", "Group", 2, 4, "nope", 42])
def test_config_resource_type_argument(restype: object) -> None:
    ours, theirs = _both(lambda m: m.ConfigResource(restype, "x"))
    if isinstance(theirs, tuple):
        assert ours == theirs
    else:
        assert (ours.restype.name, ours.restype_int, repr(ours)) == (
            theirs.restype.name, theirs.restype_int, repr(theirs))
        assert ours.Type is ra.ResourceType and ours.configs is None and ours.error is None


def test_config_resource_name_is_required() -> None:
    ours, theirs = _both(lambda m: m.ConfigResource("topic", None))
    assert ours == theirs == (ValueError, "Expected resource name to be a string")


def test_config_resource_set_config_and_incremental() -> None:
    def build(m: Any) -> Any:
        src = {"a": "1"}
        r = m.ConfigResource(m.ResourceType.TOPIC, "t", set_config=src)
        src["b"] = "2"  # the resource keeps a copy
        r.set_config("c", "3")
        r.set_config("a", "9", overwrite=False)
        r.set_config("c", "4")
        r.add_incremental_config(m.ConfigEntry("retention.ms", "1", incremental_operation=m.AlterConfigOpType.SET))
        r.add_incremental_config(m.ConfigEntry("cleanup.policy", None, incremental_operation=m.AlterConfigOpType.DELETE))
        return (r.set_config_dict, len(r), [(e.name, e.value, e.incremental_operation.name) for e in r.incremental_configs])

    ours, theirs = _both(build)
    assert ours == theirs == ({"a": "1", "c": "4"}, 2, [("retention.ms", "1", "SET"), ("cleanup.policy", None, "DELETE")])


def test_config_resource_equality_hash_order_repr() -> None:
    def build(m: Any) -> Any:
        T = m.ResourceType
        rs = [m.ConfigResource(T.BROKER, "1"), m.ConfigResource(T.TOPIC, "b"), m.ConfigResource(T.TOPIC, "a"),
              m.ConfigResource(T.GROUP, "a"), m.ConfigResource("topic", "a")]
        err = m.ConfigResource(T.TOPIC, "e", error=ck.KafkaError(ck.KafkaError.UNKNOWN_TOPIC_OR_PART))
        return ([repr(r) for r in sorted(rs)], rs[2] == rs[4], hash(rs[2]) == hash(rs[4]), rs[2] == rs[3],
                len(set(rs)), rs[0] == "x", repr(err).split(",")[:2])

    ours, theirs = _both(build)
    assert ours == theirs


def test_config_entry() -> None:
    def build(m: Any) -> Any:
        syn = m.ConfigEntry("log.retention.ms", "5", source=m.ConfigSource.STATIC_BROKER_CONFIG, is_synonym=1)
        e = m.ConfigEntry("retention.ms", "5", m.ConfigSource.DYNAMIC_TOPIC_CONFIG, is_read_only=1, is_default=0,
                          is_sensitive=0, synonyms={"log.retention.ms": syn})
        d = m.ConfigEntry("x", None)
        return (repr(e), str(e), repr(d), e.source.name, e.is_read_only, e.is_default, e.is_sensitive,
                e.is_synonym, syn.is_synonym, list(e.synonyms), e.incremental_operation,
                d.source.name, d.synonyms, d.incremental_operation)

    ours, theirs = _both(build)
    assert ours == theirs
    assert ours[0] == 'ConfigEntry(retention.ms="5")'


def test_config_entries_do_not_share_default_synonyms() -> None:
    a, b = ra.ConfigEntry("a", "1"), ra.ConfigEntry("b", "2")
    a.synonyms["x"] = b
    assert b.synonyms == {}


# --- share consumers ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ShareConsumer, DeserializingShareConsumer])
def test_share_consumer_refuses_as_not_implemented(cls: type[ShareConsumer]) -> None:
    with pytest.raises(KafkaException) as ei:
        config: dict[str, Any] = {"group.id": "g", "bootstrap.servers": "127.0.0.1:1"}
        if cls is DeserializingShareConsumer:
            config["key.deserializer"] = print
        cls(config)
    err = ei.value.args[0]
    assert err.code() == ErrorCode._NOT_IMPLEMENTED
    assert "share" in err.str() and "KIP-932" in err.str() and "not implement" in err.str()


@pytest.mark.parametrize("args", [(), (None,), ("x",), ({},), ({"group.id": "g", "bootstrap_servers": "x"},)])
def test_share_consumer_checks_configuration_as_confluent(args: tuple[Any, ...]) -> None:
    """Configuration mistakes fail first, with confluent-kafka's exception and text (rdpy may
    only append its hint)."""
    results = []
    for cls in (ShareConsumer, ck.ShareConsumer):
        with pytest.raises(Exception) as ei:
            cls(*args)  # no `**{}`: confluent's C type would take an empty dict as the config
        results.append(ei.value)
    ours, theirs = results
    assert type(ours).__name__ == type(theirs).__name__
    if isinstance(theirs, ck.KafkaException):
        assert ours.args[0].code() == theirs.args[0].code()
        assert ours.args[0].str().startswith(theirs.args[0].str())
    else:
        assert str(ours) == str(theirs)
