"""permessage-deflate (RFC 7692): PerMessageDeflate.encode and
MessageReader(deflate=...), checked against stdlib zlib used by hand."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import zlib
from typing import Any, List

import pytest

import wsfast
from wsfast import InvalidUTF8, MessageTooBig, ProtocolError
from wsfast._deflate import LIBRARIES, available_libraries

from .test_codec_rules import BINARY, CONT, PING, ROLES, SPLIT_IDS, TEXT, M, feed_all, norm, run, wire

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


def zlib_deflate(data: bytes, bits: int = 15, comp: Any = None) -> bytes:
    """Raw deflate with a sync flush, tail removed, by stdlib zlib alone."""
    c = comp or zlib.compressobj(6, zlib.DEFLATED, -bits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def texts() -> List[str]:
    doc = {"user": "émile", "items": list(range(40)), "tags": ["α", "β", "😀"]}
    return ["", "a", json.dumps(doc), json.dumps(doc) * 30, "x" * 70000, "日本語" * 5000]


def payloads_of(frames: List[Any]) -> List[Any]:
    """(rsv1 of the first frame, joined payload) per message, from frames."""
    out = []
    parts: List[bytes] = []
    rsv1 = False
    for f in frames:
        if f.opcode >= 8:
            continue
        if f.opcode != CONT:
            rsv1 = f.rsv1
        else:
            assert not f.rsv1
        parts.append(f.payload)
        if f.fin:
            out.append((rsv1, b"".join(parts)))
            parts = []
    return out


def pair(ws: Any, **params: Any) -> Any:
    return ws.PerMessageDeflate(client=False, **params), ws.PerMessageDeflate(client=True, **params)


PARAMS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=sb,
        client_max_window_bits=cb,
    )
    for snct, cnct, sb, cb in itertools.product((False, True), (False, True), (8, 9, 15), (8, 12, 15))
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "-".join(str(int(v)) for v in p.values()))
def test_round_trip_every_parameter_both_roles(ws: Any, params: Any) -> None:
    server, client = pair(ws, **params)
    to_client = ws.MessageReader(client=True, deflate=client, max_message_size=None)
    to_server = ws.MessageReader(client=False, deflate=server, max_message_size=None)
    for text in texts():
        for sender, reader, mask in ((server, to_client, None), (client, to_server, True)):
            got = reader.feed(sender.encode(TEXT, text, mask=mask))
            got += reader.feed(sender.encode(BINARY, text.encode(), mask=mask, fragment_size=1000))
            assert [norm(e) for e in got] == [M(TEXT, text), M(BINARY, text.encode())]


@pytest.mark.parametrize("params", PARAMS[::5], ids=lambda p: "-".join(str(int(v)) for v in p.values()))
def test_output_inflates_with_stdlib_zlib(ws: Any, params: Any) -> None:
    """What the codec sends, read frame by frame and inflated by zlib alone,
    with the negotiated window (8 read as 8: zlib inflates with it)."""
    for client in (False, True):
        codec = ws.PerMessageDeflate(client=client, **params)
        bits = params["client_max_window_bits" if client else "server_max_window_bits"]
        reset = params["client_no_context_takeover" if client else "server_no_context_takeover"]
        d = zlib.decompressobj(-bits)
        frames: List[Any] = []
        parser = wsfast.FrameParser(client=not client, rsv_allowed=4, max_frame_size=None)
        msgs = [t.encode() for t in texts()] * 2
        for m in msgs:
            frames += parser.feed(codec.encode(BINARY, m, mask=client or None, fragment_size=4096))
        got = []
        for rsv1, payload in payloads_of(frames):
            if not rsv1:
                got.append(payload)
                continue
            if reset:
                d = zlib.decompressobj(-bits)
            got.append(d.decompress(payload + TAIL))
        assert got == msgs


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("split", SPLIT_IDS)
def test_reads_stdlib_zlib_output(ws: Any, client: bool, split: str) -> None:
    """Frames made by hand from zlib's output, fragmented, in any chunking."""
    codec = ws.PerMessageDeflate(client=client)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    text = "Grüße, 世界! " * 20
    first = zlib_deflate(text.encode(), comp=c)
    second = zlib_deflate(text.encode(), comp=c)  # back-references into the first
    assert len(second) < len(first) // 3
    stream = wire(client, TEXT, first, rsv=4)
    stream += wire(client, BINARY, second[:3], rsv=4, fin=False)
    stream += wire(client, PING, b"hi")
    stream += wire(client, CONT, b"", fin=False)
    stream += wire(client, CONT, second[3:])
    stream += wire(client, TEXT, b"plain")  # an uncompressed message in between
    stream += wire(client, BINARY, b"\x00", rsv=4)  # RFC 7692 §7.2.3.6: empty
    got = feed_all(ws.MessageReader(client=client, deflate=codec), stream, split)
    assert got == [
        M(TEXT, text),
        ("Ping", b"hi"),
        M(BINARY, text.encode()),
        M(TEXT, "plain"),
        M(BINARY, b""),
    ]


@pytest.mark.parametrize("split", ["whole", "bytewise"])
@pytest.mark.parametrize("client", ROLES)
def test_final_block_and_stream_restart(ws: Any, client: bool, split: str) -> None:
    """A sender may end a message with a final block (BFINAL): the next
    message then starts a fresh stream (whole frames take one inflating call,
    pieces go in steps)."""
    data = b"final block " * 10
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    ended = c.compress(data) + c.flush(zlib.Z_FINISH)
    stream = wire(client, BINARY, ended, rsv=4) + wire(client, BINARY, zlib_deflate(data), rsv=4)
    reader = ws.MessageReader(client=client, deflate=ws.PerMessageDeflate(client=client))
    assert feed_all(reader, stream, split) == [M(BINARY, data), M(BINARY, data)]


# Around the 64 KiB step and the 256 KiB cap of a whole frame's one inflating
# call; random bytes make payloads past 64 KiB, inflated in steps from the start.
LIMIT_SIZES = [1, 1000, 65536, 65537, 262143, 262144, 262145, 600000]


@pytest.mark.parametrize("library", available_libraries())
@pytest.mark.parametrize("fragment", [None, 50000], ids=["one-frame", "fragmented"])
@pytest.mark.parametrize("random", [False, True], ids=["text", "random"])
@pytest.mark.parametrize("size", LIMIT_SIZES)
def test_limit_is_exact_on_the_inflated_size(ws: Any, size: int, random: bool, fragment: Any, library: str) -> None:
    """A compressed message of exactly the limit is read, one byte more is
    1009, whatever path inflates it; context takeover goes on after it."""
    data = os.urandom(size) if random else (b"limit-" * (size // 6 + 1))[:size]
    for limit, fits in ((size, True), (size + 1, True), (size - 1, False)):
        sender = ws.PerMessageDeflate(client=False, threshold=0, library=library)
        codec = ws.PerMessageDeflate(client=True, library=library)
        reader = ws.MessageReader(client=True, max_message_size=limit, deflate=codec)
        stream = sender.encode(BINARY, data, fragment_size=fragment)
        if not fits:
            with pytest.raises(MessageTooBig) as info:
                reader.feed(stream)
            assert info.value.close_code == 1009
            continue
        # The next message refers back into this one.
        again = M(BINARY, data[: size // 2]) if random else M(TEXT, data[: size // 2].decode())
        stream += sender.encode(again[1], again[2])
        got = [norm(e) for e in reader.feed(stream)]
        assert got == [M(BINARY, data), again]


def test_context_takeover_across_messages(ws: Any) -> None:
    msg = json.dumps({"k": list(range(100))}).encode()
    kept = ws.PerMessageDeflate(client=False)
    fresh = ws.PerMessageDeflate(client=False, server_no_context_takeover=True)
    kept_wire = [kept.encode(BINARY, msg) for _ in range(3)]
    fresh_wire = [fresh.encode(BINARY, msg) for _ in range(3)]
    # With takeover the repeats are back-references into the previous message.
    assert len(kept_wire[1]) < len(kept_wire[0]) // 4
    assert fresh_wire[0] == fresh_wire[1] == fresh_wire[2] == kept_wire[0]
    # Read with the wrong assumption, a taken-over message does not inflate.
    payload = wsfast.FrameParser(client=True, rsv_allowed=4).feed(kept_wire[1])[0].payload
    with pytest.raises(zlib.error):
        zlib.decompressobj(-15).decompress(payload + TAIL)
    for snct, stream in ((False, kept_wire), (True, fresh_wire)):
        codec = ws.PerMessageDeflate(client=True, server_no_context_takeover=snct)
        reader = ws.MessageReader(client=True, deflate=codec)
        assert [norm(e) for e in reader.feed(b"".join(stream))] == [M(BINARY, msg)] * 3


def test_threshold_and_control_frames(ws: Any) -> None:
    codec = ws.PerMessageDeflate(client=False, threshold=10)
    small = wsfast.FrameParser(client=True, rsv_allowed=4).feed(codec.encode(TEXT, "123456789"))
    assert [(f.rsv1, f.payload) for f in small] == [(False, b"123456789")]
    big = wsfast.FrameParser(client=True, rsv_allowed=4).feed(codec.encode(TEXT, "1234567890"))
    assert big[0].rsv1
    assert codec.encode(PING, b"x" * 100) == ws.encode_frame(PING, b"x" * 100)
    # Control frames are never fragmented: fragment_size is for data messages.
    assert codec.encode(PING, b"x" * 100, fragment_size=10) == ws.encode_frame(PING, b"x" * 100)
    with pytest.raises(ValueError):
        codec.encode(3, b"")
    with pytest.raises(ValueError):
        codec.encode(TEXT, "abc", fragment_size=0)
    with pytest.raises(TypeError):
        codec.encode(BINARY, None)
    for data in (bytearray(b"q" * 50), memoryview(b"q" * 100)[::2]):
        codec = ws.PerMessageDeflate(client=False)
        reader = ws.MessageReader(client=True, deflate=ws.PerMessageDeflate(client=True))
        assert [norm(e) for e in reader.feed(codec.encode(BINARY, data))] == [M(BINARY, b"q" * 50)]


def test_masking_and_fragments(ws: Any) -> None:
    codec = ws.PerMessageDeflate(client=True, threshold=0)
    data = bytes(range(256)) * 8
    out = codec.encode(BINARY, data, mask=b"abcd", fragment_size=100)
    frames = wsfast.FrameParser(client=False, rsv_allowed=4).feed(out)
    assert len(frames) > 1 and all(len(f.payload) <= 100 for f in frames)
    assert [f.rsv1 for f in frames] == [True] + [False] * (len(frames) - 1)
    assert [int(f.opcode) for f in frames] == [BINARY] + [CONT] * (len(frames) - 1)
    assert [f.fin for f in frames] == [False] * (len(frames) - 1) + [True]
    assert out[2:6] == b"abcd"
    fresh = codec.encode(BINARY, os.urandom(1000), mask=True, fragment_size=100)
    keys = set()
    pos = 0
    while pos < len(fresh):  # each frame a fresh key
        n = fresh[pos + 1] & 0x7F
        keys.add(fresh[pos + 2 : pos + 6])
        pos += 6 + n
    assert len(keys) > 1


def test_rsv1_rules(ws: Any) -> None:
    for client in (False, True):
        codec = ws.PerMessageDeflate(client=client)
        cases = {
            "continuation": wire(client, TEXT, zlib_deflate(b"ab"), rsv=4, fin=False)
            + wire(client, CONT, b"", rsv=4),
            "control": wire(client, PING, b"", rsv=4),
            "rsv2": wire(client, TEXT, b"a", rsv=2),
            "rsv3": wire(client, TEXT, b"a", rsv=1),
        }
        for name, stream in cases.items():
            _events, exc, _, _ = run(ws.MessageReader(client=client, deflate=codec), [stream])
            assert exc is not None and exc.close_code == 1002, name
        # Without the extension RSV1 stays a protocol error.
        _, exc, _, _ = run(ws.MessageReader(client=client), [wire(client, TEXT, zlib_deflate(b"a"), rsv=4)])
        assert exc is not None and exc.close_code == 1002
    with pytest.raises(ValueError, match="other side"):
        ws.MessageReader(client=True, deflate=ws.PerMessageDeflate(client=False))
    with pytest.raises(TypeError):
        ws.MessageReader(deflate=object())


def _raw_deflate(data: bytes) -> bytes:
    # zlib.compress() takes wbits from Python 3.11 only.
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


CORRUPT = {
    "reserved block type": b"\xff\xff\xff\xff",
    "stored length mismatch": b"\x00\x05\x00\x00\x00",
    "distance too far back": b"\x02\x00",  # fixed block: a back-reference with no history
    "data after final block": _raw_deflate(b"abc") + b"\x00",
}


@pytest.mark.parametrize("name", list(CORRUPT))
@pytest.mark.parametrize("client", ROLES)
def test_corrupt_stream_is_1007(ws: Any, client: bool, name: str) -> None:
    payload = CORRUPT[name]
    if name == "distance too far back":
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        zlib_deflate(b"0123456789abcdef" * 4, comp=c)
        payload = zlib_deflate(b"0123456789abcdef" * 4, comp=c)  # refers to the previous message
    stream = wire(client, PING, b"before") + wire(client, BINARY, payload, rsv=4)
    reader = ws.MessageReader(client=client, deflate=ws.PerMessageDeflate(client=client))
    events, exc, _, _ = run(reader, [stream])
    assert exc is not None and type(exc) is ProtocolError and exc.close_code == 1007, exc
    assert events == [("Ping", b"before")]
    with pytest.raises(ProtocolError):
        reader.feed(b"")


def test_window_too_small_for_the_stream(ws: Any) -> None:
    """A sender that uses a bigger window than negotiated is caught by zlib
    (ISA-L inflates with a 32 KiB window whatever it is told: harmless).
    zlib sees it once the output of one step reaches back past its window."""
    block = os.urandom(600) * 200  # back-references 600 bytes back
    payload = zlib_deflate(block)
    for bits, ok in ((9, False), (10, True)):
        codec = ws.PerMessageDeflate(client=True, server_max_window_bits=bits, library="zlib")
        events, exc, _, _ = run(ws.MessageReader(client=True, deflate=codec), [wire(True, BINARY, payload, rsv=4)])
        if ok:
            assert exc is None and events == [M(BINARY, block)]
        else:
            assert exc is not None and exc.close_code == 1007


@pytest.mark.parametrize("library", available_libraries())
def test_eight_bit_window_reaches_no_further_than_256_bytes(ws: Any, library: str) -> None:
    """An 8-bit window is compressed with zlib's 9-bit one, whose longest
    distance is 512 - 262 = 250 bytes: repeats 250 bytes apart are found,
    251 apart are not, and stdlib zlib inflates it with an 8-bit window."""
    for period, found in ((250, True), (251, False)):
        block = os.urandom(period) * 100
        codec = ws.PerMessageDeflate(client=True, client_max_window_bits=8, threshold=0, level=9, library=library)
        frame = wsfast.FrameParser(rsv_allowed=4).feed(codec.encode(BINARY, block, mask=True))[0]
        assert frame.rsv1
        d = zlib.decompressobj(-8)
        out = d.decompress(frame.payload + TAIL, 100)
        while d.unconsumed_tail:
            out += d.decompress(d.unconsumed_tail, 100)
        assert out == block
        assert (len(frame.payload) < len(block) // 10) is found, (period, len(frame.payload))


@pytest.mark.parametrize("client", ROLES)
def test_invalid_utf8_after_inflating_fails_fast(ws: Any, client: bool) -> None:
    text = b"ok " * 1000 + b"\xed\xa0\x80" + b"more " * 20000
    payload = zlib_deflate(text)
    half = len(payload) // 2
    stream = wire(client, TEXT, payload[:half], rsv=4, fin=False)
    reader = ws.MessageReader(client=client, deflate=ws.PerMessageDeflate(client=client))
    with pytest.raises(InvalidUTF8) as info:  # before the message's end arrives
        reader.feed(stream)
    assert info.value.close_code == 1007
    # Truncated sequence at the very end.
    stream = wire(client, TEXT, zlib_deflate(b"abc\xe2\x82"), rsv=4)
    reader = ws.MessageReader(client=client, deflate=ws.PerMessageDeflate(client=client))
    with pytest.raises(InvalidUTF8):
        reader.feed(stream)


def test_library_choice_and_interop(ws: Any) -> None:
    installed = available_libraries()
    assert installed[-1] == "zlib" and set(installed) <= set(LIBRARIES)
    assert ws.PerMessageDeflate(client=False).library == installed[0]
    with pytest.raises(ValueError):
        ws.PerMessageDeflate(client=False, library="brotli")
    for bad in ({"server_max_window_bits": 7}, {"client_max_window_bits": 16}, {"level": 10}, {"threshold": -1}):
        with pytest.raises(ValueError):
            ws.PerMessageDeflate(client=False, **bad)
    with pytest.raises(TypeError):
        ws.PerMessageDeflate(client=False, server_max_window_bits="15")
    msgs = [t.encode() for t in texts()]
    for name in installed:
        for takeover in (False, True):
            params = dict(server_no_context_takeover=not takeover, server_max_window_bits=10)
            a = ws.PerMessageDeflate(client=False, library=name, **params)
            b = ws.PerMessageDeflate(client=True, library="zlib", **params)
            assert a.library == name
            reader = ws.MessageReader(client=True, deflate=b, max_message_size=None)
            # Its output read by stdlib zlib.
            assert [e.data for e in reader.feed(b"".join(a.encode(BINARY, m) for m in msgs))] == msgs
            # Stdlib zlib's output read by it.
            c = ws.PerMessageDeflate(client=False, library="zlib", **params)
            d = ws.PerMessageDeflate(client=True, library=name, **params)
            reader = ws.MessageReader(client=True, deflate=d, max_message_size=None)
            assert [e.data for e in reader.feed(b"".join(c.encode(BINARY, m) for m in msgs))] == msgs


@pytest.mark.skipif(
    (set(available_libraries()) != set(LIBRARIES) and os.environ.get("CI") != "true")
    or sys.implementation.name != "cpython",
    reason="zlib-ng or isal not installed (pip install wsfast[deflate]), or not CPython",
)
def test_all_libraries_installed_in_ci() -> None:
    assert available_libraries() == list(LIBRARIES)


# ---------------------------------------------------------------------------
# Decompression bombs

_bombs: dict = {}


def bomb(inflated: int) -> bytes:
    """A raw deflate stream of ``inflated`` zero bytes, cheaply: one
    sync-flushed segment of 1 MiB repeated (each is byte-aligned)."""
    if inflated not in _bombs:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        seg = c.compress(bytes(MiB)) + c.flush(zlib.Z_SYNC_FLUSH)
        c2 = zlib.compressobj(9, zlib.DEFLATED, -15)
        c2.compress(bytes(MiB))
        c2.flush(zlib.Z_SYNC_FLUSH)
        more = c2.compress(bytes(MiB)) + c2.flush(zlib.Z_SYNC_FLUSH)  # with the window full of zeros
        _bombs[inflated] = seg + more * (inflated // MiB - 1)
    return _bombs[inflated]


def test_bomb_streams_are_what_they_claim() -> None:
    assert len(bomb(16 * MiB)) < 17 * 1024  # deflate tops out near 1032:1
    assert 900 * 1024 < len(bomb(1024 * MiB)) < 1100 * 1024
    d = zlib.decompressobj(-15)
    assert len(d.decompress(bomb(16 * MiB))) == 16 * MiB


BOMBS = [
    pytest.param(16 * MiB, None, id="16KiB-to-16MiB-one-frame"),
    pytest.param(16 * MiB, 16384, id="16KiB-to-16MiB-16KiB-fragments"),
    pytest.param(1024 * MiB, None, id="1MiB-to-1GiB-one-frame"),
    pytest.param(1024 * MiB, 16384, id="1MiB-to-1GiB-16KiB-fragments"),
]


def bomb_wire(client: bool, inflated: int, fragment: Any, opcode: int = BINARY) -> bytes:
    payload = bomb(inflated)
    if fragment is None:
        return wire(client, opcode, payload, rsv=4)
    pieces = [payload[i : i + fragment] for i in range(0, len(payload), fragment)]
    return b"".join(
        wire(client, opcode if i == 0 else CONT, p, rsv=4 if i == 0 else 0, fin=i == len(pieces) - 1)
        for i, p in enumerate(pieces)
    )


@pytest.mark.parametrize("opcode", [BINARY, TEXT])
@pytest.mark.parametrize("inflated,fragment", BOMBS)
def test_bomb_fails_at_once_with_bounded_memory(ws: Any, inflated: int, fragment: Any, opcode: int) -> None:
    tracemalloc = pytest.importorskip("tracemalloc", reason="tracemalloc is CPython's")
    stream = bomb_wire(True, inflated, fragment, opcode)
    first = len(stream) if fragment is None else 16384 + 14
    reader = ws.MessageReader(client=True, max_message_size=MiB, deflate=ws.PerMessageDeflate(client=True))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        with pytest.raises(MessageTooBig) as info:
            reader.feed(stream[:first])  # the first frame alone already fails
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.close_code == 1009
    # The limit, one inflating step and the text validator's copies: not the bomb.
    assert peak - before < 3 * MiB, peak - before


RSS_SCRIPT = textwrap.dedent(
    """
    import sys, zlib
    from wsfast import _backend
    ws = _backend.load(sys.argv[1])
    MiB = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(bytes(MiB)) + c.flush(zlib.Z_SYNC_FLUSH)
    more = c.compress(bytes(MiB)) + c.flush(zlib.Z_SYNC_FLUSH)
    payload = first + more * 1023
    frames = [payload[i:i + 16384] for i in range(0, len(payload), 16384)]
    wire = [ws.encode_frame(2 if i == 0 else 0, f, fin=i == len(frames) - 1, rsv1=i == 0)
            for i, f in enumerate(frames)]
    stream = b"".join(wire)
    del frames, wire, payload, c
    def rss():
        with open("/proc/self/status") as f:
            return {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith("Vm")}
    import ctypes
    ctypes.CDLL(None).malloc_trim(0)  # hand freed heap pages back first
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak so far (building the bomb) is not ours
    base = rss()["VmRSS"]
    reader = ws.MessageReader(client=True, max_message_size=MiB,
                              deflate=ws.PerMessageDeflate(client=True))
    try:
        reader.feed(stream)
    except ws_error as exc:
        assert exc.close_code == 1009
    else:
        raise SystemExit("no error")
    print(rss()["VmHWM"] - base)
    """
).replace("ws_error", "__import__('wsfast').MessageTooBig")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.skipif(
    "ASAN_OPTIONS" in os.environ or "LD_PRELOAD" in os.environ,
    reason="a sanitizer's shadow memory and quarantine are part of RSS",
)
def test_bomb_rss_in_subprocess(ws: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, ws.IMPLEMENTATION],
        env=dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072"),  # no dynamic threshold
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown_kib = int(out.stdout.strip())
    # 1 GiB inflated from 1 MiB on the wire, 1 MiB limit: peak RSS past the
    # stream itself stays within a few MiB.
    assert grown_kib < 8 * 1024, grown_kib
