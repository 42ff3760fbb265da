"""What the harnesses share: loading both backends under atheris'
instrumentation, building byte streams (random or mostly valid frames) and
chunkings from the fuzz data, and recording what a parser does with them.

Every harness compares the compiled backend, once per SIMD level this CPU
has, with the pure-Python one on the same input, and raises ``Mismatch`` (a
finding) when they differ in anything observable: frames, events, error
types, close codes, reasons, the events riding on an error, validator
positions, masked bytes.
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import Any, Callable, List, Optional, Sequence, Tuple

import atheris

with atheris.instrument_imports(include=["wsfast"]):
    from wsfast import _backend, _env
    from wsfast._errors import ProtocolError

    PURE = _backend.load("python")
    try:
        COMPILED: Optional[Any] = _backend.load("cython")
    except ImportError:
        if os.environ.get("WSFAST_EXTENSIONS") == "1":
            raise
        COMPILED = None

#: SIMD level indexes the compiled backend can run here (each one is tried).
LEVELS: List[int] = []
if COMPILED is not None:
    for level in range(len(_env.SIMD_LEVELS)):
        chosen = COMPILED.select_kernels(level)
        if chosen["mask"] in (_env.SIMD_LEVELS[level], "neon") and level not in LEVELS:
            LEVELS.append(level)
    COMPILED.select_kernels(-1)


class Mismatch(AssertionError):
    """The backends (or a backend and the reference) disagree."""


def each_compiled() -> Any:
    """Iterate ``(level name, compiled api)`` with that level's kernels
    selected; the best level is selected again at the end."""
    if COMPILED is None:
        return
    try:
        for level in LEVELS:
            COMPILED.select_kernels(level)
            yield _env.SIMD_LEVELS[level], COMPILED
    finally:
        COMPILED.select_kernels(-1)


def check_same(what: str, expected: Any, got: Any, level: str) -> None:
    if expected != got:
        raise Mismatch(f"{what}: pure {expected!r} != compiled[{level}] {got!r}")


# ---------------------------------------------------------------------------
# fuzz data helpers

SIZES = (0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 124, 125, 126, 127, 128, 255, 300)
LIMITS: Tuple[Optional[int], ...] = (None, None, 2**20, 0, 1, 3, 10, 125, 126, 200)
CLOSE_CODES = (1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014, 1015, 1016,
               2999, 3000, 3999, 4000, 4999, 5000, 0, 999, 65535)
BAD_UTF8 = (b"\xff", b"\xc0\x80", b"\xc1\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xe2\x82", b"\xf0\x9f\x98",
            b"\xf4\x90\x80\x80", b"\xf5", b"\xc3", b"\x80", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf")


def pick(fdp: Any, items: Sequence[Any]) -> Any:
    return items[fdp.ConsumeIntInRange(0, len(items) - 1)]


def some_bytes(fdp: Any) -> bytes:
    """Fuzz bytes, or a sized run (so long payloads and SIMD tails occur)."""
    if fdp.ConsumeBool():
        return bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)))
    n = pick(fdp, SIZES)
    seed = bytes(fdp.ConsumeBytes(4)) or b"\x00"
    return (seed * (n // len(seed) + 1))[:n]


def some_text(fdp: Any, bad: bool) -> bytes:
    """UTF-8 text; with ``bad``, one broken sequence spliced in somewhere."""
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40)).encode("utf-8")
    if fdp.ConsumeBool():
        text = pick(fdp, (b"a", "\u00e9".encode(), "\u20ac".encode(), "\U0001f600".encode())) * pick(fdp, SIZES) + text
    if bad:
        at = fdp.ConsumeIntInRange(0, len(text))
        text = text[:at] + pick(fdp, BAD_UTF8) + text[at:]
    return text


def xor(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def frame_bytes(first: int, payload: bytes, key: Optional[bytes], enc: int, length: Optional[int] = None) -> bytes:
    """A frame by hand (independent of the encoders under test)."""
    n = len(payload) if length is None else length
    mbit = 0x80 if key is not None else 0
    if enc == 7:
        head = bytes([first, mbit | (n & 0x7F)])
    elif enc == 16:
        head = bytes([first, mbit | 126]) + (n & 0xFFFF).to_bytes(2, "big")
    else:
        head = bytes([first, mbit | 127]) + (n & (2**64 - 1)).to_bytes(8, "big")
    if key is None:
        return head + payload
    return head + key + xor(payload, key)


def deflate(payload: bytes) -> bytes:
    """One message compressed as permessage-deflate without context takeover
    sends it (RFC 7692 §7.2.1: the sync-flush tail removed)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def structured_stream(fdp: Any, client: bool, compressed: bool = False) -> bytes:
    """Mostly valid frames, each possibly breaking one rule. ``compressed``:
    permessage-deflate is on, so whole data messages are often compressed
    (RSV1), and now and then a compressed payload is corrupt."""
    out = bytearray()
    for _ in range(fdp.ConsumeIntInRange(0, 8)):
        flavour = fdp.ConsumeIntInRange(0, 19)
        opcode = pick(fdp, (0, 1, 2, 0, 1, 2, 8, 9, 10))
        fin = fdp.ConsumeIntInRange(0, 3) != 0
        rsv = 0
        masked = not client
        enc = 0
        length: Optional[int] = None
        if opcode == 1 or (opcode == 0 and fdp.ConsumeBool()):
            payload = some_text(fdp, bad=flavour == 1)
        elif opcode == 8:
            code = pick(fdp, CLOSE_CODES)
            reason = some_text(fdp, bad=flavour == 1)[:100]
            payload = (code.to_bytes(2, "big") + reason)[: pick(fdp, (200, 200, 200, 0, 1, 2))]
        else:
            payload = some_bytes(fdp)
        if opcode >= 8 and flavour != 2:
            payload, fin = payload[:125], True
        if flavour == 3:
            rsv = fdp.ConsumeIntInRange(1, 7)
        elif flavour == 4:
            opcode = fdp.ConsumeIntInRange(0, 15)
        elif flavour == 5:
            masked = client
        elif flavour == 6:
            enc = pick(fdp, (16, 64))
        elif flavour == 7:
            # A declared length that is not what follows: huge, MSB set, short.
            length = pick(fdp, (2**63, 2**64 - 1, 2**31, 2**32 + 5, 65536, len(payload) + 1, 0))
        elif flavour == 8:
            out += fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 12))
            continue
        elif compressed and flavour in (9, 10, 11, 12) and opcode in (1, 2):
            rsv = 4
            if flavour == 12:
                payload = some_bytes(fdp)
            else:
                if flavour == 11:
                    payload = payload * pick(fdp, (100, 1000, 5000))  # inflates well past its frame
                payload = deflate(payload)
        if not enc:
            n = len(payload) if length is None else length
            enc = 7 if n < 126 else 16 if n < 65536 else 64
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        key = (bytes(fdp.ConsumeBytes(4)) + b"\x00\x00\x00\x00")[:4] if masked else None
        out += frame_bytes(first, payload, key, enc, length)
    return bytes(out)


def stream(fdp: Any, client: bool, compressed: bool = False) -> bytes:
    if fdp.ConsumeIntInRange(0, 3) == 0:
        return bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 600)))
    return structured_stream(fdp, client, compressed)


def chunking(fdp: Any, data: bytes) -> List[bytes]:
    """``data`` cut anywhere: whole, byte by byte, fixed steps or fuzzed cuts
    (empty chunks included)."""
    style = fdp.ConsumeIntInRange(0, 3)
    n = len(data)
    if style == 0 or n == 0:
        return [data]
    if style == 1:
        return [data[i : i + 1] for i in range(n)]
    if style == 2:
        step = fdp.ConsumeIntInRange(1, 17)
        return [data[i : i + step] for i in range(0, n, step)]
    chunks = []
    at = 0
    while at < n and fdp.remaining_bytes():
        step = fdp.ConsumeIntInRange(0, 64)
        chunks.append(data[at : at + step])
        at += step
    chunks.append(data[at:])
    return chunks


# ---------------------------------------------------------------------------
# recording


def norm(event: Any) -> Tuple[Any, ...]:
    name = type(event).__name__
    if name == "Frame":
        return ("Frame", bool(event.fin), bool(event.rsv1), bool(event.rsv2), bool(event.rsv3),
                int(event.opcode), bytes(event.payload))
    if name == "Message":
        return ("Message", int(event.opcode), event.data)
    if name in ("Ping", "Pong"):
        return (name, bytes(event.payload))
    if name == "Close":
        return ("Close", event.code, event.reason)
    raise Mismatch(f"unexpected event type {name}: {event!r}")


def record(parser: Any, chunks: List[bytes]) -> List[Any]:
    """Per chunk, the events or the error; after an error, what a later
    ``feed()`` does (it must fail the same way)."""
    out: List[Any] = []
    for chunk in chunks:
        try:
            events = parser.feed(chunk)
        except ProtocolError as exc:
            out.append(("error", type(exc).__name__, exc.close_code, exc.reason, [norm(e) for e in exc.events]))
            try:
                parser.feed(b"\x81")
            except ProtocolError as again:
                out.append(("again", type(again).__name__, again.close_code, again.reason, len(again.events)))
            else:
                raise Mismatch("the parser took more data after failing")
            return out
        out.append([norm(e) for e in events])
    return out


def run(test_one_input: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
