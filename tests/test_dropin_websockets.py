"""The websockets adapter: a patched websockets answers every byte stream
exactly as the unpatched one (events, what it sends back, its state, the
exception it keeps, its limits), on both wsfast backends."""

from __future__ import annotations

import itertools
import logging
import types
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsfast import dropin

from .dropin_streams import BAD_UTF8, raw_frame, split, streams

pytest.importorskip("websockets")
import websockets.frames
from websockets.frames import Frame, Opcode
from websockets.protocol import CLIENT, SERVER, Protocol, State

_VERSION = dropin._installed_version(dropin._adapter("websockets"))
if not dropin._in_range(_VERSION or "", dropin._adapter("websockets").TESTED):
    pytest.skip(f"the adapter refuses websockets {_VERSION} (outside the versions it was tested on)", allow_module_level=True)

KEY = b"\x37\xfa\x21\x3d"


@pytest.fixture
def patch_websockets(ws: types.SimpleNamespace) -> Iterator[Callable[[], None]]:
    """Call it to patch websockets with the backend under test; unpatched
    after."""

    def apply() -> None:
        assert dropin._patch_with(ws, ("websockets",)) == ["websockets"]

    try:
        yield apply
    finally:
        dropin.unpatch("websockets")


def describe(event: Any) -> Tuple[Any, ...]:
    if isinstance(event, Frame):
        return ("frame", event.opcode, type(event.data), bytes(event.data), event.fin, event.rsv1, event.rsv2, event.rsv3)
    return ("other", repr(event))


def predictable_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mask keys from a counter, so that what two runs send compares."""
    counter = itertools.count()
    monkeypatch.setattr(websockets.frames.secrets, "token_bytes", lambda n: bytes([next(counter) % 256]) * n)


def through_protocol(
    chunks: Sequence[bytes], side: Any, max_size: Any = 2**20, eof: bool = True
) -> List[Tuple[Any, ...]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        predictable_keys(monkeypatch)
        return _through_protocol(chunks, side, max_size, eof)


def _through_protocol(chunks: Sequence[bytes], side: Any, max_size: Any, eof: bool) -> List[Tuple[Any, ...]]:
    proto = Protocol(side, state=State.OPEN, max_size=max_size)
    seen: List[Tuple[Any, ...]] = []
    for chunk in [*chunks, None] if eof else chunks:
        try:
            if chunk is None:
                proto.receive_eof()
            else:
                proto.receive_data(chunk)
        except Exception as exc:
            seen.append(("raised", type(exc), str(exc)))
        seen.extend(describe(e) for e in proto.events_received())
        seen.append(("sent", [bytes(d) for d in proto.data_to_send()]))
        exc = proto.parser_exc
        seen.append(
            ("state", proto.state, proto.close_code, proto.close_reason, proto.current_size,
             type(exc), str(exc), len(proto.reader.buffer))
        )
    return seen


def both(chunks: Sequence[bytes], patch: Callable[[], None], side: Any = SERVER, **kw: Any) -> None:
    expected = through_protocol(chunks, side, **kw)
    patch()
    got = through_protocol(chunks, side, **kw)
    dropin.unpatch("websockets")
    assert got == expected


def masked(opcode: int, payload: bytes, **kw: Any) -> bytes:
    return raw_frame(opcode, payload, mask=KEY, **kw)


CRAFTED = {
    "text": masked(1, "héllo 😀".encode()),
    "binary 0/125/126/65536": b"".join(masked(2, bytes(n)) for n in (0, 125, 126, 65536)),
    "fragments with ping": masked(1, b"ab", fin=False) + masked(9, b"p") + masked(0, b"cd"),
    "bad utf-8 (not checked by the protocol)": masked(1, b"ok\xff"),
    "non-minimal 16": masked(2, b"x" * 10, width=16),
    "non-minimal 64": masked(2, b"x" * 200, width=64),
    "rsv1": masked(1, b"x", rsv=4),
    "rsv2 on ping": masked(9, b"x", rsv=2),
    "opcode 3": masked(3, b""),
    "fragmented ping": masked(9, b"", fin=False),
    "ping 126": masked(9, bytes(126)),
    "unmasked at server": raw_frame(2, b"abc"),
    "unexpected continuation": masked(0, b"abc"),
    "text inside text": masked(1, b"a", fin=False) + masked(1, b"b"),
    "close empty": masked(8, b""),
    "close 1 byte": masked(8, b"\x03"),
    "close 999": masked(8, b"\x03\xe7"),
    "close 1005": masked(8, b"\x03\xed"),
    "close 3000 bad reason": masked(8, b"\x0b\xb8\xff"),
    "close 4999 then more": masked(8, b"\x13\x87bye") + masked(1, b"after"),
    "close inside fragments": masked(1, b"a", fin=False) + masked(8, b"\x03\xe8"),
    "oversize frame": masked(2, bytes(3000)),
    "oversize message": masked(2, bytes(600), fin=False) + masked(0, bytes(600)),
    "truncated at eof": masked(2, bytes(300))[:-5],
    "truncated header at eof": masked(2, bytes(300))[:3],
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.parametrize("cut", ["whole", "bytes", "sevens"])
def test_crafted_streams_server(name: str, cut: str, patch_websockets: Callable[[], None]) -> None:
    data = CRAFTED[name]
    if cut == "whole":
        chunks = [data]
    elif cut == "bytes":
        chunks = split(data, range(len(data))) if len(data) < 2000 else split(data, range(0, len(data), 997))
    else:
        chunks = split(data, range(0, len(data), 7))
    both(chunks, patch_websockets, max_size=1000)


@pytest.mark.parametrize("max_size", [None, 1000, (1000, 100)])
def test_limits(max_size: Any, patch_websockets: Callable[[], None]) -> None:
    data = masked(1, bytes(90), fin=False) + masked(0, bytes(150), fin=False) + masked(0, bytes(900))
    both([data], patch_websockets, max_size=max_size)
    both(split(data, range(0, len(data), 50)), patch_websockets, max_size=max_size)


def test_client_side(patch_websockets: Callable[[], None]) -> None:
    data = raw_frame(1, "日本".encode()) + raw_frame(2, bytes(300), fin=False) + raw_frame(0, b"x")
    data += raw_frame(9, b"ping") + raw_frame(8, b"\x03\xe8")
    for chunks in ([data], split(data, range(0, len(data), 5))):
        both(chunks, patch_websockets, side=CLIENT)
    both([masked(2, b"masked at client")], patch_websockets, side=CLIENT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=streams(masked=True), eof=st.booleans())
def test_random_streams_server(chunks: List[bytes], eof: bool, patch_websockets: Callable[[], None]) -> None:
    both(chunks, patch_websockets, max_size=500, eof=eof)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=streams(masked=False))
def test_random_streams_client(chunks: List[bytes], patch_websockets: Callable[[], None]) -> None:
    both(chunks, patch_websockets, side=CLIENT)


def test_bad_close_reasons(patch_websockets: Callable[[], None]) -> None:
    for bad in BAD_UTF8:
        both([masked(8, b"\x03\xe8" + bad)], patch_websockets)


def test_debug_logging_keeps_websockets_loop(patch_websockets: Callable[[], None]) -> None:
    logger = logging.getLogger("wsfast.test.debug")
    logger.setLevel(logging.DEBUG)

    def run() -> Any:
        records: List[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
        logger.addHandler(handler)
        try:
            proto = Protocol(SERVER, state=State.OPEN, logger=logger)
            proto.receive_data(masked(1, b"hi") + masked(2, b"\x00"))
            proto.receive_eof()
            return [describe(e) for e in proto.events_received()], records
        finally:
            logger.removeHandler(handler)

    expected = run()
    patch_websockets()
    assert run() == expected
    assert any("TEXT" in r for r in expected[1])


def test_serialize_is_byte_identical(patch_websockets: Callable[[], None]) -> None:
    frames = [Frame(Opcode.TEXT, "héllo".encode()), Frame(Opcode.BINARY, bytes(126)), Frame(Opcode.BINARY, bytearray(70000)),
              Frame(Opcode.BINARY, memoryview(b"abcdef")[::2]), Frame(Opcode.CONT, b"", fin=False),
              Frame(Opcode.PING, b""), Frame(Opcode.CLOSE, b"\x03\xe8bye"),
              Frame(Opcode.PING, bytes(126)), Frame(Opcode.PONG, b"", fin=False), Frame(Opcode.TEXT, b"x", rsv2=True)]

    def run() -> List[Any]:
        out: List[Any] = []
        with pytest.MonkeyPatch.context() as monkeypatch:
            predictable_keys(monkeypatch)
            for frame in frames:
                for mask in (False, True):
                    try:
                        out.append(frame.serialize(mask=mask))
                    except Exception as exc:
                        out.append((type(exc), str(exc)))
        return out

    expected = run()
    patch_websockets()
    assert run() == expected


def test_apply_mask_same_results_and_errors(patch_websockets: Callable[[], None]) -> None:
    cases: List[Tuple[Any, Any]] = [(b"hello", KEY), (bytearray(100), bytearray(KEY)), (memoryview(b"abcdefgh")[1::2], KEY),
                                    (b"ab", b"abc"), ("ab", KEY), (b"ab", None)]

    def run() -> List[Any]:
        out: List[Any] = []
        for data, key in cases:
            try:
                out.append(websockets.frames.apply_mask(data, key))
            except Exception as exc:
                out.append((type(exc), str(exc)))
        return out

    expected = run()
    patch_websockets()
    assert run() == expected


def test_unpatch_restores_identity(ws: types.SimpleNamespace) -> None:
    before = (vars(Protocol)["parse"], vars(Frame)["serialize"], websockets.frames.apply_mask)
    dropin._patch_with(ws, ("websockets",))
    try:
        assert vars(Protocol)["parse"] is not before[0]
    finally:
        dropin.unpatch("websockets")
    assert (vars(Protocol)["parse"], vars(Frame)["serialize"], websockets.frames.apply_mask) == before
    assert vars(Protocol)["parse"] is before[0] and websockets.frames.apply_mask is before[2]




def test_overridden_recv_frame_is_called(patch_websockets: Callable[[], None]) -> None:
    """A subclass that overrides recv_frame sees every frame, patched too."""

    class Recording(Protocol):
        def recv_frame(self, frame: Frame) -> None:
            self.seen.append(frame.opcode)
            super().recv_frame(frame)

    def run() -> List[Any]:
        proto = Recording(SERVER, state=State.OPEN)
        proto.seen = []
        proto.receive_data(masked(1, b"a", fin=False) + masked(0, b"b") + masked(10, b"") + masked(2, b"c"))
        return [proto.seen, [describe(e) for e in proto.events_received()]]

    expected = run()
    patch_websockets()
    assert run() == expected
    assert expected[0] == [Opcode.TEXT, Opcode.CONT, Opcode.PONG, Opcode.BINARY]


def test_permessage_deflate_connection_keeps_websockets_loop(patch_websockets: Callable[[], None]) -> None:
    """With permessage-deflate negotiated, RSV1 means compressed: the frames
    go through websockets' own loop and extension, patched or not."""
    import zlib

    from websockets.extensions.permessage_deflate import PerMessageDeflate

    def deflate(data: bytes) -> bytes:
        compressor = zlib.compressobj(wbits=-15)
        return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]

    stream = (
        masked(1, deflate("héllo".encode()), rsv=4)
        + masked(2, b"plain")
        + masked(0, b"x", rsv=4)  # RSV1 on a continuation: refused
    )

    def run(chunks: List[bytes]) -> List[Any]:
        proto = Protocol(SERVER, state=State.OPEN)
        proto.extensions = [PerMessageDeflate(False, False, 15, 15)]
        seen: List[Any] = []
        for chunk in chunks:
            proto.receive_data(chunk)
            seen += [describe(e) for e in proto.events_received()]
        seen.append((proto.close_code, proto.close_reason, type(proto.parser_exc), str(proto.parser_exc)))
        return seen

    for chunks in ([stream], split(stream, range(0, len(stream), 3))):
        expected = run(chunks)
        patch_websockets()
        assert run(chunks) == expected
        dropin.unpatch("websockets")
    assert expected[0][3] == "héllo".encode()
