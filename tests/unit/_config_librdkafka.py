"""ctypes access to the librdkafka bundled with confluent-kafka: the ground truth for config parity.

Used only by tests/unit/test_config*.py.  `available()` is False when the wheel is missing.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sysconfig

_lib: ctypes.CDLL | None = None


def _load() -> ctypes.CDLL | None:
    global _lib
    if _lib is not None:
        return _lib
    pat = os.path.join(sysconfig.get_paths()["purelib"], "confluent_kafka.libs", "librdkafka-*.so*")
    found = glob.glob(pat)
    if not found:
        return None
    lib = ctypes.CDLL(found[0])
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_topic_conf_new.restype = vp
    lib.rd_kafka_conf_destroy.argtypes = [vp]
    lib.rd_kafka_topic_conf_destroy.argtypes = [vp]
    for f in (lib.rd_kafka_conf_set, lib.rd_kafka_topic_conf_set):
        f.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]
    for f in (lib.rd_kafka_conf_get, lib.rd_kafka_topic_conf_get):
        f.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(sz)]
    for f in (lib.rd_kafka_conf_dump, lib.rd_kafka_topic_conf_dump):
        f.argtypes = [vp, ctypes.POINTER(sz)]
        f.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.rd_kafka_conf_dump_free.argtypes = [ctypes.POINTER(ctypes.c_char_p), sz]
    lib.rd_kafka_new.argtypes = [ctypes.c_int, vp, ctypes.c_char_p, sz]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_conf.argtypes = [vp]
    lib.rd_kafka_conf.restype = vp
    lib.rd_kafka_conf_get_default_topic_conf.argtypes = [vp]
    lib.rd_kafka_conf_get_default_topic_conf.restype = vp
    lib.rd_kafka_destroy.argtypes = [vp]
    lib.rd_kafka_version_str.restype = ctypes.c_char_p
    _lib = lib
    return lib


def available() -> bool:
    return _load() is not None


def version() -> str:
    lib = _load()
    assert lib is not None
    return str(lib.rd_kafka_version_str().decode())


def _dump(fn: object, conf: int) -> dict[str, str | None]:
    n = ctypes.c_size_t()
    arr = fn(conf, ctypes.byref(n))  # type: ignore[operator]
    out = {}
    for i in range(0, n.value, 2):
        v = arr[i + 1]
        out[arr[i].decode()] = None if v is None else v.decode()
    _lib.rd_kafka_conf_dump_free(arr, n)  # type: ignore[union-attr]
    return out


def defaults(topic: bool = False) -> dict[str, str | None]:
    """rd_kafka_[topic_]conf_dump() of a fresh configuration."""
    lib = _load()
    assert lib is not None
    if topic:
        c = lib.rd_kafka_topic_conf_new()
        try:
            return _dump(lib.rd_kafka_topic_conf_dump, c)
        finally:
            lib.rd_kafka_topic_conf_destroy(c)
    c = lib.rd_kafka_conf_new()
    try:
        return _dump(lib.rd_kafka_conf_dump, c)
    finally:
        lib.rd_kafka_conf_destroy(c)


def _set_all(lib: ctypes.CDLL, conf: int, items: list[tuple[str, str | None]], topic: bool) -> str | None:
    buf = ctypes.create_string_buffer(512)
    fn = lib.rd_kafka_topic_conf_set if topic else lib.rd_kafka_conf_set
    for k, v in items:
        r = fn(conf, k.encode(), None if v is None else v.encode(), buf, 512)
        if r != 0:
            return buf.value.decode()
    return None


def _dump_with_default_topic_conf(lib: ctypes.CDLL, conf: int) -> dict[str, str | None]:
    """A global conf's dump, and its default topic conf's (if any) with keys "topic:"-prefixed."""
    d = _dump(lib.rd_kafka_conf_dump, conf)
    tc = lib.rd_kafka_conf_get_default_topic_conf(conf)
    if tc:
        d.update({"topic:" + k: v for k, v in _dump(lib.rd_kafka_topic_conf_dump, tc).items()})
    return d


def conf_set(items: list[tuple[str, str | None]], topic: bool = False) -> tuple[str | None, dict[str, str | None]]:
    """Set items in order on a fresh conf: (first errstr or None, resulting dump)."""
    lib = _load()
    assert lib is not None
    c = lib.rd_kafka_topic_conf_new() if topic else lib.rd_kafka_conf_new()
    try:
        err = _set_all(lib, c, items, topic)
        if topic:
            return err, _dump(lib.rd_kafka_topic_conf_dump, c)
        return err, _dump_with_default_topic_conf(lib, c)
    finally:
        (lib.rd_kafka_topic_conf_destroy if topic else lib.rd_kafka_conf_destroy)(c)


def create(client_type: str, items: list[tuple[str, str | None]]) -> tuple[str | None, dict[str, str | None]]:
    """rd_kafka_new(): (errstr or None, finalized global dump + "topic:"-prefixed topic dump)."""
    lib = _load()
    assert lib is not None
    c = lib.rd_kafka_conf_new()
    err = _set_all(lib, c, list(items) + [("log_level", "0")], False)
    if err is not None:
        lib.rd_kafka_conf_destroy(c)
        return "conf_set: " + err, {}
    buf = ctypes.create_string_buffer(512)
    rk = lib.rd_kafka_new(0 if client_type != "consumer" else 1, c, buf, 512)
    if not rk:
        lib.rd_kafka_conf_destroy(c)
        return buf.value.decode(), {}
    try:
        return None, _dump_with_default_topic_conf(lib, lib.rd_kafka_conf(rk))
    finally:
        lib.rd_kafka_destroy(rk)


def properties_show() -> str:
    """rd_kafka_conf_properties_show() output (librdkafka's CONFIGURATION.md tables)."""
    import tempfile

    lib = _load()
    assert lib is not None
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_conf_properties_show.argtypes = [ctypes.c_void_p]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "show.txt")
        fp = libc.fopen(path.encode(), b"w")
        lib.rd_kafka_conf_properties_show(fp)
        libc.fclose(fp)
        with open(path) as f:
            return f.read()


def show_table() -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """{(level, name): (C/P, range, default, importance)} parsed from properties_show()."""
    out = {}
    level = "global"
    for line in properties_show().splitlines():
        if line.startswith("## Topic"):
            level = "topic"
        if "|" not in line or line.startswith(("Property", "---")):
            continue
        p = [x.strip() for x in line.split("|")]
        out[(level, p[0])] = (p[1], p[2], p[3], p[4])
    return out
