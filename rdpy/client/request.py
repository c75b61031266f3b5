"""A request queued on a broker connection, typed by the response it expects.

`Request[R]` is built for the negotiated version when its broker thread sends it; the API key
comes from the response class (the generated messages carry it), and the completion callback
gets that response class, so every handler is checked by mypy against the fields it reads.
The callback runs on the broker thread that sent the request (or on the thread that fails it:
a broker that cannot connect fails its queue); the blocking helpers in rdpy/client/sync.py
wait for it with a `RequestFuture`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from rdpy.errors import ErrorCode
from rdpy.protocol.base import Message as ProtocolMessage

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker

R = TypeVar("R", bound=ProtocolMessage)

#: on_done(broker, error code, response (None when the error code is set), request).
RequestCallback = Callable[["Broker", int, "R | None", "Request[R]"], None]


class QueuedRequest(ABC):
    """What a broker thread needs of any request, whatever it answers: the broker's queues
    and in-flight table hold these (see Request[R] for the typed completion)."""

    __slots__ = ("api_key", "build", "timeout", "deadline", "sent_at", "version",
                 "expect_response", "purged", "max_version", "queued_at", "msg_count")

    def __init__(self, api_key: int, build: Callable[[int], ProtocolMessage], timeout: float,
                 expect_response: bool, max_version: int | None) -> None:
        self.api_key = api_key
        #: Highest version the caller's `build` can fill (later versions changed the layout).
        self.max_version = max_version
        self.build = build
        self.timeout = timeout
        self.deadline = 0.0
        self.sent_at = 0.0
        #: The version it was sent with (-1: never sent).
        self.version = -1
        self.expect_response = expect_response
        self.purged = False
        #: Monotonic time the broker thread took the request in (0: sent as soon as built).
        self.queued_at = 0.0
        #: Statistics: messages the request carries (ProduceRequests only).
        self.msg_count = 0

    @abstractmethod
    def complete(self, broker: Broker, response: ProtocolMessage) -> None:
        """Broker thread. The broker answered with `response`."""

    @abstractmethod
    def fail(self, broker: Broker, err: int) -> None:
        """Any thread that owns the request. It failed locally with `err` (not sent,
        connection lost, timed out, undecodable answer)."""


class Request(QueuedRequest, Generic[R]):
    """One request: `build(version)` makes the message when it is sent; `on_done` completes
    it exactly once (unless purged) with the broker's answer or a local error."""

    __slots__ = ("response_type", "on_done")

    def __init__(self, response_type: type[R], build: Callable[[int], ProtocolMessage],
                 on_done: RequestCallback[R], timeout: float, expect_response: bool = True,
                 max_version: int | None = None) -> None:
        super().__init__(response_type.API_KEY, build, timeout, expect_response, max_version)
        self.response_type = response_type
        self.on_done = on_done

    def complete(self, broker: Broker, response: ProtocolMessage) -> None:
        """Broker thread. The broker answered: hand the decoded response to `on_done`. The
        session decoded it by our own correlation id and API key, so anything else is a bug."""
        if not isinstance(response, self.response_type):
            raise TypeError(f"{type(response).__name__} answers a request expecting "
                            f"{self.response_type.__name__}")
        self.on_done(broker, 0, response, self)

    def fail(self, broker: Broker, err: int) -> None:
        self.on_done(broker, err, None, self)


class RequestFuture(Generic[R]):
    """The answer to a request that an application thread waits for: (error code, response)
    once set by the broker thread. `on_done` is the request's completion callback."""

    __slots__ = ("_event", "result")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.result: tuple[int, R | None] = (ErrorCode._TIMED_OUT, None)

    def on_done(self, _broker: Broker, err: int, response: R | None, _request: Request[R]
                ) -> None:
        self.result = (err, response)
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def done(self) -> bool:
        return self._event.is_set()


__all__ = ["QueuedRequest", "Request", "RequestCallback", "RequestFuture"]
