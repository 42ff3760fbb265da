"""The aiohttp adapter answers every byte stream as aiohttp does.

The same streams go through aiohttp's own compiled reader (the one
``aiohttp.web_ws`` uses) and through wsfast's replacement, on both wsfast
backends: the queue must hold the same messages (types, data, extra, sizes),
``feed_data`` must return the same, the same error must be set at the same
point (type, close code, text), and the transport must be paused and resumed
at the same moments. Random frames with random chunking and random draining,
then crafted invalid streams. The writer and the mask function are compared
the same way.
"""

from __future__ import annotations

import asyncio
import random
import struct
import types
import zlib
from typing import Any, Iterator, List, Optional, Tuple

import pytest

aiohttp = pytest.importorskip("aiohttp")

from aiohttp._websocket import reader_c  # noqa: E402
from aiohttp._websocket import writer as aiohttp_writer  # noqa: E402
from aiohttp._websocket.mask import _websocket_mask_cython  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import wsfast  # noqa: E402
from wsfast import dropin  # noqa: E402
from wsfast.dropin import aiohttp as adapter  # noqa: E402

LIMIT_4MIB = 4 * 2**20


class Protocol:
    """The stream below the queue: records pauses and resumes."""

    def __init__(self, log: List[Any]) -> None:
        self._reading_paused = False
        self._log = log

    def pause_reading(self) -> None:
        self._reading_paused = True
        self._log.append("pause")

    def resume_reading(self) -> None:
        self._reading_paused = False
        self._log.append("resume")


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def glue(ws: types.SimpleNamespace) -> Any:
    return adapter.glue(ws)


def _error(exc: Optional[BaseException]) -> Any:
    if exc is None:
        return None
    cause = exc.__cause__
    return (type(exc), getattr(exc, "code", None), str(exc), type(cause) if cause else None)


def _message(msg: Any, size: int) -> Any:
    return (type(msg), msg.type, type(msg.data), msg.data, msg.extra, size)


def run(
    module: Any,
    loop: asyncio.AbstractEventLoop,
    chunks: List[bytes],
    *,
    max_msg_size: int = LIMIT_4MIB,
    compress: bool = False,
    decode_text: bool = True,
    limit: int = 2**16,
    drains: Optional[List[int]] = None,
) -> List[Any]:
    """Everything observable from feeding ``chunks`` to one reader and
    draining ``drains[i]`` messages after chunk ``i`` (all by default)."""
    log: List[Any] = []
    queue = module.WebSocketDataQueue(Protocol(log), limit, loop=loop)
    reader = module.WebSocketReader(queue, max_msg_size, compress=compress, decode_text=decode_text)
    for i, chunk in enumerate(chunks):
        log.append(("feed", reader.feed_data(chunk)))
        budget = len(queue._buffer) if drains is None else drains[i % len(drains)]
        while budget and queue._buffer:
            budget -= 1
            size = queue._buffer[0][1]
            log.append(_message(loop.run_until_complete(queue.read()), size))
    while queue._buffer:
        size = queue._buffer[0][1]
        log.append(_message(loop.run_until_complete(queue.read()), size))
    log.append(("error", _error(queue.exception()), queue.is_eof()))
    return log


def assert_same(glue: Any, loop: asyncio.AbstractEventLoop, chunks: List[bytes], **kwargs: Any) -> List[Any]:
    expected = run(reader_c, loop, chunks, **kwargs)
    assert run(glue, loop, chunks, **kwargs) == expected
    return expected


# ---------------------------------------------------------------------------
# Frames


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: Optional[bytes] = None,
    length_form: int = 0,
) -> bytes:
    """A frame as the wire carries it; ``length_form`` 126/127 forces a
    longer (non-minimal) length encoding than needed."""
    n = len(payload)
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    bit = 0x80 if mask is not None else 0
    if length_form == 127 or n > 0xFFFF:
        head = struct.pack("!BBQ", first, bit | 127, n)
    elif length_form == 126 or n > 125:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BB", first, bit | n)
    if mask is None:
        return head + payload
    return head + mask + wsfast.apply_mask(payload, mask)


def deflate(payload: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data


def split(data: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


TEXTS = [b"", b"hello", "h\u00e9llo \U0001f600".encode(), b"\xff\xfe", b"\xe2\x82", "\u20ac".encode() * 50]

frame_specs = st.tuples(
    st.sampled_from([0, 1, 2, 8, 9, 10, 0, 1, 2, 3, 11]),  # opcode, invalid ones now and then
    st.one_of(
        st.sampled_from(TEXTS),
        st.binary(max_size=300),
        st.sampled_from([b"\x03\xe8", b"\x03\xe8bye", b"\x03\xed", b"\x0b\xb8", b"\x13\x88", b"\x03", b"\x03\xe8\xff"]),
    ),
    st.booleans(),  # fin
    st.sampled_from([0, 0, 0, 0, 4, 2, 1]),  # rsv bits
    st.one_of(st.none(), st.binary(min_size=4, max_size=4)),  # mask
    st.sampled_from([0, 0, 0, 126, 127]),  # length form
)


def build(specs: List[Tuple[Any, ...]], compress: bool) -> bytes:
    out = []
    for opcode, payload, fin, rsv, mask, form in specs:
        if compress and rsv == 4 and opcode in (1, 2):
            payload = deflate(payload)
        out.append(frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length_form=form))
    return b"".join(out)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    specs=st.lists(frame_specs, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=8),
    drains=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4),
    max_msg_size=st.sampled_from([0, 1, 5, 126, 300, LIMIT_4MIB]),
    limit=st.sampled_from([1, 16, 2**16]),
    compress=st.booleans(),
    decode_text=st.booleans(),
)
def test_random_streams(
    glue: Any,
    loop: asyncio.AbstractEventLoop,
    specs: List[Tuple[Any, ...]],
    cuts: List[int],
    drains: List[int],
    max_msg_size: int,
    limit: int,
    compress: bool,
    decode_text: bool,
) -> None:
    data = build(specs, compress)
    assert_same(
        glue,
        loop,
        split(data, cuts),
        max_msg_size=max_msg_size,
        limit=limit,
        compress=compress,
        decode_text=decode_text,
        drains=drains,
    )


@pytest.mark.parametrize("step", [1, 3, 7, 64, 10**9])
def test_valid_mix_one_byte_at_a_time_and_more(glue: Any, loop: asyncio.AbstractEventLoop, step: int) -> None:
    rnd = random.Random(step)
    data = b"".join(
        frame(rnd.choice([1, 2]), rnd.choice(TEXTS[:3] + [bytes(200), bytes(70000)]), mask=rnd.choice([None, b"abcd"]))
        for _ in range(40)
    )
    log = assert_same(glue, loop, [data[i : i + step] for i in range(0, len(data), step)])
    assert sum(1 for item in log if item[0] is aiohttp.WSMessage) > 0


MASK = b"\x01\x02\x03\x04"

INVALID = {
    "bad-utf8": frame(1, b"ok \xff", mask=MASK),
    "truncated-utf8": frame(1, b"\xe2\x82", mask=MASK),
    "bad-utf8-fragmented": frame(1, b"\xe2", fin=False, mask=MASK) + frame(0, b"\x82\xff", mask=MASK),
    "close-code-999": frame(8, b"\x03\xe7", mask=MASK),
    "close-code-1004": frame(8, b"\x03\xec"),
    "close-code-1005": frame(8, b"\x03\xed", mask=MASK),
    "close-code-2999": frame(8, b"\x0b\xb7", mask=MASK),
    "close-code-5000": frame(8, b"\x13\x88", mask=MASK),
    "close-one-byte": frame(8, b"\x03", mask=MASK),
    "close-one-byte-unmasked": frame(8, b"\x03"),
    "close-bad-reason": frame(8, b"\x03\xe8\xff", mask=MASK),
    "rsv1": frame(1, b"x", rsv=4, mask=MASK),
    "rsv2": frame(2, b"x", rsv=2, mask=MASK),
    "rsv3": frame(2, b"x", rsv=1),
    "rsv1-on-ping": frame(9, b"x", rsv=4, mask=MASK),
    "opcode-3": frame(3, b"", mask=MASK),
    "opcode-15": frame(15, b""),
    "oversize": frame(2, bytes(5000), mask=MASK),
    "oversize-64bit": struct.pack("!BBQ", 0x82, 0xFF, 2**63 + 5) + MASK,
    "oversize-fragments": frame(2, bytes(3000), fin=False, mask=MASK) + frame(0, bytes(1200), mask=MASK),
    "fragmented-ping": frame(9, b"p", fin=False, mask=MASK),
    "long-ping": frame(9, bytes(126), mask=MASK),
    "continuation-without-start": frame(0, b"x", mask=MASK),
    "text-inside-message": frame(1, b"a", fin=False, mask=MASK) + frame(1, b"b", mask=MASK),
    "text-inside-message-fin0": frame(1, b"a", fin=False) + frame(2, b"b", fin=False),
    "non-minimal-lengths": frame(1, b"short", length_form=126, mask=MASK) + frame(2, b"x", length_form=127),
    "ping-between-fragments": frame(1, b"a", fin=False, mask=MASK) + frame(9, b"p", mask=MASK) + frame(0, b"b", mask=MASK),
    "empty-close": frame(8, b"", mask=MASK),
    "after-error": frame(1, b"\xff", mask=MASK) + frame(1, b"lost", mask=MASK),
}


@pytest.mark.parametrize("name", sorted(INVALID))
@pytest.mark.parametrize("step", [1, 5, 10**9])
@pytest.mark.parametrize("compress", [False, True])
def test_crafted_streams(glue: Any, loop: asyncio.AbstractEventLoop, name: str, step: int, compress: bool) -> None:
    data = INVALID[name] + frame(2, b"trailing", mask=MASK)
    assert_same(glue, loop, [data[i : i + step] for i in range(0, len(data), step)], max_msg_size=4096, compress=compress)


def test_errors_are_aiohttp_errors(glue: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Not just equal to aiohttp's: the codes are the ones RFC 6455 asks for."""
    codes = {}
    for name in ("bad-utf8", "close-code-999", "rsv2", "oversize", "continuation-without-start"):
        log = run(glue, loop, [INVALID[name]], max_msg_size=4096)
        kind, code, _, _ = log[-1][1]
        assert kind is aiohttp.WebSocketError
        codes[name] = code
    assert codes == {
        "bad-utf8": 1007,
        "close-code-999": 1002,
        "rsv2": 1002,
        "oversize": 1009,
        "continuation-without-start": 1002,
    }


def test_stall_and_resume(glue: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Over the queue's high-water mark the reader parks the rest and goes
    on when the queue drains, exactly as aiohttp's does."""
    data = b"".join(frame(2, bytes(40), mask=MASK) for _ in range(50))
    log = assert_same(glue, loop, [data], limit=16, drains=[0])
    assert "pause" in log and "resume" in log
    assert sum(1 for item in log if item[0] is aiohttp.WSMessage) == 50


def test_reader_with_a_foreign_queue(glue: Any, loop: asyncio.AbstractEventLoop) -> None:
    """aiohttp's pure queue works with the replacement reader too."""
    from aiohttp._websocket import reader_py

    log: List[Any] = []
    queue = reader_py.WebSocketDataQueue(Protocol(log), 16, loop=loop)
    reader = glue.WebSocketReader(queue, LIMIT_4MIB, compress=False, decode_text=True)
    data = b"".join(frame(1, b"abc", mask=MASK) for _ in range(20))
    assert reader.feed_data(data) == (False, b"")
    assert queue._stalled_reader is not None
    got = []
    while queue._buffer:
        got.append(loop.run_until_complete(queue.read()).data)
    assert got == ["abc"] * 20


# ---------------------------------------------------------------------------
# Mask and writer


@pytest.mark.parametrize("n", [0, 1, 3, 4, 15, 16, 17, 125, 4096, 65537])
def test_websocket_mask(glue: Any, n: int) -> None:
    data = bytes(random.Random(n).getrandbits(8) for _ in range(n))
    expected, got = bytearray(data), bytearray(data)
    _websocket_mask_cython(b"\x9a\x01\xff\x42", expected)
    assert glue.websocket_mask(b"\x9a\x01\xff\x42", got) is None
    assert got == expected


def test_websocket_mask_refuses_what_aiohttp_refuses(glue: Any) -> None:
    with pytest.raises(AssertionError):
        glue.websocket_mask(b"abc", bytearray(4))
    with pytest.raises(TypeError):
        glue.websocket_mask(b"abcd", b"read-only")


class Transport:
    def __init__(self) -> None:
        self.writes: List[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing


def _writer(use_mask: bool, seed: int) -> Any:
    protocol = types.SimpleNamespace(_paused=False)
    return aiohttp_writer.WebSocketWriter(protocol, Transport(), use_mask=use_mask, random=random.Random(seed))


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("n", [0, 1, 125, 126, 16384, 16385, 65535, 65536, 2**20])
@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_writer_same_writes(glue: Any, use_mask: bool, n: int, kind: Any) -> None:
    original = aiohttp_writer.WebSocketWriter.__dict__["_write_websocket_frame"]
    message = kind(bytes(random.Random(n).getrandbits(8) for _ in range(min(n, 997))) * (n // 997 + 1))[:n]
    for opcode, rsv in ((1, 0), (2, 0), (9, 0), (8, 0), (1, 0x40)):
        a, b = _writer(use_mask, n), _writer(use_mask, n)
        original(a, message, opcode, rsv)
        glue.write_websocket_frame(b, message, opcode, rsv)
        assert b.transport.writes == a.transport.writes
        assert b._output_size == a._output_size


def test_writer_closing_transport(glue: Any) -> None:
    w = _writer(True, 1)
    w.transport.closing = True
    with pytest.raises(aiohttp.ClientConnectionResetError):
        glue.write_websocket_frame(w, b"x", 1, 0)
    assert w.transport.writes == []


# ---------------------------------------------------------------------------
# Patching


def test_patch_replaces_and_unpatch_restores(ws: types.SimpleNamespace) -> None:
    import aiohttp._websocket.reader
    import aiohttp.client
    import aiohttp.http
    import aiohttp.web_ws

    before = {
        "reader": aiohttp.web_ws.WebSocketReader,
        "queue": aiohttp.client.WebSocketDataQueue,
        "public": aiohttp.http.WebSocketReader,
        "mask": aiohttp_writer.websocket_mask,
        "write": aiohttp_writer.WebSocketWriter.__dict__["_write_websocket_frame"],
        "helpers": aiohttp._websocket.helpers.websocket_mask,
    }
    glue = adapter.glue(ws)
    try:
        assert dropin._patch_with(ws, ("aiohttp",)) == ["aiohttp"]
        assert aiohttp.web_ws.WebSocketReader is glue.WebSocketReader
        assert aiohttp.client.WebSocketReader is glue.WebSocketReader
        assert aiohttp._websocket.reader.WebSocketDataQueue is glue.WebSocketDataQueue
        assert aiohttp.web_ws.WebSocketDataQueue is glue.WebSocketDataQueue
        assert aiohttp.http.WebSocketReader is glue.WebSocketReader
        assert aiohttp_writer.websocket_mask is glue.websocket_mask
        assert aiohttp_writer.WebSocketWriter._write_websocket_frame is glue.write_websocket_frame
        # aiohttp's own tests check this binding to know its build is whole.
        assert aiohttp._websocket.helpers.websocket_mask is before["helpers"]
    finally:
        wsfast.unpatch("aiohttp")
    assert aiohttp.web_ws.WebSocketReader is before["reader"]
    assert aiohttp.client.WebSocketDataQueue is before["queue"]
    assert aiohttp.http.WebSocketReader is before["public"]
    assert aiohttp_writer.websocket_mask is before["mask"]
    assert aiohttp_writer.WebSocketWriter.__dict__["_write_websocket_frame"] is before["write"]
