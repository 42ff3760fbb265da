"""Other ends for the drop-in tests: an independent library (websockets'
sync client and server) for round trips, and a raw socket peer that sends
crafted frames and records every byte the host answers with.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from typing import Any, Callable, Iterator, List, Tuple

import pytest

import wsfast

LOOPBACK = "127.0.0.1"

#: Sizes every round trip covers, and a text message with emoji.
SIZES = (0, 125, 126, 65536, 1 << 20)
EMOJI_TEXT = "héllo wörld 👋🏽 — 漢字 🎉" * 50


def messages() -> Iterator[Any]:
    for size in SIZES:
        yield os.urandom(size)
        yield ("é" * size)[: max(size // 2, 0)] if size else ""
    yield EMOJI_TEXT


def websockets_echo_server() -> Tuple[Any, str]:
    """websockets' sync echo server in a thread; ``(server, url)``."""
    websockets_sync = pytest.importorskip("websockets.sync.server")

    def echo(connection: Any) -> None:
        try:
            for message in connection:
                connection.send(message)
        except Exception:
            pass

    server = websockets_sync.serve(echo, LOOPBACK, 0, max_size=None, compression=None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.socket.getsockname()[1]
    return server, f"ws://{LOOPBACK}:{port}/"


def websockets_client(url: str) -> Any:
    client = pytest.importorskip("websockets.sync.client")
    return client.connect(url, max_size=None, compression=None, open_timeout=10)


class LoopThread:
    """An asyncio event loop in a thread of its own, for host servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, fn: Callable[[], Any], timeout: float = 10) -> Any:
        async def wrapped() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def client_handshake(port: int, path: str = "/") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{LOOPBACK}:{port}\r\n\r\n"
    ).encode()


def raw_client(port: int, frames: bytes, path: str = "/", timeout: float = 3.0) -> bytes:
    """Connect, do the handshake, send ``frames`` and return everything the
    server sends after its handshake response, until it closes the
    connection or is quiet for ``timeout`` seconds."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(client_handshake(port, path))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during the handshake: {data!r}")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        try:
            sock.sendall(frames)
        except OSError:
            pass
        received = rest
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            received += chunk
        return received


def server_frames(data: bytes) -> List[Tuple[int, bytes]]:
    """The (opcode, payload) of the unmasked frames a server sent."""
    parser = wsfast.FrameParser(client=True, strict=False, max_frame_size=1 << 30)
    try:
        frames = parser.feed(data)
    except wsfast.ProtocolError as exc:
        frames = list(getattr(exc, "events", []))
    return [(int(f.opcode), bytes(f.payload)) for f in frames]


def masked(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False, rsv2: bool = False,
           rsv3: bool = False, key: bytes = b"\x01\x02\x03\x04") -> bytes:
    """A client frame, with RSV bits wsfast.encode_frame would refuse."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | opcode
    frame = bytearray(wsfast.encode_frame(2, payload, mask=key))
    frame[0] = first
    return bytes(frame)


#: Crafted client streams a server must refuse: name -> bytes.
INVALID_CLIENT_STREAMS = {
    "bad-utf8": masked(1, b"caf\xc3"),
    "bad-utf8-in-fragment": masked(1, "é".encode()[:1], fin=False) + masked(0, b"\xff"),
    "surrogate": masked(1, b"\xed\xa0\x80"),
    # Long enough for the hosts' text decoding to go to wsfast's decoder.
    "bad-utf8-long-end": masked(1, "é".encode() * 100 + b"\xc3"),
    "bad-utf8-long-middle": masked(1, b"a" * 200 + b"\xff" + b"b" * 50),
    "bad-utf8-long-fragmented": masked(1, "日本".encode() * 30, fin=False) + masked(0, b"\xed\xa0\x80" + b"x" * 80),
    "close-code-1005": masked(8, b"\x03\xed"),
    "close-code-999": masked(8, b"\x03\xe7"),
    "close-reason-bad-utf8": masked(8, b"\x03\xe8\xff"),
    "close-one-byte": masked(8, b"\x03"),
    "rsv1": masked(2, b"data", rsv1=True),
    "rsv2": masked(1, b"text", rsv2=True),
    "rsv3": masked(2, b"data", rsv3=True),
    "opcode-3": masked(3, b"x"),
    "ping-126": masked(9, b"p" * 126),
    "continuation-first": masked(0, b"x"),
    "unmasked": wsfast.encode_frame(1, b"plain"),
}

#: Larger than the limit the drop-in tests give their servers.
OVERSIZE_LIMIT = 1 << 21
OVERSIZE = masked(2, b"x" * (OVERSIZE_LIMIT + 1))


def snapshot(replacements: Any) -> List[Tuple[Any, str, Any]]:
    """What each owner stores now under each attribute an adapter replaces."""
    missing = object()
    return [(owner, name, vars(owner).get(name, missing)) for owner, name, _ in replacements]


def assert_identity(before: List[Tuple[Any, str, Any]]) -> None:
    for owner, name, original in before:
        assert vars(owner).get(name) is original, f"{owner!r}.{name} not restored"


class RealModules:
    """The real package ``name`` in ``sys.modules`` only while active.

    kosoku (the Autobahn test suite cases, tests/interop) puts a shim
    package named ``autobahn`` first on ``sys.path`` for the rest of the
    process, and breaks if the real autobahn is imported where it expects
    its shim. Tests of the real one swap it in and back out around their
    use, leaving ``sys.path`` and ``sys.modules`` as they found them.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.real: dict = {}
        self.saved: dict = {}
        self.saved_path: List[str] = []

    def _ours(self) -> dict:
        import sys

        return {k: v for k, v in sys.modules.items() if k == self.name or k.startswith(self.name + ".")}

    def __enter__(self) -> "RealModules":
        import importlib
        import sys

        self.saved = self._ours()
        self.saved_path = list(sys.path)
        for key in self.saved:
            del sys.modules[key]
        sys.path[:] = [p for p in sys.path if not p.replace("\\", "/").rstrip("/").endswith(("kosoku/shim", "kosoku/cases"))]
        sys.modules.update(self.real)
        importlib.invalidate_caches()
        return self

    def __exit__(self, *exc: Any) -> None:
        import sys

        self.real = self._ours()
        for key in self.real:
            del sys.modules[key]
        sys.modules.update(self.saved)
        sys.path[:] = self.saved_path
