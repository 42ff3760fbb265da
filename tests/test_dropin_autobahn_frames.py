"""The autobahn adapter's frame reader (``processData``/``consumeData``
reading from an offset): fed the same byte streams, split at random, an
autobahn server protocol gives the same messages, writes the same bytes,
ends in the same state and leaves the same ``self.data`` after every read,
patched and unpatched."""

from __future__ import annotations

import asyncio
import types
from typing import Any, Dict, Iterator, List, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsfast import dropin
from wsfast.dropin import _autobahn_frames

from . import dropin_peers as peers
from .dropin_streams import raw_frame, split, streams

REAL = peers.RealModules("autobahn")
with REAL:
    pytest.importorskip("autobahn")
    txaio = pytest.importorskip("txaio")
    txaio.use_asyncio()
    import autobahn.websocket.protocol as protocol
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

KEY = b"\x11\x22\x33\x44"
REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture(autouse=True)
def real_autobahn() -> Iterator[None]:
    with REAL:
        yield


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out: List[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.out.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 9000)}.get(name, default)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def run(chunks: Sequence[bytes], options: Dict[str, Any]) -> List[Any]:
    """Every observable after each chunk: messages, bytes written, state,
    what is left in the buffer."""
    seen: List[Any] = []

    class Recorder(WebSocketServerProtocol):  # type: ignore[misc]
        def onMessage(self, payload: Any, is_binary: bool) -> None:
            seen.append(("message", bytes(payload), is_binary))

        def onPing(self, payload: Any) -> None:
            seen.append(("ping", bytes(payload)))
            super().onPing(payload)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        factory = WebSocketServerFactory("ws://127.0.0.1:9000")
        factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=0, closeHandshakeTimeout=0, **options)
        factory.protocol = Recorder
        proto = factory()
        transport = Transport()
        proto.connection_made(transport)
        for data in [REQUEST] + list(chunks):
            proto.data_received(data)
            for _ in range(3):
                loop.run_until_complete(asyncio.sleep(0))
            seen.append(("after", b"".join(transport.out), proto.state, bytes(proto.data), transport.closed))
            transport.out.clear()
        seen.append(("end", proto.wasClean, proto.remoteCloseCode, proto.localCloseCode, proto.localCloseReason))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return seen


def both(chunks: Sequence[bytes], ws: types.SimpleNamespace, **options: Any) -> List[Any]:
    expected = run(chunks, options)
    assert dropin._patch_with(ws, ("autobahn",)) == ["autobahn"]
    try:
        assert run(chunks, options) == expected
    finally:
        dropin.unpatch("autobahn")
    return expected


def masked(opcode: int, payload: bytes, **kw: Any) -> bytes:
    return raw_frame(opcode, payload, mask=KEY, **kw)


CRAFTED = {
    "small-mixed": b"".join(masked(1 + i % 2, b"x" * (i % 130)) for i in range(60)),
    "fragmented": masked(1, "héllo ".encode(), fin=False) + masked(9, b"ping") + masked(0, " wörld".encode()),
    "empty-frames": masked(1, b"") + masked(2, b"", fin=False) + masked(0, b"") + masked(10, b""),
    "large": masked(2, bytes(range(256)) * 300) + masked(1, "日本".encode() * 3000),
    "non-minimal-16": masked(2, b"abc", width=16),
    "non-minimal-64": masked(2, b"abc" * 50, width=64),
    "non-minimal-16-125": masked(2, b"z" * 125, width=16),
    "minimal-16-126": masked(2, b"z" * 126, width=16),
    "non-minimal-64-65535": masked(2, b"z" * 65535, width=64),
    "minimal-64-65536": masked(2, b"z" * 65536, width=64),
    "unmasked": raw_frame(1, b"plain"),
    "close-len-1": masked(8, b"\x03"),
    "ping-126": masked(9, b"p" * 126),
    "fragmented-ping": masked(9, b"p", fin=False),
    "reserved-control": masked(11, b""),
    "reserved-data": masked(3, b"x"),
    "continuation-first": masked(0, b"x"),
    "new-message-inside": masked(1, b"a", fin=False) + masked(2, b"b"),
    "rsv1": masked(2, b"data", rsv=4),
    "bad-utf8-then-more": masked(1, b"ok") + masked(1, b"caf\xc3") + masked(1, b"never"),
    "close-then-data": masked(8, b"\x03\xe8bye") + masked(1, b"after close"),
    **{f"peer-{name}": stream for name, stream in peers.INVALID_CLIENT_STREAMS.items()},
}


def test_the_copies_match_this_version(ws: types.SimpleNamespace) -> None:
    cls = protocol.WebSocketProtocol
    host = (vars(cls)["processData"], vars(cls)["consumeData"])
    from autobahn import __version__

    dropin._patch_with(ws, ("autobahn",))
    try:
        if __version__ == "26.11.1":  # the version the copies were made from
            assert vars(cls)["processData"] is not host[0] and vars(cls)["consumeData"] is not host[1]
    finally:
        dropin.unpatch("autobahn")
    assert vars(cls)["processData"] is host[0] and vars(cls)["consumeData"] is host[1]


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.parametrize("cut", ["whole", "bytewise", "thirds"])
def test_crafted_streams(name: str, cut: str, ws: types.SimpleNamespace) -> None:
    stream = CRAFTED[name]
    if cut == "whole":
        chunks = [stream]
    elif cut == "bytewise":
        chunks = split(stream, range(1, len(stream))) if len(stream) < 3000 else split(stream, range(0, len(stream), 7))
    else:
        chunks = split(stream, [len(stream) // 3, 2 * len(stream) // 3])
    both(chunks, ws)


@pytest.mark.parametrize("limits", [{"maxFramePayloadSize": 100}, {"maxMessagePayloadSize": 200}, {"failByDrop": False}])
def test_limits_and_options(limits: Dict[str, Any], ws: types.SimpleNamespace) -> None:
    both([CRAFTED["small-mixed"] + CRAFTED["large"]], ws, **limits)
    both(split(CRAFTED["fragmented"] + CRAFTED["large"], range(0, 80000, 999)), ws, **limits)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=streams(masked=True))
def test_random_streams(chunks: List[bytes], ws: types.SimpleNamespace) -> None:
    both(chunks, ws)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=40), cuts=st.lists(st.integers(1, 9000), max_size=8))
def test_many_frames_per_read(sizes: List[int], cuts: List[int], ws: types.SimpleNamespace) -> None:
    stream = b"".join(masked(1 + i % 2, b"y" * size) for i, size in enumerate(sizes))
    both(split(stream, sorted(c for c in cuts if c < len(stream))), ws)


def test_a_changed_method_is_left_alone(ws: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_autobahn_frames, "SOURCES", {name: set() for name in _autobahn_frames.SOURCES})
    cls = protocol.WebSocketProtocol
    host = (vars(cls)["processData"], vars(cls)["consumeData"])
    assert dropin._patch_with(ws, ("autobahn",)) == ["autobahn"]
    try:
        assert (vars(cls)["processData"], vars(cls)["consumeData"]) == host
    finally:
        dropin.unpatch("autobahn")
