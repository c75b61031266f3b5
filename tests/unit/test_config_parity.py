"""rdpy's configuration table and parser against the librdkafka bundled with confluent-kafka.

Every expectation here is read from the real library at test time (ctypes), so these tests prove
parity rather than restate rdpy's own strings.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import _config_librdkafka as lr  # noqa: E402

from rdpy.config import Conf, Level, PROPERTIES, Type  # noqa: E402
from rdpy.config.parse import default_value, format_value  # noqa: E402
from rdpy.config.properties import GLOBAL_PROPERTIES, TOPIC_PROPERTIES  # noqa: E402
from rdpy.errors import ErrorCode, KafkaException  # noqa: E402

pytestmark = pytest.mark.skipif(not lr.available(), reason="confluent-kafka's librdkafka not installed")

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "librdkafka_properties.txt")


def _listed() -> list[tuple[str, str]]:
    out, level = [], "global"
    for line in open(DATA):
        line = line.strip()
        if line == "# topic":
            level = "topic"
        elif line and not line.startswith("#"):
            out.append((level, line))
    return out


def test_every_documented_property_is_known() -> None:
    listed = _listed()
    assert len(listed) > 190
    for level, name in listed:
        table = GLOBAL_PROPERTIES if level == "global" else TOPIC_PROPERTIES
        assert name in table, (level, name)


def test_data_file_matches_bundled_librdkafka() -> None:
    show = lr.show_table()
    assert sorted(show) == sorted(_listed())


def _lr_level(p_level: Level) -> str:
    return "global" if p_level is Level.GLOBAL else "topic"


@pytest.mark.parametrize("prop", [p for p in PROPERTIES if not p.hidden and p.type is not Type.INVALID], ids=lambda p: f"{p.level.value}:{p.name}")
def test_scope_range_importance_match(prop) -> None:  # type: ignore[no-untyped-def]
    show = lr.show_table()
    cp, rng, _default, importance = show[(_lr_level(prop.level), prop.name)]
    assert cp == prop.scope
    assert importance == prop.importance
    if prop.type is Type.INT:
        assert rng == f"{prop.vmin} .. {prop.vmax}"
    elif prop.type is Type.FLOAT:
        assert rng == "%g .. %g" % (prop.vmin, prop.vmax)
    elif prop.type is Type.BOOL:
        assert rng == "true, false"
    elif prop.type is Type.ENUM or (prop.type is Type.FLAGS and prop.name != "builtin.features"):
        assert rng == ", ".join(n for n, _ in prop.choices)
    for alias in prop.aliases:
        # (properties_show() prints topic compression.type with the global codec's range.)
        assert show[(_lr_level(prop.level), alias)][0] == cp


def test_defaults_match_conf_dump() -> None:
    lib_defaults = {"global": lr.defaults(), "topic": lr.defaults(topic=True)}
    checked = 0
    for p in PROPERTIES:
        if p.type in (Type.POINTER, Type.INTERNAL, Type.INVALID):
            continue
        ours = format_value(p, default_value(p))
        theirs = lib_defaults[_lr_level(p.level)].get(p.name)
        if p.differs_from_librdkafka:
            continue
        assert ours == theirs or (ours in (None, "") and theirs in (None, "")), (p.name, ours, theirs)
        checked += 1
    assert checked > 150


def _bad_values(p) -> list[str | None]:  # type: ignore[no-untyped-def]
    t = p.type
    if t is Type.INT:
        return ["abc", str(p.vmin - 1), str(p.vmax + 1), "", None, "0x10", " 5", "5 ", "1.5", "010", "99999999999999", "all", "ALL"]
    if t is Type.FLOAT:
        return ["abc", "-1", "1e9", "", "5.5", " 3", "0x10", "inf", "1e2"]
    if t is Type.BOOL:
        return ["x", "yes", "on", "TRUE", "t", "F", "1", "0", "", None]
    if t in (Type.ENUM, Type.FLAGS):
        vals = ["bogus", "", " ", ","] + [n.upper() for n, _ in p.choices] + [" " + p.choices[0][0], p.choices[0][0] + " "]
        if t is Type.FLAGS and len(p.choices) > 2:
            a, b = p.choices[0][0], p.choices[1][0]
            vals += [f"{a},{b}", f"{a}, {b}", f"{a} ,{b}", f"{a},,{b}", f"+{a},-{a}", f"{a},bogus"]
        return vals
    if t is Type.STRING:
        return ["  padded", "", "x,y", "a b", "murmur2_random", "bogus"]
    if t is Type.PATTERNS:
        return ["^foo.*", "a,b"]
    return ["x", ""]


def _cases() -> list[tuple[str, str, str | None]]:
    out = []
    for p in PROPERTIES:
        if p.unsupported or p.differs_from_librdkafka or p.hidden and p.type is Type.POINTER:
            continue
        level = "topic" if p.level is Level.TOPIC else "global"
        for name in (p.name, *p.aliases):
            for v in _bad_values(p):
                out.append((level, name, v))
    return out


@pytest.mark.parametrize("level,name,value", _cases())
def test_set_matches_librdkafka(level: str, name: str, value: str | None) -> None:
    """rd_kafka_conf_set() and Conf.set(): same accept/reject, same errstr, same value after."""
    topic = level == "topic"
    err, dump = lr.conf_set([(name, value)], topic=topic)
    conf = Conf()
    target = conf.topic_conf if topic else conf
    try:
        target.set(name, value)
        ours = None
    except KafkaException as e:
        assert e.args[0].code() == ErrorCode._INVALID_ARG
        ours = e.args[0].str()
    assert ours == err
    if err is None:
        prop = (TOPIC_PROPERTIES if topic else GLOBAL_PROPERTIES)[name]
        key = prop.name if topic or prop.level is Level.GLOBAL else "topic:" + prop.name
        theirs = dump.get(key)
        mine = target.get(name)
        if prop.type is Type.POINTER:
            return
        assert (mine or "") == (theirs or ""), (name, value, mine, theirs)


@pytest.mark.parametrize(
    "items",
    [
        [("debug", "broker"), ("debug", "topic")],
        [("debug", "all"), ("debug", "-broker")],
        [("debug", "broker,topic"), ("debug", "-broker,msg")],
        [("acks", "all")],
        [("topic.acks", "1")],
        [("topic.foo", "1")],
        [("compression.type", "gzip")],
        [("auto.offset.reset", "earliest")],
        [("enable.auto.commit", "false")],
        [("auto.commit.interval.ms", "5")],
        [("client.id", "")],
        [("linger.ms", "100"), ("linger.ms", "")],
        [("sasl.mechanism", "PLAIN")],
        [("sasl.mechanisms", "PLAIN,SCRAM-SHA-256")],
        [("max.partition.fetch.bytes", "0")],
        [("delivery.timeout.ms", "-5")],
        [("message.timeout.ms", "5000")],
        [("ssl.truststore.location", "x")],
        [("sasl.jaas.config", "x")],
        [("interceptors", "x")],
        [("ssl_key", "x")],
        [("opaque", "x")],
        [("error_cb", "x")],
        [("test.mock.num.brokers", "3")],
        [("client.software.version", "1.0")],
        [("ssl.ca.certificate.stores", "Root")],
        [("ssl.keystore.password", "x")],
        [("sasl.oauthbearer.client.credentials.client.secret", "s")],
    ],
    ids=lambda items: ";".join(f"{k}={v}" for k, v in items),
)
def test_sequences_match_librdkafka(items: list[tuple[str, str | None]]) -> None:
    err, dump = lr.conf_set(items)
    conf = Conf()
    ours = None
    for k, v in items:
        try:
            conf.set(k, v)
        except KafkaException as e:
            ours = e.args[0].str()
            break
    assert ours == err
    if err is None:
        mine = {k: v for k, v in conf.dump(redact=False)}
        mine.update({"topic:" + k: v for k, v in conf.topic_conf.dump(redact=False)} if conf.has_topic_conf else {})
        for k, v in dump.items():
            name = k.split(":", 1)[-1]
            prop = (TOPIC_PROPERTIES if k.startswith("topic:") else GLOBAL_PROPERTIES)[name]
            if prop.type is Type.POINTER or prop.differs_from_librdkafka:
                continue
            assert mine.get(k, "") == (v or ""), k
