"""A small asyncio WebSocket client built on the codec alone.

``connect()`` opens a connection and gives a ``Client``: masked frames out
(fresh keys), ``MessageReader(client=True)`` in, pings answered on their own.
``python -m wsfast client URL`` is its command line (``main``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import threading
import types
import urllib.parse
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Union

from ._echo_common import (
    CLOSE_TIMEOUT,
    CLOSED,
    CLOSING,
    CONNECTING,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFER_LIMIT,
    HANDSHAKE_TIMEOUT,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    OPEN,
    Data,
    Endpoint,
    add_codec_options,
    load_api,
)
from ._errors import ProtocolError
from ._extensions import DeflateParams, deflate_check, deflate_offer
from ._handshake import HandshakeError, Headers, build_request, check_response, head_end, parse_response

__all__ = ["Client", "ConnectionClosed", "connect", "main"]


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


class _ClientConnection(Endpoint):
    is_client = True

    def __init__(
        self,
        api: types.SimpleNamespace,
        max_message_size: Optional[int],
        request: bytes,
        key: str,
        offer: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(api, max_message_size)
        loop = asyncio.get_running_loop()
        self._request = request
        self._key = key
        self._offer = offer
        self._head = bytearray()
        self.opened = loop.create_future()
        self.queue: Deque[Data] = collections.deque()
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
        if self.state != CONNECTING:
            self._feed(data)
            return
        self._head += data
        try:
            end = head_end(self._head, "response")
            if end < 0:
                return
            head, rest = bytes(self._head[:end]), bytes(self._head[end:])
            self._head = bytearray()
            response = parse_response(head)
            check_response(response, self._key)
            # An extension this end did not offer, or an answer that breaks
            # the offer's terms, fails the connection (RFC 7692 §5).
            if self._offer is not None:
                deflate = deflate_check(response, **self._offer)
            elif response.headers.get_all("Sec-WebSocket-Extensions"):
                raise HandshakeError(
                    "Sec-WebSocket-Extensions in the response, but no extension was offered",
                    "Sec-WebSocket-Extensions",
                )
            else:
                deflate = None
        except HandshakeError as exc:
            self._handshake_failed(exc)
            return
        self._open(rest, deflate)
        if not self.opened.done():
            self.opened.set_result(None)

    def _handshake_failed(self, exc: Exception) -> None:
        self.state = CLOSED
        if not self.opened.done():
            self.opened.set_exception(exc)
        assert self.transport is not None
        self.transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def on_message(self, data: Data) -> None:
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
        if action is not None and self.state < CLOSED:
            action()

    def _close_received(self, code: int, reason: str) -> None:
        if self.queue and self.state == OPEN:
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
        if self.queue and self.state == OPEN:
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
    def deflate(self) -> Optional[DeflateParams]:
        """The negotiated permessage-deflate parameters; None without it."""
        return self._p.deflate

    @property
    def open(self) -> bool:
        return self._p.state == OPEN

    def _check_open(self) -> None:
        if self._p.state != OPEN:
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
            p.state = CLOSING
        await p.drain()

    async def send_message(self, opcode: int, payload: Any) -> None:
        """One whole data message, compressed when permessage-deflate was
        negotiated (``send_frame`` always sends a frame as it is)."""
        self._check_open()
        self._p._send_message(opcode, payload)
        await self._p.drain()

    async def send_text(self, text: str) -> None:
        await self.send_message(OP_TEXT, text)

    async def send_bytes(self, data: bytes) -> None:
        await self.send_message(OP_BINARY, data)

    async def send(self, data: Data) -> None:
        await self.send_message(OP_TEXT if isinstance(data, str) else OP_BINARY, data)

    async def send_fragments(self, parts: List[Data]) -> None:
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

    async def recv(self) -> Data:
        """The next message; ``ConnectionClosed`` once no more can come."""
        p = self._p
        while True:
            if p.queue:
                return p.queue.popleft()
            p.run_pending()
            if p.state == CLOSED:
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
        if p.state == OPEN:
            payload = p.api.encode_close(code, reason) if code is not None else p.api.encode_close()
            p._send(OP_CLOSE, payload)
            p.sent_close_code = 1005 if code is None else code
            p.state = CLOSING
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
        if self._p.state == OPEN:
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
    deflate: Union[bool, Mapping[str, Any]] = True,
) -> Client:
    """Open a WebSocket connection to ``ws://host:port/path``.

    ``deflate``: offer permessage-deflate (``True``: ``deflate_offer()``'s
    default offer), offer nothing (``False``), or offer with these
    ``deflate_offer`` keyword arguments (a dict). ``Client.deflate`` tells
    what was negotiated.
    """
    api = load_api(implementation)
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    offer: Optional[Dict[str, Any]] = None
    headers = list(Headers(extra_headers)) if extra_headers is not None else []
    if deflate is not False:
        offer = {} if deflate is True else dict(deflate)
        headers.append(("Sec-WebSocket-Extensions", deflate_offer(**offer)))
    request, key = build_request(host_header, path, extra_headers=headers)
    loop = asyncio.get_running_loop()
    transport, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: _ClientConnection(api, max_message_size, request, key, offer), host, port
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
# Command line: python -m wsfast client URL


def parse_url(url: str) -> Tuple[str, int, str]:
    """``ws://host[:port]/path?query`` as ``(host, port, path)``; ``ValueError``
    for another scheme (``wss://`` included: this client speaks no TLS)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "ws":
        raise ValueError(f"{url!r}: only ws:// URLs are supported")
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, parts.port or 80, path


def _show(data: Data) -> str:
    if isinstance(data, str):
        return data
    return f"(binary, {len(data)} bytes) {data[:64].hex()}{'...' if len(data) > 64 else ''}"


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> "asyncio.Queue[Optional[str]]":
    """Lines of standard input as they are typed; ``None`` at its end.

    A daemon thread reads, so that a connection the server closes ends the
    program without waiting for one more line.
    """
    lines: "asyncio.Queue[Optional[str]]" = asyncio.Queue()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\r\n"))
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return lines


async def _interactive(client: Client) -> None:
    """Typed lines go out as text; received messages are printed."""

    async def receive() -> None:
        try:
            while True:
                print(f"< {_show(await client.recv())}", flush=True)
        except ConnectionClosed:
            pass

    async def send() -> None:
        lines = _stdin_lines(asyncio.get_running_loop())
        while True:
            line = await lines.get()
            if line is None or not client.open:
                break
            await client.send_text(line)
        # End of input (Ctrl-D): the closing handshake, with 1000.
        if client.open:
            await client.close(1000)

    receiver = asyncio.ensure_future(receive())
    sender = asyncio.ensure_future(send())
    await receiver
    if not sender.done():
        sender.cancel()
    await client.wait_closed()


async def _echo_back(client: Client) -> None:
    """Send every message back as it came until the connection closes."""
    try:
        while True:
            await client.send(await client.recv())
    except ConnectionClosed:
        pass
    await client.wait_closed()


async def _autobahn(url: str, args: argparse.Namespace) -> int:
    """Run every case of an Autobahn fuzzingserver at ``url`` as its testee."""
    host, port, _ = parse_url(url)
    # Autobahn's 13.2, 13.5 and 13.6 ask for no context takeover only from a
    # client whose offer has client_no_context_takeover (RFC 7692: the
    # client then drops its context whatever the answer, and does).
    deflate: Any = {"client_no_context_takeover": True} if args.deflate else False
    options: Dict[str, Any] = dict(
        implementation=args.implementation, max_message_size=args.max_message_size, deflate=deflate
    )
    counter = await connect(host, port, "/getCaseCount", **options)
    count = int(await counter.recv())
    await counter.wait_closed()
    agent = urllib.parse.quote(args.agent)
    for index in range(1, count + 1):
        print(f"case {index}/{count}", file=sys.stderr, flush=True)
        try:
            client = await connect(host, port, f"/runCase?case={index}&agent={agent}", **options)
            await asyncio.wait_for(_echo_back(client), args.case_timeout)
        except (OSError, ValueError, asyncio.TimeoutError) as exc:
            # The fuzzingserver judges the case as it saw it.
            print(f"case {index}: {exc!r}", file=sys.stderr, flush=True)
    reporter = await connect(host, port, f"/updateReports?agent={agent}", **options)
    await reporter.wait_closed()
    return 0


async def _run(args: argparse.Namespace) -> int:
    if args.autobahn:
        return await _autobahn(args.url, args)
    host, port, path = parse_url(args.url)
    client = await connect(
        host,
        port,
        path,
        implementation=args.implementation,
        max_message_size=args.max_message_size,
        deflate=args.deflate,
    )
    extensions = f"; {client.deflate.header_value()}" if client.deflate else ""
    print(
        f"connected to {args.url} ({client.implementation} backend{extensions})", file=sys.stderr, flush=True
    )
    await (_echo_back(client) if args.echo else _interactive(client))
    reason = f" reason {client.close_reason!r}" if client.close_reason else ""
    print(f"closed: code {client.close_code}{reason}", file=sys.stderr, flush=True)
    return 0 if client.error is None else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast client",
        description=(
            "Talk to a WebSocket server: each line typed goes out as a text message, "
            "each message received is printed (binary ones as hex); end of input "
            "(Ctrl-D) closes the connection with 1000."
        ),
    )
    parser.add_argument("url", help="ws://host[:port]/path")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--echo", action="store_true", help="send every message back instead of reading input"
    )
    mode.add_argument(
        "--autobahn",
        action="store_true",
        help="URL is an Autobahn fuzzingserver: run each of its cases as the echoing testee",
    )
    parser.add_argument("--agent", default="wsfast", help="agent name for --autobahn (default: %(default)s)")
    parser.add_argument(
        "--case-timeout", type=float, default=60.0, help="seconds per case for --autobahn (default: %(default)s)"
    )
    add_codec_options(parser)
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="do not offer permessage-deflate (RFC 7692), offered by default",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError, HandshakeError, asyncio.TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
