"""Apache Kafka processes for the tests, in KRaft combined mode on free loopback ports.

``start_kafka_broker(directory)`` -- one node (broker and controller) with four listeners:

    PLAINTEXT       no authentication (principal User:ANONYMOUS)
    SSL             TLS with a server certificate for localhost/127.0.0.1 signed by a test CA
                    made at run time (clients: ``ssl.ca.location`` = broker.ca_location)
    SASL_PLAINTEXT  SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
    SASL_SSL        the same over TLS

Users (USERS): ``admin`` (the super user) and ``alice`` (no ACLs: she authenticates, and is
refused whatever an ACL does not grant her); both have PLAIN passwords and SCRAM credentials,
the latter created when the storage is formatted (``StorageTool format --add-scram``). The
authorizer is the StandardAuthorizer; User:ANONYMOUS is a super user too, because the
PLAINTEXT and SSL listeners, and the node itself on its controller listener, authenticate
nobody. Internal topics have replication factor 1, ``group.initial.rebalance.delay.ms=0``,
``group.min.session.timeout.ms=500`` (short sessions for the group suite) and
``group.coordinator.rebalance.protocols=classic,consumer``.

``start_kafka_cluster(directory)`` -- three nodes (ids 1, 2, 3), each broker and controller
(a three-voter quorum), PLAINTEXT only, replication factor 3 and ``min.insync.replicas=2`` by
default, with ``stop_node``/``kill_node`` (SIGKILL)/``start_node`` by node id for failover
tests. Brokers that lose their controller session are fenced after 4 s (not 9).

Every node is ``java -cp 'LIBS/*' kafka.Kafka server.properties`` with the jars of
tests.support.kafka.dist, a small heap and log4j2.properties beside this file; its output goes
to ``kafka.log`` in the node's directory. The JVMs get SIGKILL if the Python thread that
started them dies (``setpriv --pdeathsig``), so a killed test run leaves no broker behind.
"""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.broker import free_loopback_port, wait_for_port
from tests.support.kafka.certs import TestPki, make_test_pki
from tests.support.kafka.dist import KAFKA_VERSION, kafka_libs

__all__ = [
    "LISTENERS",
    "SASL_MECHANISMS",
    "SUPER_USER",
    "USERS",
    "KafkaBroker",
    "KafkaCluster",
    "KafkaNode",
    "KafkaStartError",
    "remove_data",
    "start_kafka_broker",
    "start_kafka_cluster",
    "warm_up",
]

LISTENERS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SUPER_USER = "admin"
USERS: Mapping[str, str] = {"admin": "admin-secret", "alice": "alice-secret"}

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
STARTED_LINE = "Kafka Server started"  # KafkaRaftServer's line once the broker is serving

# A small heap and the serial collector: a test broker holds little, and 2 cores are shared.
BROKER_JVM = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"]
# The storage tool runs for a second: the C1 compiler alone starts faster.
TOOL_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


class KafkaStartError(RuntimeError):
    """A Kafka process did not format or start; the message holds the command and its log."""


def _random_cluster_id() -> str:
    """A cluster id as Kafka's Uuid prints one (22 url-safe base64 characters, not '-' first)."""
    while True:
        s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not s.startswith("-"):
            return s


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        p = free_loopback_port()
        if p not in ports:
            ports.append(p)
    return ports


def _write_properties(path: Path, props: Mapping[str, object]) -> None:
    lines = [f"{k}={v}" for k, v in props.items()]
    path.write_text("# written by tests/support/kafka/server.py\n" + "\n".join(lines) + "\n")


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise KafkaStartError("java is not on PATH: Apache Kafka 4 needs a Java 17+ runtime "
                              "(Debian: apt-get install openjdk-17-jre-headless)")
    return java


def _java_command(libs: Path, jvm: list[str], main: str, args: list[str], log_dir: Path) -> list[str]:
    return [_java(), *jvm, "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={log_dir}", "-cp", f"{libs}/*", main, *args]


def _with_parent_death_signal(command: list[str]) -> list[str]:
    """command, killed by the kernel when the thread that starts it exits (where setpriv exists)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def _tail(path: Path, lines: int = 60, start: int = 0) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def _common_props(node_id: int, directory: Path) -> dict[str, object]:
    return {
        "process.roles": "broker,controller",
        "node.id": node_id,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": directory / "data",
        "num.network.threads": 2,
        "num.io.threads": 4,
        "num.partitions": 1,
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": 0,
        # Short session timeouts for the consumer group suite (tests/integration/groups): the
        # default minimum is 6000 ms.
        "group.min.session.timeout.ms": 500,
        # As issue 13 asks: both consumer group protocols (classic and KIP-848). Kafka 4.4 logs
        # that this setting is deprecated (removed in 5.0) and that it disables "streams" groups.
        "group.coordinator.rebalance.protocols": "classic,consumer",
        # Fewer internal-topic partitions than the defaults (50) start groups and transactions faster.
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.num.partitions": 10,
        "share.coordinator.state.topic.num.partitions": 3,
        "log.segment.bytes": 64 * 1024 * 1024,
    }


def warm_up(bootstrap_servers: str, timeout: float = 60) -> None:
    """Have the broker create and load its group and transaction coordinators' topics
    (__consumer_offsets, __transaction_state), so that the first test using a group or a
    transaction does not meet NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while they are
    created (confluent-kafka reports those as consumer errors). Uses confluent-kafka."""
    import confluent_kafka

    deadline = time.monotonic() + timeout
    conf = {"bootstrap.servers": bootstrap_servers, "log_level": 0}
    consumer = confluent_kafka.Consumer({**conf, "group.id": "rdpy-tests-warm-up"})
    try:
        while True:
            try:
                consumer.committed([confluent_kafka.TopicPartition("rdpy-tests-warm-up", 0)], timeout=5)
                break
            except confluent_kafka.KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        consumer.close()
    producer = confluent_kafka.Producer({**conf, "transactional.id": "rdpy-tests-warm-up"})
    try:
        producer.init_transactions(max(1.0, deadline - time.monotonic()))
    finally:
        producer.close()


# --- one node ------------------------------------------------------------------------------------


@dataclass(eq=False)
class KafkaNode:
    """One Kafka process (broker and controller): its directory, config, log and PID."""

    node_id: int
    directory: Path
    libs: Path
    jvm: list[str] = field(default_factory=lambda: list(BROKER_JVM))
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0
    _log_start: int = 0  # where the current run's output begins in kafka.log

    @property
    def config_path(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.directory / "kafka.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process is not None else None

    def format(self, cluster_id: str, extra_args: Iterable[str] = (), timeout: float = 60) -> None:
        """Format the node's storage (kafka-storage.sh format) for `cluster_id`."""
        for process in self._format_start(cluster_id, extra_args):
            self._format_finish(process, timeout)

    def _format_start(self, cluster_id: str, extra_args: Iterable[str]) -> list[subprocess.Popen[bytes]]:
        args = ["format", "-t", cluster_id, "-c", str(self.config_path), *extra_args]
        command = _java_command(self.libs, TOOL_JVM, "kafka.tools.StorageTool", args, self.directory)
        with open(self.directory / "format.log", "wb") as out:
            out.write(("$ " + " ".join(command) + "\n").encode())
            out.flush()
            return [subprocess.Popen(_with_parent_death_signal(command), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)]

    def _format_finish(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        try:
            rc = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            rc = None
        if rc != 0:
            raise KafkaStartError(f"node {self.node_id}: the storage tool exited with {rc}; "
                                  f"{self.directory / 'format.log'}:\n{_tail(self.directory / 'format.log')}")

    def start(self) -> None:
        """Start the process (returns at once; wait_started() waits until it serves)."""
        if self.running:
            raise RuntimeError(f"node {self.node_id} is already running (pid {self.pid})")
        command = _java_command(self.libs, self.jvm, "kafka.Kafka", [str(self.config_path)], self.directory)
        with open(self.log_path, "ab") as out:
            self._log_start = out.tell()
            self.starts += 1
            out.write((f"===== rdpy tests: start {self.starts} of node {self.node_id}: "
                       + " ".join(command) + "\n").encode())
            out.flush()
            self.process = subprocess.Popen(_with_parent_death_signal(command), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_started(self, timeout: float = 60) -> None:
        """Block until this run of the node logged that it serves; raise KafkaStartError
        (with the log's tail) if it exits or does not get there in `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None:
                raise KafkaStartError(f"node {self.node_id} was never started")
            if self.process.poll() is not None:
                raise KafkaStartError(f"node {self.node_id} exited with {self.process.returncode} while starting; "
                                      f"{self.log_path}:\n{self.log_tail(start=self._log_start)}")
            if STARTED_LINE in self._current_log():
                return
            if time.monotonic() > deadline:
                raise KafkaStartError(f"node {self.node_id} did not log {STARTED_LINE!r} in {timeout}s; "
                                      f"{self.log_path}:\n{self.log_tail(start=self._log_start)}")
            time.sleep(0.1)

    def _current_log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a controlled shutdown), then SIGKILL after `timeout` seconds."""
        if not self.running or self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the node dies at once, as in a crash (its log and data stay)."""
        if not self.running or self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log_tail(self, lines: int = 60, start: int = 0) -> str:
        return _tail(self.log_path, lines, start)


# --- the single broker with four listeners ----------------------------------------------------------


@dataclass(eq=False)
class KafkaBroker:
    """One Kafka broker and how to reach each of its listeners.

    `listeners` maps a listener name (LISTENERS) to host:port; an external or testcontainers
    broker has PLAINTEXT only. ``client_config(listener, mechanism, user)`` is the
    confluent-kafka configuration for a listener.
    """

    listeners: dict[str, str]
    kind: str  # "kafka" (started here), "external" (RDPY_TEST_BOOTSTRAP), "testcontainers"
    version: str | None = KAFKA_VERSION
    node: KafkaNode | None = None
    pki: TestPki | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    directory: Path | None = None
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return self.listeners["PLAINTEXT"]

    @property
    def external(self) -> bool:
        return self.kind != "kafka"

    @property
    def ca_location(self) -> str:
        if self.pki is None:
            raise LookupError(f"a {self.kind} broker has no test CA")
        return str(self.pki.ca_pem)

    @property
    def log_path(self) -> Path | None:
        return None if self.node is None else self.node.log_path

    def has_listener(self, name: str) -> bool:
        return name in self.listeners

    def client_config(self, listener: str = "PLAINTEXT", mechanism: str | None = None,
                      user: str = SUPER_USER, password: str | None = None) -> dict[str, Any]:
        """bootstrap.servers, security.protocol and (as the listener needs) the CA and the
        SASL mechanism and credentials (default: the super user's)."""
        conf: dict[str, Any] = {"bootstrap.servers": self.listeners[listener],
                                "security.protocol": listener.lower()}
        if listener in ("SSL", "SASL_SSL"):
            conf["ssl.ca.location"] = self.ca_location
        if listener.startswith("SASL_"):
            conf["sasl.mechanism"] = mechanism or "PLAIN"
            conf["sasl.username"] = user
            conf["sasl.password"] = self.users[user] if password is None else password
        elif mechanism is not None:
            raise ValueError(f"listener {listener} has no SASL mechanism")
        return conf

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self._stop is not None:
            self._stop()

    def log_tail(self, lines: int = 60) -> str:
        return "" if self.node is None else self.node.log_tail(lines)


def _broker_props(directory: Path, ports: Mapping[str, int], pki: TestPki) -> dict[str, object]:
    listeners = ",".join(f"{name}://127.0.0.1:{ports[name]}" for name in (*LISTENERS, "CONTROLLER"))
    advertised = ",".join(f"{name}://127.0.0.1:{ports[name]}" for name in LISTENERS)
    plain_users = " ".join(f'user_{u}="{p}"' for u, p in USERS.items())
    props = _common_props(1, directory)
    props.update({
        "controller.quorum.voters": f"1@127.0.0.1:{ports['CONTROLLER']}",
        "listeners": listeners,
        "advertised.listeners": advertised,
        "listener.security.protocol.map": ",".join(f"{n}:{n}" for n in LISTENERS) + ",CONTROLLER:PLAINTEXT",
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        # TLS (both SSL and SASL_SSL): the server's key and certificate; clients are not asked for one.
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": pki.keystore,
        "ssl.keystore.password": pki.keystore_password,
        "ssl.key.password": pki.keystore_password,
        "ssl.client.auth": "none",
        # SASL: PLAIN checks the passwords listed in its JAAS line; SCRAM the credentials
        # stored in the metadata log at format time.
        "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{SUPER_USER};User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    })
    for listener in ("sasl_plaintext", "sasl_ssl"):
        props[f"listener.name.{listener}.plain.sasl.jaas.config"] = (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};")
        for mech in ("scram-sha-256", "scram-sha-512"):
            props[f"listener.name.{listener}.{mech}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;")
    return props


def start_kafka_broker(directory: Path, *, version: str = KAFKA_VERSION, timeout: float = 90) -> KafkaBroker:
    """Format and start the four-listener broker under `directory`; returns once it serves
    and its group and transaction coordinators are loaded (warm_up)."""
    libs = kafka_libs(version)
    directory.mkdir(parents=True, exist_ok=True)
    pki = make_test_pki(directory / "tls")
    ports = dict(zip((*LISTENERS, "CONTROLLER"), _free_ports(len(LISTENERS) + 1)))
    node = KafkaNode(node_id=1, directory=directory, libs=libs)
    _write_properties(node.config_path, _broker_props(directory, ports, pki))
    scram = [arg for user, password in USERS.items() for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512")
             for arg in ("--add-scram", f"{mech}=[name={user},password={password}]")]
    node.format(_random_cluster_id(), scram)
    node.start()
    broker = KafkaBroker(listeners={n: f"127.0.0.1:{ports[n]}" for n in LISTENERS}, kind="kafka", version=version,
                         node=node, pki=pki, users=dict(USERS), directory=directory)
    try:
        node.wait_started(timeout)
        for name in LISTENERS:
            wait_for_port("127.0.0.1", ports[name], timeout=10)
        warm_up(broker.bootstrap_servers)
    except BaseException:
        node.kill()
        raise
    return broker


# --- the three-node cluster ---------------------------------------------------------------------------


@dataclass(eq=False)
class KafkaCluster:
    """Three Kafka nodes (ids 1, 2, 3), each broker and controller, PLAINTEXT only."""

    nodes: dict[int, KafkaNode]
    ports: dict[int, int]  # node id -> its PLAINTEXT port
    directory: Path
    version: str = KAFKA_VERSION

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{self.ports[i]}" for i in sorted(self.ports))

    def address(self, node_id: int) -> str:
        return f"127.0.0.1:{self.ports[node_id]}"

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id]

    def running_ids(self) -> list[int]:
        return sorted(i for i, n in self.nodes.items() if n.running)

    def stop_node(self, node_id: int, timeout: float = 30) -> None:
        """SIGTERM: a controlled shutdown (leadership moves away first)."""
        self.nodes[node_id].stop(timeout)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL: the node dies at once; the controller fences it when its session lapses."""
        self.nodes[node_id].kill()

    def start_node(self, node_id: int, *, wait: bool = True, timeout: float = 60) -> None:
        """Start a stopped or killed node again on the same ports and data (log recovery
        included). With wait=False it returns at once: call wait_node() later, from the same
        thread (the process dies with the thread that started it)."""
        self.nodes[node_id].start()
        if wait:
            self.wait_node(node_id, timeout)

    def wait_node(self, node_id: int, timeout: float = 60) -> None:
        self.nodes[node_id].wait_started(timeout)

    def ensure_running(self, timeout: float = 60) -> None:
        """Start every node that is not running, and wait until all three serve and are brokers
        in the metadata (a test that stopped a node and failed midway leaves it to this)."""
        down = [i for i, n in self.nodes.items() if not n.running]
        for i in down:
            self.nodes[i].start()
        for i in down:
            self.nodes[i].wait_started(timeout)
        self.wait_for_brokers(self.nodes, timeout)

    def restart_node(self, node_id: int, *, kill: bool = False, timeout: float = 60) -> None:
        (self.kill_node if kill else self.stop_node)(node_id)
        self.start_node(node_id, timeout=timeout)

    def stop(self) -> None:
        """Stop every node: all at once (SIGTERM), then wait, then SIGKILL what is left."""
        for n in self.nodes.values():
            if n.running and n.process is not None:
                n.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for n in self.nodes.values():
            if n.process is not None and n.process.poll() is None:
                try:
                    n.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    n.kill()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"--- node {i}: {n.log_path}\n{n.log_tail(lines)}" for i, n in sorted(self.nodes.items()))

    # -- waiting on the cluster's own view (through confluent-kafka's AdminClient) ------------------

    def wait_for_brokers(self, node_ids: Iterable[int] | None = None, timeout: float = 60) -> None:
        """Until the metadata lists exactly `node_ids` (default: the running nodes) as brokers."""
        want = set(self.running_ids() if node_ids is None else node_ids)
        self._wait(lambda md: {b for b in md.brokers} == want, f"brokers {sorted(want)}", timeout)

    def wait_in_sync(self, topic: str, timeout: float = 60) -> None:
        """Until every partition of `topic` has a leader and all its replicas in the ISR."""
        def ok(md: Any) -> bool:
            t = md.topics.get(topic)
            return (t is not None and t.error is None and len(t.partitions) > 0
                    and all(p.leader >= 0 and sorted(p.isrs) == sorted(p.replicas) for p in t.partitions.values()))
        self._wait(ok, f"{topic} fully in sync", timeout, topic)

    def leaders(self, topic: str, timeout: float = 10) -> dict[int, int]:
        """partition -> leader node id (-1 when none) as the metadata says now."""
        md = self._admin().list_topics(topic, timeout=timeout)
        return {p: pm.leader for p, pm in md.topics[topic].partitions.items()}

    def _admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        running = ",".join(self.address(i) for i in self.running_ids())
        return AdminClient({"bootstrap.servers": running, "log_level": 0})

    def _wait(self, ok: Callable[[Any], bool], what: str, timeout: float, topic: str | None = None) -> None:
        admin = self._admin()
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = admin.list_topics(topic, timeout=5)
                if ok(last):
                    return
            except Exception as exc:  # noqa: BLE001 -- the cluster may be between leaders
                last = exc
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster: not {what} after {timeout}s; last metadata: {_describe(last)}")
            time.sleep(0.2)


def _describe(md: Any) -> str:
    if isinstance(md, BaseException) or md is None:
        return repr(md)
    parts = [f"brokers {sorted(md.brokers)}"]
    for name, t in md.topics.items():
        parts.append(f"{name}: " + ", ".join(f"p{p} leader {pm.leader} isr {sorted(pm.isrs)}"
                                               for p, pm in sorted(t.partitions.items())))
    return "; ".join(parts)


def start_kafka_cluster(directory: Path, *, version: str = KAFKA_VERSION, timeout: float = 120) -> KafkaCluster:
    """Format and start three nodes under `directory`; returns once all three serve, the
    metadata lists all three brokers and the coordinators are loaded (warm_up)."""
    libs = kafka_libs(version)
    directory.mkdir(parents=True, exist_ok=True)
    ids = (1, 2, 3)
    free = _free_ports(6)
    broker_ports = dict(zip(ids, free[:3]))
    controller_ports = dict(zip(ids, free[3:]))
    voters = ",".join(f"{i}@127.0.0.1:{controller_ports[i]}" for i in ids)
    nodes: dict[int, KafkaNode] = {}
    for i in ids:
        node_dir = directory / f"node-{i}"
        node_dir.mkdir(parents=True, exist_ok=True)
        props = _common_props(i, node_dir)
        props.update({
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{broker_ports[i]},CONTROLLER://127.0.0.1:{controller_ports[i]}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{broker_ports[i]}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "default.replication.factor": 3,
            "min.insync.replicas": 2,
            "offsets.topic.replication.factor": 3,
            "transaction.state.log.replication.factor": 3,
            "transaction.state.log.min.isr": 2,
            "share.coordinator.state.topic.replication.factor": 3,
            "share.coordinator.state.topic.min.isr": 2,
            "unclean.leader.election.enable": "false",
            # Fence a dead broker after 4 s (default 9 s) so failover tests run quickly.
            "broker.session.timeout.ms": 4000,
            "broker.heartbeat.interval.ms": 1000,
        })
        nodes[i] = KafkaNode(node_id=i, directory=node_dir, libs=libs)
        _write_properties(nodes[i].config_path, props)
    cluster = KafkaCluster(nodes=nodes, ports=broker_ports, directory=directory, version=version)
    cluster_id = _random_cluster_id()
    # The three formats run at once (a JVM start each), then the three nodes.
    formats = [(n, n._format_start(cluster_id, ())[0]) for n in nodes.values()]
    for n, process in formats:
        n._format_finish(process, timeout=60)
    try:
        for n in nodes.values():
            n.start()
        deadline = time.monotonic() + timeout
        for n in nodes.values():
            n.wait_started(max(1.0, deadline - time.monotonic()))
        cluster.wait_for_brokers(ids, timeout=max(1.0, deadline - time.monotonic()))
        warm_up(cluster.bootstrap_servers)
    except BaseException:
        for n in nodes.values():
            n.kill()
        raise
    return cluster


def remove_data(directories: Iterable[Path]) -> None:
    """Delete the data (log) directories under `directories`, keeping configs and kafka.log."""
    for d in directories:
        for data in d.glob("**/data"):
            shutil.rmtree(data, ignore_errors=True)
