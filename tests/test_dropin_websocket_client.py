"""The websocket-client adapter: the same masks, frames, UTF-8 verdicts,
messages and errors as websocket-client's own code (with wsaccel and with
its pure-Python fallbacks), against websockets' server on the other end and
a raw server sending broken streams."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading
import types
from typing import Any, Callable, Iterator, List

import pytest

import wsfast
from wsfast import dropin

from . import dropin_peers as peers

websocket = pytest.importorskip("websocket")
import websocket._abnf as abnf  # noqa: E402
import websocket._core as core  # noqa: E402
import websocket._utils as utils  # noqa: E402

ABNF = abnf.ABNF


def _pure(module: types.ModuleType) -> types.ModuleType:
    """``module`` loaded again with wsaccel hidden: websocket-client's
    pure-Python mask and DFA, as on a plain install."""
    hidden = {name: sys.modules.get(name) for name in ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator")}
    spec = importlib.util.spec_from_file_location(f"_pure_{module.__name__}", module.__file__)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    copy.__package__ = "websocket"
    try:
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]
        spec.loader.exec_module(copy)
    finally:
        for name, value in hidden.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value
    return copy


PURE_UTILS = _pure(utils)
PURE_ABNF = _pure(abnf)
ORIGINAL_VALIDATE = utils.validate_utf8
ORIGINAL_MASK = ABNF.mask
ORIGINAL_FORMAT = ABNF.format
ORIGINAL_RECV = core.WebSocket.recv


@pytest.fixture
def patched(ws: types.SimpleNamespace) -> Iterator[types.SimpleNamespace]:
    assert dropin._patch_with(ws, ("websocket-client",)) == ["websocket-client"]
    try:
        yield ws
    finally:
        dropin.unpatch("websocket-client")


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc)


def test_unpatch_restores_every_object(ws: types.SimpleNamespace) -> None:
    from wsfast.dropin import websocket_client as adapter

    before = peers.snapshot(adapter.replacements(ws))
    dropin._patch_with(ws, ("websocket-client",))
    try:
        assert all(vars(owner)[name] is not original for owner, name, original in before)
        assert abnf.validate_utf8 is utils.validate_utf8
    finally:
        dropin.unpatch("websocket-client")
    peers.assert_identity(before)
    assert utils.validate_utf8 is ORIGINAL_VALIDATE and abnf.validate_utf8 is ORIGINAL_VALIDATE
    assert vars(ABNF)["mask"].__func__ is ORIGINAL_MASK and ABNF.format is ORIGINAL_FORMAT
    assert core.WebSocket.recv is ORIGINAL_RECV


UTF8_CASES: List[Any] = [
    b"", b"ascii", "é".encode(), "漢字".encode(), "👋🏽".encode(), b"\xf4\x8f\xbf\xbf",
    b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3", b"a\xe2\x82",
    b"\x80", bytes.fromhex("cebae1bdb9cf83cebcceb5f4908080"), bytearray(b"caf\xc3\xa9"),
    memoryview(b"ok\xff"), "text", "lone \udc80 surrogate", os.urandom(4096),
    ("é" * 40000).encode(), ("é" * 40000).encode()[:-1],
]


@pytest.mark.parametrize("data", UTF8_CASES, ids=range(len(UTF8_CASES)))
def test_validate_utf8_same_verdicts(patched: types.SimpleNamespace, data: Any) -> None:
    expected = _outcome(PURE_UTILS.validate_utf8, data)
    assert _outcome(ORIGINAL_VALIDATE, data) == expected  # wsaccel's, if installed
    assert _outcome(utils.validate_utf8, data) == expected
    assert _outcome(abnf.validate_utf8, data) == expected


MASK_CASES: List[Any] = [
    (b"abcd", b""), (b"abcd", b"x"), (b"\x00\xff\x10\x01", os.urandom(125)), (b"wxyz", os.urandom(65537)),
    ("abcd", "latin-1 text é"), (b"abcd", None), (b"abcd", bytearray(b"buffer")), (b"abcd", "€ not latin-1"),
    (b"abc", b"short key"), (b"abcde", b"long key"), (b"abcd", [1, 2, 3]), (b"abcd", memoryview(b"view")),
]


@pytest.mark.parametrize("key,data", MASK_CASES, ids=range(len(MASK_CASES)))
def test_mask_same_results(patched: types.SimpleNamespace, key: Any, data: Any) -> None:
    # Odd arguments go to the original, whichever it is (wsaccel's refuses
    # a 3-byte key, the pure one does not); sound ones give the pure result.
    expected = _outcome(ORIGINAL_MASK, key, data)
    assert _outcome(ABNF.mask, key, data) == expected
    if len(key) == 4 and not isinstance(data, list):
        assert _outcome(PURE_ABNF.ABNF.mask, key, data) == expected
    if isinstance(data, bytes) and isinstance(key, bytes) and len(key) == 4:
        import array

        assert abnf._mask(array.array("B", key), array.array("B", data)) == expected


@pytest.mark.parametrize("opcode", [0, 1, 2, 8, 9, 10, 3])
@pytest.mark.parametrize("data", [b"", b"x" * 125, b"y" * 126, os.urandom(65536), "héllo", "€uro"])
def test_format_same_frames(patched: types.SimpleNamespace, opcode: int, data: Any) -> None:
    def build(format: Callable[[Any], bytes], **fields: Any) -> Any:
        frame = ABNF(1, 0, 0, 0, opcode, 1, data)
        for name, value in fields.items():
            setattr(frame, name, value)
        frame.get_mask_key = lambda n: b"\x11\x22\x33\x44"
        return _outcome(format, frame)

    for fields in ({}, {"fin": 0}, {"rsv1": 1}, {"rsv3": 1}, {"fin": 2}, {"mask_value": 0}):
        assert build(ABNF.format, **fields) == build(ORIGINAL_FORMAT, **fields), fields
    str_key = ABNF(1, 0, 0, 0, 1, 1, b"data")
    str_key.get_mask_key = lambda n: "abcd"
    original = ABNF(1, 0, 0, 0, 1, 1, b"data")
    original.get_mask_key = lambda n: "abcd"
    assert str_key.format() == ORIGINAL_FORMAT(original)


def test_round_trip_with_websockets_server(ws: types.SimpleNamespace) -> None:
    server, url = peers.websockets_echo_server()
    try:
        for patch in (False, True):
            if patch:
                dropin._patch_with(ws, ("websocket-client",))
            try:
                client = websocket.create_connection(url, timeout=10)
                for message in peers.messages():
                    if isinstance(message, bytes):
                        client.send_binary(message)
                    else:
                        client.send(message)
                    assert client.recv() == message
                client.close()
            finally:
                dropin.unpatch("websocket-client")
    finally:
        server.shutdown()


def _raw_server(stream: bytes) -> Any:
    """A server that sends ``stream`` after the handshake, then records what
    the client sends back until it closes."""
    listener = socket.create_server((peers.LOOPBACK, 0))
    got: List[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(3)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in data.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + wsfast.accept_key(key).encode() + b"\r\n\r\n" + stream)
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    got.append(chunk)
            except OSError:
                pass
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], got, thread


def _client_reaction(stream: bytes) -> Any:
    # Every stream ends with a normal close, so a client that did not fail
    # stops there instead of waiting for a timeout.
    port, got, thread = _raw_server(stream + _server_frame(8, b"\x03\xe8"))
    client = websocket.create_connection(f"ws://{peers.LOOPBACK}:{port}/", timeout=3)
    results = []
    for _ in range(5):
        try:
            results.append(("message", client.recv()))
            if results[-1][1] == "":  # the close: recv() gives "" (no stream sends an empty text)
                break
        except Exception as exc:
            results.append(("error", type(exc).__name__, str(exc)))
            break
    client.close(timeout=0.05)
    client.shutdown()
    thread.join(5)
    # The masked frames the client sent back, unmasked: the key differs per run.
    sent = peers.server_frames(_unmask_all(b"".join(got)))
    return results, sent


def _unmask_all(data: bytes) -> bytes:
    parser = wsfast.FrameParser(client=False, strict=False)
    try:
        frames = parser.feed(data)
    except wsfast.ProtocolError as exc:
        frames = list(getattr(exc, "events", []))
    return b"".join(wsfast.encode_frame(int(f.opcode), bytes(f.payload), fin=f.fin) for f in frames)


def _server_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    frame = bytearray(wsfast.encode_frame(2, payload))
    frame[0] = (0x80 if fin else 0) | rsv | opcode
    return bytes(frame)


SERVER_STREAMS = {
    "text": _server_frame(1, "héllo 👋".encode()),
    "bad-utf8": _server_frame(1, b"caf\xc3"),
    "bad-utf8-fragments": _server_frame(1, b"ok", fin=False) + _server_frame(0, b"\xed\xa0\x80"),
    "surrogate": _server_frame(1, b"\xed\xa0\x80"),
    "close-1005": _server_frame(8, b"\x03\xed"),
    "close-bad-reason": _server_frame(8, b"\x03\xe8\xff"),
    "close-999": _server_frame(8, b"\x03\xe7"),
    "rsv1": _server_frame(2, b"data", rsv=0x40),
    "rsv2": _server_frame(1, b"text", rsv=0x20),
    "opcode-3": _server_frame(3, b"x"),
    "continuation-first": _server_frame(0, b"x"),
    "masked-from-server": wsfast.encode_frame(1, b"masked text", mask=b"\x01\x02\x03\x04"),
    "ping-then-text": _server_frame(9, b"ping") + _server_frame(1, b"after"),
    "big-text": _server_frame(1, ("é" * 40000).encode()),
}


@pytest.mark.parametrize("hide_wsaccel", [False, True], ids=["as-installed", "pure-fallbacks"])
def test_invalid_streams_same_reaction(ws: types.SimpleNamespace, hide_wsaccel: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if hide_wsaccel:
        # The names the adapter replaces keep pointing at the originals'
        # pure twins while unpatched.
        monkeypatch.setattr(utils, "_validate_utf8", PURE_UTILS._validate_utf8)
        monkeypatch.setattr(abnf, "_mask", PURE_ABNF._mask)
    reactions = {}
    for patch in (False, True):
        if patch:
            dropin._patch_with(ws, ("websocket-client",))
        try:
            reactions[patch] = {name: _client_reaction(stream) for name, stream in SERVER_STREAMS.items()}
        finally:
            dropin.unpatch("websocket-client")
    assert reactions[True] == reactions[False]
    assert reactions[False]["bad-utf8"][0][0][0] == "error"
    assert reactions[False]["text"][0][0] == ("message", "héllo 👋")
