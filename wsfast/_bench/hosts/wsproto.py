"""wsproto through its public sans-I/O paths: a server ``Connection`` given
masked client frames (``receive_data`` then every event from ``events()``),
and ``send()`` of messages on a client (masked) and a server (unmasked)
connection: no sockets, wsproto does no I/O, so that is all of its work.
End to end, an echo server as the servers built on wsproto (uvicorn,
hypercorn) drive it: an asyncio ``Protocol`` feeding a
``WSConnection(ConnectionType.SERVER)`` and writing what ``send()``
returns, answering the raw echo client of ``_loopback`` message by
message."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, List, Optional, Tuple

from . import Case
from . import _loopback as lb


def _receive(blob: bytes) -> Tuple[Any, Any]:
    from wsproto.connection import SERVER, Connection
    from wsproto.events import BytesMessage, Ping, TextMessage

    def run() -> Tuple[int, int, int]:
        conn = Connection(SERVER)
        conn.receive_data(blob)
        count = size = pings = 0
        for event in conn.events():
            if type(event) is TextMessage or type(event) is BytesMessage:
                count += event.message_finished
                size += len(event.data)
            elif type(event) is Ping:
                pings += 1
        return count, size, pings

    return run, lambda: None


def _send(messages: List[Tuple[bool, bytes]], client: bool) -> Tuple[Any, Any]:
    from wsproto.connection import CLIENT, SERVER, Connection
    from wsproto.events import BytesMessage, TextMessage

    conn = Connection(CLIENT if client else SERVER)
    events = [TextMessage(data=p.decode()) if is_text else BytesMessage(data=p) for is_text, p in messages]
    send = conn.send

    def run() -> int:
        return sum(len(send(event)) for event in events)

    return run, lambda: None


class _EchoProtocol(asyncio.Protocol):
    """The server side of one connection: every event from ``events()``
    handled as uvicorn's wsproto protocol handles it, messages echoed."""

    def __init__(self) -> None:
        from wsproto import ConnectionType, WSConnection

        self.conn = WSConnection(ConnectionType.SERVER)
        self.transport: Optional[asyncio.Transport] = None
        self.parts: List[Any] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        from wsproto.utilities import RemoteProtocolError

        try:
            self.conn.receive_data(data)
        except RemoteProtocolError as err:
            assert self.transport is not None
            if err.event_hint is not None:
                self.transport.write(self.conn.send(err.event_hint))
            self.transport.close()
            return
        self.handle_events()

    def eof_received(self) -> None:
        pass

    def handle_events(self) -> None:
        from wsproto import events

        transport, send = self.transport, self.conn.send
        assert transport is not None
        for event in self.conn.events():
            if isinstance(event, (events.TextMessage, events.BytesMessage)):
                if not event.message_finished:
                    self.parts.append(event.data)
                    continue
                data: Any = event.data
                if self.parts:
                    self.parts.append(data)
                    data = ("" if isinstance(data, str) else b"").join(self.parts)
                    self.parts = []
                transport.write(send(events.Message(data=data)))
            elif isinstance(event, events.Request):
                transport.write(send(events.AcceptConnection()))
            elif isinstance(event, events.CloseConnection):
                transport.write(send(event.response()))
                transport.close()
            elif isinstance(event, events.Ping):
                transport.write(send(event.response()))


async def _echo_server() -> Tuple[int, Callable[[], Awaitable[None]]]:
    """``_EchoProtocol`` served with ``loop.create_server()``."""
    server = await asyncio.get_running_loop().create_server(_EchoProtocol, lb.LOOPBACK, 0)
    port: int = server.sockets[0].getsockname()[1]

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return port, stop


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=True)
    data_frames = [p for op, p in small if op in (1, 2)]
    large_blob = lb.large_stream(masked=True)
    messages = lb.small_messages()
    big = [(True, lb.text_64k())]
    return [
        Case("recv/10k-small",
             "Connection(SERVER).receive_data + events(), 10k small masked frames (text, binary, pings)",
             lambda: _receive(small_blob), len(data_frames), sum(map(len, data_frames))),
        Case("recv/64KiB-text", "Connection(SERVER).receive_data + events(), 100 masked text frames of 64 KiB",
             lambda: _receive(large_blob), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "Connection(SERVER).send, 10k small messages (unmasked)",
             lambda: _send(messages, False), len(messages), sum(len(p) for _, p in messages)),
        Case("send/10k-small-client", "Connection(CLIENT).send, 10k small messages (masked)",
             lambda: _send(messages, True), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "Connection(SERVER).send, one 64 KiB text message (unmasked)",
             lambda: _send(big, False), 1, lb.LARGE_SIZE),
        Case("send/64KiB-client", "Connection(CLIENT).send, one 64 KiB text message (masked)",
             lambda: _send(big, True), 1, lb.LARGE_SIZE),
        *lb.echo_cases("asyncio Protocol on WSConnection(SERVER)", _echo_server),
    ]
