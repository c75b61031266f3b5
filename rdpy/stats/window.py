"""Rolling statistics windows: librdkafka's ``rd_avg_t`` and its HDR histogram, in pure Python.

A window collects one period of values (latencies, batch sizes...) between two statistics
emissions.  ``Window.rollover()`` closes the period and returns the object librdkafka writes for
``int_latency``, ``rtt``, ``batchsize`` and the other windows: exact min/max/sum/cnt, the integer
average, and stddev and percentiles read from an HDR histogram.

The histogram follows the one librdkafka carries (src/rdhdrhistogram.c, itself derived from the
Go HdrHistogram): a value range [lo, hi] and a number of significant figures fix a bucket layout
in which every value is counted in a slot whose width grows with the value, so that a slot never
spans more than about 1% of its values for 2 significant figures.  Percentiles report the
*highest* value that shares a slot with the value found at the percentile's rank; stddev and the
mean use each slot's middle value.  What rdpy must reproduce to the unit, because monitoring
compares the numbers, is written down at each function.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rdpy.stats.schema import WINDOW_KEYS, WindowSpec

__all__ = ["HdrHistogram", "Window", "WindowStats"]

# sizeof(rd_hdr_histogram_t) on LP64 platforms: eight int64 fields, the counts pointer and six
# int32 fields (the last, allocatedSize, padded to 8).  librdkafka allocates the header and the
# counts array in one block and reports that block's size as "hdrsize"; monitoring built on it
# sees these exact numbers, e.g. 13424 for rtt's 0..500000.
_HDR_HEADER_BYTES = 112
_COUNT_BYTES = 8  # one int64 per slot

# The quantiles a window reports, in the order of WINDOW_KEYS.
_QUANTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99_99", 99.99),
)

# Range growth after a period with out-of-range values: the new bound is the extreme value
# seen plus this share of its distance to the old bound (rdavg.h's "+ 20%").
_GROWTH = 0.2


class HdrHistogram:
    """librdkafka's HDR histogram (``rd_hdr_histogram_t``) for values in [lo, hi].

    Thread: not thread-safe by itself; ``Window`` decides who touches it when.
    """

    __slots__ = (
        "lowest_trackable_value",
        "highest_trackable_value",
        "significant_figures",
        "unit_magnitude",
        "sub_bucket_half_count_magnitude",
        "sub_bucket_half_count",
        "sub_bucket_mask",
        "sub_bucket_count",
        "bucket_count",
        "counts_len",
        "allocated_size",
        "counts",
        "out_of_range_count",
        "lowest_out_of_range",
        "highest_out_of_range",
        # Derived constants for the inlined slot computation (see _index).
        "_hm1",
        "_off",
    )

    def __init__(self, lo: int, hi: int, sigfigs: int = 2) -> None:
        if not 1 <= sigfigs <= 5:
            # librdkafka returns NULL here; a caller asking for it is a bug.
            raise ValueError(f"significant figures must be 1..5, not {sigfigs}")
        # The float arithmetic mirrors the C code step by step (pow, log2, ceil, floor on
        # doubles): a different but "equivalent" integer formula could pick another layout
        # for some ranges, and the layout decides every reported number including hdrsize.
        single_unit_max = int(2.0 * math.pow(10.0, float(sigfigs)))
        count_magnitude = int(math.ceil(math.log2(float(single_unit_max))))
        half_magnitude = max(count_magnitude, 1) - 1
        # C's log2 of a negative lo is NaN and max(NaN, 0) picks 0; Python's log2 would raise.
        unit = int(math.floor(math.log2(float(lo)))) if lo > 0 else 0
        unit = max(unit, 0)
        count = int(math.pow(2.0, float(half_magnitude) + 1.0))
        # Enough buckets (each doubling the range) for the smallest untrackable value to reach
        # hi.  When it lands exactly on hi, hi itself is out of range, as in librdkafka.
        untrackable = count << unit
        buckets = 1
        while untrackable < hi:
            untrackable <<= 1
            buckets += 1
        counts_len = (buckets + 1) * (count // 2)

        self.lowest_trackable_value = lo
        self.highest_trackable_value = hi
        self.significant_figures = sigfigs
        self.unit_magnitude = unit
        self.sub_bucket_half_count_magnitude = half_magnitude
        self.sub_bucket_half_count = count // 2
        self.sub_bucket_mask = (count - 1) << unit
        self.sub_bucket_count = count
        self.bucket_count = buckets
        self.counts_len = counts_len
        self.allocated_size = _HDR_HEADER_BYTES + _COUNT_BYTES * counts_len
        self.counts = [0] * counts_len
        self.out_of_range_count = 0
        self.lowest_out_of_range = lo
        self.highest_out_of_range = hi
        self._hm1 = half_magnitude + 1
        self._off = unit << half_magnitude

    # --- slot geometry -------------------------------------------------------------------------

    def _index(self, v: int) -> int:
        """Slot of a non-negative value (may be >= counts_len: out of range).

        The C code computes (bucket, sub-bucket) and then the slot; folded together, with
        k = bucket + unit magnitude, the slot is ``((k - unit) << half_magnitude) + (v >> k)``.
        """
        k = (v | self.sub_bucket_mask).bit_length() - self._hm1
        return (k << self.sub_bucket_half_count_magnitude) - self._off + (v >> k)

    def _bucket(self, v: int) -> tuple[int, int]:
        """(bucket index, sub-bucket index) of a non-negative value."""
        b = (v | self.sub_bucket_mask).bit_length() - self._hm1 - self.unit_magnitude
        return b, v >> (b + self.unit_magnitude)

    def value_from_index(self, i: int) -> int:
        """Lowest value counted in slot ``i``."""
        hm = self.sub_bucket_half_count_magnitude
        if i < self.sub_bucket_count:
            b, s = 0, i
        else:
            b, s = (i >> hm) - 1, (i & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count
        return s << (b + self.unit_magnitude)

    def size_of_equivalent_value_range(self, v: int) -> int:
        b, s = self._bucket(v)
        if s >= self.sub_bucket_count:
            b += 1
        return 1 << (self.unit_magnitude + b)

    def lowest_equivalent_value(self, v: int) -> int:
        b, s = self._bucket(v)
        return s << (b + self.unit_magnitude)

    def highest_equivalent_value(self, v: int) -> int:
        """The largest value counted in the same slot as ``v`` (what percentiles report)."""
        return self.lowest_equivalent_value(v) + self.size_of_equivalent_value_range(v) - 1

    def median_equivalent_value(self, v: int) -> int:
        """The middle of ``v``'s slot (what mean and stddev use)."""
        return self.lowest_equivalent_value(v) + (self.size_of_equivalent_value_range(v) >> 1)

    # --- recording -----------------------------------------------------------------------------

    def record(self, v: int) -> bool:
        """Count ``v``; False (and an out-of-range count) when it has no slot."""
        # Negative values have no slot; in C their slot index comes out negative.
        if v >= 0:
            i = self._index(v)
            if i < self.counts_len:
                self.counts[i] += 1
                return True
        self.record_out_of_range(v)
        return False

    def record_out_of_range(self, v: int) -> None:
        self.out_of_range_count += 1
        if v > self.highest_out_of_range:
            self.highest_out_of_range = v
        if v < self.lowest_out_of_range:
            self.lowest_out_of_range = v

    def reset(self) -> None:
        """Forget the recorded values.

        Like librdkafka's reset, the out-of-range count and extremes are kept: they only go
        away with a new histogram (a range change), which Window's rollover relies on.
        """
        self.counts = [0] * self.counts_len

    @property
    def total_count(self) -> int:
        """Values recorded in range (summed, so the hot path has one counter less to keep)."""
        return sum(self.counts)

    # --- reading -------------------------------------------------------------------------------

    def _slots(self) -> list[tuple[int, int]]:
        """(lowest value, count) of every non-empty slot, in value order."""
        counts = self.counts
        return [(self.value_from_index(i), c) for i, c in enumerate(counts) if c]

    def quantile(self, q: float) -> int:
        """``rd_hdr_histogram_quantile``: q in 0..100."""
        slots = self._slots()
        return self._quantile(slots, sum(c for _, c in slots), q)

    def mean(self) -> float:
        slots = self._slots()
        return self._mean(slots, sum(c for _, c in slots))

    def stddev(self) -> float:
        slots = self._slots()
        return self._stddev(slots, sum(c for _, c in slots))

    def max(self) -> int:
        """``rd_hdr_histogram_max``: highest equivalent value of the highest non-empty slot."""
        slots = self._slots()
        top = self.highest_equivalent_value(slots[-1][0]) if slots else 0
        return self.highest_equivalent_value(top)

    def min(self) -> int:
        """``rd_hdr_histogram_min``: lowest equivalent value of the lowest non-empty slot."""
        slots = self._slots()
        first = self.highest_equivalent_value(slots[0][0]) if slots else 0
        return self.lowest_equivalent_value(first)

    def _quantile(self, slots: list[tuple[int, int]], total: int, q: float) -> int:
        if total == 0:
            return 0
        q = min(q, 100.0)
        # The rank is rounded half up from a double, as the C code does, which decides which
        # slot small windows report (e.g. p75 of 4 values is the 3rd one).
        rank = int((q / 100.0) * float(total) + 0.5)
        if rank <= 0:
            # The C iterator stops at the very first slot, empty or not.
            return self.highest_equivalent_value(self.value_from_index(0))
        seen = 0
        for value, c in slots:
            seen += c
            if seen >= rank:
                return self.highest_equivalent_value(value)
        return 0  # unreachable: rank <= total

    def _mean(self, slots: list[tuple[int, int]], total: int) -> float:
        if total == 0:
            return 0.0
        weighted = sum(c * self.median_equivalent_value(v) for v, c in slots)
        return float(weighted) / float(total)

    def _stddev(self, slots: list[tuple[int, int]], total: int) -> float:
        if total == 0:
            return 0.0
        mean = self._mean(slots, total)
        acc = 0.0
        # Same order and float operations as the C loop, so the truncated result is identical.
        for v, c in slots:
            dev = float(self.median_equivalent_value(v)) - mean
            acc += (dev * dev) * float(c)
        return math.sqrt(acc / float(total))


class _Period(HdrHistogram):
    """One period of a window: its histogram plus rd_avg's exact counters.

    Keeping both in one object lets rollover retire a whole period with one assignment.
    """

    __slots__ = ("cnt", "sum", "vmin", "vmax")

    def __init__(self, lo: int, hi: int, sigfigs: int) -> None:
        super().__init__(lo, hi, sigfigs)
        self.cnt = 0
        self.sum = 0
        self.vmin = 0
        self.vmax = 0

    def next_period(self, recorded: bool) -> _Period:
        """The period that follows this one (``recorded``: it counted values in range).

        rdavg.h: after a period that recorded values in range, a range that saw values outside
        it grows by the distance to the extreme value plus 20%, in a new histogram; otherwise
        the histogram is only reset, which keeps its out-of-range statistics.  A period whose
        values were *all* out of range changes nothing (librdkafka only adapts when the
        histogram counted something), so its out-of-range count carries into the next report.
        """
        lo, hi = self.lowest_trackable_value, self.highest_trackable_value
        if recorded:
            below = lo - self.lowest_out_of_range
            if below > 0:
                lo = self.lowest_out_of_range + int(float(below) * _GROWTH)
            above = self.highest_out_of_range - hi
            if above > 0:
                hi = self.highest_out_of_range + int(float(above) * _GROWTH)
        nxt = _Period(lo, hi, self.significant_figures)
        if (lo, hi) == (self.lowest_trackable_value, self.highest_trackable_value):
            nxt.out_of_range_count = self.out_of_range_count
            nxt.lowest_out_of_range = self.lowest_out_of_range
            nxt.highest_out_of_range = self.highest_out_of_range
        return nxt


class WindowStats(NamedTuple):
    """One closed period, with the fields (and order) of librdkafka's window object."""

    min: int
    max: int
    avg: int
    sum: int
    stddev: int
    p50: int
    p75: int
    p90: int
    p95: int
    p99: int
    p99_99: int
    outofrange: int
    hdrsize: int
    cnt: int

    def as_dict(self) -> dict[str, int]:
        """The JSON object for the stats document (keys in WINDOW_KEYS order)."""
        return dict(zip(self._fields, self))


assert WindowStats._fields == tuple(k for k, _ in WINDOW_KEYS), "WindowStats drifted from schema"


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero), which rd_avg_calc uses for avg."""
    q = abs(a) // b
    return q if a >= 0 else -q


class Window:
    """A rolling window: ``add()`` values during a period, ``rollover()`` closes it.

    Threads: one thread adds (a broker thread), another rolls over (the main thread's stats
    timer).  librdkafka takes a mutex in both.  rdpy's add() takes none: all of a period's state
    lives in one ``_Period`` object that add() reads once, and rollover() retires it by binding
    a fresh one in a single assignment, which the GIL makes atomic.  The cost of that choice is
    confined to the boundary: an add() already running when the swap happens finishes on the
    retired period, so at most that one value is missed or counted in only some of cnt/sum/
    histogram.  rollover() copies the retired counts list once (one C-level copy, atomic too)
    and computes every percentile from that copy, so the percentiles stay consistent with each
    other.  Statistics are a sampling instrument and add() runs per message; a lock there would
    cost more (measured in tests/unit/test_stats_window.py) than that one boundary value is
    worth.  rollover() itself must not run concurrently with another rollover().
    """

    __slots__ = ("_p",)

    def __init__(self, lo: int, hi: int, sigfigs: int = 2) -> None:
        self._p = _Period(lo, hi, sigfigs)

    @classmethod
    def from_spec(cls, spec: WindowSpec, hi: int | None = None) -> Window:
        """A window as librdkafka creates it; ``hi``: the value of ``spec.hi_property`` if set."""
        return cls(spec.lo, spec.hi if hi is None else hi, spec.sigfigs)

    @property
    def lo(self) -> int:
        """Lowest trackable value of the current period's histogram."""
        return self._p.lowest_trackable_value

    @property
    def hi(self) -> int:
        """Highest trackable value of the current period's histogram (grows after overflow)."""
        return self._p.highest_trackable_value

    @property
    def hdrsize(self) -> int:
        """Bytes librdkafka would have allocated for the current histogram."""
        return self._p.allocated_size

    def add(self, v: int) -> None:
        """Count one value.  Owner: the one thread producing the values; no lock (see class)."""
        p = self._p
        p.cnt += 1
        p.sum += v
        if v > p.vmax:
            p.vmax = v
        # librdkafka treats a minimum of 0 as "none yet", so a 0 is replaced by whatever value
        # comes next: 0, 5 reports min 5, 5, 0 reports 0, 1, 0, 2 reports 2.  Kept for parity.
        m = p.vmin
        if m == 0 or v < m:
            p.vmin = v
        # HdrHistogram.record, inlined: this runs per message.
        if v >= 0:
            k = (v | p.sub_bucket_mask).bit_length() - p._hm1
            i = (k << p.sub_bucket_half_count_magnitude) - p._off + (v >> k)
            if i < p.counts_len:
                p.counts[i] += 1
                return
        p.record_out_of_range(v)

    def rollover(self) -> WindowStats:
        """Close the period: its statistics, and a fresh period.  Owner: the stats thread."""
        old = self._p
        # The next period's range is decided from the state just before the swap; values that
        # slip in after that still belong to (and are reported with) the retired period,
        # because it is read only after the swap.
        self._p = old.next_period(any(old.counts))
        return _summarize(old, list(old.counts))


def _summarize(p: _Period, counts: list[int]) -> WindowStats:
    """rd_avg_rollover + rd_avg_calc + rd_kafka_stats_emit_avg for a retired period."""
    total = sum(counts)
    slots = [(p.value_from_index(i), c) for i, c in enumerate(counts) if c]
    p50, p75, p90, p95, p99, p99_99 = (p._quantile(slots, total, q) for _, q in _QUANTILES)
    return WindowStats(
        min=p.vmin,
        max=p.vmax,
        avg=_c_div(p.sum, p.cnt) if p.cnt else 0,
        sum=p.sum,
        stddev=int(p._stddev(slots, total)),  # the emitter casts the double to int64: truncation
        p50=p50,
        p75=p75,
        p90=p90,
        p95=p95,
        p99=p99,
        p99_99=p99_99,
        outofrange=p.out_of_range_count,
        hdrsize=p.allocated_size,
        cnt=p.cnt,
    )
