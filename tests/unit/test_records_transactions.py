"""read_committed filtering of fetched batches (rdpy.records.transactions.committed_batches).

The brokers available to the suite do not fill a Fetch response's aborted-transactions list
(librdkafka's mock and Tansu both leave it empty), so the rule is proven here on batches built
the way a broker stores them: transactional data batches and COMMIT/ABORT control batches.
"""

from __future__ import annotations

from rdpy.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    RecordBatchBuilder,
    encode_control_key,
    encode_end_txn_marker,
    read_batches,
)
from rdpy.records.transactions import committed_batches


def data(pid: int, base: int, values: list[bytes], transactional: bool = True) -> bytes:
    b = RecordBatchBuilder(producer_id=pid, producer_epoch=0, base_sequence=0,
                           transactional=transactional)
    for v in values:
        b.append(1000, None, v)
    return b.build(base_offset=base)


def marker(pid: int, offset: int, ctype: int) -> bytes:
    b = RecordBatchBuilder(producer_id=pid, producer_epoch=0, transactional=True, is_control=True)
    b.append(1000, encode_control_key(ctype), encode_end_txn_marker(7))
    return b.build(base_offset=offset)


def delivered(log: bytes, aborted: list[tuple[int, int]]) -> list[tuple[int, bytes | None]]:
    out = []
    for batch, deliver in committed_batches(read_batches(log), aborted):
        if deliver:
            out.extend((r.offset, r.value) for r in batch.records())
    return out


LOG = b"".join([
    data(1, 0, [b"c1-0", b"c1-1", b"c1-2"]),      # pid 1 commits
    marker(1, 3, CONTROL_COMMIT),
    data(2, 4, [b"a2-0", b"a2-1"]),                # pid 2 aborts ...
    data(3, 6, [b"c3-0"]),                         # ... interleaved with pid 3, which commits
    data(2, 7, [b"a2-2"]),
    marker(2, 8, CONTROL_ABORT),
    data(3, 9, [b"c3-1"]),
    marker(3, 10, CONTROL_COMMIT),
    data(-1, 11, [b"plain"], transactional=False),  # not transactional at all
    data(2, 12, [b"c2-0"]),                        # pid 2 again, in a later transaction
    marker(2, 13, CONTROL_COMMIT),
])


def test_read_committed_skips_aborted_transactions_and_control_records() -> None:
    assert delivered(LOG, aborted=[(2, 4)]) == [
        (0, b"c1-0"), (1, b"c1-1"), (2, b"c1-2"), (6, b"c3-0"), (9, b"c3-1"), (11, b"plain"),
        (12, b"c2-0"),
    ]


def test_read_uncommitted_gets_every_data_record_but_no_control_record() -> None:
    # With no aborted list (read_uncommitted, or a broker that sends none) only the control
    # batches are dropped.
    assert [o for o, _ in delivered(LOG, aborted=[])] == [0, 1, 2, 4, 5, 6, 7, 9, 11, 12]


def test_abort_starts_at_its_first_offset() -> None:
    # An aborted transaction of pid 1 that starts after its committed one leaves the
    # committed records alone.
    log = LOG + data(1, 14, [b"a1-0"]) + marker(1, 15, CONTROL_ABORT)
    got = delivered(log, aborted=[(2, 4), (1, 14)])
    assert (0, b"c1-0") in got and (14, b"a1-0") not in got
    assert got[-1] == (12, b"c2-0")


def test_control_and_aborted_batches_are_reported_for_position_tracking() -> None:
    flags = [(b.base_offset, d) for b, d in committed_batches(read_batches(LOG), [(2, 4)])]
    assert flags == [(0, True), (3, False), (4, False), (6, True), (7, False), (8, False),
                     (9, True), (10, False), (11, True), (12, True), (13, False)]
