"""What a client settles before its engine runs, on the application's thread: the settings its
engine gets (engine_settings), the features it refuses (refuse_unimplemented), and the brokers
it bootstraps from (bootstrap.servers parsed as librdkafka does, or the cluster that
test.mock.num.brokers starts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdpy.config.conf import ClientType, Conf, Settings
from rdpy.errors import ErrorCode, KafkaError, KafkaException

if TYPE_CHECKING:
    from rdpy.mock import MockCluster

__all__ = ["engine_settings", "parse_bootstrap", "refuse_unimplemented", "start_mock_cluster"]

#: What the engine's settings hold in place of each application callback (engine_settings).
_APP_CALLBACK = "<application callback>"

_SECURITY_PREFIXES = ("PLAINTEXT://", "SSL://", "SASL_PLAINTEXT://", "SASL_SSL://")


def engine_settings(conf: Conf, kind: ClientType) -> Settings:
    """App thread. The settings a client's Handle and threads get: the application's callables
    replaced by a marker (the engine only asks whether one is set; callbacks run from poll(),
    served from the client's own settings). A callback that refers to its client (a bound
    method of the object that owns it) must not keep the client alive through the threads."""
    stripped = conf.copy()
    stripped.callbacks = {name: _APP_CALLBACK for name in conf.callbacks}
    return stripped.finalize(kind)


def refuse_unimplemented(settings: Settings, kind: ClientType, missing: list[str]) -> None:
    """App thread. Features this version of rdpy does not have fail loudly instead of being
    ignored: `missing` lists the client's own, the shared ones (TLS/SASL) are added here."""
    missing = list(missing)
    protocol = (settings.get_enum("security.protocol") or "plaintext").lower()
    # A mock cluster (test.mock.num.brokers) replaces bootstrap.servers and ignores
    # security.protocol, as in librdkafka: nothing of TLS or SASL is used then.
    if protocol != "plaintext" and settings.get_int("test.mock.num.brokers") <= 0:
        missing.append(f"`security.protocol={protocol}` (TLS and SASL)")
    if missing:
        raise KafkaException(KafkaError(
            ErrorCode._NOT_IMPLEMENTED,
            f"Failed to create {kind}: rdpy does not implement " + ", ".join(missing) + " yet"))


def parse_bootstrap(servers: str) -> list[tuple[str, int]]:
    """'host:port,host2' -> [(host, port)] with Kafka's default port 9092. Never raises: as in
    librdkafka, a malformed entry becomes a broker that fails to resolve (port 0) and is
    reported then, through error_cb and the log."""
    return [_parse_address(item.strip()) for item in servers.replace(" ", ",").split(",")
            if item.strip()]


def _parse_address(item: str) -> tuple[str, int]:
    """One bootstrap entry: an optional security prefix, a host ([v6] too), a port."""
    for prefix in _SECURITY_PREFIXES:
        if item.upper().startswith(prefix):
            item = item[len(prefix):]
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else "9092"
    elif item.count(":") == 1:
        host, _, port_text = item.partition(":")
    else:
        host, port_text = item, "9092"
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else 0
    return host, port


def start_mock_cluster(settings: Settings) -> MockCluster | None:
    """App thread. With test.mock.num.brokers, start rdpy's mock cluster (each broker delayed
    by test.mock.broker.rtt), which the client bootstraps from instead of bootstrap.servers,
    as librdkafka does; None without."""
    num = settings.get_int("test.mock.num.brokers")
    if num <= 0:
        return None
    # Imported here on purpose, not to dodge a cycle: only tests ask for a mock cluster, so
    # only they pay for importing it (tests/unit/test_layering.py's ALLOWED_LOCAL).
    from rdpy.mock import MockCluster

    cluster = MockCluster(num)
    rtt = settings.get_int("test.mock.broker.rtt")
    for node_id in cluster.broker_ids:
        cluster.set_rtt(node_id, rtt)
    return cluster
