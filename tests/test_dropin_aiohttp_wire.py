"""Patched aiohttp on the wire, through its public API, on 127.0.0.1.

Its server (``web.WebSocketResponse``) and its client
(``ClientSession.ws_connect``) against an independent other end, the
``websockets`` library: messages of 0, 125, 126, 65536 bytes, 1 MiB and
UTF-8 text with emoji come back intact. Then raw byte streams, invalid
ones included: what the patched server and client answer (the bytes they
send back, the messages and close codes they report) is what the unpatched
ones answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import types
from typing import Any, AsyncIterator, Iterator, List, Tuple

import pytest

import wsfast
from wsfast import dropin
from wsfast._handshake import accept_key

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import WSMsgType, web  # noqa: E402

LOOPBACK = "127.0.0.1"
TIMEOUT = 30.0
IN_CI = os.environ.get("CI") == "true"

MESSAGES: List[Any] = [
    b"",
    "",
    bytes(range(256))[:125],
    b"\x00" * 126,
    os.urandom(65536),
    "x" * 65536,
    os.urandom(2**20),
    "h\u00e9llo w\u00f6rld \U0001f600\U0001f680 \u4f60\u597d " * 3000,
    "\U0001f600",
]


def _websockets() -> Any:
    try:
        import websockets.asyncio.client
        import websockets.asyncio.server
    except ImportError as exc:
        message = f"the other end, websockets, is not installed: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing peer is a failure)", pytrace=False)
        pytest.skip(message)
    return websockets


@pytest.fixture(params=["unpatched", "patched"])
def state(request: pytest.FixtureRequest, ws: types.SimpleNamespace) -> Iterator[str]:
    if request.param == "patched":
        assert dropin._patch_with(ws, ("aiohttp",)) == ["aiohttp"]
    try:
        yield request.param
    finally:
        wsfast.unpatch("aiohttp")


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


@contextlib.asynccontextmanager
async def aiohttp_server(handler: Any) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


PARSERS: List[type] = []


async def echo_handler(request: Any) -> Any:
    ws = web.WebSocketResponse(max_msg_size=8 * 2**20)
    await ws.prepare(request)
    PARSERS.append(type(ws._parser))
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type is WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def expected_parser(state: str, ws: types.SimpleNamespace) -> type:
    from aiohttp._websocket import reader

    if state == "patched":
        from wsfast.dropin import aiohttp as adapter

        return adapter.glue(ws).WebSocketReader  # type: ignore[no-any-return]
    return reader.WebSocketReader  # type: ignore[no-any-return]


def test_server_round_trips(state: str, ws: types.SimpleNamespace) -> None:
    websockets = _websockets()
    PARSERS.clear()

    async def main() -> List[Any]:
        async with aiohttp_server(echo_handler) as port:  # noqa: SIM117 - the inner one needs the port
            async with websockets.asyncio.client.connect(f"ws://{LOOPBACK}:{port}/", max_size=None) as client:
                got = []
                for message in MESSAGES:
                    await client.send(message)
                    got.append(await client.recv())
                return got

    got = run(main())
    assert [type(m) for m in got] == [type(m) for m in MESSAGES]
    assert got == MESSAGES
    assert [expected_parser(state, ws)] == PARSERS


def test_client_round_trips(state: str, ws: types.SimpleNamespace) -> None:
    websockets = _websockets()

    async def echo(connection: Any) -> None:
        async for message in connection:
            await connection.send(message)

    PARSERS.clear()

    async def main() -> List[Any]:
        async with websockets.asyncio.server.serve(echo, LOOPBACK, 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with aiohttp.ClientSession() as session:  # noqa: SIM117
                async with session.ws_connect(f"ws://{LOOPBACK}:{port}/", max_msg_size=8 * 2**20) as conn:
                    got = []
                    for message in MESSAGES:
                        if isinstance(message, str):
                            await conn.send_str(message)
                        else:
                            await conn.send_bytes(message)
                        msg = await conn.receive()
                        got.append(msg.data)
                    PARSERS.append(type(conn._parser))
                    return got

    got = run(main())
    assert [type(m) for m in got] == [type(m) for m in MESSAGES]
    assert got == MESSAGES
    assert [expected_parser(state, ws)] == PARSERS


# ---------------------------------------------------------------------------
# Raw streams: identical answers patched and unpatched

MASK = b"\x0f\x1e\x2d\x3c"


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, masked: bool = True) -> bytes:
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not masked:
        return head + payload
    return head + MASK + wsfast.apply_mask(payload, MASK)


STREAMS = {
    "valid": frame(1, "\U0001f600 ok".encode()) + frame(2, b"\x00\x01") + frame(9, b"ping")
    + frame(1, b"frag", fin=False) + frame(0, b"mented") + frame(8, b"\x03\xe8bye"),
    "bad-utf8": frame(1, b"caf\xc3"),
    "bad-close-code": frame(8, b"\x03\xed"),
    "close-code-4000": frame(8, b"\x0f\xa0"),
    "close-one-byte": frame(8, b"\x03"),
    "rsv1": frame(1, b"x", rsv=4),
    "rsv3": frame(1, b"x", rsv=1),
    "oversize": frame(2, bytes(2000)),
    "fragmented-ping": frame(9, b"", fin=False),
    "continuation-without-start": frame(0, b"x"),
    # aiohttp takes unmasked frames from a client (RFC 6455 says fail).
    "unmasked": frame(1, b"hi", masked=False) + frame(8, b"\x03\xe8"),
}

#: A small limit, so that "oversize" is over it.
RAW_LIMIT = 1024


async def read_all(reader: asyncio.StreamReader) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                break
            data += chunk
    return data


def unmask_frames(data: bytes) -> List[Tuple[int, bytes]]:
    """A client's frames, keys removed (aiohttp draws a fresh key each)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        first, second = data[pos], data[pos + 1]
        n, pos = second & 0x7F, pos + 2
        if n == 126:
            n, pos = struct.unpack_from("!H", data, pos)[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack_from("!Q", data, pos)[0], pos + 8
        key = b""
        if second & 0x80:
            key, pos = data[pos : pos + 4], pos + 4
        payload = data[pos : pos + n]
        pos += n
        out.append((first, wsfast.apply_mask(payload, key) if key else payload))
    return out


def observed(msg: Any) -> Any:
    """A received message, errors by type and text (they are new objects)."""
    data = msg.data
    if isinstance(data, BaseException):
        data = repr(data)
    return (msg.type, type(data), data, msg.extra)


def server_answer(stream: bytes) -> Tuple[bytes, List[Any]]:
    seen: List[Any] = []

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=RAW_LIMIT)
        await ws.prepare(request)
        async for msg in ws:
            seen.append(observed(msg))
        seen.append(("closed", ws.close_code, repr(ws.exception())))
        return ws

    async def main() -> bytes:
        async with aiohttp_server(handler) as port:
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            writer.write(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await reader.readuntil(b"\r\n\r\n")
            writer.write(stream)
            answer = await read_all(reader)
            writer.close()
            return answer

    return run(main()), seen


def client_answer(stream: bytes) -> Tuple[List[Any], List[Any]]:
    async def main() -> Tuple[List[Any], List[Any]]:
        answered: List[bytes] = []
        done = asyncio.get_running_loop().create_future()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            key = next(
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("sec-websocket-key")
            )
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
            )
            # A client reads unmasked frames: the same stream without keys.
            writer.write(b"".join(unmasked(stream)))
            answered.append(await read_all(reader))
            writer.close()
            done.set_result(None)

        server = await asyncio.start_server(serve, LOOPBACK, 0)
        port = server.sockets[0].getsockname()[1]
        seen: List[Any] = []
        async with aiohttp.ClientSession() as session:  # noqa: SIM117
            async with session.ws_connect(f"ws://{LOOPBACK}:{port}/", max_msg_size=RAW_LIMIT) as ws:
                async for msg in ws:
                    seen.append(observed(msg))
                seen.append(("closed", ws.close_code, repr(ws.exception())))
        await done
        server.close()
        return [(first, payload) for first, payload in unmask_frames(answered[0])], seen

    return run(main())


def unmasked(stream: bytes) -> Iterator[bytes]:
    """``stream``'s frames re-encoded without masks (as a server sends)."""
    for first, payload in unmask_frames(stream):
        n = len(payload)
        if n < 126:
            yield bytes((first, n)) + payload
        elif n < 65536:
            yield struct.pack("!BBH", first, 126, n) + payload
        else:
            yield struct.pack("!BBQ", first, 127, n) + payload


def _both(ws: types.SimpleNamespace, answer: Any, stream: bytes) -> Tuple[Any, Any]:
    before = answer(stream)
    assert dropin._patch_with(ws, ("aiohttp",)) == ["aiohttp"]
    try:
        after = answer(stream)
    finally:
        wsfast.unpatch("aiohttp")
    return before, after


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_server_answers_the_same(ws: types.SimpleNamespace, name: str) -> None:
    before, after = _both(ws, server_answer, STREAMS[name])
    assert after == before
    assert before[0], "the server answered nothing"


@pytest.mark.parametrize("name", sorted(n for n in STREAMS if n != "unmasked"))
def test_client_answers_the_same(ws: types.SimpleNamespace, name: str) -> None:
    before, after = _both(ws, client_answer, STREAMS[name])
    assert after == before
    assert before[1], "the client reported nothing"


def test_an_invalid_stream_is_refused_with_aiohttp_codes(ws: types.SimpleNamespace) -> None:
    """Patched, the close frames the server sends carry aiohttp's codes."""
    assert dropin._patch_with(ws, ("aiohttp",)) == ["aiohttp"]
    try:
        codes = {}
        for name in ("bad-utf8", "bad-close-code", "oversize"):
            answer, _ = server_answer(STREAMS[name])
            closes = [p for first, p in unmask_frames(answer) if first & 0x0F == 8]
            codes[name] = struct.unpack("!H", closes[0][:2])[0]
    finally:
        wsfast.unpatch("aiohttp")
    assert codes == {"bad-utf8": 1007, "bad-close-code": 1002, "oversize": 1009}
