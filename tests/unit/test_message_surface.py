"""Message's constructor, pickling, comparison and unbound-method checks, Messages, and the
rdpy.cimpl module, against confluent-kafka (the `client` fixture runs each test for both)."""

from __future__ import annotations

import pickle
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

import rdpy
import rdpy.cimpl
from rdpy.message import FetchedMessage, _new_message
from tests.support.clients import client, outcome  # noqa: F401  (the parametrized fixture)


def _view(m: Any) -> tuple[Any, ...]:
    return (m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.error(),
            m.timestamp(), m.latency(), m.leader_epoch(), m.delivery_count(), len(m))


ARGS: list[tuple[Any, ...]] = [
    (),
    ("t", 1, 2, "k", "v", [], None, (0, 4), 5.67, 3, 5),
    (None, -2, -2, None, None, None, None, None, -2.0, -2),
    ("t", 0, 0, None, None, None, None, (1, 0), 0.0, 0, 0),
    ("t", 2**31 - 1, 2**63 - 1, b"k", b"v", {"a": b"1"}, None, (2, -1), 1e-7, 2**31 - 1, 2**15 - 1),
    ("t", True, False, None, None, None, None, (True, 1), True, True, True),  # bools are ints
    ("t", 0, 0, None, None, None, None, (2**40 + 1, 5)),  # the type is cast to a C int
]


@pytest.mark.parametrize("args", ARGS)
def test_accessors_and_pickle_match_confluent(args: tuple[Any, ...]) -> None:
    ours, theirs = rdpy.Message(*args), confluent_kafka.Message(*args)
    assert _view(ours) == _view(theirs)
    assert ours.__reduce__()[1] == theirs.__reduce__()[1]
    restored = pickle.loads(pickle.dumps(ours))
    assert type(restored) is rdpy.Message and restored is not ours
    assert _view(restored) == _view(ours) and restored == ours


BAD: list[dict[str, Any]] = [
    {"partition": 2**31}, {"partition": -(2**31) - 1}, {"offset": 2**63}, {"offset": -(2**63) - 1},
    {"leader_epoch": 2**31}, {"delivery_count": 2**15}, {"delivery_count": -(2**15) - 1},
    {"partition": 1.0}, {"offset": "1"}, {"leader_epoch": b"1"}, {"delivery_count": 1.5},
    {"latency": "1"}, {"latency": b"1"}, {"latency": []},
    {"timestamp": [1, 2]}, {"timestamp": (1,)}, {"timestamp": 5},
]


@pytest.mark.parametrize("kwargs", BAD)
def test_argument_errors_match_confluent(kwargs: dict[str, Any]) -> None:
    ours = outcome(lambda: rdpy.Message(**kwargs))
    theirs = outcome(lambda: confluent_kafka.Message(**kwargs))
    assert theirs[0] in ("TypeError", "OverflowError")
    assert ours == theirs


@pytest.mark.parametrize("argument", ["partition", "offset", "latency", "leader_epoch",
                                      "delivery_count"])
def test_none_is_refused_for_numbers(client: ModuleType, argument: str) -> None:  # noqa: F811
    with pytest.raises(TypeError):
        client.Message("t", **{argument: None})


def test_none_timestamp_means_not_available(client: ModuleType) -> None:  # noqa: F811
    assert client.Message("t", timestamp=None).timestamp() == (client.TIMESTAMP_NOT_AVAILABLE, 0)


def test_too_many_arguments(client: ModuleType) -> None:  # noqa: F811
    with pytest.raises(TypeError):
        client.Message(*range(12))


def test_latency_keeps_microseconds(client: ModuleType) -> None:  # noqa: F811
    assert client.Message(latency=1.0000004).latency() == 1.0
    assert client.Message(latency=0.0000001).latency() == 0.0
    assert client.Message(latency=-0.5).latency() is None
    assert client.Message(latency=3).latency() == 3.0


class _Index:
    def __index__(self) -> int:
        return 3


def test_index_objects_are_integers(client: ModuleType) -> None:  # noqa: F811
    m = client.Message(partition=_Index(), offset=_Index(), leader_epoch=_Index(),
                       latency=_Index(), delivery_count=_Index())
    assert (m.partition(), m.offset(), m.leader_epoch(), m.latency(), m.delivery_count()) == (
        3, 3, 3, 3.0, 3)


def test_new_without_init_reads_zeroes(client: ModuleType) -> None:  # noqa: F811
    m = client.Message.__new__(client.Message)
    assert _view(m) == (None, 0, 0, None, None, None, None, (0, 0), 0.0, 0, None, 0)
    assert m.__reduce__()[1] == (None, 0, 0, None, None, None, None, (0, 0), 0.0, 0, 0)
    assert m == client.Message.__new__(client.Message)
    restored = pickle.loads(pickle.dumps(m))
    assert _view(restored) == _view(m)


@pytest.mark.parametrize("method, args", [
    ("topic", ()), ("partition", ()), ("offset", ()), ("key", ()), ("value", ()),
    ("headers", ()), ("error", ()), ("timestamp", ()), ("latency", ()), ("leader_epoch", ()),
    ("delivery_count", ()), ("set_topic", ("t",)), ("set_key", (b"k",)),
    ("set_value", (b"v",)), ("set_headers", ([],)), ("set_error", (None,)), ("__init__", ()),
])
@pytest.mark.parametrize("self", [None, object(), "str"])
def test_unbound_methods_check_self(client: ModuleType,  # noqa: F811
                                    method: str, args: tuple[Any, ...], self: object) -> None:
    result = outcome(lambda: getattr(client.Message, method)(self, *args))
    assert result[0] == "TypeError"
    assert type(self).__name__ in result[1] and client.Message.__name__ in result[1]


def test_equality(client: ModuleType) -> None:  # noqa: F811
    M = client.Message
    assert M(timestamp=(1, 5)) == M(timestamp=(0, 5))  # the type is not compared
    assert M(timestamp=(1, 5)) != M(timestamp=(1, 6))
    assert M(latency=3.0) == M() and M(delivery_count=3) == M()
    assert M(partition=-1) == M(partition=-7)
    assert M(value=b"a") != M() and M(headers=[]) != M()
    assert M() != 1 and not (M() == object())  # noqa: SIM201
    assert M().__eq__(1) is False
    with pytest.raises(TypeError):
        M() < M()  # noqa: B015
    with pytest.raises(TypeError):
        hash(M())


def test_subclass_pickles_as_message(client: ModuleType) -> None:  # noqa: F811
    class Sub(client.Message):  # type: ignore[name-defined,misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.extra = 1

    sub = Sub("t", 1, 2)
    assert sub.__reduce__()[0] is client.Message
    restored = pickle.loads(pickle.dumps(sub))
    assert type(restored) is client.Message and restored == sub


def test_fetched_messages_pickle_as_message() -> None:
    fast = _new_message("t", 2, 41, b"k", b"v", [("h", b"1")], (1, 1700), 5)
    assert type(fast) is FetchedMessage
    restored = pickle.loads(pickle.dumps(fast))
    assert type(restored) is rdpy.Message and restored == fast
    assert restored.__reduce__()[1] == ("t", 2, 41, b"k", b"v", [("h", b"1")], None, (1, 1700),
                                        -1.0, 5, -1)


def test_setters_take_anything(client: ModuleType) -> None:  # noqa: F811
    m, dummy = client.Message(), object()
    for setter in ("set_topic", "set_key", "set_value", "set_headers", "set_error"):
        assert getattr(m, setter)(dummy) is None
    assert m.topic() is m.key() is m.value() is m.headers() is m.error() is dummy
    with pytest.raises(TypeError):
        len(m)


def test_message_is_not_subscriptable_nor_has_a_dict(client: ModuleType) -> None:  # noqa: F811
    with pytest.raises(AttributeError):
        client.Message().__dict__  # noqa: B018
    with pytest.raises(TypeError):
        client.Message[int, str]  # noqa: B018


# --- Messages -------------------------------------------------------------------------------


def test_messages(client: ModuleType) -> None:  # noqa: F811
    msgs = [client.Message("t", 0, i) for i in range(4)]
    batch = client.Messages(msgs)
    assert len(batch) == batch.count() == 4 and not batch.is_empty()
    assert batch[0] is msgs[0] and batch[-1] is msgs[-1] and list(batch) == msgs
    tail = batch[1:3]
    assert type(tail) is client.Messages and list(tail) == msgs[1:3]
    assert batch.records() == msgs and batch.records() is not batch.records()
    msgs.append(client.Message())
    assert len(batch) == 4  # the constructor copied
    assert msgs[0] in batch
    with pytest.raises(IndexError):
        batch[9]
    with pytest.raises(TypeError):
        batch[0] = msgs[0]  # type: ignore[index]
    assert repr(client.Messages()) == "Messages([])" and client.Messages().is_empty()
    assert not isinstance(batch, list)
    adopted: list[Any] = []
    assert client.Messages._from_list(adopted).records() == []


# --- rdpy.cimpl -----------------------------------------------------------------------------


def test_cimpl_reexports() -> None:
    assert rdpy.cimpl.Message is rdpy.Message
    assert rdpy.cimpl.KafkaError is rdpy.KafkaError
    assert rdpy.cimpl.KafkaException is rdpy.KafkaException
    assert rdpy.cimpl.TopicPartition is rdpy.TopicPartition
    assert rdpy.cimpl.Producer is rdpy.Producer and rdpy.cimpl.Consumer is rdpy.Consumer
    assert rdpy.cimpl.OFFSET_BEGINNING == confluent_kafka.cimpl.OFFSET_BEGINNING
    assert rdpy.cimpl.TIMESTAMP_LOG_APPEND_TIME == confluent_kafka.cimpl.TIMESTAMP_LOG_APPEND_TIME
    for name in rdpy.cimpl.__all__:
        assert hasattr(confluent_kafka.cimpl, name), name
        assert getattr(rdpy.cimpl, name) is not None
    with pytest.raises(AttributeError):
        rdpy.cimpl.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_cimpl_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, rdpy.cimpl, rdpy.error, rdpy.serialization; "
            "print(sorted(m for m in ('rdpy.producer', 'rdpy.consumer', 'rdpy.client') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
