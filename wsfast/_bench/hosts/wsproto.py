"""wsproto through its public sans-I/O paths: a server ``Connection`` given
masked client frames (``receive_data`` then every event from ``events()``),
and ``send()`` of messages on a client (masked) and a server (unmasked)
connection. No sockets: wsproto does no I/O, so this is all of its work."""

from __future__ import annotations

from typing import Any, List, Tuple

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
    ]
