"""The wsproto adapter: a patched wsproto answers every byte stream exactly as
the unpatched one (events, their classes and flags, the splitting of partly
received frames, exceptions, close codes), on both wsfast backends."""

from __future__ import annotations

import os
import types
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsfast import dropin

from .dropin_streams import BAD_UTF8, raw_frame, split, streams

wsproto = pytest.importorskip("wsproto")
from wsproto.connection import CLIENT, SERVER, Connection  # noqa: E402
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage  # noqa: E402
from wsproto.frame_protocol import FrameProtocol, Opcode, XorMaskerSimple  # noqa: E402
from wsproto.utilities import LocalProtocolError  # noqa: E402

_VERSION = dropin._installed_version(dropin._adapter("wsproto"))
if not dropin._in_range(_VERSION or "", dropin._adapter("wsproto").TESTED):
    pytest.skip(f"the adapter refuses wsproto {_VERSION} (outside the versions it was tested on)", allow_module_level=True)

KEY = b"\x37\xfa\x21\x3d"


@pytest.fixture
def patch_wsproto(ws: types.SimpleNamespace) -> Iterator[Callable[[], None]]:
    """Call it to patch wsproto with the backend under test; unpatched after."""

    def apply() -> None:
        assert dropin._patch_with(ws, ("wsproto",)) == ["wsproto"]

    try:
        yield apply
    finally:
        dropin.unpatch("wsproto")


def describe(item: Any) -> Tuple[Any, ...]:
    """An event or frame with its exact types, for comparison."""
    if isinstance(item, BaseException):
        return ("raised", type(item), str(item), getattr(item, "code", None))
    if isinstance(item, tuple):  # a Frame
        payload = item.payload
        return ("frame", item.opcode, type(payload), payload, type(payload[0]) if isinstance(payload, tuple) else None, item[2:])
    return ("event", type(item), sorted(vars(item).items()), [type(v) for _, v in sorted(vars(item).items())])


def through_connection(chunks: Sequence[bytes], client: bool) -> List[Tuple[Any, ...]]:
    """Each chunk into a Connection, the events after each; the state too."""
    conn = Connection(CLIENT if client else SERVER)
    seen: List[Tuple[Any, ...]] = []
    for chunk in chunks:
        try:
            conn.receive_data(chunk)
        except LocalProtocolError as exc:
            seen.append(describe(exc))
            break
        seen.extend(describe(event) for event in conn.events())
        seen.append(("state", conn.state))
    return seen


def through_frames(chunks: Sequence[bytes], client: bool) -> List[Tuple[Any, ...]]:
    """Each chunk into a FrameProtocol, its Frame tuples after each."""
    proto = FrameProtocol(client, [])
    seen: List[Tuple[Any, ...]] = []
    for chunk in chunks:
        proto.receive_bytes(chunk)
        try:
            seen.extend(describe(frame) for frame in proto.received_frames())
        except Exception as exc:
            seen.append(describe(exc))
        seen.append(("chunk",))
    return seen


def both(chunks: Sequence[bytes], client: bool, patch: Callable[[], None]) -> None:
    expected = (through_connection(chunks, client), through_frames(chunks, client))
    patch()
    got = (through_connection(chunks, client), through_frames(chunks, client))
    dropin.unpatch("wsproto")
    assert got == expected


def masked(opcode: int, payload: bytes, **kw: Any) -> bytes:
    return raw_frame(opcode, payload, mask=KEY, **kw)


CRAFTED = {
    "text": masked(1, "héllo 😀".encode()),
    "binary 0/125/126/65536": b"".join(masked(2, bytes(n)) for n in (0, 125, 126, 65536)),
    "fragmented text split in a code point": masked(1, "😀".encode()[:2], fin=False) + masked(0, "😀".encode()[2:]),
    "ping between fragments": masked(1, b"ab", fin=False) + masked(9, b"p") + masked(0, b"cd"),
    "bad utf-8 whole": masked(1, b"ok\xff"),
    "bad utf-8 in fragment": masked(1, b"ok", fin=False) + masked(0, b"\xed\xa0\x80"),
    "truncated utf-8 at end": masked(1, b"\xe2\x82"),
    "non-minimal 16": masked(2, b"x" * 10, width=16),
    "non-minimal 64": masked(2, b"x" * 200, width=64),
    "64-bit msb": b"\x82\xff" + b"\x80" + bytes(7) + KEY,
    "rsv1": masked(1, b"x", rsv=4),
    "rsv3 on close": masked(8, b"\x03\xe8", rsv=1),
    "opcode 3": masked(3, b""),
    "opcode 0xb": masked(0xB, b"abc"),
    "fragmented ping": masked(9, b"", fin=False),
    "ping 126": masked(9, bytes(126)),
    "unmasked at server": raw_frame(2, b"abc"),
    "unexpected continuation": masked(0, b"abc"),
    "text inside text": masked(1, b"a", fin=False) + masked(1, b"b"),
    "close empty": masked(8, b""),
    "close 1 byte": masked(8, b"\x03"),
    "close 999": masked(8, b"\x03\xe7"),
    "close 1005": masked(8, b"\x03\xed"),
    "close 1015": masked(8, b"\x03\xf7"),
    "close 1004": masked(8, b"\x03\xec"),
    "close 2999": masked(8, b"\x0b\xb7"),
    "close 3000 bad reason": masked(8, b"\x0b\xb8\xff"),
    "close 4999 then more": masked(8, b"\x13\x87bye") + masked(1, b"after"),
    "close 5000": masked(8, b"\x13\x88"),
    "close 1012": masked(8, b"\x03\xf4"),
    "text then bad opcode": masked(1, b"fine") + masked(5, b""),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.parametrize("cut", ["whole", "bytes", "sevens"])
def test_crafted_streams_server(name: str, cut: str, patch_wsproto: Callable[[], None]) -> None:
    data = CRAFTED[name]
    if cut == "whole":
        chunks = [data]
    elif cut == "bytes":
        chunks = split(data, range(len(data))) if len(data) < 2000 else split(data, range(0, len(data), 997))
    else:
        chunks = split(data, range(0, len(data), 7))
    both(chunks, False, patch_wsproto)


def test_client_side_streams(patch_wsproto: Callable[[], None]) -> None:
    data = (
        raw_frame(1, "日本".encode())
        + raw_frame(2, bytes(300), fin=False)
        + raw_frame(0, b"x")
        + raw_frame(10, b"pong")
        + raw_frame(8, b"\x03\xe8")
    )
    for chunks in ([data], split(data, range(0, len(data), 5))):
        both(chunks, True, patch_wsproto)
    both([masked(2, b"masked at client")], True, patch_wsproto)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=streams(masked=True))
def test_random_streams_server(chunks: List[bytes], patch_wsproto: Callable[[], None]) -> None:
    both(chunks, False, patch_wsproto)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=streams(masked=False))
def test_random_streams_client(chunks: List[bytes], patch_wsproto: Callable[[], None]) -> None:
    both(chunks, True, patch_wsproto)


def test_bad_utf8_table(patch_wsproto: Callable[[], None]) -> None:
    for bad in BAD_UTF8:
        both([masked(1, b"ab" + bad + b"cd")], False, patch_wsproto)
        data = masked(1, b"ab" + bad, fin=False) + masked(0, b"cd")
        both(split(data, range(len(data))), False, patch_wsproto)


def test_events_taken_one_at_a_time_are_not_lost(patch_wsproto: Callable[[], None]) -> None:
    data = masked(1, b"one") + masked(2, b"two") + masked(9, b"") + masked(1, b"\xff")

    def run() -> List[Any]:
        conn = Connection(SERVER)
        conn.receive_data(data)
        first = next(conn.events())  # a consumer that stops after one
        return [first, *conn.events()]

    expected = run()
    patch_wsproto()
    assert run() == expected
    assert [type(e) for e in expected] == [TextMessage, BytesMessage, Ping, CloseConnection]


def test_send_path_is_byte_identical(patch_wsproto: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    keys = iter([b"\x01\x02\x03\x04", b"\xaa\xbb\xcc\xdd"] * 1000)
    monkeypatch.setattr(os, "urandom", lambda n: next(keys))

    def run() -> List[Any]:
        out: List[Any] = []
        for client in (False, True):
            proto = FrameProtocol(client, [])
            for payload in (b"", b"x" * 125, b"y" * 126, bytearray(70000), "héllo 😀", memoryview(b"mv")):
                out.append(proto.send_data(payload))
            out.append(proto.send_data(b"part", fin=False))
            out.append(proto.send_data(b"end"))
            out += [proto.ping(b"p"), proto.pong(), proto.close(1000, "bye"), proto.close()]
            for method, argument in ((proto.ping, bytes(126)), (proto.send_data, 3), (proto.ping, "s")):
                try:
                    method(argument)
                except Exception as exc:
                    out.append(describe(exc))
        return [(type(x), bytes(x)) if isinstance(x, bytearray) else x for x in out]

    expected = run()
    patch_wsproto()
    assert run() == expected


def test_masker_is_stateful_like_wsproto(patch_wsproto: Callable[[], None]) -> None:
    def run() -> List[Any]:
        masker = XorMaskerSimple(bytearray(KEY))
        out = [masker.process(bytearray(b"abc")), masker.process(b""), masker.process(b"defgh"), masker.process(memoryview(b"ij"))]
        return [(type(x), bytes(x)) for x in out] + [bytes(masker._masking_key)]

    expected = run()
    patch_wsproto()
    assert run() == expected


def test_round_trip_between_patched_peers(patch_wsproto: Callable[[], None]) -> None:
    """A patched client and server talk; messages arrive whole and equal."""
    patch_wsproto()
    client, server = Connection(CLIENT), Connection(SERVER)
    messages: List[Any] = [b"", bytes(125), bytes(126), os.urandom(65536), os.urandom(1 << 20), "emoji 😀🎉 日本"]
    for message in messages:
        server.receive_data(client.send(_message(message)))
        data = _collect(server.events())
        assert data == message
        client.receive_data(server.send(_message(message)))
        assert _collect(client.events()) == message


def _message(data: Any) -> Any:
    return TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)


def _collect(events: Any) -> Any:
    parts = list(events)
    assert parts and parts[-1].message_finished
    return ("" if isinstance(parts[0], TextMessage) else b"").join(p.data for p in parts)


def test_extension_connection_keeps_wsproto_code(patch_wsproto: Callable[[], None]) -> None:
    from wsproto.extensions import PerMessageDeflate

    ext = PerMessageDeflate()
    ext._enabled = True
    patch_wsproto()
    proto = FrameProtocol(False, [ext])
    proto.receive_bytes(masked(2, b"abc"))
    assert proto.__dict__["_wsfast_reader"] is None
    assert [f.payload for f in proto.received_frames()] == [b"abc"]


def test_unpatch_restores_identity(ws: types.SimpleNamespace) -> None:
    names = [(FrameProtocol, n) for n in ("receive_bytes", "received_frames", "_serialize_frame")]
    names += [(Connection, "events"), (XorMaskerSimple, "process")]
    before = [vars(owner)[name] for owner, name in names]
    dropin._patch_with(ws, ("wsproto",))
    try:
        assert all(vars(owner)[name] is not b for (owner, name), b in zip(names, before))
    finally:
        dropin.unpatch("wsproto")
    assert all(vars(owner)[name] is b for (owner, name), b in zip(names, before))
    assert Opcode.TEXT == 1


def test_strategy_draws(ws: types.SimpleNamespace) -> None:
    """The stream strategy makes both good and broken streams (so the
    random tests above exercise both)."""
    outcomes = set()

    @settings(max_examples=80, deadline=None)
    @given(st.data())
    def probe(data: st.DataObject) -> None:
        chunks = data.draw(streams(masked=True))
        seen = through_connection(chunks, False)
        outcomes.add(any(s[0] == "event" and s[1] is CloseConnection for s in seen))

    probe()
    assert outcomes == {True, False}


@st.composite
def text_in_pieces(draw: st.DrawFn) -> List[bytes]:
    """One text message: UTF-8 (sometimes with a byte broken or cut), split
    into fragments anywhere, even inside a code point, then into chunks."""
    payload = bytearray(draw(st.text(max_size=60)).encode())
    if payload and draw(st.integers(0, 3)) == 0:
        payload[draw(st.integers(0, len(payload) - 1))] = draw(st.sampled_from([0x80, 0xC0, 0xE0, 0xED, 0xF4, 0xF5, 0xFF]))
    if payload and draw(st.integers(0, 5)) == 0:
        del payload[-1]
    cuts = sorted(set(draw(st.lists(st.integers(0, len(payload)), max_size=4))) | {0, len(payload)})
    pieces = [bytes(payload[a:b]) for a, b in zip(cuts, cuts[1:])] or [b""]
    data = b"".join(
        masked(1 if i == 0 else 0, piece, fin=i == len(pieces) - 1) for i, piece in enumerate(pieces)
    )
    return split(data, draw(st.lists(st.integers(0, 1 << 16), max_size=8)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=text_in_pieces())
def test_text_decoded_in_pieces_like_wsproto(chunks: List[bytes], patch_wsproto: Callable[[], None]) -> None:
    both(chunks, False, patch_wsproto)
