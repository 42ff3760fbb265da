"""Patched hosts on the wire: Node's ``ws`` client (``node/client.mjs``)
against an echo server built on websockets (its asyncio ``serve()``) and one
built on wsproto (its ``WSConnection`` over asyncio streams), each run
unpatched and patched on 127.0.0.1.

client.mjs sends text, binary, empty, 125/126/65535/65536 bytes, 4 MiB,
UTF-8 with emoji, fragments, pings, invalid UTF-8, and valid and invalid
close codes, and reports what came back. Every check must give the same
result patched as unpatched, details (close codes, reasons) included; the
round trips must succeed.
"""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any, Dict, Iterator, Optional

import pytest

from wsfast import dropin

from .conftest import BackgroundServer, spawn
from .test_node_ws import CLIENT_CHECKS, NODE_DIR, PROCESS_TIMEOUT, node  # noqa: F401 - fixture

pytestmark = pytest.mark.interop

#: Checks every host passes, unpatched and patched (the invalid streams too:
#: 1007 for bad UTF-8, 1002 for bad close codes).
MUST_PASS = [
    "open", "text", "binary", "empty-text", "empty-binary", "unicode", "binary-4MiB", "text-4MiB",
    *(f"{kind}-{n}" for n in (125, 126, 65535, 65536) for kind in ("binary", "text")),
    "fragmented-text", "fragmented-binary", "ping-pong", "ping-empty", "close-1000", "close-3000",
    "close-4999", "close-empty", "invalid-utf8", "close-invalid-length-1",
    *(f"close-invalid-{code}" for code in (999, 1004, 1005, 1006, 1015, 2999, 5000)),
]


class _Listening:
    """What BackgroundServer needs from a server: ``port``, ``close()``,
    ``wait_closed()``."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.port = server.sockets[0].getsockname()[1]

    def close(self) -> None:
        self.server.close()

    async def wait_closed(self) -> None:
        await self.server.wait_closed()


async def websockets_echo() -> _Listening:
    from websockets.asyncio.server import serve

    async def echo(connection: Any) -> None:
        async for message in connection:
            await connection.send(message)

    server = await serve(echo, "127.0.0.1", 0, max_size=None, compression=None)
    return _Listening(server)


async def wsproto_echo() -> _Listening:
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Ping,
        Request,
        TextMessage,
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = WSConnection(ConnectionType.SERVER)
        parts: list = []
        try:
            while True:
                data = await reader.read(65536)
                conn.receive_data(data or None)
                for event in conn.events():
                    if isinstance(event, Request):
                        writer.write(conn.send(AcceptConnection()))
                    elif isinstance(event, (TextMessage, BytesMessage)):
                        parts.append(event.data)
                        if event.message_finished:
                            whole = ("" if isinstance(event, TextMessage) else b"").join(parts)
                            parts.clear()
                            writer.write(conn.send(type(event)(data=whole)))
                    elif isinstance(event, Ping):
                        writer.write(conn.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        # A close from the peer is answered; one that wsproto
                        # made from a protocol error (the state is still
                        # OPEN) is sent, as uvicorn and hypercorn do.
                        if conn.state in (ConnectionState.REMOTE_CLOSING, ConnectionState.OPEN):
                            writer.write(conn.send(event.response()))
                        await writer.drain()
                        return
                await writer.drain()
                if not data:
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return _Listening(server)


SERVERS = {"websockets": websockets_echo, "wsproto": wsproto_echo}


def _client_results(node_path: str, url: str) -> Dict[str, Any]:
    results: Dict[str, Any] = {}
    with spawn([node_path, str(NODE_DIR / "client.mjs"), url], cwd=NODE_DIR) as peer:
        for line in peer.json_lines(PROCESS_TIMEOUT):
            if line.get("done"):
                break
            if "check" in line:
                results[line["check"]] = (line["ok"], line["detail"])
    return results


def _run(host: str, node_path: str, api: Optional[types.SimpleNamespace]) -> Dict[str, Any]:
    # websockets logs each connection its handler saw fail (the invalid
    # streams); the close codes are what is compared.
    logging.getLogger("websockets.server").setLevel(logging.CRITICAL)
    if api is not None:
        assert dropin._patch_with(api, (host,)) == [host]
    try:
        with BackgroundServer(SERVERS[host], f"{host}-echo") as server:
            return _client_results(node_path, server.url)
    finally:
        dropin.unpatch(host)


@pytest.fixture(scope="module")
def unpatched_results(node: str) -> Iterator[Dict[str, Dict[str, Any]]]:  # noqa: F811
    yield {host: _run(host, node, None) for host in SERVERS}


@pytest.mark.parametrize("host", list(SERVERS))
def test_patched_host_answers_node_ws_as_unpatched(
    host: str, ws: types.SimpleNamespace, node: str, unpatched_results: Dict[str, Dict[str, Any]]  # noqa: F811
) -> None:
    pytest.importorskip(host)
    adapter = dropin._adapter(host)
    version = dropin._installed_version(adapter) or ""
    if not dropin._in_range(version, adapter.TESTED):
        pytest.skip(f"the adapter refuses {host} {version} (outside the versions it was tested on)")
    expected = unpatched_results[host]
    got = _run(host, node, ws)
    assert sorted(expected) == sorted(CLIENT_CHECKS)
    assert got == expected
    failed = [name for name in MUST_PASS if not got[name][0]]
    assert not failed, {name: got[name] for name in failed}
