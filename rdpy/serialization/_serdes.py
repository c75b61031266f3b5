"""How the serializing clients take their serdes from the configuration.

Owns what SerializingProducer and DeserializingConsumer share: popping ``key.serializer`` /
``value.serializer`` (or the deserializers) and their ``.builder`` variants off the
configuration, running the builders, handing the serdes a resolver of the cluster id, and
closing the serdes a client built. Runs on the application's thread inside the clients'
constructors and close(); the cluster id resolver may run on any thread that (de)serializes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

_log = logging.getLogger("rdpy.serialization")

#: Seconds a serde waits for the cluster id (confluent-kafka's value).
CLUSTER_ID_TIMEOUT = 60.0


class SerdeSpec(NamedTuple):
    """One serde as the configuration gives it: ready-made, or a builder to run."""

    prop: str
    serde: Any
    builder: Any
    is_key: bool


def pop_serde_props(conf: Dict[str, Any], key_prop: str, value_prop: str
                    ) -> Tuple[List[SerdeSpec], Dict[str, Any]]:
    """The key and value SerdeSpec and a copy of ``conf`` without them (``conf`` is left
    alone). ValueError when a property and its ``.builder`` are both set."""
    rest = dict(conf)
    specs = []
    for prop, is_key in ((key_prop, True), (value_prop, False)):
        builder_prop = prop + ".builder"
        serde = rest.pop(prop, None)
        builder = rest.pop(builder_prop, None)
        if serde is not None and builder is not None:
            raise ValueError(f"Cannot configure both {prop} and {builder_prop}; "
                             "use one or the other")
        specs.append(SerdeSpec(prop, serde, builder, is_key))
    return specs, rest


def _build_result(prop: str, result: object) -> Tuple[Any, Dict[str, Any]]:
    """Check that a builder returned ``(serde, dict)``, naming its property if not."""
    pair: Any = result  # any two-item iterable, as confluent-kafka takes it
    try:
        serde, rest = pair
    except (TypeError, ValueError):
        raise ValueError(f"{prop}.builder must return a (serde, configuration) tuple from "
                         f"build(), got {type(result).__name__}") from None
    if not isinstance(rest, dict):
        raise ValueError(f"{prop}.builder returned {type(rest).__name__} as the leftover "
                         "configuration from build(), expected a dict")
    return serde, rest


def _common_leftovers(conf: Dict[str, Any], leftovers: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A property reaches the client only if no builder consumed it."""
    if not leftovers:
        return conf
    last = leftovers[-1]
    return {k: v for k, v in last.items() if all(k in other for other in leftovers[:-1])}


def build_serdes(specs: List[SerdeSpec], conf: Dict[str, Any]
                 ) -> Tuple[List[Any], List[Any], Dict[str, Any]]:
    """Run the builders: (the serdes in spec order, None where none is configured; the ones
    built here, which the client owns; the configuration left for the client). Each builder
    sees the whole configuration. If one fails, those built before it are closed."""
    serdes: List[Any] = []
    owned: List[Any] = []
    leftovers: List[Dict[str, Any]] = []
    try:
        for spec in specs:
            if spec.builder is None:
                serdes.append(spec.serde)
                continue
            serde, rest = _build_result(spec.prop, spec.builder.build(dict(conf), spec.is_key))
            serdes.append(serde)
            owned.append(serde)
            leftovers.append(rest)
    except BaseException:
        close_serdes(owned)
        raise
    return serdes, owned, _common_leftovers(conf, leftovers)


def close_serdes(serdes: List[Any]) -> None:
    """Close every serde that has close(); the first failure is raised after all were tried,
    later ones are logged."""
    first: Optional[BaseException] = None
    for serde in serdes:
        close = getattr(serde, "close", None)
        if not callable(close):
            continue
        try:
            close()
        except BaseException as e:
            if first is None:
                first = e
            else:
                _log.warning("Failed to close serde %r", serde, exc_info=True)
    if first is not None:
        raise first


def start_with_serdes(client: object, conf: Dict[str, Any], key_prop: str, value_prop: str,
                      start: Callable[[Dict[str, Any]], None]) -> Tuple[Any, Any, List[Any]]:
    """A serializing client's construction: take its serdes off `conf`, run the builders,
    `start` the client with the rest (its base class's __init__), then offer the serdes the
    client's cluster id. Returns (key serde, value serde, the serdes built here, which the
    client owns and closes). If the client fails to start, what was built is closed: the
    start's error is the one raised, a failure to close is dropped."""
    specs, rest = pop_serde_props(conf, key_prop, value_prop)
    serdes, owned, rest = build_serdes(specs, rest)
    try:
        start(rest)
        offer_cluster_id_resolver(client, serdes)
    except BaseException:
        try:
            close_serdes(owned)
        except Exception:
            pass
        raise
    return serdes[0], serdes[1], owned


class SharedClusterIdResolver:
    """Calls the client's ``cluster_id(timeout=...)`` for the serdes, one call at a time:
    callers arriving while a call is under way wait for it and share its answer (or error).
    Nothing is cached: the client caches the id once it knows it."""

    def __init__(self, cluster_id: Callable[..., Any], timeout: float = CLUSTER_ID_TIMEOUT) -> None:
        self._cluster_id = cluster_id
        self._timeout = timeout
        self._lock = threading.Lock()
        self._call: Optional[_Call] = None

    def __call__(self) -> Any:
        with self._lock:
            call = self._call
            if call is not None:
                joined = True
            else:
                joined = False
                call = self._call = _Call()
        if joined:
            return call.wait()
        try:
            result = self._cluster_id(timeout=self._timeout)
        except BaseException as e:
            self._finish(call)
            call.set(None, e)
            raise
        self._finish(call)
        call.set(result, None)
        return result

    def _finish(self, call: _Call) -> None:
        # Before waking the joiners, so one that resolves again starts a fresh call.
        with self._lock:
            if self._call is call:
                self._call = None


class _Call:
    """One cluster_id() call in flight and its outcome."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._result: Any = None
        self._error: Optional[BaseException] = None

    def set(self, result: Any, error: Optional[BaseException]) -> None:
        self._result, self._error = result, error
        self._done.set()

    def wait(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def offer_cluster_id_resolver(client: object, serdes: List[Any]) -> None:
    """Give each serde with ``set_cluster_id_resolver`` a resolver of ``client``'s cluster id
    (nothing is resolved now). A client without ``cluster_id()`` offers none."""
    cluster_id = getattr(client, "cluster_id", None)
    if not callable(cluster_id):
        return
    resolver = SharedClusterIdResolver(cluster_id)
    for serde in serdes:
        setter = getattr(serde, "set_cluster_id_resolver", None)
        if callable(setter):
            setter(resolver)
