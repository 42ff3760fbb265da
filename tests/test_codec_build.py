"""Building frames and close payloads: encode_frame, encode_close, parse_close."""

from __future__ import annotations

from typing import Any

import pytest

from wsfast import InvalidUTF8, Opcode, ProtocolError

from .test_codec_rules import BINARY, CLOSE, CONT, KEY, PING, PONG, TEXT, F, feed_all, raw_frame, xor

VALID_OPCODES = [CONT, TEXT, BINARY, CLOSE, PING, PONG]
INVALID_OPCODES = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF, 16, 0x81, -1, 256]


@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 65535, 65536, 65537, 2**20])
def test_minimal_length(ws: Any, n: int) -> None:
    payload = b"\xa5" * n
    frame = ws.encode_frame(BINARY, payload)
    if n < 126:
        assert frame[:2] == bytes([0x82, n])
        assert frame[2:] == payload
    elif n < 65536:
        assert frame[:4] == bytes([0x82, 126]) + n.to_bytes(2, "big")
        assert frame[4:] == payload
    else:
        assert frame[:10] == bytes([0x82, 127]) + n.to_bytes(8, "big")
        assert frame[10:] == payload
    masked = ws.encode_frame(BINARY, payload, mask=KEY)
    assert masked == raw_frame(BINARY, payload, key=KEY)
    # A strict parser accepts what is built.
    assert feed_all(ws.FrameParser(client=True, max_frame_size=None), frame) == [
        F(BINARY, payload)
    ]
    assert feed_all(ws.FrameParser(client=False, max_frame_size=None), masked) == [
        F(BINARY, payload)
    ]


@pytest.mark.parametrize("opcode", VALID_OPCODES)
def test_opcodes(ws: Any, opcode: int) -> None:
    frame = ws.encode_frame(opcode, b"ab")
    assert frame == bytes([0x80 | opcode, 2]) + b"ab"
    assert ws.encode_frame(Opcode(opcode), b"ab") == frame


@pytest.mark.parametrize("opcode", INVALID_OPCODES)
def test_invalid_opcode(ws: Any, opcode: int) -> None:
    with pytest.raises(ValueError):
        ws.encode_frame(opcode, b"")
    with pytest.raises(ValueError):
        ws.encode_frame(opcode, b"", mask=True)


def test_mask_true_fresh_key(ws: Any) -> None:
    payload = bytes(range(200))
    keys = set()
    for _ in range(200):
        frame = ws.encode_frame(BINARY, payload, mask=True)
        assert frame[:4] == bytes([0x82, 0x80 | 126, 0, 200])
        key = frame[4:8]
        assert len(frame) == 8 + 200
        assert xor(frame[8:], key) == payload
        keys.add(key)
    # 32-bit random keys: a repeat in 200 draws has odds of about 5e-6.
    assert len(keys) >= 199
    # Keys are not a counter or a constant: the bytes vary in every position.
    for i in range(4):
        assert len({k[i] for k in keys}) > 50
    # Parsing unmasks with the key that was chosen.
    frame = ws.encode_frame(TEXT, "\u20ac" * 10, mask=True)
    assert feed_all(ws.MessageReader(client=False), frame) == [("Message", TEXT, "\u20ac" * 10)]


def test_mask_true_small_and_empty(ws: Any) -> None:
    frame = ws.encode_frame(PING, b"", mask=True)
    assert frame[:2] == b"\x89\x80" and len(frame) == 6
    frame = ws.encode_frame(TEXT, "Hello", mask=True)
    assert frame[:2] == b"\x81\x85" and xor(frame[6:], frame[2:6]) == b"Hello"


def test_mask_none_and_false(ws: Any) -> None:
    assert ws.encode_frame(TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert ws.encode_frame(TEXT, b"Hello", mask=None) == bytes.fromhex("810548656c6c6f")
    assert ws.encode_frame(TEXT, b"Hello", mask=False) == bytes.fromhex("810548656c6c6f")


@pytest.mark.parametrize("mask", [b"", b"\x01", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05", b"\x00" * 8])
def test_bad_mask_length(ws: Any, mask: bytes) -> None:
    with pytest.raises(ValueError):
        ws.encode_frame(TEXT, b"Hello", mask=mask)
    with pytest.raises(ValueError):
        ws.encode_frame(TEXT, b"Hello", mask=bytearray(mask))


def test_mask_key_bytes_like(ws: Any) -> None:
    expected = raw_frame(BINARY, b"abcdef", key=KEY)
    assert ws.encode_frame(BINARY, b"abcdef", mask=bytearray(KEY)) == expected
    assert ws.encode_frame(BINARY, b"abcdef", mask=memoryview(b"xx" + KEY)[2:]) == expected


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_limits(ws: Any, opcode: int) -> None:
    assert len(ws.encode_frame(opcode, b"x" * 125)) == 127
    assert len(ws.encode_frame(opcode, b"x" * 125, mask=True)) == 131
    for n in (126, 127, 1000, 70000):
        with pytest.raises(ValueError):
            ws.encode_frame(opcode, b"x" * n)
        with pytest.raises(ValueError):
            ws.encode_frame(opcode, b"x" * n, mask=KEY)
    with pytest.raises(ValueError):
        ws.encode_frame(opcode, b"x", fin=False)
    with pytest.raises(ValueError):
        ws.encode_frame(opcode, b"", fin=False, mask=True)
    # A str counts in UTF-8 bytes: 63 two-byte characters are 126 bytes.
    with pytest.raises(ValueError):
        ws.encode_frame(opcode, "\u00e9" * 63)
    assert len(ws.encode_frame(opcode, "\u00e9" * 62)) == 2 + 124


def test_fin_false_data_frames(ws: Any) -> None:
    assert ws.encode_frame(TEXT, b"a", fin=False) == b"\x01\x01a"
    assert ws.encode_frame(BINARY, b"a", fin=False) == b"\x02\x01a"
    assert ws.encode_frame(CONT, b"a", fin=False) == b"\x00\x01a"
    assert ws.encode_frame(CONT, b"a") == b"\x80\x01a"


def test_str_payload_is_utf8(ws: Any) -> None:
    text = "h\u00e9\u20ac\U0001f600"
    assert ws.encode_frame(TEXT, text) == raw_frame(TEXT, text.encode("utf-8"))
    assert ws.encode_frame(TEXT, text, mask=KEY) == raw_frame(TEXT, text.encode(), key=KEY)
    assert ws.encode_frame(BINARY, text) == raw_frame(BINARY, text.encode())
    long_text = "\u20ac" * 50  # 150 bytes: 16-bit length, counted in bytes
    assert ws.encode_frame(TEXT, long_text)[:4] == b"\x81\x7e\x00\x96"


def test_bytes_like_payloads(ws: Any) -> None:
    data = bytes(range(100))
    for payload in (bytearray(data), memoryview(data), memoryview(b"zz" + data)[2:]):
        assert ws.encode_frame(BINARY, payload) == raw_frame(BINARY, data)
        assert ws.encode_frame(BINARY, payload, mask=KEY) == raw_frame(BINARY, data, key=KEY)


def test_rsv1(ws: Any) -> None:
    assert ws.encode_frame(TEXT, b"a", rsv1=True) == b"\xc1\x01a"
    assert ws.encode_frame(BINARY, b"a", rsv1=True, fin=False) == b"\x42\x01a"
    assert ws.encode_frame(TEXT, b"a", rsv1=True, mask=KEY)[:2] == b"\xc1\x81"
    assert ws.encode_frame(TEXT, b"a", rsv1=False) == b"\x81\x01a"
    # A parser with RSV1 negotiated reads it back.
    frame = ws.encode_frame(BINARY, b"zz", rsv1=True)
    assert feed_all(ws.FrameParser(client=True, rsv_allowed=4), frame) == [
        F(BINARY, b"zz", rsv=4)
    ]


def test_encode_frame_input_not_modified(ws: Any) -> None:
    buf = bytearray(b"hello world")
    ws.encode_frame(BINARY, buf, mask=KEY)
    assert buf == bytearray(b"hello world")


# ---------------------------------------------------------------------------
# Close payloads

REFUSED_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
ALLOWED_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]
ALLOWED_CODES += [3000, 3001, 3999, 4000, 4999]


@pytest.mark.parametrize("code", REFUSED_CODES)
def test_encode_close_refuses_code(ws: Any, code: int) -> None:
    with pytest.raises(ValueError):
        ws.encode_close(code)
    with pytest.raises(ValueError):
        ws.encode_close(code, "bye")


@pytest.mark.parametrize("code", REFUSED_CODES)
def test_parse_close_refuses_code(ws: Any, code: int) -> None:
    for payload in (code.to_bytes(2, "big"), code.to_bytes(2, "big") + b"bye"):
        with pytest.raises(ProtocolError) as info:
            ws.parse_close(payload)
        assert type(info.value) is ProtocolError and info.value.close_code == 1002


@pytest.mark.parametrize("code", ALLOWED_CODES)
def test_close_round_trip(ws: Any, code: int) -> None:
    for reason in ("", "bye", "\u00e9\u20ac\U0001f600", "r" * 123, "\u20ac" * 41):
        payload = ws.encode_close(code, reason)
        assert payload == code.to_bytes(2, "big") + reason.encode()
        assert ws.parse_close(payload) == (code, reason)
        assert ws.parse_close(bytearray(payload)) == (code, reason)
    assert ws.encode_close(code) == code.to_bytes(2, "big")


def test_encode_close_reason_limit(ws: Any) -> None:
    assert len(ws.encode_close(1000, "r" * 123)) == 125
    for reason in ("r" * 124, "\u00e9" * 62, "\u20ac" * 42, "\U0001f600" * 31, "r" * 1000):
        with pytest.raises(ValueError):
            ws.encode_close(1000, reason)
    # The payload fits a control frame.
    assert len(ws.encode_frame(CLOSE, ws.encode_close(4999, "\U0001f600" * 30 + "abc"))) == 127


def test_encode_close_without_code(ws: Any) -> None:
    assert ws.encode_close() == b""
    assert ws.encode_close(None) == b""
    assert ws.encode_close(None, "") == b""
    with pytest.raises(ValueError):
        ws.encode_close(None, "why")
    with pytest.raises(ValueError):
        ws.encode_close(reason="why")


def test_parse_close(ws: Any) -> None:
    assert ws.parse_close(b"") == (1005, "")
    assert ws.parse_close(b"\x03\xe8") == (1000, "")
    assert ws.parse_close(b"\x0f\xa0\xc3\xa9") == (4000, "\u00e9")
    with pytest.raises(ProtocolError) as info:
        ws.parse_close(b"\x03")
    assert type(info.value) is ProtocolError and info.value.close_code == 1002
    for bad_reason in (b"\xff", b"ab\xe2\x82", b"\xed\xa0\x80", b"\xc0\x80"):
        with pytest.raises(InvalidUTF8) as info8:
            ws.parse_close(b"\x03\xe8" + bad_reason)
        assert info8.value.close_code == 1007
    code, reason = ws.parse_close(b"\x03\xe8ok")
    assert type(code) is int or isinstance(code, int)
    assert type(reason) is str


def test_close_in_a_frame_round_trip(ws: Any) -> None:
    for code, reason in ((1000, ""), (1001, "bye"), (4321, "\u00e9" * 61)):
        frame = ws.encode_frame(CLOSE, ws.encode_close(code, reason), mask=True)
        assert feed_all(ws.MessageReader(client=False), frame) == [("Close", code, reason)]
    frame = ws.encode_frame(CLOSE, ws.encode_close())
    assert feed_all(ws.MessageReader(client=True), frame) == [("Close", 1005, "")]


@pytest.mark.parametrize("code", [65536, 2**31, 2**32 + 1000, 2**63 - 1, 2**63, 2**64 + 1000, 2**70, -1, -(2**70)])
def test_encode_close_out_of_range_code(ws: Any, code: int) -> None:
    """Codes no 16-bit field can hold are refused like any code that must
    not be sent: ValueError, whatever the size of the int."""
    with pytest.raises(ValueError):
        ws.encode_close(code)
    with pytest.raises(ValueError):
        ws.encode_close(code, "bye")


def test_encode_close_argument_types(ws: Any) -> None:
    for bad in (1000.0, "1000", b"\x03\xe8"):
        with pytest.raises(TypeError):
            ws.encode_close(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ws.encode_close(1000, b"bytes reason")  # type: ignore[arg-type]
