"""Property tests: the compiled and the pure backend agree on every byte
stream and every chunking (frames, events, errors and the events that ride
on them); any chunking gives what the whole stream gives; valid traffic
comes out as built; and nothing but ``ProtocolError`` ever escapes."""

from __future__ import annotations

import random
from typing import Any, Dict, List, Tuple

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import load_backend
from wsfast import ProtocolError

from .test_codec_rules import BINARY, CLOSE, CONT, PING, PONG, TEXT, M, norm, raw_frame

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The tests that compare the backends on streams with rule breaks get more.
MANY = settings(
    max_examples=1500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def backends() -> Tuple[Any, Any]:
    return load_backend("cython"), load_backend("python")


# ---------------------------------------------------------------------------
# Running a parser and recording everything it does


def outcome(parser: Any, chunks: List[bytes]) -> List[Any]:
    """Per chunk: the normalised events, or the error (type, close code and
    the events riding on it) and what a later feed() does."""
    out: List[Any] = []
    for chunk in chunks:
        try:
            events = parser.feed(chunk)
        except ProtocolError as exc:
            out.append(("error", type(exc).__name__, exc.close_code, [norm(e) for e in exc.events]))
            try:
                parser.feed(b"\x81")
            except ProtocolError as again:
                out.append(("again", type(again).__name__, again.close_code, list(again.events)))
            else:  # pragma: no cover - a failure of the test
                out.append(("not failed",))
            return out
        out.append([norm(e) for e in events])
    return out


def flatten(out: List[Any]) -> Tuple[List[Any], Any]:
    """All events in order, and the error (type, close code) if any."""
    events: List[Any] = []
    error = None
    for item in out:
        if isinstance(item, list):
            events += item
        elif item[0] == "error":
            events += item[3]
            error = (item[1], item[2])
    return events, error


def make_parser(api: Any, kind: str, opts: Dict[str, Any]) -> Any:
    if kind == "fp":
        return api.FrameParser(
            client=opts["client"],
            max_frame_size=opts["max_frame"],
            rsv_allowed=opts["rsv_allowed"],
            strict=opts["strict"],
        )
    return api.MessageReader(
        client=opts["client"],
        max_message_size=opts["max_message"],
        max_frame_size=opts["max_frame_mr"],
        strict=opts["strict"],
    )


LIMITS = st.sampled_from([None, None, None, 2**20, 2**20, 0, 3, 10, 125, 200])

parser_options = st.fixed_dictionaries(
    {
        "client": st.booleans(),
        "strict": st.booleans(),
        "max_frame": LIMITS,
        "max_frame_mr": st.sampled_from([None, None, 10, 200]),
        "max_message": LIMITS,
        "rsv_allowed": st.sampled_from([0, 0, 4, 7]),
    }
)


@st.composite
def chunkings(draw: Any, data: bytes) -> List[bytes]:
    """``data`` cut anywhere, empty chunks included."""
    n = len(data)
    style = draw(st.sampled_from(["whole", "cuts", "bytes", "small"]))
    if style == "whole" or n == 0:
        return [data]
    if style == "bytes":
        return [data[i : i + 1] for i in range(n)]
    if style == "small":
        size = draw(st.integers(1, 4))
        return [data[i : i + size] for i in range(0, n, size)]
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=12)))
    bounds = [0] + cuts + [n]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# ---------------------------------------------------------------------------
# Streams of frames, valid or not


def _keys() -> Any:
    return st.binary(min_size=4, max_size=4)


SIZES = st.sampled_from([0, 1, 2, 3, 5, 17, 100, 124, 125, 126, 127, 128, 200, 255, 256, 300])


@st.composite
def sized_bytes(draw: Any) -> bytes:
    n = draw(SIZES)
    seed = draw(st.integers(0, 2**32 - 1))
    return random.Random(seed).randbytes(n)


@st.composite
def any_frame(draw: Any, client: bool) -> bytes:
    """One frame that most likely breaks exactly one rule (or none): the
    flavour picks which, everything else about the frame is right."""
    flavour = draw(
        st.sampled_from(
            ["random", "text", "bad-text", "nonminimal", "close", "control-big", "rsv",
             "opcode", "mask", "huge", "continuation", "nofin-control"]
        )
    )
    opcode = draw(st.sampled_from([TEXT, BINARY]))
    fin = draw(st.sampled_from([True, True, False]))
    rsv = 0
    masked = not client
    enc = None
    length = None
    if flavour == "random":
        opcode = draw(st.integers(0, 15))
        fin = draw(st.booleans())
        rsv = draw(st.sampled_from([0, 0, 0, 4, 2, 1, 7]))
        masked = draw(st.booleans())
        payload = draw(st.one_of(st.binary(max_size=20), sized_bytes()))
    elif flavour in ("text", "bad-text"):
        opcode = draw(st.sampled_from([TEXT, CONT]))
        good = draw(st.text(max_size=10)).encode("utf-8", "surrogatepass")
        bad = b""
        if flavour == "bad-text":
            bad = draw(
                st.sampled_from(
                    [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf0\x9f\x98",
                     b"\xf4\x90", b"\xc3", b"\x80"]
                )
            )
        tail = draw(st.sampled_from([b"", b"", b"x", b"\x80", b"\xbf\xbf"]))
        payload = good + bad + tail
    elif flavour == "nonminimal":
        opcode = draw(st.sampled_from([TEXT, BINARY, CONT, PING, PONG]))
        payload = draw(sized_bytes())
        if opcode >= 8:
            payload, fin = payload[:125], True
        enc = draw(st.sampled_from([16, 64]))
    elif flavour == "close":
        opcode, fin = CLOSE, True
        code = draw(st.sampled_from([1000, 1001, 1004, 1005, 1006, 1011, 1014, 1015, 1016,
                                     2999, 3000, 4999, 5000, 0, 65535]))
        reason = draw(st.sampled_from([b"", b"bye", "\u00e9".encode(), b"\xff", b"\xe2\x82"]))
        payload = code.to_bytes(2, "big") + reason
        payload = payload[: draw(st.sampled_from([len(payload), len(payload), 1, 0]))]
    elif flavour == "control-big":
        opcode, fin = draw(st.sampled_from([PING, PONG, CLOSE])), True
        payload = b"\x03\xe8" + b"r" * draw(st.sampled_from([123, 124, 125, 200]))
    elif flavour == "rsv":
        opcode = draw(st.sampled_from([TEXT, BINARY, CONT, PING, CLOSE]))
        rsv = draw(st.integers(1, 7))
        payload = b"\x03\xe8" if opcode == CLOSE else draw(st.binary(max_size=10))
        fin = fin or opcode >= 8
    elif flavour == "opcode":
        opcode = draw(st.sampled_from([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]))
        payload = draw(st.binary(max_size=10))
    elif flavour == "mask":
        masked = client
        payload = draw(st.binary(max_size=10))
    elif flavour == "huge":
        payload = b""
        length = draw(st.sampled_from([2**62, 2**63, 2**64 - 1, 2**31, 70000, 2**20 + 1]))
        enc = 64
    elif flavour == "continuation":
        opcode = CONT
        payload = draw(st.binary(max_size=10))
    else:
        opcode, fin = draw(st.sampled_from([PING, PONG, CLOSE])), False
        payload = b""
    key = draw(_keys()) if masked else None
    n = len(payload)
    minimal = 7 if n < 126 else 16 if n < 65536 else 64
    if enc is None or (enc == 16 and n >= 65536):
        enc = minimal
    return raw_frame(opcode, payload, fin=fin, rsv=rsv, key=key, length=length, enc=enc)


@st.composite
def frame_streams(draw: Any, client: bool) -> bytes:
    """Valid traffic with rule-breaking frames put in between its frames,
    and sometimes a damaged byte, a cut or junk at the end."""
    _, _, _, blobs = draw(valid_traffic(client, draw(st.booleans())))
    blobs = list(blobs)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 2, 3]))):
        blobs.insert(draw(st.integers(0, len(blobs))), draw(any_frame(client)))
    data = b"".join(blobs)
    action = draw(st.sampled_from(["none"] * 5 + ["flip", "cut", "junk"]))
    if action == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    elif action == "cut" and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif action == "junk":
        data += draw(st.binary(max_size=20))
    return data


def _compare(data: bytes, chunks: List[bytes], opts: Dict[str, Any]) -> None:
    cython, python = backends()
    for kind in ("fp", "mr"):
        got_c = outcome(make_parser(cython, kind, opts), chunks)
        got_p = outcome(make_parser(python, kind, opts), chunks)
        assert got_c == got_p, kind
        # Any chunking gives what the whole stream gives.
        whole = outcome(make_parser(python, kind, opts), [data])
        assert flatten(got_p) == flatten(whole), kind


@SETTINGS
@given(st.data(), parser_options, st.binary(max_size=200))
def test_backends_agree_on_random_bytes(data: Any, opts: Dict[str, Any], raw: bytes) -> None:
    chunks = data.draw(chunkings(raw))
    _compare(raw, chunks, opts)


@MANY
@given(st.data(), parser_options)
def test_backends_agree_on_frame_streams(data: Any, opts: Dict[str, Any]) -> None:
    stream = data.draw(frame_streams(opts["client"]))
    chunks = data.draw(chunkings(stream))
    _compare(stream, chunks, opts)


@SETTINGS
@given(st.data(), parser_options, st.binary(max_size=300))
def test_only_protocol_errors_escape(data: Any, opts: Dict[str, Any], raw: bytes) -> None:
    """Random bytes, or random bytes after a valid header prefix: feed()
    returns a list or raises ProtocolError; nothing else."""
    prefix = data.draw(st.sampled_from([b"", b"\x81", b"\x82\xfe", b"\x01\x83", b"\x88\x81"]))
    stream = prefix + raw
    chunks = data.draw(chunkings(stream))
    for api in backends():
        for kind in ("fp", "mr"):
            parser = make_parser(api, kind, opts)
            for chunk in chunks:
                try:
                    result = parser.feed(chunk)
                except ProtocolError as exc:
                    assert exc.close_code in (1002, 1007, 1009)
                    assert isinstance(exc.events, list)
                    break
                assert isinstance(result, list)


# ---------------------------------------------------------------------------
# Valid traffic comes out as it was built


@st.composite
def valid_traffic(
    draw: Any, client: bool, strict: bool
) -> Tuple[bytes, List[Any], List[Any], List[bytes]]:
    """A valid stream, with the frames and the events it must give, and the
    frames' bytes one by one."""
    stream = b""
    blobs: List[bytes] = []
    frames: List[Any] = []
    events: List[Any] = []

    def emit(opcode: int, payload: bytes, fin: bool = True) -> None:
        nonlocal stream
        n = len(payload)
        minimal = 7 if n < 126 else 16 if n < 65536 else 64
        enc = minimal if strict else draw(st.sampled_from([minimal, minimal, 16, 64]))
        if enc == 7 and n >= 126:
            enc = minimal
        key = None if client else draw(_keys())
        blob = raw_frame(opcode, payload, fin=fin, key=key, enc=enc)
        stream += blob
        blobs.append(blob)
        frames.append(("Frame", fin, False, False, False, opcode, payload))

    def control() -> None:
        op = draw(st.sampled_from([PING, PONG]))
        payload = draw(st.binary(max_size=125))
        emit(op, payload)
        events.append(("Ping" if op == PING else "Pong", payload))

    for _ in range(draw(st.integers(0, 6))):
        what = draw(st.sampled_from(["text", "binary", "control", "close"]))
        if what == "control":
            control()
        elif what == "close":
            code = draw(st.sampled_from([None, 1000, 1001, 1003, 1007, 1014, 3000, 4999]))
            reason = draw(st.text(max_size=20)) if code else ""
            encoded = reason.encode("utf-8", "surrogatepass")
            try:
                encoded.decode("utf-8")
            except UnicodeDecodeError:
                reason, encoded = "", b""
            payload = b"" if code is None else code.to_bytes(2, "big") + encoded
            emit(CLOSE, payload)
            events.append(("Close", 1005 if code is None else code, reason))
        else:
            if what == "text":
                text = draw(st.text(max_size=200))
                try:
                    body = text.encode("utf-8")
                except UnicodeEncodeError:
                    body = b"x"
                    text = "x"
                value: Any = text
            else:
                body = draw(st.one_of(st.binary(max_size=50), st.binary(min_size=126, max_size=400)))
                value = body
            cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
            bounds = [0] + cuts + [len(body)]
            pieces = [body[a:b] for a, b in zip(bounds, bounds[1:])]
            for i, piece in enumerate(pieces):
                opcode = (TEXT if what == "text" else BINARY) if i == 0 else CONT
                emit(opcode, piece, fin=i == len(pieces) - 1)
                if i < len(pieces) - 1 and draw(st.booleans()):
                    control()
            events.append(M(TEXT if what == "text" else BINARY, value))
    return stream, frames, events, blobs


@SETTINGS
@given(st.data(), st.booleans(), st.booleans())
def test_valid_traffic_round_trips(data: Any, client: bool, strict: bool) -> None:
    stream, frames, events, _ = data.draw(valid_traffic(client, strict))
    chunks = data.draw(chunkings(stream))
    for api in backends():
        fp = api.FrameParser(client=client, strict=strict)
        mr = api.MessageReader(client=client, strict=strict)
        got_frames: List[Any] = []
        got_events: List[Any] = []
        for chunk in chunks:
            got_frames += [norm(f) for f in fp.feed(chunk)]
            got_events += [norm(e) for e in mr.feed(chunk)]
        assert got_frames == frames
        assert got_events == events


@SETTINGS
@given(
    st.data(),
    st.sampled_from([CONT, TEXT, BINARY, CLOSE, PING, PONG]),
    st.binary(max_size=300),
    st.booleans(),
    st.booleans(),
)
def test_encode_frame_backends_agree(
    data: Any, opcode: int, payload: bytes, fin: bool, rsv1: bool
) -> None:
    key = data.draw(st.one_of(st.none(), st.binary(min_size=4, max_size=4)))
    results = []
    for api in backends():
        try:
            results.append(("ok", api.encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=key)))
        except ValueError:
            results.append(("ValueError",))
    assert results[0] == results[1]
    assume(results[0][0] == "ok")
    frame = results[0][1]
    assert frame == raw_frame(opcode | 0, payload, fin=fin, rsv=4 if rsv1 else 0, key=key)


@SETTINGS
@given(st.binary(max_size=130))
def test_parse_close_backends_agree(payload: bytes) -> None:
    results = []
    for api in backends():
        try:
            results.append(("ok", api.parse_close(payload)))
        except ProtocolError as exc:
            results.append((type(exc).__name__, exc.close_code))
    assert results[0] == results[1]
