"""AdminClient is not implemented yet: it imports, checks its configuration as
confluent-kafka's does, then refuses with _NOT_IMPLEMENTED. Importing rdpy.admin's value types
does not load it (nor the engine)."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import rdpy
from rdpy.admin import AdminClient


def test_creating_one_says_it_is_not_implemented() -> None:
    with pytest.raises(rdpy.KafkaException) as raised:
        AdminClient({"bootstrap.servers": "localhost:9092"})
    error = raised.value.args[0]
    assert error.code() == rdpy.KafkaError._NOT_IMPLEMENTED
    assert "AdminClient" in error.str()


@pytest.mark.parametrize("client_module", ["confluent_kafka", "rdpy"])
def test_a_bad_configuration_fails_as_confluent_kafkas(client_module: str) -> None:
    module: ModuleType = pytest.importorskip(f"{client_module}.admin")
    kafka_exception = sys.modules[client_module].KafkaException
    with pytest.raises(kafka_exception) as raised:
        module.AdminClient({"no.such.property": 1})
    assert raised.value.args[0].str() == 'No such configuration property: "no.such.property"'
    with pytest.raises(TypeError):
        module.AdminClient("bootstrap.servers=localhost:9092")


def test_the_value_types_load_without_the_admin_client() -> None:
    code = ("import sys, rdpy.admin; from rdpy.admin import ConfigResource; "
            "print('rdpy.admin.client' in sys.modules, 'rdpy.client' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
