"""Session-scoped pytest fixtures for real Apache Kafka; import them into a conftest:

    from tests.support.kafka.fixtures import kafka_broker, kafka_cluster  # noqa: F401

``kafka_broker``: the four-listener broker of tests.support.kafka.server, started once per
session on first use and stopped at the end. Which broker it is:

* ``RDPY_TEST_BOOTSTRAP=host:port`` -- that external cluster, PLAINTEXT only (nothing is
  started; tests of the other listeners skip, saying so);
* ``RDPY_TEST_BROKER=testcontainers`` -- a Kafka container started through testcontainers
  (image ``RDPY_TEST_KAFKA_IMAGE``, default below), PLAINTEXT only; skipped with the reason
  where the package or a Docker engine is missing;
* otherwise Apache Kafka KAFKA_VERSION from Maven Central (tests.support.kafka.dist), run
  here by java.

``kafka_cluster``: three Kafka processes (tests.support.kafka.server.KafkaCluster), started
once per session on first use; tests may stop, kill and restart nodes but must leave all three
running. Not available through testcontainers (skipped, saying so).

Without java (or, before the jars are cached, mvn) both fixtures skip with the reason, except
under CI (``CI`` set), where they fail. A broker that does not start fails every test that
uses it with the command and the log. Logs (kafka.log per node) are kept; their paths and tails
and their last warnings and errors are printed by ``report_kafka_logs`` when the session
failed. Data directories are deleted
at the end of a session in which no test failed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.broker import broker_from_environment
from tests.support.kafka.dist import KAFKA_VERSION, cache_root
from tests.support.kafka.server import KafkaBroker, KafkaCluster, remove_data, start_kafka_broker, start_kafka_cluster

__all__ = ["DEFAULT_CONTAINER_IMAGE", "kafka_broker", "kafka_cluster", "report_kafka_logs", "started"]

# Confluent's image (testcontainers-python's KafkaContainer is written for it); 8.0 is Kafka 4.0.
DEFAULT_CONTAINER_IMAGE = "confluentinc/cp-kafka:8.0.0"

# Everything started this session, with how long it took to start: (what, seconds, object).
started: list[tuple[str, float, KafkaBroker | KafkaCluster]] = []


def _unavailable() -> str | None:
    """Why Kafka cannot be run here, or None."""
    if shutil.which("java") is None:
        return "java is not on PATH (Apache Kafka 4 needs Java 17+)"
    cached = (cache_root() / KAFKA_VERSION / "libs" / f"kafka_2.13-{KAFKA_VERSION}.jar").exists()
    if not cached and shutil.which("mvn") is None:
        return f"mvn is not on PATH and Kafka {KAFKA_VERSION}'s jars are not cached under {cache_root()}"
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"real Kafka unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"real Kafka unavailable: {reason}")


def _docker_missing() -> str | None:
    """Why no Docker engine can be reached, or None."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        sock = Path(host[len("unix://"):])
    elif host:
        return None  # a TCP engine: let testcontainers try it
    else:
        sock = Path("/var/run/docker.sock")
    if not sock.exists():
        return f"no Docker engine: {sock} does not exist and DOCKER_HOST names no other engine"
    return None


def _testcontainers_broker() -> Iterator[KafkaBroker]:
    missing = _docker_missing()
    if missing is not None:
        pytest.skip(f"RDPY_TEST_BROKER=testcontainers: {missing}")
    try:
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("RDPY_TEST_BROKER=testcontainers: the testcontainers package is not installed "
                    "(pip install 'testcontainers[kafka]')")
    image = os.environ.get("RDPY_TEST_KAFKA_IMAGE", DEFAULT_CONTAINER_IMAGE)
    t0 = time.monotonic()
    container = KafkaContainer(image).with_kraft()
    container.start()
    broker = KafkaBroker(listeners={"PLAINTEXT": container.get_bootstrap_server()}, kind="testcontainers",
                         version=None, _stop=container.stop)
    started.append((f"testcontainers {image}", time.monotonic() - t0, broker))
    try:
        yield broker
    finally:
        broker.stop()


_Started = TypeVar("_Started", KafkaBroker, KafkaCluster)


def _run_here(what: str, start: Callable[[Path], _Started], tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> Iterator[_Started]:
    """Body of a session fixture for Kafka run here by java: skips (fails under CI) where it
    cannot run; else yields start(a fresh directory), stops it at the end and deletes its data
    when no test failed."""
    reason = _unavailable()
    if reason is not None:
        _skip_or_fail(reason)
    t0 = time.monotonic()
    kafka = start(Path(tmp_path_factory.mktemp(what.replace(" ", "-"))))
    started.append((what, time.monotonic() - t0, kafka))
    try:
        yield kafka
    finally:
        kafka.stop()
        if request.session.testsfailed == 0 and kafka.directory is not None:
            remove_data([kafka.directory])


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[KafkaBroker]:
    """One real Kafka broker with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners (or an
    external/testcontainers broker with PLAINTEXT only; see the module docstring)."""
    external = broker_from_environment()
    if external is not None:
        yield KafkaBroker(listeners={"PLAINTEXT": external.bootstrap_servers}, kind="external", version=None)
        return
    if os.environ.get("RDPY_TEST_BROKER", "").strip().lower() == "testcontainers":
        yield from _testcontainers_broker()
        return
    yield from _run_here("kafka broker", start_kafka_broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """Three Kafka nodes (ids 1, 2, 3; RF 3, min.insync.replicas 2) for failover tests."""
    if os.environ.get("RDPY_TEST_BROKER", "").strip().lower() == "testcontainers":
        pytest.skip("RDPY_TEST_BROKER=testcontainers: the 3-broker cluster needs processes it can kill "
                    "and restart; only the java-run cluster provides that")
    yield from _run_here("kafka cluster", start_kafka_cluster, tmp_path_factory, request)


def _problems(log: Path, lines: int) -> str:
    """The last WARN/ERROR lines of a Kafka log (its tail is mostly the shutdown)."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return f"(cannot read {log})"
    picked = [line for line in text if ("] WARN " in line or "] ERROR " in line)
              and "rebalance.protocols` is deprecated" not in line]
    return "\n".join(picked[-lines:]) or "(no WARN or ERROR lines)"


def report_kafka_logs(exitstatus: int) -> None:
    """Call from pytest_sessionfinish: when the session failed, print where each Kafka log is
    and its last warnings and errors."""
    if exitstatus == 0:
        return
    for what, seconds, thing in started:
        if isinstance(thing, KafkaBroker) and thing.node is not None:
            print(f"\n{what} (started in {seconds:.1f}s): log kept at {thing.node.log_path}; "
                  f"last warnings and errors:\n{_problems(thing.node.log_path, 30)}")
        elif isinstance(thing, KafkaCluster):
            for node_id, node in sorted(thing.nodes.items()):
                print(f"\n{what} (started in {seconds:.1f}s), node {node_id}: log kept at {node.log_path}; "
                      f"last warnings and errors:\n{_problems(node.log_path, 15)}")
