"""RFC 9112 request rules for the upgrade request: Host, line endings, the
request-target, body framing and size limits, in the helpers and on the wire
against the echo server."""

from __future__ import annotations

import asyncio
import types
from typing import List, Optional, Tuple

import pytest

from wsfast._handshake import (
    MAX_HEAD_SIZE,
    HandshakeError,
    Headers,
    Request,
    check_request,
    head_end,
    parse_request,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
GOOD = [
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
]


def request(pairs: List[Tuple[str, str]], line: str = "GET /chat HTTP/1.1", eol: str = "\r\n") -> bytes:
    return (eol.join([line] + [f"{n}: {v}" for n, v in pairs]) + eol + eol).encode("latin-1")


def failure(data: bytes) -> HandshakeError:
    with pytest.raises(HandshakeError) as info:
        check_request(parse_request(data))
    return info.value


# ---------------------------------------------------------------- Host


def test_good_request_passes() -> None:
    assert check_request(parse_request(request(GOOD))) == KEY


def test_missing_host_is_400() -> None:
    err = failure(request([p for p in GOOD if p[0] != "Host"]))
    assert (err.header, err.status) == ("Host", 400)
    assert "missing Host header" in str(err)


def test_two_host_lines_are_400() -> None:
    err = failure(request(GOOD + [("Host", "example.com")]))
    assert (err.header, err.status) == ("Host", 400)
    assert "appears 2 times" in str(err)


def test_host_on_bare_headers_too() -> None:
    with pytest.raises(HandshakeError, match="missing Host"):
        check_request([p for p in GOOD if p[0] != "Host"])
    with pytest.raises(HandshakeError, match="2 times"):
        check_request(GOOD + [("host", "b")])


@pytest.mark.parametrize(
    "host", ["example.com", "example.com:8080", "127.0.0.1:9001", "[::1]:80", "[::1]", "a_b.local", "h:"]
)
def test_valid_host_values(host: str) -> None:
    assert check_request([(n, host if n == "Host" else v) for n, v in GOOD]) == KEY


@pytest.mark.parametrize("host", ["", "a b", "user@example.com", "a/b", "h:8o", "a, b", "[::1"])
def test_invalid_host_values_are_400(host: str) -> None:
    with pytest.raises(HandshakeError, match="Host") as info:
        check_request([(n, host if n == "Host" else v) for n, v in GOOD])
    assert (info.value.header, info.value.status) == ("Host", 400)


# ---------------------------------------------------------------- line endings


def test_bare_lf_head_is_refused_with_the_reason() -> None:
    data = request(GOOD, eol="\n")
    with pytest.raises(HandshakeError, match=r"request line 1 ends with a bare LF.*CRLF") as info:
        parse_request(data)
    assert info.value.status == 400


def test_head_end_refuses_bare_lf_before_the_head_is_complete() -> None:
    # A reader must not wait for a CRLF CRLF that a bare-LF client never sends.
    with pytest.raises(HandshakeError, match="bare LF"):
        head_end(b"GET / HTTP/1.1\n")
    with pytest.raises(HandshakeError, match="line 2 ends with a bare LF"):
        head_end(b"GET / HTTP/1.1\r\nHost: x\nUpg")


def test_head_end_refuses_a_bare_cr_but_waits_for_a_trailing_one() -> None:
    assert head_end(b"GET / HTTP/1.1\r") == -1
    assert head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r") == -1
    with pytest.raises(HandshakeError, match="CR that is not followed by LF"):
        head_end(b"GET / HTTP/1.1\rHost")


def test_head_end_positions() -> None:
    data = request(GOOD)
    assert head_end(data) == len(data)
    # Frames after the head may hold any byte, LF included.
    assert head_end(data + b"\n\x81\x05\n\r") == len(data)
    assert head_end(bytearray(data)) == len(data)
    assert head_end(memoryview(data)) == len(data)
    for cut in range(len(data)):
        assert head_end(data[:cut]) == -1
    with pytest.raises(TypeError):
        head_end("GET / HTTP/1.1\r\n\r\n")  # type: ignore[arg-type]


def test_head_end_size_limit_is_431() -> None:
    with pytest.raises(HandshakeError, match=f"larger than {MAX_HEAD_SIZE}") as info:
        head_end(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_SIZE)
    assert info.value.status == 431
    assert head_end(b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD_SIZE - 100)) == -1


def test_too_many_header_lines_is_431() -> None:
    err = failure(request(GOOD + [(f"X-{i}", "v") for i in range(100)]))
    assert err.status == 431


# ---------------------------------------------------------------- field syntax


def test_whitespace_before_the_colon_is_400() -> None:
    err = failure(request(GOOD).replace(b"Host:", b"Host :"))
    assert (err.header, err.status) == ("Host", 400)
    assert "whitespace before the colon" in str(err)


def test_obs_fold_is_400() -> None:
    err = failure(request(GOOD + [("X-A", "b\r\n c")]))
    assert err.status == 400 and "folding" in str(err)


def test_whitespace_line_after_the_request_line_is_400() -> None:
    err = failure(request(GOOD, line="GET / HTTP/1.1\r\n X: y"))
    assert err.status == 400 and "right after the start line" in str(err)


# ---------------------------------------------------------------- body framing


@pytest.mark.parametrize("value", ["0", "0, 0", "00"])
def test_zero_content_length_is_fine(value: str) -> None:
    assert check_request(parse_request(request(GOOD + [("Content-Length", value)]))) == KEY


def test_repeated_equal_content_length_is_fine() -> None:
    assert check_request(parse_request(request(GOOD + [("Content-Length", "0")] * 2))) == KEY


@pytest.mark.parametrize("value", ["x", "-1", "1.0", "", "+5", "0x10", "1 2"])
def test_invalid_content_length_is_400(value: str) -> None:
    with pytest.raises(HandshakeError, match="not a number") as info:
        parse_request(request(GOOD + [("Content-Length", value)]))
    assert (info.value.header, info.value.status) == ("Content-Length", 400)


@pytest.mark.parametrize("extra", [[("Content-Length", "0, 5")], [("Content-Length", "0"), ("Content-Length", "5")]])
def test_differing_content_lengths_are_400(extra: List[Tuple[str, str]]) -> None:
    with pytest.raises(HandshakeError, match="differing values"):
        parse_request(request(GOOD + extra))


def test_content_length_beside_transfer_encoding_is_400() -> None:
    with pytest.raises(HandshakeError, match="both Transfer-Encoding and Content-Length"):
        parse_request(request(GOOD + [("Transfer-Encoding", "chunked"), ("Content-Length", "0")]))


def test_upgrade_request_with_a_body_is_400() -> None:
    err = failure(request(GOOD + [("Content-Length", "5")]))
    assert (err.header, err.status) == ("Content-Length", 400)
    assert "cannot carry a body" in str(err)
    err = failure(request(GOOD + [("Transfer-Encoding", "chunked")]))
    assert (err.header, err.status) == ("Transfer-Encoding", 400)


# ---------------------------------------------------------------- request-target


@pytest.mark.parametrize(
    "line",
    ["GET * HTTP/1.1", "GET :80 HTTP/1.1", "GET chat HTTP/1.1", "GET /a#b HTTP/1.1",
     "CONNECT /x HTTP/1.1", "OPTIONS chat HTTP/1.1"],
)
def test_request_target_in_the_wrong_form_is_400(line: str) -> None:
    with pytest.raises(HandshakeError, match="request-target") as info:
        parse_request(request(GOOD, line=line))
    assert info.value.status == 400


@pytest.mark.parametrize(
    "line", ["OPTIONS * HTTP/1.1", "CONNECT example.com:443 HTTP/1.1", "CONNECT [::1]:8 HTTP/1.1",
             "GET http://example.com/chat?x=1 HTTP/1.1", "GET /a|b^{c} HTTP/1.1"],
)
def test_request_target_forms_parse(line: str) -> None:
    assert parse_request(request(GOOD, line=line)).path == line.split(" ")[1]


@pytest.mark.parametrize(
    "target", ["http://example.com/chat", "wss://h:1/x?y", "HTTPS://h/"],
)
def test_absolute_form_is_accepted_for_the_upgrade(target: str) -> None:
    # RFC 9112 §3.2.2: a server must accept the absolute form.
    assert check_request(parse_request(request(GOOD, line=f"GET {target} HTTP/1.1"))) == KEY


@pytest.mark.parametrize("target", ["ftp://h/", "http:chat", "mailto:a@b", "/a#b", "*", "h:80", "example.com:80", "/a b"])
def test_upgrade_target_must_name_a_resource(target: str) -> None:
    with pytest.raises(HandshakeError, match="request-target") as info:
        check_request(Request("GET", target, Headers(GOOD)))
    assert info.value.status == 400


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    "header, status", [("Upgrade", 426), ("Sec-WebSocket-Version", 426), ("Connection", 400), (None, 400)]
)
def test_error_status(header: Optional[str], status: int) -> None:
    assert HandshakeError("x", header).status == status
    assert HandshakeError("x", header, status=431).status == 431


# ---------------------------------------------------------------- over the wire


async def _exchange(data: bytes, implementation: str) -> Tuple[bytes, float]:
    from wsfast import _echo

    server = await _echo.serve("127.0.0.1", 0, implementation=implementation)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        writer.write(data)
        await writer.drain()
        # The server answers and closes; read to EOF (well inside its 10 s
        # handshake timeout, which would mean it never answered).
        answer = await asyncio.wait_for(reader.read(), 5)
        elapsed = loop.time() - start
        writer.close()
        return answer, elapsed
    finally:
        server.close()
        await server.wait_closed()


WIRE_CASES = [
    ("no Host", request([p for p in GOOD if p[0] != "Host"]), 400, b"missing Host header"),
    ("two Host", request(GOOD + [("Host", "b")]), 400, b"appears 2 times"),
    ("bare LF", request(GOOD, eol="\n"), 400, b"bare LF"),
    ("bare LF, first line only", b"GET /chat HTTP/1.1\n", 400, b"bare LF"),
    ("obs-fold", request(GOOD + [("X", "a\r\n b")]), 400, b"folding"),
    ("space before colon", request(GOOD).replace(b"Host:", b"Host :"), 400, b"before the colon"),
    ("body", request(GOOD + [("Content-Length", "3")]) + b"abc", 400, b"cannot carry a body"),
    ("chunked", request(GOOD + [("Transfer-Encoding", "chunked")]), 400, b"cannot carry a body"),
    ("smuggling pair", request(GOOD + [("Content-Length", "0"), ("Transfer-Encoding", "chunked")]), 400,
     b"both Transfer-Encoding"),
    ("asterisk target", request(GOOD, line="GET * HTTP/1.1"), 400, b"request-target"),
    ("too large", b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_SIZE, 431, b"larger than"),
    ("version", request(GOOD).replace(b"Version: 13", b"Version: 8"), 426, b"only version 13"),
]


@pytest.mark.parametrize("data, status, why", [c[1:] for c in WIRE_CASES], ids=[c[0] for c in WIRE_CASES])
def test_echo_server_answers_a_bad_request(
    data: bytes, status: int, why: bytes, ws: types.SimpleNamespace
) -> None:
    answer, elapsed = asyncio.run(_exchange(data, ws.IMPLEMENTATION))
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert why in answer
    assert elapsed < 5


def test_echo_server_upgrades_a_good_request(ws: types.SimpleNamespace) -> None:
    implementation = ws.IMPLEMENTATION

    async def scenario() -> bytes:
        from wsfast import _echo

        server = await _echo.serve("127.0.0.1", 0, implementation=implementation)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request(GOOD))
            answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.close()
            return answer
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario()).startswith(b"HTTP/1.1 101 ")


# ---------------------------------------------------------------- argument edges


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(HandshakeError) as info:
        check_request([(n, "x" * 500 if n == "Host" else v) for n, v in GOOD] + [("Host", "y")])
    with pytest.raises(HandshakeError) as info:
        check_request(Request("GET", "/" + "#" * 300, Headers(GOOD)))
    assert "..." in str(info.value) and len(str(info.value)) < 300


def test_headers_refuse_a_three_item_pair_and_compare_only_with_headers() -> None:
    from wsfast._handshake import build_request, build_response, reject_response

    with pytest.raises(TypeError, match="pairs"):
        Headers([("a", "b", "c")])  # type: ignore[list-item]
    assert Headers(GOOD) != GOOD
    assert Headers(GOOD) == Headers([(n.upper(), v) for n, v in GOOD])
    assert repr(Headers([("A", "b")])) == "Headers([('A', 'b')])"
    with pytest.raises(ValueError, match="not a valid HTTP token"):
        build_response(KEY, extra_headers=[("Bad Name", "v")])
    with pytest.raises(TypeError, match="subprotocol must be str"):
        build_request("h", subprotocols=[b"chat"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="key must be str"):
        build_request("h", key=KEY.encode())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reason must be str"):
        reject_response(400, b"Bad")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the client's side


async def _connect_to(answer: bytes, implementation: str) -> BaseException:
    from wsfast import _echo

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        if not answer:
            writer.close()
            return
        await asyncio.sleep(10)  # the client must not wait for more

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(Exception) as info:
            await asyncio.wait_for(_echo.connect("127.0.0.1", port, implementation=implementation), 5)
        return info.value
    finally:
        server.close()


@pytest.mark.parametrize(
    "answer, error, why",
    [
        (b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n", HandshakeError, "bare LF"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX: " + b"a" * MAX_HEAD_SIZE, HandshakeError,
         "larger than"),
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", HandshakeError, "expected 101"),
        (b"", ConnectionError, "connection lost during the handshake"),
    ],
    ids=["bare LF", "too large", "refused", "closed"],
)
def test_client_fails_a_bad_answer_at_once(answer: bytes, error: type, why: str, ws: types.SimpleNamespace) -> None:
    exc = asyncio.run(_connect_to(answer, ws.IMPLEMENTATION))
    assert isinstance(exc, error), repr(exc)
    assert why in str(exc)


@pytest.mark.parametrize("pair", ["ab", b"ab", bytearray(b"ab")])
def test_headers_refuse_strings_as_pairs(pair: object) -> None:
    with pytest.raises(TypeError, match="pairs"):
        Headers([pair])  # type: ignore[list-item]


def test_client_context_after_the_server_closed_and_abort(ws: types.SimpleNamespace) -> None:
    from wsfast import _echo

    async def scenario() -> Tuple[int, bool]:
        server = await _echo.serve("127.0.0.1", 0, implementation=ws.IMPLEMENTATION)
        try:
            async with await _echo.connect("127.0.0.1", server.port, implementation=ws.IMPLEMENTATION) as client:
                await client.send_text("hi")
                assert await client.recv() == "hi"
                code, _ = await client.close(1000)
            # __aexit__ on a closed client only waits for TCP to end.
            other = await _echo.connect("127.0.0.1", server.port, implementation=ws.IMPLEMENTATION)
            other.abort()
            await asyncio.wait_for(other.wait_closed(), 5)
            return code, other.open
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario()) == (1000, False)
