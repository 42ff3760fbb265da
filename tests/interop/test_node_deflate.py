"""Node's ``ws`` with permessage-deflate (RFC 7692) against both ends of wsfast.

Four configurations, each in both directions: context takeover kept or
dropped (``server_no_context_takeover`` and ``client_no_context_takeover``
together), and a server window of 15 or 9 bits. ``ws`` compresses every
message (``threshold: 0``), so every message below crosses the wire
compressed both ways; text (JSON-like) and binary (random) of 0 B to 4 MiB,
fragmented messages, and the byte counts that prove compression happened.
"""

from __future__ import annotations

import json
import types
import uuid
from typing import Any, Dict, Iterator, List, Tuple, Union

import pytest

from wsfast import DeflateParams

from .conftest import LOOPBACK, BackgroundServer, run_async, spawn
from .test_node_ws import NODE_DIR, PROCESS_TIMEOUT, NodeServer, _pattern, node  # noqa: F401 (fixture)

pytestmark = pytest.mark.interop

TEST_TIMEOUT = 120.0

#: name: (ws's perMessageDeflate options, the parameters both ends must hold)
CONFIGS: Dict[str, Tuple[Dict[str, Any], DeflateParams]] = {
    "takeover-15": ({}, DeflateParams()),
    "takeover-9": (
        {"serverMaxWindowBits": 9, "clientMaxWindowBits": 9},
        DeflateParams(server_max_window_bits=9, client_max_window_bits=9),
    ),
    "no-takeover-15": (
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    ),
    "no-takeover-9": (
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True, "serverMaxWindowBits": 9},
        DeflateParams(True, True, 9, 15),
    ),
}
SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 2**20, 4 * 2**20]


def json_text(n: int) -> str:
    """Compressible text of ``n`` characters: JSON-like records."""
    out: List[str] = []
    total = 0
    i = 0
    while total < n:
        record = json.dumps(
            {"id": i, "user": f"user{i % 97}", "text": f"message number {i} \u00e9\u65e5", "ok": i % 3 == 0},
            ensure_ascii=False,
        )
        out.append(record + "\n")
        total += len(record) + 1
        i += 1
    return "".join(out)[:n]


# ---------------------------------------------------------------------------
# ws client -> wsfast echo server

CLIENT_CHECKS = [
    "negotiated",
    *(f"deflate-{kind}-{n}" for n in SIZES for kind in ("text", "binary")),
    "deflate-unicode",
    "deflate-fragmented",
    "deflate-on-the-wire",
    "deflate-close",
]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_ws_client_against_echo_server(config: str, node: str, echo_server: BackgroundServer) -> None:  # noqa: F811
    options = {**CONFIGS[config][0], "threshold": 0}
    results: Dict[str, Dict[str, Any]] = {}
    with spawn([node, str(NODE_DIR / "client.mjs"), echo_server.url, json.dumps(options)], cwd=NODE_DIR) as peer:
        for line in peer.json_lines(PROCESS_TIMEOUT):
            if line.get("done"):
                break
            if "check" in line:
                results[line["check"]] = line
        output = peer.output()
    assert "main" not in results, results["main"]["detail"]
    failed = {name: r["detail"] for name, r in results.items() if not r["ok"]}
    assert not failed, failed
    assert set(results) == set(CLIENT_CHECKS), output
    expected = CONFIGS[config][1]
    # What ws saw in the echo server's answer.
    assert results["negotiated"]["detail"] == expected.header_value()


# ---------------------------------------------------------------------------
# wsfast client -> ws server


@pytest.fixture(scope="module", params=list(CONFIGS))
def deflate_server(request: pytest.FixtureRequest, node: str) -> Iterator[Tuple[NodeServer, DeflateParams]]:  # noqa: F811
    options, expected = CONFIGS[request.param]
    argv = [node, str(NODE_DIR / "server.mjs"), json.dumps({**options, "threshold": 0})]
    with spawn(argv, cwd=NODE_DIR) as peer:
        port = None
        for line in peer.json_lines(30):
            port = line.get("port")
            if port:
                break
        assert port, f"server.mjs did not report its port; output:\n{peer.output()}"
        yield NodeServer(peer, int(port)), expected


def _conn_path(name: str) -> Tuple[str, str]:
    conn_id = f"{name}-{uuid.uuid4().hex[:8]}"
    return conn_id, f"/{name}?id={conn_id}"


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_client_echo_through_ws(
    kind: str, ws: types.SimpleNamespace, deflate_server: Tuple[NodeServer, DeflateParams]
) -> None:
    server, expected = deflate_server
    payloads: List[Union[str, bytes]] = [json_text(n) if kind == "text" else _pattern(n) for n in SIZES]

    async def scenario() -> List[Any]:
        client = await server.connect("/echo", ws)
        assert client.deflate == expected
        echoed = []
        async with client:
            # One connection, every size: context takeover (where kept)
            # carries the window from message to message.
            for payload in payloads:
                await client.send(payload)
                echoed.append(await client.recv())
        return echoed

    echoed = run_async(scenario(), TEST_TIMEOUT)
    for payload, got in zip(payloads, echoed):
        assert type(got) is type(payload) and got == payload, f"{kind} of {len(payload)}"


def test_client_compresses_on_the_wire(
    ws: types.SimpleNamespace, deflate_server: Tuple[NodeServer, DeflateParams]
) -> None:
    server, expected = deflate_server
    conn_id, path = _conn_path("echo")
    text = json_text(2**20)

    async def scenario() -> Any:
        client = await server.connect(path, ws)
        async with client:
            await client.send(text)
            return await client.recv()

    assert run_async(scenario(), TEST_TIMEOUT) == text
    event = server.close_event(conn_id)
    assert event["extensions"] == {"permessage-deflate": _ws_view(expected)}
    # ws read the handshake, 1 MiB of text and a close: compressed, far less.
    assert event["bytesRead"] < len(text) // 4, event
    assert event["bytesWritten"] < len(text) // 4, event


def _ws_view(params: DeflateParams) -> Dict[str, Any]:
    """How ws reports the parameters it agreed on (its ``ws.extensions``)."""
    view: Dict[str, Any] = {}
    if params.server_no_context_takeover:
        view["server_no_context_takeover"] = True
    if params.client_no_context_takeover:
        view["client_no_context_takeover"] = True
    if params.server_max_window_bits < 15:
        view["server_max_window_bits"] = params.server_max_window_bits
    if params.client_max_window_bits < 15:
        view["client_max_window_bits"] = params.client_max_window_bits
    return view


def test_client_receives_compressed_fragments(
    ws: types.SimpleNamespace, deflate_server: Tuple[NodeServer, DeflateParams]
) -> None:
    # ws compresses a message sent in fragments fragment by fragment, a ping
    # in between: the reader inflates across frames.
    server, _ = deflate_server

    async def scenario() -> Tuple[Any, Any]:
        client = await server.connect("/fragments", ws)
        async with client:
            await client.send_text("go")
            return await client.recv(), await client.recv()

    text, binary = run_async(scenario(), TEST_TIMEOUT)
    assert text == "fr\u00e4gmented \U0001F600 from ws"
    assert binary == bytes((i * 7 + 3) & 0xFF for i in range(70000))


def test_client_without_deflate_is_declined_cleanly(
    ws: types.SimpleNamespace, deflate_server: Tuple[NodeServer, DeflateParams]
) -> None:
    server, _ = deflate_server

    async def scenario() -> Any:
        from wsfast import _echo_client

        client = await _echo_client.connect(
            LOOPBACK, server.port, "/echo", implementation=ws.IMPLEMENTATION, deflate=False
        )
        async with client:
            assert client.deflate is None
            await client.send(json_text(5000))
            return await client.recv()

    assert run_async(scenario(), TEST_TIMEOUT) == json_text(5000)
