"""websocket-client through its public blocking API: ``create_connection()``
to a raw server on 127.0.0.1, ``recv()`` of what the server sends
(unmasked, as servers send), ``send()`` / ``send_binary()`` of masked
frames the server only counts."""

from __future__ import annotations

import importlib
from typing import Any, List, Tuple

from . import Case
from . import _loopback as lb


def _receive(blob: bytes, count: int) -> Tuple[Any, Any]:
    websocket: Any = importlib.import_module("websocket")

    server = lb.ThreadServer(blob)
    ws = websocket.create_connection(server.url)

    def run() -> Tuple[int, int, Any]:
        server.feed()
        total = 0
        message: Any = None
        for _ in range(count):
            message = ws.recv()
            total += len(message)
        return count, total, message

    def close() -> None:
        ws.sock.close()
        server.close()

    return run, close


def _send(messages: List[Tuple[bool, bytes]]) -> Tuple[Any, Any]:
    websocket: Any = importlib.import_module("websocket")

    server = lb.ThreadServer()
    ws = websocket.create_connection(server.url)
    wire = sum(lb.sent_size(len(p), True) for _, p in messages)
    prepared = [(p.decode(), websocket.ABNF.OPCODE_TEXT) if text else (p, websocket.ABNF.OPCODE_BINARY)
                for text, p in messages]

    def run() -> int:
        for payload, opcode in prepared:
            ws.send(payload, opcode)
        server.wait_received(wire)
        return wire

    def close() -> None:
        ws.sock.close()
        server.close()

    return run, close


def _format(size: int) -> Tuple[Any, Any]:
    ABNF: Any = importlib.import_module("websocket").ABNF

    frame = ABNF.create_frame(lb.text_64k()[:size], ABNF.OPCODE_BINARY)
    frame.get_mask_key = lambda n: b"\x37\xfa\x21\x3d"
    return frame.format, (lambda: None)


def cases() -> List[Case]:
    small_blob, small = lb.small_stream(masked=False)
    data_frames = [p for op, p in small if op in (1, 2)]
    large_blob = lb.large_stream(masked=False)
    messages = lb.small_messages()
    return [
        Case("format/64KiB", "ABNF.create_frame(64 KiB, OPCODE_BINARY).format(): the masked frame to send",
             lambda: _format(lb.LARGE_SIZE), 1, lb.LARGE_SIZE),
        Case("format/125B", "ABNF.create_frame(125 B, OPCODE_BINARY).format()",
             lambda: _format(125), 1, 125),
        Case("recv/10k-small", "WebSocket.recv(), 10k small frames (text, binary, pings answered)",
             lambda: _receive(small_blob, len(data_frames)), len(data_frames), sum(map(len, data_frames))),
        Case("recv/64KiB-text", "WebSocket.recv(), 100 text messages of 64 KiB",
             lambda: _receive(large_blob, lb.LARGE_COUNT), lb.LARGE_COUNT, lb.LARGE_COUNT * lb.LARGE_SIZE),
        Case("send/10k-small", "WebSocket.send(), 10k small messages (masked)",
             lambda: _send(messages), len(messages), sum(len(p) for _, p in messages)),
        Case("send/64KiB", "WebSocket.send(), one 64 KiB binary message (masked)",
             lambda: _send([(False, lb.text_64k())]), 1, lb.LARGE_SIZE),
    ]
