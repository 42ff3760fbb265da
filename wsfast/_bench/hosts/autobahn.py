"""autobahn through its asyncio protocol, the way the event loop drives it:
``connection_made()`` with a transport that keeps what is written, the
opening handshake through ``data_received()``, then client frames in the
64 KiB reads a socket gives, delivered to ``onMessage``; sending is
``sendMessage()`` of a client protocol (masked); and end to end, a
``WebSocketServerFactory`` served on the running loop whose protocol
echoes each message to the raw echo client of ``_loopback``."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from . import Case
from . import _loopback as lb

CHUNK = 64 * 1024


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.head = b""
        self.closed = False

    def write(self, data: Any) -> None:
        if len(self.head) < 4096:
            self.head += bytes(data)
        self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": (lb.LOOPBACK, 50000), "sockname": (lb.LOOPBACK, 9000)}.get(name, default)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _spin(loop: asyncio.AbstractEventLoop) -> None:
    """Let the callbacks autobahn scheduled (handshake steps) run."""
    for _ in range(3):
        loop.run_until_complete(asyncio.sleep(0.005))


def _server(on_message: Any) -> Tuple[Any, _Transport, Any]:
    aio: Any = importlib.import_module("autobahn.asyncio.websocket")
    WebSocketServerFactory, WebSocketServerProtocol = aio.WebSocketServerFactory, aio.WebSocketServerProtocol

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def onMessage(self: Any, payload: Any, is_binary: bool) -> None:
        on_message(payload, is_binary)

    Protocol = type("Protocol", (WebSocketServerProtocol,), {"onMessage": onMessage})

    factory = WebSocketServerFactory(f"ws://{lb.LOOPBACK}:9000")
    factory.setProtocolOptions(maxFramePayloadSize=0, maxMessagePayloadSize=0, autoPingInterval=0,
                               openHandshakeTimeout=0, closeHandshakeTimeout=0)
    factory.protocol = Protocol
    protocol = factory()
    transport = _Transport()
    protocol.connection_made(transport)
    _spin(loop)
    protocol.data_received(lb.client_request(9000))
    _spin(loop)
    if b"101" not in transport.head:
        raise RuntimeError(f"handshake failed: {transport.head[:200]!r}")
    return protocol, transport, loop


def _receive(blob: bytes, count: int) -> Tuple[Any, Any]:
    state: Dict[str, Any] = {"count": 0, "bytes": 0, "last": None, "done": None}

    def on_message(payload: Any, is_binary: bool) -> None:
        state["count"] += 1
        state["bytes"] += len(payload)
        if state["count"] == count:
            state["last"] = payload
            state["done"].set_result(None)

    protocol, transport, loop = _server(on_message)
    chunks = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)]
    feed = protocol.data_received

    def run() -> Tuple[int, int, Any]:
        # asyncio's protocol queues what it receives for a reader task: the
        # loop runs until that task has delivered every message.
        state["count"] = state["bytes"] = 0
        state["done"] = done = loop.create_future()
        for chunk in chunks:
            feed(chunk)
        loop.run_until_complete(asyncio.wait_for(done, 60))
        if transport.closed:
            raise RuntimeError("autobahn closed the connection")
        return state["count"], state["bytes"], state["last"]

    def close() -> None:
        transport.closed = True
        loop.close()
        asyncio.set_event_loop(None)

    return run, close


def _send(messages: List[Tuple[bool, bytes]]) -> Tuple[Any, Any]:
    aio: Any = importlib.import_module("autobahn.asyncio.websocket")
    WebSocketClientFactory, WebSocketClientProtocol = aio.WebSocketClientFactory, aio.WebSocketClientProtocol

    from ..._handshake import accept_key

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = WebSocketClientFactory(f"ws://{lb.LOOPBACK}:9000")
    factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=0, closeHandshakeTimeout=0)
    factory.protocol = WebSocketClientProtocol
    protocol = factory()
    transport = _Transport()
    protocol.connection_made(transport)
    _spin(loop)
    request = transport.head.decode("latin-1")
    key = next(line.split(":", 1)[1].strip() for line in request.split("\r\n")
               if line.lower().startswith("sec-websocket-key:"))
    protocol.data_received(
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode()
    )
    _spin(loop)
    if protocol.state != protocol.STATE_OPEN:
        raise RuntimeError("client handshake failed")
    send = protocol.sendMessage

    def run() -> int:
        before = transport.written
        for is_text, payload in messages:
            send(payload, not is_text)
        return transport.written - before

    def close() -> None:
        transport.closed = True
        loop.close()
        asyncio.set_event_loop(None)

    return run, close


async def _echo_server() -> Tuple[int, Callable[[], Awaitable[None]]]:
    """An asyncio ``WebSocketServerProtocol`` whose ``onMessage`` sends the
    message back, served with ``loop.create_server()``; no pings, no timeouts."""
    aio: Any = importlib.import_module("autobahn.asyncio.websocket")
    WebSocketServerFactory, WebSocketServerProtocol = aio.WebSocketServerFactory, aio.WebSocketServerProtocol

    def onMessage(self: Any, payload: Any, is_binary: bool) -> None:
        self.sendMessage(payload, is_binary)

    loop = asyncio.get_running_loop()
    factory = WebSocketServerFactory(f"ws://{lb.LOOPBACK}:9000", loop=loop)
    factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=0, closeHandshakeTimeout=0)
    factory.protocol = type("EchoProtocol", (WebSocketServerProtocol,), {"onMessage": onMessage})
    server = await loop.create_server(factory, lb.LOOPBACK, 0)
    port: int = server.sockets[0].getsockname()[1]

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return port, stop


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=True)
    data_frames = [p for op, p in small if op in (1, 2)]
    large_blob = lb.large_stream(masked=True)
    messages = lb.small_messages()
    return [
        Case("recv/10k-small", "onMessage, 10k small masked frames (text, binary, pings) in 64 KiB reads",
             lambda: _receive(small_blob, len(data_frames)), len(data_frames), sum(map(len, data_frames))),
        Case("recv/64KiB-text", "onMessage, 100 masked text frames of 64 KiB in 64 KiB reads",
             lambda: _receive(large_blob, lb.LARGE_COUNT), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "client sendMessage, 10k small messages (masked)",
             lambda: _send(messages), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "client sendMessage, one 64 KiB binary message (masked)",
             lambda: _send([(False, lb.text_64k())]), 1, lb.LARGE_SIZE),
        *lb.echo_cases("autobahn WebSocketServerProtocol", _echo_server),
    ]
