"""A client for the Switchboard hub, standard library only: the same contract as the TypeScript
client (``src/client``). One permanent connection that reconnects with the communicator's back-off
(1, 1, 1, 3, 5, 10, 20, 30, 60 s, then 60 s), registers again after each reconnect, keeps up to
10 000 unsent messages while the hub is away (the oldest go first; ``stats["dropped"]`` counts
them), answers HELP, ALIVE and unknown commands by itself, and correlates requests with replies
through the ``correlation_id`` parameter.

Three threads: one reads the connection (and dials again when it drops), one writes it, one runs
your handlers and state listeners in the order messages arrived. The reader never waits for the
writer, so a hub that holds this client's writes back (flow control) cannot stop it reading, and
a handler may call ``request()`` itself. Every method may be called from any thread.
"""

import json
import logging
import os
import queue
import random
import select
import socket
import ssl
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Union

from .address import client_token, parse_address, resolve_address
from .errors import ConnectionClosedError, InvalidMessageError, RequestTimeoutError, SwitchboardError
from .message import Message, decode_line, encode_line, is_command_name, is_server_name, is_service_name

log = logging.getLogger("switchboard")

COMMUNICATOR_BACKOFF = (1.0, 1.0, 1.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
CORRELATION_PARAM = "correlation_id"
MAX_LINE_LENGTH = 1 << 20
# Protocol answers waiting for the writer (HELP, ALIVE, UNKNOWN); past this the newest is dropped.
MAX_URGENT = 1000
MAX_WORK = 10_000

# Answered by the library itself; always part of the COMMANDS list (src/client/system-commands.ts).
BUILTIN_COMMANDS = ("ABSOLUTELY", "ALIVE", "DISCONNECTING", "HELP", "INVALID", "QUITTING", "READY", "STOP", "UNKNOWN")
# Answers and notices: never answered with UNKNOWN (that would ping-pong).
NEVER_ANSWERED = frozenset(
    (
        "ABSOLUTELY",
        "AUTHENTICATED",
        "COMMANDS",
        "DISCONNECTING",
        "ERROR",
        "HANGUP",
        "INVALID",
        "QUITTING",
        "READY",
        "SERVICE_UNAVAILABLE",
        "STATUS",
        "TRANSMISSION_REPORT",
        "UNKNOWN",
        "UNREACHABLE",
    )
)

Params = Dict[str, Any]
# A handler gets the message and returns None, or the reply: {"command": ..., "params": {...}}.
Handler = Callable[[Message], Optional[Dict[str, Any]]]


def _default_tls_context() -> ssl.SSLContext:
    """The system's CAs, or the private CA named by ``SWITCHBOARD_CA`` (as every Switchboard client)."""
    ca = (os.environ.get("SWITCHBOARD_CA") or "").strip()
    try:
        return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    except OSError as err:
        raise SwitchboardError("INVALID_ARGUMENT", "SWITCHBOARD_CA: cannot read %r: %s" % (ca, err)) from None


@dataclass(frozen=True)
class Registration:
    service: str
    instance: Optional[str]
    hub_address: Optional[str]


@dataclass(frozen=True)
class State:
    """Where the connection stands: connecting, connected, ready, disconnected or closed."""

    status: str
    address: str
    attempt: int = 0
    retry_in: Optional[float] = None
    reason: Optional[str] = None
    registration: Optional[Registration] = None


class _Pending:
    __slots__ = ("command", "service", "future", "match")

    def __init__(self, command: str, service: str, match: Optional[Callable[[Message], bool]]):
        self.command = command
        self.service = service
        self.future: Future = Future()
        self.match = match


def _destination(to: Optional[str]):
    """``'service'``, ``'server:service'`` or ``'service#instance'`` -> (server, service)."""
    if not to:
        return "", ""
    server, colon, service = to.partition(":")
    if not colon:
        server, service = "", to
    if not is_server_name(server):
        raise SwitchboardError("INVALID_ARGUMENT", "invalid server name %r: use letters, digits and _" % server)
    if not is_service_name(service):
        raise SwitchboardError(
            "INVALID_ARGUMENT",
            "invalid service name %r: use letters, digits and _, optionally #instance, or one of * ? ." % service,
        )
    return server, service


def _check_command(command: str) -> None:
    if not isinstance(command, str) or not is_command_name(command):
        raise SwitchboardError(
            "INVALID_ARGUMENT",
            "invalid command %r: commands are upper case letters, digits and _, not starting with a digit" % (command,),
        )


def _base(service: str) -> str:
    return service.split("#", 1)[0]


def _fail(future: Future, error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


class Client:
    """A connection to a hub. Make one with :func:`connect`."""

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        format: str = "text",
        reconnect: bool = True,
        backoff=COMMUNICATOR_BACKOFF,
        queue_capacity: int = 10_000,
        queue_max_bytes: int = 16 * 1024 * 1024,
        drop_policy: str = "drop-oldest",
        request_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        max_line_length: int = MAX_LINE_LENGTH,
        ssl_context: Optional[ssl.SSLContext] = None,
        token: Union[str, bool, None] = None,
    ):
        if format not in ("text", "json"):
            raise SwitchboardError("INVALID_ARGUMENT", "format is 'text' or 'json', not %r" % (format,))
        if drop_policy not in ("drop-oldest", "drop-newest"):
            raise SwitchboardError("INVALID_ARGUMENT", "drop_policy is 'drop-oldest' or 'drop-newest'")
        if not isinstance(queue_max_bytes, int) or queue_max_bytes < 1:
            raise SwitchboardError("INVALID_ARGUMENT", "queue_max_bytes is a number of bytes, at least 1")
        if not backoff or any(d < 0 for d in backoff):
            raise SwitchboardError("INVALID_ARGUMENT", "backoff is a non-empty list of delays in seconds, each >= 0")
        self.address = resolve_address(address)
        self._target = parse_address(self.address)
        self.format = format
        self._reconnect = reconnect
        self._backoff = tuple(float(d) for d in backoff)
        self._capacity = queue_capacity
        self._max_bytes = queue_max_bytes
        self._drop_oldest = drop_policy == "drop-oldest"
        self._request_timeout = request_timeout
        self._connect_timeout = connect_timeout
        self._max_line = max_line_length
        self._ssl = ssl_context
        # AUTH token=... first on every connection (SECURITY.md): given, SWITCHBOARD_TOKEN, or hub.token.
        self._token_option = token
        self._token_source: Optional[str] = None

        # One lock for the state below; `_cond` wakes the writer and senders waiting for room.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        # Held while bytes go out, so close() writes UNREGISTER after the writer's last frame.
        self._send_lock = threading.Lock()  # one frame at a time, in order
        # OpenSSL forbids SSL_read and SSL_write on one connection at once (cpython#76714): on TLS
        # the reader and the writer take turns under this lock, each waiting for the socket outside it.
        self._tls_lock = threading.Lock()
        self._sock: Optional[socket.socket] = None
        self._gate_open = False  # user messages flow (connected, and READY when registering)
        self._queue: Deque[bytes] = deque()  # user messages, in order
        self._queue_bytes = 0  # their size, bounded by queue_max_bytes
        self._announced_commands: Optional[str] = None  # the COMMANDS list the hub last heard
        self._urgent: Deque[bytes] = deque()  # protocol messages: skip the queue and the gate
        self._closed = False
        self._wake = threading.Event()
        self._state = State("connecting", self.address)
        self._ever_connected = False

        self._registration: Optional[Dict[str, Any]] = None
        self._current: Optional[Registration] = None
        self._register_waiter: Optional[Future] = None

        self._handlers: Dict[str, List[Handler]] = {}
        self._state_listeners: List[Callable[[State], None]] = []
        self._pending: Dict[str, _Pending] = {}
        self._prefix = "py%06x_" % random.getrandbits(24)
        self._seq = 0
        self.stats = {"sent": 0, "received": 0, "dropped": 0, "invalid": 0, "reconnects": 0}

        # Messages for handlers and state changes, in order. Bounded: when handlers fall this far
        # behind, the reader waits, so the hub holds the senders back instead of this queue growing.
        self._work: "queue.Queue" = queue.Queue(maxsize=MAX_WORK)
        self._threads: List[threading.Thread] = []
        self._reader: Optional[threading.Thread] = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self, wait: bool = False) -> "Client":
        """Dials the hub. Raises ConnectionClosedError (CONNECTION_FAILED) when it cannot, unless
        ``wait`` is true: then it keeps dialing with the back-off until the first success."""
        try:
            sock: Optional[socket.socket] = self._dial()
        except OSError as err:
            if not (wait and self._reconnect):
                self._closed = True
                raise ConnectionClosedError(
                    "cannot connect to %s: %s (is the hub running? start one with `switchboard hub`)"
                    % (self.address, err),
                    code="CONNECTION_FAILED",
                ) from err
            sock = None
        for target, name, args in (
            (self._run_work, "handlers", ()),
            (self._run_writer, "writer", ()),
            (self._run_io, "reader", (sock,)),
        ):
            thread = threading.Thread(target=target, args=args, name="switchboard-" + name, daemon=True)
            self._threads.append(thread)
            thread.start()
            if name == "reader":
                self._reader = thread
        with self._cond:
            while not self._closed and self._sock is None:
                self._cond.wait(0.1)
        return self

    def close(self, flush_timeout: float = 2.0) -> None:
        """Sends what is queued (waiting up to ``flush_timeout`` s), unregisters and closes;
        pending requests fail with CONNECTION_CLOSED. Idempotent."""
        with self._cond:
            if self._closed:
                return
            deadline = time.monotonic() + flush_timeout
            while self._sock is not None and self._gate_open and (self._queue or self._urgent):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            current = self._current
            self._closed = True
            self._registration = None
            self._current = None
            self._gate_open = False
            sock, self._sock = self._sock, None
            pending, self._pending = self._pending, {}
            waiter, self._register_waiter = self._register_waiter, None
            self.stats["dropped"] += len(self._queue)
            self._queue.clear()
            self._queue_bytes = 0
            self._urgent.clear()
            self._cond.notify_all()
        self._wake.set()
        if sock is not None:
            if current is not None and self._send_lock.acquire(timeout=1.0):
                try:
                    self._send_all(sock, self._frame(Message("UNREGISTER", {"service": current.service})))
                except OSError:
                    pass
                finally:
                    self._send_lock.release()
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        err = ConnectionClosedError("the client was closed")
        for p in pending.values():
            _fail(p.future, err)
        if waiter is not None:
            _fail(waiter, err)
        self._set_state(State("closed", self.address))
        me = threading.current_thread()
        for thread in self._threads:
            if thread is not me and thread.is_alive():
                thread.join(5)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def state(self) -> State:
        return self._state

    @property
    def registered(self) -> Optional[Registration]:
        """The registration the hub confirmed (READY), if any."""
        return self._current

    # ---- registration ------------------------------------------------------------------------------

    def register(
        self,
        service: str,
        commands: Optional[List[str]] = None,
        instance: Union[str, bool, None] = None,
        endpoints: Optional[list] = None,
        timeout: Optional[float] = None,
    ) -> Registration:
        """Registers this connection as ``service``; returns when the hub says READY (waiting for
        a reconnect when the hub is away). Kept across reconnects. Raises SwitchboardError REFUSED
        when the hub refuses the name, RequestTimeoutError when READY does not come in time."""
        if self._closed:
            raise ConnectionClosedError("the client was closed")
        if not isinstance(service, str) or "#" in service or service in ("", "*", "?", ".") or not is_service_name(service):
            raise SwitchboardError(
                "INVALID_ARGUMENT",
                "cannot register as %r: a service name is letters, digits and _, not starting with a digit "
                "(another instance: register(name, instance=True))" % (service,),
            )
        for c in commands or []:
            _check_command(c)
        waiter: Future = Future()
        with self._cond:
            self._registration = {
                "service": service,
                "commands": list(commands or []),
                "instance": instance,
                "endpoints": endpoints,
            }
            old, self._register_waiter = self._register_waiter, waiter
            if self._sock is not None:
                self._send_register()
        if old is not None:
            _fail(old, SwitchboardError("CANCELLED", "replaced by a newer register() call"))
        limit = self._request_timeout if timeout is None else timeout
        try:
            return waiter.result(limit)
        except FutureTimeout:
            raise RequestTimeoutError(
                "the hub did not answer REGISTER service=%s with READY within %s s" % (service, limit)
            ) from None

    def unregister(self) -> None:
        """Leaves the hub's registry; the connection stays for sending."""
        with self._cond:
            reg, self._registration, self._current = self._registration, None, None
            if reg is not None:
                self._push_urgent(Message("UNREGISTER", {"service": reg["service"]}))
                if self._sock is not None:
                    self._open_gate()

    # ---- sending -----------------------------------------------------------------------------------

    def send(self, command: str, to: Optional[str] = None, params: Optional[Params] = None) -> bool:
        """Sends one message (queued while disconnected); False when it was dropped."""
        return self._write(self._message(command, to, params))

    def broadcast(self, command: str, params: Optional[Params] = None, scope: str = "*") -> bool:
        """To every service that listed ``command`` (``*`` every hub, ``?`` the LAN, ``.`` this hub)."""
        return self.send(command, scope, params)

    def request(
        self,
        command: str,
        to: Optional[str] = None,
        params: Optional[Params] = None,
        timeout: Optional[float] = None,
        match: Optional[Callable[[Message], bool]] = None,
    ) -> Message:
        """Sends and waits for the reply carrying the same ``correlation_id`` (or accepted by
        ``match``: for replies that carry no id, such as the hub's own). Raises
        RequestTimeoutError, ConnectionClosedError, or SwitchboardError with the code the other side
        answered (ERROR code=...), NOT_FOUND (UNKNOWN) or UNAVAILABLE (SERVICE_UNAVAILABLE)."""
        msg = self._message(command, to, dict(params or {}))
        with self._cond:
            if self._closed:
                raise ConnectionClosedError("the client was closed")
            if self._registration is None and msg.service != "":
                raise SwitchboardError(
                    "INVALID_ARGUMENT",
                    "cannot request %s/%s before register(): replies are routed to a service name, "
                    "so call client.register('<name>') first" % (msg.service, command),
                )
            self._seq += 1
            cid = "%s%x" % (self._prefix, self._seq)
            msg.params[CORRELATION_PARAM] = cid
            pending = _Pending(command, msg.service, match)
            self._pending[cid] = pending
        if not self._write(msg):
            self._settle(
                cid,
                error=SwitchboardError("UNAVAILABLE", "%s was dropped: the outbound queue is full" % command, True),
            )
        limit = self._request_timeout if timeout is None else timeout
        try:
            return pending.future.result(limit)
        except FutureTimeout:
            with self._lock:
                self._pending.pop(cid, None)
            raise RequestTimeoutError(
                "no reply to %s/%s within %s s" % (msg.service or "(hub)", command, limit),
                data={"command": command, "service": msg.service},
            ) from None

    def list_services(self, timeout: Optional[float] = None) -> list:
        """LIST_SERVICES: who is registered (name, status, instances with their commands)."""
        reply = self.request(
            "LIST_SERVICES", timeout=timeout, match=lambda m: m.command == "SERVICES" and m.sent_from_service == ""
        )
        services = reply.params.get("services", [])
        if isinstance(services, str):
            try:
                services = json.loads(services)
            except ValueError as err:
                raise InvalidMessageError("the hub's SERVICES list is not JSON: %s" % err) from err
        if not isinstance(services, list):
            raise InvalidMessageError("the hub's SERVICES list is not a list")
        return services

    def reply(self, to: Message, command: str, params: Optional[Params] = None) -> bool:
        """Answers ``to`` (its sender, echoing its correlation id): for a reply sent later than the
        handler's return."""
        return self._write(self._reply_message(to, command, params))

    # ---- receiving ---------------------------------------------------------------------------------

    def on(self, command: str, handler: Handler) -> Callable[[], None]:
        """Runs ``handler(msg)`` for each ``command``; a returned ``{"command", "params"}`` is the
        reply. A handler that raises answers ``ERROR code=..;message=..`` (the caller's request
        raises with that code). Returns a function that removes the handler."""
        _check_command(command)
        with self._cond:
            first = command not in self._handlers
            self._handlers.setdefault(command, []).append(handler)
            if first:
                self._announce_commands()

        def remove() -> None:
            with self._cond:
                handlers = self._handlers.get(command, [])
                if handler in handlers:
                    handlers.remove(handler)
                if not handlers and command in self._handlers:
                    del self._handlers[command]
                    self._announce_commands()

        return remove

    def on_state(self, listener: Callable[[State], None]) -> Callable[[], None]:
        """Calls ``listener(state)`` on each change (on the handler thread, in order)."""
        with self._lock:
            self._state_listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._state_listeners:
                    self._state_listeners.remove(listener)

        return remove

    # ---- internals: messages -------------------------------------------------------------------

    def _message(self, command: str, to: Optional[str], params: Optional[Params]) -> Message:
        _check_command(command)
        server, service = _destination(to)
        msg = Message(command=command, params=params if params is not None else {}, server=server, service=service)
        msg.check()
        return msg

    def _reply_message(self, to: Message, command: str, params: Optional[Params]) -> Message:
        _check_command(command)
        out = dict(params or {})
        if CORRELATION_PARAM in to.params:
            out[CORRELATION_PARAM] = to.params[CORRELATION_PARAM]
        return Message(command=command, params=out, server=to.sent_from_server, service=to.sent_from_service)

    def _frame(self, msg: Message) -> bytes:
        return (encode_line(msg, self.format) + "\n").encode("utf-8")

    def _write(self, msg: Message) -> bool:
        """Queues a user message for the writer. While connected a full queue makes the caller wait
        (back-pressure); while disconnected the drop policy decides. The reader thread never waits."""
        frame = self._frame(msg)
        me = threading.current_thread()
        size = len(frame)
        with self._cond:
            # A frame larger than the whole budget could never be queued: it is dropped at once.
            if self._closed or self._capacity <= 0 or size > self._max_bytes:
                self.stats["dropped"] += 1
                return False

            def full() -> bool:
                return len(self._queue) >= self._capacity or self._queue_bytes + size > self._max_bytes

            may_wait = me is not self._reader
            while full() and may_wait and self._gate_open and not self._closed:
                self._cond.wait(1.0)
            if self._closed:
                self.stats["dropped"] += 1
                return False
            if full() and not self._drop_oldest:
                self.stats["dropped"] += 1
                return False
            while full():
                self.stats["dropped"] += 1
                self._queue_bytes -= len(self._queue.popleft())
            self._queue.append(frame)
            self._queue_bytes += size
            self._cond.notify_all()
            return True

    def _push_urgent(self, msg: Message) -> None:
        """Protocol messages (REGISTER, COMMANDS, answers to the hub) skip the queue and the gate."""
        if self._sock is None:
            return
        if len(self._urgent) >= MAX_URGENT:
            self.stats["dropped"] += 1
            return
        self._urgent.append(self._frame(msg))
        self._cond.notify_all()

    def _command_list(self) -> List[str]:
        names = set(BUILTIN_COMMANDS)
        if self._registration is not None:
            names.update(self._registration["commands"])
        names.update(self._handlers)
        return sorted(names)

    def _announce_commands(self) -> None:
        # Not registered yet: REGISTER carries the list, and _on_ready catches up on what came since.
        if self._current is not None:
            self._announced_commands = ",".join(self._command_list())
            self._push_urgent(Message("COMMANDS", {"list": self._announced_commands}))

    def _send_register(self) -> None:
        reg = self._registration
        if reg is None:
            return
        params: Params = {"service": reg["service"], "version": 1}
        if reg["instance"] is not None and reg["instance"] is not False:
            params["instance"] = "true" if reg["instance"] is True else str(reg["instance"])
        if reg["endpoints"] is not None:
            params["endpoints"] = reg["endpoints"] if self.format == "json" else json.dumps(reg["endpoints"])
        params["commands"] = self._announced_commands = ",".join(self._command_list())
        self._gate_open = False
        self._push_urgent(Message("REGISTER", params))

    def _open_gate(self) -> None:
        self._gate_open = True
        self._cond.notify_all()

    # ---- internals: connection -----------------------------------------------------------------

    def _dial(self) -> socket.socket:
        t = self._target
        if t.transport == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._connect_timeout)
            try:
                sock.connect(t.path)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((t.host, t.port), timeout=self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if t.transport == "tls":
                context = self._ssl or _default_tls_context()
                try:
                    sock = context.wrap_socket(sock, server_hostname=t.host)
                except OSError:
                    sock.close()
                    raise
                sock.setblocking(False)  # see _tls_lock
                return sock
        sock.settimeout(None)
        return sock

    def _recv(self, sock: socket.socket) -> bytes:
        if not isinstance(sock, ssl.SSLSocket):
            return sock.recv(65536)
        while True:
            if not sock.pending():
                try:
                    select.select([sock], [], [])
                except ValueError as err:  # closed by close() meanwhile (its descriptor is -1)
                    raise OSError("the connection was closed") from err
            with self._tls_lock:
                try:
                    return sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue

    def _send_all(self, sock: socket.socket, data: bytes) -> None:
        """Writes one frame; the caller holds _send_lock."""
        if not isinstance(sock, ssl.SSLSocket):
            sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            with self._tls_lock:
                try:
                    sent = sock.send(view)
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    sent = 0
            if sent:
                view = view[sent:]
            else:
                try:
                    select.select([], [sock], [], 1.0)
                except ValueError as err:
                    raise OSError("the connection was closed") from err

    def _run_io(self, sock: Optional[socket.socket]) -> None:
        attempt = 0
        while not self._closed:
            if sock is None:
                self._set_state(State("connecting", self.address, attempt=attempt))
                try:
                    sock = self._dial()
                except OSError as err:
                    if not self._retry(attempt, "cannot connect to %s: %s" % (self.address, err)):
                        return
                    attempt += 1
                    continue
            attempt = 0
            reason = self._serve(sock)
            sock = None
            if not self._retry(attempt, reason):
                return
            attempt += 1

    def _retry(self, attempt: int, reason: str) -> bool:
        """After a failed dial or a lost connection: waits the back-off delay; False to stop."""
        with self._cond:
            self._gate_open = False
            self._current = None
            if self._closed:
                return False
        if not self._reconnect:
            log.info("hub connection down: %s", reason)
            self._set_state(State("disconnected", self.address, attempt=attempt, reason=reason))
            threading.Thread(target=self.close, name="switchboard-close", daemon=True).start()
            return False
        delay = self._backoff[min(attempt, len(self._backoff) - 1)]
        log.debug("hub connection down (%s); retrying in %s s", reason, delay)
        self._set_state(State("disconnected", self.address, attempt=attempt, retry_in=delay, reason=reason))
        self._wake.wait(delay)
        return not self._closed

    def _serve(self, sock: socket.socket) -> str:
        """Reads lines until the connection ends; returns why it ended."""
        with self._cond:
            if self._closed:
                sock.close()
                return "closed"
            self._sock = sock
            self._urgent.clear()  # answers meant for the previous connection
            if self._ever_connected:
                self.stats["reconnects"] += 1
            self._ever_connected = True
            self._set_state(State("connected", self.address))
            auth = client_token(self._target, self._token_option)
            self._token_source = auth[1] if auth else None
            if auth:
                self._push_urgent(Message("AUTH", {"token": auth[0]}))
            if self._registration is not None:
                self._send_register()
            else:
                self._open_gate()
            self._cond.notify_all()
        buffer = b""
        reason = "the hub closed the connection"
        try:
            while True:
                chunk = self._recv(sock)
                if not chunk:
                    break
                buffer += chunk
                start = 0
                while True:
                    nl = buffer.find(b"\n", start)
                    if nl == -1:
                        break
                    self._on_line(buffer[start:nl])
                    start = nl + 1
                buffer = buffer[start:]
                if len(buffer) > self._max_line:
                    reason = "the hub sent a line over %d bytes" % self._max_line
                    break
        except OSError as err:
            reason = "connection to %s lost: %s" % (self.address, err)
        finally:
            with self._cond:
                if self._sock is sock:
                    self._sock = None
                self._gate_open = False
                self._cond.notify_all()
            sock.close()
        return reason

    def _run_writer(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not (
                    self._sock is not None and (self._urgent or (self._gate_open and self._queue))
                ):
                    self._cond.wait()
                if self._closed:
                    return
                sock = self._sock
                if self._urgent:
                    frame = self._urgent.popleft()
                else:
                    frame = self._queue.popleft()
                    self._queue_bytes -= len(frame)
                self._cond.notify_all()  # room in the queue
            try:
                with self._send_lock:
                    self._send_all(sock, frame)
                self.stats["sent"] += 1
            except OSError as err:
                log.debug("write to %s failed: %s", self.address, err)
                self.stats["dropped"] += 1
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # the reader sees the end and reconnects
                except OSError:
                    pass

    # ---- internals: inbound --------------------------------------------------------------------

    def _on_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            return
        try:
            msg = decode_line(text)
        except InvalidMessageError as err:
            self.stats["invalid"] += 1
            log.warning("ignored a line from the hub that does not parse: %s", err)
            return
        self.stats["received"] += 1
        cid = msg.params.get(CORRELATION_PARAM)
        if cid is not None:
            if not self._is_own_request(msg) and self._settle(str(cid), reply=msg):
                return
        elif msg.command not in ("HELP", "READY", "AUTHENTICATED") and self._match(msg):
            return
        if self._system(msg):
            return
        if msg.command in self._handlers:
            self._queue_work("message", msg)
            return
        if msg.command not in NEVER_ANSWERED and msg.sent_from_service and not self._is_late_reply(msg):
            with self._cond:
                self._push_urgent(self._reply_message(msg, "UNKNOWN", {"command": msg.command}))

    def _is_own_request(self, msg: Message) -> bool:
        """A request this client sent to its own service arrives carrying an id it waits on."""
        own = self._current.service if self._current else None
        return own is not None and msg.command in self._handlers and _base(msg.service) == own

    def _is_late_reply(self, msg: Message) -> bool:
        cid = msg.params.get(CORRELATION_PARAM)
        return isinstance(cid, str) and cid.startswith(self._prefix)

    def _settle(self, cid: str, reply: Optional[Message] = None, error: Optional[Exception] = None) -> bool:
        with self._lock:
            p = self._pending.pop(cid, None)
        if p is None:
            return False
        if error is None and reply is not None:
            if reply.command == "ERROR":
                code = reply.params.get("code")
                error = SwitchboardError(
                    code if isinstance(code, str) else "INTERNAL",
                    str(reply.params.get("message", "%s/%s failed" % (p.service or "(hub)", p.command))),
                    retryable=reply.params.get("retryable") in (True, "true"),
                    data={"remote": "%s:%s" % (reply.sent_from_server, reply.sent_from_service)},
                )
            elif reply.command == "UNKNOWN":
                error = SwitchboardError(
                    "NOT_FOUND", "%s does not understand %s" % (reply.sent_from_service or "the hub", p.command)
                )
        if error is not None:
            _fail(p.future, error)
        elif not p.future.done():
            p.future.set_result(reply)
        return True

    def _match(self, msg: Message) -> bool:
        with self._lock:
            found = next((cid for cid, p in self._pending.items() if p.match is not None and p.match(msg)), None)
        return found is not None and self._settle(found, reply=msg)

    def _reject_where(self, pick: Callable[[_Pending], bool], error: Exception) -> bool:
        with self._lock:
            found = next((cid for cid, p in self._pending.items() if pick(p)), None)
        return found is not None and self._settle(found, error=error)

    def _system(self, msg: Message) -> bool:
        """The hub's protocol and what every service answers. True when the message was consumed."""
        cmd = msg.command
        has_handler = cmd in self._handlers
        if cmd == "HELP":
            with self._cond:
                self._push_urgent(self._reply_message(msg, "COMMANDS", {"list": ",".join(self._command_list())}))
            return True
        if cmd == "ALIVE":
            params = {"reply_timestamp": "%.6f" % time.time()}
            for key in ("serial", "timestamp"):
                if key in msg.params:
                    params[key] = str(msg.params[key])
            with self._cond:
                self._push_urgent(self._reply_message(msg, "ABSOLUTELY", params))
            return True
        if cmd == "READY":
            self._on_ready(msg)
            return True
        if cmd == "AUTHENTICATED" and not msg.sent_from_service:
            log.debug("authenticated as %s", msg.params.get("identity"))
            return True
        if cmd == "STOP":
            if has_handler:
                return False
            threading.Thread(target=self.close, name="switchboard-stop", daemon=True).start()
            return True
        if cmd == "SERVICE_UNAVAILABLE":
            service = str(msg.params.get("destination_service", ""))
            command = str(msg.params.get("unsent_command", ""))
            self._reject_where(
                lambda p: p.command == command and _base(p.service) == _base(service),
                SwitchboardError(
                    "UNAVAILABLE",
                    'service "%s" is not registered with the hub, so %s was not delivered' % (service, command),
                    retryable=True,
                ),
            )
            return not has_handler
        if cmd == "UNKNOWN":
            command = str(msg.params.get("command", ""))
            sender = _base(msg.sent_from_service)
            self._reject_where(
                lambda p: p.command == command and (p.service == "" or _base(p.service) == sender),
                SwitchboardError("NOT_FOUND", "%s does not understand %s" % (msg.sent_from_service or "the hub", command)),
            )
            return not has_handler
        if cmd == "INVALID":
            return self._on_invalid(msg, has_handler)
        if cmd in ("QUITTING", "DISCONNECTING"):
            log.info("the hub is going away (%s); will reconnect", cmd)
            return not has_handler
        if cmd == "STATUS":
            return not has_handler
        return False

    def _on_invalid(self, msg: Message, has_handler: bool) -> bool:
        text = str(msg.params.get("message", "invalid message"))
        about = msg.params.get("command")
        if about == "AUTH" and not msg.sent_from_service:
            # A token file left by another hub is no news; a token someone gave is.
            (log.debug if self._token_source == "file" else log.warning)("the hub did not accept the token: %s", text)
            return True
        if about == "REGISTER":
            with self._cond:
                waiter, self._register_waiter = self._register_waiter, None
                if waiter is not None:
                    self._registration = None
                    self._open_gate()
            if waiter is not None:
                _fail(waiter, SwitchboardError("REFUSED", "the hub refused REGISTER: %s" % text))
                return True
        if about and self._reject_where(
            lambda p: p.command == about,
            SwitchboardError("INVALID_MESSAGE", "the hub refused %s: %s" % (about, text)),
        ):
            return True
        log.warning("the hub reported an invalid message: %s", text)
        return not has_handler

    def _on_ready(self, msg: Message) -> None:
        with self._cond:
            reg = self._registration
            if reg is None:
                return
            instance = msg.params.get("instance")
            address = msg.params.get("my_address")
            current = Registration(
                reg["service"],
                None if instance is None else str(instance),
                None if address is None else str(address),
            )
            self._current = current
            # Handlers added while REGISTER was on its way were not in it: tell the hub now.
            if ",".join(self._command_list()) != self._announced_commands:
                self._announce_commands()
            self._open_gate()
            waiter, self._register_waiter = self._register_waiter, None
        self._set_state(State("ready", self.address, registration=current))
        if waiter is not None and not waiter.done():
            waiter.set_result(current)

    def _set_state(self, state: State) -> None:
        self._state = state
        if self._state_listeners:
            self._queue_work("state", state)

    def _queue_work(self, kind: str, value: Any) -> None:
        while True:
            try:
                self._work.put((kind, value), timeout=0.2)
                return
            except queue.Full:
                if self._closed:
                    return

    # ---- internals: the handler thread ---------------------------------------------------------

    def _run_work(self) -> None:
        while True:
            try:
                kind, value = self._work.get(timeout=0.2)
            except queue.Empty:
                if self._closed:
                    return
                continue
            if kind == "state":
                for listener in list(self._state_listeners):
                    try:
                        listener(value)
                    except Exception:  # a listener's bug must not stop the client
                        log.exception("a state listener raised")
            else:
                self._run_handlers(value)

    def _run_handlers(self, msg: Message) -> None:
        for handler in list(self._handlers.get(msg.command, [])):
            try:
                result = handler(msg)
            except Exception as err:  # answered to the caller as ERROR, as the TypeScript client does
                if isinstance(err, SwitchboardError):
                    log.info("a handler for %s refused: %s", msg.command, err)
                else:
                    log.exception("a handler for %s raised", msg.command)
                if CORRELATION_PARAM in msg.params and msg.sent_from_service:
                    known = isinstance(err, SwitchboardError)
                    params = {
                        "code": err.code if known else "INTERNAL",
                        "message": err.message if known else (str(err) or type(err).__name__),
                        "retryable": err.retryable if known else False,
                    }
                    self._write(self._reply_message(msg, "ERROR", params))
                continue
            if result is None:
                continue
            if not isinstance(result, dict) or not isinstance(result.get("command"), str):
                log.error("a handler for %s returned %r: return None or {'command': ..., 'params': {...}}", msg.command, result)
                continue
            try:
                self._write(self._reply_message(msg, result["command"], result.get("params")))
            except SwitchboardError as err:
                log.error("the reply of a handler for %s cannot be sent: %s", msg.command, err)


def connect(address: Optional[str] = None, wait: bool = False, **options) -> Client:
    """A started client: ``connect()`` dials ``SWITCHBOARD_ADDRESS`` or ``cd://127.0.0.1:4040``.

    Options: ``format`` ("text" or "json"), ``reconnect`` (True), ``backoff`` (seconds, default
    the communicator's), ``queue_capacity`` (10 000), ``queue_max_bytes`` (16 MiB), ``drop_policy`` ("drop-oldest"),
    ``request_timeout`` (10 s), ``ssl_context`` (for cds:// addresses). With ``wait=True`` it keeps
    dialing until the hub is there instead of raising."""
    return Client(address, **options).start(wait=wait)
