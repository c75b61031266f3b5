"""The roundrobin and range assignors on librdkafka's shared cases (ut_assignors in
src/rdkafka_assignor.c), and roundrobin's own ordering rules (rdkafka_roundrobin_assignor.c):
topics by name, members by member_cmp, one cursor across topics.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import sys
from typing import Any

import pytest

from rdpy.client.group.assignors import (
    Member,
    TopicMetadata,
    assign_range,
    assign_roundrobin,
)
from rdpy.client.group.assignors.common import c_qsort, member_cmp

# (topics in metadata order, members (id, subscription), expected per assignor)
UT_ASSIGNORS = {
    "symmetrical subscription": (
        [("a", 3), ("b", 4), ("c", 2), ("d", 1)],
        [("consumer1", ["d", "b", "a", "c"]), ("consumer2", ["a", "b", "c", "d"])],
        {"range": ["a:0 a:1 b:0 b:1 c:0 d:0", "a:2 b:2 b:3 c:1"],
         "roundrobin": ["a:0 a:2 b:1 b:3 c:1", "a:1 b:0 b:2 c:0 d:0"]}),
    "1*3 partitions (asymmetrical)": (
        [("a", 3)],
        [("consumer1", ["a", "b", "c"]), ("consumer2", ["a"])],
        {"range": ["a:0 a:1", "a:2"], "roundrobin": ["a:0 a:2", "a:1"]}),
    "#2121 (asymmetrical)": (
        [(t, 1) for t in "abcdefghijkl"],
        [("consumer1", list("abcdefghijkl")), ("consumer2", list("bdfhl"))],
        {"range": ["a:0 b:0 c:0 d:0 e:0 f:0 g:0 h:0 i:0 j:0 k:0 l:0", ""],
         "roundrobin": ["a:0 c:0 e:0 g:0 i:0 j:0 k:0", "b:0 d:0 f:0 h:0 l:0"]}),
}

ASSIGNORS = {"range": assign_range, "roundrobin": assign_roundrobin}


def _flat(assignment: dict[str, list[int]]) -> list[str]:
    return [f"{t}:{p}" for t, ps in sorted(assignment.items()) for p in ps]


@pytest.mark.parametrize("case", UT_ASSIGNORS)
@pytest.mark.parametrize("name", ASSIGNORS)
def test_librdkafka_ut_assignors(case: str, name: str) -> None:
    topics, members, expected = UT_ASSIGNORS[case]
    md = [TopicMetadata(t, n) for t, n in topics]
    # As the C test: group.instance.id = member id.
    ms = [Member(mid, mid, tuple(sub)) for mid, sub in members]
    result = ASSIGNORS[name](ms, md)
    assert [_flat(result[mid]) for mid, _ in members] == [e.split() for e in expected[name]]


def test_roundrobin_cursor_carries_over_topics() -> None:
    # Kafka's javadoc example: t0p0 t0p2 t1p1 / t0p1 t1p0 t1p2.
    ms = [Member("C1", topics=("t1", "t0")), Member("C0", topics=("t0", "t1"))]
    result = assign_roundrobin(ms, [TopicMetadata("t1", 3), TopicMetadata("t0", 3)])
    assert result == {"C0": {"t0": [0, 2], "t1": [1]}, "C1": {"t0": [1], "t1": [0, 2]}}


def test_roundrobin_skips_members_not_subscribed() -> None:
    ms = [Member("m1", topics=("x",)), Member("m2", topics=("y",)), Member("m3", topics=("x",))]
    result = assign_roundrobin(ms, [TopicMetadata("x", 4), TopicMetadata("y", 2)])
    assert result == {"m1": {"x": [0, 2]}, "m2": {"y": [0, 1]}, "m3": {"x": [1, 3]}}


def test_regex_subscriptions_match_topics() -> None:
    ms = [Member("m1", topics=("^t.*",)), Member("m2", topics=("t2",))]
    md = [TopicMetadata("t1", 2), TopicMetadata("t2", 2), TopicMetadata("u", 1)]
    assert assign_roundrobin(ms, md) == {"m1": {"t1": [0, 1], "t2": [1]}, "m2": {"t2": [0]}}
    assert assign_range(ms, md) == {"m1": {"t1": [0, 1], "t2": [0]}, "m2": {"t2": [1]}}


def _glibc_qsort_order(members: list[Member]) -> list[str]:
    """The order the C library's qsort() puts `members` in under member_cmp (ctypes)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                ctypes.POINTER(ctypes.c_int))

    def cmp(a: Any, b: Any) -> int:
        return member_cmp(members[a[0]], members[b[0]])

    arr = (ctypes.c_int * len(members))(*range(len(members)))
    libc.qsort(arr, len(members), ctypes.sizeof(ctypes.c_int), cmp_type(cmp))
    return [members[i].member_id for i in arr]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's qsort")
def test_member_cmp_mixed_static_and_dynamic_sorts_as_glibc() -> None:
    # member_cmp is not transitive in a mix of static and dynamic members: c < a by instance
    # id, a < b and b < c by member id. The order then depends on the sort algorithm.
    pool = [Member("a", "z"), Member("b", None), Member("c", "y"), Member("d", None),
            Member("e", "x"), Member("f", "w"), Member("g", None)]
    for perm in itertools.islice(itertools.permutations(pool), 0, 5040, 7):
        members = list(perm)
        assert ([m.member_id for m in c_qsort(members, member_cmp)]
                == _glibc_qsort_order(members))
