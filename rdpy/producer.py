"""Producer: confluent-kafka-python's API on rdpy's engine, with librdkafka's semantics.

produce() only validates, picks a partition and queues; broker threads batch and send; delivery
reports (and error, log and throttle events) are served by poll()/flush() on the caller's thread.
"""

from __future__ import annotations

import operator
import threading
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, Union, overload

from rdpy._clientargs import check_sasl_credentials, config_from_args, timeout_arg
from rdpy.admin import ClusterMetadata
from rdpy.client.events import ClientEvents
from rdpy.client.handle import Handle
from rdpy.client.log import emit as emit_log, thread_tag
from rdpy.client.msg import Headers, ProducerMessage
from rdpy.client.ops import DeliveryReports, ErrorEvent, PlaceUnassigned, ReplyOp
from rdpy.client.produce import unassigned
from rdpy.client.produce.idempotence import Idempotence
from rdpy.client.produce.purge import purge
from rdpy.client.produce.server import ProduceServer
from rdpy.client.group.metadata import GroupMetadata
from rdpy.client.produce.txn import Transactions
from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.client.startup import engine_settings, refuse_unimplemented
from rdpy.client.sync import deadline_for, list_topics, require_cluster_id
from rdpy.config import Conf, Settings
from rdpy.errors import ErrorCode, KafkaError, KafkaException
from rdpy.message import Message
from rdpy.topic_partition import TopicPartition

_monotonic = time.monotonic
_wallclock = time.time
#: Bytes librdkafka adds per message when accounting queue.buffering.max.kbytes is not needed
#: here: we count key + value + header bytes, as librdkafka's rkm_len/keylen do.
_new_message = Message.__new__


_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32 = (_INT32_MIN, _INT32_MAX)
_INT64 = (_INT64_MIN, _INT64_MAX)


#: What produce() takes as a value or key: str is sent UTF-8 encoded.
Payload = Union[str, bytes, None]
#: produce()'s headers: a dict or a list of (key, value) pairs; values str, bytes or None.
HeadersArg = Union[dict[str, Union[str, bytes, None]], list[tuple[str, Union[str, bytes, None]]]]
#: on_delivery(err, msg): err is None when the message was delivered.
DeliveryCallback = Callable[[Union[KafkaError, None], Message], None]

_CLOSED = "Producer has been closed"

_P = TypeVar("_P", bound="Producer")

_AUTHORIZATION_FAILED = ErrorCode.TOPIC_AUTHORIZATION_FAILED
_UNKNOWN_TOPIC = ErrorCode._UNKNOWN_TOPIC


def _refuse_topic(code: int) -> None:
    """produce() to a topic librdkafka holds in its NOTEXISTS or ERROR state fails at once."""
    raise KafkaException(KafkaError(code, f"Unable to produce message: {KafkaError(code).str()}"))


def _type_name(obj: object) -> str:
    """A type as CPython's argument parser names it in its TypeErrors: None, not NoneType."""
    return "None" if obj is None else type(obj).__name__


def _int_arg(value: Any, bounds: tuple[int, int], overflow: str) -> int:
    """An integer argument as confluent-kafka's C layer takes it: anything with __index__
    (bool too), TypeError otherwise, OverflowError outside the C type's range."""
    number = operator.index(value)  # TypeError: "'str' object cannot be interpreted as ..."
    if not bounds[0] <= number <= bounds[1]:
        raise OverflowError(overflow)
    return number


def _to_bytes(value: Any, what: str) -> bytes | None:
    if value is None or type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        # As confluent-kafka: a buffer the caller may still change is refused.
        raise TypeError(f"argument {2 if what == 'value' else 3} must be read-only bytes-like "
                        f"object, not {type(value).__name__}")
    raise TypeError(f"a bytes-like object is required, not '{type(value).__name__}'")


def _headers(headers: Any) -> Headers:
    """produce()'s headers as confluent-kafka's py_headers_to_c() takes them: a dict, or a
    list of 2-tuples (not a tuple of them, nor lists or other pairs as items)."""
    if isinstance(headers, list):
        items: Any = headers
    elif isinstance(headers, dict):
        items = headers.items()
    else:
        raise TypeError("expected headers to be dict or list of (key, value) tuples, "
                        f"not {type(headers).__name__}")
    out: list[tuple[str, bytes | None]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError("Headers are expected to be a list of (key, value) tuples")
        k, v = item
        if type(k) is not str:
            # confluent-kafka writes any other key as str(key) (b"k" becomes "b'k'").
            k = str(k)
        if v is None or type(v) is bytes:
            out.append((k, v))
        elif isinstance(v, str):
            out.append((k, v.encode("utf-8")))
        elif isinstance(v, bytes):
            out.append((k, bytes(v)))
        else:
            raise TypeError("expected header value to be None, binary, or unicode string, "
                            f"not {type(v).__name__}")
    return out or None


#: A produce_batch() message once checked: (key, value, its delivery callback, size).
_BatchMessage = tuple[Union[bytes, None], Union[bytes, None], Union[DeliveryCallback, None], int]


def _batch_payload(i: int, what: str, obj: object) -> bytes | None:
    """A message's 'value' or 'key' as produce_batch() takes it: absent/None, bytes or str."""
    if obj is None:
        return None
    if isinstance(obj, bytes):
        return bytes(obj)
    if isinstance(obj, str):
        return obj.encode("utf-8")
    raise TypeError(f"Message {what} at index {i} must be bytes or str")


def _batch_message(i: int, msg: object, default_cb: DeliveryCallback | None) -> _BatchMessage:
    """App thread. Check message `i` of a produce_batch() as confluent-kafka does, in its
    order; nothing is queued until every message passed."""
    if not isinstance(msg, dict):
        raise TypeError(f"Message at index {i} must be a dict")
    value = _batch_payload(i, "value", msg.get("value"))
    key = _batch_payload(i, "key", msg.get("key"))
    partition = msg.get("partition")
    if partition is not None:
        if not isinstance(partition, int):
            raise TypeError(f"Message partition at index {i} must be int")
        if not _INT64_MIN <= partition <= _INT64_MAX:
            # confluent-kafka's PyLong_AsLong() error (raised there after the batch was
            # queued); refused here before anything is.
            raise OverflowError("Python int too large to convert to C long")
    if msg.get("timestamp") is not None:
        raise NotImplementedError("Message timestamps are not currently supported in batch mode")
    on_delivery = msg.get("callback")
    if on_delivery is None:
        on_delivery = default_cb
    elif not callable(on_delivery):
        # confluent-kafka accepts it and fails when the report is served (a SystemError).
        raise TypeError(f"Message callback at index {i} must be callable")
    headers = msg.get("headers")
    if headers is not None:
        try:
            _headers(headers)
        except (TypeError, ValueError):
            raise ValueError(f"Invalid headers at index {i}") from None
    size = (len(value) if value is not None else 0) + (len(key) if key is not None else 0)
    return key, value, on_delivery, size


def _batch_error(code: int) -> KafkaError:
    """The '_error' produce_batch() puts in the dict of a message it could not queue."""
    return KafkaError(code, f"Message failed: {KafkaError(code).str()}")


class Producer:
    """An asynchronous Kafka producer (confluent_kafka.Producer's API).

    `Producer(config: dict, **kwargs)`: configuration properties as librdkafka names them, plus
    the Python callbacks `on_delivery`/`dr_cb`/`dr_msg_cb`, `error_cb`, `throttle_cb`, `logger`.
    Also a context manager: `with Producer(conf) as p:` flushes and closes on the way out.
    """

    #: True until __init__ completes, so that a subclass which never calls it gets
    #: confluent-kafka's RuntimeError from every method instead of an AttributeError.
    _closed = True

    @overload
    def __init__(self, config: dict[str, Any], /, **kwargs: Any) -> None: ...

    @overload
    def __init__(self, /, **config: Any) -> None: ...

    def __init__(self, /, *args: Any, **kwargs: Any) -> None:
        conf = Conf.from_dict(config_from_args(args, kwargs), "producer")
        settings = conf.finalize("producer")
        _refuse_unimplemented(settings)
        self._settings = settings
        handle = self._handle = Handle(engine_settings(conf, "producer"), "producer",
                                       ProduceServer)
        #: enable.idempotence: the producer id, sequence numbers and their recoveries.
        self._idempotence: Idempotence | None = None
        #: transactional.id: the transaction manager (on top of idempotence).
        self._txn: Transactions | None = None
        if settings.get_bool("enable.idempotence"):
            idempotence = self._idempotence = Idempotence(handle)
            handle.role_factory = lambda broker: ProduceServer(broker, idempotence)
            handle.main_work.append(idempotence)
            handle.eos_stats = idempotence
            transactional_id = settings.get_str("transactional.id")
            if transactional_id:
                self._txn = Transactions(handle, idempotence, transactional_id)
                idempotence.attach(self._txn)
                handle.main_work.append(self._txn)
        # A fatal error fails what is still queued (requests in flight get their answers).
        handle.on_fatal.append(lambda: purge(handle, in_queue=True, in_flight=False,
                                             blocking=False))
        for warning in settings.warnings:
            self._handle.log(4, "CONFWARN", warning)
        callbacks = settings.callbacks
        self._dr_cb: Callable[[Any, Any], None] | None = callbacks.get("on_delivery")  # type: ignore[assignment]
        self._events = ClientEvents(callbacks, self._handle.name)
        self._only_error = settings.get_bool("delivery.report.only.error")
        self._max_msgs = settings.get_int("queue.buffering.max.messages")
        self._max_bytes = settings.get_int("queue.buffering.max.kbytes") * 1024
        self._message_max_bytes = settings.get_int("message.max.bytes")
        self._batch_num = settings.get_int("batch.num.messages")
        self._linger = settings.get_float("linger.ms") / 1000.0
        self._batch_size = settings.get_int("batch.size")
        # message.timeout.ms=0 means no timeout (librdkafka: infinite).
        self._message_timeout = settings.topic.get_int("message.timeout.ms") / 1000.0 or 1e12
        partitioner = callbacks.get("partitioner")
        #: partitioner(key, partition_count) -> partition, called on the application's thread.
        self._user_partitioner: Callable[[bytes | None, int], object] | None = (
            partitioner if callable(partitioner) else None)
        self._flush_lock = threading.Lock()
        self._flushers = 0
        self._closed = False
        self._handle.start()

    # --- produce -------------------------------------------------------------------------------

    def produce(self, topic: str, value: Payload = None, key: Payload = None,
                partition: int = -1, callback: DeliveryCallback | None = None,
                on_delivery: DeliveryCallback | None = None, timestamp: int = 0,
                headers: HeadersArg | None = None) -> None:
        """Queue one message; its delivery report is served later by poll()/flush().

        Arguments in confluent-kafka's order; `callback` and `on_delivery` are aliases (the
        former wins), falling back to the configured on_delivery. Every argument is checked
        before anything is counted or queued, so a refused call leaves no trace
        (TypeError/OverflowError as confluent-kafka raises them). Raises BufferError when
        queue.buffering.max.messages/kbytes is reached, KafkaException for a message larger
        than message.max.bytes or a partition the topic does not have, and RuntimeError once
        the producer is closed.
        """
        if type(topic) is not str and not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {_type_name(topic)}")
        # The hot path: checks inlined, one lock for the counters, none for the partition queue.
        if value is not None and type(value) is not bytes:
            value = _to_bytes(value, "value")
        if key is not None and type(key) is not bytes:
            key = _to_bytes(key, "key")
        if partition != -1 or type(partition) is not int:  # the default needs no check
            if type(partition) is not int:
                partition = _int_arg(partition, _INT32, "signed integer is greater than maximum")
            elif not _INT32_MIN <= partition <= _INT32_MAX:
                raise OverflowError("signed integer is greater than maximum")
        if type(timestamp) is not int:
            timestamp = _int_arg(timestamp, _INT64, "int too big to convert")
        elif timestamp and not _INT64_MIN <= timestamp <= _INT64_MAX:
            raise OverflowError("int too big to convert")
        if callback is not None:
            on_delivery = callback
        if on_delivery is not None and not callable(on_delivery):
            raise TypeError(f"on_delivery must be callable, not {type(on_delivery).__name__}")
        size = (len(value) if value is not None else 0) + (len(key) if key is not None else 0)
        hdrs: Headers = None
        if headers is not None:  # '', 0, () are refused as confluent-kafka does
            hdrs = _headers(headers)
            if hdrs:
                size += sum(len(k) + (len(v) if v is not None else 0) for k, v in hdrs)
        # As confluent-kafka: the arguments are parsed before the handle is looked at.
        if self._closed:
            raise RuntimeError(_CLOSED)
        # _refusal() inlined (the hot path): a fatal error, or a transaction taking no messages.
        txn = self._txn
        if self._handle.fatal_error is not None or (txn is not None and not txn.may_enq):
            code = self._refusal()
            raise KafkaException(KafkaError(
                code, f"Unable to produce message: {KafkaError(code).str()}"))
        # Queue it (rd_kafka_msg_new() and its partitioning), inline: a method call per
        # message costs the hot path ~5%. KafkaException for a message too large, a topic
        # that cannot take it or a partition it does not have, BufferError when the queue
        # is full; nothing is counted then.
        if size > self._message_max_bytes:
            raise KafkaException(KafkaError(
                ErrorCode.MSG_SIZE_TOO_LARGE,
                "Unable to produce message: Broker: Message size too large"))
        handle = self._handle
        t = handle.topics.get(topic) or handle.get_topic(topic)
        if t.notexists or t.error == _AUTHORIZATION_FAILED:
            _refuse_topic(t.error if t.error == _AUTHORIZATION_FAILED else _UNKNOWN_TOPIC)
        now = _monotonic()
        if not timestamp:
            timestamp = int(_wallclock() * 1000)
        msg = ProducerMessage(topic, partition, key, value, hdrs, timestamp, on_delivery, now,
                              now + self._message_timeout, size)
        if not t.direct:
            # Metadata unknown, or messages still waiting in the unassigned queue: queue behind
            # them. `direct` only changes under ua_lock, after that queue was emptied, so a
            # message is never placed ahead of one produced before it.
            with t.ua_lock:
                if not t.direct:
                    self._count(size)
                    t.ua.append(msg)
                    return
        parts = t.partitions
        count = len(parts)
        if partition == -1:
            if self._user_partitioner is not None:
                msg.partition = self._call_partitioner(key, count)
            else:
                msg.partition = t.partitioner.partition(key, count, int(now * 1_000_000))
        elif not 0 <= partition < count:
            raise KafkaException(KafkaError(
                ErrorCode._UNKNOWN_PARTITION,
                "Unable to produce message: Local: Unknown partition"))
        self._count(size)
        tp = parts[msg.partition]
        if txn is not None and not tp.txn_state:
            txn.add_partition(tp)
        qlen = tp.enqueue(msg)
        leader = tp.leader
        # Wake the leader's thread only if it would otherwise sleep past this message's
        # linger time, or a full batch is waiting: one wake-up per batch, not per message.
        if leader is not None and (leader.sleep_until > now + self._linger
                                   or qlen >= self._batch_num
                                   or qlen * size >= self._batch_size):
            leader.wake()

    def _refusal(self) -> int:
        """App thread. The error every produce is refused with right now (a fatal error, or a
        transaction state that takes no messages: rd_kafka_check_produce()), else 0."""
        if self._handle.fatal_error is not None:
            return ErrorCode._FATAL
        txn = self._txn
        if txn is not None and not txn.may_enq:
            return ErrorCode._STATE
        return 0

    def produce_batch(self, topic: str, messages: list[dict[str, Any]], partition: int = -1,
                      callback: DeliveryCallback | None = None,
                      on_delivery: DeliveryCallback | None = None) -> int:
        """Queue a list of messages, each a dict with optional 'value' and 'key' (str or
        bytes), 'callback' (its own delivery callback), 'partition', 'headers' and
        'timestamp'; returns how many were queued.

        As confluent-kafka 2.16 (which calls rd_kafka_produce_batch() without
        RD_KAFKA_MSG_F_PARTITION): every message goes to `partition` (default: the
        partitioner), a message's own 'partition' is type-checked and otherwise ignored;
        its 'headers' are checked and dropped; a 'timestamp' is NotImplementedError.
        Every dict is checked before any message is queued (TypeError/ValueError naming the
        index). A message that cannot be queued (queue full, too large, unknown partition...)
        gets an '_error' KafkaError in its dict; the others are queued all the same. Should
        the application's partitioner raise, the exception propagates and that message and
        every one after it get an '_error' (_FAIL): the dicts without one were queued.
        """
        if type(topic) is not str and not isinstance(topic, str):
            raise TypeError(f"argument 1 must be str, not {_type_name(topic)}")
        if type(partition) is not int:
            partition = _int_arg(partition, _INT32, "signed integer is greater than maximum")
        elif not _INT32_MIN <= partition <= _INT32_MAX:
            raise OverflowError("signed integer is greater than maximum")
        default_cb = callback if callback is not None else on_delivery
        if default_cb is not None and not callable(default_cb):
            raise TypeError(f"on_delivery must be callable, not {type(default_cb).__name__}")
        if not isinstance(messages, list):
            raise TypeError("messages must be a list")
        if not messages:
            return 0
        if self._closed:
            raise RuntimeError(_CLOSED)
        checked = [_batch_message(i, m, default_cb) for i, m in enumerate(messages)]
        return self._enqueue_batch(topic, partition, messages, checked)

    def _enqueue_batch(self, topic: str, partition: int, messages: list[dict[str, Any]],
                       checked: list[_BatchMessage]) -> int:
        """App thread. Queue checked messages one by one; as rd_kafka_produce_batch(), an
        error that refuses every produce, and a full queue, fail all the messages after it."""
        all_err = self._refusal()
        good = 0
        for i, (msg_dict, (key, value, on_delivery, _size)) in enumerate(zip(messages, checked)):
            if not all_err:
                try:
                    # produce()'s checks pass again (cheap, on checked values): its
                    # enqueue path is inline, for the hot path's sake.
                    # Producer's own, not a subclass's (SerializingProducer's takes key first
                    # and would serialize): batches are sent as given, as confluent-kafka's.
                    Producer.produce(self, topic, value, key, partition,
                                     on_delivery=on_delivery)
                    good += 1
                    continue
                except BufferError:
                    all_err = ErrorCode._QUEUE_FULL
                except KafkaException as exc:
                    msg_dict["_error"] = _batch_error(exc.args[0].code())
                    continue
                except BaseException:
                    # The application's partitioner raised: the exception propagates, and
                    # the dicts still tell which messages were queued (those without
                    # '_error'), since the count returned is lost.
                    for rest in messages[i:]:
                        rest["_error"] = _batch_error(ErrorCode._FAIL)
                    raise
            msg_dict["_error"] = _batch_error(all_err)
        return good

    def _count(self, size: int) -> None:
        """App thread. Reserve room for one message, or raise BufferError (nothing counted)."""
        handle = self._handle
        with handle._cnt_lock:
            if handle.msg_cnt >= self._max_msgs or handle.msg_bytes + size > self._max_bytes:
                raise BufferError("Local: Queue full")
            handle.msg_cnt += 1
            handle.msg_bytes += size

    # --- events --------------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> int:
        """Serve queued delivery reports and events; wait up to `timeout` s (None/-1: forever)
        for the first one. Returns the number of events served."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        q = self._handle.reply_q
        if not q:
            if timeout == 0:
                return 0  # the common poll(0) after each produce(): no lock, no clock
        else:
            if type(timeout) is not int and type(timeout) is not float:
                timeout_arg(timeout)  # TypeError for a timeout that is not a number
            return self._serve(q.pop_all())
        deadline = deadline_for(timeout_arg(timeout))
        while True:
            ops = q.pop_all()
            if ops:
                return self._serve(ops)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return 0
            q.wait(min(remaining, MAX_BLOCK_SLICE))

    def _serve(self, ops: list[ReplyOp]) -> int:
        """Serve ops in order; returns how many were served. As in librdkafka, one batch of
        delivery reports is one event, and events without a callback still count."""
        return self._handle.reply_q.serve_in_order(ops, self._serve_op)

    def _serve_op(self, op: ReplyOp) -> int:
        match op:
            case DeliveryReports(msgs):
                return self._serve_delivery_reports(msgs)
            case ErrorEvent(error) if error.code() == ErrorCode._FATAL:
                # As confluent-kafka: a fatal error is raised from poll()/flush() (not given
                # to error_cb), as the underlying error.
                fatal = self._handle.fatal_error
                raise KafkaException(fatal if fatal is not None else error)
            case PlaceUnassigned(topic):
                unassigned.place_with_user_partitioner(self._handle, topic,
                                                       self._call_partitioner)
                return 0
            case _:
                return self._events.serve(op)

    def _call_partitioner(self, key: bytes | None, count: int) -> int:
        """App thread. The user's partitioner(key, partition_count) -> int, checked."""
        partitioner = self._user_partitioner
        assert partitioner is not None  # called only when the application gave one
        partition = partitioner(key, count)
        if not isinstance(partition, int) or isinstance(partition, bool) \
                or not 0 <= partition < count:
            raise KafkaException(KafkaError(
                ErrorCode._UNKNOWN_PARTITION,
                f"Unable to produce message: partitioner returned {partition!r} for a topic "
                f"with {count} partitions"))
        return partition

    def _serve_delivery_reports(self, msgs: list[ProducerMessage]) -> int:
        self._handle.release(len(msgs), sum(m.size for m in msgs))
        if self._txn is not None:
            self._txn.count_delivery_failures(sum(1 for m in msgs if m.err))
        served = 0
        default_cb = self._dr_cb
        only_error = self._only_error
        now = time.monotonic()
        i = 0
        try:
            for i, m in enumerate(msgs):
                cb = m.on_delivery or default_cb
                if cb is None:
                    continue
                if m.err:
                    err: KafkaError | None = KafkaError(m.err)
                elif only_error:
                    continue
                else:
                    err = None
                cb(err, _delivery_report(m, err, now))
                served += 1
        except BaseException:
            rest = msgs[i + 1:]
            if rest:
                # Already released from the counters: re-reserve before re-queueing.
                self._handle.release(-len(rest), -sum(r.size for r in rest))
                self._handle.reply_q.push_front([DeliveryReports(rest)])
            raise
        return served

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every message is delivered or failed and its report served; returns the
        number of messages still queued (0 when done within `timeout` seconds)."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        handle = self._handle
        deadline = deadline_for(timeout_arg(timeout))
        with self._flush_lock:
            self._flushers += 1
            handle.flushing = True
        try:
            for b in handle.all_brokers():
                b.wake()
            while len(self) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.poll(min(remaining, MAX_BLOCK_SLICE))
        finally:
            with self._flush_lock:
                self._flushers -= 1
                handle.flushing = self._flushers > 0
        return len(self)

    def __len__(self) -> int:
        """Messages not yet delivered plus events waiting to be served (rd_kafka_outq_len)."""
        if self._closed:
            return 0
        handle = self._handle
        pending_events = sum(1 for op in handle.reply_q.snapshot()
                             if not isinstance(op, DeliveryReports))
        return handle.msg_cnt + pending_events

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        """Fail queued (_PURGE_QUEUE) and/or in-flight (_PURGE_INFLIGHT) messages; their reports
        are served by the next poll()/flush()."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        idempotence = self._idempotence
        purge(self._handle, in_queue, in_flight, blocking,
              idempotence.purged if idempotence is not None else None)

    # --- transactions (transactional.id) ------------------------------------------------------

    def init_transactions(self, timeout: float | None = None) -> None:
        """Get the producer id for transactional.id from its transaction coordinator,
        completing or aborting what a previous instance left. Call once, before anything
        else transactional; a retriable error (e.g. _TIMED_OUT) may be resumed by calling
        it again."""
        self._transactions().init_transactions(timeout)

    def begin_transaction(self) -> None:
        """Start a transaction: messages produced from now on belong to it."""
        self._transactions().begin_transaction()

    def send_offsets_to_transaction(self, positions: list[TopicPartition],
                                    group_metadata: bytes | GroupMetadata,
                                    timeout: float | None = None) -> None:
        """Commit a consumer's positions (the next offsets to consume) to its group as part
        of the current transaction: committed only if the transaction is. `group_metadata`
        is the consumer's consumer_group_metadata()."""
        # As confluent-kafka: a closed producer is refused first, then the positions and the
        # group metadata are read (in that order) before anything transactional is asked.
        if self._closed:
            raise RuntimeError(_CLOSED)
        if not isinstance(positions, list):
            raise TypeError("requires list of TopicPartition")
        offsets: list[tuple[str, int, int, str | None, int]] = []
        for tp in positions:
            if not isinstance(tp, TopicPartition):
                raise TypeError("expected TopicPartition")
            epoch = tp.leader_epoch
            offsets.append((tp.topic, tp.partition, tp.offset, tp.metadata,
                            epoch if epoch is not None else -1))
        if isinstance(group_metadata, GroupMetadata):
            group = group_metadata
        elif isinstance(group_metadata, (bytes, bytearray)):
            group = GroupMetadata.parse(bytes(group_metadata))
        else:
            raise TypeError(f"expected bytes, {type(group_metadata).__name__} found")
        self._transactions().send_offsets_to_transaction(offsets, group, timeout)

    def commit_transaction(self, timeout: float | None = None) -> None:
        """Flush every message (serving their delivery reports), then commit the
        transaction. A retriable error may be resumed by calling it again; one that
        `txn_requires_abort()` needs abort_transaction()."""
        self._transactions().commit_transaction(timeout, self.flush)

    def abort_transaction(self, timeout: float | None = None) -> None:
        """Fail what is still queued (_PURGE_QUEUE), wait for what is in flight, then abort
        the transaction: read_committed consumers never see its messages."""
        self._transactions().abort_transaction(timeout, self.flush)

    def _transactions(self) -> Transactions:
        if self._closed:
            raise RuntimeError(_CLOSED)
        if self._txn is None:
            raise KafkaException(KafkaError(
                ErrorCode._NOT_CONFIGURED,
                "The Transactional API requires transactional.id to be configured"))
        return self._txn

    # --- metadata ------------------------------------------------------------------------------

    def cluster_id(self, timeout: float = -1) -> str:
        """The cluster's id (Metadata v2+, KIP-78), waiting up to `timeout` s (-1: forever)
        for the first Metadata answer; KafkaException(_TIMED_OUT) when none carried one."""
        if self._closed:
            raise RuntimeError("Handle has been closed")
        return require_cluster_id(self._handle, timeout_arg(timeout))

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Set the SASL username and password for the next authentication. rdpy has no SASL
        yet (security.protocol=sasl_* is refused at creation), so on the plaintext connections
        it has they are not used, as librdkafka does not use them there."""
        check_sasl_credentials(username, password)
        if self._closed:
            raise RuntimeError("Handle has been closed")

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """Ask the cluster for its brokers and topics (all, or just `topic`)."""
        if self._closed:
            raise RuntimeError("Handle has been closed")
        return list_topics(self._handle, topic, timeout)

    # --- life cycle ----------------------------------------------------------------------------

    def close(self) -> bool:
        """Flush outstanding messages, then stop the client's threads. Returns True."""
        if self._closed:
            return True
        try:
            self._abort_open_transaction()
            self.flush()
        finally:
            # Destroyed even when flush() raised (a callback's exception, a fatal error),
            # which then propagates, as confluent-kafka's close() does.
            self._closed = True
            self._handle.destroy()
        return True

    def __bool__(self) -> bool:
        """Always true, as confluent-kafka's: without it __len__ would make a producer with
        nothing queued false, and `if producer:` would be wrong."""
        return True

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Flush and close (as close()); returns None, so an exception from the block
        propagates."""
        self.close()

    def _abort_open_transaction(self) -> None:
        """close(): as confluent-kafka's, a transaction still open is aborted first (a failed
        abort is a RuntimeWarning). Bounded by transaction.timeout.ms, after which the
        coordinator aborts it anyway, so close() cannot hang on an unreachable cluster."""
        txn = self._txn
        if txn is None or not txn.open():
            return
        try:
            txn.abort_transaction(txn.timeout_ms / 1000.0, self.flush)
        except KafkaException as exc:
            warnings.warn(f"Producer abort_transaction failed during close: {exc.args[0].str()}",
                          RuntimeWarning, stacklevel=3)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is None or handle.terminating:
            return
        if handle.msg_cnt > 0 and handle.log_level >= 4:
            # librdkafka's warning when a producer is destroyed without flush(); logged here
            # at once, since no poll() will ever serve it.
            self._log_now(4, "TERMINATE", (
                f"Producer terminating with {handle.msg_cnt} message"
                f"{'s' if handle.msg_cnt != 1 else ''} ({handle.msg_bytes} byte"
                f"{'s' if handle.msg_bytes != 1 else ''}) still in queue or transit: use flush() "
                "to wait for outstanding message delivery"))
        handle.destroy_on_gc()


    def _log_now(self, level: int, facility: str, text: str) -> None:
        """App thread, when no poll() will follow (the producer is going away): the line goes
        to the `logger` (or Python logging) at once. Never raises: logging may be torn down."""
        try:
            emit_log(self._events.logger, self._handle.name, level, facility,
                     f"[thrd:{thread_tag()}]: {text}")
        except Exception:
            pass


def _refuse_unimplemented(settings: Settings) -> None:
    refuse_unimplemented(settings, "producer", [])


def _delivery_report(m: ProducerMessage, err: KafkaError | None, now: float) -> Message:
    report: Message = _new_message(Message)
    report._topic = m.topic
    # confluent-kafka reports the partition asked for, except the unassigned one (-1).
    report._partition = m.partition if m.partition != -1 else None
    report._offset = m.offset if m.offset >= 0 else None
    report._key = m.key
    report._value = m.value
    # confluent-kafka does not hand headers back on delivery reports.
    report._headers = None
    report._error = err
    # A failed message has no timestamp, as in librdkafka (TIMESTAMP_NOT_AVAILABLE, -1).
    report._timestamp = (m.ts_type, m.timestamp) if err is None else (0, -1)
    # Whole microseconds, as librdkafka's rd_kafka_message_latency() (and a pickled copy).
    report._latency = int((now - m.enq_time) * 1_000_000) / 1_000_000
    report._leader_epoch = None
    report._delivery_count = None
    return report

