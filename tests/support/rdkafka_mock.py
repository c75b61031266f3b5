"""librdkafka's mock cluster, driven through ctypes on the librdkafka bundled in confluent-kafka.

``LibrdkafkaMockCluster`` creates a producer handle (``rd_kafka_new``) only to own a mock
cluster (``rd_kafka_mock_cluster_new``): N brokers with ids 1..N listening on loopback, that any
Kafka client (confluent-kafka, rdpy) can bootstrap from via ``bootstrap_servers``. The methods
wrap the ``rd_kafka_mock_*`` fault-injection API of src/rdkafka_mock.h; every call that returns
an ``rd_kafka_resp_err_t`` is checked and a non-zero code raises ``RuntimeError`` with
``rd_kafka_err2str``'s text.

The mock API is experimental in librdkafka and not ABI-stable: signatures here follow the
header of the librdkafka bundled with confluent-kafka 2.x (checked against ``nm -D``).
"""

from __future__ import annotations

import ctypes
import glob
import os
from dataclasses import dataclass
from types import TracebackType

__all__ = ["LibrdkafkaMockCluster", "MockRequest", "find_librdkafka", "load_librdkafka"]

RD_KAFKA_PRODUCER = 0  # rd_kafka_type_t
RD_KAFKA_CONF_OK = 0  # rd_kafka_conf_res_t

_lib: ctypes.CDLL | None = None


def find_librdkafka() -> str:
    """Path of the librdkafka shared library bundled in the confluent-kafka wheel."""
    import confluent_kafka

    pkg_dir = os.path.dirname(os.path.abspath(confluent_kafka.__file__))
    site = os.path.dirname(pkg_dir)
    patterns = [
        os.path.join(site, "confluent_kafka.libs", "librdkafka*.so*"),  # manylinux (auditwheel)
        os.path.join(pkg_dir, ".dylibs", "librdkafka*.dylib"),  # macOS (delocate)
        os.path.join(pkg_dir, "librdkafka*.dll"),  # Windows
        os.path.join(site, "confluent_kafka.libs", "librdkafka*.dll"),
    ]
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    raise FileNotFoundError(f"no bundled librdkafka found next to {pkg_dir}")


def load_librdkafka() -> ctypes.CDLL:
    """The bundled librdkafka with argtypes/restypes set for the functions used here."""
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(find_librdkafka())
    vp, i, i16, i32, i64, sz = (
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int16,
        ctypes.c_int32,
        ctypes.c_int64,
        ctypes.c_size_t,
    )
    cp = ctypes.c_char_p

    def sig(name: str, restype: object, *argtypes: object) -> None:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)

    sig("rd_kafka_err2str", cp, i)
    sig("rd_kafka_conf_new", vp)
    sig("rd_kafka_conf_destroy", None, vp)
    sig("rd_kafka_conf_set", i, vp, cp, cp, cp, sz)
    sig("rd_kafka_new", vp, i, vp, cp, sz)
    sig("rd_kafka_destroy", None, vp)
    sig("rd_kafka_version_str", cp)
    sig("rd_kafka_mock_cluster_new", vp, vp, i)
    sig("rd_kafka_mock_cluster_destroy", None, vp)
    sig("rd_kafka_mock_cluster_bootstraps", cp, vp)
    sig("rd_kafka_mock_topic_create", i, vp, cp, i, i)
    sig("rd_kafka_mock_topic_set_error", None, vp, cp, i)
    sig("rd_kafka_mock_clear_request_errors", None, vp, i16)
    sig("rd_kafka_mock_push_request_errors_array", None, vp, i16, sz, ctypes.POINTER(i))
    sig("rd_kafka_mock_partition_set_leader", i, vp, cp, i32, i32)
    sig("rd_kafka_mock_partition_set_follower", i, vp, cp, i32, i32)
    sig("rd_kafka_mock_partition_set_follower_wmarks", i, vp, cp, i32, i64, i64)
    sig("rd_kafka_mock_broker_set_down", i, vp, i32)
    sig("rd_kafka_mock_broker_set_up", i, vp, i32)
    sig("rd_kafka_mock_broker_set_rtt", i, vp, i32, i)
    sig("rd_kafka_mock_broker_set_rack", i, vp, i32, cp)
    sig("rd_kafka_mock_broker_error_stack_cnt", i, vp, i32, i16, ctypes.POINTER(sz))
    sig("rd_kafka_mock_coordinator_set", i, vp, cp, cp, i32)
    sig("rd_kafka_mock_set_apiversion", i, vp, i16, i16, i16)
    sig("rd_kafka_mock_start_request_tracking", None, vp)
    sig("rd_kafka_mock_stop_request_tracking", None, vp)
    sig("rd_kafka_mock_clear_requests", None, vp)
    sig("rd_kafka_mock_get_requests", ctypes.POINTER(vp), vp, ctypes.POINTER(sz))
    sig("rd_kafka_mock_request_id", i32, vp)
    sig("rd_kafka_mock_request_api_key", i16, vp)
    sig("rd_kafka_mock_request_timestamp", i64, vp)
    sig("rd_kafka_mock_request_destroy_array", None, ctypes.POINTER(vp), sz)
    # rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, ApiKey, cnt, ...)
    # is variadic: its restype is set but argtypes are left unset and every argument is
    # passed as an explicit ctypes object (see broker_push_request_error_rtts()).
    lib.rd_kafka_mock_broker_push_request_error_rtts.restype = i
    _lib = lib
    return lib


@dataclass(frozen=True)
class MockRequest:
    """One request the mock cluster received while request tracking was on."""

    broker_id: int
    api_key: int
    timestamp_us: int


class LibrdkafkaMockCluster:
    """A librdkafka mock cluster (default 3 brokers, ids 1..N) on loopback; a context manager.

    Usable from any thread; each call is forwarded to the mock cluster's own thread by
    librdkafka. ``close()`` is idempotent.
    """

    def __init__(self, broker_cnt: int = 3, *, log_level: int = 3) -> None:
        self._lib = lib = load_librdkafka()
        self._rk: int | None = None
        self._mc: int | None = None
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        if not conf:
            raise RuntimeError("rd_kafka_conf_new failed")
        for key, value in (("log_level", str(log_level)), ("client.id", "rdpy-mock-cluster")):
            res = lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), errstr, len(errstr))
            if res != RD_KAFKA_CONF_OK:
                lib.rd_kafka_conf_destroy(conf)
                raise RuntimeError(f"rd_kafka_conf_set({key}): {errstr.value.decode()}")
        # rd_kafka_new takes ownership of conf on success only.
        rk = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not rk:
            lib.rd_kafka_conf_destroy(conf)
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self._rk = rk
        mc = lib.rd_kafka_mock_cluster_new(rk, broker_cnt)
        if not mc:
            lib.rd_kafka_destroy(rk)
            self._rk = None
            raise RuntimeError(f"rd_kafka_mock_cluster_new(broker_cnt={broker_cnt}) failed")
        self._mc = mc
        self.broker_cnt = broker_cnt
        self.bootstrap_servers: str = lib.rd_kafka_mock_cluster_bootstraps(mc).decode()
        self.librdkafka_version: str = lib.rd_kafka_version_str().decode()

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> LibrdkafkaMockCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Destroy the mock cluster (closing its listeners) and then the owning handle."""
        mc, self._mc = self._mc, None
        rk, self._rk = self._rk, None
        if mc:
            self._lib.rd_kafka_mock_cluster_destroy(mc)
        if rk:
            self._lib.rd_kafka_destroy(rk)

    @property
    def closed(self) -> bool:
        return self._mc is None

    def _cluster(self) -> int:
        if self._mc is None:
            raise RuntimeError("mock cluster is closed")
        return self._mc

    def err2str(self, err: int) -> str:
        text: bytes | None = self._lib.rd_kafka_err2str(err)
        return text.decode() if text else f"error {err}"

    def _check(self, what: str, err: int) -> None:
        if err != 0:
            raise RuntimeError(f"{what} failed: {self.err2str(err)} ({err})")

    # ------------------------------------------------------------------ topics

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 1) -> None:
        """rd_kafka_mock_topic_create; leaders are spread over the brokers by librdkafka."""
        err = self._lib.rd_kafka_mock_topic_create(
            self._cluster(), name.encode(), partitions, replication_factor
        )
        self._check(f"rd_kafka_mock_topic_create({name!r}, {partitions})", err)

    def topic_set_error(self, topic: str, err: int) -> None:
        """Error returned for the topic in Metadata (and AddPartitionsToTxn) responses."""
        self._lib.rd_kafka_mock_topic_set_error(self._cluster(), topic.encode(), err)

    def partition_set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        """Set the leader; -1 makes the partition leaderless. Creates the topic if needed."""
        err = self._lib.rd_kafka_mock_partition_set_leader(
            self._cluster(), topic.encode(), partition, broker_id
        )
        self._check(f"rd_kafka_mock_partition_set_leader({topic!r}, {partition})", err)

    def partition_set_follower(self, topic: str, partition: int, broker_id: int) -> None:
        """Set the preferred replica (follower) returned to fetchers with a rack."""
        err = self._lib.rd_kafka_mock_partition_set_follower(
            self._cluster(), topic.encode(), partition, broker_id
        )
        self._check(f"rd_kafka_mock_partition_set_follower({topic!r}, {partition})", err)

    def partition_set_follower_wmarks(self, topic: str, partition: int, lo: int, hi: int) -> None:
        """The follower's low/high watermarks; -1 reverts to the leader's."""
        err = self._lib.rd_kafka_mock_partition_set_follower_wmarks(
            self._cluster(), topic.encode(), partition, lo, hi
        )
        self._check(f"rd_kafka_mock_partition_set_follower_wmarks({topic!r})", err)

    # ----------------------------------------------------------------- brokers

    def broker_set_down(self, broker_id: int) -> None:
        """Disconnect the broker (-1: all) and refuse new connections; no leader change."""
        self._check(
            f"rd_kafka_mock_broker_set_down({broker_id})",
            self._lib.rd_kafka_mock_broker_set_down(self._cluster(), broker_id),
        )

    def broker_set_up(self, broker_id: int) -> None:
        """Accept connections on the broker (-1: all) again."""
        self._check(
            f"rd_kafka_mock_broker_set_up({broker_id})",
            self._lib.rd_kafka_mock_broker_set_up(self._cluster(), broker_id),
        )

    def broker_set_rtt(self, broker_id: int, rtt_ms: int) -> None:
        """Delay every response of the broker (-1: all) by rtt_ms."""
        self._check(
            f"rd_kafka_mock_broker_set_rtt({broker_id}, {rtt_ms})",
            self._lib.rd_kafka_mock_broker_set_rtt(self._cluster(), broker_id, rtt_ms),
        )

    def broker_set_rack(self, broker_id: int, rack: str) -> None:
        self._check(
            f"rd_kafka_mock_broker_set_rack({broker_id}, {rack!r})",
            self._lib.rd_kafka_mock_broker_set_rack(self._cluster(), broker_id, rack.encode()),
        )

    def coordinator_set(self, key_type: str, key: str, broker_id: int) -> None:
        """Pin the coordinator for key_type "group" or "transaction" to broker_id."""
        err = self._lib.rd_kafka_mock_coordinator_set(
            self._cluster(), key_type.encode(), key.encode(), broker_id
        )
        self._check(f"rd_kafka_mock_coordinator_set({key_type!r}, {key!r})", err)

    # --------------------------------------------------------- error injection

    def push_request_errors(self, api_key: int, *error_codes: int) -> None:
        """The next len(error_codes) requests of api_key, cluster-wide, fail with these codes
        in order. RD_KAFKA_RESP_ERR__TRANSPORT (-195) makes the broker disconnect instead."""
        arr = (ctypes.c_int * len(error_codes))(*error_codes)
        self._lib.rd_kafka_mock_push_request_errors_array(
            self._cluster(), api_key, len(error_codes), arr
        )

    def broker_push_request_error_rtts(
        self, broker_id: int, api_key: int, *errors_and_rtts: tuple[int, int]
    ) -> None:
        """Per-broker error stack of (error_code, rtt_ms) pairs for the next requests of
        api_key on that broker; takes precedence over push_request_errors."""
        args: list[object] = [
            ctypes.c_void_p(self._cluster()),
            ctypes.c_int32(broker_id),
            ctypes.c_int16(api_key),
            ctypes.c_size_t(len(errors_and_rtts)),
        ]
        for err, rtt_ms in errors_and_rtts:
            args += [ctypes.c_int(err), ctypes.c_int(rtt_ms)]
        self._check(
            f"rd_kafka_mock_broker_push_request_error_rtts({broker_id}, {api_key})",
            self._lib.rd_kafka_mock_broker_push_request_error_rtts(*args),
        )

    def broker_error_stack_cnt(self, broker_id: int, api_key: int) -> int:
        """How many entries remain on the broker's error stack for api_key."""
        cnt = ctypes.c_size_t(0)
        err = self._lib.rd_kafka_mock_broker_error_stack_cnt(
            self._cluster(), broker_id, api_key, ctypes.byref(cnt)
        )
        self._check(f"rd_kafka_mock_broker_error_stack_cnt({broker_id}, {api_key})", err)
        return cnt.value

    def clear_request_errors(self, api_key: int) -> None:
        """Drop the cluster-wide error stack for api_key."""
        self._lib.rd_kafka_mock_clear_request_errors(self._cluster(), api_key)

    def set_apiversion(self, api_key: int, min_version: int, max_version: int) -> None:
        """Advertised version range for api_key; (-1, -1) disables the API."""
        err = self._lib.rd_kafka_mock_set_apiversion(
            self._cluster(), api_key, min_version, max_version
        )
        self._check(f"rd_kafka_mock_set_apiversion({api_key})", err)

    # -------------------------------------------------------- request tracking

    def start_request_tracking(self) -> None:
        self._lib.rd_kafka_mock_start_request_tracking(self._cluster())

    def stop_request_tracking(self) -> None:
        self._lib.rd_kafka_mock_stop_request_tracking(self._cluster())

    def clear_requests(self) -> None:
        self._lib.rd_kafka_mock_clear_requests(self._cluster())

    def get_requests(self) -> list[MockRequest]:
        """Requests received since tracking started (or the last clear_requests)."""
        lib = self._lib
        cnt = ctypes.c_size_t(0)
        reqs = lib.rd_kafka_mock_get_requests(self._cluster(), ctypes.byref(cnt))
        if not reqs:
            return []
        try:
            return [
                MockRequest(
                    broker_id=lib.rd_kafka_mock_request_id(reqs[i]),
                    api_key=lib.rd_kafka_mock_request_api_key(reqs[i]),
                    timestamp_us=lib.rd_kafka_mock_request_timestamp(reqs[i]),
                )
                for i in range(cnt.value)
            ]
        finally:
            lib.rd_kafka_mock_request_destroy_array(reqs, cnt)
