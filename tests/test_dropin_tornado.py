"""The tornado adapter: tornado's mask, its WebSocket server and client
patched and unpatched, against websockets on the other end and against a
raw peer sending broken streams."""

from __future__ import annotations

import functools
import os
import types
from typing import Any, Iterator, Tuple

import pytest

from wsfast import dropin

from . import dropin_peers as peers

pytest.importorskip("tornado")
import tornado.util
import tornado.web
import tornado.websocket

ORIGINAL_MASK = tornado.util._websocket_mask


@pytest.fixture(params=["unpatched", "patched"])
def state(request: pytest.FixtureRequest, ws: types.SimpleNamespace) -> Iterator[str]:
    if request.param == "patched":
        assert dropin._patch_with(ws, ("tornado",)) == ["tornado"]
    try:
        yield request.param
    finally:
        dropin.unpatch("tornado")


class Echo(tornado.websocket.WebSocketHandler):
    def on_message(self, message: Any) -> None:
        self.write_message(message, binary=isinstance(message, bytes))


@pytest.fixture
def server(state: str) -> Iterator[Tuple[int, peers.LoopThread]]:
    loop = peers.LoopThread()
    app = tornado.web.Application([(r"/", Echo)], websocket_max_message_size=peers.OVERSIZE_LIMIT)
    http = loop.call(lambda: app.listen(0, address=peers.LOOPBACK))
    port = next(iter(http._sockets.values())).getsockname()[1]
    yield port, loop
    loop.call(http.stop)
    loop.stop()


def test_unpatch_restores_every_object(ws: types.SimpleNamespace) -> None:
    from wsfast.dropin import tornado as adapter

    before = peers.snapshot(adapter.replacements(ws))
    dropin._patch_with(ws, ("tornado",))
    try:
        assert all(vars(owner)[name] is not original for owner, name, original in before)
    finally:
        dropin.unpatch("tornado")
    peers.assert_identity(before)
    assert tornado.websocket._websocket_mask is ORIGINAL_MASK


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 16, 125, 127, 4096, 65537])
def test_mask_same_results(ws: types.SimpleNamespace, size: int) -> None:
    data = os.urandom(size)
    key = os.urandom(4)
    dropin._patch_with(ws, ("tornado",))
    try:
        patched = tornado.websocket._websocket_mask
        assert patched is not ORIGINAL_MASK
        assert patched(key, data) == ORIGINAL_MASK(key, data)
        assert type(patched(key, data)) is bytes
        assert patched(key, patched(key, data)) == data
        for bad_key in (b"abc", b"abcde", b""):
            assert _outcome(patched, bad_key, data) == _outcome(ORIGINAL_MASK, bad_key, data)
    finally:
        dropin.unpatch("tornado")


def test_round_trip_with_websockets_client(server: Tuple[int, peers.LoopThread]) -> None:
    port, _ = server
    with peers.websockets_client(f"ws://{peers.LOOPBACK}:{port}/") as client:
        for message in peers.messages():
            client.send(message)
            assert client.recv(timeout=10) == message


def test_client_round_trip_with_websockets_server(state: str) -> None:
    echo, url = peers.websockets_echo_server()
    loop = peers.LoopThread()
    try:
        async def exchange() -> None:
            conn = await tornado.websocket.websocket_connect(url, max_message_size=peers.OVERSIZE_LIMIT)
            for message in peers.messages():
                await conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            conn.close()

        loop.call(exchange, timeout=30)
    finally:
        loop.stop()
        echo.shutdown()


def test_handle_message_copy_matches_this_version(ws: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the tornado the copy was made from, _handle_message is replaced;
    with another source it is left alone."""
    from wsfast.dropin import _tornado_messages

    cls = tornado.websocket.WebSocketProtocol13
    host = vars(cls)["_handle_message"]
    dropin._patch_with(ws, ("tornado",))
    try:
        assert (vars(cls)["_handle_message"] is not host) == (tornado.version == "6.6.1")
    finally:
        dropin.unpatch("tornado")
    assert vars(cls)["_handle_message"] is host
    monkeypatch.setattr(_tornado_messages, "SOURCES", set())
    dropin._patch_with(ws, ("tornado",))
    try:
        assert vars(cls)["_handle_message"] is host
    finally:
        dropin.unpatch("tornado")


def _answers(port: int, stream: bytes) -> Any:
    return peers.server_frames(peers.raw_client(port, stream, timeout=1.0))


def test_invalid_streams_answered_alike(ws: types.SimpleNamespace) -> None:
    """Each broken stream gets the same frames back (close code included),
    patched as unpatched."""
    streams = dict(peers.INVALID_CLIENT_STREAMS, oversize=peers.OVERSIZE)
    streams["valid-then-bad"] = peers.masked(1, "héllo 👋".encode()) + streams["bad-utf8"]
    answers = {}
    for patched in (False, True):
        if patched:
            dropin._patch_with(ws, ("tornado",))
        loop = peers.LoopThread()
        app = tornado.web.Application([(r"/", Echo)], websocket_max_message_size=peers.OVERSIZE_LIMIT)
        http = loop.call(functools.partial(app.listen, 0, address=peers.LOOPBACK))
        port = next(iter(http._sockets.values())).getsockname()[1]
        try:
            answers[patched] = {name: _answers(port, stream) for name, stream in streams.items()}
        finally:
            loop.call(http.stop)
            loop.stop()
            dropin.unpatch("tornado")
    assert answers[True] == answers[False]
    # The raw peer does see answers: tornado echoes what came before a
    # broken frame, answers a close with its code, closes when over the limit.
    assert answers[False]["valid-then-bad"] == [(1, "héllo 👋".encode())]
    assert answers[False]["close-code-999"] == [(8, b"\x03\xe7")]
    assert answers[False]["oversize"][-1][0] == 8
