"""The producer's engine, apart from the handle: what runs on broker threads for it, and where
exactly-once delivery plugs in.

- server.py: ProduceServer, the producer's BrokerRole (one per broker, on that broker's
  thread): transmit queues, batches, ProduceRequests, responses, retries, message timeouts.
- unassigned.py: a topic's unassigned queue (messages produced before its partition count was
  known) and how they leave it.
- identity.py: the one place a batch's producer id, epoch, base sequence and transactional
  flag come from (and a ProduceRequest's transactional id): `PLAIN_PRODUCER` without
  idempotence.
- idempotence.py: the idempotent producer (enable.idempotence=true), the other identity:
  InitProducerId from the main thread, the send gate ProduceServer asks before each batch (no
  id, a drain, at most five batches in flight per partition), base sequences from msgids,
  its handling of Produce errors, drains and KIP-360 epoch bumps, fatal errors.
- purge.py: Producer.purge() and the purge a fatal error starts.

Transactions (a future txn.py, transactional.id set): the transaction manager's state machine
(librdkafka's rd_kafka_txn_state_t: INIT, WAIT_PID, READY, IN_TRANSACTION, BEGIN_COMMIT,
COMMITTING_TRANSACTION, BEGIN_ABORT, ABORTING_TRANSACTION, ABORTABLE_ERROR, FATAL_ERROR and the
*_NOT_ACKED states between a finished call and its acknowledgement), driven by the application's
init/begin/commit/abort_transaction calls, which wait for it, and by the main thread, which
sends its requests to the coordinator found through rdpy/client/coordinators.py with
CoordinatorType.TRANSACTION and the transactional id. It builds on idempotence.py: the producer
id comes from the coordinator (InitProducerId with the transactional id, and with the current
id and epoch for a KIP-360 bump), the idempotent errors that bump the epoch become abortable
transaction errors (librdkafka's WAIT_TXN_ABORT), and AddPartitionsToTxn must be answered
before a partition's first batch in a transaction: the same gate (sendable_batches) holds the
partition until txn.py added it. Its identity marks batches transactional and names the
transactional id on ProduceRequests. Each request has its action table in errors.py
(ADD_PARTITIONS_TO_TXN_ACTIONS, END_TXN_ACTIONS, ...).
"""
