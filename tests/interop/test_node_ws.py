"""Node's ``ws`` against both ends of wsfast.

Its client (``node/client.mjs``) against the echo server, and its server
(``node/server.mjs``) against the wsfast client: text, binary, empty, the
length-encoding edges 125/126/65535/65536, 4 MiB, fragmented messages,
ping/pong, close codes 1000, 1001, 3000, 4999, and invalid close codes, which
must fail the connection with 1002. The ``ws`` package is installed by
``npm ci`` in ``tests/interop/node``.
"""

from __future__ import annotations

import json
import queue
import random
import shutil
import time
import types
import uuid
from typing import Any, Dict, Iterator, List, Tuple, Union

import pytest

from wsfast import _echo_client

from .conftest import HERE, LOOPBACK, BackgroundServer, Peer, require_peer, run_async, spawn

pytestmark = pytest.mark.interop

NODE_DIR = HERE / "node"
PROCESS_TIMEOUT = 90.0
TEST_TIMEOUT = 30.0

#: What ``client.mjs`` reports, one line each.
CLIENT_CHECKS = [
    "open",
    "text",
    "binary",
    "empty-text",
    "empty-binary",
    *(f"{kind}-{n}" for n in (125, 126, 65535, 65536) for kind in ("binary", "text")),
    "binary-4MiB",
    "text-4MiB",
    "unicode",
    "fragmented-text",
    "fragmented-binary",
    "ping-pong",
    "ping-empty",
    "invalid-utf8",
    "close-1000",
    "close-1001",
    "close-3000",
    "close-4999",
    "close-empty",
    *(f"close-invalid-{code}" for code in (999, 1004, 1005, 1006, 1015, 2999, 5000)),
    "close-invalid-length-1",
]


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        require_peer("node", "no `node` on PATH (Node.js 18 or later)")
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").is_file():
        require_peer("ws", f"the ws package is not installed; run `npm ci` in {NODE_DIR}")
    return path


# ---------------------------------------------------------------------------
# ws client -> wsfast echo server


@pytest.fixture(scope="session")
def node_client_results(node: str, echo_server: BackgroundServer) -> Dict[str, Dict[str, Any]]:
    results: Dict[str, Dict[str, Any]] = {}
    with spawn([node, str(NODE_DIR / "client.mjs"), echo_server.url], cwd=NODE_DIR) as peer:
        done = False
        for line in peer.json_lines(PROCESS_TIMEOUT):
            if line.get("done"):
                done = True
                break
            if "check" in line:
                results[line["check"]] = line
        if not done and "main" not in results:
            results["main"] = {"ok": False, "detail": f"client.mjs stopped early:\n{peer.output()}"}
    return results


@pytest.mark.parametrize("check", CLIENT_CHECKS)
def test_ws_client_against_echo_server(
    check: str, node_client_results: Dict[str, Dict[str, Any]]
) -> None:
    assert "main" not in node_client_results, node_client_results["main"]["detail"]
    assert check in node_client_results, f"client.mjs did not report {check!r}"
    result = node_client_results[check]
    assert result["ok"], f"{check}: {result['detail']}"


# ---------------------------------------------------------------------------
# wsfast client -> ws server


class NodeServer:
    """The running ``server.mjs``: its port, and the close codes it saw."""

    def __init__(self, peer: Peer, port: int) -> None:
        self.peer = peer
        self.port = port
        self._events: List[Dict[str, Any]] = []

    async def connect(self, path: str, api: types.SimpleNamespace) -> _echo_client.Client:
        return await _echo_client.connect(LOOPBACK, self.port, path, implementation=api.IMPLEMENTATION)

    def close_event(self, conn_id: str, timeout: float = 10.0) -> Dict[str, Any]:
        """The close code ws received on the connection tagged ``conn_id``."""
        return self.event(conn_id, "close", timeout)

    def event(self, conn_id: str, kind: str, timeout: float = 10.0) -> Dict[str, Any]:
        """The first ``kind`` event ("close", "error") ws reported for ``conn_id``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self._events:
                if event.get("id") == conn_id and event.get("event") == kind:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"ws reported no {kind} for {conn_id}; output:\n{self.peer.output()}"
                )
            try:
                line = self.peer.stdout.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"server.mjs exited; output:\n{self.peer.output()}")
            self.peer.stdout_lines.append(line)
            try:
                self._events.append(json.loads(line))
            except ValueError:
                pass


@pytest.fixture(scope="session")
def node_server(node: str) -> Iterator[NodeServer]:
    with spawn([node, str(NODE_DIR / "server.mjs")], cwd=NODE_DIR) as peer:
        port = None
        for line in peer.json_lines(30):
            port = line.get("port")
            if port:
                break
        assert port, f"server.mjs did not report its port; output:\n{peer.output()}"
        yield NodeServer(peer, int(port))


def _pattern(n: int) -> bytes:
    # Seeded, so a failure reproduces; irregular, so a shifted or
    # truncated echo cannot compare equal.
    return random.Random(n).randbytes(n)


def _path(name: str) -> Tuple[str, str]:
    conn_id = f"{name}-{uuid.uuid4().hex[:8]}"
    return conn_id, f"/{name}?id={conn_id}"


ECHO_PAYLOADS: Dict[str, Union[str, bytes]] = {
    "text": "Hello Server!",
    "binary": bytes(range(256)),
    "empty-text": "",
    "empty-binary": b"",
    "unicode": "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F600\U0001F389 \U0001D11E",
    **{f"binary-{n}": _pattern(n) for n in (125, 126, 65535, 65536)},
    **{f"text-{n}": "a" * n for n in (125, 126, 65535, 65536)},
    "binary-4MiB": _pattern(4 * 2**20),
    "text-4MiB": ("wsfast \u00e9\u65e5\U0001F600 " * (4 * 2**20 // 16)),
}


@pytest.mark.parametrize("name", list(ECHO_PAYLOADS))
def test_client_echo_through_ws(name: str, ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    payload = ECHO_PAYLOADS[name]

    async def scenario() -> Union[str, bytes]:
        client = await node_server.connect("/echo", ws)
        async with client:
            await client.send(payload)
            return await client.recv()

    echoed = run_async(scenario(), TEST_TIMEOUT)
    assert type(echoed) is type(payload)
    assert echoed == payload


def test_client_sends_fragments(ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    text = "fragm\u00e9nted \U0001F600 text".encode("utf-8")
    cut = text.index(0xC3) + 1
    binary = _pattern(70000)

    async def scenario() -> Tuple[Any, Any]:
        client = await node_server.connect("/echo", ws)
        async with client:
            # The two-byte character is split across frames: only the whole
            # message has to be valid UTF-8 (RFC 6455 §5.6).
            await client.send_frame(0x1, text[:cut], fin=False)
            await client.ping(b"between fragments")
            await client.send_frame(0x0, text[cut:cut + 4], fin=False)
            await client.send_frame(0x0, text[cut + 4:], fin=True)
            got_text = await client.recv()
            await client.send_fragments([binary[:1], binary[1:126], binary[126:65662], binary[65662:]])
            got_binary = await client.recv()
            return got_text, got_binary

    got_text, got_binary = run_async(scenario(), TEST_TIMEOUT)
    assert got_text == text.decode("utf-8")
    assert got_binary == binary


def test_client_receives_fragments(ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    async def scenario() -> Tuple[Any, Any]:
        client = await node_server.connect("/fragments", ws)
        async with client:
            await client.send_text("go")
            return await client.recv(), await client.recv()

    text, binary = run_async(scenario(), TEST_TIMEOUT)
    assert text == "fr\u00e4gmented \U0001F600 from ws"
    assert binary == bytes((i * 7 + 3) & 0xFF for i in range(70000))


def test_client_ping_answered_by_ws(ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    async def scenario() -> None:
        client = await node_server.connect("/echo", ws)
        async with client:
            await client.ping(b"wsfast ping", timeout=10)
            await client.ping(b"", timeout=10)

    run_async(scenario(), TEST_TIMEOUT)


def test_client_answers_ws_ping(ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    async def scenario() -> Any:
        client = await node_server.connect("/ping", ws)
        async with client:
            return await client.recv()

    assert run_async(scenario(), TEST_TIMEOUT) == "pong:hello from ws"


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_client_closes(code: int, ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    conn_id, path = _path("echo")
    reason = f"wsfast {code} \u2713"

    async def scenario() -> Tuple[int, str]:
        client = await node_server.connect(path, ws)
        return await client.close(code, reason)

    assert run_async(scenario(), TEST_TIMEOUT) == (code, reason)
    event = node_server.close_event(conn_id)
    assert (event["code"], event["reason"]) == (code, reason)


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_ws_closes(code: int, ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    conn_id = f"close-{code}-{uuid.uuid4().hex[:8]}"

    async def scenario() -> Tuple[int, str]:
        client = await node_server.connect(f"/close/{code}?id={conn_id}", ws)
        with pytest.raises(_echo_client.ConnectionClosed):
            await client.recv()
        assert client.sent_close_code == code
        return await client.wait_closed()

    assert run_async(scenario(), TEST_TIMEOUT) == (code, f"bye {code}")
    # ws got its own code back: the client echoed it (RFC 6455 §5.5.1).
    assert node_server.close_event(conn_id)["code"] == code


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_client_invalid_close_code_rejected_by_ws(
    code: int, ws: types.SimpleNamespace, node_server: NodeServer
) -> None:
    conn_id, path = _path("echo")

    async def scenario() -> Tuple[int, str]:
        client = await node_server.connect(path, ws)
        # encode_close refuses such a code, so the payload is written by hand.
        await client.send_frame(0x8, code.to_bytes(2, "big"))
        return await client.wait_closed()

    received, _ = run_async(scenario(), TEST_TIMEOUT)
    assert received == 1002
    # ws names the fault, and reports 1006 since no valid close frame came.
    assert f"invalid status code {code}" in node_server.event(conn_id, "error")["message"]
    assert node_server.close_event(conn_id)["code"] == 1006


def test_ws_invalid_close_code_fails_client(ws: types.SimpleNamespace, node_server: NodeServer) -> None:
    conn_id, path = _path("invalid-close")

    async def scenario() -> _echo_client.Client:
        client = await node_server.connect(path, ws)
        with pytest.raises(_echo_client.ConnectionClosed):
            await client.recv()
        await client.wait_closed()
        return client

    client = run_async(scenario(), TEST_TIMEOUT)
    assert client.sent_close_code == 1002
    assert client.error is not None and client.error.close_code == 1002
    assert node_server.close_event(conn_id)["code"] == 1002
