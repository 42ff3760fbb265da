"""The autobahn adapter: the same masks and UTF-8 verdicts as autobahn's
own (NVX or pure), and an autobahn asyncio server that answers websockets'
client and a raw peer's broken streams alike, patched and unpatched."""

from __future__ import annotations

import asyncio
import os
import types
from typing import Any, Callable, Iterator, Tuple

import pytest

from wsfast import dropin

from . import dropin_peers as peers

REAL = peers.RealModules("autobahn")
with REAL:
    pytest.importorskip("autobahn")
    txaio = pytest.importorskip("txaio")
    txaio.use_asyncio()
    import autobahn.websocket.protocol as protocol
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

ORIGINAL_MASKER = protocol.create_xor_masker
ORIGINAL_VALIDATOR = protocol.Utf8Validator


@pytest.fixture(autouse=True)
def real_autobahn() -> Iterator[None]:
    with REAL:
        yield


def test_unpatch_restores_every_object(ws: types.SimpleNamespace) -> None:
    from wsfast.dropin import autobahn as adapter

    before = peers.snapshot(adapter.replacements(ws))
    dropin._patch_with(ws, ("autobahn",))
    try:
        assert protocol.create_xor_masker is not ORIGINAL_MASKER
        assert protocol.Utf8Validator is ws.Utf8Validator
    finally:
        dropin.unpatch("autobahn")
    peers.assert_identity(before)
    assert protocol.create_xor_masker is ORIGINAL_MASKER and protocol.Utf8Validator is ORIGINAL_VALIDATOR


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("chunks", [[0], [1, 2, 3, 4, 5], [125], [127, 1], [200, 57, 3000], [65536, 7]])
def test_masker_same_results(ws: types.SimpleNamespace, chunks: Any) -> None:
    key = os.urandom(4)
    pieces = [os.urandom(n) for n in chunks]
    expected = ORIGINAL_MASKER(key, sum(chunks))
    want = [(expected.process(p), expected.pointer()) for p in pieces]
    dropin._patch_with(ws, ("autobahn",))
    try:
        masker = protocol.create_xor_masker(key, sum(chunks))
        assert [(masker.process(p), masker.pointer()) for p in pieces] == want
        masker.reset()
        expected.reset()
        assert masker.pointer() == expected.pointer() == 0
        assert masker.process(pieces[0]) == expected.process(pieces[0])
        for bad in (b"abc", b"abcde"):
            assert _outcome(protocol.create_xor_masker, bad, 10) == _outcome(ORIGINAL_MASKER, bad, 10)
    finally:
        dropin.unpatch("autobahn")


UTF8_STREAMS = [
    [b"hello"], ["é".encode()[:1], "é".encode()[1:]], [bytes.fromhex("cebae1bdb9cf83cebcceb5f4908080")],
    [bytes.fromhex("cebae1bdb9cf83cebcceb5"), bytes.fromhex("f4908080")], [b"\xed\xa0\x80"], [b"ok\xc3"],
    [b"\xf0\x9f", b"\x98", b"\x80!"], [b""], [("漢字👋" * 3000).encode()], [b"a" * 100 + b"\xff"],
]


@pytest.mark.parametrize("stream", UTF8_STREAMS, ids=range(len(UTF8_STREAMS)))
def test_validator_same_answers_until_a_failure(ws: types.SimpleNamespace, stream: Any) -> None:
    def answers(validator: Any) -> Any:
        out = []
        for chunk in stream:
            out.append(tuple(validator.validate(chunk)))
            if not out[-1][0]:
                break  # autobahn fails the connection here and never asks again
        return out

    expected = answers(ORIGINAL_VALIDATOR())
    dropin._patch_with(ws, ("autobahn",))
    try:
        assert answers(protocol.Utf8Validator()) == expected
    finally:
        dropin.unpatch("autobahn")


class Echo(WebSocketServerProtocol):  # type: ignore[misc]
    def onMessage(self, payload: Any, is_binary: bool) -> None:
        self.sendMessage(payload, is_binary)


def _start(loop: peers.LoopThread) -> Tuple[Any, int]:
    async def start() -> Any:
        factory = WebSocketServerFactory(f"ws://{peers.LOOPBACK}")
        factory.setProtocolOptions(maxMessagePayloadSize=peers.OVERSIZE_LIMIT,
                                   maxFramePayloadSize=peers.OVERSIZE_LIMIT, closeHandshakeTimeout=0.5,
                                   failByDrop=False)  # answer with a close frame, not a bare drop
        factory.protocol = Echo
        return await asyncio.get_running_loop().create_server(factory, peers.LOOPBACK, 0)

    server = loop.call(start)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture(params=["unpatched", "patched"])
def server(request: pytest.FixtureRequest, ws: types.SimpleNamespace) -> Iterator[int]:
    if request.param == "patched":
        dropin._patch_with(ws, ("autobahn",))
    loop = peers.LoopThread()
    try:
        srv, port = _start(loop)
        yield port
        loop.call(srv.close)
    finally:
        loop.stop()
        dropin.unpatch("autobahn")


def test_round_trip_with_websockets_client(server: int) -> None:
    with peers.websockets_client(f"ws://{peers.LOOPBACK}:{server}/") as client:
        for message in peers.messages():
            client.send(message)
            assert client.recv(timeout=10) == message


def test_invalid_streams_answered_alike(ws: types.SimpleNamespace) -> None:
    streams = dict(peers.INVALID_CLIENT_STREAMS, oversize=peers.OVERSIZE)
    streams["valid-then-bad"] = peers.masked(1, "héllo 👋".encode()) + streams["bad-utf8"]
    answers = {}
    for patched in (False, True):
        if patched:
            dropin._patch_with(ws, ("autobahn",))
        loop = peers.LoopThread()
        try:
            srv, port = _start(loop)
            answers[patched] = {
                name: peers.server_frames(peers.raw_client(port, stream, timeout=1.0))
                for name, stream in streams.items()
            }
            loop.call(srv.close)
        finally:
            loop.stop()
            dropin.unpatch("autobahn")
    assert answers[True] == answers[False]
    codes = {name: frames[-1][1][:2] for name, frames in answers[False].items() if frames}
    assert codes["bad-utf8"] == b"\x03\xef" and codes["oversize"] == b"\x03\xf1"  # 1007, 1009
    assert answers[False]["valid-then-bad"][0] == (1, "héllo 👋".encode())
