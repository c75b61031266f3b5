"""Cross-property rules checked when a client is created.

A port of librdkafka 2.16's rd_kafka_conf_finalize() / rd_kafka_topic_conf_finalize() and the
configuration checks rd_kafka_new() makes, in the same order, with the same error texts.  Each
rule is a small function on the working copy of the `Conf`: it returns an error text (the client
raises `Failed to create producer: <text>`) or None, and may adjust values the user did not set
(idempotence forcing acks=all, linger.ms staying below message.timeout.ms, ...).

`warnings()` returns the CONFWARN lines librdkafka logs at creation (rd_kafka_conf_warn()).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from rdpy._version import __version__
from rdpy.config.parse import format_value
from rdpy.config.properties import PROPERTIES, Level

if TYPE_CHECKING:
    # Types only: conf.py imports this module to run the rules in Conf.finalize(), so importing
    # conf.py at run time here would be a cycle. Annotations are strings (PEP 563).
    from rdpy.config.conf import ClientType, Conf, _AnyConf

__all__ = ["finalize", "warnings", "RULES", "TOPIC_RULES"]

IDEMP_MAX_INFLIGHT = 5
INT32_MAX = 2**31 - 1
_ASSIGNORS = {"range": "eager", "roundrobin": "eager", "cooperative-sticky": "cooperative"}


# -- helpers --------------------------------------------------------------------------------------


def _v(c: Conf, name: str) -> object:
    prop = c._table[name]
    return c._values.get(prop.name)


def _int(c: Conf, name: str) -> int:
    v = _v(c, name)
    assert isinstance(v, int)
    return v


def _str(c: Conf, name: str) -> str | None:
    v = _v(c, name)
    assert v is None or isinstance(v, str)
    return v


def _put(c: _AnyConf, name: str, value: object) -> None:
    """Adjust a value without marking it as set by the user."""
    c._values[c._table[name].name] = value


def _mod(c: Conf, name: str) -> bool:
    return c.is_modified(name)


def _t(c: Conf, name: str) -> object:
    tc = c.topic_conf
    return tc._values.get(tc._table[name].name)


def _tmod(c: Conf, name: str) -> bool:
    return c.topic_conf.is_modified(name)


def _idempotent(c: Conf) -> bool:
    return bool(_v(c, "enable.idempotence"))


def _is_oauthbearer(c: Conf) -> bool:
    return (_str(c, "sasl.mechanisms") or "").lower() == "oauthbearer"


def _oauth_refresh_cb(c: Conf) -> bool:
    return "oauth_cb" in c.callbacks or _v(c, "oauthbearer_token_refresh_cb") is not None


Rule = Callable[["Conf", "ClientType"], "str | None"]


# -- global rules (rd_kafka_conf_finalize) --------------------------------------------------------


def software_name_version(c: Conf, ct: ClientType) -> str | None:
    """KIP-511 client software name/version: default and sanitize to a-zA-Z0-9.- ."""
    if _str(c, "client.software.version") is None:
        _put(c, "client.software.version", __version__)
    for n in ("client.software.name", "client.software.version"):
        _put(c, n, _sanitize_sw(_str(c, n) or ""))
    return None


def _sanitize_sw(s: str) -> str:
    def ok(ch: str) -> bool:
        return ch.isascii() and ch.isalnum()

    i = 0
    while i < len(s) and not ok(s[i]):
        i += 1
    out = "".join(ch if ok(ch) or ch in "-." else "-" for ch in s[i:])
    while out and not ok(out[-1]):
        out = out[:-1]
    return out


def keystore_password(c: Conf, ct: ClientType) -> str | None:
    if _str(c, "ssl.keystore.location") and not _str(c, "ssl.keystore.password"):
        return "`ssl.keystore.password` is mandatory when `ssl.keystore.location` is set"
    return None


def https_ca(c: Conf, ct: ClientType) -> str | None:
    loc = _str(c, "https.ca.location")
    if loc and _str(c, "https.ca.pem"):
        return "`https.ca.location` and `https.ca.pem` are mutually exclusive"
    if loc and not os.path.exists(loc):
        return "`https.ca.location` must be an existing file or directory"
    return None


def oauthbearer(c: Conf, ct: ClientType) -> str | None:
    if not _is_oauthbearer(c):
        return None
    unsecure = bool(_v(c, "enable.sasl.oauthbearer.unsecure.jwt"))
    oidc = format_value(c._table["sasl.oauthbearer.method"], _v(c, "sasl.oauthbearer.method")) == "oidc"
    if unsecure and _oauth_refresh_cb(c):
        return "`enable.sasl.oauthbearer.unsecure.jwt` and `oauthbearer_token_refresh_cb` are mutually exclusive"
    if unsecure and oidc:
        return "`enable.sasl.oauthbearer.unsecure.jwt` and `sasl.oauthbearer.method=oidc` are mutually exclusive"
    if not oidc:
        return None
    meta = format_value(
        c._table["sasl.oauthbearer.metadata.authentication.type"], _v(c, "sasl.oauthbearer.metadata.authentication.type")
    )
    if not _str(c, "sasl.oauthbearer.token.endpoint.url"):
        if meta == "azure_imds":
            if "query=" not in (_str(c, "sasl.oauthbearer.config") or ""):
                return (
                    "`sasl.oauthbearer.token.endpoint.url` is mandatory for Azure IMDS authentication "
                    "when `query` isn't set"
                )
        elif meta == "none":
            return "`sasl.oauthbearer.token.endpoint.url` is mandatory when `sasl.oauthbearer.method=oidc` is set"
    if meta != "none":
        return None
    grant = format_value(c._table["sasl.oauthbearer.grant.type"], _v(c, "sasl.oauthbearer.grant.type"))
    if grant == "client_credentials":
        if not _str(c, "sasl.oauthbearer.client.id"):
            return "`sasl.oauthbearer.client.id` is mandatory when `sasl.oauthbearer.method=oidc` is set"
        if not _str(c, "sasl.oauthbearer.client.secret"):
            return "`sasl.oauthbearer.client.secret` is mandatory when `sasl.oauthbearer.method=oidc` is set"
    elif not (
        _str(c, "sasl.oauthbearer.assertion.file")
        or _str(c, "sasl.oauthbearer.assertion.private.key.file")
        or _str(c, "sasl.oauthbearer.assertion.private.key.pem")
    ):
        return (
            "`sasl.oauthbearer.assertion.private.key.file` or `sasl.oauthbearer.assertion.private.key.pem` "
            "is mandatory when `sasl.oauthbearer.grant.type` is set to "
            "`urn:ietf:params:oauth:grant-type:jwt-bearer`"
        )
    return None


def consumer_fetch_sizes(c: Conf, ct: ClientType) -> str | None:
    """fetch.max.bytes within [message.max.bytes, queued.max.messages.kbytes]; receive >= fetch + 512."""
    if ct != "consumer":
        return None
    if _mod(c, "fetch.max.bytes"):
        if _int(c, "fetch.max.bytes") < _int(c, "message.max.bytes"):
            return "`fetch.max.bytes` must be >= `message.max.bytes`"
    else:
        _put(
            c,
            "fetch.max.bytes",
            max(min(_int(c, "fetch.max.bytes"), _int(c, "queued.max.messages.kbytes") * 1024), _int(c, "message.max.bytes")),
        )
    if _mod(c, "receive.message.max.bytes"):
        if _int(c, "fetch.max.bytes") + 512 > _int(c, "receive.message.max.bytes"):
            return "`receive.message.max.bytes` must be >= `fetch.max.bytes` + 512"
    else:
        _put(c, "receive.message.max.bytes", max(_int(c, "receive.message.max.bytes"), _int(c, "fetch.max.bytes") + 512))
    return None


def consumer_poll_interval(c: Conf, ct: ClientType) -> str | None:
    if ct == "consumer" and _int(c, "max.poll.interval.ms") < _int(c, "session.timeout.ms"):
        return "`max.poll.interval.ms`must be >= `session.timeout.ms`"  # sic: librdkafka's text
    return None


def consumer_not_idempotent(c: Conf, ct: ClientType) -> str | None:
    if ct == "consumer":
        _put(c, "enable.idempotence", False)
    return None


def transactional(c: Conf, ct: ClientType) -> str | None:
    """transactional.id implies idempotence; socket.timeout.ms fits in transaction.timeout.ms."""
    if ct == "consumer" or not _str(c, "transactional.id"):
        return None
    if not _idempotent(c):
        if _mod(c, "enable.idempotence"):
            return "`transactional.id` requires `enable.idempotence=true`"
        _put(c, "enable.idempotence", True)
    txn = _int(c, "transaction.timeout.ms")
    if not _mod(c, "socket.timeout.ms"):
        _put(c, "socket.timeout.ms", max(txn - 100, 900))
    elif txn + 100 < _int(c, "socket.timeout.ms"):
        return "`socket.timeout.ms` must be set <= `transaction.timeout.ms` + 100"
    return None


def idempotence(c: Conf, ct: ClientType) -> str | None:
    """Idempotence: max.in.flight <= 5, retries >= 1, backpressure threshold 1; else no gapless."""
    if ct == "consumer":
        return None
    if not _idempotent(c):
        if _v(c, "enable.gapless.guarantee") and _mod(c, "enable.gapless.guarantee"):
            return "`enable.gapless.guarantee` requires `enable.idempotence` to be enabled"
        return None
    if _mod(c, "max.in.flight"):
        if _int(c, "max.in.flight") > IDEMP_MAX_INFLIGHT:
            return f"`max.in.flight` must be set <= {IDEMP_MAX_INFLIGHT} when `enable.idempotence` is true"
    else:
        _put(c, "max.in.flight", min(_int(c, "max.in.flight"), IDEMP_MAX_INFLIGHT))
    if _mod(c, "retries"):
        if _int(c, "retries") < 1:
            return "`retries` must be set >= 1 when `enable.idempotence` is true"
    else:
        _put(c, "retries", INT32_MAX)
    if _mod(c, "queue.buffering.backpressure.threshold") and _int(c, "queue.buffering.backpressure.threshold") > 1:
        return "`queue.buffering.backpressure.threshold` must be set to 1 when `enable.idempotence` is true"
    _put(c, "queue.buffering.backpressure.threshold", 1)
    return None


def sticky_linger(c: Conf, ct: ClientType) -> str | None:
    if ct != "consumer" and not _mod(c, "sticky.partitioning.linger.ms"):
        linger = _v(c, "linger.ms")
        assert isinstance(linger, float)
        _put(c, "sticky.partitioning.linger.ms", int(min(900000, int(2 * linger))))
    return None


def metadata_max_age(c: Conf, ct: ClientType) -> str | None:
    refresh = _int(c, "topic.metadata.refresh.interval.ms")
    if not _mod(c, "metadata.max.age.ms") and refresh > 0:
        _put(c, "metadata.max.age.ms", refresh * 3)
    return None


def reconnect_backoff(c: Conf, ct: ClientType) -> str | None:
    if _int(c, "reconnect.backoff.max.ms") < _int(c, "reconnect.backoff.ms"):
        return "`reconnect.backoff.max.ms` must be >= `reconnect.backoff.ms`"
    return None


def metadata_fast_interval(c: Conf, ct: ClientType) -> str | None:
    if not _mod(c, "topic.metadata.refresh.fast.interval.ms"):
        _put(c, "topic.metadata.refresh.fast.interval.ms", _int(c, "retry.backoff.ms"))
    return None


def azure_idle(c: Conf, ct: ClientType) -> str | None:
    """librdkafka issue #3109: Azure closes idle connections after 4 minutes."""
    if not _mod(c, "connections.max.idle.ms") and "azure" in (_str(c, "bootstrap.servers") or "").lower():
        _put(c, "connections.max.idle.ms", (4 * 60 - 10) * 1000)
    return None


def auto_create_topics(c: Conf, ct: ClientType) -> str | None:
    if not _mod(c, "allow.auto.create.topics"):
        _put(c, "allow.auto.create.topics", ct != "consumer")
    return None


def linger_vs_message_timeout(c: Conf, ct: ClientType) -> str | None:
    """With a default topic conf: linger.ms must stay below message.timeout.ms (adjusted if unset)."""
    if ct == "consumer" or not c.has_topic_conf:
        return None
    mto = _t(c, "message.timeout.ms")
    linger = _v(c, "linger.ms")
    assert isinstance(mto, int) and isinstance(linger, float)
    if mto != 0 and mto <= linger:
        if _mod(c, "linger.ms"):
            return "`message.timeout.ms` must be greater than `linger.ms`"
        _put(c, "linger.ms", mto - 0.1)
    return None


def topic_conf(c: Conf, ct: ClientType) -> str | None:
    """rd_kafka_topic_conf_finalize() on the default topic configuration, if there is one."""
    if not c.has_topic_conf:
        return None
    for rule in TOPIC_RULES:
        err = rule(c, ct)
        if err is not None:
            return err
    return None


def group_protocol_consumer(c: Conf, ct: ClientType) -> str | None:
    """KIP-848 (group.protocol=consumer) moves these settings to the broker."""
    if ct != "consumer":
        return None
    if format_value(c._table["group.protocol"], _v(c, "group.protocol")) != "consumer":
        return None
    for name in ("session.timeout.ms", "heartbeat.interval.ms"):
        if _mod(c, name):
            return f"`{name}` is not supported for `group.protocol=consumer` or share consumer. It is defined broker side"
    if _mod(c, "partition.assignment.strategy"):
        return (
            "`partition.assignment.strategy` is not supported for `group.protocol=consumer`. "
            "Use `group.remote.assignor` instead"
        )
    if _mod(c, "group.protocol.type"):
        return "`group.protocol.type` is not supported for `group.protocol=consumer` or share consumer"
    return None


def assignment_strategy(c: Conf, ct: ClientType) -> str | None:
    """Known assignors only, all eager or all cooperative (rd_kafka_assignors_init())."""
    value = _str(c, "partition.assignment.strategy") or ""
    names = [n.lstrip(" \t\n\v\f\r") for n in value.split(",")]
    kinds = set()
    for n in names:
        if n not in _ASSIGNORS:
            return f"Unsupported partition.assignment.strategy: {n}"
        kinds.add(_ASSIGNORS[n])
    if len(kinds) > 1:
        return (
            f"All partition.assignment.strategy ({value}) assignors must have the same protocol type, "
            "online migration between assignors with different protocol types is not supported"
        )
    return None


# -- topic rules (rd_kafka_topic_conf_finalize), producer only ------------------------------------


def topic_idempotence(c: Conf, ct: ClientType) -> str | None:
    if ct == "consumer" or not _idempotent(c):
        return None
    tc = c.topic_conf
    if _tmod(c, "acks"):
        if _t(c, "acks") != -1:
            return "`acks` must be set to `all` when `enable.idempotence` is true"
    else:
        _put(tc, "acks", -1)
    if _tmod(c, "queuing.strategy"):
        if _t(c, "queuing.strategy") != 0:
            return "`queuing.strategy` must be set to `fifo` when `enable.idempotence` is true"
    else:
        _put(tc, "queuing.strategy", 0)
    if _str(c, "transactional.id"):
        txn = _int(c, "transaction.timeout.ms")
        if not _tmod(c, "message.timeout.ms"):
            _put(tc, "message.timeout.ms", txn)
        else:
            mto = _t(c, "message.timeout.ms")
            assert isinstance(mto, int)
            if mto > txn:
                return "`message.timeout.ms` must be set <= `transaction.timeout.ms`"
    return None


def topic_linger(c: Conf, ct: ClientType) -> str | None:
    if ct == "consumer":
        return None
    mto = _t(c, "message.timeout.ms")
    linger = _v(c, "linger.ms")
    assert isinstance(mto, int) and isinstance(linger, float)
    if mto != 0 and mto <= linger and _mod(c, "linger.ms"):
        return "`message.timeout.ms` must be greater than `linger.ms`"
    return None


TOPIC_RULES: tuple[Rule, ...] = (topic_idempotence, topic_linger)

RULES: tuple[Rule, ...] = (
    software_name_version,
    keystore_password,
    https_ca,
    oauthbearer,
    consumer_fetch_sizes,
    consumer_poll_interval,
    consumer_not_idempotent,
    transactional,
    idempotence,
    sticky_linger,
    metadata_max_age,
    reconnect_backoff,
    metadata_fast_interval,
    azure_idle,
    auto_create_topics,
    linger_vs_message_timeout,
    topic_conf,
    group_protocol_consumer,
    assignment_strategy,
)


def finalize(c: Conf, client_type: ClientType) -> str | None:
    """Run every rule in librdkafka's order on `c` (modified in place); the first error or None."""
    for rule in RULES:
        err = rule(c, client_type)
        if err is not None:
            return err
    return None


# -- warnings (rd_kafka_conf_warn) ----------------------------------------------------------------


def _warn_props(c: Conf, level: Level, client_type: ClientType) -> list[str]:
    producer = client_type != "consumer"
    wrong_scope = "C" if producer else "P"
    store = c if level is Level.GLOBAL else c.topic_conf
    out = []
    for p in PROPERTIES:
        if p.level is not level or p.name not in store._modified:
            continue
        if p.deprecated or p.experimental:
            what = " and ".join(w for w, f in (("deprecated", p.deprecated), ("experimental", p.experimental)) if f)
            out.append(f"Configuration property {p.name} is {what}: {p.description}")
        if p.scope == wrong_scope:
            mine, other = ("producer", "consumer") if producer else ("consumer", "producer")
            out.append(f"Configuration property {p.name} is a {other} property and will be ignored by this {mine} instance")
    return out


def warnings(c: Conf, client_type: ClientType) -> list[str]:
    """The CONFWARN lines librdkafka logs when a client is created with this configuration."""
    out = _warn_props(c, Level.GLOBAL, client_type)
    if c.has_topic_conf:
        out += _warn_props(c, Level.TOPIC, client_type)
    if c.default_topic_conf_overwritten:
        out.append(
            "Topic configuration properties set in the global configuration were overwritten by explicitly "
            "setting a default_topic_conf: recommend not using set_default_topic_conf"
        )
    rb, rbmax = _int(c, "retry.backoff.ms"), _int(c, "retry.backoff.max.ms")
    if rb > rbmax:
        out.append(
            f"Configuration `retry.backoff.ms` with value {rb} is greater than configuration "
            f"`retry.backoff.max.ms` with value {rbmax}. A static backoff with value `retry.backoff.max.ms` "
            "will be applied."
        )
    fast = _int(c, "topic.metadata.refresh.fast.interval.ms")
    if _mod(c, "topic.metadata.refresh.fast.interval.ms") and fast > rbmax:
        out.append(
            f"Configuration `topic.metadata.refresh.fast.interval.ms` with value {fast} is greater than "
            f"configuration `retry.backoff.max.ms` with value {rbmax}. A static backoff with value "
            "`retry.backoff.max.ms` will be applied."
        )
    if client_type == "consumer":
        fw, st = _int(c, "fetch.wait.max.ms"), _int(c, "socket.timeout.ms")
        if fw + 1000 > st:
            out.append(
                f"Configuration property `fetch.wait.max.ms` ({fw}) should be set lower than "
                f"`socket.timeout.ms` ({st}) by at least 1000ms to avoid blocking and timing out sub-sequent requests"
            )
    mech = _str(c, "sasl.mechanisms") or ""
    proto = format_value(c._table["security.protocol"], _v(c, "security.protocol"))
    if _mod(c, "sasl.mechanisms") and proto not in ("sasl_ssl", "sasl_plaintext"):
        out.append(
            f"Configuration property `sasl.mechanism` set to `{mech}` but `security.protocol` is not configured "
            "for SASL: recommend setting `security.protocol` to SASL_SSL or SASL_PLAINTEXT"
        )
    if _mod(c, "sasl.username") and not (mech.startswith("SCRAM") or mech == "PLAIN"):
        out.append("Configuration property `sasl.username` only applies when `sasl.mechanism` is set to PLAIN or SCRAM-SHA-..")
    if not _str(c, "bootstrap.servers"):
        out.append("No `bootstrap.servers` configured: client will not be able to connect to Kafka cluster")
    return out
