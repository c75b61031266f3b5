"""rdpy.errors against the real thing: the bundled librdkafka (ctypes) and confluent_kafka.KafkaError."""

from __future__ import annotations

import ctypes
import glob
import os
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import confluent_kafka

from rdpy.errors import ErrorCode, KafkaError, KafkaException, err2name, err2str
from tests.support.clients import outcome

CK = confluent_kafka.KafkaError


def _librdkafka() -> ctypes.CDLL:
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    paths = glob.glob(os.path.join(libs_dir, "librdkafka-*.so.1"))
    if not paths:
        pytest.skip(f"no bundled librdkafka in {libs_dir}")
    lib = ctypes.CDLL(paths[0])
    lib.rd_kafka_err2str.restype = ctypes.c_char_p
    lib.rd_kafka_err2str.argtypes = [ctypes.c_int]
    lib.rd_kafka_err2name.restype = ctypes.c_char_p
    lib.rd_kafka_err2name.argtypes = [ctypes.c_int]
    return lib


class _ErrDesc(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("name", ctypes.c_char_p), ("desc", ctypes.c_char_p)]


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    return _librdkafka()


@pytest.fixture(scope="module")
def lib_descs(lib: ctypes.CDLL) -> dict[int, tuple[str, str | None]]:
    arr = ctypes.POINTER(_ErrDesc)()
    cnt = ctypes.c_size_t()
    lib.rd_kafka_get_err_descs(ctypes.byref(arr), ctypes.byref(cnt))
    out: dict[int, tuple[str, str | None]] = {}
    for i in range(cnt.value):
        d = arr[i]
        if d.name:
            out[d.code] = (d.name.decode(), d.desc.decode() if d.desc else None)
    assert len(out) > 150
    return out


def test_error_codes_match_librdkafka(lib_descs: dict[int, tuple[str, str | None]]) -> None:
    ours = {m.value: m.name for m in ErrorCode}  # aliases (NOT_LEADER_OR_FOLLOWER) map to canonical
    assert ours == {code: name for code, (name, _) in lib_descs.items()}


def test_descriptions_match_librdkafka(lib_descs: dict[int, tuple[str, str | None]]) -> None:
    for code, (name, desc) in lib_descs.items():
        if desc is None:  # _BEGIN / _END: markers, described like unknown codes (tested below)
            continue
        assert err2name(code) == name
        assert err2str(code) == desc, name
        assert KafkaError(code).str() == desc


def test_alias_not_leader_or_follower() -> None:
    alias = ErrorCode["NOT_LEADER_OR_FOLLOWER"]
    assert alias is ErrorCode.NOT_LEADER_FOR_PARTITION
    assert int(ErrorCode._INVALID_ARG) == -186


@pytest.mark.parametrize("code", list(range(-260, 200)) + [2**31 - 1, -(2**31), 1000, -1000])
def test_err2name_err2str_match_librdkafka_everywhere(lib: ctypes.CDLL, code: int) -> None:
    assert err2name(code) == lib.rd_kafka_err2name(code).decode()
    assert err2str(code) == lib.rd_kafka_err2str(code).decode()


def _constants(cls: type) -> dict[str, int]:
    return {
        n: getattr(cls, n)
        for n in dir(cls)
        if not n.startswith("__") and n.lstrip("_")[:1].isupper() and isinstance(getattr(cls, n), int)
    }


def test_class_constants_match_confluent() -> None:
    theirs = _constants(CK)
    ours = _constants(KafkaError)
    assert len(theirs) > 150
    assert ours == theirs
    assert all(type(v) is int for v in ours.values())



def _view(e: Any) -> tuple[Any, ...]:
    return (repr(e), str(e), e.code(), e.name(), e.str(), e.fatal(), e.retriable(), e.txn_requires_abort())


ALL_CODES = sorted({v for v in _constants(CK).values()})


@pytest.mark.parametrize("code", ALL_CODES + [-200, -100, -137 - 1, 98, 134, 5000, -5000])
def test_kafkaerror_default_views_match_confluent(code: int) -> None:
    assert _view(KafkaError(code)) == _view(CK(code))


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((5, "boom"), {}),
        ((5, "boom", True), {}),
        ((5, "boom", True, True, True), {}),
        ((-192, None, False, True), {}),
        ((-192,), {"fatal": True, "retriable": True, "txn_requires_abort": True}),
        ((-192, ""), {}),
        ((-192, 'with "quotes"'), {}),
        ((), {"error": 3}),
        ((0,), {}),
        ((True,), {}),
        ((5, 1), {}),
        ((5, "x", "y"), {}),
        (("x",), {}),
        ((None,), {}),
        ((2**40,), {}),
        ((-(2**40),), {}),
        ((), {}),
        ((5,), {"fatal": 1, "retriable": 0}),
    ],
)
def test_kafkaerror_construction_matches_confluent(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours = outcome(lambda: _view(KafkaError(*args, **kwargs)))
    theirs = outcome(lambda: _view(CK(*args, **kwargs)))
    if theirs[0] == "ok":
        assert ours == theirs
    else:
        assert ours[0] == theirs[0]  # same exception type; messages may differ slightly


@settings(max_examples=300, deadline=None)
@given(
    code=st.integers(min_value=-(2**31), max_value=2**31 - 1) | st.sampled_from(ALL_CODES),
    reason=st.none() | st.text(),
    fatal=st.booleans(),
    retriable=st.booleans(),
    txn=st.booleans(),
)
def test_kafkaerror_property_matches_confluent(
    code: int, reason: str | None, fatal: bool, retriable: bool, txn: bool
) -> None:
    if reason is not None and "\x00" in reason:
        reason = reason.replace("\x00", "")  # C strings stop at NUL
    ours = KafkaError(code, reason, fatal, retriable, txn)
    theirs = CK(code, reason, fatal, retriable, txn)
    assert _view(ours) == _view(theirs)


def test_code_keyword_alias() -> None:
    assert KafkaError(code=-186).code() == -186
    with pytest.raises(TypeError):
        KafkaError(5, code=5)


@pytest.mark.parametrize("a", [1, 5, -191])
@pytest.mark.parametrize("b", [1, 5, -191])
def test_comparisons_match_confluent(a: int, b: int) -> None:
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        ours = getattr(KafkaError(a), op)
        theirs = getattr(CK(a), op)
        assert ours(KafkaError(b)) == theirs(CK(b)), op
        assert ours(b) == theirs(b), op
    assert (hash(KafkaError(a)) == hash(b)) == (hash(CK(a)) == hash(b))
    assert hash(KafkaError(a, "r", fatal=True)) == hash(KafkaError(a))


def test_equality_with_constants_like_confluent() -> None:
    err = KafkaError(KafkaError._PARTITION_EOF)
    assert err.code() == KafkaError._PARTITION_EOF
    assert err == KafkaError._PARTITION_EOF
    assert err == ErrorCode._PARTITION_EOF
    assert err != KafkaError._MSG_TIMED_OUT
    assert (err == "x") is False
    assert err != None  # noqa: E711
    with pytest.raises(TypeError):
        _ = err < "x"


def test_kafkaerror_pickles() -> None:
    e = KafkaError(-192, "r", fatal=True, retriable=True, txn_requires_abort=True)
    e2 = pickle.loads(pickle.dumps(e))
    assert _view(e2) == _view(e)


def test_kafkaerror_is_subclassable_like_confluent() -> None:
    class Mine(KafkaError):
        pass

    assert Mine(5).name() == CK(5).name()


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("hello",),
        ("hello", "world"),
        (CK(5),),
        (CK(5), "extra"),
    ],
)
def test_kafkaexception_args_like_confluent(args: tuple[Any, ...]) -> None:
    ours_args = tuple(KafkaError(a.code(), a.str()) if isinstance(a, CK) else a for a in args)
    ours = KafkaException(*ours_args)
    theirs = confluent_kafka.KafkaException(*args)
    assert isinstance(ours, Exception)
    assert [repr(a) for a in ours.args] == [repr(a) for a in theirs.args]
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


def test_kafkaexception_from_code_holds_kafkaerror() -> None:
    # Documented difference: confluent-kafka keeps the raw int in args[0]; rdpy wraps it.
    e = KafkaException(KafkaError._MSG_TIMED_OUT)
    assert isinstance(e.args[0], KafkaError)
    assert repr(e.args[0]) == repr(CK(CK._MSG_TIMED_OUT))
    e = KafkaException(5, "reason")
    assert e.args == (KafkaError(5, "reason"),)
    assert e.args[0].str() == "reason"
    with pytest.raises(KafkaException) as ei:
        raise KafkaException(KafkaError(-186, "bad config"))
    assert ei.value.args[0].code() == KafkaError._INVALID_ARG
