"""Hostile permessage-deflate input over the wire against ``python -m wsfast echo``.

The echo server runs as a user starts it, in a process of its own with a
1 MiB message limit, so that its peak memory (``VmHWM``) can be read. A raw
client negotiates permessage-deflate and then sends what no honest peer
sends:

* decompression bombs: 16 KiB on the wire that inflates to 16 MiB, and about
  1 MiB that inflates to 1 GiB, each in one frame and in 16 KiB fragments;
  the server must close with 1009 at once, and its peak memory must stay
  within a small multiple of the limit;
* corrupt deflate streams (1007, the close code wsfast gives a compressed
  payload that is not a deflate stream, see ``wsfast._deflate``), compressed
  text that inflates to invalid UTF-8 (1007), and RSV1 where RFC 7692 does
  not allow it (1002);
* RSV1 sent to a server started with ``--no-deflate`` (1002).
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import types
import zlib
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest

from wsfast import _handshake, deflate_check, deflate_offer

from .conftest import LOOPBACK, ROOT, Peer, run_async, spawn

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's peak RSS from /proc"),
]

LIMIT = 2**20
FRAGMENT = 16 * 1024
TIMEOUT = 60.0
_LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)/")

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING = 0x0, 0x1, 0x2, 0x8, 0x9


@functools.lru_cache(maxsize=None)
def bomb(inflated: int) -> bytes:
    """Zeros, deflated as tightly as deflate goes (about 1032:1), sync-flushed
    with the tail removed as RFC 7692 §7.2.1 sends it."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(2**20)
    parts = [c.compress(chunk) for _ in range(inflated // len(chunk))]
    parts.append(c.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(parts)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


class EchoProcess:
    def __init__(self, peer: Peer, port: int) -> None:
        self.peer = peer
        self.port = port

    def peak_rss(self) -> int:
        """The server process's peak resident set so far, in bytes."""
        status = Path(f"/proc/{self.peer.proc.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        assert match, status
        return int(match.group(1)) * 1024


def _start(api: types.SimpleNamespace, *options: str) -> Iterator[EchoProcess]:
    argv = [
        sys.executable, "-m", "wsfast", "echo", "--host", LOOPBACK, "--port", "0",
        "--implementation", api.IMPLEMENTATION, "--max-message-size", str(LIMIT), *options,
    ]
    with spawn(argv, cwd=ROOT) as peer:
        port = None
        for line in peer.lines("stderr", 30):
            match = _LISTENING.search(line)
            if match:
                port = int(match.group(1))
                break
        assert port, f"the echo command did not report its port:\n{peer.output()}"
        yield EchoProcess(peer, port)


@pytest.fixture(scope="module")
def echo(ws: types.SimpleNamespace) -> Iterator[EchoProcess]:
    yield from _start(ws)


@pytest.fixture(scope="module")
def echo_no_deflate(ws: types.SimpleNamespace) -> Iterator[EchoProcess]:
    yield from _start(ws, "--no-deflate")


class RawClient:
    """A client that negotiates permessage-deflate, then writes any frames."""

    def __init__(
        self, api: types.SimpleNamespace, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, params: Any
    ) -> None:
        self.api = api
        self.reader = reader
        self.writer = writer
        # The server's echoes come compressed when the extension is on.
        codec = None if params is None else api.PerMessageDeflate(client=True, **params.as_dict())
        self.parser = api.MessageReader(client=True, max_message_size=None, deflate=codec)

    @classmethod
    async def open(cls, api: types.SimpleNamespace, port: int, offer: bool = True) -> Tuple["RawClient", Any]:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        headers = [("Sec-WebSocket-Extensions", deflate_offer())] if offer else []
        request, key = _handshake.build_request(f"{LOOPBACK}:{port}", "/", extra_headers=headers)
        writer.write(request)
        response = _handshake.parse_response(await reader.readuntil(b"\r\n\r\n"))
        _handshake.check_response(response, key)
        params = deflate_check(response)
        return cls(api, reader, writer, params), params

    def frame(self, opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> None:
        # encode_frame refuses RSV1 where RFC 7692 forbids it: set it by hand.
        wire = bytearray(self.api.encode_frame(opcode, payload, fin=fin, mask=True))
        if rsv1:
            wire[0] |= 0x40
        self.writer.write(wire)

    def message(self, opcode: int, payload: bytes, fragment: Optional[int] = None) -> None:
        """A compressed message (RSV1 on its first frame), in fragments of
        ``fragment`` bytes when given."""
        size = fragment or max(len(payload), 1)
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
        for i, piece in enumerate(pieces):
            self.frame(opcode if i == 0 else OP_CONT, piece, fin=i == len(pieces) - 1, rsv1=i == 0)

    async def events(self) -> List[Any]:
        """Everything the server sends until its close frame (or EOF)."""
        try:
            await self.writer.drain()
        except ConnectionError:
            pass  # the server may fail the connection before reading it all
        got: List[Any] = []
        while True:
            try:
                data = await self.reader.read(65536)
            except ConnectionError:
                break
            if not data:
                break
            for event in self.parser.feed(data):
                got.append(event)
                if isinstance(event, self.api.Close):
                    self.writer.close()
                    return got
        self.writer.close()
        return got

    async def close_code(self) -> Tuple[int, str]:
        events = await self.events()
        closes = [e for e in events if isinstance(e, self.api.Close)]
        assert closes, f"no close frame from the server: {events!r:.300}"
        return closes[0].code, closes[0].reason


# ---------------------------------------------------------------------------
# decompression bombs


@pytest.mark.parametrize("inflated", [16 * 2**20, 2**30], ids=["16MiB", "1GiB"])
@pytest.mark.parametrize("fragment", [None, FRAGMENT], ids=["one-frame", "16KiB-fragments"])
def test_bomb_fails_with_1009(inflated: int, fragment: Optional[int], ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    payload = bomb(inflated)
    assert len(payload) * 1000 < inflated  # what makes it a bomb

    async def scenario() -> Tuple[Tuple[int, str], Any]:
        client, params = await RawClient.open(ws, echo.port)
        assert params is not None
        client.message(OP_BINARY, payload, fragment)
        return await client.close_code(), params

    (code, reason), _ = run_async(scenario(), TIMEOUT)
    assert code == 1009, reason
    # The server kept going: a fresh connection still echoes.
    assert run_async(_echo_roundtrip(ws, echo.port, "still here " * 1000), TIMEOUT) == "still here " * 1000


def test_bomb_memory_stays_bounded(ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    # Each bomb would be 16 MiB or 1 GiB once inflated. The server process's
    # peak RSS after all of them stays within 16 MiB of what it needed
    # before (a 1 MiB message round trip, to count the limit's own buffers):
    # the limit is applied while inflating, never after.
    run_async(_echo_roundtrip(ws, echo.port, "x" * (LIMIT - 1000)), TIMEOUT)
    before = echo.peak_rss()
    for inflated in (16 * 2**20, 2**30):
        for fragment in (None, FRAGMENT):

            async def scenario(inflated: int = inflated, fragment: Any = fragment) -> Tuple[int, str]:
                client, _ = await RawClient.open(ws, echo.port)
                client.message(OP_BINARY, bomb(inflated), fragment)
                return await client.close_code()

            assert run_async(scenario(), TIMEOUT)[0] == 1009
    after = echo.peak_rss()
    print(f"echo server ({ws.IMPLEMENTATION}) peak RSS: {before / 2**20:.1f} MiB before the bombs, {after / 2**20:.1f} MiB after")
    assert after - before < 16 * 2**20, (before, after)


async def _echo_roundtrip(api: types.SimpleNamespace, port: int, text: str) -> Any:
    client, params = await RawClient.open(api, port)
    assert params is not None
    client.message(OP_TEXT, deflated(text.encode("utf-8")))
    client.frame(OP_CLOSE, api.encode_close(1000, "done"))
    events = await client.events()
    assert [type(e).__name__ for e in events] == ["Message", "Close"], events
    return events[0].data


# ---------------------------------------------------------------------------
# corrupt streams and misplaced RSV1


def _invalid_utf8_text() -> bytes:
    return deflated(b"valid start \xce\xba then \xff invalid")


CORRUPT = {
    # BTYPE 11 is reserved (RFC 1951 §3.2.3): zlib says "invalid block type".
    "reserved-block-type": (OP_BINARY, b"\xff\xff\xff\xff", 1007),
    # A stored block whose LEN and NLEN disagree.
    "stored-length-mismatch": (OP_BINARY, b"\x00\x05\x00\x00\x00hello", 1007),
    # A valid stream, then garbage in the middle of the compressed bytes.
    "garbled": (OP_TEXT, deflated(b"hello " * 2000)[:20] + b"\xff" * 40, 1007),
    # A final block (BFINAL) and then more compressed data (built below).
    "data-after-final-block": (OP_BINARY, b"", 1007),
    # Inflates fine, to text that is not UTF-8.
    "invalid-utf8-after-inflating": (OP_TEXT, b"", 1007),
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_stream(name: str, ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    opcode, payload, expected = CORRUPT[name]
    if name == "invalid-utf8-after-inflating":
        payload = _invalid_utf8_text()
    elif name == "data-after-final-block":
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(b"hello") + c.flush(zlib.Z_FINISH) + b"\x4b\x4c\x4a\x06\x00"

    async def scenario() -> Tuple[int, str]:
        client, _ = await RawClient.open(ws, echo.port)
        client.message(opcode, payload)
        return await client.close_code()

    code, reason = run_async(scenario(), TIMEOUT)
    assert code == expected, reason


def test_corrupt_stream_in_fragments(ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    # The corruption is in the third fragment; the first two inflate fine.
    good = deflated(("fragmented " * 5000).encode())
    payload = good[: 2 * 100] + b"\xff" * 100

    async def scenario() -> Tuple[int, str]:
        client, _ = await RawClient.open(ws, echo.port)
        client.message(OP_BINARY, payload, 100)
        return await client.close_code()

    assert run_async(scenario(), TIMEOUT)[0] == 1007


@pytest.mark.parametrize(
    "frames",
    [
        # RSV1 on a continuation frame (RFC 7692 §6.1: first frame only).
        [(OP_TEXT, b"abc", False, False), (OP_CONT, b"def", True, True)],
        # RSV1 on a control frame (§6.1: never).
        [(OP_PING, b"ping", True, True)],
        [(OP_CLOSE, b"\x03\xe8", True, True)],
    ],
    ids=["continuation", "ping", "close"],
)
def test_misplaced_rsv1_is_1002(frames: List[Tuple[int, bytes, bool, bool]], ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    async def scenario() -> Tuple[int, str]:
        client, _ = await RawClient.open(ws, echo.port)
        for opcode, payload, fin, rsv1 in frames:
            client.frame(opcode, payload, fin=fin, rsv1=rsv1)
        return await client.close_code()

    assert run_async(scenario(), TIMEOUT)[0] == 1002


def test_rsv1_without_negotiation_is_1002(ws: types.SimpleNamespace, echo_no_deflate: EchoProcess) -> None:
    async def scenario() -> Tuple[Tuple[int, str], Any]:
        client, params = await RawClient.open(ws, echo_no_deflate.port)
        client.message(OP_TEXT, deflated(b"hello"))
        return await client.close_code(), params

    (code, _), params = run_async(scenario(), TIMEOUT)
    assert params is None  # the offer was declined
    assert code == 1002


def test_server_log_names_the_negotiated_extension(ws: types.SimpleNamespace, echo: EchoProcess) -> None:
    async def scenario() -> None:
        await _echo_roundtrip(ws, echo.port, "log me")
        client, _ = await RawClient.open(ws, echo.port, offer=False)
        client.frame(OP_CLOSE, ws.encode_close(1000))
        await client.events()

    run_async(scenario(), TIMEOUT)
    log = []
    for line in echo.peer.lines("stderr", 5):
        log.append(line)
        if "no extension offered" in line:
            break
    text = "\n".join(echo.peer.stderr_lines)
    assert re.search(r"connected 127\.0\.0\.1:\d+: GET / \(\w+ backend; negotiated permessage-deflate\)", text), text
    assert "no extension offered" in text, text
