"""rdpy.Message side by side with confluent_kafka.Message."""

from __future__ import annotations

from typing import Any

import confluent_kafka
import pytest

import rdpy
from rdpy import KafkaError, Message
from rdpy.message import _new_event, _new_message
from tests.support.clients import outcome

CM = confluent_kafka.Message
CK = confluent_kafka.KafkaError


def _view(m: Any) -> tuple[Any, ...]:
    err = m.error()
    return (m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers(),
            None if err is None else repr(err), m.timestamp(), m.latency(), m.leader_epoch(),
            m.delivery_count(), m.deserialized_key(), m.deserialized_value(), len(m))


def _swap_error(kwargs: dict[str, Any], to_ck: bool) -> dict[str, Any]:
    out = dict(kwargs)
    e = out.get("error")
    if isinstance(e, KafkaError) and to_ck:
        out["error"] = CK(e.code(), e.str() if e.str() != CK(e.code()).str() else None)
    return out


CASES: list[dict[str, Any]] = [
    {},
    {"topic": "t", "partition": 1, "offset": 5, "key": b"k", "value": b"vv",
     "headers": [("a", b"1"), ("a", None)], "error": KafkaError(5), "timestamp": (1, 123),
     "latency": 0.5, "leader_epoch": 3, "delivery_count": 2},
    {"value": "str"},
    {"value": b"abc", "key": b"kk"},
    {"value": b""},
    {"headers": {"a": b"1"}},
    {"headers": []},
    {"timestamp": (0, 5)},
    {"timestamp": (2, -1)},
    {"partition": -1, "offset": -1, "leader_epoch": -1, "latency": -1.0},
    {"offset": 0, "partition": 0},
    {"offset": -1001, "partition": -5},
    {"latency": 1},
    {"error": KafkaError(KafkaError._PARTITION_EOF, "eof")},
    # errors
    {"timestamp": 5},
    {"timestamp": (1, 2, 3)},
    {"timestamp": ("a", 5)},
    {"partition": "x"},
    {"offset": 1.5},
    {"latency": "x"},
    {"bogus": 1},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_construction_matches_confluent(kwargs: dict[str, Any]) -> None:
    ours = outcome(lambda: _view(Message(**kwargs)))
    theirs = outcome(lambda: _view(CM(**_swap_error(kwargs, True))))
    if theirs[0] == "ok":
        assert ours == theirs
    else:
        # confluent-kafka leaks a SystemError for some bad timestamps; rdpy raises the TypeError.
        expected = "TypeError" if theirs[0] == "SystemError" else theirs[0]
        assert ours[0] == expected, (ours, theirs)


def test_positional_order_matches_confluent() -> None:
    args: tuple[Any, ...] = ("t", 1, 5, b"k", b"v", [("h", b"x")])
    assert _view(Message(*args)) == _view(CM(*args))


@pytest.mark.parametrize(
    "setter, value",
    [("set_value", b"x"), ("set_value", None), ("set_value", 5), ("set_key", b"y"),
     ("set_headers", [("h", None)]), ("set_headers", None), ("set_topic", "tt"),
     ("set_error", None)],
)
def test_setters_match_confluent(setter: str, value: Any) -> None:
    ours: Any = Message(value=b"v")
    theirs: Any = CM(value=b"v")
    assert getattr(ours, setter)(value) is None
    assert getattr(theirs, setter)(value) is None
    if setter == "set_value" and value == 5:
        assert ours.value() == theirs.value() == 5
        return
    assert _view(ours) == _view(theirs)


def test_set_error() -> None:
    m = Message()
    m.set_error(KafkaError(1))
    assert repr(m.error()) == repr(CK(1))


@pytest.mark.parametrize(
    "a, b",
    [({}, {}), ({"value": b"a"}, {"value": b"a"}), ({"value": b"a"}, {"value": b"b"}),
     ({"value": b"a", "key": b"k"}, {"value": b"a"}), ({"topic": "t"}, {"topic": "u"}),
     ({"partition": 1}, {"partition": 2}), ({"offset": 1}, {"offset": 2}),
     ({"timestamp": (1, 1)}, {"timestamp": (1, 2)}), ({"headers": [("a", b"")]}, {}),
     ({"error": KafkaError(1)}, {}), ({"latency": 1.0}, {}), ({"leader_epoch": 1}, {})],
)
def test_equality_matches_confluent(a: dict[str, Any], b: dict[str, Any]) -> None:
    ours = Message(**a) == Message(**b)
    theirs = CM(**_swap_error(a, True)) == CM(**_swap_error(b, True))
    assert ours == theirs
    assert (Message(**a) != Message(**b)) == (not theirs)


def test_unhashable_like_confluent() -> None:
    with pytest.raises(TypeError):
        hash(CM())
    with pytest.raises(TypeError):
        hash(Message())


def test_hot_path_constructor_equals_public_one() -> None:
    fast = _new_message("t", 2, 41, b"k", b"value", [("h", b"1")], (rdpy.TIMESTAMP_CREATE_TIME, 1700), 5)
    public = Message("t", 2, 41, b"k", b"value", [("h", b"1")], None, (1, 1700), -1.0, 5)
    assert _view(fast) == _view(public)
    assert fast == public
    no_headers = _new_message("t", 0, 0, None, None, None, (0, 0), None)
    assert _view(no_headers) == _view(CM(topic="t", partition=0, offset=0))


def test_event_constructor() -> None:
    ev = _new_event(KafkaError(KafkaError._PARTITION_EOF), "t", 0, 10)
    theirs = CM(topic="t", partition=0, offset=10, error=CK(CK._PARTITION_EOF))
    assert _view(ev) == _view(theirs)
    assert ev.error() == KafkaError._PARTITION_EOF


def test_slots_no_dict() -> None:
    with pytest.raises(AttributeError):
        Message().__dict__  # noqa: B018
    with pytest.raises(AttributeError):
        Message().foo = 1  # type: ignore[attr-defined]


def test_same_public_methods_as_confluent() -> None:
    ours = {n for n in dir(Message) if not n.startswith("_")}
    theirs = {n for n in dir(CM) if not n.startswith("_")}
    assert ours == theirs
