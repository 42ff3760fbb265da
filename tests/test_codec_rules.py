"""Every row of the rule table in DESIGN.md, for FrameParser and
MessageReader, in the server role (``client=False``: frames arrive masked) and
the client role (``client=True``: frames arrive unmasked), fed whole, one byte
at a time and in seeded random splits.

For a rule break the tests check the exception type and ``close_code``, that
the frames or events completed before the break are neither lost nor
duplicated (on ``exc.events`` for the failing call, in order), that the error
comes no later than the byte that decides it, and that the parser stays
failed afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

import wsfast
from wsfast import InvalidUTF8, MessageTooBig, ProtocolError

# ---------------------------------------------------------------------------
# Helpers shared by the codec test modules.

KEY = bytes.fromhex("37fa213d")
KEYS = [bytes.fromhex(k) for k in ("37fa213d", "00000000", "ffffffff", "a1b2c3d4", "0102ff80")]

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

ROLES = [pytest.param(False, id="server"), pytest.param(True, id="client")]


def xor(data: bytes, key: bytes) -> bytes:
    """``data`` masked with ``key`` from key position 0 (RFC 6455 §5.3)."""
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def raw_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: Optional[bytes] = None,
    length: Optional[int] = None,
    enc: Optional[int] = None,
) -> bytes:
    """A frame built by hand, independent of ``encode_frame``.

    ``rsv`` is a mask like ``rsv_allowed`` (RSV1 = 4, RSV2 = 2, RSV3 = 1);
    ``length`` overrides the declared length; ``enc`` forces the width of the
    length field (7, 16 or 64 bits).
    """
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if key is not None else 0
    if enc is None:
        enc = 7 if n < 126 else 16 if n < 65536 else 64
    if enc == 7:
        head = bytes([first, mbit | n])
    elif enc == 16:
        head = bytes([first, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mbit | 127]) + n.to_bytes(8, "big")
    if key is None:
        return head + payload
    return head + key + xor(payload, key)


def wire(client: bool, opcode: int, payload: bytes = b"", **kw: Any) -> bytes:
    """A frame as the peer of this role must send it: masked towards a
    server (``client=False``), unmasked towards a client."""
    if "key" not in kw:
        kw["key"] = None if client else KEY
    return raw_frame(opcode, payload, **kw)


def header_len(frame: bytes) -> int:
    length = frame[1] & 0x7F
    head = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return head + (4 if frame[1] & 0x80 else 0)


def norm(event: Any) -> Tuple[Any, ...]:
    """A frame or event as a plain tuple, so that comparisons do not depend
    on the classes' own ``__eq__``."""
    name = type(event).__name__
    if name == "Frame":
        return (
            "Frame",
            bool(event.fin),
            bool(event.rsv1),
            bool(event.rsv2),
            bool(event.rsv3),
            int(event.opcode),
            event.payload,
        )
    if name == "Message":
        return ("Message", int(event.opcode), event.data)
    if name in ("Ping", "Pong"):
        return (name, event.payload)
    if name == "Close":
        return ("Close", event.code, event.reason)
    raise AssertionError(f"unexpected event {event!r}")


def F(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> Tuple[Any, ...]:
    """Expected frame."""
    return ("Frame", fin, bool(rsv & 4), bool(rsv & 2), bool(rsv & 1), opcode, payload)


def M(opcode: int, data: Any) -> Tuple[Any, ...]:
    return ("Message", opcode, data)


def split_whole(data: bytes) -> List[bytes]:
    return [data]


def split_bytes(data: bytes) -> List[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_random(data: bytes, seed: int, max_piece: int = 9) -> List[bytes]:
    rng = random.Random(seed)
    chunks = []
    pos = 0
    while pos < len(data):
        step = rng.randint(0, max_piece)  # empty chunks included
        chunks.append(data[pos : pos + step])
        pos += step
    return chunks


SPLITS: Dict[str, Callable[[bytes], List[bytes]]] = {
    "whole": split_whole,
    "bytewise": split_bytes,
    "random1": lambda d: split_random(d, 1),
    "random2": lambda d: split_random(d, 2, 3),
    "random3": lambda d: split_random(d, 3, 40),
}


def run(parser: Any, chunks: Sequence[bytes]) -> Tuple[List[Any], Optional[ProtocolError], int, int]:
    """Feed ``chunks`` until one raises.

    Returns the normalised events of the successful calls plus those on the
    exception, the exception (or None), the offset in the stream where the
    raising chunk starts and where it ends."""
    events: List[Any] = []
    pos = 0
    for chunk in chunks:
        try:
            got = parser.feed(chunk)
        except ProtocolError as exc:
            events.extend(norm(e) for e in exc.events)
            return events, exc, pos, pos + len(chunk)
        assert isinstance(got, list)
        events.extend(norm(e) for e in got)
        pos += len(chunk)
    return events, None, pos, pos


def feed_all(parser: Any, data: bytes, split: str = "whole") -> List[Any]:
    events, exc, _, _ = run(parser, SPLITS[split](data))
    assert exc is None, f"unexpected {exc!r}"
    return events


# ---------------------------------------------------------------------------
# The rule cases


@dataclass
class Case:
    """``stream`` breaks a rule. ``bad_start`` is where the offending frame
    starts; ``decide`` is the offset of the byte that decides the break;
    ``exact`` says the error must come at that very byte (fail fast, UTF-8),
    otherwise no later than it (header rules: at most the end of the header)."""

    stream: bytes
    exc: type
    code: int
    bad_start: int
    decide: int
    exact: bool
    frames: List[Any]  # FrameParser output before the break
    events: List[Any]  # MessageReader output before the break
    targets: Tuple[str, ...] = ("fp", "mr")
    fp_kwargs: Dict[str, Any] = field(default_factory=dict)
    mr_kwargs: Dict[str, Any] = field(default_factory=dict)


def _prefix(client: bool, open_message: Optional[int] = None) -> Tuple[bytes, List[Any], List[Any]]:
    """Valid traffic before the break: a ping, a fragmented binary message
    with a pong between its fragments, a text message; optionally a data
    message left open (first fragment only)."""
    data = (
        wire(client, PING, b"p1")
        + wire(client, BINARY, b"ab", fin=False)
        + wire(client, PONG, b"q")
        + wire(client, CONT, b"cd")
        + wire(client, TEXT, "h\u00e9".encode())
    )
    frames = [
        F(PING, b"p1"),
        F(BINARY, b"ab", fin=False),
        F(PONG, b"q"),
        F(CONT, b"cd"),
        F(TEXT, "h\u00e9".encode()),
    ]
    events = [("Ping", b"p1"), ("Pong", b"q"), M(BINARY, b"abcd"), M(TEXT, "h\u00e9")]
    if open_message is not None:
        data += wire(client, open_message, b"xy", fin=False)
        frames.append(F(open_message, b"xy", fin=False))
    return data, frames, events


TRAILER_PING = b"after"


def header_case(
    client: bool,
    bad: bytes,
    exc: type = ProtocolError,
    code: int = 1002,
    open_message: Optional[int] = None,
    **kw: Any,
) -> Case:
    """A break that the header of ``bad`` decides; a valid ping follows it
    and must never come out."""
    pre, frames, events = _prefix(client, open_message)
    stream = pre + bad + wire(client, PING, TRAILER_PING)
    return Case(
        stream=stream,
        exc=exc,
        code=code,
        bad_start=len(pre),
        decide=len(pre) + header_len(bad) - 1,
        exact=False,
        frames=frames,
        events=events,
        **kw,
    )


def bad_masking(client: bool, opcode: int, payload: bytes, **kw: Any) -> bytes:
    """A frame with the wrong masking for the role."""
    return raw_frame(opcode, payload, key=KEY if client else None, **kw)


def _build_rule_cases(client: bool) -> Dict[str, Case]:
    w = lambda op, p=b"", **kw: wire(client, op, p, **kw)  # noqa: E731
    cases: Dict[str, Case] = {}

    # RSV bits with no extension negotiated (§5.2).
    for rsv, name in ((4, "rsv1"), (2, "rsv2"), (1, "rsv3"), (7, "rsv123")):
        cases[f"{name}-text"] = header_case(client, w(TEXT, b"abc", rsv=rsv))
        cases[f"{name}-binary"] = header_case(client, w(BINARY, b"abc", rsv=rsv))
        cases[f"{name}-ping"] = header_case(client, w(PING, b"abc", rsv=rsv))
        cases[f"{name}-close"] = header_case(client, w(CLOSE, b"\x03\xe8", rsv=rsv))
        cases[f"{name}-continuation"] = header_case(
            client, w(CONT, b"abc", rsv=rsv), open_message=TEXT
        )

    # Reserved opcodes (§5.2).
    for op in list(range(3, 8)) + list(range(0xB, 0x10)):
        cases[f"opcode-{op:x}"] = header_case(client, w(op, b"abc"))
        cases[f"opcode-{op:x}-nofin"] = header_case(client, w(op, b"abc", fin=False))
        cases[f"opcode-{op:x}-in-message"] = header_case(
            client, w(op, b"abc"), open_message=BINARY
        )

    # Control frames: payload over 125, or fragmented (§5.5).
    for op, name in ((PING, "ping"), (PONG, "pong"), (CLOSE, "close")):
        body = b"\x03\xe8" + b"r" * 124 if op == CLOSE else b"x" * 126
        cases[f"{name}-126"] = header_case(client, w(op, body))
        cases[f"{name}-127-16bit"] = header_case(client, w(op, body + b"y"))
        cases[f"{name}-65536"] = header_case(client, w(op, b"z" * 65536))
        cases[f"{name}-nofin"] = header_case(client, w(op, b"ab", fin=False))
        cases[f"{name}-nofin-empty"] = header_case(client, w(op, b"", fin=False))
        cases[f"{name}-nofin-in-message"] = header_case(
            client, w(op, b"ab", fin=False), open_message=TEXT
        )

    # Fragmentation (§5.4).
    cases["continuation-at-start"] = Case(
        stream=w(CONT, b"abc") + w(PING, b"x"),
        exc=ProtocolError,
        code=1002,
        bad_start=0,
        decide=header_len(w(CONT, b"abc")) - 1,
        exact=False,
        frames=[],
        events=[],
    )
    cases["continuation-no-message"] = header_case(client, w(CONT, b"abc"))
    cases["continuation-nofin-no-message"] = header_case(client, w(CONT, b"abc", fin=False))
    cases["text-in-text"] = header_case(client, w(TEXT, b"abc"), open_message=TEXT)
    cases["binary-in-text"] = header_case(client, w(BINARY, b"abc"), open_message=TEXT)
    cases["text-in-binary"] = header_case(client, w(TEXT, b"abc", fin=False), open_message=BINARY)
    cases["binary-in-binary"] = header_case(client, w(BINARY, b""), open_message=BINARY)

    # Masking (§5.1).
    cases["wrong-mask-text"] = header_case(client, bad_masking(client, TEXT, b"abc"))
    cases["wrong-mask-ping"] = header_case(client, bad_masking(client, PING, b"abc"))
    cases["wrong-mask-empty"] = header_case(client, bad_masking(client, BINARY, b""))
    cases["wrong-mask-continuation"] = header_case(
        client, bad_masking(client, CONT, b"abc"), open_message=BINARY
    )
    cases["wrong-mask-16bit"] = header_case(client, bad_masking(client, BINARY, b"m" * 300))

    # 64-bit length with the top bit set (§5.2).
    for length in (2**63, 2**64 - 1, 2**63 + 5):
        head = bytes([0x82, (0x00 if client else 0x80) | 127]) + length.to_bytes(8, "big")
        if not client:
            head += KEY
        cases[f"length-msb-{length:x}"] = header_case(client, head + b"abcdef")

    # Non-minimal length encodings (§5.2 MUST), strict by default.
    for n, enc in ((5, 16), (0, 16), (125, 16), (200, 64), (0, 64), (65535, 64), (126, 64)):
        cases[f"nonminimal-{n}-as-{enc}"] = header_case(client, w(BINARY, b"n" * n, enc=enc))
    cases["nonminimal-ping"] = header_case(client, w(PING, b"abc", enc=16))
    cases["nonminimal-close"] = header_case(client, w(CLOSE, b"\x03\xe8", enc=64))
    cases["nonminimal-continuation"] = header_case(
        client, w(CONT, b"abc", enc=16), open_message=TEXT
    )

    # Limits (1009), decided from the header.
    limit = {"fp_kwargs": {"max_frame_size": 100}, "mr_kwargs": {"max_message_size": 100}}
    cases["frame-over-limit"] = header_case(
        client, w(BINARY, b"b" * 101), MessageTooBig, 1009, **limit
    )
    cases["text-over-limit"] = header_case(
        client, w(TEXT, b"t" * 101), MessageTooBig, 1009, **limit
    )
    cases["frame-huge"] = header_case(
        client,
        w(BINARY, b"", length=2**62, enc=64),
        MessageTooBig,
        1009,
        fp_kwargs={"max_frame_size": 2**20},
    )
    cases["frame-max-63bit"] = header_case(
        client,
        w(BINARY, b"", length=2**63 - 1, enc=64),
        MessageTooBig,
        1009,
        fp_kwargs={"max_frame_size": 2**20},
    )
    cases["message-frame-limit"] = header_case(
        client,
        w(BINARY, b"b" * 101),
        MessageTooBig,
        1009,
        targets=("mr",),
        mr_kwargs={"max_message_size": None, "max_frame_size": 100},
    )
    cases["continuation-over-frame-limit"] = header_case(
        client,
        w(CONT, b"c" * 101),
        MessageTooBig,
        1009,
        open_message=BINARY,
        targets=("fp",),
        fp_kwargs={"max_frame_size": 100},
    )
    # A message over the limit in fragments that are each under it.
    pre, frames, events = _prefix(client)
    first = w(TEXT, b"a" * 60, fin=False)
    second = w(CONT, b"b" * 41)
    cases["message-over-limit-fragments"] = Case(
        stream=pre + first + w(PING, b"between") + second + w(PING, TRAILER_PING),
        exc=MessageTooBig,
        code=1009,
        bad_start=len(pre) + len(first) + len(w(PING, b"between")),
        decide=len(pre) + len(first) + len(w(PING, b"between")) + header_len(second) - 1,
        exact=False,
        frames=[],
        events=events + [("Ping", b"between")],
        targets=("mr",),
        mr_kwargs={"max_message_size": 100},
    )
    # Three fragments of 40 against a limit of 100: the sum counts.
    pre, frames, events = _prefix(client)
    parts = [w(BINARY, b"a" * 40, fin=False), w(PONG, b"q"), w(CONT, b"b" * 40, fin=False)]
    third = w(CONT, b"c" * 40)
    before = len(pre) + sum(len(x) for x in parts)
    cases["message-over-limit-three-fragments"] = Case(
        stream=pre + b"".join(parts) + third + w(PING, TRAILER_PING),
        exc=MessageTooBig,
        code=1009,
        bad_start=before,
        decide=before + header_len(third) - 1,
        exact=False,
        frames=[],
        events=events + [("Pong", b"q")],
        targets=("mr",),
        mr_kwargs={"max_message_size": 100},
    )
    cases["message-huge-default-limit"] = header_case(
        client,
        w(BINARY, b"", length=2**62, enc=64),
        MessageTooBig,
        1009,
        targets=("mr",),
    )
    cases["message-huge-continuation"] = header_case(
        client,
        w(CONT, b"", length=2**63 - 1, enc=64),
        MessageTooBig,
        1009,
        open_message=BINARY,
        targets=("mr",),
        mr_kwargs={"max_message_size": 1000},
    )

    # Invalid UTF-8 in text (§8.1): at the first bad byte.
    bad_texts = {
        "ff": (b"abc\xffdef", 3),
        "fe": (b"\xfe", 0),
        "lone-continuation": (b"ab\x80", 2),
        "overlong-c0": (b"a\xc0\x80", 1),
        "overlong-c1": (b"\xc1\xbf", 0),
        "overlong-e0": (b"ab\xe0\x80\x80", 3),
        "overlong-f0": (b"\xf0\x80\x80\x80", 1),
        "surrogate": (b"x\xed\xa0\x80", 2),
        "surrogate-low": (b"\xed\xbf\xbf", 1),
        "above-10ffff": (b"\xf4\x90\x80\x80", 1),
        "f5": (b"\xf5\x80\x80\x80", 0),
        "broken-3": (b"\xe2\x82A", 2),
        "broken-4": (b"\xf0\x9f\x98A", 3),
        "after-valid": ("\u20ac\U0001f600".encode() + b"\xc3\x28", 8),
        "late": (b"x" * 200 + b"\xf8", 200),
    }
    for name, (payload, bad_at) in bad_texts.items():
        pre, frames, events = _prefix(client)
        frame = w(TEXT, payload + b"tail")
        cases[f"utf8-{name}"] = Case(
            stream=pre + frame + w(PING, TRAILER_PING),
            exc=InvalidUTF8,
            code=1007,
            bad_start=len(pre),
            decide=len(pre) + header_len(frame) + bad_at,
            exact=True,
            frames=frames,
            events=events,
            targets=("mr",),
        )
        # The same bytes in the second fragment, after a ping.
        frag1 = w(TEXT, "\u00e9t\u00e9".encode(), fin=False)
        ping = w(PING, b"mid")
        frag2 = w(CONT, payload + b"tail")
        cases[f"utf8-{name}-fragment"] = Case(
            stream=pre + frag1 + ping + frag2 + w(PING, TRAILER_PING),
            exc=InvalidUTF8,
            code=1007,
            bad_start=len(pre) + len(frag1) + len(ping),
            decide=len(pre) + len(frag1) + len(ping) + header_len(frag2) + bad_at,
            exact=True,
            frames=[],
            events=events + [("Ping", b"mid")],
            targets=("mr",),
        )
    # A sequence split across fragments that turns out bad: E2 | 28.
    pre, frames, events = _prefix(client)
    frag1 = w(TEXT, b"ok\xe2", fin=False)
    frag2 = w(CONT, b"\x28ok")
    cases["utf8-bad-across-fragments"] = Case(
        stream=pre + frag1 + frag2,
        exc=InvalidUTF8,
        code=1007,
        bad_start=len(pre) + len(frag1),
        decide=len(pre) + len(frag1) + header_len(frag2),
        exact=True,
        frames=[],
        events=events,
        targets=("mr",),
    )
    # Truncated sequence at the end of a text message.
    for name, payload in (("2of3", b"ab\xe2\x82"), ("1of2", b"\xc3"), ("3of4", b"\xf0\x9f\x98")):
        pre, frames, events = _prefix(client)
        frame = w(TEXT, payload)
        cases[f"utf8-truncated-{name}"] = Case(
            stream=pre + frame + w(PING, TRAILER_PING),
            exc=InvalidUTF8,
            code=1007,
            bad_start=len(pre),
            decide=len(pre) + len(frame) - 1,
            exact=True,
            frames=frames,
            events=events,
            targets=("mr",),
        )
        frag1 = w(TEXT, b"ok" + payload, fin=False)
        ping = w(PING, b"mid")
        last = w(CONT, b"")
        cases[f"utf8-truncated-{name}-empty-final"] = Case(
            stream=pre + frag1 + ping + last + w(PING, TRAILER_PING),
            exc=InvalidUTF8,
            code=1007,
            bad_start=len(pre) + len(frag1) + len(ping),
            decide=len(pre) + len(frag1) + len(ping) + len(last) - 1,
            exact=True,
            frames=[],
            events=events + [("Ping", b"mid")],
            targets=("mr",),
        )

    # Close payloads (§5.5.1, §7.4).
    def close_case(payload: bytes, exc: type, code: int) -> Case:
        pre, frames, events = _prefix(client)
        frame = w(CLOSE, payload)
        return Case(
            stream=pre + frame + w(PING, TRAILER_PING),
            exc=exc,
            code=code,
            bad_start=len(pre),
            decide=len(pre) + len(frame) - 1,
            exact=False,
            frames=frames,
            events=events,
            targets=("mr",),
        )

    cases["close-1-byte"] = close_case(b"\x03", ProtocolError, 1002)
    for bad_code in (0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
        cases[f"close-code-{bad_code}"] = close_case(bad_code.to_bytes(2, "big"), ProtocolError, 1002)
        cases[f"close-code-{bad_code}-reason"] = close_case(
            bad_code.to_bytes(2, "big") + b"bye", ProtocolError, 1002
        )
    cases["close-reason-ff"] = close_case(b"\x03\xe8bye\xff", InvalidUTF8, 1007)
    cases["close-reason-surrogate"] = close_case(b"\x03\xe8\xed\xa0\x80", InvalidUTF8, 1007)
    cases["close-reason-truncated"] = close_case(b"\x0f\xa0ok\xe2\x82", InvalidUTF8, 1007)
    return cases


_cached: Dict[bool, Dict[str, Case]] = {}


def rule_cases(client: bool) -> Dict[str, Case]:
    """The cases for one role, built once."""
    if client not in _cached:
        _cached[client] = _build_rule_cases(client)
    return _cached[client]


_CASE_IDS = sorted(rule_cases(False))
SPLIT_IDS = list(SPLITS)


def _check_case(ws: Any, case: Case, kind: str, split: str, client: bool) -> None:
    if kind == "fp":
        parser = ws.FrameParser(client=client, **case.fp_kwargs)
        expected = case.frames
    else:
        parser = ws.MessageReader(client=client, **case.mr_kwargs)
        expected = case.events
    chunks = SPLITS[split](case.stream)
    events, exc, chunk_start, chunk_end = run(parser, chunks)
    assert exc is not None, f"no error; got {events!r}"
    assert type(exc) is case.exc, repr(exc)
    assert exc.close_code == case.code
    assert isinstance(exc, ProtocolError)
    # Nothing completed before the break is lost, duplicated or reordered.
    assert events == expected
    if split == "whole":
        assert [norm(e) for e in exc.events] == expected
    # Raised by the chunk that holds the deciding byte (exact), or earlier,
    # but never before the offending frame starts.
    assert chunk_end > case.bad_start, (chunk_start, chunk_end, case.bad_start)
    if case.exact:
        assert chunk_start <= case.decide < chunk_end, (chunk_start, chunk_end, case.decide)
    else:
        assert chunk_start <= case.decide, (chunk_start, chunk_end, case.decide)
    # The parser stays failed, and does not hand out the same events twice.
    for again in (b"", wire(client, PING, b"x"), b"\x00"):
        with pytest.raises(ProtocolError) as info:
            parser.feed(again)
        assert type(info.value) is case.exc
        assert info.value.close_code == case.code
        assert list(info.value.events) == []


_CASE_PARAMS = [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name in _CASE_IDS
    for kind in rule_cases(False)[name].targets
]


@pytest.mark.parametrize("split", SPLIT_IDS)
@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("name, kind", _CASE_PARAMS)
def test_rule(ws: Any, name: str, kind: str, client: bool, split: str) -> None:
    _check_case(ws, rule_cases(client)[name], kind, split, client)


# ---------------------------------------------------------------------------
# Things that must be accepted


@pytest.mark.parametrize("split", SPLIT_IDS)
@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize(
    "n, enc", [(5, 16), (0, 16), (125, 16), (200, 64), (0, 64), (65535, 64), (126, 64)]
)
def test_nonminimal_length_accepted_when_not_strict(
    ws: Any, n: int, enc: int, client: bool, split: str
) -> None:
    payload = bytes(range(256)) * (n // 256 + 1)
    payload = payload[:n]
    stream = wire(client, BINARY, payload, enc=enc) + wire(client, PING, b"p", enc=16)
    fp = ws.FrameParser(client=client, strict=False, max_frame_size=None)
    assert feed_all(fp, stream, split if n < 300 else "random3") == [
        F(BINARY, payload),
        F(PING, b"p"),
    ]
    mr = ws.MessageReader(client=client, strict=False)
    assert feed_all(mr, stream, split if n < 300 else "random3") == [
        M(BINARY, payload),
        ("Ping", b"p"),
    ]


@pytest.mark.parametrize("client", ROLES)
def test_nonminimal_text_and_close_accepted_when_not_strict(ws: Any, client: bool) -> None:
    stream = (
        wire(client, TEXT, "\u00e9a".encode(), fin=False, enc=64)
        + wire(client, CONT, b"b", enc=16)
        + wire(client, CLOSE, b"\x03\xe8ok", enc=16)
    )
    for split in SPLIT_IDS:
        mr = ws.MessageReader(client=client, strict=False)
        assert feed_all(mr, stream, split) == [M(TEXT, "\u00e9ab"), ("Close", 1000, "ok")]


@pytest.mark.parametrize("split", SPLIT_IDS)
@pytest.mark.parametrize("client", ROLES)
def test_control_frames_between_fragments(ws: Any, client: bool, split: str) -> None:
    w = lambda op, p=b"", **kw: wire(client, op, p, **kw)  # noqa: E731
    stream = (
        w(TEXT, b"Hel", fin=False)
        + w(PING, b"1")
        + w(PONG, b"2")
        + w(CONT, b"", fin=False)
        + w(PING, b"")
        + w(CONT, b"lo", fin=False)
        + w(CLOSE, b"\x03\xe8bye")
        + w(CONT, b"!")
        + w(BINARY, b"\x00", fin=False)
        + w(PONG, b"3")
        + w(CONT, b"\x01")
    )
    fp = ws.FrameParser(client=client)
    assert feed_all(fp, stream, split) == [
        F(TEXT, b"Hel", fin=False),
        F(PING, b"1"),
        F(PONG, b"2"),
        F(CONT, b"", fin=False),
        F(PING, b""),
        F(CONT, b"lo", fin=False),
        F(CLOSE, b"\x03\xe8bye"),
        F(CONT, b"!"),
        F(BINARY, b"\x00", fin=False),
        F(PONG, b"3"),
        F(CONT, b"\x01"),
    ]
    mr = ws.MessageReader(client=client)
    assert feed_all(mr, stream, split) == [
        ("Ping", b"1"),
        ("Pong", b"2"),
        ("Ping", b""),
        ("Close", 1000, "bye"),
        M(TEXT, "Hello!"),
        ("Pong", b"3"),
        M(BINARY, b"\x00\x01"),
    ]


@pytest.mark.parametrize("client", ROLES)
def test_control_payload_125_accepted(ws: Any, client: bool) -> None:
    stream = (
        wire(client, PING, b"x" * 125)
        + wire(client, PONG, b"y" * 125)
        + wire(client, CLOSE, b"\x03\xe8" + b"r" * 123)
    )
    for split in SPLIT_IDS:
        assert feed_all(ws.FrameParser(client=client), stream, split) == [
            F(PING, b"x" * 125),
            F(PONG, b"y" * 125),
            F(CLOSE, b"\x03\xe8" + b"r" * 123),
        ]
        assert feed_all(ws.MessageReader(client=client), stream, split) == [
            ("Ping", b"x" * 125),
            ("Pong", b"y" * 125),
            ("Close", 1000, "r" * 123),
        ]


@pytest.mark.parametrize("client", ROLES)
def test_limits_are_inclusive(ws: Any, client: bool) -> None:
    stream = wire(client, BINARY, b"b" * 100) + wire(client, TEXT, b"t" * 60, fin=False)
    stream += wire(client, PING, b"p" * 125) + wire(client, CONT, b"u" * 40)
    for split in ("whole", "bytewise", "random1"):
        fp = ws.FrameParser(client=client, max_frame_size=100)
        assert len(feed_all(fp, stream, split)) == 4
        mr = ws.MessageReader(client=client, max_message_size=100)
        assert feed_all(mr, stream, split) == [
            M(BINARY, b"b" * 100),
            ("Ping", b"p" * 125),
            M(TEXT, "t" * 60 + "u" * 40),
        ]


@pytest.mark.parametrize("client", ROLES)
def test_message_limit_resets_between_messages(ws: Any, client: bool) -> None:
    mr = ws.MessageReader(client=client, max_message_size=10)
    for _ in range(5):
        got = feed_all(
            mr, wire(client, BINARY, b"12345", fin=False) + wire(client, CONT, b"67890")
        )
        assert got == [M(BINARY, b"1234567890")]


@pytest.mark.parametrize("client", ROLES)
def test_limit_none_means_unlimited(ws: Any, client: bool) -> None:
    payload = bytes(range(256)) * 4100  # just over the 1 MiB default
    stream = wire(client, BINARY, payload)
    fp = ws.FrameParser(client=client, max_frame_size=None)
    assert feed_all(fp, stream, "whole") == [F(BINARY, payload)]
    mr = ws.MessageReader(client=client, max_message_size=None)
    assert feed_all(mr, stream, "whole") == [M(BINARY, payload)]


# ---------------------------------------------------------------------------
# 1009 from the header alone; no buffering of declared lengths


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("declared", [2**62, 2**63 - 1, 2**31, 2**20 + 1])
def test_too_big_raised_from_header_alone(ws: Any, client: bool, declared: int) -> None:
    head = wire(client, BINARY, b"", length=declared, enc=64)
    for parser in (
        ws.FrameParser(client=client, max_frame_size=2**20),
        ws.MessageReader(client=client),  # default limit: 1 MiB
        ws.MessageReader(client=client, max_message_size=2**20, max_frame_size=2**20),
    ):
        with pytest.raises(MessageTooBig) as info:
            parser.feed(head)
        assert info.value.close_code == 1009
        with pytest.raises(MessageTooBig):
            parser.feed(b"\x00" * 16)
    # Byte by byte: raised by the last byte of the header at the latest.
    for parser in (
        ws.FrameParser(client=client, max_frame_size=2**20),
        ws.MessageReader(client=client, max_message_size=2**20),
    ):
        events, exc, _, _ = run(parser, split_bytes(head))
        assert type(exc) is MessageTooBig and exc.close_code == 1009
        assert events == []


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("kind", ["fp", "mr"])
def test_huge_declared_length_allocates_nothing(ws: Any, client: bool, kind: str) -> None:
    tracemalloc = pytest.importorskip("tracemalloc", reason="tracemalloc is CPython's")
    pytest.importorskip("_tracemalloc", reason="tracemalloc is CPython's")
    if kind == "fp":
        parser = ws.FrameParser(client=client, max_frame_size=None)
    else:
        parser = ws.MessageReader(client=client, max_message_size=None)
    head = wire(client, BINARY, b"", length=2**30, enc=64)
    piece = b"\x00" * 1000
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        assert parser.feed(head) == []
        assert parser.feed(piece) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 2**20, f"{peak - before} bytes allocated for a 1 GiB header"


# ---------------------------------------------------------------------------
# Fail fast on UTF-8 inside one frame that arrives in pieces


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("bad", [b"\xff", b"\x80", b"\xc0", b"\xf5"])
def test_utf8_fail_fast_inside_one_frame(ws: Any, client: bool, bad: bytes) -> None:
    payload = b"0123456789ab" + bad + b"cde"
    assert len(payload) == 16
    frame = wire(client, TEXT, payload)
    head = header_len(frame)
    mr = ws.MessageReader(client=client)
    with pytest.raises(InvalidUTF8) as info:
        mr.feed(frame[: head + 13])
    assert info.value.close_code == 1007
    with pytest.raises(InvalidUTF8):
        mr.feed(frame[head + 13 :])
    # One byte short of the bad one: nothing yet.
    mr = ws.MessageReader(client=client)
    assert mr.feed(frame[: head + 12]) == []
    with pytest.raises(InvalidUTF8):
        mr.feed(frame[head + 12 : head + 13])


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize(
    "prefix, bad",
    [
        (b"\xe0", b"\x80"),  # overlong: E0 needs A0..BF next
        (b"\xed", b"\xa0"),  # surrogate
        (b"\xf4", b"\x90"),  # above U+10FFFF
        (b"\xf0", b"\x8f"),  # overlong 4-byte
        (b"\xe2\x82", b"\x41"),
        (b"\xf0\x9f\x98", b"\xc3"),
    ],
)
def test_utf8_fail_fast_at_the_deciding_byte(
    ws: Any, client: bool, prefix: bytes, bad: bytes
) -> None:
    # The prefix alone is a valid start of a sequence: no error until ``bad``.
    payload = b"abc" + prefix + bad + b"xyz"
    frame = wire(client, TEXT, payload)
    cut = header_len(frame) + 3 + len(prefix)
    mr = ws.MessageReader(client=client)
    for b in split_bytes(frame[:cut]):
        assert mr.feed(b) == []
    with pytest.raises(InvalidUTF8):
        mr.feed(frame[cut : cut + 1])


# ---------------------------------------------------------------------------
# Close codes


ACCEPTED_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]
ACCEPTED_CLOSE_CODES += [3000, 3999, 4000, 4999]


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("code", ACCEPTED_CLOSE_CODES)
def test_close_code_accepted(ws: Any, client: bool, code: int) -> None:
    for reason in ("", "bye", "\u00e9\u20ac\U0001f600"):
        stream = wire(client, CLOSE, code.to_bytes(2, "big") + reason.encode())
        for split in ("whole", "bytewise"):
            assert feed_all(ws.MessageReader(client=client), stream, split) == [
                ("Close", code, reason)
            ]


@pytest.mark.parametrize("client", ROLES)
def test_empty_close(ws: Any, client: bool) -> None:
    for split in ("whole", "bytewise"):
        events = feed_all(ws.MessageReader(client=client), wire(client, CLOSE, b""), split)
        assert events == [("Close", 1005, "")]


# ---------------------------------------------------------------------------
# Bad arguments


def test_feed_rejects_non_bytes(ws: Any) -> None:
    for cls in (ws.FrameParser, ws.MessageReader):
        for bad in ("\x81\x00", None, 5, 1.5, ["a"], object()):
            parser = cls(client=True)
            with pytest.raises(TypeError):
                parser.feed(bad)
            # A wrong argument is not a rule break: the parser still works.
            assert len(parser.feed(b"\x89\x00")) == 1


def test_feed_accepts_bytes_like(ws: Any) -> None:
    data = b"\x82\x03abc"
    for cls in (ws.FrameParser, ws.MessageReader):
        for arg in (bytearray(data), memoryview(data), memoryview(b"xx" + data)[2:]):
            parser = cls(client=True)
            events = [norm(e) for e in parser.feed(arg)]
            assert len(events) == 1 and events[0][-1] == b"abc"


def test_bad_limits(ws: Any) -> None:
    with pytest.raises(ValueError):
        ws.FrameParser(max_frame_size=-1)
    with pytest.raises(ValueError):
        ws.MessageReader(max_message_size=-1)
    with pytest.raises(ValueError):
        ws.MessageReader(max_frame_size=-1)
    with pytest.raises(TypeError):
        ws.FrameParser(max_frame_size="10")
    with pytest.raises(TypeError):
        ws.MessageReader(max_message_size=1.5)


def test_zero_limit(ws: Any) -> None:
    fp = ws.FrameParser(client=True, max_frame_size=0)
    assert feed_all(fp, b"\x82\x00\x81\x00") == [F(BINARY, b""), F(TEXT, b"")]
    with pytest.raises(MessageTooBig):
        fp.feed(b"\x82\x01")


def test_bad_rsv_allowed(ws: Any) -> None:
    for bad in (8, -1, 16, 255):
        with pytest.raises(ValueError):
            ws.FrameParser(rsv_allowed=bad)
    for ok in range(8):
        ws.FrameParser(rsv_allowed=ok)


def test_constructor_arguments_keyword_only(ws: Any) -> None:
    with pytest.raises(TypeError):
        ws.FrameParser(True)
    with pytest.raises(TypeError):
        ws.MessageReader(True)


@pytest.mark.parametrize("client", ROLES)
def test_rsv1_allowed_on_first_frame_only(ws: Any, client: bool) -> None:
    w = lambda op, p=b"", **kw: wire(client, op, p, **kw)  # noqa: E731
    good = (
        w(TEXT, b"a", rsv=4)
        + w(BINARY, b"b", rsv=4, fin=False)
        + w(PING, b"p")
        + w(CONT, b"c")
        + w(BINARY, b"d")
    )
    for split in SPLIT_IDS:
        fp = ws.FrameParser(client=client, rsv_allowed=4)
        assert feed_all(fp, good, split) == [
            F(TEXT, b"a", rsv=4),
            F(BINARY, b"b", fin=False, rsv=4),
            F(PING, b"p"),
            F(CONT, b"c"),
            F(BINARY, b"d"),
        ]
    bad_frames = {
        "continuation": w(BINARY, b"b", fin=False) + w(CONT, b"c", rsv=4),
        "continuation-after-rsv1": w(BINARY, b"b", fin=False, rsv=4) + w(CONT, b"c", rsv=4),
        "ping": w(PING, b"p", rsv=4),
        "pong": w(PONG, b"p", rsv=4),
        "close": w(CLOSE, b"\x03\xe8", rsv=4),
        "rsv2": w(TEXT, b"a", rsv=2),
        "rsv3": w(BINARY, b"a", rsv=1),
        "rsv1+rsv2": w(TEXT, b"a", rsv=6),
    }
    for name, stream in bad_frames.items():
        for split in SPLIT_IDS:
            fp = ws.FrameParser(client=client, rsv_allowed=4)
            _, exc, _, _ = run(fp, SPLITS[split](stream))
            assert exc is not None, name
            assert type(exc) is ProtocolError and exc.close_code == 1002, name


@pytest.mark.parametrize("client", ROLES)
def test_rsv_allowed_all(ws: Any, client: bool) -> None:
    stream = wire(client, TEXT, b"a", rsv=7) + wire(client, BINARY, b"b", rsv=2)
    fp = ws.FrameParser(client=client, rsv_allowed=7)
    assert feed_all(fp, stream) == [F(TEXT, b"a", rsv=7), F(BINARY, b"b", rsv=2)]
    fp = ws.FrameParser(client=client, rsv_allowed=2)
    with pytest.raises(ProtocolError) as info:
        fp.feed(stream)
    assert info.value.close_code == 1002


def test_errors_importable_and_shared(ws: Any) -> None:
    assert issubclass(InvalidUTF8, ProtocolError)
    assert issubclass(MessageTooBig, ProtocolError)
    assert wsfast.ProtocolError is ProtocolError
    # Both backends raise the package's own classes.
    with pytest.raises(wsfast.ProtocolError):
        ws.FrameParser().feed(b"\x81\x00")


@pytest.mark.parametrize("limit", [2**62, 2**63 - 1, 2**63, 2**64, 2**100])
def test_huge_limits_behave_as_no_limit(ws: Any, limit: int) -> None:
    """A limit beyond any 63-bit length lets every frame through, in both
    backends alike (the pure one takes any int)."""
    head = raw_frame(BINARY, b"", length=2**62, enc=64)
    fp = ws.FrameParser(client=True, max_frame_size=limit)
    assert fp.feed(head + b"abc") == []
    mr = ws.MessageReader(client=True, max_message_size=limit, max_frame_size=limit)
    assert mr.feed(head + b"abc") == []
    assert feed_all(ws.MessageReader(client=True, max_message_size=limit), b"\x82\x01x") == [
        M(BINARY, b"x")
    ]


# ---------------------------------------------------------------------------
# Staying failed, without cost


@pytest.mark.parametrize("kind", ["fp", "mr"])
def test_failed_parser_does_not_grow(ws: Any, kind: str) -> None:
    """A connection that keeps feeding a failed parser (a server draining
    the socket before it closes) must not pile up memory: each later feed()
    raises, but nothing accumulates."""
    tracemalloc = pytest.importorskip("tracemalloc", reason="tracemalloc is CPython's")
    pytest.importorskip("_tracemalloc", reason="tracemalloc is CPython's")
    parser = ws.FrameParser(client=True) if kind == "fp" else ws.MessageReader(client=True)
    with pytest.raises(ProtocolError):
        parser.feed(b"\x83\x00")
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(20000):
            try:
                parser.feed(b"\x89\x00")
            except ProtocolError:
                pass
            else:  # pragma: no cover
                raise AssertionError("a failed parser accepted more data")
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 2**20, f"{after - before} bytes retained by 20000 failed feeds"


@pytest.mark.parametrize("kind", ["fp", "mr"])
def test_events_on_caught_error_are_kept(ws: Any, kind: str) -> None:
    """The events that ride on the error a call raised stay on it when the
    failed parser is fed again."""
    parser = ws.FrameParser(client=True) if kind == "fp" else ws.MessageReader(client=True)
    with pytest.raises(ProtocolError) as first:
        parser.feed(b"\x89\x01p\x83\x00")
    assert len(first.value.events) == 1
    with pytest.raises(ProtocolError) as second:
        parser.feed(b"\x89\x00")
    assert list(second.value.events) == []
    assert len(first.value.events) == 1, "the first error lost its events"
