"""rdpy.stats.window against librdkafka: its captured stats output, its histogram's own unit-test
vectors (src/rdhdrhistogram.c), hand-computed slot arithmetic, and exact statistics of random data.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdpy.stats.schema import WINDOW_KEYS, WINDOWS
from rdpy.stats.window import HdrHistogram, Window, WindowStats

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
QUANTILES = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99_99": 99.99}


def _captured_windows() -> Iterator[tuple[str, str, dict[str, int]]]:
    """(file, dotted path, window object) for every window in the captured librdkafka output."""
    for name in ("librdkafka_stats_producer.json", "librdkafka_stats_consumer.json"):
        with open(os.path.join(DATA, name)) as f:
            doc = json.load(f)
        stack: list[tuple[str, object]] = [("", doc)]
        while stack:
            path, obj = stack.pop()
            if not isinstance(obj, dict):
                continue
            if "hdrsize" in obj:
                yield name, path, obj
                continue
            for k, v in obj.items():
                stack.append((f"{path}.{k}" if path else k, v))


CAPTURED = list(_captured_windows())


def _window_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


# --- the shape -----------------------------------------------------------------------------------


def test_stats_fields_are_the_schema_window_keys_in_order() -> None:
    keys = [k for k, _ in WINDOW_KEYS]
    assert list(WindowStats._fields) == keys
    assert list(Window(0, 1000).rollover().as_dict()) == keys
    for _, _, captured in CAPTURED:
        assert list(captured) == keys


def test_captured_data_has_every_window() -> None:
    assert {_window_name(p) for _, p, _ in CAPTURED} == set(WINDOWS)


# --- hdrsize -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_hdrsize_equals_librdkafka_for_every_window(name: str) -> None:
    # batchsize/batchcnt take hi from message.max.bytes / batch.num.messages; the captures
    # used the defaults, which are the specs' his.
    ours = Window.from_spec(WINDOWS[name]).rollover().hdrsize
    theirs = {w["hdrsize"] for _, p, w in CAPTURED if _window_name(p) == name}
    assert theirs == {ours}


def test_hdrsize_known_values() -> None:
    # Independent of the captures: 112-byte header + 8 bytes per slot, 128 slots per bucket.
    assert Window(0, 100_000).hdrsize == 112 + 8 * 128 * 11
    assert Window(0, 500_000).hdrsize == 13424
    assert Window(0, 5_000_000).hdrsize == 17520
    assert Window(0, 1_000_000).hdrsize == 14448
    assert Window(0, 10_000).hdrsize == 8304
    # Every hi in (8192, 16384] needs the same 7 buckets: other batch.num.messages values
    # librdkafka accepts give the same hdrsize, a larger one a larger block.
    assert Window(0, 8193).hdrsize == Window(0, 16384).hdrsize == 8304
    assert Window(0, 16385).hdrsize == 8304 + 8 * 128
    assert Window(0, 1_000_000).rollover().hdrsize == Window(0, 1_048_576).hdrsize


# --- librdkafka's own histogram tests (src/rdhdrhistogram.c unittest_rdhdrhistogram) ----------


@pytest.fixture(scope="module")
def million() -> HdrHistogram:
    h = HdrHistogram(1, 10_000_000, 3)
    for i in range(1_000_000):
        assert h.record(i)
    return h


def test_rd_quantile_vectors(million: HdrHistogram) -> None:
    expected = {50: 500223, 75: 750079, 90: 900095, 95: 950271, 99: 990207, 99.9: 999423,
                99.99: 999935}
    assert {q: million.quantile(q) for q in expected} == expected


def test_rd_mean_stddev_min_max_totalcount(million: HdrHistogram) -> None:
    assert million.mean() == pytest.approx(500000.013312, abs=1e-6)
    assert million.stddev() == pytest.approx(288675.140368, abs=1e-6)
    assert million.max() == 1000447
    assert million.min() == 0
    assert million.total_count == 1_000_000


def test_rd_reset() -> None:
    h = HdrHistogram(1, 10_000_000, 3)
    for i in range(1000):
        h.record(i)
    h.reset()
    assert h.max() == 0 and h.total_count == 0


def test_rd_high_sigfig() -> None:
    h = HdrHistogram(459876, 12718782, 5)
    for v in (459876, 669187, 711612, 816326, 931423, 1033197, 1131895, 2477317, 3964974,
              12718782):
        h.record(v)
    assert h.quantile(50) == 1048575


def test_rd_subbucketmask_overflow() -> None:
    h = HdrHistogram(20_000_000, 100_000_000, 5)
    for v in (100_000_000, 20_000_000, 30_000_000):
        assert h.record(v)
    assert [h.quantile(q) for q in (50, 83.33, 83.34, 99)] == [33554431] * 2 + [100663295] * 2


def test_rd_unitmagnitude_overflow_and_sigfigs() -> None:
    assert HdrHistogram(0, 200, 4).record(11)
    for s in range(1, 6):
        assert HdrHistogram(1, 10, s).significant_figures == s
    for bad in (0, 6):
        with pytest.raises(ValueError):
            HdrHistogram(1, 10, bad)
    h = HdrHistogram(2, 11, 3)
    assert (h.lowest_trackable_value, h.highest_trackable_value) == (2, 11)
    assert h.mean() == 0.0 and h.stddev() == 0.0  # not NaN on an empty histogram


# --- slot arithmetic by hand ---------------------------------------------------------------------
# sigfigs 2, lo 0: 256 unit slots for 0..255, then buckets of 128 slots each twice as wide:
# 256..511 in steps of 2, 512..1023 in steps of 4, 1024..2047 in steps of 8, ...


@pytest.mark.parametrize(
    "value, lowest, highest",
    [
        (0, 0, 0),
        (255, 255, 255),
        (256, 256, 257),
        (257, 256, 257),
        (300, 300, 301),
        (511, 510, 511),
        (512, 512, 515),
        (1001, 1000, 1003),
        (1024, 1024, 1031),
        (4799, 4768, 4799),
        (4800, 4800, 4831),
    ],
)
def test_equivalent_values_by_hand(value: int, lowest: int, highest: int) -> None:
    h = HdrHistogram(0, 100_000, 2)
    assert h.lowest_equivalent_value(value) == lowest
    assert h.highest_equivalent_value(value) == highest
    assert h.median_equivalent_value(value) == lowest + (highest - lowest + 1) // 2


def test_quantiles_by_hand() -> None:
    w = Window(0, 100_000)
    for v in (10, 300, 1001, 5000):
        w.add(v)
    s = w.rollover()
    # rank = int(q/100 * 4 + 0.5): p50 -> 2nd value, p75 -> 3rd, p90 and up -> 4th.
    # 5000 sits in 4992..5023 (steps of 32).
    assert (s.p50, s.p75, s.p90, s.p95, s.p99, s.p99_99) == (301, 1003, 5023, 5023, 5023, 5023)
    # stddev from slot middles: 10, 300+1, 1000+2, 4992+16 -> mean 1580.25
    mids = [10, 301, 1002, 5008]
    assert s.stddev == int(statistics.pstdev(mids))
    assert (s.min, s.max, s.sum, s.cnt, s.avg) == (10, 5000, 6311, 4, 1577)


def test_one_value_rank_rounds_half_up() -> None:
    w = Window(0, 100_000)
    w.add(7)
    s = w.rollover()
    assert (s.p50, s.p99_99, s.min, s.max, s.stddev) == (7, 7, 7, 7, 0)


def test_captured_percentiles_are_slot_tops() -> None:
    # Every percentile librdkafka printed is the highest value of its slot, and for windows of
    # under 5000 values p99.99 ranks last, so it is the top of max's slot.
    for _, path, w in CAPTURED:
        spec = WINDOWS[_window_name(path)]
        h = HdrHistogram(spec.lo, spec.hi, spec.sigfigs)
        for key in QUANTILES:
            assert h.highest_equivalent_value(w[key]) == w[key], (path, key)
        if 0 < w["cnt"] < 5000 and w["outofrange"] == 0:
            assert w["p99_99"] == h.highest_equivalent_value(w["max"]), path


def test_reproduces_captured_group_coordinator_rtt() -> None:
    # The consumer's GroupCoordinator rtt window: 4 round trips in range and one JoinGroup
    # held by the broker for ~3 s, beyond rtt's 0..500000 µs histogram.  sum and the shown
    # percentiles pin the values down to 26, 30, 31, 44 and 3001422.
    captured = next(w for _, p, w in CAPTURED if p.endswith("GroupCoordinator.rtt"))
    w = Window.from_spec(WINDOWS["rtt"])
    for v in (26, 30, 31, 44, 3001422):
        w.add(v)
    assert w.rollover().as_dict() == captured


# --- exact statistics and precision on random data -----------------------------------------------


def _exact_quantile(sorted_values: list[int], q: float) -> int:
    rank = int(q / 100.0 * len(sorted_values) + 0.5)
    return sorted_values[max(rank, 1) - 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=131_071), min_size=1, max_size=400))
def test_random_windows_match_exact_statistics(values: list[int]) -> None:
    w = Window(0, 100_000)  # 0..131071 is in range: the last bucket reaches 2**17 - 1
    for v in values:
        w.add(v)
    s = w.rollover()
    # librdkafka takes a minimum of 0 for "unset": a 0 is replaced by whatever value follows
    # it, so the reported min is that of the values after the last 0 (0 if a 0 came last).
    last_zero = max((i for i, v in enumerate(values) if v == 0), default=None)
    if last_zero is None:
        expected_min = min(values)
    else:
        expected_min = min(values[last_zero + 1 :], default=0)
    assert s.cnt == len(values)
    assert s.sum == sum(values)
    assert s.max == max(values)
    assert s.avg == sum(values) // len(values)
    assert s.min == expected_min
    assert s.outofrange == 0
    ordered = sorted(values)
    for key, q in QUANTILES.items():
        exact = _exact_quantile(ordered, q)
        got = getattr(s, key)
        # within 2 significant digits above the exact order statistic ...
        assert exact <= got <= exact + max(exact // 128, 0) + 1, (key, exact, got)
        # ... and precisely the top of its slot, as HdrHistogram reports
        assert got == HdrHistogram(0, 100_000).highest_equivalent_value(exact)
    assert abs(s.stddev - statistics.pstdev(values)) <= max(values) / 128 + 1


def test_large_random_window_seeded() -> None:
    rng = random.Random(20240611)
    values = [int(rng.lognormvariate(8, 1.2)) for _ in range(20_000)]
    values = [v for v in values if v < 5_000_000]
    w = Window.from_spec(WINDOWS["throttle"])
    for v in values:
        w.add(v)
    s = w.rollover()
    ordered = sorted(values)
    for key, q in QUANTILES.items():
        exact = _exact_quantile(ordered, q)
        assert exact <= getattr(s, key) <= exact * 1.008 + 1, key
    assert s.stddev == pytest.approx(statistics.pstdev(values), rel=0.005)
    assert (s.cnt, s.sum, s.max, s.min) == (len(values), sum(values), max(values), min(values))


def test_min_quirk_zero_means_unset() -> None:
    w = Window(0, 1000)
    for v in (0, 7, 3):
        w.add(v)
    assert w.rollover().min == 3
    for v in (5, 0):
        w.add(v)
    assert w.rollover().min == 0
    for v in (1, 0, 2):
        w.add(v)
    assert w.rollover().min == 2


def test_avg_truncates_like_c() -> None:
    w = Window(0, 1000)
    for v in (1, 2):
        w.add(v)
    assert w.rollover().avg == 1
    for v in (-3, -4):  # rd_avg_calc divides int64s: -7 / 2 == -3 in C
        w.add(v)
    s = w.rollover()
    assert (s.avg, s.sum, s.outofrange, s.max) == (-3, -7, 2, 0)


def test_empty_window_is_zero_except_hdrsize() -> None:
    for name, spec in WINDOWS.items():
        d = Window.from_spec(spec).rollover().as_dict()
        hdrsize = d.pop("hdrsize")
        assert hdrsize > 0 and set(d.values()) == {0}, name


def test_rollover_starts_a_new_period() -> None:
    w = Window(0, 1000)
    for v in (5, 6, 7):
        w.add(v)
    first = w.rollover()
    w.add(100)
    second = w.rollover()
    assert (first.cnt, first.sum, first.max) == (3, 18, 7)
    assert (second.cnt, second.sum, second.min, second.max, second.p50) == (1, 100, 100, 100, 100)
    assert w.rollover().cnt == 0


# --- out of range, and the growth on rollover (rdavg.h) ------------------------------------------


def test_out_of_range_counted_and_range_grows() -> None:
    w = Window(0, 1000)  # slots reach 1023: 256 << 2 == 1024 is the first value without one
    assert (w.hi, w.hdrsize) == (1000, 112 + 8 * 128 * 4)
    for v in (10, 20, 1023, 5000):
        w.add(v)
    s = w.rollover()
    assert (s.outofrange, s.cnt, s.max, s.sum) == (1, 4, 5000, 6053)
    assert s.p99_99 == 1023  # the out-of-range value is in max/sum/avg, not in percentiles
    assert s.hdrsize == 112 + 8 * 128 * 4  # the size of the histogram that was used
    # next period: hi = 5000 + 20% of (5000 - 1000), a new histogram, out-of-range forgotten
    assert w.hi == 5800
    w.add(5000)
    s = w.rollover()
    assert (s.outofrange, s.p50, s.hdrsize) == (0, 5023, 112 + 8 * 128 * 7)
    assert w.hi == 5800  # nothing out of range: the range stays


def test_negative_values_grow_the_low_end() -> None:
    w = Window(0, 1000)
    for v in (10, -100):
        w.add(v)
    s = w.rollover()
    assert (s.outofrange, s.min, s.cnt) == (1, -100, 2)
    assert (w.lo, w.hi) == (-100 + 20, 1000)


def test_all_out_of_range_period_keeps_range_and_count() -> None:
    # librdkafka adapts the range only after a period that counted something in range; until
    # then the same histogram carries on and its out-of-range count is reported again.
    w = Window(0, 1000)
    w.add(5000)
    s = w.rollover()
    assert (s.outofrange, s.cnt, w.hi) == (1, 1, 1000)
    w.add(10)
    s = w.rollover()
    assert (s.outofrange, s.cnt, s.max) == (1, 1, 10)
    assert w.hi == 5800  # the remembered 5000 now grows the range
    w.add(10)
    assert w.rollover().outofrange == 0


def test_value_at_exact_untrackable_bound_sticks() -> None:
    # hi == 512 == 256 << 1: 512 itself has no slot, yet is not above hi, so the range never
    # grows and the histogram is only reset, which keeps its out-of-range count: librdkafka
    # reports it again every period.
    w = Window(0, 512)
    w.add(511)
    w.add(512)
    assert w.rollover().outofrange == 1
    assert w.hi == 512
    w.add(3)
    assert w.rollover().outofrange == 1


def test_from_spec_takes_the_configured_hi() -> None:
    spec = WINDOWS["batchcnt"]
    assert spec.hi_property == "batch.num.messages"
    assert Window.from_spec(spec, hi=100_000).hi == 100_000
    assert Window.from_spec(spec).hi == spec.hi


# --- threads ---------------------------------------------------------------------------------


def test_concurrent_add_and_rollover_lose_at_most_a_boundary_value_per_rollover() -> None:
    w = Window(0, 100_000)
    n = 200_000
    done = threading.Event()

    def producer() -> None:
        for i in range(n):
            w.add(i % 1000)
        done.set()

    totals: list[WindowStats] = []
    t = threading.Thread(target=producer)
    t.start()
    while not done.is_set():
        totals.append(w.rollover())
    t.join()
    totals.append(w.rollover())
    counted = sum(s.cnt for s in totals)
    assert n - len(totals) <= counted <= n
    for s in totals:  # every report is internally consistent enough to publish
        assert s.p50 <= s.p75 <= s.p90 <= s.p95 <= s.p99 <= s.p99_99
