"""Logging as librdkafka and confluent-kafka-python do it: facilities, debug contexts, threads.

A log line is (syslog level, facility, text).  Background threads never call the application's
`logger`: with one configured the line is queued and poll() hands it over (as confluent-kafka
does), without one it goes to Python's logging under the "rdpy" logger at once.  Either way
the record is ``log(level, "%s [%s] %s", facility, client name, "[thrd:T]: text")``, the
format confluent-kafka passes to a logger, so handlers and filters written for it keep working.
`debug` contexts turn on level-7 lines per subsystem; any context also raises log_level to 7,
as librdkafka does.

The `logging` module is imported by the first line that goes to the "rdpy" fallback logger,
not with rdpy: a quiet client, or one with its own `logger`, never needs it (logging and the
modules it imports would otherwise cost about 4 ms of importing the clients).
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["AppLogger", "debug_contexts", "emit", "python_level", "thread_tag"]


class AppLogger(Protocol):
    """What rdpy needs of the application's `logger` (a logging.Logger or look-alike)."""

    def log(self, level: int, msg: str, /, *args: object) -> object: ...

# confluent-kafka's syslog -> logging table: EMERG/ALERT/CRIT are CRITICAL, NOTICE is INFO.
# The values of logging.CRITICAL, ERROR, WARNING, INFO and DEBUG (fixed by the logging API).
_LEVELS = (50, 50, 50, 40, 30, 20, 20, 10)


def python_level(level: int) -> int:
    """The `logging` level of a syslog level (0-7)."""
    return _LEVELS[min(max(level, 0), 7)]


def debug_contexts(flags: frozenset[str]) -> frozenset[str]:
    """The `debug` property's contexts; "all" stands for every context."""
    return frozenset(flags - {"all"})


def thread_tag() -> str:
    """librdkafka's thread names: "main", the broker's name for its thread, else "app"."""
    name = threading.current_thread().name
    if name.startswith("rdpy:broker:"):
        return name[len("rdpy:broker:"):]
    if name.startswith("rdpy:main:"):
        return "main"
    return "app"


def emit(logger: AppLogger | None, client_name: str, level: int, facility: str,
         text: str) -> None:
    """Hand one line (`text` already prefixed with its thread tag) to `logger` (the
    application's, or the "rdpy" fallback when None)."""
    if logger is None:
        import logging

        logger = logging.getLogger("rdpy")
    logger.log(python_level(level), "%s [%s] %s", facility, client_name, text)
