"""A Kafka-aware TCP fault proxy on 127.0.0.1, seeded and bounded in time.

    tansu_port = free_loopback_port()
    with FaultProxy(upstream_port=tansu_port, seed=7) as proxy, \\
            TansuProcess(port=tansu_port, advertised_port=proxy.port):
        proxy.set_rules(Rule("corrupt", api_key=0, count=1, mode="cut"))
        ... clients bootstrap at proxy.address ...
        assert proxy.fired(action="corrupt")

The proxy understands Kafka framing (a 4-byte big-endian size, then the frame) in both
directions. It reads each request's header (int16 api_key, int16 api_version, int32
correlation_id) and so knows which API every response answers. Every frame is offered to the
rules in order; the first rule that matches and fires decides what happens to it:

  pass      forward unchanged (a way to exempt frames from later rules)
  drop      close both sides of the connection at once (the frame is not forwarded)
  stall     stop forwarding in this direction for `seconds`, this frame included
  delay     forward this frame `seconds` after it arrived (order kept: later frames wait)
  truncate  write the first `keep` bytes of the frame (seeded random when None), then close
  corrupt   keep the size prefix and the header ids, spoil the rest:
            mode "garbage" (seeded random bytes, same length), "cut" (keep `keep` body bytes
            after the header ids, size prefix fixed), "flip" (xor about 1% of the bytes)
  huge      announce a frame of `size` bytes (default 90 MB), send the correlation id only,
            then forward nothing more in this direction (the connection stays open)
  blackhole forward nothing more in this direction (the connection stays open)

Besides the rules, refuse() resets every connection (open ones at once, new ones as they come:
a dead broker, with every attempt recorded), and refuse(until=s) serves again right after the
first attempt made s seconds later -- a broker that returns just after the client tried.

A rule matches on `direction` ("request", "response" or "both"), `api_key` (None: any) and
`connection` (the n-th connection the proxy accepted, 1-based; None: any); it lets `skip`
matching frames through first, then fires with `probability` (drawn from the proxy's seeded
random generator) at most `count` times (None: no limit).

The proxy runs in a child process (python, stdlib only), so its work neither shares the GIL
with the client under test (rdpy's threads are Python) nor shows up in the test process's
file descriptors. It is bounded: it listens and connects on 127.0.0.1 only, it exits after
`lifetime` seconds, when its parent closes the control pipe, or on stop(); a stall or delay
lasts at most MAX_HOLD seconds; a frame larger than MAX_FRAME closes its connection.
Every fired rule and every connection is recorded as an event (time.monotonic() of the child,
which on Linux is the same clock as the parent's).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ACTIONS", "FaultProxy", "Rule", "MAX_FRAME", "MAX_HOLD"]

ACTIONS = ("pass", "drop", "stall", "delay", "truncate", "corrupt", "huge", "blackhole")
MAX_FRAME = 128 * 2**20  # larger frames (from either side) close the connection
MAX_HOLD = 120.0  # cap on stall/delay seconds
MAX_EVENTS = 200_000
CONNECT_TIMEOUT = 5.0


@dataclass
class Rule:
    """One fault, see the module docstring. Plain data: it travels to the proxy as JSON."""

    action: str
    direction: str = "response"  # "request" | "response" | "both"
    api_key: int | None = None
    connection: int | None = None
    skip: int = 0
    probability: float = 1.0
    count: int | None = None
    seconds: float = 0.0  # stall, delay
    keep: int | None = None  # truncate: frame bytes written; corrupt "cut": body bytes kept
    mode: str = "garbage"  # corrupt
    size: int = 90 * 2**20  # huge
    name: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; one of {ACTIONS}")
        if self.direction not in ("request", "response", "both"):
            raise ValueError(f"unknown direction {self.direction!r}")
        if self.mode not in ("garbage", "cut", "flip"):
            raise ValueError(f"unknown corrupt mode {self.mode!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if not 0 <= self.seconds <= MAX_HOLD:
            raise ValueError(f"seconds must be within [0, {MAX_HOLD}]")


# --------------------------------------------------------------------------------------------
# The proxy itself (runs in the child process).
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _RuleState:
    rule: Rule
    seen: int = 0
    fired: int = 0


@dataclass(eq=False)
class _Conn:
    cid: int
    inflight: dict[int, tuple[int, int]] = field(default_factory=dict)  # correlation id -> (api_key, version)
    hold: dict[str, float] = field(default_factory=lambda: {"request": 0.0, "response": 0.0})
    dead: set[str] = field(default_factory=set)  # directions that forward nothing more
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False


class _Proxy:
    def __init__(self, listen_port: int, upstream_port: int | None, seed: int, lifetime: float) -> None:
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.lifetime = lifetime
        self.rules: list[_RuleState] = []
        self.events: list[dict[str, Any]] = []
        self.conns: dict[int, _Conn] = {}
        self.accepted = 0
        self.frames = {"request": 0, "response": 0}
        self.server: asyncio.base_events.Server | None = None
        self.done: asyncio.Event | None = None
        self.refusing = False
        self.refuse_until: float | None = None  # refuse until the first attempt at/after this time

    # -- bookkeeping --------------------------------------------------------------------------

    def event(self, **kw: Any) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append({"t": time.monotonic(), **kw})

    def pick(self, conn: _Conn, direction: str, api_key: int | None) -> Rule | None:
        for st in self.rules:
            r = st.rule
            if r.direction != "both" and r.direction != direction:
                continue
            if r.api_key is not None and r.api_key != api_key:
                continue
            if r.connection is not None and r.connection != conn.cid:
                continue
            if r.count is not None and st.fired >= r.count:
                continue
            st.seen += 1
            if st.seen <= r.skip:
                continue
            if r.probability < 1.0 and self.rng.random() >= r.probability:
                continue
            st.fired += 1
            return r
        return None

    # -- connections --------------------------------------------------------------------------

    async def accept(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        if self.refusing:
            now = time.monotonic()
            last = self.refuse_until is not None and now >= self.refuse_until
            self.event(kind="refused", last=last)
            sock = cwriter.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            cwriter.transport.abort()  # RST: as close to "connection refused" as an accepted socket gets
            if last:
                self.refusing = False
                self.refuse_until = None
                self.event(kind="serving")
            return
        self.accepted += 1
        conn = _Conn(self.accepted)
        self.conns[conn.cid] = conn
        conn.writers.append(cwriter)
        self.event(kind="accept", conn=conn.cid)
        if self.upstream_port is None:
            self.event(kind="upstream_failed", conn=conn.cid, error="no upstream")
            self.close(conn)
            return
        try:
            ureader, uwriter = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.upstream_port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            self.event(kind="upstream_failed", conn=conn.cid, error=repr(e))
            self.close(conn)
            return
        conn.writers.append(uwriter)
        if conn.closed:  # dropped meanwhile
            self.close(conn)
            return
        to_upstream: asyncio.Queue[tuple[float, bytes, str | None]] = asyncio.Queue()
        to_client: asyncio.Queue[tuple[float, bytes, str | None]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        conn.tasks += [
            loop.create_task(self.read_frames(conn, creader, "request", to_upstream)),
            loop.create_task(self.write_frames(conn, uwriter, "request", to_upstream)),
            loop.create_task(self.read_frames(conn, ureader, "response", to_client)),
            loop.create_task(self.write_frames(conn, cwriter, "response", to_client)),
        ]

    def close(self, conn: _Conn, reason: str = "") -> None:
        if conn.closed:
            return
        conn.closed = True
        self.event(kind="close", conn=conn.cid, reason=reason)
        for w in conn.writers:
            try:
                w.transport.abort()
            except Exception:
                pass
        current = asyncio.current_task()
        for t in conn.tasks:
            if t is not current:
                t.cancel()
        self.conns.pop(conn.cid, None)

    async def read_frames(self, conn: _Conn, reader: asyncio.StreamReader, direction: str,
                          queue: asyncio.Queue[tuple[float, bytes, str | None]]) -> None:
        try:
            while True:
                try:
                    head = await reader.readexactly(4)
                except (asyncio.IncompleteReadError, ConnectionError):
                    # EOF: forward what is queued, then close
                    await queue.put((0.0, b"", "close:eof " + direction))
                    return
                (size,) = struct.unpack(">i", head)
                if size < 0 or size > MAX_FRAME:
                    self.event(kind="oversize", conn=conn.cid, dir=direction, size=size)
                    self.close(conn, f"{direction} frame of {size} bytes")
                    return
                try:
                    body = await reader.readexactly(size)
                except (asyncio.IncompleteReadError, ConnectionError):
                    await queue.put((0.0, b"", "close:eof mid-frame " + direction))
                    return
                if direction in conn.dead:
                    continue
                self.frames[direction] += 1
                await self.on_frame(conn, direction, head, body, queue)
                if conn.closed:
                    return
        except asyncio.CancelledError:
            pass

    async def on_frame(self, conn: _Conn, direction: str, head: bytes, body: bytes,
                       queue: asyncio.Queue[tuple[float, bytes, str | None]]) -> None:
        api_key: int | None = None
        api_version: int | None = None
        corr: int | None = None
        if direction == "request" and len(body) >= 8:
            api_key, api_version, corr = struct.unpack_from(">hhi", body)
            conn.inflight[corr] = (api_key, api_version)
            id_len = 8
        elif direction == "response" and len(body) >= 4:
            (corr,) = struct.unpack_from(">i", body)
            api_key, api_version = conn.inflight.pop(corr, (None, None))
            id_len = 4
        else:
            id_len = len(body)
        now = time.monotonic()
        rule = self.pick(conn, direction, api_key)
        if rule is None or rule.action == "pass":
            await queue.put((now, head + body, None))
            return
        frame = head + body
        ev: dict[str, Any] = dict(kind="fault", action=rule.action, rule=rule.name, conn=conn.cid,
                                  dir=direction, api_key=api_key, api_version=api_version, corr=corr,
                                  size=len(body))
        a = rule.action
        if a == "drop":
            self.event(**ev)
            self.close(conn, "drop")
        elif a == "stall":
            conn.hold[direction] = max(conn.hold[direction], now + rule.seconds)
            self.event(**ev, seconds=rule.seconds)
            await queue.put((now, frame, None))
        elif a == "delay":
            self.event(**ev, seconds=rule.seconds)
            await queue.put((now + rule.seconds, frame, None))
        elif a == "truncate":
            keep = rule.keep if rule.keep is not None else self.rng.randint(1, max(1, len(frame) - 1))
            keep = max(0, min(keep, len(frame) - 1))
            self.event(**ev, keep=keep)
            conn.dead.add(direction)
            await queue.put((now, frame[:keep], "close:truncate"))
        elif a == "corrupt":
            spoiled = self.corrupt(rule, body, id_len)
            self.event(**ev, mode=rule.mode, new_size=len(spoiled))
            await queue.put((now, struct.pack(">i", len(spoiled)) + spoiled, None))
        elif a == "huge":
            self.event(**ev, announced=rule.size)
            conn.dead.add(direction)
            await queue.put((now, struct.pack(">i", rule.size) + body[:id_len], None))
        elif a == "blackhole":
            self.event(**ev)
            conn.dead.add(direction)

    def corrupt(self, rule: Rule, body: bytes, id_len: int) -> bytes:
        ids, rest = body[:id_len], body[id_len:]
        if rule.mode == "garbage":
            return ids + bytes(self.rng.getrandbits(8) for _ in range(len(rest)))
        if rule.mode == "cut":
            return ids + rest[: (rule.keep or 0)]
        spoiled = bytearray(rest)  # flip
        for _ in range(max(1, len(spoiled) // 100) if spoiled else 0):
            i = self.rng.randrange(len(spoiled))
            spoiled[i] ^= self.rng.randint(1, 255)
        return ids + bytes(spoiled)

    async def write_frames(self, conn: _Conn, writer: asyncio.StreamWriter, direction: str,
                           queue: asyncio.Queue[tuple[float, bytes, str | None]]) -> None:
        try:
            while True:
                release, data, after = await queue.get()
                while True:  # a stall may be extended while waiting
                    wait = max(release, conn.hold[direction]) - time.monotonic()
                    if wait <= 0:
                        break
                    await asyncio.sleep(min(wait, 0.05))
                if data:
                    writer.write(data)
                    await writer.drain()
                if after is not None:
                    self.close(conn, after.split(":", 1)[1])
                    return
        except asyncio.CancelledError:
            pass
        except (ConnectionError, OSError) as e:
            self.close(conn, f"write {direction}: {e!r}")

    # -- control ------------------------------------------------------------------------------

    def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd.get("op")
        if op == "set_rules":
            self.rules = [_RuleState(Rule(**r)) for r in cmd["rules"]]
        elif op == "add_rule":
            self.rules.append(_RuleState(Rule(**cmd["rule"])))
        elif op == "drop_all":
            n = len(self.conns)
            for conn in list(self.conns.values()):
                self.close(conn, "drop_all")
            self.event(kind="drop_all", connections=n)
            return {"ok": True, "dropped": n}
        elif op == "events":
            since = int(cmd.get("since", 0))
            return {"ok": True, "events": self.events[since:]}
        elif op == "stats":
            return {"ok": True, "accepted": self.accepted, "open": len(self.conns), "frames": self.frames,
                    "fired": [[st.rule.name or st.rule.action, st.fired] for st in self.rules]}
        elif op == "refuse":
            # Every new connection is reset at once (open ones are dropped), like a dead broker.
            # With `until` (seconds from now): the first connection attempt at or after then is
            # the last one reset, and the proxy serves again right after it -- the broker "comes
            # back" at the worst moment for a client that just tried.
            self.refusing = True
            self.refuse_until = None if cmd.get("until") is None else time.monotonic() + float(cmd["until"])
            for conn in list(self.conns.values()):
                self.close(conn, "refuse")
            self.event(kind="refusing", until=self.refuse_until)
        elif op == "serve":
            self.refusing = False
            self.refuse_until = None
            self.event(kind="serving")
        elif op == "set_upstream":
            self.upstream_port = cmd["port"]
        elif op == "stop":
            assert self.done is not None
            self.done.set()
        else:
            return {"ok": False, "error": f"unknown op {op!r}"}
        return {"ok": True}

    async def run(self) -> None:
        self.done = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", self.listen_port, reuse_address=True)
        port = self.server.sockets[0].getsockname()[1]
        loop.call_later(self.lifetime, self.done.set)
        print(json.dumps({"ready": True, "port": port}), flush=True)
        threading.Thread(target=self.control_loop, args=(loop,), daemon=True).start()
        await self.done.wait()
        self.server.close()
        for conn in list(self.conns.values()):
            self.close(conn, "proxy stopping")

    def control_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commands from the parent, one JSON object a line; EOF stops the proxy."""
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
                fut = asyncio.run_coroutine_threadsafe(self._command(cmd), loop)
                reply = fut.result(timeout=30)
            except Exception as e:  # reply with the error, keep serving
                reply = {"ok": False, "error": repr(e)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
            if cmd.get("op") == "stop":
                return
        assert self.done is not None
        loop.call_soon_threadsafe(self.done.set)

    async def _command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return self.command(cmd)


def _serve_main(argv: list[str]) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Kafka fault proxy (child process of FaultProxy)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream-port", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=600.0)
    args = ap.parse_args(argv)
    asyncio.run(_Proxy(args.port, args.upstream_port, args.seed, args.lifetime).run())


# --------------------------------------------------------------------------------------------
# The test-side handle.
# --------------------------------------------------------------------------------------------


class FaultProxy:
    """Starts and controls the proxy child process (see the module docstring)."""

    def __init__(self, upstream_port: int | None = None, *, port: int = 0, seed: int = 0,
                 lifetime: float = 600.0, log_path: Path | None = None) -> None:
        self.upstream_port = upstream_port
        self.seed = seed
        self.lifetime = lifetime
        self._want_port = port
        self.port = 0
        self.log_path = log_path
        self.process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._events_seen: list[dict[str, Any]] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--port", str(self._want_port),
               "--seed", str(self.seed), "--lifetime", str(self.lifetime)]
        if self.upstream_port is not None:
            cmd += ["--upstream-port", str(self.upstream_port)]
        stderr: Any = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=stderr, text=True, bufsize=1)
        finally:
            if self.log_path:
                stderr.close()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("fault proxy did not start")
        self.port = int(json.loads(line)["port"])
        return self

    def _call(self, **cmd: Any) -> dict[str, Any]:
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("fault proxy is not running")
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write(json.dumps(cmd) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("fault proxy exited")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"fault proxy: {reply.get('error')}")
        return reply

    def set_rules(self, *rules: Rule) -> None:
        """Replace the rules (their counters start again)."""
        self._call(op="set_rules", rules=[asdict(r) for r in rules])

    def add_rule(self, rule: Rule) -> None:
        self._call(op="add_rule", rule=asdict(rule))

    def clear_rules(self) -> None:
        self.set_rules()

    def drop_all(self) -> int:
        """Close every open connection now; returns how many there were."""
        return int(self._call(op="drop_all")["dropped"])

    def refuse(self, until: float | None = None) -> None:
        """Reset every connection (open ones now, new ones as they come) until serve(); with
        `until` seconds, serve again right after the first attempt made after that long."""
        self._call(op="refuse", until=until)

    def serve(self) -> None:
        """End refuse()."""
        self._call(op="serve")

    def set_upstream(self, port: int) -> None:
        self._call(op="set_upstream", port=port)

    def stats(self) -> dict[str, Any]:
        return self._call(op="stats")

    def events(self) -> list[dict[str, Any]]:
        """Every event so far (connections and fired rules), oldest first."""
        if self.process is not None and self.process.poll() is None:
            new = self._call(op="events", since=len(self._events_seen))["events"]
            self._events_seen.extend(new)
        return list(self._events_seen)

    def fired(self, action: str | None = None, api_key: int | None = None) -> list[dict[str, Any]]:
        """Fault events (optionally of one action / API)."""
        return [e for e in self.events() if e["kind"] == "fault"
                and (action is None or e["action"] == action)
                and (api_key is None or e["api_key"] == api_key)]

    def stop(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self.events()  # keep the record for after the stop
                self._call(op="stop")
            except (RuntimeError, OSError, ValueError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    _serve_main(sys.argv[1:])
