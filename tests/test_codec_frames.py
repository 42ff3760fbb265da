"""Frame parsing: the RFC 6455 §5.7 examples, round trips through
``encode_frame`` at every length-encoding boundary, and any chunking of the
stream (every split point of a frame included)."""

from __future__ import annotations

import random
from typing import Any, List

import pytest

import wsfast
from wsfast import Opcode

from .test_codec_rules import (
    BINARY,
    CLOSE,
    CONT,
    KEY,
    KEYS,
    PING,
    PONG,
    ROLES,
    TEXT,
    F,
    M,
    feed_all,
    header_len,
    norm,
    raw_frame,
    run,
    split_bytes,
    split_random,
    wire,
    xor,
)

H = bytes.fromhex

# ---------------------------------------------------------------------------
# RFC 6455 §5.7 examples

HELLO = H("810548656c6c6f")
HELLO_MASKED = H("818537fa213d7f9f4d5158")
FRAG1 = H("010348656c")
FRAG2 = H("80026c6f")
PING_HELLO = H("890548656c6c6f")
PONG_MASKED = H("8a8537fa213d7f9f4d5158")
BIN256 = H("827E0100") + bytes(range(256))
BIN64K = H("827F0000000000010000") + bytes(range(256)) * 256


def _parse_all_ways(parser_factory: Any, data: bytes) -> List[Any]:
    """Parse ``data`` whole, byte by byte (if small) and in random splits;
    all must agree; return the result."""
    results = [feed_all(parser_factory(), data, "whole")]
    if len(data) <= 300:
        results.append(feed_all(parser_factory(), data, "bytewise"))
    for seed in range(3):
        chunks = split_random(data, seed, max(4, len(data) // 7))
        events, exc, _, _ = run(parser_factory(), chunks)
        assert exc is None
        results.append(events)
    for r in results[1:]:
        assert r == results[0]
    return results[0]


def test_rfc_unmasked_text(ws: Any) -> None:
    frames = _parse_all_ways(lambda: ws.FrameParser(client=True), HELLO)
    assert frames == [F(TEXT, b"Hello")]
    events = _parse_all_ways(lambda: ws.MessageReader(client=True), HELLO)
    assert events == [M(TEXT, "Hello")]
    assert ws.encode_frame(Opcode.TEXT, b"Hello") == HELLO
    assert ws.encode_frame(1, "Hello") == HELLO


def test_rfc_masked_text(ws: Any) -> None:
    frames = _parse_all_ways(lambda: ws.FrameParser(client=False), HELLO_MASKED)
    assert frames == [F(TEXT, b"Hello")]
    events = _parse_all_ways(lambda: ws.MessageReader(client=False), HELLO_MASKED)
    assert events == [M(TEXT, "Hello")]
    assert ws.encode_frame(Opcode.TEXT, b"Hello", mask=KEY) == HELLO_MASKED
    assert ws.encode_frame(Opcode.TEXT, "Hello", mask=bytearray(KEY)) == HELLO_MASKED
    assert ws.encode_frame(Opcode.TEXT, "Hello", mask=memoryview(KEY)) == HELLO_MASKED


def test_rfc_fragmented_text(ws: Any) -> None:
    frames = _parse_all_ways(lambda: ws.FrameParser(client=True), FRAG1 + FRAG2)
    assert frames == [F(TEXT, b"Hel", fin=False), F(CONT, b"lo")]
    events = _parse_all_ways(lambda: ws.MessageReader(client=True), FRAG1 + FRAG2)
    assert events == [M(TEXT, "Hello")]
    assert ws.encode_frame(Opcode.TEXT, b"Hel", fin=False) == FRAG1
    assert ws.encode_frame(Opcode.CONTINUATION, b"lo") == FRAG2


def test_rfc_ping_pong(ws: Any) -> None:
    assert _parse_all_ways(lambda: ws.FrameParser(client=True), PING_HELLO) == [
        F(PING, b"Hello")
    ]
    assert _parse_all_ways(lambda: ws.MessageReader(client=True), PING_HELLO) == [
        ("Ping", b"Hello")
    ]
    assert _parse_all_ways(lambda: ws.FrameParser(client=False), PONG_MASKED) == [
        F(PONG, b"Hello")
    ]
    assert _parse_all_ways(lambda: ws.MessageReader(client=False), PONG_MASKED) == [
        ("Pong", b"Hello")
    ]
    assert ws.encode_frame(Opcode.PING, b"Hello") == PING_HELLO
    assert ws.encode_frame(Opcode.PONG, b"Hello", mask=KEY) == PONG_MASKED


def test_rfc_256_bytes(ws: Any) -> None:
    payload = bytes(range(256))
    assert _parse_all_ways(lambda: ws.FrameParser(client=True), BIN256) == [F(BINARY, payload)]
    assert _parse_all_ways(lambda: ws.MessageReader(client=True), BIN256) == [M(BINARY, payload)]
    assert ws.encode_frame(Opcode.BINARY, payload) == BIN256


def test_rfc_64k(ws: Any) -> None:
    payload = bytes(range(256)) * 256
    assert _parse_all_ways(lambda: ws.FrameParser(client=True), BIN64K) == [F(BINARY, payload)]
    assert _parse_all_ways(lambda: ws.MessageReader(client=True), BIN64K) == [
        M(BINARY, payload)
    ]
    assert ws.encode_frame(Opcode.BINARY, payload) == BIN64K
    assert ws.encode_frame(Opcode.BINARY, payload, mask=KEY) == (
        H("82FF0000000000010000") + KEY + xor(payload, KEY)
    )


def test_frame_fields_and_types(ws: Any) -> None:
    (frame,) = ws.FrameParser(client=False).feed(HELLO_MASKED)
    assert frame.fin is True or frame.fin == 1
    assert not frame.rsv1 and not frame.rsv2 and not frame.rsv3
    assert frame.opcode == Opcode.TEXT
    assert type(frame.payload) is bytes and frame.payload == b"Hello"
    (first, second) = ws.FrameParser(client=True).feed(FRAG1 + FRAG2)
    assert not first.fin and first.opcode == Opcode.TEXT
    assert second.fin and second.opcode == Opcode.CONTINUATION
    (message,) = ws.MessageReader(client=True).feed(BIN256)
    assert message.opcode == Opcode.BINARY and type(message.data) is bytes
    (message,) = ws.MessageReader(client=True).feed(HELLO)
    assert message.opcode == Opcode.TEXT and type(message.data) is str


def test_event_classes_compare(ws: Any) -> None:
    events = ws.MessageReader(client=True).feed(
        HELLO + PING_HELLO + H("8a00") + BIN256 + H("880403e86f6b") + H("8800")
    )
    assert events == [
        ws.Message(Opcode.TEXT, "Hello"),
        ws.Ping(b"Hello"),
        ws.Pong(b""),
        ws.Message(Opcode.BINARY, bytes(range(256))),
        ws.Close(1000, "ok"),
        ws.Close(1005, ""),
    ]
    assert events[0] != ws.Message(Opcode.TEXT, "Hellx")
    assert events[1] != ws.Pong(b"Hello")
    frames = ws.FrameParser(client=True).feed(HELLO)
    assert frames == [ws.Frame(True, False, False, False, Opcode.TEXT, b"Hello")]
    assert frames != [ws.Frame(False, False, False, False, Opcode.TEXT, b"Hello")]
    # The event classes are the package's own.
    if wsfast.IMPLEMENTATION == ws.IMPLEMENTATION:
        assert ws.Message is wsfast.Message and ws.Close is wsfast.Close


# ---------------------------------------------------------------------------
# Round trips at the length boundaries

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 2**20]


def _text_of_length(n: int) -> bytes:
    """Valid UTF-8 of exactly ``n`` bytes, with 2-, 3- and 4-byte code points."""
    unit = "a\u00e9\u20ac\U0001f600".encode()  # 1 + 2 + 3 + 4 bytes
    data = unit * (n // len(unit))
    data += b"z" * (n - len(data))
    assert len(data) == n
    data.decode("utf-8")
    return data


def _binary_of_length(n: int) -> bytes:
    rng = random.Random(n)
    return bytes(rng.getrandbits(8) for _ in range(min(n, 4096))) * (n // 4096 + 1)


_PAYLOADS = {}


def _payload(kind: str, n: int) -> bytes:
    if (kind, n) not in _PAYLOADS:
        _PAYLOADS[kind, n] = (_text_of_length if kind == "text" else _binary_of_length)(n)[:n]
    return _PAYLOADS[kind, n]


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("kind", ["text", "binary"])
@pytest.mark.parametrize("client", ROLES)
def test_round_trip(ws: Any, n: int, kind: str, client: bool) -> None:
    payload = _payload(kind, n)
    opcode = TEXT if kind == "text" else BINARY
    # A client parser reads what a server sends: unmasked; a server reads masked.
    mask = None if client else True
    frame = ws.encode_frame(opcode, payload, mask=mask)
    head = 2 + (0 if n < 126 else 2 if n < 65536 else 8) + (0 if client else 4)
    assert len(frame) == head + n
    if client:
        assert frame == raw_frame(opcode, payload)
    else:
        assert frame == raw_frame(opcode, payload, key=frame[head - 4 : head])
    text = payload.decode() if kind == "text" else payload

    splits = ["whole", "kib"]
    if n <= 127:
        splits.append("bytewise")
    if n >= 65535:
        splits.append("odd")
    for split in splits:
        if split == "whole":
            chunks = [frame]
        elif split == "kib":
            chunks = [frame[i : i + 1024] for i in range(0, len(frame), 1024)]
        elif split == "odd":
            chunks = [frame[i : i + 4093] for i in range(0, len(frame), 4093)]
        else:
            chunks = split_bytes(frame)
        fp = ws.FrameParser(client=client, max_frame_size=None)
        mr = ws.MessageReader(client=client, max_message_size=None)
        frames: List[Any] = []
        events: List[Any] = []
        for chunk in chunks:
            frames.extend(norm(f) for f in fp.feed(chunk))
            events.extend(norm(e) for e in mr.feed(chunk))
        assert frames == [F(opcode, payload)], split
        assert events == [M(opcode, text)], split


@pytest.mark.parametrize("n", [0, 125, 126, 65535, 65536])
def test_round_trip_given_keys(ws: Any, n: int) -> None:
    payload = _payload("binary", n)
    for key in KEYS:
        frame = ws.encode_frame(BINARY, payload, mask=key)
        assert frame == raw_frame(BINARY, payload, key=key)
        assert feed_all(ws.FrameParser(client=False, max_frame_size=None), frame) == [
            F(BINARY, payload)
        ]


@pytest.mark.parametrize("client", ROLES)
def test_text_code_points_split_across_fragments(ws: Any, client: bool) -> None:
    text = "a\u00e9\u20ac\U0001f600z"
    data = text.encode()
    # Every way to cut the bytes into three fragments.
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            stream = (
                wire(client, TEXT, data[:i], fin=False)
                + wire(client, PING, b"%d" % i)
                + wire(client, CONT, data[i:j], fin=False)
                + wire(client, CONT, data[j:])
            )
            assert feed_all(ws.MessageReader(client=client), stream) == [
                ("Ping", b"%d" % i),
                M(TEXT, text),
            ]
    # One fragment per byte, fed byte by byte.
    stream = wire(client, TEXT, data[:1], fin=False)
    for k in range(1, len(data) - 1):
        stream += wire(client, CONT, data[k : k + 1], fin=False)
    stream += wire(client, CONT, data[-1:])
    for split in ("whole", "bytewise"):
        assert feed_all(ws.MessageReader(client=client), stream, split) == [M(TEXT, text)]


@pytest.mark.parametrize("client", ROLES)
def test_many_frames_in_one_chunk(ws: Any, client: bool) -> None:
    rng = random.Random(7)
    stream = b""
    frames = []
    events = []
    for i in range(1000):
        kind = rng.choice(["text", "binary", "ping", "pong", "frag"])
        payload = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 5, 125, 126, 300])))
        if kind == "text":
            text = "t%d\u00e9" % i
            stream += wire(client, TEXT, text.encode(), key=None if client else KEYS[i % 5])
            frames.append(F(TEXT, text.encode()))
            events.append(M(TEXT, text))
        elif kind == "binary":
            stream += wire(client, BINARY, payload, key=None if client else KEYS[i % 5])
            frames.append(F(BINARY, payload))
            events.append(M(BINARY, payload))
        elif kind in ("ping", "pong"):
            op = PING if kind == "ping" else PONG
            stream += wire(client, op, payload[:125])
            frames.append(F(op, payload[:125]))
            events.append((kind.title(), payload[:125]))
        else:
            stream += wire(client, BINARY, payload, fin=False)
            stream += wire(client, PING, b"in")
            stream += wire(client, CONT, b"!")
            frames += [F(BINARY, payload, fin=False), F(PING, b"in"), F(CONT, b"!")]
            events += [("Ping", b"in"), M(BINARY, payload + b"!")]
    fp = ws.FrameParser(client=client)
    mr = ws.MessageReader(client=client)
    got_frames = [norm(f) for f in fp.feed(stream)]
    assert got_frames == frames
    assert [norm(e) for e in mr.feed(stream)] == events
    # And in random chunks.
    for seed in range(3):
        fp = ws.FrameParser(client=client)
        mr = ws.MessageReader(client=client)
        rnd = random.Random(seed)
        pos = 0
        got_frames, got_events = [], []
        while pos < len(stream):
            step = rnd.randint(0, 700)
            chunk = stream[pos : pos + step]
            got_frames += [norm(f) for f in fp.feed(chunk)]
            got_events += [norm(e) for e in mr.feed(chunk)]
            pos += step
        assert got_frames == frames
        assert got_events == events


@pytest.mark.parametrize("client", ROLES)
def test_every_split_point(ws: Any, client: bool) -> None:
    """A small masked (server role) or unmasked (client role) frame with a
    16-bit length, cut at every point of its header, key and payload, in two
    and in three pieces."""
    payload = bytes((i * 7 + 3) & 0xFF for i in range(130))
    frame = wire(client, BINARY, payload)
    text = ("\u00e9" * 70).encode()
    tframe = wire(client, TEXT, text)
    assert header_len(frame) == (4 if client else 8)
    n = len(frame)
    for i in range(n + 1):
        for cls, stream, expect in (
            (ws.FrameParser, frame + frame, [F(BINARY, payload)] * 2),
            (ws.MessageReader, frame + tframe, [M(BINARY, payload), M(TEXT, text.decode())]),
        ):
            parser = cls(client=client)
            got = [norm(e) for e in parser.feed(stream[:i])]
            got += [norm(e) for e in parser.feed(stream[i:])]
            assert got == expect, i
    for i in range(0, n + 1, 3):
        for j in range(i, 2 * n + 1, 5):
            parser = ws.FrameParser(client=client)
            stream = frame + frame
            got = [norm(e) for e in parser.feed(stream[:i])]
            got += [norm(e) for e in parser.feed(stream[i:j])]
            got += [norm(e) for e in parser.feed(stream[j:])]
            assert got == [F(BINARY, payload)] * 2, (i, j)


@pytest.mark.parametrize("client", ROLES)
def test_empty_frames(ws: Any, client: bool) -> None:
    stream = (
        wire(client, TEXT, b"")
        + wire(client, BINARY, b"")
        + wire(client, TEXT, b"", fin=False)
        + wire(client, CONT, b"", fin=False)
        + wire(client, CONT, b"")
        + wire(client, PING, b"")
        + wire(client, PONG, b"")
        + wire(client, CLOSE, b"")
    )
    for split in ("whole", "bytewise"):
        assert feed_all(ws.FrameParser(client=client), stream, split) == [
            F(TEXT, b""),
            F(BINARY, b""),
            F(TEXT, b"", fin=False),
            F(CONT, b"", fin=False),
            F(CONT, b""),
            F(PING, b""),
            F(PONG, b""),
            F(CLOSE, b""),
        ]
        assert feed_all(ws.MessageReader(client=client), stream, split) == [
            M(TEXT, ""),
            M(BINARY, b""),
            M(TEXT, ""),
            ("Ping", b""),
            ("Pong", b""),
            ("Close", 1005, ""),
        ]


@pytest.mark.parametrize("client", ROLES)
def test_feed_empty_returns_nothing(ws: Any, client: bool) -> None:
    for cls in (ws.FrameParser, ws.MessageReader):
        parser = cls(client=client)
        assert parser.feed(b"") == []
        frame = wire(client, BINARY, b"abc")
        for i in range(len(frame)):
            assert parser.feed(frame[i : i + 1]) == [] or i == len(frame) - 1
            parser.feed(b"")


def test_masked_payload_spanning_chunks_keeps_key_phase(ws: Any) -> None:
    """Unmasking continues the key position across chunks of every length."""
    payload = bytes(range(256)) * 40
    for key in KEYS:
        frame = raw_frame(BINARY, payload, key=key)
        for step in (1, 2, 3, 5, 7, 13, 1021):
            fp = ws.FrameParser(client=False, max_frame_size=None)
            frames: List[Any] = []
            for i in range(0, len(frame), step):
                frames += [norm(f) for f in fp.feed(frame[i : i + step])]
            assert frames == [F(BINARY, payload)], (key, step)


@pytest.mark.parametrize("client", ROLES)
def test_control_frame_in_pieces(ws: Any, client: bool) -> None:
    for op, payload in ((PING, b"p" * 125), (PONG, b"\x00\xff" * 60), (CLOSE, b"\x03\xe8bye")):
        frame = wire(client, op, payload)
        for step in (1, 2, 3, 50):
            fp = ws.FrameParser(client=client)
            mr = ws.MessageReader(client=client)
            frames: List[Any] = []
            events: List[Any] = []
            for i in range(0, len(frame), step):
                frames += [norm(f) for f in fp.feed(frame[i : i + step])]
                events += [norm(e) for e in mr.feed(frame[i : i + step])]
            assert frames == [F(op, payload)]
            expected = {PING: ("Ping", payload), PONG: ("Pong", payload)}.get(
                op, ("Close", 1000, "bye")
            )
            assert events == [expected]


# ---------------------------------------------------------------------------
# Linear time


@pytest.mark.parametrize("client", ROLES)
def test_16_mib_in_1_kib_chunks(ws: Any, client: bool) -> None:
    size = 16 * 2**20
    block = bytes(range(256)) * 4
    payload = block * (size // len(block))
    frame = raw_frame(BINARY, payload, key=None if client else KEY)
    mr = ws.MessageReader(client=client, max_message_size=None)
    mv = memoryview(frame)
    events: List[Any] = []
    for i in range(0, len(frame), 1024):
        events += mr.feed(mv[i : i + 1024])
    assert len(events) == 1
    assert events[0].opcode == Opcode.BINARY
    assert events[0].data == payload


def test_16_mib_fragmented_text(ws: Any) -> None:
    """Many fragments of a text message, code points cut at fragment and
    chunk boundaries."""
    text = ("\u20ac" * 341 + "a") * 4096  # 4 MiB
    data = text.encode()
    stream = bytearray()
    frag = 1000
    for i in range(0, len(data), frag):
        first = i == 0
        last = i + frag >= len(data)
        stream += raw_frame(TEXT if first else CONT, data[i : i + frag], fin=last)
    mr = ws.MessageReader(client=True, max_message_size=None)
    events: List[Any] = []
    for i in range(0, len(stream), 1024):
        events += mr.feed(bytes(stream[i : i + 1024]))
    assert [norm(e) for e in events] == [M(TEXT, text)]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000])
def test_unmasking_every_kernel(wsk: Any, n: int) -> None:
    """Masked payloads of lengths around the kernels' block sizes, cut at
    every offset modulo the key and at block boundaries."""
    payload = bytes((i * 31 + 7) & 0xFF for i in range(n))
    for key in KEYS:
        frame = raw_frame(BINARY, payload, key=key)
        head = header_len(frame)
        for cut in sorted({0, 1, 2, 3, 5, 16, 33, 64, n // 2, n - 1, n}):
            if not 0 <= cut <= n:
                continue
            fp = wsk.FrameParser(client=False)
            frames = [norm(f) for f in fp.feed(frame[: head + cut])]
            frames += [norm(f) for f in fp.feed(frame[head + cut :])]
            assert frames == [F(BINARY, payload)], (key, cut)
        assert wsk.encode_frame(BINARY, payload, mask=key) == frame
