"""aiohttp through its public paths: the ``WebSocketReader`` and queue that
``aiohttp.web_ws`` builds, fed frames as the protocol feeds them; a
``web.WebSocketResponse`` receiving masked frames from a raw client;
``ClientSession.ws_connect()`` sending (masked) messages to a raw server;
an echo server answering the raw echo client of ``_loopback`` message by
message. One event loop per setup, driven with ``run_until_complete``."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from . import Case
from . import _loopback as lb

#: aiohttp's default message limit (web.WebSocketResponse, ws_connect).
MAX_MSG_SIZE = 4 * 2**20
#: What a socket read hands the protocol at most (aiohttp's read size).
READ_SIZE = 2**16


def _port(site: Any) -> int:
    port: int = site._server.sockets[0].getsockname()[1]
    return port


class _Protocol:
    _reading_paused = False

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        self._reading_paused = False


def _reader(blob: bytes, count: int) -> Tuple[Any, Any]:
    """The parser alone, as ``web_ws`` makes it (the names it looks up),
    fed in socket-sized reads and drained by ``receive()``'s ``read()``."""
    import aiohttp.web_ws as web_ws
    from aiohttp.helpers import DEFAULT_CHUNK_SIZE

    # The names web_ws looks up when a connection opens.
    queue_class: Any = getattr(web_ws, "WebSocketDataQueue")
    reader_class: Any = getattr(web_ws, "WebSocketReader")
    loop = asyncio.new_event_loop()
    reads = [blob[i : i + READ_SIZE] for i in range(0, len(blob), READ_SIZE)]

    async def drain(queue: Any) -> Tuple[int, int, Any]:
        n = size = 0
        msg = None
        while queue._buffer:
            msg = await queue.read()
            n += 1
            size += len(msg.data) if msg.data is not None else 0
        return n, size, msg

    def run() -> Tuple[int, int, Any]:
        queue = queue_class(_Protocol(), DEFAULT_CHUNK_SIZE, loop=loop)
        parser = reader_class(queue, MAX_MSG_SIZE, compress=False, decode_text=True)
        count_seen = size_seen = 0
        final = None
        for data in reads:
            parser.feed_data(data)
            n, size, last = loop.run_until_complete(drain(queue))
            count_seen += n
            size_seen += size
            final = last if last is not None else final
        assert count_seen == count
        return count_seen, size_seen, final

    return run, loop.close


def _receive(blob: bytes, count: int) -> Tuple[Any, Any]:
    from aiohttp import WSMsgType, web

    loop = asyncio.new_event_loop()
    state: Dict[str, Any] = {}

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_MSG_SIZE)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                state["count"] += 1
                state["bytes"] += len(msg.data)
                if state["count"] == count:
                    state["last"] = msg.data
                    state["future"].set_result(None)
        return ws

    async def start() -> Tuple[Any, asyncio.StreamWriter]:
        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, lb.LOOPBACK, 0)
        await site.start()
        port = _port(site)
        reader, writer = await asyncio.open_connection(lb.LOOPBACK, port)
        writer.write(lb.client_request(port))
        await reader.readuntil(b"\r\n\r\n")

        async def drain() -> None:  # pongs come back; never let them pile up
            while await reader.read(1 << 16):
                pass

        state["drain"] = asyncio.ensure_future(drain())
        return runner, writer

    runner, writer = loop.run_until_complete(start())

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
            state["drain"].cancel()
            await runner.cleanup()

        loop.run_until_complete(stop())
        loop.close()

    return run, close


def _send(messages: List[Tuple[bool, bytes]]) -> Tuple[Any, Any]:
    import aiohttp

    loop = asyncio.new_event_loop()
    sink = lb.AsyncSink()
    wire = sum(lb.sent_size(len(p), True) for _, p in messages)
    payloads = [(p.decode() if is_text else p, is_text) for is_text, p in messages]
    state: Dict[str, Any] = {}

    async def start() -> Any:
        await sink.start()
        state["session"] = aiohttp.ClientSession()
        return await state["session"].ws_connect(f"ws://{lb.LOOPBACK}:{sink.port}/", autoping=False)

    ws = loop.run_until_complete(start())

    async def one() -> int:
        for payload, is_text in payloads:
            if is_text:
                await ws.send_str(payload)
            else:
                await ws.send_bytes(payload)
        await sink.wait_received(wire)
        return wire

    def run() -> int:
        return loop.run_until_complete(one())

    def close() -> None:
        async def stop() -> None:
            ws._writer.transport.close()
            await state["session"].close()
            await sink.stop()

        loop.run_until_complete(stop())
        loop.close()

    return run, close


async def _echo_server() -> Tuple[int, Callable[[], Awaitable[None]]]:
    """A ``web.WebSocketResponse`` echo server on the running loop."""
    from aiohttp import WSMsgType, web

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_MSG_SIZE)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, lb.LOOPBACK, 0)
    await site.start()
    return _port(site), runner.cleanup


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=True)
    data_frames = [p for op, p in small if op in (1, 2)]
    large_blob = lb.large_stream(masked=True)
    messages = lb.small_messages()
    big = [(False, lb.text_64k())]
    return [
        Case("reader/10k-small", "web_ws.WebSocketReader.feed_data + queue.read(), 10k small masked frames",
             lambda: _reader(small_blob, len(small)), len(small), sum(len(p) for _, p in small)),
        Case("reader/64KiB-text", "web_ws.WebSocketReader.feed_data + queue.read(), 100 masked 64 KiB texts",
             lambda: _reader(large_blob, lb.LARGE_COUNT), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("recv/10k-small", "web.WebSocketResponse receive, 10k small masked frames (text, binary, pings)",
             lambda: _receive(small_blob, len(data_frames)), len(data_frames), sum(map(len, data_frames))),
        Case("recv/64KiB-text", "web.WebSocketResponse receive, 100 masked text frames of 64 KiB",
             lambda: _receive(large_blob, lb.LARGE_COUNT), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "ClientSession.ws_connect(...).send_str/send_bytes, 10k small messages (masked)",
             lambda: _send(messages), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "ClientSession.ws_connect(...).send_bytes, one 64 KiB message (masked)",
             lambda: _send(big), 1, lb.LARGE_SIZE),
        *lb.echo_cases("web.WebSocketResponse", _echo_server),
    ]
