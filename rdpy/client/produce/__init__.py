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

- txn.py: transactions (transactional.id), librdkafka's transaction manager on top of
  idempotence.py: the transaction states, the application's calls (one at a time, resumable
  after a timeout), the partitions of the current transaction (AddPartitionsToTxn: the same
  gate holds a partition until it was added), AddOffsetsToTxn + TxnOffsetCommit, EndTxn, and
  abortable vs fatal errors; errors that need an epoch bump fail the transaction first, and
  its abort has the coordinator bump the epoch (InitProducerId with the current id, KIP-360).
  Each request's errors are decided by its table in errors.py (ADD_PARTITIONS_TO_TXN_ACTIONS,
  END_TXN_ACTIONS, ...).
"""
