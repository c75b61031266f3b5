"""rdpy's annotations, as a user's type checker sees them from outside the checkout.

mypy runs in a scratch directory, so it finds rdpy only through the installed package (the
README's `pip install -e`): the examples must pass `mypy --strict`, and tests/typing/mistakes.py
must fail exactly on its marked lines. Each of those mistakes is then made at run time, against
the built-in mock cluster, to show that the type checker catches what would raise.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISTAKES = ROOT / "tests" / "typing" / "mistakes.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")


def run_mypy(files: list[Path], workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(workdir / ".mypy_cache"), *[f.name for f in files]],
        cwd=workdir, capture_output=True, text=True, timeout=600)


def copy_into(tmp_path: Path, sources: list[Path]) -> list[Path]:
    copies = []
    for source in sources:
        copy = tmp_path / source.name
        shutil.copy(source, copy)
        copies.append(copy)
    return copies


def test_rdpy_is_found_by_mypy_through_the_installed_package(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from rdpy import Producer\nreveal_type(Producer.flush)\n")
    done = run_mypy([probe], tmp_path)
    assert 'Revealed type is "def (self: rdpy.producer.Producer, timeout: float | None =) -> int"' \
        in done.stdout, done.stdout + done.stderr


def test_the_examples_pass_mypy_strict(tmp_path: Path) -> None:
    examples = copy_into(tmp_path, sorted((ROOT / "examples").glob("*.py")))
    assert len(examples) >= 5
    done = run_mypy(examples, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def marked_lines(path: Path) -> set[int]:
    return {n for n, line in enumerate(path.read_text().splitlines(), 1)
            if line.rstrip().endswith("# E")}


def test_each_typical_mistake_is_a_type_error(tmp_path: Path) -> None:
    (copy,) = copy_into(tmp_path, [MISTAKES])
    done = run_mypy([copy], tmp_path)
    reported = {int(m) for m in re.findall(rf"^{copy.name}:(\d+): error:", done.stdout, re.M)}
    expected = marked_lines(MISTAKES)
    assert len(expected) == 11
    assert reported == expected, done.stdout + done.stderr


def mistakes_module(client_module: str = "rdpy") -> dict[str, Callable[..., None]]:
    """The mistakes file's functions, importing from client_module instead of rdpy."""
    source = MISTAKES.read_text().replace("from rdpy import", f"from {client_module} import")
    namespace: dict[str, object] = {"__name__": "mistakes"}
    exec(compile(source, str(MISTAKES), "exec"), namespace)
    return {name: fn for name, fn in namespace.items()
            if callable(fn) and getattr(fn, "__module__", None) == "mistakes"
            and not isinstance(fn, type)}


#: What each mistake raises when made (the exception rdpy and confluent-kafka both raise).
RAISES: dict[str, type[BaseException]] = {
    "value_of_type_int": TypeError,
    "key_of_type_float": TypeError,
    "headers_dict_with_int_values": TypeError,
    "headers_list_of_bare_strings": TypeError,
    "partition_as_str": TypeError,
    "callback_taking_one_argument": TypeError,
    "callback_with_arguments_swapped": AttributeError,
    "poll_timeout_as_str": TypeError,
    "subscribe_to_a_str": TypeError,
    "assign_one_partition_not_a_list": TypeError,
    "watermarks_unpacked_as_three": ValueError,
}
#: Where confluent-kafka 2.16 raises something else: the TypeError from calling the callback
#: is lost in its C layer, which raises "SystemError: _PyErr_SetObject: exception <class 'str'>
#: is not a BaseException subclass" from flush().
CONFLUENT_RAISES: dict[str, type[BaseException]] = {"callback_taking_one_argument": SystemError}


#: (client module name, its Producer, its Consumer)
Clients = tuple[str, Any, Any]


@pytest.fixture(scope="module", params=["confluent_kafka", "rdpy"])
def clients(request: pytest.FixtureRequest) -> Iterator[Clients]:
    """A producer on a mock cluster with topic t, and a consumer of the same cluster."""
    module = pytest.importorskip(request.param)
    producer = module.Producer({"test.mock.num.brokers": 1})
    producer.produce("t", value=b"created")
    assert producer.flush(10) == 0
    brokers = producer.list_topics(timeout=10).brokers.values()
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)
    consumer = module.Consumer({"bootstrap.servers": bootstrap, "group.id": "typing"})
    yield request.param, producer, consumer
    consumer.close()
    producer.close()


def test_the_mistakes_list_is_complete() -> None:
    assert set(mistakes_module()) == set(RAISES)


@pytest.mark.parametrize("name", sorted(RAISES))
def test_each_mistake_raises_at_run_time(name: str, clients: Clients) -> None:
    client_module, producer, consumer = clients
    fn = mistakes_module(client_module)[name]
    client = consumer if fn.__code__.co_varnames[0] == "consumer" else producer
    expected = RAISES[name]
    if client_module == "confluent_kafka":
        expected = CONFLUENT_RAISES.get(name, expected)
    with pytest.raises(expected):
        fn(client)
