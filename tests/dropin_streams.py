"""Byte streams for the drop-in differential tests: frames built field by
field, so that they can break any rule (non-minimal lengths, RSV bits,
missing or unexpected masks, bad UTF-8, bad close codes), and a hypothesis
strategy for streams of them split into random chunks."""

from __future__ import annotations

import struct
from typing import List, Optional, Sequence

from hypothesis import strategies as st


def raw_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: Optional[bytes] = None,
    width: Optional[int] = None,
) -> bytes:
    """One frame; ``width`` forces the length field (7, 16 or 64 bits)
    whatever the payload length, ``mask`` masks it with that key."""
    length = len(payload)
    if width is None:
        width = 7 if length <= 125 else 16 if length <= 0xFFFF else 64
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    flag = 0x80 if mask is not None else 0
    if width == 7:
        head.append(flag | length)
    elif width == 16:
        head.append(flag | 126)
        head += struct.pack("!H", length)
    else:
        head.append(flag | 127)
        head += struct.pack("!Q", length)
    if mask is not None:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


def split(data: bytes, cuts: Sequence[int]) -> List[bytes]:
    """``data`` cut at the given offsets (taken modulo its length, sorted)."""
    if not data:
        return [data]
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


TEXTS = ["", "hello", "héllo wörld", "日本語のテキスト", "emoji 😀🎉", "a" * 130]
BAD_UTF8 = [b"\xff", b"abc\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\xf4\x90\x80\x80", b"\xe2\x82", b"\xf0\x9f\x98"]


@st.composite
def frames(draw: st.DrawFn, *, masked: bool) -> bytes:
    """A frame that is usually valid and sometimes breaks one rule."""
    kind = draw(st.sampled_from(["text", "text", "binary", "binary", "cont", "ping", "pong", "close", "odd"]))
    fin = draw(st.booleans()) if kind in ("text", "binary", "cont") else True
    if kind in ("text", "cont") and draw(st.booleans()):
        payload = draw(st.sampled_from(TEXTS)).encode()
        if draw(st.integers(0, 9)) == 0:
            payload += draw(st.sampled_from(BAD_UTF8))
    elif kind == "close":
        code = draw(st.sampled_from([None, 1000, 1001, 1005, 1006, 1012, 1015, 999, 2999, 3000, 4999, 5000, 1004, 1016]))
        if code is None:
            payload = draw(st.sampled_from([b"", b"\x03"]))
        else:
            reason = draw(st.sampled_from([b"", b"bye", "é".encode(), b"\xff"]))
            payload = struct.pack("!H", code) + reason
    else:
        payload = draw(st.binary(max_size=300))
    opcode = {"text": 1, "binary": 2, "cont": 0, "ping": 9, "pong": 10, "close": 8}.get(kind)
    if opcode is None:
        opcode = draw(st.sampled_from([3, 7, 0xB, 0xF]))
    if opcode & 8 and draw(st.integers(0, 4)) == 0:
        payload = payload + bytes(130)  # oversize control frame
    if opcode & 8 and draw(st.integers(0, 9)) == 0:
        fin = False
    rsv = draw(st.sampled_from([0] * 12 + [1, 2, 4, 7]))
    width = None
    if draw(st.integers(0, 9)) == 0:
        width = draw(st.sampled_from([16, 64]))
    is_masked = masked if draw(st.integers(0, 14)) else not masked
    key = draw(st.binary(min_size=4, max_size=4)) if is_masked else None
    return raw_frame(opcode, payload, fin=fin, rsv=rsv, mask=key, width=width)


@st.composite
def streams(draw: st.DrawFn, *, masked: bool) -> List[bytes]:
    """Frames back to back, cut into chunks at random offsets."""
    data = b"".join(draw(st.lists(frames(masked=masked), max_size=8)))
    cuts = draw(st.lists(st.integers(0, 1 << 16), max_size=6))
    return split(data, cuts)
