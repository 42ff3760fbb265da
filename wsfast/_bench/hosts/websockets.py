"""websockets through its public Sans-I/O paths, the layer its asyncio,
threading and trio implementations all drive: a server ``Protocol`` given
masked client frames (``receive_data`` then ``events_received``, pongs
collected with ``data_to_send``), and ``send_text``/``send_binary`` on a
client (masked) and a server (unmasked) protocol; and end to end, an
asyncio ``serve()`` echo server answering the raw echo client of
``_loopback`` message by message."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, List, Tuple

from . import Case
from . import _loopback as lb


def _receive(blob: bytes) -> Tuple[Any, Any]:
    from websockets.protocol import SERVER, Protocol, State

    def run() -> Tuple[int, int]:
        protocol = Protocol(SERVER, state=State.OPEN, max_size=None)
        protocol.receive_data(blob)
        events: List[Any] = protocol.events_received()
        protocol.data_to_send()
        return len(events), sum(len(e.data) for e in events)

    return run, lambda: None


def _send(messages: List[Tuple[bool, bytes]], client: bool) -> Tuple[Any, Any]:
    from websockets.protocol import CLIENT, SERVER, Protocol, State

    protocol = Protocol(CLIENT if client else SERVER, state=State.OPEN)
    send_text, send_binary = protocol.send_text, protocol.send_binary

    def run() -> int:
        for is_text, payload in messages:
            if is_text:
                send_text(payload)
            else:
                send_binary(payload)
        return sum(len(d) for d in protocol.data_to_send())

    return run, lambda: None


async def _echo_server() -> Tuple[int, Callable[[], Awaitable[None]]]:
    """``websockets.asyncio.server.serve()`` echoing each message, on the
    running loop; no keepalive pings, which would land among the echoes."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    server = await serve(handler, lb.LOOPBACK, 0, ping_interval=None)
    port: int = server.sockets[0].getsockname()[1]

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return port, stop


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=True)
    large_blob = lb.large_stream(masked=True)
    messages = lb.small_messages()
    big = [(True, lb.text_64k())]
    return [
        Case("recv/10k-small",
             "Protocol(SERVER).receive_data + events_received, 10k small masked frames (text, binary, pings)",
             lambda: _receive(small_blob), len(small), sum(len(p) for _, p in small)),
        Case("recv/64KiB-text", "Protocol(SERVER).receive_data + events_received, 100 masked text frames of 64 KiB",
             lambda: _receive(large_blob), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "Protocol(SERVER).send_text/send_binary, 10k small messages (unmasked)",
             lambda: _send(messages, False), len(messages), sum(len(p) for _, p in messages)),
        Case("send/10k-small-client", "Protocol(CLIENT).send_text/send_binary, 10k small messages (masked)",
             lambda: _send(messages, True), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "Protocol(SERVER).send_text, one 64 KiB text message (unmasked)",
             lambda: _send(big, False), 1, lb.LARGE_SIZE),
        Case("send/64KiB-client", "Protocol(CLIENT).send_text, one 64 KiB text message (masked)",
             lambda: _send(big, True), 1, lb.LARGE_SIZE),
        *lb.echo_cases("websockets.asyncio.server.serve()", _echo_server),
    ]
