"""A group of consumers reads every record of a 12-partition topic while members join, leave
cleanly (close()) and crash (a SIGKILLed process, expired after session.timeout.ms), with
records produced before and throughout. Each member processes a batch (consume()) and then
commits it (commit(asynchronous=False)), enable.auto.commit=false: nothing is lost across the
rebalances, and a record is read twice only where a reader had not committed it -- every
record is covered by at most one reader's commit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.integration.groups._util import Feeder, GroupBroker, group_conf, unique

PARTITIONS = 12
REPO = Path(__file__).resolve().parents[3]


class Reader:
    """What one member did, in order: ("read", partition, offset, value),
    ("commit", partition, offset) for each partition a successful commit answered, and
    ("assign" | "revoke" | "lost", partitions) for each rebalance callback."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log: list[tuple[Any, ...]] = []
        self.commit_failures: list[str] = []
        self.errors: list[str] = []

    @property
    def consumed(self) -> list[tuple[int, int, bytes]]:
        return [(e[1], e[2], e[3]) for e in self.log if e[0] == "read"]

    def coverage(self) -> list[tuple[int, int, bool]]:
        """(partition, offset, covered) per read: covered when this member committed an
        offset past it for that partition before the partition was next revoked, lost or
        assigned to it (in the same stint of ownership)."""
        stint: dict[int, int] = defaultdict(int)
        reads: list[tuple[int, int, int]] = []  # (partition, offset, stint)
        best: dict[tuple[int, int], int] = defaultdict(lambda: -1)  # (partition, stint) -> offset committed
        for e in self.log:
            if e[0] == "read":
                reads.append((e[1], e[2], stint[e[1]]))
            elif e[0] == "commit":
                best[(e[1], stint[e[1]])] = max(best[(e[1], stint[e[1]])], e[2])
            else:
                for p in e[1]:
                    stint[p] += 1
        return [(p, o, best[(p, k)] > o) for p, o, k in reads]


class Processor(Reader):
    """An in-process member: consume() a batch, note it, commit(asynchronous=False)."""

    def __init__(self, client: ModuleType, consumer: Any, name: str) -> None:
        super().__init__(name)
        self.client = client
        self.c = consumer
        self.closed = False

    def subscribe(self, topic: str) -> None:
        def callback(kind: str) -> Any:
            def cb(_consumer: Any, tps: list[Any]) -> None:
                self.log.append((kind, [tp.partition for tp in tps], time.monotonic()))
            return cb

        self.c.subscribe([topic], on_assign=callback("assign"), on_revoke=callback("revoke"),
                         on_lost=callback("lost"))

    def step(self) -> None:
        if self.closed:
            return
        batch = self.c.consume(num_messages=50, timeout=0.01)
        records = 0
        for m in batch:
            if m.error() is not None:
                self.errors.append(str(m.error()))
                continue
            records += 1
            self.log.append(("read", m.partition(), m.offset(), m.value(), time.monotonic()))
        if records:
            try:
                answer = self.c.commit(asynchronous=False)
            except self.client.KafkaException as e:
                self.commit_failures.append(str(e))
                self.log.append(("commit-failed", [], time.monotonic(), str(e)))
                return
            for tp in answer or []:
                if tp.error is None and tp.offset >= 0:
                    self.log.append(("commit", tp.partition, tp.offset, time.monotonic()))

    def close(self) -> None:
        self.c.close()
        self.closed = True


class Worker(Reader):
    """A member in its own process (group_worker.py); what it reported so far."""

    def __init__(self, client: ModuleType, conf: dict[str, Any], topic: str, report: Path) -> None:
        super().__init__("worker")
        self.report = report
        report.touch()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.groups.group_worker", client.__name__, json.dumps(conf),
             topic, str(report), "--deadline", "90"],
            cwd=REPO, stdin=subprocess.DEVNULL)
        self.assigned: list[list[int]] = []
        self._pos = 0

    def read(self) -> None:
        """Take in the complete lines written since the last read."""
        with open(self.report, "rb") as f:
            f.seek(self._pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._pos += end
        for line in data[:end].decode().splitlines():
            word, _, rest = line.partition(" ")
            if word == "consumed":
                p, o, v = rest.split(" ")
                self.log.append(("read", int(p), int(o), bytes.fromhex(v)))
            elif word == "committed":
                p, o = rest.split(" ")
                self.log.append(("commit", int(p), int(o)))
            elif word in ("on_assign", "on_revoke", "on_lost"):
                self.log.append((word[3:], [int(p) for p in rest.split(",") if p]))
            elif word == "assigned":
                self.assigned.append([int(p) for p in rest.split(",") if p])
            elif word == "commit-failed":
                self.commit_failures.append(rest)
            elif word == "error":
                self.errors.append(rest)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.read()


def _run_until(what: str, cond: Any, step: Any, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        step()


def test_group_reads_every_record_through_joins_leaves_and_a_crash(
        client: ModuleType, group_broker: GroupBroker, make_consumer: Any, tmp_path: Path) -> None:
    topic = group_broker.create_topic("eo", PARTITIONS)
    group = unique("eo")
    conf = group_conf(group_broker, group, "range")
    feeder = Feeder(group_broker.bootstrap_servers, topic, PARTITIONS, interval=0.05)
    worker: Worker | None = None
    try:
        for _ in range(10):  # 120 records before anyone subscribes
            feeder._next = 0.0
            feeder.feed()
        a = Processor(client, make_consumer(conf), "a")
        b = Processor(client, make_consumer(conf), "b")
        a.subscribe(topic)
        b.subscribe(topic)
        worker = Worker(client, conf, topic, tmp_path / "worker.report")
        members: list[Any] = [a, b]

        def step() -> None:
            feeder.feed()
            for m in members:
                m.step()
            assert worker is not None
            worker.read()
            assert worker.proc.poll() is None or worker.proc.returncode == -signal.SIGKILL, \
                f"the worker exited with status {worker.proc.returncode}"

        # Everyone has been reading: a join.
        _run_until("a, b and the worker to consume", lambda: a.consumed and b.consumed and worker.consumed, step)
        c = Processor(client, make_consumer(conf), "c")
        c.subscribe(topic)
        members.append(c)
        joined_at = len(a.consumed), len(b.consumed), len(worker.consumed)
        _run_until("c to consume after joining, with the others still consuming",
                   lambda: (c.consumed and len(a.consumed) > joined_at[0] and len(b.consumed) > joined_at[1]
                            and len(worker.consumed) > joined_at[2]), step)
        # A clean leave: close() sends LeaveGroup.
        b.close()
        members.remove(b)
        left_at = len(a.consumed), len(c.consumed), len(worker.consumed)
        _run_until("a, c and the worker to consume after b left",
                   lambda: (len(a.consumed) > left_at[0] and len(c.consumed) > left_at[1]
                            and len(worker.consumed) > left_at[2] + 20), step)

        def settled_without_b() -> bool:
            # b's partitions are shared out among the three (librdkafka's mock only does so
            # once b's session expired: its LeaveGroup does not rebalance), so the kill below
            # hits the worker holding partitions, not in the middle of a rebalance.
            held = [p for m in (a, c) for p in (tp.partition for tp in m.c.assignment())]
            held += worker.assigned[-1] if worker.assigned else []
            return bool(worker.assigned and worker.assigned[-1]) and sorted(held) == list(range(PARTITIONS))

        _run_until("a, c and the worker to share every partition", settled_without_b, step)
        # A crash: no LeaveGroup, the coordinator expires the worker after session.timeout.ms.
        worker.kill()
        assert worker.assigned and worker.assigned[-1], f"the worker held no partitions when killed: {worker.assigned}"
        orphaned = set(worker.assigned[-1])
        killed_at = time.monotonic()
        consumed_before_kill = {m.name: len(m.consumed) for m in members}

        def orphans_taken_over() -> bool:
            return orphaned <= {p for m in members for p, _, _ in m.consumed[consumed_before_kill[m.name]:]}

        _run_until(f"a and c to consume the dead worker's partitions {sorted(orphaned)}", orphans_taken_over, step)
        takeover = time.monotonic() - killed_at
        # Stop producing; everything delivered must be read.
        delivered = feeder.flush()
        everything = {(p, o) for p, offsets in delivered.items() for o in offsets}

        def all_read() -> bool:
            return everything <= {(p, o) for m in (a, b, c, worker) for p, o, _ in m.consumed}

        _run_until("every delivered record to be read", all_read, lambda: [m.step() for m in members])
    finally:
        if worker is not None:
            worker.kill()
        feeder.close()

    readers = [a, b, c, worker]
    for r in readers:
        assert r.errors == [], f"{r.name}: error events {r.errors[:5]}"
    # The worker died holding partitions it had read: at least the session timeout passed
    # before they were read again (minus a heartbeat interval and some slack for clocks).
    assert takeover >= (conf["session.timeout.ms"] - 2 * conf["heartbeat.interval.ms"]) / 1000 - 0.2, takeover
    # Nothing read that was not produced, and every record read with the value produced.
    reads: dict[tuple[int, int], list[str]] = defaultdict(list)
    for r in readers:
        for p, o, v in r.consumed:
            assert delivered.get(p, {}).get(o) == v, f"{r.name} read {p}@{o} = {v!r}, produced {delivered.get(p, {}).get(o)!r}"
            reads[(p, o)].append(r.name)
    lost = sorted(everything - set(reads))
    assert lost == [], f"{len(lost)} record(s) never read: {lost[:20]}"
    # A record read more than once: at most one of its reads was covered by its reader's
    # commit (once a commit covered it, the group has moved past it for good); the others
    # are reads nobody committed.
    covering: dict[tuple[int, int], list[str]] = defaultdict(list)
    uncommitted = 0
    for r in readers:
        for p, o, covered in r.coverage():
            if covered:
                covering[(p, o)].append(r.name)
            else:
                uncommitted += 1
    twice = sorted((k, v) for k, v in covering.items() if len(v) > 1)
    if twice:
        (p, _), _ = twice[0]
        timeline = sorted((e[-1] if e[0] != "commit-failed" else e[2], r.name, e[:3]) for r in (a, b, c) for e in r.log
                          if (e[0] in ("read", "commit") and e[1] == p) or e[0] not in ("read", "commit"))
        raise AssertionError(f"records read again after a reader's commit covered them: {twice[:5]}; timeline:\n"
                             + "\n".join(f"{t:.3f} {n} {w}" for t, n, w in timeline[:80]))
    duplicates = sum(len(names) - 1 for names in reads.values())
    assert duplicates <= uncommitted, (duplicates, uncommitted)
    # Each member processed records and its commits went through at least once.
    for r in readers:
        assert r.consumed and any(e[0] == "commit" for e in r.log), f"{r.name} read or committed nothing"
