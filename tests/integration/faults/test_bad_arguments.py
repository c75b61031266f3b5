"""Seeded random produce()/poll()/flush() calls with bad arguments, interleaved with good
messages: each bad call raises at the call (the exception type confluent-kafka's C layer
raises), leaves len(producer) unchanged and never gets a report; every good message is
delivered once and in order; close() returns.

What confluent-kafka 2.16 (librdkafka 2.16.0) does with each, measured:

  produce(timestamp=2**70)            OverflowError  int too big to convert
  produce(timestamp=-2**63-1)         OverflowError
  produce(timestamp="now" / 1.5 / None)   TypeError  '...' object cannot be interpreted as an integer
  produce(partition="1" / 1.5 / None)     TypeError
  produce(partition=2**40)            OverflowError  signed integer is greater than maximum
  produce(partition=-2 / -100 / 3), topic with 3 partitions known
                                      KafkaException(_UNKNOWN_PARTITION) "Unable to produce message:
                                      Local: Unknown partition" (accepted while the topic is unknown)
  produce(headers=[("k", 1)] / {"k": 1.5})   TypeError  expected header value to be None, binary, or unicode string
  produce(headers=[("k",)] / ["k"] / [("k","v","x")])   TypeError  Headers are expected to be a list of (key, value) tuples
  produce(headers="k" / 5)            TypeError  expected headers to be dict or list of (key, value) tuples
  produce(key=1 / 1.5 / ["a"] / object())   TypeError  a bytes-like object is required
  produce(value=1 / {"a": 1})         TypeError  a bytes-like object is required
  produce(value=bytearray / memoryview)   TypeError  argument 2 must be read-only bytes-like object
  produce(topic=1 / None)             TypeError  argument 1 must be str
  produce(bogus=1)                    TypeError  'bogus' is an invalid keyword argument
  poll("x") / poll(timeout=[])        TypeError  must be real number
  poll(1, 2) / flush(1, 2)            TypeError  function takes at most 1 argument
  flush("x") / flush(timeout=[])      TypeError  must be real number

Accepted by confluent-kafka, so not bad arguments here: header keys that are not str (1, None,
b"k": written as str(key), e.g. "1", "None", "b'k'"), timestamp=-1 or -5 (written as given),
partition=True (partition 1), topic="" (fails later), on_delivery=5 (accepted; the poll()
that serves its report raises SystemError). poll(2**70) and poll(float("nan")) raise
SystemError (a confluent-kafka bug), so they are left out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tests.integration.faults._util import QUIET, bounded_close, consume_all, create_topic, seed
from tests.support.invariants import Ledger
from tests.support.tansuproc import TansuProcess

PARTITIONS = 3
TOPIC = "bad-arguments"
UNKNOWN_PARTITION = "_UNKNOWN_PARTITION"


def bad_calls(topic: str) -> list[tuple[str, Callable[[Any, Callable[..., None]], Any], type[BaseException] | str]]:
    """(name, call(producer, on_delivery), expected exception type or KafkaError code name)."""

    def produce(**kw: Any) -> Callable[[Any, Callable[..., None]], Any]:
        def call(p: Any, cb: Callable[..., None]) -> Any:
            args = {"topic": topic, "value": b"bad", "on_delivery": cb, **kw}
            return p.produce(**args)
        return call

    return [
        ("timestamp=2**70", produce(timestamp=2**70), OverflowError),
        ("timestamp=-2**63-1", produce(timestamp=-2**63 - 1), OverflowError),
        ("timestamp='now'", produce(timestamp="now"), TypeError),
        ("timestamp=1.5", produce(timestamp=1.5), TypeError),
        ("timestamp=None", produce(timestamp=None), TypeError),
        ("partition='1'", produce(partition="1"), TypeError),
        ("partition=1.5", produce(partition=1.5), TypeError),
        ("partition=None", produce(partition=None), TypeError),
        ("partition=2**40", produce(partition=2**40), OverflowError),
        ("partition=-2", produce(partition=-2), UNKNOWN_PARTITION),
        ("partition=-100", produce(partition=-100), UNKNOWN_PARTITION),
        ("partition=3", produce(partition=PARTITIONS), UNKNOWN_PARTITION),
        ("headers=[('k', 1)]", produce(headers=[("k", 1)]), TypeError),
        ("headers={'k': 1.5}", produce(headers={"k": 1.5}), TypeError),
        ("headers=[('k',)]", produce(headers=[("k",)]), TypeError),
        ("headers=['k']", produce(headers=["k"]), TypeError),
        ("headers=[('k','v','x')]", produce(headers=[("k", "v", "x")]), TypeError),
        ("headers='k'", produce(headers="k"), TypeError),
        ("headers=5", produce(headers=5), TypeError),
        ("key=1", produce(key=1), TypeError),
        ("key=1.5", produce(key=1.5), TypeError),
        ("key=['a']", produce(key=["a"]), TypeError),
        ("key=object()", produce(key=object()), TypeError),
        ("value=1", produce(value=1), TypeError),
        ("value={'a': 1}", produce(value={"a": 1}), TypeError),
        ("value=bytearray", produce(value=bytearray(b"x")), TypeError),
        ("value=memoryview", produce(value=memoryview(b"x")), TypeError),
        ("topic=1", lambda p, cb: p.produce(1, b"bad", on_delivery=cb), TypeError),
        ("topic=None", lambda p, cb: p.produce(None, b"bad", on_delivery=cb), TypeError),
        ("bogus=1", produce(bogus=1), TypeError),
        ("poll('x')", lambda p, cb: p.poll("x"), TypeError),
        ("poll(timeout=[])", lambda p, cb: p.poll(timeout=[]), TypeError),
        ("poll(1, 2)", lambda p, cb: p.poll(1, 2), TypeError),
        ("flush('x')", lambda p, cb: p.flush("x"), TypeError),
        ("flush(timeout=[])", lambda p, cb: p.flush(timeout=[]), TypeError),
        ("flush(1, 2)", lambda p, cb: p.flush(1, 2), TypeError),
    ]


def test_bad_arguments_refused_at_the_call(client: ModuleType, tansu: TansuProcess) -> None:
    topic = create_topic(tansu.bootstrap, TOPIC, PARTITIONS)
    # linger.ms=5000: the good messages wait in their queue while the bad calls are made, so no
    # delivery report can arrive meanwhile and len(producer) changes only by what the calls do
    # (a report arriving counts in confluent-kafka's len() until poll() serves it). flush()
    # sends them at once.
    producer = client.Producer({"bootstrap.servers": tansu.bootstrap, "linger.ms": 5000, **QUIET})
    ledger = Ledger()
    ledger.produce(producer, topic, b"warm-up", partition=0)  # the partition count is known
    assert ledger.flush(producer, 15) == 0
    t0 = time.monotonic()

    rng = random.Random(seed())
    calls = bad_calls(topic) * 3
    rng.shuffle(calls)
    stray: list[str] = []
    wrong: list[str] = []
    counted: list[str] = []
    good = 0
    for name, call, expected in calls:
        for _ in range(rng.randint(0, 4)):  # good messages between bad calls, headers and all
            ledger.produce(producer, topic, b"good", key=b"k%d" % rng.randrange(7),
                           headers=[("h", b"v%d" % good)], timestamp=0 if rng.random() < 0.5 else 1_700_000_000_000 + good)
            good += 1
        if rng.random() < 0.3:
            ledger.poll(producer, 0)

        def on_delivery(err: Any, msg: Any, name: str = name) -> None:
            stray.append(name)

        before = len(producer)
        try:
            call(producer, on_delivery)
        except BaseException as e:
            if isinstance(expected, str):
                ok = isinstance(e, client.KafkaException) and e.args[0].code() == getattr(client.KafkaError, expected)
            else:
                ok = type(e) is expected
            if not ok:
                wrong.append(f"{name}: raised {type(e).__name__}: {e}, expected {expected if isinstance(expected, str) else expected.__name__}")
        else:
            wrong.append(f"{name}: accepted")
        if len(producer) != before:
            counted.append(f"{name}: len(producer) {before} -> {len(producer)}")

    assert time.monotonic() - t0 < 4.0, "the calls outlasted linger.ms: reports may have interfered"
    assert ledger.flush(producer, 30) == 0, "good messages left undelivered"
    bounded_close(ledger, producer)
    assert not wrong, "bad calls not refused as confluent-kafka refuses them:\n  " + "\n  ".join(wrong)
    assert not counted, "bad calls that changed len(producer):\n  " + "\n  ".join(counted)
    assert not stray, f"reports for refused calls: {stray}"
    summary = ledger.check_reports(ordered=True, expect_delivered=True)
    consumed = consume_all(tansu.bootstrap, topic, PARTITIONS, expected=len(summary.delivered))
    ledger.check_log(consumed, ordered=True, allow_duplicates=False)


def test_header_keys_of_other_types_are_written_as_str(client: ModuleType, tansu: TansuProcess) -> None:
    """Not a bad argument for confluent-kafka: a header key that is not a str is accepted and
    written as str(key) -- 1 as "1", None as "None", b"k" as "b'k'" (not decoded)."""
    topic = create_topic(tansu.bootstrap, "odd-header-keys", 1)
    producer = client.Producer({"bootstrap.servers": tansu.bootstrap, **QUIET})
    ledger = Ledger()
    keys: list[Any] = [1, None, b"k", b"\xff"]
    for k in keys:
        ledger.produce(producer, topic, b"v", partition=0, headers=[(k, b"x")])
    assert ledger.flush(producer, 15) == 0
    bounded_close(ledger, producer)
    consumed = consume_all(tansu.bootstrap, topic, 1, expected=len(keys))
    assert [m.headers() for m in consumed] == [[(str(k), b"x")] for k in keys]
