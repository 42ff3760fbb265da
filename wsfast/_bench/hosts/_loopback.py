"""Raw WebSocket ends on 127.0.0.1 for the host benchmarks: they do the
opening handshake and then only move bytes (prebuilt frames out, a count of
bytes in, or the expected echo compared byte for byte), so the time
measured is the host's, not the other end's."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import struct
import threading
from functools import lru_cache
from typing import Any, Awaitable, Callable, List, Optional, Tuple

from ..._handshake import accept_key
from ..workloads import KiB, encode_reference_frame, small_frames, utf8_corpus
from . import Case

LOOPBACK = "127.0.0.1"
SMALL_COUNT = 10_000
LARGE_COUNT = 100
LARGE_SIZE = 64 * KiB
#: Small messages per echo round (the first of ``small_messages()``).
ECHO_SMALL_COUNT = 1000


def small_stream(masked: bool, seed: int = 17) -> Tuple[bytes, List[Tuple[int, bytes]]]:
    """10k small frames, half text half binary, a few pings; masked like a
    client's when ``masked``."""
    frames = small_frames()
    rng = random.Random(seed)
    blob = b"".join(encode_reference_frame(op, p, rng.randbytes(4) if masked else None) for op, p in frames)
    return blob, frames


def text_64k() -> bytes:
    """64 KiB of Latin text (two-byte sequences among ASCII): the UTF-8
    check has real work to do."""
    return utf8_corpus("latin", LARGE_SIZE)


def large_stream(masked: bool, seed: int = 18) -> bytes:
    rng = random.Random(seed)
    payload = text_64k()
    return b"".join(
        encode_reference_frame(1, payload, rng.randbytes(4) if masked else None) for _ in range(LARGE_COUNT)
    )


def small_messages() -> List[Tuple[bool, bytes]]:
    """What a chatty client sends: ``(is_text, payload)``, sizes 0-125."""
    rng = random.Random(99)
    text = utf8_corpus("latin", 4 * KiB).decode()
    out = []
    for _ in range(SMALL_COUNT):
        size = rng.randint(0, 125)
        if rng.random() < 0.5:
            start = rng.randrange(len(text) - 130)
            out.append((True, text[start : start + size // 2].encode()))
        else:
            out.append((False, rng.randbytes(size)))
    return out


def sent_size(payload_length: int, masked: bool) -> int:
    """Bytes on the wire for one frame with a minimal length."""
    header = 2 if payload_length < 126 else 4 if payload_length < 65536 else 10
    return header + (4 if masked else 0) + payload_length


def _response(request: bytes) -> bytes:
    key = ""
    for line in request.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode()


def client_request(port: int, path: str = "/") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        data += chunk
    return data


class ThreadServer:
    """A server for one blocking client: after the handshake it either
    sends ``blob`` each time ``feed()`` is called, or counts the bytes it
    receives (``wait_received(n)``)."""

    def __init__(self, blob: bytes = b"") -> None:
        self.blob = blob
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://{LOOPBACK}:{self.port}/"
        self._go = threading.Semaphore(0)
        self._received = 0
        self._cond = threading.Condition()
        self._conn: Optional[socket.socket] = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self._conn = conn
        conn.sendall(_response(_read_head(conn)))
        if self.blob:
            # Whatever the client sends back (pongs) is read and dropped.
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()
            while True:
                self._go.acquire()
                if self._closed:
                    return
                conn.sendall(self.blob)
        while True:
            try:
                chunk = conn.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            with self._cond:
                self._received += len(chunk)
                self._cond.notify_all()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        try:
            while conn.recv(1 << 16):
                pass
        except OSError:
            pass

    def feed(self) -> None:
        self._go.release()

    def wait_received(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` more bytes than at the last call have arrived."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._received >= count, timeout):
                raise TimeoutError(f"received {self._received} of {count} bytes")
            self._received -= count

    def close(self) -> None:
        self._closed = True
        self._go.release()
        for sock in (self._conn, self.listener):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._thread.join(5)


class AsyncSink:
    """An asyncio server that does the handshake and counts what it gets."""

    def __init__(self) -> None:
        self.received = 0
        self.waiter: Optional[Tuple[int, "asyncio.Future[None]"]] = None
        self.server: Optional[asyncio.AbstractServer] = None
        self.port = 0
        self.writers: List[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(_response(head))
        while True:
            chunk = await reader.read(1 << 20)
            if not chunk:
                writer.close()
                return
            self.received += len(chunk)
            if self.waiter is not None and self.received >= self.waiter[0]:
                count, future = self.waiter
                self.received -= count
                self.waiter = None
                future.set_result(None)

    async def wait_received(self, count: int) -> None:
        if self.received >= count:
            self.received -= count
            return
        future = asyncio.get_running_loop().create_future()
        self.waiter = (count, future)
        await asyncio.wait_for(future, 30)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        # Closing the connections ends the handlers (their reads see EOF);
        # cancelling them instead makes asyncio log each cancellation.
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.01)


# -- echo: one raw client for every host's echo server --------------------

Run = Callable[[], Any]
Close = Callable[[], None]
#: Starts a host's echo server on the running loop: ``(port, stop)``.
StartServer = Callable[[], Awaitable[Tuple[int, Callable[[], Awaitable[None]]]]]

_CLOSE_FRAME = b"\x88\x82\x00\x00\x00\x00" + struct.pack("!H", 1000)  # masked with a zero key


def echo_messages(kind: str) -> List[Tuple[bool, bytes]]:
    """``"small"``: the first 1000 small messages, text and binary mixed;
    ``"text-64k"``: 100 times ``text_64k()`` as text."""
    if kind == "small":
        return small_messages()[:ECHO_SMALL_COUNT]
    if kind == "text-64k":
        return [(True, text_64k())] * LARGE_COUNT
    raise ValueError(kind)


@lru_cache(maxsize=None)
def echo_frames(kind: str) -> Tuple[Tuple[bytes, ...], Tuple[bytes, ...]]:
    """What the client sends for ``echo_messages(kind)`` (masked frames) and
    what must come back for each (the same message, unmasked, one frame)."""
    rng = random.Random(5)
    messages = echo_messages(kind)
    sent = tuple(encode_reference_frame(1 if t else 2, p, rng.randbytes(4)) for t, p in messages)
    echoed = tuple(encode_reference_frame(1 if t else 2, p, None) for t, p in messages)
    return sent, echoed


class EchoClient(asyncio.Protocol):
    """A raw client for echo servers: after the handshake, each round sends
    one prebuilt masked frame, waits until the server's answer is exactly
    the expected unmasked frame, and only then sends the next. It works
    inside ``data_received`` (no tasks, no futures per message), so what a
    round costs beyond the server is the same patched and unpatched and
    small."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.buffer = bytearray()
        self.sent: Tuple[bytes, ...] = ()
        self.echoed: Tuple[bytes, ...] = ()
        self.index = 0
        self.phase = "handshake"
        self.waiter: Optional["asyncio.Future[None]"] = None
        self.lost: "Optional[asyncio.Future[None]]" = None

    @classmethod
    async def connect(cls, port: int, path: str = "/") -> "EchoClient":
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(cls, LOOPBACK, port)
        client.lost = loop.create_future()
        client.waiter = loop.create_future()
        assert client.transport is not None
        client.transport.write(client_request(port, path))
        await asyncio.wait_for(client.waiter, 30)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)
        self._fail(ConnectionError(f"the server closed the connection ({self.phase})"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.phase == "echo":
            expected = self.echoed[self.index]
            if len(buffer) < len(expected):
                return
            if buffer != expected:
                self.phase = "broken"
                self._fail(AssertionError(
                    f"echo {self.index}: expected {len(expected)} bytes {expected[:16]!r}..., "
                    f"got {len(buffer)} bytes {bytes(buffer[:16])!r}..."
                ))
                return
            buffer.clear()
            self.index += 1
            if self.index < len(self.sent):
                assert self.transport is not None
                self.transport.write(self.sent[self.index])
            elif self.waiter is not None:
                self.phase = "idle"
                self.waiter.set_result(None)
        elif self.phase == "handshake":
            head, found, rest = bytes(buffer).partition(b"\r\n\r\n")
            if not found:
                return
            buffer[:] = rest
            self.phase = "idle"
            if self.waiter is not None:
                if head.split(b" ", 2)[1:2] == [b"101"]:
                    self.waiter.set_result(None)
                else:
                    self._fail(ConnectionError(f"handshake refused: {head[:200]!r}"))
        elif self.phase == "idle" or self.phase == "broken":
            self.phase = "broken"
            self._fail(AssertionError(f"{len(buffer)} bytes nobody asked for: {bytes(buffer[:16])!r}"))

    async def echo(self, sent: Tuple[bytes, ...], echoed: Tuple[bytes, ...]) -> Tuple[int, int]:
        """Each of ``sent`` in turn, each answer checked against ``echoed``:
        ``(messages, bytes echoed)``."""
        if self.phase != "idle" or self.buffer:
            raise RuntimeError(f"client not ready ({self.phase}, {len(self.buffer)} bytes buffered)")
        assert self.transport is not None
        self.sent, self.echoed, self.index = sent, echoed, 0
        self.waiter = asyncio.get_running_loop().create_future()
        self.phase = "echo"
        self.transport.write(sent[0])
        await asyncio.wait_for(self.waiter, 60)
        return len(sent), sum(map(len, echoed))

    async def close(self) -> None:
        """The closing handshake (code 1000), then the connection closed."""
        if self.transport is None or self.transport.is_closing():
            return
        self.phase = "closing"
        self.transport.write(_CLOSE_FRAME)
        try:
            if self.lost is not None:
                await asyncio.wait_for(self.lost, 5)
        except asyncio.TimeoutError:
            pass
        finally:
            self.transport.close()


def echo_setup(start: StartServer, kind: str) -> Tuple[Run, Close]:
    """A case's setup: a new event loop, the host's echo server started on
    it by ``start``, an ``EchoClient`` connected to it. ``run()`` is one
    echo round of ``echo_messages(kind)``."""
    sent, echoed = echo_frames(kind)
    loop = asyncio.new_event_loop()

    async def begin() -> Tuple[EchoClient, Callable[[], Awaitable[None]]]:
        port, stop = await start()
        try:
            return await EchoClient.connect(port), stop
        except BaseException:
            await stop()
            raise

    try:
        client, stop = loop.run_until_complete(begin())
    except BaseException:
        loop.close()
        raise

    def run() -> Tuple[int, int]:
        return loop.run_until_complete(client.echo(sent, echoed))

    def close() -> None:
        try:
            loop.run_until_complete(client.close())
            loop.run_until_complete(stop())
        finally:
            loop.close()

    return run, close


def echo_cases(server: str, start: StartServer) -> List[Case]:
    """The two echo cases of a host whose echo server ``start`` starts."""
    small = echo_messages("small")
    return [
        Case("echo/1k-small", f"{server} echo, 1000 small messages (text, binary) one at a time",
             lambda: echo_setup(start, "small"), len(small), sum(len(p) for _, p in small)),
        Case("echo/100x64KiB-text", f"{server} echo, 100 text messages of 64 KiB (not ASCII) one at a time",
             lambda: echo_setup(start, "text-64k"), LARGE_COUNT, LARGE_COUNT * len(text_64k())),
    ]
