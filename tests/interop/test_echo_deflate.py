"""permessage-deflate in the echo server's and the client's handshakes.

The server's wishes (``serve(deflate=...)``) and what the client then holds;
the client failing the connection on an answer it did not ask for or cannot
honour (RFC 7692 §5), against a raw server that answers as told; and the
command-line client's URL parsing and display.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any, List, Optional

import pytest

from wsfast import DeflateParams, HandshakeError, _echo_client, _echo_server, _handshake

from .conftest import LOOPBACK, run_async

pytestmark = pytest.mark.interop

TIMEOUT = 30.0


async def _roundtrip(api: types.SimpleNamespace, port: int, **options: Any) -> Optional[DeflateParams]:
    client = await _echo_client.connect(LOOPBACK, port, "/", implementation=api.IMPLEMENTATION, **options)
    async with client:
        for message in ("x" * 5000, b"\x00\x01" * 3000, ""):
            await client.send(message)
            assert await client.recv() == message
        return client.deflate


@pytest.mark.parametrize(
    "wishes, offer, expected",
    [
        (True, True, DeflateParams()),
        (False, True, None),
        (True, False, None),
        ({"server_max_window_bits": 10, "client_no_context_takeover": True}, True, DeflateParams(False, True, 10, 15)),
        ({"client_max_window_bits": 9}, True, DeflateParams(client_max_window_bits=9)),
        # A client whose offer leaves the server no say over its window is
        # declined by a server that needs one.
        ({"client_max_window_bits": 9}, {"client_max_window_bits": False}, None),
        ({}, {"server_no_context_takeover": True, "server_max_window_bits": 12}, DeflateParams(True, False, 12, 15)),
    ],
)
def test_server_wishes(wishes: Any, offer: Any, expected: Optional[DeflateParams], ws: types.SimpleNamespace) -> None:
    async def scenario() -> Optional[DeflateParams]:
        server = await _echo_server.serve(LOOPBACK, 0, implementation=ws.IMPLEMENTATION, deflate=wishes)
        async with server:
            return await _roundtrip(ws, server.port, deflate=offer)

    assert run_async(scenario(), TIMEOUT) == expected


@pytest.mark.parametrize(
    "wishes, error",
    [({"bogus": 1}, TypeError), ({"server_max_window_bits": 8}, ValueError), ({"client_max_window_bits": 16}, ValueError)],
)
def test_server_refuses_bad_wishes_at_start(wishes: Any, error: type, ws: types.SimpleNamespace) -> None:
    async def scenario() -> None:
        await _echo_server.serve(LOOPBACK, 0, implementation=ws.IMPLEMENTATION, deflate=wishes)

    with pytest.raises(error):
        run_async(scenario(), TIMEOUT)


async def _answering(extensions: Optional[str]) -> "asyncio.AbstractServer":
    """A server that completes the handshake with this extension answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = _handshake.check_request(_handshake.parse_request(head))
        writer.write(_handshake.build_response(key, extensions=extensions))
        await writer.drain()
        try:
            await reader.read()
        finally:
            writer.close()

    return await asyncio.start_server(handle, LOOPBACK, 0)


@pytest.mark.parametrize(
    "answer, offer, fragment",
    [
        ("permessage-deflate", False, "no extension was offered"),
        ("x-webkit-deflate-frame", True, "was not offered"),
        ("permessage-deflate; server_max_window_bits=16", True, "server_max_window_bits"),
        ("permessage-deflate; client_max_window_bits=8", True, "client_max_window_bits=8"),
        ("permessage-deflate", {"server_no_context_takeover": True}, "server_no_context_takeover"),
        ("permessage-deflate; client_max_window_bits=10", {"client_max_window_bits": False}, "client_max_window_bits"),
    ],
)
def test_client_fails_a_bad_answer(answer: str, offer: Any, fragment: str, ws: types.SimpleNamespace) -> None:
    async def scenario() -> None:
        server = await _answering(answer)
        port = server.sockets[0].getsockname()[1]
        try:
            await _echo_client.connect(LOOPBACK, port, "/", implementation=ws.IMPLEMENTATION, deflate=offer)
        finally:
            server.close()

    with pytest.raises(HandshakeError) as info:
        run_async(scenario(), TIMEOUT)
    assert fragment in str(info.value)
    assert info.value.header == "Sec-WebSocket-Extensions"


def test_client_takes_a_lawful_answer(ws: types.SimpleNamespace) -> None:
    async def scenario() -> Any:
        server = await _answering("permessage-deflate; server_max_window_bits=9; client_no_context_takeover")
        port = server.sockets[0].getsockname()[1]
        try:
            client = await _echo_client.connect(LOOPBACK, port, "/", implementation=ws.IMPLEMENTATION)
            params = client.deflate
            client.abort()
            return params
        finally:
            server.close()

    assert run_async(scenario(), TIMEOUT) == DeflateParams(False, True, 9, 15)


@pytest.mark.parametrize(
    "url, parsed",
    [
        ("ws://127.0.0.1:9001/", ("127.0.0.1", 9001, "/")),
        ("ws://example.com", ("example.com", 80, "/")),
        ("ws://[::1]:8080/chat?room=1&x=%20", ("::1", 8080, "/chat?room=1&x=%20")),
    ],
)
def test_client_url(url: str, parsed: Any) -> None:
    assert _echo_client.parse_url(url) == parsed


@pytest.mark.parametrize("url", ["wss://127.0.0.1/", "http://x/", "ws:///path", "ws://:80/"])
def test_client_url_refused(url: str) -> None:
    with pytest.raises(ValueError):
        _echo_client.parse_url(url)


def test_client_shows_binary_as_hex() -> None:
    shown: List[str] = [_echo_client._show(b"\x00\xff"), _echo_client._show(bytes(100)), _echo_client._show("text")]
    assert shown[0] == "(binary, 2 bytes) 00ff"
    assert shown[1] == "(binary, 100 bytes) " + "00" * 64 + "..."
    assert shown[2] == "text"
