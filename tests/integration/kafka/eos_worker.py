"""A consume-transform-produce application with exactly-once semantics, run as its own process
by tests/integration/kafka/test_eos_kill_restart.py (which SIGKILLs and restarts it).

    python eos_worker.py CLIENT BOOTSTRAP INPUT PARTITIONS OUTPUT GROUP TRANSACTIONAL_ID
                         [--batch N] [--deadline SECONDS]

CLIENT is the module the application is written against: ``confluent_kafka`` or ``rdpy``. The
code below is the same for both; only the import differs.

The application (confluent-kafka-python's examples/eos_transactions.py, with the error handling
of librdkafka's examples/transactions.c and confluent-kafka's documentation of the
transactional API):

* a consumer (isolation.level=read_committed, enable.auto.commit=false, group.id GROUP) is
  assigned every partition of INPUT at the group's committed offsets (the beginning where
  none), read after init_transactions() has completed or aborted whatever a previous
  instance with the same transactional.id left open;
* a transactional producer (transactional.id TRANSACTIONAL_ID);
* in a loop: begin_transaction(); consume up to N records; produce one record per input record
  to OUTPUT (same key; value ``<input value>|<input partition>|<input offset>``);
  send_offsets_to_transaction(consumer.position(assignment), consumer_group_metadata());
  commit_transaction(). Until every input partition reported end of partition and the
  transaction holding the last records committed.
* errors: an error that is retriable() is retried by calling the same function again; one
  that txn_requires_abort() aborts the transaction and rewinds the consumer to the committed
  offsets (the records are processed again in the next transaction); anything else (fatal(),
  e.g. _FENCED) ends the process with exit status 1.

Progress goes to stdout, one line per step and flushed at once, for the test to follow:
``ready``, ``begin T``, ``produced T N``, ``offsets T``, ``committed T N TOTAL``,
``aborted T``, ``done TOTAL``, ``error ...`` (T counts this process's transactions, N records in
T, TOTAL the records this process committed). Exit status: 0 done, 1 fatal error, 2 deadline.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Any


def say(*words: object) -> None:
    print(*words, flush=True)


class Fatal(Exception):
    """The application cannot go on (a fatal error, or one no retry fixed in time)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client")
    parser.add_argument("bootstrap")
    parser.add_argument("input")
    parser.add_argument("partitions", type=int)
    parser.add_argument("output")
    parser.add_argument("group")
    parser.add_argument("transactional_id")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--deadline", type=float, default=120.0,
                        help="give up (exit status 2) after this many seconds")
    args = parser.parse_args()

    kafka = importlib.import_module(args.client)  # the only client-specific line
    app = App(kafka, args)
    try:
        return app.run()
    except Fatal as exc:
        say("error", exc)
        return 1
    finally:
        app.close()


class App:
    def __init__(self, kafka: Any, args: argparse.Namespace) -> None:
        self.kafka = kafka
        self.args = args
        self.deadline = time.monotonic() + args.deadline
        self.consumer = kafka.Consumer({
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "error_cb": self.on_error,
        })
        self.producer = kafka.Producer({
            "bootstrap.servers": args.bootstrap,
            "transactional.id": args.transactional_id,
            "transaction.timeout.ms": 30_000,
            "linger.ms": 5,
            "error_cb": self.on_error,
        })
        self.partitions = [kafka.TopicPartition(args.input, p) for p in range(args.partitions)]
        self.eof: set[int] = set()
        self.delivery_errors = 0

    # --- callbacks -------------------------------------------------------------------------

    def on_error(self, err: Any) -> None:
        say("error_cb", err.name(), "fatal" if err.fatal() else "")

    def on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            # The transaction then cannot commit: commit_transaction() fails with an error
            # that txn_requires_abort().
            self.delivery_errors += 1

    # --- the transactional calls, with the documented error handling -----------------------

    def call(self, what: str, fn: Any, *args: Any) -> bool:
        """fn(*args), retried while it fails with a retriable error. True when it succeeded,
        False when the error requires the transaction to be aborted; raises Fatal otherwise."""
        while True:
            if time.monotonic() > self.deadline:
                raise Fatal(f"deadline passed in {what}")
            try:
                fn(*args)
                return True
            except self.kafka.KafkaException as exc:
                err = exc.args[0]
                say("txn-error", what, err.name(), "retriable" if err.retriable() else "",
                    "abortable" if err.txn_requires_abort() else "", "fatal" if err.fatal() else "")
                if err.fatal():
                    raise Fatal(f"{what}: {err}") from exc
                if err.retriable():
                    continue
                if err.txn_requires_abort():
                    return False
                raise Fatal(f"{what}: {err}") from exc

    def abort_and_rewind(self, txn: int) -> None:
        """Abort the current transaction and seek the consumer back to the committed offsets:
        what it read in the transaction is read (and processed) again."""
        if not self.call("abort_transaction", self.producer.abort_transaction, 30):
            raise Fatal("abort_transaction failed with an abortable error")
        say("aborted", txn)
        self.eof.clear()
        for tp in self.committed():
            self.consumer.seek(tp)

    def committed(self) -> list[Any]:
        """The group's committed offsets for every input partition (OFFSET_BEGINNING where
        none was committed)."""
        while True:
            try:
                got = self.consumer.committed(self.partitions, timeout=10)
                break
            except self.kafka.KafkaException as exc:
                err = exc.args[0]
                say("committed-error", err.name())
                if err.fatal() or time.monotonic() > self.deadline:
                    raise Fatal(f"committed(): {err}") from exc
        return [self.kafka.TopicPartition(tp.topic, tp.partition,
                                          tp.offset if tp.offset >= 0 else self.kafka.OFFSET_BEGINNING)
                for tp in got]

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        # Completes (or aborts) what a previous instance left, and fences it.
        if not self.call("init_transactions", self.producer.init_transactions, 30):
            raise Fatal("init_transactions failed with an abortable error")
        self.consumer.assign(self.committed())
        say("ready")
        total, txn = 0, 0
        while True:
            txn += 1
            self.producer.begin_transaction()
            say("begin", txn)
            batch = self.consume()
            ok = self.produce(batch)
            if ok:
                say("produced", txn, len(batch))
                ok = self.call("send_offsets_to_transaction", self.producer.send_offsets_to_transaction,
                               self.consumer.position(self.consumer.assignment()),
                               self.consumer.consumer_group_metadata(), 30)
            if ok:
                say("offsets", txn)
                ok = self.call("commit_transaction", self.producer.commit_transaction, 30)
            if not ok:
                self.abort_and_rewind(txn)
                continue
            total += len(batch)
            say("committed", txn, len(batch), total)
            if len(self.eof) == len(self.partitions) and not batch:
                say("done", total)
                return 0
            if time.monotonic() > self.deadline:
                say("error", "deadline")
                return 2

    def consume(self) -> list[Any]:
        """Up to --batch records; fewer once every partition is at its end (or after 1 s)."""
        batch: list[Any] = []
        until = time.monotonic() + 1.0
        while len(batch) < self.args.batch and len(self.eof) < len(self.partitions) and time.monotonic() < until:
            for msg in self.consumer.consume(self.args.batch - len(batch), timeout=0.2):
                err = msg.error()
                if err is None:
                    self.eof.discard(msg.partition())
                    batch.append(msg)
                elif err.code() == self.kafka.KafkaError._PARTITION_EOF:
                    self.eof.add(msg.partition())
                elif err.fatal():
                    raise Fatal(f"consumer: {err}")
                else:
                    say("consumer-error", err.name())
        return batch

    def produce(self, batch: list[Any]) -> bool:
        """Produce the transformed records; False if the transaction must be aborted."""
        for msg in batch:
            value = b"%s|%d|%d" % (msg.value(), msg.partition(), msg.offset())
            while True:
                try:
                    self.producer.produce(self.args.output, value, msg.key(), on_delivery=self.on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.1)
                except self.kafka.KafkaException as exc:
                    err = exc.args[0]
                    say("produce-error", err.name())
                    if err.txn_requires_abort():
                        return False
                    raise Fatal(f"produce(): {err}") from exc
            self.producer.poll(0)
        return True

    def close(self) -> None:
        self.consumer.close()
        try:
            self.producer.flush(10)
        except self.kafka.KafkaException as exc:  # e.g. a fatal error: nothing left to flush
            say("flush-error", exc.args[0].name())


if __name__ == "__main__":
    sys.exit(main())
