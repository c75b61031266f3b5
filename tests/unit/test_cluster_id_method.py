"""Producer.cluster_id() and Consumer.cluster_id() (confluent-kafka 2.16), and
set_sasl_credentials(): both clients, on the built-in mock cluster and with no broker."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(params=["confluent_kafka", "rdpy"])
def client(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


def _clients(client: ModuleType, conf: dict[str, Any]) -> list[Any]:
    return [client.Producer(conf), client.Consumer({**conf, "group.id": "g"})]


def test_cluster_id_is_the_metadata_one(client: ModuleType) -> None:
    for c in _clients(client, {"test.mock.num.brokers": 1}):
        found = c.cluster_id(10)
        assert isinstance(found, str) and found
        assert found == c.list_topics(timeout=10).cluster_id
        c.close()


def test_no_broker_times_out_with_confluents_error(client: ModuleType) -> None:
    for c in _clients(client, {"bootstrap.servers": "localhost:1", "log_level": 0}):
        with pytest.raises(client.KafkaException) as raised:
            c.cluster_id(0.2)
        error = raised.value.args[0]
        assert error.code() == client.KafkaError._TIMED_OUT
        assert error.str().startswith("Failed to retrieve cluster id: Local: Timed out.")
        c.close()


def test_closed_clients_refuse(client: ModuleType) -> None:
    for c in _clients(client, {"bootstrap.servers": "localhost:1", "log_level": 0}):
        c.close()
        with pytest.raises(RuntimeError):
            c.cluster_id(0.1)
        with pytest.raises(RuntimeError):
            c.set_sasl_credentials("user", "secret")


def test_set_sasl_credentials_checks_its_arguments(client: ModuleType) -> None:
    for c in _clients(client, {"bootstrap.servers": "localhost:1", "log_level": 0}):
        assert c.set_sasl_credentials("user", "secret") is None
        with pytest.raises(TypeError, match="argument 1 must be str, not int"):
            c.set_sasl_credentials(1, "secret")
        with pytest.raises(TypeError, match="argument 2 must be str, not None"):
            c.set_sasl_credentials("user", None)
        c.close()
