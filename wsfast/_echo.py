"""An asyncio echo server and a small client, built on the codec alone.

Every byte goes through wsfast: the opening handshake through the helpers of
``_handshake``, incoming frames through ``MessageReader``, outgoing ones
through ``encode_frame``. This is the testee that outside peers (the Autobahn
cases, Node's ``ws``, browsers) judge, so the I/O glue stays thin: which
frames are legal, how close payloads look and when a connection must fail are
all the codec's decisions. The glue only routes events: a message is echoed
as it came (text as text, binary as binary), a ping is answered with a pong,
a close with a close, and a ``ProtocolError`` fails the connection with its
close code.

``python -m wsfast echo [--host 127.0.0.1] [--port 9001] [--implementation
cython|python]`` runs the server.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import signal
import types
from typing import Any, Callable, Deque, List, Optional, Set, Tuple, Union

from . import _backend
from ._errors import ProtocolError
from ._handshake import (
    MAX_HEAD_SIZE,
    HandshakeError,
    build_request,
    build_response,
    check_request,
    check_response,
    parse_request,
    parse_response,
    reject_response,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "EchoServer",
    "Client",
    "ConnectionClosed",
    "serve",
    "connect",
    "main",
]

log = logging.getLogger("wsfast.echo")

#: Largest message the echo server assembles: the Autobahn 9.x cases send
#: messages of up to 16 MiB, and a limit is still needed so a peer cannot make
#: the server buffer without bound.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 2**20

#: Seconds a peer gets to finish its opening handshake.
HANDSHAKE_TIMEOUT = 10.0
#: Seconds a client holds back its answer to a close frame or a rule break
#: while the application has not read the messages that came before it.
DEFER_LIMIT = 0.5
#: Seconds the server keeps reading after its FIN, waiting for the peer's.
LINGER_TIMEOUT = 2.0
#: Seconds the client waits for the server to drop TCP after the closing
#: handshake (RFC 6455 §7.1.1: the server closes the TCP connection first).
CLOSE_TIMEOUT = 5.0

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_CONNECTING, _OPEN, _CLOSING, _CLOSED = range(4)

_Data = Union[str, bytes]


def _shorten(data: Any, limit: int = 60) -> str:
    """A message for a log line: its kind, size and a cut-off repr."""
    kind = "text" if isinstance(data, str) else "binary"
    unit = "chars" if isinstance(data, str) else "bytes"
    shown = repr(data[:limit]) + ("..." if len(data) > limit else "")
    return f"{kind} {shown} ({len(data)} {unit})"


def _close_payload(api: types.SimpleNamespace, code: int, reason: str) -> bytes:
    """A close payload for ``code``; 1005 (no code received) gives an empty one."""
    if code == 1005:
        return bytes(api.encode_close())
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        reason = encoded[:123].decode("utf-8", "ignore")
    return bytes(api.encode_close(code, reason))


def _peer_name(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class _Endpoint(asyncio.Protocol):
    """What both ends share once the handshake is done: feeding the reader,
    routing its events, and the closing handshake (RFC 6455 §7)."""

    is_client = False

    def __init__(self, api: types.SimpleNamespace, max_message_size: Optional[int]) -> None:
        self.api = api
        self.max_message_size = max_message_size
        self.transport: Optional[asyncio.Transport] = None
        self.peer = "?"
        self.state = _CONNECTING
        self.reader: Any = None
        #: The close code and reason the peer sent, 1006 if none arrived.
        self.close_code = 1006
        self.close_reason = ""
        #: The close code this end sent, if any.
        self.sent_close_code: Optional[int] = None
        self.closed = asyncio.get_running_loop().create_future()
        #: Set once the stream has ended (a close frame or a break) while
        #: the closing action is still held back; input is ignored from then.
        self._stopped = False
        self._messages = api.Message
        self._pings = api.Ping
        self._pongs = api.Pong

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = _peer_name(transport)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.state = _CLOSED
        if self.reader is not None:
            clean = self.close_code != 1006
            log.info(
                "disconnected %s: code %d%s%s",
                self.peer,
                self.close_code,
                f" reason {self.close_reason!r}" if self.close_reason else "",
                "" if clean else f" (abnormal: {exc or 'no close frame'})",
            )
        if not self.closed.done():
            self.closed.set_result((self.close_code, self.close_reason))

    def eof_received(self) -> Optional[bool]:
        return False

    # -- after the handshake

    def _open(self, rest: bytes) -> None:
        self.reader = self.api.MessageReader(
            client=self.is_client, max_message_size=self.max_message_size
        )
        self.state = _OPEN
        if rest:
            self._feed(rest)

    def _feed(self, data: bytes) -> None:
        if self.state >= _CLOSED or self._stopped:
            # Closed or failed: the peer's remaining bytes mean nothing now.
            return
        try:
            events = self.reader.feed(data)
        except ProtocolError as exc:
            # What the stream completed before the break still gets its answer.
            if self._dispatch(exc.events):
                self._fail(exc.close_code, exc.reason)
            return
        if events:
            self._dispatch(events)

    def _dispatch(self, events: List[Any]) -> bool:
        """Act on each event in order; False once a close frame ends the stream."""
        for event in events:
            kind = type(event)
            if kind is self._messages:
                self.on_message(event.data)
            elif kind is self._pings:
                if self.state == _OPEN:
                    self._send(OP_PONG, event.payload)
            elif kind is self._pongs:
                self.on_pong(event.payload)
            else:
                self._close_received(event.code, event.reason)
                return False
        return True

    def _send(self, opcode: int, payload: Any, fin: bool = True) -> None:
        assert self.transport is not None
        self.transport.write(
            self.api.encode_frame(opcode, payload, fin=fin, mask=True if self.is_client else None)
        )

    def _send_close(self, code: int, reason: str) -> None:
        self._send(OP_CLOSE, _close_payload(self.api, code, reason))
        self.sent_close_code = code

    def _close_received(self, code: int, reason: str) -> None:
        self.close_code = code
        self.close_reason = reason
        if self.state == _OPEN:
            # Echo the code, as RFC 6455 §5.5.1 suggests; an empty close
            # (1005) is answered with an empty one.
            self._send_close(code, reason)
        self.state = _CLOSED
        self._drop()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7) with the codec's close code."""
        log.info("failing %s: %s (close code %d)", self.peer, reason, code)
        if self.state == _OPEN:
            try:
                self._send_close(code, reason)
            except ValueError:
                self._send_close(1002, "protocol error")
        self.state = _CLOSED
        self._drop()

    def _drop(self) -> None:
        """End TCP once the closing handshake is over or the connection failed."""
        assert self.transport is not None
        transport = self.transport
        loop = asyncio.get_running_loop()
        if self.is_client:
            # A client leaves closing TCP to the server (RFC 6455 §7.1.1)
            # but does not wait for it forever.
            loop.call_later(CLOSE_TIMEOUT, transport.close)
            return
        if not transport.can_write_eof():
            transport.close()
            return
        # A lingering close: a FIN after the close frame, then read (and
        # discard) until the peer's FIN. Closing a socket that still has
        # unread input sends an RST instead, and an RST can make the peer's
        # TCP stack drop our close frame before its application reads it, as
        # when a peer is failed in the middle of a large frame.
        transport.write_eof()
        transport.resume_reading()
        loop.call_later(LINGER_TIMEOUT, transport.close)

    # -- what each role does with events

    def on_message(self, data: _Data) -> None:
        raise NotImplementedError

    def on_pong(self, payload: bytes) -> None:
        pass


class _ServerConnection(_Endpoint):
    """One connection of the echo server."""

    def __init__(
        self,
        api: types.SimpleNamespace,
        max_message_size: Optional[int],
        server_header: str,
        live: "Set[_ServerConnection]",
    ) -> None:
        super().__init__(api, max_message_size)
        self._server_header = server_header
        self._live = live
        self._head = bytearray()
        self._timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._live.add(self)
        self._timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._live.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def going_away(self) -> None:
        """The server shuts down: close with 1001 (RFC 6455 §7.4.1)."""
        if self.state == _OPEN:
            self._send_close(1001, "server shutting down")
            self.state = _CLOSED
        if self.transport is not None:
            self.transport.close()

    def _handshake_timeout(self) -> None:
        if self.state == _CONNECTING and self.transport is not None:
            log.info("handshake timeout from %s", self.peer)
            self.transport.close()

    # Back-pressure: a peer that does not read its echoes stops being read.
    def pause_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.state != _CONNECTING:
            self._feed(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n", 0, MAX_HEAD_SIZE)
        if end < 0:
            if len(self._head) >= MAX_HEAD_SIZE:
                self._reject(431, "Request Header Fields Too Large", "request head too large")
            return
        end += 4
        head, rest = bytes(self._head[:end]), bytes(self._head[end:])
        self._head = bytearray()
        try:
            request = parse_request(head)
            key = check_request(request)
        except HandshakeError as exc:
            # 426 tells a plain HTTP client (or one speaking another version)
            # which protocol to upgrade to; anything else is a bad request.
            if exc.header in ("Sec-WebSocket-Version", "Upgrade"):
                self._reject(426, "Upgrade Required", str(exc))
            else:
                self._reject(400, "Bad Request", str(exc))
            return
        assert self.transport is not None
        self.transport.write(build_response(key, extra_headers=[("Server", self._server_header)]))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        log.info("connected %s: GET %s (%s backend)", self.peer, request.path, self.api.IMPLEMENTATION)
        self._open(rest)

    def _reject(self, status: int, phrase: str, why: str) -> None:
        assert self.transport is not None
        log.info("rejected %s: %d %s: %s", self.peer, status, phrase, why)
        self.transport.write(reject_response(status, phrase, (why + "\n").encode("utf-8")))
        self.transport.close()
        self.state = _CLOSED

    def on_message(self, data: _Data) -> None:
        if self.state != _OPEN:
            return
        if log.isEnabledFor(logging.INFO):
            log.info("message from %s: %s", self.peer, _shorten(data))
        self._send(OP_TEXT if isinstance(data, str) else OP_BINARY, data)


class EchoServer:
    """A running echo server: ``host``, ``port``, ``implementation``; ``close()``."""

    def __init__(
        self, server: asyncio.Server, implementation: str, live: "Set[_ServerConnection]"
    ) -> None:
        self._server = server
        self._live = live
        self.implementation = implementation
        sockname = server.sockets[0].getsockname()
        self.host: str = sockname[0]
        self.port: int = sockname[1]

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    def close(self) -> None:
        """Stop listening and close every connection with 1001."""
        self._server.close()
        for connection in list(self._live):
            connection.going_away()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def __aenter__(self) -> "EchoServer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()


async def serve(
    host: str = "127.0.0.1",
    port: int = 9001,
    *,
    implementation: Optional[str] = None,
    max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
) -> EchoServer:
    """Start an echo server; ``port=0`` picks a free port (see ``.port``).

    ``implementation`` is ``"cython"``, ``"python"`` or ``None`` for the
    backend the package selected.
    """
    api = _load(implementation)
    from . import __version__

    header = f"wsfast-echo/{__version__} ({api.IMPLEMENTATION})"
    live: Set[_ServerConnection] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _ServerConnection(api, max_message_size, header, live), host, port
    )
    return EchoServer(server, api.IMPLEMENTATION, live)


def _load(implementation: Optional[str]) -> types.SimpleNamespace:
    return _backend.select() if implementation is None else _backend.load(implementation)


# ---------------------------------------------------------------------------
# Client


class ConnectionClosed(Exception):
    """The connection is closed; ``code`` and ``reason`` are what the peer
    sent (1006 when no close frame arrived, or none yet). ``error`` is the
    ``ProtocolError`` this end failed the connection for, if it did."""

    def __init__(self, code: int, reason: str, error: Optional[ProtocolError] = None) -> None:
        if error is not None:
            text = f"connection failed: {error}"
        else:
            text = f"connection closed: code {code}" + (f" reason {reason!r}" if reason else "")
        super().__init__(text)
        self.code = code
        self.reason = reason
        self.error = error


class _ClientConnection(_Endpoint):
    is_client = True

    def __init__(
        self,
        api: types.SimpleNamespace,
        max_message_size: Optional[int],
        request: bytes,
        key: str,
    ) -> None:
        super().__init__(api, max_message_size)
        loop = asyncio.get_running_loop()
        self._request = request
        self._key = key
        self._head = bytearray()
        self.opened = loop.create_future()
        self.queue: Deque[_Data] = collections.deque()
        self._waiter: Optional[asyncio.Future[None]] = None
        self._pong_waiters: List[Tuple[bytes, asyncio.Future[None]]] = []
        self._paused = False
        self._drain_waiter: Optional[asyncio.Future[None]] = None
        self._pending: Optional[Callable[[], None]] = None
        self._grace: Optional[asyncio.TimerHandle] = None
        #: The rule break that failed the connection, if one did.
        self.error: Optional[ProtocolError] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.write(self._request)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        super().connection_lost(exc)
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._pending = None
        if not self.opened.done():
            self.opened.set_exception(
                ConnectionError(f"connection lost during the handshake: {exc or 'closed by peer'}")
            )
        self._wake()
        for _, waiter in self._pong_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionClosed(self.close_code, self.close_reason))
        self._pong_waiters = []
        self._paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    async def drain(self) -> None:
        if self._paused:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter

    def data_received(self, data: bytes) -> None:
        if self.state != _CONNECTING:
            self._feed(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n", 0, MAX_HEAD_SIZE)
        if end < 0:
            if len(self._head) >= MAX_HEAD_SIZE:
                self._handshake_failed(HandshakeError("response head too large"))
            return
        end += 4
        head, rest = bytes(self._head[:end]), bytes(self._head[end:])
        self._head = bytearray()
        try:
            check_response(parse_response(head), self._key)
        except HandshakeError as exc:
            self._handshake_failed(exc)
            return
        self._open(rest)
        if not self.opened.done():
            self.opened.set_result(None)

    def _handshake_failed(self, exc: Exception) -> None:
        self.state = _CLOSED
        if not self.opened.done():
            self.opened.set_exception(exc)
        assert self.transport is not None
        self.transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def on_message(self, data: _Data) -> None:
        self.queue.append(data)
        self._wake()

    def on_pong(self, payload: bytes) -> None:
        # A pong answers the most recent ping with its payload, and every
        # earlier one (RFC 6455 §5.5.3: a pong may answer only the latest).
        for i, (sent, _waiter) in enumerate(self._pong_waiters):
            if sent == payload:
                for _, earlier in self._pong_waiters[: i + 1]:
                    if not earlier.done():
                        earlier.set_result(None)
                del self._pong_waiters[: i + 1]
                return

    # The server answers events as they are parsed, but a client hands
    # messages to an application that answers later. A close frame or a
    # break that follows messages not yet read is therefore acted on only
    # when the application has read them (its next ``recv()`` after that),
    # so its answers to them still go out first. The timer is a backstop
    # for an application that stops reading.

    def _defer(self, action: Callable[[], None]) -> None:
        self._stopped = True
        self._pending = action
        self._grace = asyncio.get_running_loop().call_later(DEFER_LIMIT, self.run_pending)

    def run_pending(self) -> None:
        action, self._pending = self._pending, None
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if action is not None and self.state < _CLOSED:
            action()

    def _close_received(self, code: int, reason: str) -> None:
        if self.queue and self.state == _OPEN:
            self.close_code = code
            self.close_reason = reason
            self._defer(lambda: self._close_now(code, reason))
            return
        self._close_now(code, reason)

    def _close_now(self, code: int, reason: str) -> None:
        super()._close_received(code, reason)
        self._wake()

    def _fail(self, code: int, reason: str) -> None:
        self.error = ProtocolError(code, reason)
        if self.queue and self.state == _OPEN:
            self._defer(lambda: self._fail_now(code, reason))
            return
        self._fail_now(code, reason)

    def _fail_now(self, code: int, reason: str) -> None:
        super()._fail(code, reason)
        self._wake()


class Client:
    """A WebSocket client connection made by ``connect()``.

    Frames go out masked with fresh keys (``encode_frame(mask=True)``) and
    come in through ``MessageReader(client=True)``; pings are answered
    automatically. ``recv()`` gives the next message (``str`` or ``bytes``)
    and raises ``ConnectionClosed`` once the connection is closed.
    """

    def __init__(self, protocol: _ClientConnection) -> None:
        self._p = protocol

    @property
    def implementation(self) -> str:
        return str(self._p.api.IMPLEMENTATION)

    @property
    def close_code(self) -> int:
        """The close code the peer sent (1005: none in its frame, 1006: no frame)."""
        return self._p.close_code

    @property
    def close_reason(self) -> str:
        return self._p.close_reason

    @property
    def sent_close_code(self) -> Optional[int]:
        """The close code this client sent, when it sent one."""
        return self._p.sent_close_code

    @property
    def error(self) -> Optional[ProtocolError]:
        """The rule break this client failed the connection for, if any."""
        return self._p.error

    @property
    def open(self) -> bool:
        return self._p.state == _OPEN

    def _check_open(self) -> None:
        if self._p.state != _OPEN:
            raise ConnectionClosed(self._p.close_code, self._p.close_reason, self._p.error)

    async def send_frame(self, opcode: int, payload: Any, *, fin: bool = True) -> None:
        """Send one frame as given: fragments, or anything the codec builds.

        A close frame sent this way starts the closing handshake as
        ``close()`` does, without checking its payload.
        """
        self._check_open()
        p = self._p
        p._send(opcode, payload, fin)
        if opcode == OP_CLOSE:
            raw = bytes(payload)
            p.sent_close_code = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else 1005
            p.state = _CLOSING
        await p.drain()

    async def send_text(self, text: str) -> None:
        await self.send_frame(OP_TEXT, text)

    async def send_bytes(self, data: bytes) -> None:
        await self.send_frame(OP_BINARY, data)

    async def send(self, data: _Data) -> None:
        await self.send_frame(OP_TEXT if isinstance(data, str) else OP_BINARY, data)

    async def send_fragments(self, parts: List[_Data]) -> None:
        """One message in ``len(parts)`` frames; text if the parts are ``str``."""
        if not parts:
            raise ValueError("a message needs at least one fragment")
        opcode = OP_TEXT if isinstance(parts[0], str) else OP_BINARY
        for i, part in enumerate(parts):
            await self.send_frame(opcode if i == 0 else 0, part, fin=i == len(parts) - 1)

    async def ping(self, payload: bytes = b"", timeout: Optional[float] = 10.0) -> None:
        """Send a ping and wait for its pong."""
        self._check_open()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._p._pong_waiters.append((bytes(payload), waiter))
        self._p._send(OP_PING, payload)
        await asyncio.wait_for(waiter, timeout)

    async def recv(self) -> _Data:
        """The next message; ``ConnectionClosed`` once no more can come."""
        p = self._p
        while True:
            if p.queue:
                return p.queue.popleft()
            p.run_pending()
            if p.state == _CLOSED:
                raise ConnectionClosed(p.close_code, p.close_reason, p.error)
            p._waiter = asyncio.get_running_loop().create_future()
            try:
                await p._waiter
            finally:
                p._waiter = None

    async def close(
        self, code: Optional[int] = 1000, reason: str = "", timeout: float = CLOSE_TIMEOUT
    ) -> Tuple[int, str]:
        """Run the closing handshake; returns the peer's ``(code, reason)``.

        ``code=None`` sends an empty close frame. Waits for the server to
        drop TCP (it should, RFC 6455 §7.1.1), at most ``timeout`` seconds.
        """
        p = self._p
        p.run_pending()
        if p.state == _OPEN:
            payload = p.api.encode_close(code, reason) if code is not None else p.api.encode_close()
            p._send(OP_CLOSE, payload)
            p.sent_close_code = 1005 if code is None else code
            p.state = _CLOSING
        try:
            await asyncio.wait_for(asyncio.shield(p.closed), timeout)
        except asyncio.TimeoutError:
            assert p.transport is not None
            p.transport.close()
            await p.closed
        return p.close_code, p.close_reason

    async def wait_closed(self) -> Tuple[int, str]:
        """Wait until TCP is closed; returns the peer's ``(code, reason)``."""
        return await asyncio.shield(self._p.closed)

    def abort(self) -> None:
        if self._p.transport is not None:
            self._p.transport.abort()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._p.state == _OPEN:
            await self.close()
            return
        try:
            await asyncio.wait_for(self.wait_closed(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            self.abort()


async def connect(
    host: str,
    port: int,
    path: str = "/",
    *,
    implementation: Optional[str] = None,
    max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
    timeout: float = HANDSHAKE_TIMEOUT,
    extra_headers: Any = None,
) -> Client:
    """Open a WebSocket connection to ``ws://host:port/path``."""
    api = _load(implementation)
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request, key = build_request(host_header, path, extra_headers=extra_headers)
    loop = asyncio.get_running_loop()
    transport, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: _ClientConnection(api, max_message_size, request, key), host, port
        ),
        timeout,
    )
    try:
        await asyncio.wait_for(asyncio.shield(protocol.opened), timeout)
    except BaseException:
        # Nobody will await the handshake's outcome any more.
        protocol.opened.cancel()
        transport.abort()
        raise
    return Client(protocol)


# ---------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast echo",
        description="Run a WebSocket echo server built on the wsfast codec.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=9001, help="port to bind, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--implementation",
        choices=_backend.IMPLEMENTATIONS,
        default=None,
        help="codec backend (default: the one the package selected)",
    )
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        help="largest message accepted, in bytes (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


async def _run(args: argparse.Namespace) -> None:
    server = await serve(
        args.host,
        args.port,
        implementation=args.implementation,
        max_message_size=args.max_message_size,
    )
    host = f"[{server.host}]" if ":" in server.host else server.host
    log.info(
        "echo server (%s backend) listening on ws://%s:%d/", server.implementation, host, server.port
    )
    loop = asyncio.get_running_loop()
    stop: "asyncio.Future[None]" = loop.create_future()

    def request_stop() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, request_stop)
        except (NotImplementedError, RuntimeError):
            pass
    async with server:
        await stop
    log.info("echo server stopped")


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("cannot serve on %s:%d: %s", args.host, args.port, exc)
        return 1
    return 0
