"""Connection setup as a table: the states a broker connection passes through before it is UP,
and the step that runs in each. Steps run on the broker's own thread, which alone changes
`Broker.state` (other threads only read it); they hold no lock.

The sequence, as librdkafka's (whose state names the statistics and log lines report):

    state             applies to              on entry                       completed by
    CONNECT           every connection        resolve, non-blocking connect  the socket turns
                                                                             writable, SO_ERROR 0
    SSL_HANDSHAKE     ssl, sasl_ssl           (TLS: not implemented)         the TLS handshake ends
    APIVERSION_QUERY  every connection        ApiVersions v3                 an answer we can use
    AUTH_HANDSHAKE    sasl_plaintext/_ssl     (SASL: not implemented)        SaslHandshake answered
    AUTH_REQ          sasl_plaintext/_ssl     (SASL: not implemented)        the mechanism is done
    UP                after the last step that applies

INIT, TRY_CONNECT and DOWN lie outside the table: a broker with something to send leaves INIT
or DOWN through TRY_CONNECT (where the reconnect backoff is updated) into the first step. One
deadline, socket.connection.setup.timeout.ms from the start of CONNECT, covers every setup
state, as librdkafka's rkb_ts_connect does; a failure in any setup state backs the next attempt
off. Each step sees its connection as a `SetupLink` (the Broker implements it) and either
calls `step_done()`, which enters the next step that applies (or UP), or `setup_failed()`.

Where security plugs in. Producer() and Consumer() refuse any security.protocol but plaintext
with _NOT_IMPLEMENTED, so the TLS and SASL steps never apply today; a broker that reaches one
anyway fails the connection with _NOT_IMPLEMENTED instead of pretending.
- TLS: `SslHandshake.enter` wraps the connected socket (transport.py's Connection gains a TLS
  layer: one SSLContext per client built from the ssl.* settings, `wrap_socket(...,
  do_handshake_on_connect=False, server_hostname=...)`) and the broker's I/O step drives the
  non-blocking `do_handshake()` on readable/writable until it ends, then calls `step_done()`.
  Decrypted bytes buffered inside the TLS object are invisible to select(): the transport's
  receive() drains them (`pending()`) before returning.
- SASL: a `rdpy/client/sasl/` package, one module per mechanism (PLAIN, SCRAM-SHA-256/512,
  OAUTHBEARER, GSSAPI through pure-sasl, the `gssapi` extra), each a sans-I/O object: the
  initial client message, then one response per server challenge until it says it is done.
  `SaslHandshakeStep` sends SaslHandshake v1 with the mechanism's name (a mechanism the broker
  does not list fails with _AUTHENTICATION); `SaslAuthenticateStep` carries the mechanism's
  messages in SaslAuthenticate requests until it is done. OAUTHBEARER's token comes from
  oauth_cb, which runs only on the application's thread (inside poll()): the mechanism reads
  the token the handle holds, and a connection waits in AUTH_REQ, under the setup deadline,
  until there is one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Set
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Protocol

from rdpy._version import __version__
from rdpy.client.request import QueuedRequest, Request
from rdpy.errors import ErrorCode
from rdpy.protocol.messages import API_NAMES
from rdpy.protocol.messages import api_versions as api_versions_msgs
from rdpy.protocol.versions import negotiate

if TYPE_CHECKING:
    from rdpy.config import Settings
    from rdpy.protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse


class BrokerState(Enum):
    """rd_kafka_broker_state_t, by name."""

    INIT = "INIT"
    DOWN = "DOWN"
    TRY_CONNECT = "TRY_CONNECT"
    CONNECT = "CONNECT"
    SSL_HANDSHAKE = "SSL_HANDSHAKE"
    APIVERSION_QUERY = "APIVERSION_QUERY"
    AUTH_HANDSHAKE = "AUTH_HANDSHAKE"
    AUTH_REQ = "AUTH_REQ"
    UP = "UP"

    def __str__(self) -> str:
        return self.value


class SecurityProtocol(Enum):
    """security.protocol, by its configuration value (librdkafka prints it lower-case)."""

    PLAINTEXT = "plaintext"
    SSL = "ssl"
    SASL_PLAINTEXT = "sasl_plaintext"
    SASL_SSL = "sasl_ssl"

    @property
    def uses_tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @property
    def uses_sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)


def security_protocol(settings: Settings) -> SecurityProtocol:
    """Any thread. The protocol a client's connections use. A mock cluster
    (test.mock.num.brokers) replaces bootstrap.servers and ignores security.protocol, as in
    librdkafka."""
    if settings.get_int("test.mock.num.brokers") > 0:
        return SecurityProtocol.PLAINTEXT
    return SecurityProtocol((settings.get_enum("security.protocol") or "plaintext").lower())


class SetupLink(Protocol):
    """What a setup step may do with its connection (the Broker implements it). Broker
    thread, no lock."""

    name: str
    #: API key -> the version both sides speak; set by the ApiVersions step.
    versions: dict[int, int]

    @property
    def debug(self) -> Set[str]:
        """The debug contexts switched on (test before formatting a costly line)."""
        ...

    def dbg(self, context: str, facility: str, text: str) -> None:
        """A debug line for `context`."""
        ...

    def open_transport(self, now: float) -> None:
        """Resolve the broker's name and start a non-blocking connect: the transport calls
        step_done() once connected, or setup_failed()."""
        ...

    def send_setup_request(self, request: QueuedRequest, version: int, now: float) -> None:
        """Send `request` now, ahead of the queued ones (which wait for UP)."""
        ...

    def forget_inflight(self) -> None:
        """Drop what is in flight and the session's correlation ids, without failing it: an
        answer we cannot parse put the stream out of step, and the step asks again."""
        ...

    def step_done(self, now: float) -> None:
        """The current step is complete: enter the next one that applies, or UP."""
        ...

    def setup_failed(self, err: int, reason: str, now: float) -> None:
        """The connection cannot be set up: close it, fail what waits, back off."""
        ...


class SetupStep(ABC):
    """One row of the table. Instances belong to one broker (a step may remember what it sent
    on the current connection; `enter` starts over)."""

    state: ClassVar[BrokerState]

    def applies(self, security: SecurityProtocol) -> bool:
        """Whether connections with `security` go through this step."""
        return True

    @abstractmethod
    def enter(self, link: SetupLink, now: float) -> None:
        """Broker thread. The connection entered this step's state: start the step."""

    def undecodable(self, link: SetupLink, now: float) -> bool:
        """Broker thread. A frame that cannot be decoded arrived in this state; True if the
        step dealt with it (else the connection is torn down)."""
        return False


class Connect(SetupStep):
    """CONNECT. Entry: resolve and start the non-blocking connect. Completed by the transport:
    the socket turns writable with SO_ERROR 0 (a refusal or a resolver error fails it)."""

    state = BrokerState.CONNECT

    def enter(self, link: SetupLink, now: float) -> None:
        link.open_transport(now)


class SslHandshake(SetupStep):
    """SSL_HANDSHAKE, for ssl and sasl_ssl. Entry: wrap the socket in TLS (not implemented).
    Completed by the transport: the non-blocking TLS handshake ends."""

    state = BrokerState.SSL_HANDSHAKE

    def applies(self, security: SecurityProtocol) -> bool:
        return security.uses_tls

    def enter(self, link: SetupLink, now: float) -> None:
        link.setup_failed(ErrorCode._NOT_IMPLEMENTED, "TLS is not implemented", now)


#: Our first ApiVersions version; the broker's answer tells us any lower one it prefers.
API_VERSIONS_FIRST = 3


class ApiVersionQuery(SetupStep):
    """APIVERSION_QUERY. Entry: ApiVersions v3. Completed by an answer we can use: the
    versions both sides speak are negotiated. Fallbacks: UNSUPPORTED_VERSION is asked again
    with the broker's own maximum (from the v0 body it answers with); an answer we cannot parse
    is asked again with v0, which every broker speaks. Times out after the smaller of
    api.version.request.timeout.ms and socket.timeout.ms: librdkafka gives ApiVersions an
    absolute timeout that rd_kafka_buf_calc_timeout caps at socket.timeout.ms."""

    state = BrokerState.APIVERSION_QUERY

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        #: The version of the ApiVersions request in flight (-1: none).
        self.sent_version = -1

    def enter(self, link: SetupLink, now: float) -> None:
        self._send(link, API_VERSIONS_FIRST, now)

    def _send(self, link: SetupLink, version: int, now: float) -> None:
        """Broker thread. Ask with `version`; the answer comes to _answered."""
        request = Request(api_versions_msgs.ApiVersionsResponse, _api_versions_request,
                          lambda broker, err, response, req: self._answered(
                              link, err, response, req.version, broker.clock()),
                          self.timeout)
        self.sent_version = version
        link.send_setup_request(request, version, now)

    def _answered(self, link: SetupLink, err: int, response: ApiVersionsResponse | None,
                  version: int, now: float) -> None:
        """Broker thread. ApiVersions answered, or failed with the connection (`err`)."""
        self.sent_version = -1
        if err or response is None:
            return  # the connection failure was already handled
        if response.error_code == ErrorCode.UNSUPPORTED_VERSION and version > 0:
            theirs = {k.api_key: k.max_version for k in response.api_keys}
            ours = api_versions_msgs.ApiVersionsRequest.API_KEY
            self._send(link, min(theirs.get(ours, 0), version - 1), now)
            return
        if response.error_code:
            link.setup_failed(ErrorCode._TRANSPORT,
                              f"ApiVersionRequest failed: broker error {response.error_code}",
                              now)
            return
        link.versions = negotiate({k.api_key: (k.min_version, k.max_version)
                                   for k in response.api_keys})
        if "feature" in link.debug:
            link.dbg("feature", "APIVERSION", f"{link.name}: {len(link.versions)} APIs usable: "
                     + ", ".join(f"{api_name(k)} v{v}" for k, v in sorted(link.versions.items())))
        link.step_done(now)

    def undecodable(self, link: SetupLink, now: float) -> bool:
        """Some brokers answer a version they do not know in a layout of their own: ask again
        with v0 (once)."""
        if self.sent_version <= 0:
            return False
        link.forget_inflight()
        self._send(link, 0, now)
        return True


class SaslHandshakeStep(SetupStep):
    """AUTH_HANDSHAKE, for sasl_plaintext and sasl_ssl. Entry: SaslHandshake v1 with the
    mechanism's name (not implemented). Completed by the broker's answer listing it."""

    state = BrokerState.AUTH_HANDSHAKE

    def applies(self, security: SecurityProtocol) -> bool:
        return security.uses_sasl

    def enter(self, link: SetupLink, now: float) -> None:
        link.setup_failed(ErrorCode._NOT_IMPLEMENTED, "SASL is not implemented", now)


class SaslAuthenticateStep(SetupStep):
    """AUTH_REQ, for sasl_plaintext and sasl_ssl. Entry: the mechanism's first message in a
    SaslAuthenticate request (not implemented). Completed when the mechanism is done."""

    state = BrokerState.AUTH_REQ

    def applies(self, security: SecurityProtocol) -> bool:
        return security.uses_sasl

    def enter(self, link: SetupLink, now: float) -> None:
        link.setup_failed(ErrorCode._NOT_IMPLEMENTED, "SASL is not implemented", now)


#: The setup states, in order (whether or not a step applies to a given client).
SETUP_STATES = (BrokerState.CONNECT, BrokerState.SSL_HANDSHAKE, BrokerState.APIVERSION_QUERY,
                BrokerState.AUTH_HANDSHAKE, BrokerState.AUTH_REQ)


class SetupPlan:
    """One broker's setup steps: those of the table that apply to its security.protocol, in
    order, and the deadline that covers them all. Made when the Broker is; broker thread
    afterwards."""

    def __init__(self, settings: Settings) -> None:
        self.security = security_protocol(settings)
        table: tuple[SetupStep, ...] = (
            Connect(),
            SslHandshake(),
            ApiVersionQuery(min(settings.get_int("api.version.request.timeout.ms"),
                                settings.get_int("socket.timeout.ms")) / 1000.0),
            SaslHandshakeStep(),
            SaslAuthenticateStep(),
        )
        assert tuple(step.state for step in table) == SETUP_STATES
        self.steps = tuple(step for step in table if step.applies(self.security))
        #: socket.connection.setup.timeout.ms, in seconds, from the start of CONNECT.
        self.timeout = settings.get_int("socket.connection.setup.timeout.ms") / 1000.0

    def first(self) -> SetupStep:
        return self.steps[0]

    def after(self, step: SetupStep) -> SetupStep | None:
        """The step that follows `step`, None when the connection is then UP."""
        i = self.steps.index(step) + 1
        return self.steps[i] if i < len(self.steps) else None


def _api_versions_request(version: int) -> ApiVersionsRequest:
    """Any version: the client's name and version (v3+ fields; older versions omit them)."""
    return api_versions_msgs.ApiVersionsRequest(client_software_name="rdpy",
                                                client_software_version=__version__)


def api_name(api_key: int) -> str:
    """An API's name for log lines, as librdkafka prints an unknown one."""
    return API_NAMES.get(api_key, f"Unknown-{api_key}?")


__all__ = ["API_VERSIONS_FIRST", "ApiVersionQuery", "BrokerState", "Connect", "SETUP_STATES",
           "SaslAuthenticateStep", "SaslHandshakeStep", "SecurityProtocol", "SetupLink",
           "SetupPlan", "SetupStep", "SslHandshake", "api_name", "security_protocol"]
