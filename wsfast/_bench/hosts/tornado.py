"""tornado through its public paths: a ``WebSocketHandler`` receiving masked
frames from a raw client, ``websocket_connect()``'s connection sending
(masked) messages to a raw server, and a ``WebSocketHandler`` echoing the
raw echo client of ``_loopback`` message by message. One event loop per
setup, driven with ``run_until_complete``."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from . import Case
from . import _loopback as lb


def _receive(blob: bytes, count: int) -> Tuple[Any, Any]:
    importlib.import_module("tornado.web")
    importlib.import_module("tornado.websocket")
    tornado: Any = importlib.import_module("tornado")

    loop = asyncio.new_event_loop()
    state: Dict[str, Any] = {"count": 0, "bytes": 0, "last": None, "future": None}

    def on_message(self: Any, message: Any) -> None:
        state["count"] += 1
        state["bytes"] += len(message)
        if state["count"] == count:
            state["last"] = message
            state["future"].set_result(None)

    Handler = type("Handler", (tornado.websocket.WebSocketHandler,), {"on_message": on_message})

    async def start() -> Tuple[Any, asyncio.StreamWriter]:
        app = tornado.web.Application([(r"/", Handler)], websocket_max_message_size=1 << 24)
        server = app.listen(0, address=lb.LOOPBACK)
        port = next(iter(server._sockets.values())).getsockname()[1]
        reader, writer = await asyncio.open_connection(lb.LOOPBACK, port)
        writer.write(lb.client_request(port))
        await reader.readuntil(b"\r\n\r\n")

        async def drain() -> None:  # pongs come back; never let them pile up
            while await reader.read(1 << 16):
                pass

        state["drain"] = asyncio.ensure_future(drain())
        return server, writer

    server, writer = loop.run_until_complete(start())

    async def one() -> Tuple[int, int, Any]:
        state["count"] = state["bytes"] = 0
        state["future"] = loop.create_future()
        writer.write(blob)
        await writer.drain()
        await asyncio.wait_for(state["future"], 60)
        return state["count"], state["bytes"], state["last"]

    def run() -> Tuple[int, int, Any]:
        return loop.run_until_complete(one())

    def close() -> None:
        async def stop() -> None:
            writer.close()
            server.stop()
            state["drain"].cancel()
            await asyncio.sleep(0)

        loop.run_until_complete(stop())
        loop.close()

    return run, close


def _send(messages: List[Tuple[bool, bytes]]) -> Tuple[Any, Any]:
    importlib.import_module("tornado.websocket")
    tornado: Any = importlib.import_module("tornado")

    loop = asyncio.new_event_loop()
    sink = lb.AsyncSink()
    wire = sum(lb.sent_size(len(p), True) for _, p in messages)
    texts = [(p.decode() if is_text else p, not is_text) for is_text, p in messages]

    async def start() -> Any:
        await sink.start()
        return await tornado.websocket.websocket_connect(f"ws://{lb.LOOPBACK}:{sink.port}/")

    conn = loop.run_until_complete(start())

    async def one() -> int:
        future: Optional[Any] = None
        for payload, binary in texts:
            future = conn.write_message(payload, binary=binary)
        if future is not None:
            await future
        await sink.wait_received(wire)
        return wire

    def run() -> int:
        return loop.run_until_complete(one())

    def close() -> None:
        async def stop() -> None:
            conn.close()
            await sink.stop()
            await asyncio.sleep(0)

        loop.run_until_complete(stop())
        loop.close()

    return run, close


async def _echo_server() -> Tuple[int, Callable[[], Awaitable[None]]]:
    """A ``WebSocketHandler`` echoing each message, on the running loop."""
    importlib.import_module("tornado.web")
    importlib.import_module("tornado.websocket")
    tornado: Any = importlib.import_module("tornado")

    def on_message(self: Any, message: Any) -> None:
        self.write_message(message, binary=isinstance(message, bytes))

    Handler = type("Handler", (tornado.websocket.WebSocketHandler,), {"on_message": on_message})
    app = tornado.web.Application([(r"/", Handler)], websocket_max_message_size=1 << 24)
    server = app.listen(0, address=lb.LOOPBACK)
    port: int = next(iter(server._sockets.values())).getsockname()[1]

    async def stop() -> None:
        server.stop()
        await server.close_all_connections()

    return port, stop


def _mask(size: int) -> Tuple[Any, Any]:
    websocket: Any = importlib.import_module("tornado.websocket")

    mask = websocket._websocket_mask  # what the frame reader calls
    data = lb.text_64k()[:size]
    key = b"\x37\xfa\x21\x3d"
    return (lambda: mask(key, data)), (lambda: None)


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=True)
    data_frames = [p for op, p in small if op in (1, 2)]
    large_blob = lb.large_stream(masked=True)
    messages = lb.small_messages()
    big = [(False, lb.text_64k())]
    return [
        Case("mask/64KiB", "tornado.websocket._websocket_mask(key, 64 KiB)", lambda: _mask(lb.LARGE_SIZE),
             1, lb.LARGE_SIZE),
        Case("mask/125B", "tornado.websocket._websocket_mask(key, 125 B)", lambda: _mask(125), 1, 125),
        Case("recv/10k-small", "WebSocketHandler.on_message, 10k small masked frames (text, binary, pings)",
             lambda: _receive(small_blob, len(data_frames)), len(data_frames), sum(map(len, data_frames))),
        Case("recv/64KiB-text", "WebSocketHandler.on_message, 100 masked text frames of 64 KiB",
             lambda: _receive(large_blob, lb.LARGE_COUNT), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "websocket_connect(...).write_message, 10k small messages (masked)",
             lambda: _send(messages), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "websocket_connect(...).write_message, one 64 KiB binary message (masked)",
             lambda: _send(big), 1, lb.LARGE_SIZE),
        *lb.echo_cases("tornado.websocket.WebSocketHandler", _echo_server),
    ]
