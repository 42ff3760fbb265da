"""MessageReader: message assembly, text validation as the bytes arrive,
control events between fragments, close payloads."""

from __future__ import annotations

from typing import Any, List

import pytest

from wsfast import InvalidUTF8, MessageTooBig, Opcode, ProtocolError

from .test_codec_rules import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    PONG,
    ROLES,
    SPLIT_IDS,
    TEXT,
    M,
    feed_all,
    header_len,
    norm,
    run,
    split_bytes,
    wire,
)

EDGE_TEXT = "".join(
    chr(c)
    for c in (
        0x00, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000,
        0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF,
    )
)


@pytest.mark.parametrize("split", SPLIT_IDS)
@pytest.mark.parametrize("client", ROLES)
def test_valid_utf8_edges_accepted(ws: Any, client: bool, split: str) -> None:
    data = EDGE_TEXT.encode()
    stream = wire(client, TEXT, data)
    # The same text with one fragment per byte.
    stream += wire(client, TEXT, data[:1], fin=False)
    for i in range(1, len(data)):
        stream += wire(client, CONT, data[i : i + 1], fin=i == len(data) - 1)
    got = feed_all(ws.MessageReader(client=client), stream, split)
    assert got == [M(TEXT, EDGE_TEXT), M(TEXT, EDGE_TEXT)]


@pytest.mark.parametrize("client", ROLES)
def test_binary_is_not_validated(ws: Any, client: bool) -> None:
    junk = b"\xff\xfe\xed\xa0\x80\xc0\x80\xe2\x82"
    stream = wire(client, BINARY, junk) + wire(client, BINARY, junk[:5], fin=False)
    stream += wire(client, CONT, junk[5:])
    for split in SPLIT_IDS:
        got = feed_all(ws.MessageReader(client=client), stream, split)
        assert got == [M(BINARY, junk), M(BINARY, junk)]


@pytest.mark.parametrize("client", ROLES)
def test_message_opcode_is_that_of_first_fragment(ws: Any, client: bool) -> None:
    stream = wire(client, BINARY, b"a", fin=False) + wire(client, CONT, b"b")
    stream += wire(client, TEXT, b"c", fin=False) + wire(client, CONT, b"d")
    (binary, text) = ws.MessageReader(client=client).feed(stream)
    assert binary.opcode == Opcode.BINARY and binary.data == b"ab"
    assert text.opcode == Opcode.TEXT and text.data == "cd"


@pytest.mark.parametrize("client", ROLES)
def test_utf8_state_does_not_leak_between_messages(ws: Any, client: bool) -> None:
    # A binary message ending inside a "sequence", then text starting with a
    # continuation byte: the text is invalid on its own.
    stream = wire(client, BINARY, b"\xe2\x82") + wire(client, TEXT, b"\xac")
    with pytest.raises(InvalidUTF8) as info:
        ws.MessageReader(client=client).feed(stream)
    assert [norm(e) for e in info.value.events] == [M(BINARY, b"\xe2\x82")]
    # A valid text message after a fragmented one.
    stream = wire(client, TEXT, b"\xe2", fin=False) + wire(client, CONT, b"\x82\xac")
    stream += wire(client, TEXT, b"ok")
    for split in SPLIT_IDS:
        got = feed_all(ws.MessageReader(client=client), stream, split)
        assert got == [M(TEXT, "\u20ac"), M(TEXT, "ok")]


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("bad", [b"\xff", b"\xed\xa0", b"\xc0"])
def test_utf8_error_in_non_final_fragment_is_immediate(
    ws: Any, client: bool, bad: bytes
) -> None:
    frag = wire(client, TEXT, b"abc" + bad + b"def", fin=False)
    mr = ws.MessageReader(client=client)
    with pytest.raises(InvalidUTF8) as info:
        mr.feed(wire(client, PING, b"x") + frag)
    assert info.value.close_code == 1007
    assert [norm(e) for e in info.value.events] == [("Ping", b"x")]
    # Byte by byte: at the last byte of ``bad`` at the latest.
    mr = ws.MessageReader(client=client)
    _events, exc, start, _end = run(mr, split_bytes(frag))
    assert type(exc) is InvalidUTF8
    assert start == header_len(frag) + 3 + len(bad) - 1


@pytest.mark.parametrize("client", ROLES)
def test_utf8_fail_fast_in_a_large_frame(ws: Any, client: bool) -> None:
    """A 1 MiB text frame whose byte 100 is invalid is refused with the first
    1 KiB chunk, long before the frame is complete."""
    payload = bytearray(b"a" * 2**20)
    payload[100] = 0xFF
    frame = wire(client, TEXT, bytes(payload))
    mr = ws.MessageReader(client=client, max_message_size=None)
    with pytest.raises(InvalidUTF8):
        mr.feed(frame[:1024])
    # The same for a continuation frame.
    mr = ws.MessageReader(client=client, max_message_size=None)
    assert mr.feed(wire(client, TEXT, b"\xe2\x82", fin=False)) == []
    frame = wire(client, CONT, b"\xac" + bytes(payload))
    with pytest.raises(InvalidUTF8):
        mr.feed(frame[:1024])


@pytest.mark.parametrize("client", ROLES)
def test_utf8_never_refused_early(ws: Any, client: bool) -> None:
    """A text frame fed byte by byte: each prefix of a valid sequence is
    accepted, whatever code point boundary the chunk ends on."""
    data = ("x\u00e9\u0800\u20ac\ud7ff\ue000\U00010000\U0010ffff" * 3).encode()
    frame = wire(client, TEXT, data)
    for step in (1, 2, 3, 5):
        mr = ws.MessageReader(client=client)
        events: List[Any] = []
        for i in range(0, len(frame), step):
            events += [norm(e) for e in mr.feed(frame[i : i + step])]
        assert events == [M(TEXT, data.decode())]


# ---------------------------------------------------------------------------
# Close


@pytest.mark.parametrize("client", ROLES)
def test_close_events(ws: Any, client: bool) -> None:
    cases = [
        (b"", ("Close", 1005, "")),
        (b"\x03\xe8", ("Close", 1000, "")),
        (b"\x03\xe9going", ("Close", 1001, "going")),
        (b"\x03\xf3" + "\u00e9t\u00e9 \U0001f600".encode(), ("Close", 1011, "\u00e9t\u00e9 \U0001f600")),
        (b"\x0b\xb8x", ("Close", 3000, "x")),
        (b"\x13\x87" + b"r" * 123, ("Close", 4999, "r" * 123)),
    ]
    for payload, expected in cases:
        for split in ("whole", "bytewise", "random1"):
            got = feed_all(ws.MessageReader(client=client), wire(client, CLOSE, payload), split)
            assert got == [expected]
    (event,) = ws.MessageReader(client=client).feed(wire(client, CLOSE, b"\x03\xe8ok"))
    assert event.code == 1000 and event.reason == "ok" and type(event.reason) is str


@pytest.mark.parametrize("client", ROLES)
def test_close_between_fragments(ws: Any, client: bool) -> None:
    stream = (
        wire(client, TEXT, b"a", fin=False)
        + wire(client, CLOSE, b"\x03\xe8")
        + wire(client, CONT, b"b")
    )
    for split in SPLIT_IDS:
        got = feed_all(ws.MessageReader(client=client), stream, split)
        assert got == [("Close", 1000, ""), M(TEXT, "ab")]


@pytest.mark.parametrize("client", ROLES)
def test_bad_close_payload_between_fragments(ws: Any, client: bool) -> None:
    stream = (
        wire(client, TEXT, b"a", fin=False)
        + wire(client, PING, b"p")
        + wire(client, CLOSE, b"\x03\xedx")  # 1005
        + wire(client, CONT, b"b")
    )
    mr = ws.MessageReader(client=client)
    with pytest.raises(ProtocolError) as info:
        mr.feed(stream)
    assert type(info.value) is ProtocolError and info.value.close_code == 1002
    assert [norm(e) for e in info.value.events] == [("Ping", b"p")]


@pytest.mark.parametrize("client", ROLES)
def test_error_events_are_in_order_and_complete(ws: Any, client: bool) -> None:
    good = (
        wire(client, PING, b"1")
        + wire(client, TEXT, b"two")
        + wire(client, BINARY, b"th", fin=False)
        + wire(client, PONG, b"4")
        + wire(client, CONT, b"ree")
        + wire(client, CLOSE, b"\x03\xe8five")
    )
    bad = wire(client, PING, b"x" * 126)
    mr = ws.MessageReader(client=client)
    with pytest.raises(ProtocolError) as info:
        mr.feed(good + bad)
    assert [norm(e) for e in info.value.events] == [
        ("Ping", b"1"),
        M(TEXT, "two"),
        ("Pong", b"4"),
        M(BINARY, b"three"),
        ("Close", 1000, "five"),
    ]
    # Earlier calls keep what they returned; only the failing call's events ride.
    mr = ws.MessageReader(client=client)
    first = [norm(e) for e in mr.feed(good[:12])]
    with pytest.raises(ProtocolError) as info:
        mr.feed(good[12:] + bad)
    assert first + [norm(e) for e in info.value.events] == [
        ("Ping", b"1"),
        M(TEXT, "two"),
        ("Pong", b"4"),
        M(BINARY, b"three"),
        ("Close", 1000, "five"),
    ]
    with pytest.raises(ProtocolError) as again:
        mr.feed(b"")
    assert again.value.close_code == 1002 and list(again.value.events) == []


@pytest.mark.parametrize("client", ROLES)
def test_too_big_keeps_earlier_events(ws: Any, client: bool) -> None:
    mr = ws.MessageReader(client=client, max_message_size=10)
    stream = wire(client, PING, b"p") + wire(client, BINARY, b"0123456789")
    stream += wire(client, BINARY, b"01234", fin=False) + wire(client, PONG, b"q")
    stream += wire(client, CONT, b"567890")
    with pytest.raises(MessageTooBig) as info:
        mr.feed(stream)
    assert info.value.close_code == 1009
    assert [norm(e) for e in info.value.events] == [
        ("Ping", b"p"),
        M(BINARY, b"0123456789"),
        ("Pong", b"q"),
    ]


# ---------------------------------------------------------------------------
# Fail fast through the UTF-8 kernels: every SIMD level, bad bytes at and
# around the kernels' block boundaries, chunks that end anywhere.

BAD_SEQUENCES = [
    (b"\xff", 0),
    (b"\x80", 0),
    (b"\xc0\x80", 0),
    (b"\xe0\x9f\x80", 1),
    (b"\xed\xa0\x80", 1),
    (b"\xf0\x8f\xbf\xbf", 1),
    (b"\xf4\x90\x80\x80", 1),
    (b"\xe2\x82A", 2),
    (b"\xf0\x9f\x98A", 3),
    (b"\xf8\x88\x80\x80\x80", 0),
]


def _valid_prefix(n: int) -> bytes:
    """``n`` bytes of valid UTF-8 mixing 1- to 4-byte code points."""
    unit = "\U0001f600a\u20ac\u00e9".encode()
    data = (unit * (n // len(unit) + 1))[: n - n % len(unit)]
    return data + b"z" * (n - len(data))


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 1000])
def test_utf8_fail_fast_every_kernel(wsk: Any, n: int) -> None:
    prefix = _valid_prefix(n)
    prefix.decode()
    for bad, bad_at in BAD_SEQUENCES:
        payload = prefix + bad + b"q" * 70
        frame = wire(True, TEXT, payload)
        cut = header_len(frame) + n + bad_at  # offset of the first bad byte
        # Up to the bad byte: accepted; the bad byte: refused.
        mr = wsk.MessageReader(client=True)
        assert mr.feed(frame[:cut]) == []
        with pytest.raises(InvalidUTF8):
            mr.feed(frame[cut : cut + 1])
        # The bad byte last in a long chunk, or in its middle.
        for end in (cut + 1, cut + 40):
            mr = wsk.MessageReader(client=True)
            with pytest.raises(InvalidUTF8):
                mr.feed(frame[:end])
        # The same as the second fragment of a message.
        first = wire(True, TEXT, prefix[: n // 2], fin=False)
        second = wire(True, CONT, prefix[n // 2 :] + bad + b"q" * 70)
        cut2 = len(first) + header_len(second) + (n - n // 2) + bad_at
        stream = first + second
        mr = wsk.MessageReader(client=True)
        assert mr.feed(stream[:cut2]) == []
        with pytest.raises(InvalidUTF8):
            mr.feed(stream[cut2 : cut2 + 1])


@pytest.mark.parametrize("n", [1, 31, 32, 33, 64, 65, 1000])
def test_utf8_valid_in_any_pieces_every_kernel(wsk: Any, n: int) -> None:
    text = _valid_prefix(n).decode() + "\u20ac\U0001f600" * 20
    data = text.encode()
    frame = wire(False, TEXT, data)
    for step in (1, 2, 3, 7, 16, 31, 32, 33, 64, 65):
        mr = wsk.MessageReader(client=False)
        events: List[Any] = []
        for i in range(0, len(frame), step):
            events += [norm(e) for e in mr.feed(frame[i : i + step])]
        assert events == [M(TEXT, text)], step
