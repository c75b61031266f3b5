"""rdpy.TopicPartition side by side with confluent_kafka.TopicPartition."""

from __future__ import annotations

import pickle
import random
from typing import Any, Callable

import confluent_kafka
import pytest

from rdpy import KafkaError, TopicPartition
from tests.support.clients import outcome

CTP = confluent_kafka.TopicPartition


def _view(tp: Any) -> tuple[Any, ...]:
    return (repr(tp), str(tp), tp.topic, tp.partition, tp.offset, tp.metadata, tp.leader_epoch,
            tp.error)


CASES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("t",), {}),
    (("t", 0), {}),
    (("t", 3, 42), {}),
    (("t", 3, 42, "md"), {}),
    (("t", 3, 42, "md", 7), {}),
    (("t", 3, 42, "md", -1), {}),
    (("t", 3, 42, "md", -5), {}),
    (("t", 3, 42, "md", 0), {}),
    (("t",), {"partition": 1, "offset": -2, "metadata": "m", "leader_epoch": 2}),
    (("tü-ñ",), {}),
    (("",), {}),
    (("t", -5, -5000), {}),
    (("t", True), {}),
    (("t", 0, True), {}),
    (("t", 2**31 - 1, 2**63 - 1), {}),
    (("t", -(2**31), -(2**63)), {}),
    # errors
    ((1,), {}),
    ((None,), {}),
    ((b"t",), {}),
    (("t", "0"), {}),
    (("t", 0, "5"), {}),
    (("t", 0, 5, 5), {}),
    (("t", 0, 5, "m", "x"), {}),
    (("t", 2**31), {}),
    (("t", -(2**31) - 1), {}),
    (("t", 0, 2**63), {}),
    (("t", 0, 2**70), {}),
    (("t", 0.5), {}),
    ((), {}),
    (("t", 0, 5, "m", 2, 9), {}),
    (("t",), {"bogus": 1}),
]


@pytest.mark.parametrize("args, kwargs", CASES)
def test_construction_matches_confluent(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours = outcome(lambda: _view(TopicPartition(*args, **kwargs)))
    theirs = outcome(lambda: _view(CTP(*args, **kwargs)))
    if theirs[0] == "ok":
        assert ours == theirs
    else:
        assert ours[0] == theirs[0], (ours, theirs)


def test_explicit_none_defaults_are_accepted() -> None:
    # Documented superset: confluent-kafka rejects explicit None for these, rdpy takes its defaults.
    tp = TopicPartition("t", 0, 5, None, None)
    assert _view(tp) == _view(CTP("t", 0, 5))


@pytest.mark.parametrize(
    "attr, value",
    [("partition", 3), ("partition", True), ("offset", 7), ("offset", -2), ("partition", "1"),
     ("offset", "x"), ("offset", 2**63), ("topic", "x"), ("metadata", "z"),
     ("leader_epoch", 4), ("error", None), ("foo", 1)],
)
def test_attribute_assignment_matches_confluent(attr: str, value: Any) -> None:
    ours, theirs = TopicPartition("t", 0, 5, "m", 2), CTP("t", 0, 5, "m", 2)

    def assign(tp: Any) -> Callable[[], Any]:
        def f() -> Any:
            setattr(tp, attr, value)
            return _view(tp)

        return f

    o, t = outcome(assign(ours)), outcome(assign(theirs))
    if t[0] == "ok":
        assert o == t
    else:
        assert o[0] == t[0], (o, t)


PAIRS = [
    (("t", 0), ("t", 0)),
    (("t", 0), ("t", 0, 5, "m", 3)),
    (("t", 0), ("t", 1)),
    (("t", 1), ("t", 0)),
    (("a", 9), ("b", 0)),
    (("b", 0), ("a", 9)),
    (("t", -1), ("t", 0)),
    (("", 0), ("a", 0)),
]


@pytest.mark.parametrize("a, b", PAIRS)
def test_comparisons_match_confluent(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    oa, ob = TopicPartition(*a), TopicPartition(*b)
    ta: Any = CTP(*a)
    tb: Any = CTP(*b)
    assert (oa == ob, oa != ob, oa < ob, oa <= ob, oa > ob, oa >= ob) == (
        ta == tb, ta != tb, ta < tb, ta <= tb, ta > tb, ta >= tb)
    assert (hash(oa) == hash(ob)) == (hash(ta) == hash(tb))


def test_sorting_and_sets_match_confluent() -> None:
    rng = random.Random(7)
    keys = [(rng.choice(["a", "b", "topic", "t2", ""]), rng.randint(-1, 5)) for _ in range(200)]
    ours = [repr(tp) for tp in sorted(TopicPartition(t, p, rng.randint(-2, 9)) for t, p in keys)]
    theirs = [repr(tp) for tp in sorted(CTP(t, p) for t, p in keys)]
    assert [r.split(",offset")[0] for r in ours] == [r.split(",offset")[0] for r in theirs]
    # (confluent-kafka fails to hash an empty topic name, so sets are compared without it)
    keys = [(t, p) for t, p in keys if t]
    assert len({TopicPartition(t, p) for t, p in keys}) == len({CTP(t, p) for t, p in keys})
    d = {TopicPartition("t", 0): 1}
    assert d[TopicPartition("t", 0, 99)] == 1


def test_partition_out_of_range_raises() -> None:
    # confluent-kafka silently truncates an out-of-range partition assignment (RuntimeWarning);
    # rdpy refuses it like the constructor does.
    tp = TopicPartition("t", 0)
    with pytest.raises(OverflowError):
        tp.partition = 2**31
    assert tp.partition == 0


def test_comparison_with_other_types() -> None:
    tp = TopicPartition("t", 0)
    assert (tp == ("t", 0)) is False
    assert tp != ("t", 0)
    with pytest.raises(TypeError):
        _ = tp < 5  # type: ignore[operator]


def test_error_repr_and_internal_constructor() -> None:
    err = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
    tp = TopicPartition._make("t", 2, 10, "m", 4, err)
    assert tp.error is err
    assert repr(tp) == (
        "TopicPartition{topic=t,partition=2,offset=10,leader_epoch=4,error="
        + repr(confluent_kafka.KafkaError(confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)) + "}"
    )
    assert TopicPartition._make("t", 2, leader_epoch=-1).leader_epoch is None


def test_pickle_round_trip() -> None:
    tp = TopicPartition._make("t", 2, 10, "m", 4, KafkaError(3))
    tp2 = pickle.loads(pickle.dumps(tp))
    assert _view(tp2) == _view(tp)


def test_slots_no_dict() -> None:
    with pytest.raises(AttributeError):
        TopicPartition("t").__dict__  # noqa: B018
