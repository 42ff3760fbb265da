"""Every bytes-like input is read the same way by both backends' feed(),
encode_frame() and parse_close() (issue 9, defect 3): bytes subclasses,
bytearray, memoryview (non-contiguous too), array.array and mmap."""

from __future__ import annotations

import array
import mmap
from typing import Any, Callable, Dict

import pytest

from .test_codec_rules import BINARY, CLOSE, PING, TEXT, norm, split_random, wire


class Sub(bytes):
    """A bytes subclass, with a __bytes__ that must not be what is read."""

    def __bytes__(self) -> bytes:
        return b"not the payload"


def strided(data: bytes) -> memoryview:
    """A non-contiguous view of ``data``: every other byte of a doubled copy."""
    doubled = bytearray(len(data) * 2)
    doubled[::2] = data
    view = memoryview(doubled)[::2]
    assert not view.c_contiguous
    return view


def as_mmap(data: bytes) -> Any:
    m = mmap.mmap(-1, max(len(data), 1))
    m.write(data)
    if not data:
        return memoryview(m)[:0]
    return m


KINDS: Dict[str, Callable[[bytes], Any]] = {
    "bytes-subclass": Sub,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "memoryview-strided": strided,
    "array": lambda d: array.array("B", d),
    "mmap": as_mmap,
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("client", [False, True])
def test_feed_any_buffer(ws: Any, kind: str, client: bool) -> None:
    stream = (
        wire(client, TEXT, "héllo".encode())
        + wire(client, BINARY, bytes(range(200)), fin=False)
        + wire(client, PING, b"p")
        + wire(client, 0, b"\xff" * 70000)
        + wire(client, CLOSE, b"\x03\xe8bye")
    )
    chunks = split_random(stream, 5, 4000)
    for make in (lambda: ws.FrameParser(client=client, max_frame_size=None), lambda: ws.MessageReader(client=client)):
        expected = []
        parser = make()
        for chunk in chunks:
            expected += [norm(e) for e in parser.feed(chunk)]
        parser = make()
        got = []
        for chunk in chunks:
            got += [norm(e) for e in parser.feed(KINDS[kind](chunk))]
        assert got == expected and len(got) >= 4


@pytest.mark.parametrize("kind", list(KINDS))
def test_encode_frame_any_buffer(ws: Any, kind: str) -> None:
    for payload in (b"", b"abc", bytes(range(256)) * 300):
        for mask in (None, b"\x01\x02\x03\x04"):
            expected = ws.encode_frame(BINARY, payload, mask=mask)
            got = ws.encode_frame(BINARY, KINDS[kind](payload), mask=mask)
            assert got == expected
            if mask is not None:
                assert ws.encode_frame(BINARY, payload, mask=KINDS[kind](mask)) == expected


@pytest.mark.parametrize("kind", list(KINDS))
def test_parse_close_any_buffer(ws: Any, kind: str) -> None:
    for payload in (b"", b"\x03\xe8", b"\x0f\xa0caf\xc3\xa9"):
        assert ws.parse_close(KINDS[kind](payload)) == ws.parse_close(payload)


def test_subclass_is_read_through_its_buffer(ws: Any) -> None:
    frame = wire(True, BINARY, b"payload")
    [event] = ws.MessageReader(client=True).feed(Sub(frame))
    assert event.data == b"payload" and type(event.data) is bytes
    assert ws.encode_frame(BINARY, Sub(b"xy")) == b"\x82\x02xy"
