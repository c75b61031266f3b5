"""Conf API: confluent-kafka-python dict handling (checked against confluent_kafka itself),
redaction, typed settings, Java-client hints, docs freshness."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rdpy.config import Conf
from rdpy.errors import ErrorCode, KafkaException

ck = pytest.importorskip("confluent_kafka")


def _outcome(fn):  # type: ignore[no-untyped-def]
    try:
        fn()
    except KafkaException as e:  # rdpy
        return ("KafkaException", e.args[0].code(), e.args[0].str())
    except ck.KafkaException as e:  # confluent
        return ("KafkaException", e.args[0].code(), e.args[0].str())
    except (TypeError, ValueError) as e:
        return (type(e).__name__, None, str(e))
    return None


DICT_CASES = [
    ("producer", {"error_cb": "x"}),
    ("producer", {"error_cb": None}),
    ("producer", {"stats_cb": 5}),
    ("producer", {"throttle_cb": "x"}),
    ("producer", {"oauth_cb": "x"}),
    ("producer", {"logger": "anything"}),
    ("producer", {"on_delivery": "x"}),
    ("producer", {"on_delivery": print}),
    ("producer", {"delivery.report.only.error": "x"}),
    ("producer", {"delivery.report.only.error": True}),
    ("producer", {"dr_msg_cb": "x"}),
    ("producer", {"linger.ms": True}),
    ("producer", {"linger.ms": None}),
    ("producer", {"linger.ms": 5.5}),
    ("producer", {"enable.idempotence": True}),
    ("producer", {"batch.num.messages": 0}),
    ("producer", {1: 2}),
    ("producer", {"topic.foo": 1}),
    ("producer", {"default.topic.config": {"acks": "x"}}),
    ("producer", {"default.topic.config": {"acks": 1}}),
    ("producer", {"enable.idempotence": True, "acks": 1}),
    ("producer", {"enable.idempotence": True, "default.topic.config": {"acks": 1}}),
    ("producer", {"transactional.id": "t", "enable.idempotence": False}),
    ("consumer", {"group.id": "g", "on_commit": "x"}),
    ("consumer", {"group.id": "g", "on_delivery": "x"}),
    ("consumer", {"group.id": "g", "max.poll.interval.ms": 10}),
]


@pytest.mark.parametrize("client_type,config", DICT_CASES, ids=repr)
def test_from_dict_matches_confluent_kafka(client_type: str, config: dict) -> None:  # type: ignore[type-arg]
    cls = ck.Producer if client_type == "producer" else ck.Consumer
    theirs = _outcome(lambda: cls(dict(config)))
    ours = _outcome(lambda: Conf.from_dict(dict(config), client_type).finalize(client_type))  # type: ignore[arg-type]
    assert ours == theirs


def test_secrets_are_redacted() -> None:
    conf = Conf.from_dict(
        {"sasl.password": "hunter2", "sasl.username": "u", "ssl.key.pem": "PEM", "sasl.oauthbearer.client.credentials.client.secret": "s3"},
        "producer",
    )
    for text in (repr(conf), str(conf.dump()), str(conf.dump_modified()), repr(conf.finalize("producer"))):
        for secret in ("hunter2", "PEM", "s3"):
            assert secret not in text
        assert "[redacted]" in text
    assert conf.get("sasl.password") == "hunter2"  # get() is for the application and returns the value


def test_typed_settings() -> None:
    s = Conf.from_dict(
        {"linger.ms": 20, "acks": "all", "debug": "broker,msg", "compression.type": "LZ4", "auto.offset.reset": "earliest",
         "enable.idempotence": "t", "topic.blacklist": "^_.*,internal", "client.id": "  me", "error_cb": print},
        "producer",
    ).finalize("producer")
    assert s.get_float("linger.ms") == 20.0 and s.get_float("queue.buffering.max.ms") == 20.0
    assert s.topic.get_int("acks") == -1
    assert s.get_flags("debug") == {"broker", "msg"}
    assert s.get_enum("compression.codec") == "lz4"
    assert s.topic.get_enum("auto.offset.reset") == "smallest"
    assert s.get_bool("enable.idempotence") and s.get_int("max.in.flight") == 5
    assert [p.pattern for p in s.get_patterns("topic.blacklist")] == ["^_.*", "internal"]
    assert s.get_str("client.id") == "me"
    assert s.callbacks["error_cb"] is print
    assert s.is_modified("linger.ms") and not s.is_modified("batch.size")
    with pytest.raises(TypeError):
        s.get_int("linger.ms")
    with pytest.raises(KeyError):
        s.get_int("no.such")


@pytest.mark.parametrize("name", ["key.serializer", "value.deserializer", "ssl.keystore.type", "ssl.truststore.password"])
def test_java_names_get_advice(name: str) -> None:
    with pytest.raises(KafkaException) as ei:
        Conf().set(name, "x")
    err = ei.value.args[0]
    assert err.code() == ErrorCode._INVALID_ARG
    assert err.str().startswith(f'No such configuration property: "{name}" (Java client property: ')


@pytest.mark.parametrize("name", ["plugin.library.paths", "ssl.engine.location", "ssl.engine.id", "ssl.providers"])
def test_unsupported_properties_raise(name: str) -> None:
    with pytest.raises(KafkaException) as ei:
        Conf().set(name, "x")
    assert ei.value.args[0].code() == ErrorCode._INVALID_ARG
    assert f'Configuration property "{name}" not supported in this build: rdpy' in ei.value.args[0].str()


def test_configuration_md_is_fresh() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_docs.py"), "--check"], capture_output=True)
    assert r.returncode == 0, r.stderr
