"""Exactly-once end to end on real Kafka (issue 15's acceptance): a consume-transform-produce
application, SIGKILLed at random points 5 times and restarted with the same transactional.id,
leaves each input record's result in the output topic exactly once (read read_committed).

The application is tests/integration/kafka/eos_worker.py, a separate process written against
the client under test (its command line names the module; nothing else differs): a
read_committed consumer assigned every input partition at the group's committed offsets, a
transactional producer, and a loop of transactions of up to BATCH records each (produce the
results, send_offsets_to_transaction with the consumer's positions, commit_transaction),
handling errors as confluent-kafka documents (retry what is retriable, abort and rewind what
txn_requires_abort, exit on anything else). It exits once every input record's transaction
committed.

The scenario, on the single Kafka broker of the session (tests.support.kafka):

1. confluent-kafka (idempotent) writes RECORDS records to a PARTITIONS-partition input topic:
   key ``id-NNNNN``, value ``input-NNNNN``; its delivery reports give each one's offset.
2. The worker is started, then SIGKILLed, KILLS times. Each kill point comes from a
   random.Random(SEED) (RDPY_EOS_SEED overrides SEED) and is printed: either a delay after the
   process was spawned (it may die importing, in init_transactions, reading its committed
   offsets, or in its first transactions), or a number of transactions this process
   committed followed by a short delay (it dies mid-transaction: producing, adding offsets,
   committing, or just after a commit). Each restart uses the same transactional.id, so its
   init_transactions() aborts the transaction the killed process left open and fences it.
3. The worker is started once more and runs until the input is exhausted (exit status 0).

Then, read with confluent-kafka's consumer:
* the group's committed offsets are the input's end offsets;
* the output topic read read_committed holds exactly one record per input record and nothing
  else: the input's key, and the value ``input-NNNNN|<input partition>|<input offset>`` naming
  where that input record is;
* read read_uncommitted, the output also holds what the killed transactions wrote (printed,
  as evidence that the kills hit open transactions; not asserted, since the kill points are
  random).

Proven with the worker on confluent-kafka (the reference) first, then on rdpy.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import confluent_kafka

from tests.integration.kafka._util import QUIET, create_topic, unique_name
from tests.support.kafka import KafkaBroker

RECORDS = 4000
PARTITIONS = 4
BATCH = 25  # input records per transaction (at most)
KILLS = 5
SEED = int(os.environ.get("RDPY_EOS_SEED", "15"))
STEP_TIMEOUT = 60.0  # seconds any one incarnation may take to reach its kill point
FINAL_TIMEOUT = 120.0  # seconds the last incarnation may take to finish the input

WORKER = Path(__file__).with_name("eos_worker.py")
REPO = Path(__file__).resolve().parents[3]
HANDLED = ("txn-error", "produce-error", "consumer-error", "committed-error", "error_cb", "aborted")


def test_exactly_once_across_kills(client: ModuleType, kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    name = unique_name("eos")
    source = create_topic({"bootstrap.servers": bootstrap}, f"{name}-in", PARTITIONS)
    sink = create_topic({"bootstrap.servers": bootstrap}, f"{name}-out", PARTITIONS)
    group, txn_id = f"{name}-group", f"{name}-txn"
    where = _fill_input(bootstrap, source)
    command = [sys.executable, str(WORKER), client.__name__, bootstrap, source, str(PARTITIONS), sink,
               group, txn_id, "--batch", str(BATCH), "--deadline", str(FINAL_TIMEOUT)]

    rng = random.Random(SEED)
    plan = [_kill_point(rng) for _ in range(KILLS)]
    t0 = time.monotonic()
    timeline: list[str] = []
    incarnations: list[Worker] = []
    try:
        for n, (mode, amount, delay) in enumerate(plan, 1):
            worker = Worker(command, tmp_path / f"worker-{n}.stderr")
            incarnations.append(worker)
            if mode == "commits":
                assert worker.wait_for(lambda lines: _count(lines, "committed") >= amount, STEP_TIMEOUT), (
                    f"incarnation {n} did not commit {amount} transactions in {STEP_TIMEOUT} s")
            assert worker.alive_after(delay), f"incarnation {n} exited before its kill point"
            worker.kill()
            lines = worker.lines
            timeline.append(
                f"kill {n} at {time.monotonic() - t0:.2f} s "
                f"({'after %d commits + %.3f s' % (amount, delay) if mode == 'commits' else 'spawn + %.3f s' % delay}):"
                f" {_count(lines, 'committed')} transactions committed, "
                f"{sum(int(line.split()[2]) for line in lines if line.startswith('committed '))} records; "
                f"last step {lines[-1] if lines else '(none)'!r}")

        final = Worker(command, tmp_path / "worker-final.stderr")
        incarnations.append(final)
        status = final.wait(FINAL_TIMEOUT + 10)
        timeline.append(f"final incarnation exited {status} at {time.monotonic() - t0:.2f} s: "
                        f"{_count(final.lines, 'committed')} transactions, "
                        f"{_count(final.lines, 'aborted')} aborted, last {final.lines[-1:]}")
        assert status == 0 and final.lines[-1].startswith("done "), (
            f"the final incarnation failed: status {status}, output tail {final.lines[-15:]}")
    except BaseException:
        print(f"\neos kill/restart ({client.__name__}, seed {SEED}) failed; plan {plan}")
        print("\n".join(timeline))
        for n, worker in enumerate(incarnations, 1):
            print(f"--- incarnation {n}: stdout tail {worker.lines[-10:]}\n    stderr tail {worker.stderr_tail()}")
        raise
    finally:
        for worker in incarnations:
            worker.kill()
    print(f"\neos kill/restart ({client.__name__}, seed {SEED}):\n  " + "\n  ".join(timeline))
    # No incarnation met a fatal error (a killed one just stops). Errors the application
    # handled (retried, or aborted and rewound) are allowed, and printed.
    for n, worker in enumerate(incarnations, 1):
        assert _count(worker.lines, "error") == 0, f"incarnation {n}: {worker.lines[-10:]}"
        handled = [line for line in worker.lines if line.split(" ", 1)[0] in HANDLED]
        if handled:
            print(f"  incarnation {n} handled: {handled[:10]}")

    committed = _committed(bootstrap, group, source)
    assert committed == {p: sum(1 for q, _ in where.values() if q == p) for p in range(PARTITIONS)}

    output = _read(bootstrap, sink, "read_committed")
    keys = collections.Counter(key for key, _ in output)
    wanted = {b"id-%05d" % i for i in range(RECORDS)}
    duplicates = sorted(k for k, c in keys.items() if c > 1)
    missing = sorted(wanted - set(keys))
    extra = sorted(set(keys) - wanted)
    assert not (duplicates or missing or extra), (
        f"{len(duplicates)} duplicated (e.g. {duplicates[:5]}), {len(missing)} missing (e.g. {missing[:5]}), "
        f"{len(extra)} unexpected (e.g. {extra[:5]}) among {len(output)} committed output records")
    for key, value in output:
        i = int(key[3:])
        assert value == b"input-%05d|%d|%d" % (i, *where[i]), (key, value)
    everything = _read(bootstrap, sink, "read_uncommitted")
    print(f"  output: {len(output)} records read_committed, each input record once; "
          f"{len(everything) - len(output)} more read_uncommitted (aborted by the restarts); "
          f"{time.monotonic() - t0:.1f} s in all")


# --- kill points --------------------------------------------------------------------------------

def _kill_point(rng: random.Random) -> tuple[str, int, float]:
    """(mode, commits, delay): ("spawn", 0, s) kills s seconds after the process started;
    ("commits", k, s) kills s seconds after it committed its k-th transaction."""
    if rng.random() < 0.3:
        return ("spawn", 0, round(rng.uniform(0.2, 2.0), 3))
    return ("commits", rng.randint(1, 12), round(rng.uniform(0.0, 0.12), 3))


def _count(lines: list[str], step: str) -> int:
    return sum(1 for line in lines if line.split(" ", 1)[0] == step)


class Worker:
    """One incarnation of eos_worker.py, its stdout lines collected by a thread."""

    def __init__(self, command: list[str], stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with open(stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO, env=env)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, name="eos-worker-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float) -> bool:
        """Until condition(lines) holds (True) or the process closed its stdout or `timeout`
        passed (False)."""
        with self._changed:
            self._changed.wait_for(lambda: condition(self.lines) or self._ended, timeout)
            return condition(self.lines)

    def alive_after(self, seconds: float) -> bool:
        """Wait `seconds`; True if the process is still running then."""
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return True
        return False

    def wait(self, timeout: float) -> int | None:
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._finish()
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._finish()

    def _finish(self) -> None:
        self._reader.join(10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def stderr_tail(self, chars: int = 2000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# --- the checker's side (confluent-kafka) ----------------------------------------------------------

def _fill_input(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """Write the input; returns input id -> (partition, offset)."""
    where: dict[int, tuple[int, int]] = {}
    failed: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            failed.append(err)
        else:
            where[int(msg.key()[3:])] = (msg.partition(), msg.offset())

    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                                         "linger.ms": 20, **QUIET})
    for i in range(RECORDS):
        producer.produce(topic, b"input-%05d" % i, b"id-%05d" % i, partition=i % PARTITIONS, on_delivery=report)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert not failed and len(where) == RECORDS, (failed[:3], len(where))
    return where


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET})
    try:
        got = consumer.committed([confluent_kafka.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in got}


def _read(bootstrap: str, topic: str, isolation: str, timeout: float = 60) -> list[tuple[bytes, bytes]]:
    """Every record of `topic` visible at `isolation`, as (key, value)."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": unique_name("eos-check"), "isolation.level": isolation,
        "enable.partition.eof": True, "enable.auto.commit": False, **QUIET})
    out: list[tuple[bytes, bytes]] = []
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(PARTITIONS)])
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(at_end) < PARTITIONS:
            assert time.monotonic() < deadline, f"{topic} not read to its end in {timeout} s ({len(out)} records)"
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is None:
                    at_end.discard(msg.partition())
                    out.append((msg.key(), msg.value()))
                elif msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                else:
                    raise confluent_kafka.KafkaException(msg.error())
    finally:
        consumer.close()
    return out
