"""Tests for the RFC 6455 §4 opening handshake helpers."""

from __future__ import annotations

import base64
from typing import Callable, List, Optional, Tuple, Type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsfast._handshake as hs
from wsfast._handshake import (
    HandshakeError,
    Headers,
    Request,
    Response,
    accept_key,
    build_request,
    build_response,
    check_request,
    check_response,
    generate_key,
    parse_request,
    parse_response,
    reject_response,
)

# RFC 6455 §1.2/§1.3 sample handshake.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
RFC_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
)

Pairs = List[Tuple[str, str]]


def good_request_headers() -> Pairs:
    return [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", RFC_KEY),
        ("Sec-WebSocket-Version", "13"),
    ]


def good_response_headers() -> Pairs:
    return [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", RFC_ACCEPT),
    ]


def without(name: str) -> Callable[[Pairs], Pairs]:
    return lambda h: [(n, v) for n, v in h if n.lower() != name.lower()]


def replace(name: str, value: str) -> Callable[[Pairs], Pairs]:
    return lambda h: [(n, value if n.lower() == name.lower() else v) for n, v in h]


def add(name: str, value: str) -> Callable[[Pairs], Pairs]:
    return lambda h: h + [(name, value)]


def head(first_line: str, pairs: Pairs) -> bytes:
    lines = [first_line] + [f"{n}: {v}" for n, v in pairs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def b64(n: int) -> str:
    return base64.b64encode(bytes(range(n))).decode()


# ---------------------------------------------------------------- keys


def test_accept_key_rfc_example() -> None:
    assert accept_key(RFC_KEY) == RFC_ACCEPT
    assert accept_key(RFC_KEY.encode()) == RFC_ACCEPT


def test_accept_key_second_known_answer() -> None:
    # The sample key used by Wikipedia and MDN.
    assert accept_key("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk="


@pytest.mark.parametrize("bad", [None, 16, 1.5, ["dGhl"]])
def test_accept_key_rejects_non_text(bad: object) -> None:
    with pytest.raises(TypeError):
        accept_key(bad)  # type: ignore[arg-type]


def test_generate_key_is_a_fresh_16_byte_nonce() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(key) == 24
        assert len(base64.b64decode(key, validate=True)) == 16
        assert check_request(replace("Sec-WebSocket-Key", key)(good_request_headers())) == key


def test_handshake_error_is_a_value_error_with_header() -> None:
    err = HandshakeError("boom", "Upgrade")
    assert isinstance(err, ValueError)
    assert err.header == "Upgrade"
    assert str(err) == "boom"
    assert HandshakeError("x").header is None


def test_all_names_exist() -> None:
    for name in hs.__all__:
        assert hasattr(hs, name), name
    assert {"accept_key", "parse_request", "check_response", "HandshakeError"} <= set(hs.__all__)


# ---------------------------------------------------------------- known answers


def test_parse_rfc_sample_request() -> None:
    req = parse_request(RFC_REQUEST)
    assert req.method == "GET"
    assert req.path == "/chat"
    assert req.headers.get("host") == "server.example.com"
    assert req.headers.get("SEC-WEBSOCKET-PROTOCOL") == "chat, superchat"
    assert len(req.headers) == 7
    assert check_request(req) == RFC_KEY


def test_parse_rfc_sample_response() -> None:
    resp = parse_response(RFC_RESPONSE)
    assert resp.status == 101
    assert resp.reason == "Switching Protocols"
    assert resp.headers.get("sec-websocket-accept") == RFC_ACCEPT
    check_response(resp, RFC_KEY)


def test_build_request_known_bytes() -> None:
    data, key = build_request(
        "server.example.com",
        "/chat",
        key=RFC_KEY,
        subprotocols=["chat", "superchat"],
        origin="http://example.com",
        extra_headers={"User-Agent": "wsfast-test"},
    )
    assert key == RFC_KEY
    assert data == (
        b"GET /chat HTTP/1.1\r\n"
        b"Host: server.example.com\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: chat, superchat\r\n"
        b"Origin: http://example.com\r\n"
        b"User-Agent: wsfast-test\r\n"
        b"\r\n"
    )


def test_build_request_minimal_and_generated_key() -> None:
    data, key = build_request("h:8080")
    assert data == (
        b"GET / HTTP/1.1\r\nHost: h:8080\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key.encode()
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert len(base64.b64decode(key, validate=True)) == 16
    assert build_request("h")[1] != key


def test_build_request_single_subprotocol_string() -> None:
    data, _ = build_request("h", key=RFC_KEY, subprotocols="chat")
    assert b"\r\nSec-WebSocket-Protocol: chat\r\n" in data
    data, _ = build_request("h", key=RFC_KEY, subprotocols=[])
    assert b"Sec-WebSocket-Protocol" not in data


def test_build_response_known_bytes() -> None:
    assert build_response(RFC_KEY) == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        b"\r\n"
    )


def test_build_response_with_options() -> None:
    data = build_response(
        RFC_KEY,
        subprotocol="chat",
        extensions=["permessage-deflate; server_no_context_takeover", "x-foo"],
        extra_headers=[("Server", "wsfast"), ("X-Two", "a"), ("X-Two", "b")],
    )
    assert data == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        b"Sec-WebSocket-Protocol: chat\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover, x-foo\r\n"
        b"Server: wsfast\r\n"
        b"X-Two: a\r\n"
        b"X-Two: b\r\n"
        b"\r\n"
    )
    assert b"Sec-WebSocket-Extensions: permessage-deflate\r\n" in build_response(
        RFC_KEY, extensions="permessage-deflate"
    )


def test_reject_response_400_known_bytes() -> None:
    assert reject_response(400, "Bad Request", b"missing Upgrade") == (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 15\r\n"
        b"Connection: close\r\n"
        b"\r\n"
        b"missing Upgrade"
    )
    assert reject_response(403, "Forbidden") == (
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


def test_reject_response_426_names_the_version() -> None:
    data = reject_response(426, "Upgrade Required", extra_headers={"Content-Type": "text/html"})
    assert data == (
        b"HTTP/1.1 426 Upgrade Required\r\n"
        b"Upgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Content-Length: 0\r\n"
        b"Connection: close\r\n"
        b"Content-Type: text/html\r\n"
        b"\r\n"
    )
    resp = parse_response(data)
    assert resp.status == 426
    assert resp.headers.get("sec-websocket-version") == "13"


@pytest.mark.parametrize(
    "args, exc",
    [
        ((101, "Switching Protocols"), ValueError),
        ((99, "x"), ValueError),
        ((600, "x"), ValueError),
        (("400", "Bad Request"), TypeError),
        ((True, "x"), TypeError),
        ((400, "Bad Request", "text body"), TypeError),
        ((400, "Bad\r\nSet-Cookie: a=b"), ValueError),
    ],
)
def test_reject_response_refuses_bad_arguments(
    args: Tuple[object, ...], exc: Type[Exception]
) -> None:
    with pytest.raises(exc):
        reject_response(*args)  # type: ignore[arg-type]


def test_reject_response_refuses_duplicate_framing_headers() -> None:
    with pytest.raises(ValueError, match="Content-Length"):
        reject_response(400, "Bad Request", b"x", extra_headers={"Content-Length": "99"})


# ---------------------------------------------------------------- round trip


def test_full_round_trip() -> None:
    data, key = build_request("example.com:9001", "/ws?room=1", subprotocols=["chat"])
    req = parse_request(data)
    assert (req.method, req.path) == ("GET", "/ws?room=1")
    assert req.headers.get("Sec-WebSocket-Protocol") == "chat"
    server_key = check_request(req)
    assert server_key == key
    answer = build_response(server_key, subprotocol="chat")
    resp = parse_response(answer)
    assert resp.status == 101
    assert resp.headers.get("Sec-WebSocket-Accept") == accept_key(key)
    check_response(resp, key)
    with pytest.raises(HandshakeError) as info:
        check_response(resp, generate_key())
    assert info.value.header == "Sec-WebSocket-Accept"


@settings(max_examples=200, deadline=None)
@given(
    raw=st.binary(min_size=16, max_size=16),
    path=st.from_regex(r"/[!-\"$-~]{0,40}", fullmatch=True),
    upper=st.booleans(),
)
def test_round_trip_any_key(raw: bytes, path: str, upper: bool) -> None:
    key = base64.b64encode(raw).decode()
    data, got = build_request("h", path, key=key)
    assert got == key
    if upper:
        data = data.replace(b"Sec-WebSocket-Key", b"SEC-WEBSOCKET-KEY")
    req = parse_request(data)
    assert req.path == path
    assert check_request(req) == key
    check_response(parse_response(build_response(key)), key)


def test_parse_response_ignores_bytes_after_the_head() -> None:
    frame = b"\x81\x05hello"
    resp = parse_response(RFC_RESPONSE + frame)
    check_response(resp, RFC_KEY)
    assert RFC_RESPONSE.index(b"\r\n\r\n") + 4 == len(RFC_RESPONSE)


# ---------------------------------------------------------------- Headers


def test_headers_case_insensitive_multi() -> None:
    h = Headers([("Connection", "keep-alive"), ("X", "1"), ("connection", "Upgrade")])
    assert h.get("CONNECTION") == "keep-alive, Upgrade"
    assert h.get_all("connection") == ["keep-alive", "Upgrade"]
    assert h["x"] == "1"
    assert "x" in h and "X" in h and "y" not in h and 5 not in h
    assert h.get("missing") is None
    assert h.get("missing", "d") == "d"
    assert h.get_all("missing") == []
    assert list(h) == [("Connection", "keep-alive"), ("X", "1"), ("connection", "Upgrade")]
    assert len(h) == 3
    with pytest.raises(KeyError):
        h["missing"]


def test_headers_from_dict_bytes_pairs_and_headers() -> None:
    from_dict = Headers({"Upgrade": "websocket"})
    asgi_style = Headers([(b"upgrade", b"websocket")])
    assert from_dict.get("upgrade") == asgi_style.get("Upgrade") == "websocket"
    assert from_dict == asgi_style
    assert Headers(from_dict) == from_dict
    assert Headers() == Headers([])
    assert Headers({"a": "1"}) != Headers({"a": "2"})


@pytest.mark.parametrize("bad", ["ab", [("a",)], [("a", 1)], [1, 2], 5])
def test_headers_refuse_non_pairs(bad: object) -> None:
    with pytest.raises(TypeError):
        Headers(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "form",
    [
        lambda pairs: pairs,
        lambda pairs: dict(pairs),
        lambda pairs: Headers(pairs),
        lambda pairs: [(n.lower().encode(), v.encode()) for n, v in pairs],
    ],
    ids=["pairs", "dict", "Headers", "asgi-bytes"],
)
def test_check_request_accepts_every_header_form(form: Callable[[Pairs], object]) -> None:
    assert check_request(form(good_request_headers())) == RFC_KEY  # type: ignore[arg-type]
    check_response(form(good_response_headers()), RFC_KEY)  # type: ignore[arg-type]


# ---------------------------------------------------------------- broken requests

KEY = "Sec-WebSocket-Key"
VERSION = "Sec-WebSocket-Version"

REQUEST_BREAKS = [
    ("missing Upgrade", without("Upgrade"), "Upgrade", "websocket"),
    ("Upgrade h2c", replace("Upgrade", "h2c"), "Upgrade", "h2c"),
    ("Upgrade empty", replace("Upgrade", ""), "Upgrade", "websocket"),
    ("missing Connection", without("Connection"), "Connection", "Upgrade"),
    ("Connection keep-alive", replace("Connection", "keep-alive"), "Connection", "keep-alive"),
    ("key missing", without(KEY), KEY, "missing"),
    ("key duplicated", add(KEY, RFC_KEY), KEY, "2 times"),
    ("key not base64", replace(KEY, "not*base64*at*all*here!="), KEY, "base64"),
    ("key urlsafe", replace(KEY, "-_-_-_-_-_-_-_-_-_-_-_=="), KEY, "base64"),
    ("key 15 bytes", replace(KEY, b64(15)), KEY, "15 bytes"),
    ("key 17 bytes", replace(KEY, b64(17)), KEY, "17 bytes"),
    ("key unpadded", replace(KEY, RFC_KEY.rstrip("=")), KEY, "base64"),
    ("key non-canonical", replace(KEY, RFC_KEY[:21] + "R=="), KEY, "canonical"),
    ("key two in one line", replace(KEY, RFC_KEY + ", " + RFC_KEY), KEY, "base64"),
    ("version 8", replace(VERSION, "8"), VERSION, "'8'"),
    ("version missing", without(VERSION), VERSION, "13"),
    ("version list", replace(VERSION, "13, 8"), VERSION, "13, 8"),
    ("version duplicated", add(VERSION, "13"), VERSION, "2 times"),
]


@pytest.mark.parametrize(
    "mutate, header, fragment",
    [b[1:] for b in REQUEST_BREAKS],
    ids=[b[0] for b in REQUEST_BREAKS],
)
def test_broken_request_header(
    mutate: Callable[[Pairs], Pairs], header: str, fragment: str
) -> None:
    pairs = mutate(good_request_headers())
    # Through the parser, as a server sees it.
    with pytest.raises(HandshakeError) as info:
        check_request(parse_request(head("GET / HTTP/1.1", pairs)))
    assert info.value.header == header
    assert header in str(info.value)
    assert fragment in str(info.value)
    # And as plain pairs, as a framework hands them over.
    with pytest.raises(HandshakeError) as info:
        check_request(pairs)
    assert info.value.header == header


def test_first_failure_reported_is_upgrade() -> None:
    with pytest.raises(HandshakeError) as info:
        check_request({"Host": "x"})
    assert info.value.header == "Upgrade"
    assert str(info.value) == "missing Upgrade header; expected 'Upgrade: websocket'"


@pytest.mark.parametrize("method", ["POST", "get", "HEAD"])
def test_wrong_method(method: str) -> None:
    req = parse_request(head(f"{method} / HTTP/1.1", good_request_headers()))
    with pytest.raises(HandshakeError) as info:
        check_request(req)
    assert info.value.header is None
    assert repr(method) in str(info.value) and "'GET'" in str(info.value)


def test_method_is_configurable_and_not_checked_on_bare_headers() -> None:
    req = Request("CONNECT", "/", Headers(good_request_headers()))
    assert check_request(req, method="CONNECT") == RFC_KEY
    assert check_request(req.headers) == RFC_KEY
    with pytest.raises(HandshakeError):
        check_request(req)


@pytest.mark.parametrize(
    "value",
    ["keep-alive, Upgrade", "Upgrade,keep-alive", "  UPGRADE  ", "keep-alive ,\tupgrade",
     "uPgRaDe", ",,upgrade,,", "close, Upgrade, keep-alive"],
)
def test_connection_token_lists(value: str) -> None:
    pairs = replace("Connection", value)(good_request_headers())
    assert check_request(parse_request(head("GET / HTTP/1.1", pairs))) == RFC_KEY


@pytest.mark.parametrize("value", ["WebSocket", "websocket, h2c", "h2c,WEBSOCKET", " websocket\t"])
def test_upgrade_token_lists(value: str) -> None:
    pairs = replace("Upgrade", value)(good_request_headers())
    assert check_request(parse_request(head("GET / HTTP/1.1", pairs))) == RFC_KEY
    check_response(replace("Upgrade", value)(good_response_headers()), RFC_KEY)


def test_connection_split_over_two_lines() -> None:
    pairs = without("Connection")(good_request_headers())
    pairs += [("Connection", "keep-alive"), ("connection", "Upgrade")]
    assert check_request(pairs) == RFC_KEY


@pytest.mark.parametrize(
    "header, value",
    [
        ("Connection", "upgrades"),
        ("Connection", "keep-alive upgrade"),
        ("Connection", "up grade"),
        ("Upgrade", "websocket2"),
        ("Upgrade", "websocket/13"),
        ("Upgrade", "web socket"),
        ("Upgrade", "h2c websocket"),
    ],
)
def test_tokens_must_match_whole(header: str, value: str) -> None:
    with pytest.raises(HandshakeError) as info:
        check_request(replace(header, value)(good_request_headers()))
    assert info.value.header == header


# ---------------------------------------------------------------- broken responses

ACCEPT = "Sec-WebSocket-Accept"

RESPONSE_BREAKS = [
    ("missing Upgrade", without("Upgrade"), "Upgrade"),
    ("Upgrade h2c", replace("Upgrade", "h2c"), "Upgrade"),
    ("missing Connection", without("Connection"), "Connection"),
    ("Connection keep-alive", replace("Connection", "keep-alive"), "Connection"),
    ("accept missing", without("Sec-WebSocket-Accept"), "Sec-WebSocket-Accept"),
    ("accept wrong", replace("Sec-WebSocket-Accept", accept_key(b64(16))), "Sec-WebSocket-Accept"),
    ("accept is the key", replace("Sec-WebSocket-Accept", RFC_KEY), "Sec-WebSocket-Accept"),
    ("accept lowercased", replace(ACCEPT, RFC_ACCEPT.lower()), ACCEPT),
    ("accept duplicated", add("Sec-WebSocket-Accept", RFC_ACCEPT), "Sec-WebSocket-Accept"),
]


@pytest.mark.parametrize(
    "mutate, header", [b[1:] for b in RESPONSE_BREAKS], ids=[b[0] for b in RESPONSE_BREAKS]
)
def test_broken_response_header(mutate: Callable[[Pairs], Pairs], header: str) -> None:
    pairs = mutate(good_response_headers())
    with pytest.raises(HandshakeError) as info:
        check_response(parse_response(head("HTTP/1.1 101 Switching Protocols", pairs)), RFC_KEY)
    assert info.value.header == header
    assert header in str(info.value)
    with pytest.raises(HandshakeError) as info:
        check_response(pairs, RFC_KEY)
    assert info.value.header == header


def test_wrong_accept_message_names_expected_value() -> None:
    with pytest.raises(HandshakeError) as info:
        check_response(replace("Sec-WebSocket-Accept", "AAAA")(good_response_headers()), RFC_KEY)
    assert "'AAAA'" in str(info.value) and RFC_ACCEPT in str(info.value)


@pytest.mark.parametrize("status_line", ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request",
                                         "HTTP/1.1 426 Upgrade Required", "HTTP/1.1 100 Continue"])
def test_wrong_status(status_line: str) -> None:
    resp = parse_response(head(status_line, good_response_headers()))
    with pytest.raises(HandshakeError) as info:
        check_response(resp, RFC_KEY)
    assert info.value.header is None
    assert str(resp.status) in str(info.value) and "101" in str(info.value)


def test_status_keyword_with_bare_headers() -> None:
    check_response(good_response_headers(), RFC_KEY, status=101)
    with pytest.raises(HandshakeError) as info:
        check_response(good_response_headers(), RFC_KEY, status=200)
    assert info.value.header is None
    ok = Response(101, "Switching Protocols", Headers(good_response_headers()))
    with pytest.raises(HandshakeError):
        check_response(ok, RFC_KEY, status=302)


# ---------------------------------------------------------------- malformed heads

GOOD_TAIL = b"Host: x\r\n\r\n"

MALFORMED_REQUESTS = [
    ("empty", b"", None),
    ("blank line only", b"\r\n\r\n", None),
    ("missing blank line", b"GET / HTTP/1.1\r\nHost: x\r\n", None),
    ("single CRLF", b"GET / HTTP/1.1\r\n", None),
    ("bare LF endings", b"GET / HTTP/1.1\nHost: x\n\n", None),
    ("leading blank line", b"\r\nGET / HTTP/1.1\r\n" + GOOD_TAIL, None),
    ("double space", b"GET  / HTTP/1.1\r\n" + GOOD_TAIL, None),
    ("no version", b"GET /\r\n" + GOOD_TAIL, None),
    ("HTTP/1.0", b"GET / HTTP/1.0\r\n" + GOOD_TAIL, None),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\n" + GOOD_TAIL, None),
    ("lowercase http", b"GET / http/1.1\r\n" + GOOD_TAIL, None),
    ("space in path", b"GET /a b HTTP/1.1\r\n" + GOOD_TAIL, None),
    ("trailing space", b"GET / HTTP/1.1 \r\n" + GOOD_TAIL, None),
    ("tab separator", b"GET\t/ HTTP/1.1\r\n" + GOOD_TAIL, None),
    ("no colon", b"GET / HTTP/1.1\r\nHost x\r\n\r\n", None),
    ("empty name", b"GET / HTTP/1.1\r\n: x\r\n\r\n", None),
    ("space in name", b"GET / HTTP/1.1\r\nX Y: z\r\n\r\n", None),
    ("space before colon", b"GET / HTTP/1.1\r\nUpgrade : websocket\r\n\r\n", "Upgrade"),
    ("obs-fold", b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", None),
    ("bare CR in value", b"GET / HTTP/1.1\r\nUpgrade: web\rsocket\r\n\r\n", None),
    ("bare LF in value", b"GET / HTTP/1.1\r\nUpgrade: web\nX: y\r\n\r\n", None),
    ("NUL in value", b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", "Host"),
    ("DEL in value", b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n", "Host"),
]


@pytest.mark.parametrize(
    "data, header", [m[1:] for m in MALFORMED_REQUESTS], ids=[m[0] for m in MALFORMED_REQUESTS]
)
def test_malformed_request_head(data: bytes, header: Optional[str]) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_request(data)
    assert info.value.header == header
    assert str(info.value)


def test_obsolete_line_folding_is_named() -> None:
    with pytest.raises(HandshakeError, match="folding") as info:
        parse_request(b"GET / HTTP/1.1\r\nUpgrade:\r\n\twebsocket\r\n\r\n")
    assert info.value.header is None


def test_bare_lf_head_is_named() -> None:
    with pytest.raises(HandshakeError, match="bare LF"):
        parse_request(b"GET / HTTP/1.1\nHost: x\n\n")


def test_missing_blank_line_message() -> None:
    with pytest.raises(HandshakeError, match="blank line"):
        parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with pytest.raises(HandshakeError, match="blank line"):
        parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")


MALFORMED_RESPONSES = [
    ("empty", b""),
    ("no blank line", b"HTTP/1.1 101 Switching Protocols\r\n"),
    ("non-numeric status", b"HTTP/1.1 abc Foo\r\n\r\n"),
    ("four-digit status", b"HTTP/1.1 1010 Foo\r\n\r\n"),
    ("two-digit status", b"HTTP/1.1 10 Foo\r\n\r\n"),
    ("HTTP/1.0", b"HTTP/1.0 101 Switching Protocols\r\n\r\n"),
    ("not HTTP", b"ICY 101 OK\r\n\r\n"),
    ("request line", b"GET / HTTP/1.1\r\n\r\n"),
    ("control in reason", b"HTTP/1.1 101 Swi\x01tching\r\n\r\n"),
    ("header no colon", b"HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n"),
]


@pytest.mark.parametrize(
    "data", [m[1] for m in MALFORMED_RESPONSES], ids=[m[0] for m in MALFORMED_RESPONSES]
)
def test_malformed_response_head(data: bytes) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_response(data)
    assert info.value.header is None


def test_status_line_reason_may_be_empty() -> None:
    assert parse_response(b"HTTP/1.1 101\r\n\r\n") == Response(101, "", Headers())
    assert parse_response(b"HTTP/1.1 101 \r\n\r\n").reason == ""
    assert parse_response(b"HTTP/1.1 404 Not  Found\r\n\r\n").reason == "Not  Found"


def test_header_value_whitespace_is_trimmed_and_obs_text_kept() -> None:
    req = parse_request(b"GET / HTTP/1.1\r\nX-A:\t  v a l \t\r\nX-B:\r\nX-C: caf\xe9\r\n\r\n")
    assert req.headers.get("x-a") == "v a l"
    assert req.headers.get("x-b") == ""
    assert req.headers.get("x-c") == "caf\xe9"


@pytest.mark.parametrize("data", [bytearray(RFC_REQUEST), memoryview(RFC_REQUEST)])
def test_parse_accepts_bytes_like(data: object) -> None:
    assert check_request(parse_request(data)) == RFC_KEY  # type: ignore[arg-type]


def test_parse_refuses_str() -> None:
    with pytest.raises(TypeError):
        parse_request(RFC_REQUEST.decode())  # type: ignore[arg-type]


def test_header_count_limit() -> None:
    ok = head("GET / HTTP/1.1", [(f"X-{i}", "v") for i in range(100)])
    assert len(parse_request(ok).headers) == 100
    too_many = head("GET / HTTP/1.1", [(f"X-{i}", "v") for i in range(101)])
    with pytest.raises(HandshakeError, match="100") as info:
        parse_request(too_many)
    assert info.value.header is None


def _head_of_size(size: int) -> bytes:
    start = b"GET / HTTP/1.1\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def test_head_size_limit_boundary() -> None:
    exact = _head_of_size(16 * 1024)
    assert len(exact) == 16384
    assert parse_request(exact).headers.get("x-pad") == "a" * (16384 - 27)
    # Trailing frame data beyond the limit does not count against the head.
    parse_request(exact + b"\x00" * 100_000)
    with pytest.raises(HandshakeError, match="16384") as info:
        parse_request(_head_of_size(16 * 1024 + 1))
    assert info.value.header is None


def test_oversized_head_without_end() -> None:
    with pytest.raises(HandshakeError, match="larger than 16384"):
        parse_request(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5000)
    with pytest.raises(HandshakeError, match="larger than 16384"):
        parse_response(b"HTTP/1.1 101 OK\r\n" + b"a" * 20000)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_parse_never_raises_anything_else(data: bytes) -> None:
    for parse in (parse_request, parse_response):
        try:
            parse(data)
        except HandshakeError:
            pass
    framed = b"GET / HTTP/1.1\r\n" + data + b"\r\n\r\n"
    try:
        req = parse_request(framed)
    except HandshakeError:
        return
    try:
        check_request(req)
    except HandshakeError:
        pass


# ---------------------------------------------------------------- injection


INJECTIONS = ["a\r\nSet-Cookie: x=1", "a\nX: y", "a\rX: y", "\r\n\r\nHTTP/1.1 200 OK"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_build_response_refuses_injection(evil: str) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        build_response(RFC_KEY, extra_headers={"X-Ok": evil})
    with pytest.raises(ValueError, match="CR or LF"):
        build_response(RFC_KEY, extra_headers=[(evil, "v")])
    with pytest.raises(ValueError):
        build_response(RFC_KEY, subprotocol=evil)
    with pytest.raises(ValueError, match="CR or LF"):
        build_response(RFC_KEY, extensions=evil)


@pytest.mark.parametrize("evil", INJECTIONS)
def test_build_request_refuses_injection(evil: str) -> None:
    with pytest.raises(ValueError):
        build_request(evil)
    with pytest.raises(ValueError):
        build_request("h", "/" + evil)
    with pytest.raises(ValueError, match="CR or LF"):
        build_request("h", origin=evil)
    with pytest.raises(ValueError):
        build_request("h", subprotocols=["chat", evil])
    with pytest.raises(ValueError, match="CR or LF"):
        build_request("h", extra_headers={"X-Ok": evil})
    with pytest.raises(ValueError, match="CR or LF"):
        reject_response(400, evil)


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=10),
    brk=st.sampled_from(["\r", "\n", "\r\n"]),
    after=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=10),
)
def test_any_crlf_in_a_value_is_refused(before: str, brk: str, after: str) -> None:
    value = before + brk + after
    with pytest.raises(ValueError):
        build_response(RFC_KEY, extra_headers=[("X-Value", value)])
    with pytest.raises(ValueError):
        build_request("h", key=RFC_KEY, extra_headers=[("X-Value", value)])


@pytest.mark.parametrize("value", ["a\x00b", "tab\tok\x7f", "\u20ac"])
def test_build_refuses_control_and_non_latin1(value: str) -> None:
    with pytest.raises(ValueError):
        build_response(RFC_KEY, extra_headers={"X": value})


@pytest.mark.parametrize("name", ["Upgrade", "connection", "SEC-WEBSOCKET-ACCEPT"])
def test_build_response_refuses_overriding_its_own_headers(name: str) -> None:
    with pytest.raises(ValueError, match="build_response writes it"):
        build_response(RFC_KEY, extra_headers={name: "x"})


def test_build_request_refuses_overriding_its_own_headers() -> None:
    with pytest.raises(ValueError, match="build_request writes it"):
        build_request("h", extra_headers={"Host": "evil"})
    with pytest.raises(ValueError, match="build_request writes it"):
        build_request("h", extra_headers={"sec-websocket-key": RFC_KEY})
    data, _ = build_request("h", extra_headers={"Sec-WebSocket-Extensions": "permessage-deflate"})
    assert parse_request(data).headers.get("sec-websocket-extensions") == "permessage-deflate"


@pytest.mark.parametrize(
    "kwargs",
    [{"key": b64(15)}, {"key": "not a key at all!!!!!!=="}, {"key": RFC_KEY.rstrip("=")}],
)
def test_build_request_refuses_bad_key(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match="Sec-WebSocket-Key"):
        build_request("h", **kwargs)


@pytest.mark.parametrize("path", ["chat", "", "http://x/", "/a#b"])
def test_build_request_path_must_be_origin_form(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        build_request("h", path)


@pytest.mark.parametrize("host", ["", "a b", "h\x00", "a/b", "h:x", "a@b"])
def test_build_request_refuses_bad_host(host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        build_request(host)
