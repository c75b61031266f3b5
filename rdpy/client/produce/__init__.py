"""The producer's engine, apart from the handle: what runs on broker threads for it, and where
exactly-once delivery plugs in.

- server.py: ProduceServer, the producer's BrokerRole (one per broker, on that broker's
  thread): transmit queues, batches, ProduceRequests, responses, retries, message timeouts.
- unassigned.py: a topic's unassigned queue (messages produced before its partition count was
  known) and how they leave it.
- identity.py: the one place a batch's producer id, epoch, base sequence and transactional
  flag come from (and a ProduceRequest's transactional id): `PLAIN_PRODUCER` today.

Idempotence (a future idempotence.py, enable.idempotence=true):
- Producer id and epoch: InitProducerId, sent by the handle's main thread (never a broker
  thread: it may have to find the transaction coordinator first), at start and whenever the
  epoch must change; its errors through err_action(err, RequestKind.INIT_PRODUCER_ID)
  (errors.py's INIT_PRODUCER_ID_ACTIONS). Until there is an id, ProduceServer.serve() sends
  nothing: the gate goes where serve() decides a partition is ready (`_ready`).
- Sequence numbers: idempotence.py's ProducerIdentity answers batch_identity(tp, first) with
  the id, the epoch and the base sequence `first.msgid - base msgid of the partition's epoch`
  (wrapping at 2**31, as librdkafka's rd_kafka_seq_wrap), the base being the first msgid sent
  under the current epoch (librdkafka's rktp_eos.epoch_base_msgid). msgids already order each
  partition's messages (Toppar assigns them, retries are re-inserted by them).
- In-flight ordering: at most 5 requests in flight per connection; a retried batch must go out
  again with the same messages and sequence, before anything newer of its partition, so
  `_requeue` keeps batch boundaries instead of letting the next batch regroup the messages.
  Produce errors keep their table (err_action(err, RequestKind.PRODUCE)); the idempotent
  producer's own handling (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
  DUPLICATE_SEQUENCE_NUMBER) comes after it, in _partition_error.
- KIP-360 epoch bumps: a sequence the broker does not expect makes the main thread bump the
  epoch (InitProducerId with the current id and epoch) once the partition's requests in
  flight have drained; every partition's sequence base starts over under the new epoch.

Transactions (a future txn.py, transactional.id set): the transaction manager's state machine
(librdkafka's rd_kafka_txn_state_t: INIT, WAIT_PID, READY, IN_TRANSACTION, BEGIN_COMMIT,
COMMITTING_TRANSACTION, BEGIN_ABORT, ABORTING_TRANSACTION, ABORTABLE_ERROR, FATAL_ERROR and the
*_NOT_ACKED states between a finished call and its acknowledgement), driven by the application's
init/begin/commit/abort_transaction calls, which wait for it, and by the main thread, which
sends its requests to the coordinator found through rdpy/client/coordinators.py with
CoordinatorType.TRANSACTION and the transactional id. AddPartitionsToTxn must be answered
before a partition's first batch in a transaction: the same gate in serve() holds the partition
until txn.py added it, then wakes its leader. Its identity marks batches transactional and names
the transactional id on ProduceRequests. Each request has its action table in errors.py
(ADD_PARTITIONS_TO_TXN_ACTIONS, END_TXN_ACTIONS, ...).
"""
