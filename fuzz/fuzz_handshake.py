#!/usr/bin/env python3
"""The handshake parser (pure Python only: there is no compiled twin): random
and structured request and response heads. Only ``HandshakeError`` may
escape; ``head_end`` agrees with ``parse_request`` (a reader that refuses a
head early refuses only what the parser refuses, and the head it cuts parses
the same as the whole buffer); every request ``check_request`` accepts is
also accepted by h11 (a second, independent HTTP/1.1 parser) with the same
method, target and fields, and the answer built for it passes
``check_response``."""

from __future__ import annotations

import atheris
import fuzzlib
from fuzzlib import Mismatch, pick

with atheris.instrument_imports(include=["wsfast"]):
    from wsfast import _handshake as hs

try:
    import h11
except ImportError:  # the differential check needs it; the rest does not
    h11 = None

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
METHODS = ("GET", "GET", "GET", "POST", "OPTIONS", "CONNECT", "get", "")
TARGETS = ("/", "/chat?x=1", "*", "http://h/x", "wss://h:1/", "h:80", "/a#b", "/a b", "", "ftp://x/", "/%zz", "//x")
VERSIONS = ("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/11")
NAMES = ("Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Content-Length",
         "Transfer-Encoding", "Origin", "Sec-WebSocket-Protocol", "X-A", "host", "HOST", "Bad Name", "", "X\x00")
VALUES = {
    "host": ("example.com", "h:8080", "[::1]:9", "", "a b", "a@b", "h:x"),
    "upgrade": ("websocket", "WebSocket", "h2c, websocket", "web socket", ""),
    "connection": ("Upgrade", "keep-alive, Upgrade", "close", ""),
    "sec-websocket-key": (KEY, KEY[:-1], "", "AAAAAAAAAAAAAAAAAAAAAA=="),
    "sec-websocket-version": ("13", "8", "13, 8", ""),
    "content-length": ("0", "5", "0, 0", "0, 1", "-1", "x", ""),
    "transfer-encoding": ("chunked", "gzip, chunked", ""),
}
GOOD = [("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")]


def structured_head(fdp):
    line = f"{pick(fdp, METHODS)} {pick(fdp, TARGETS)} {pick(fdp, VERSIONS)}"
    if fdp.ConsumeIntInRange(0, 7) == 0:
        line = fdp.ConsumeUnicode(20)
    fields = list(GOOD) if fdp.ConsumeBool() else []
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        what = fdp.ConsumeIntInRange(0, 4)
        if what == 0 and fields:
            del fields[fdp.ConsumeIntInRange(0, len(fields) - 1)]
            continue
        name = pick(fdp, NAMES)
        choices = VALUES.get(name.lower())
        value = pick(fdp, choices) if choices and fdp.ConsumeBool() else fdp.ConsumeUnicode(12)
        fields.insert(fdp.ConsumeIntInRange(0, len(fields)), (name, value))
    lines = [line]
    for name, value in fields:
        sep = pick(fdp, (": ", ": ", ":", " : ", ":\t", ":\r\n "))
        lines.append(f"{name}{sep}{value}")
    eol = pick(fdp, ("\r\n",) * 6 + ("\n", "\r", "\r\r\n"))
    text = eol.join(lines) + eol + eol
    if fdp.ConsumeIntInRange(0, 5) == 0:
        at = fdp.ConsumeIntInRange(0, len(text))
        text = text[:at] + pick(fdp, ("\n", "\r", "\x00", " ", "\t", "\x7f", "\xe9")) + text[at:]
    tail = bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8)))
    return text.encode("latin-1", "replace") + tail


def outcome(call, data):
    try:
        return call(data)
    except hs.HandshakeError as exc:
        return ("error", str(exc), exc.header, exc.status)


def fields(pairs):
    # h11 folds an identical Content-Length list ("0, 0") into one value.
    out = []
    for name, value in pairs:
        name = name.lower()
        if name == "content-length":
            value = ",".join(sorted({v.strip() for v in value.split(",")}))
        out.append((name, value))
    return out


def h11_request(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        return ("h11 refused", str(exc))
    if not isinstance(event, h11.Request):
        return ("h11 event", repr(event))
    return (event.method.decode("latin-1"), event.target.decode("latin-1"),
            fields((n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers.raw_items()))


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    response = fdp.ConsumeIntInRange(0, 4) == 0
    head = bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400))) if fdp.ConsumeIntInRange(0, 3) == 0 else structured_head(fdp)
    what = "response" if response else "request"
    parse = hs.parse_response if response else hs.parse_request
    parsed = outcome(parse, head)
    end = outcome(lambda d: hs.head_end(d, what), head)
    if isinstance(end, tuple) or end < 0:
        if not isinstance(parsed, tuple):
            raise Mismatch(f"head_end({head!r}) is {end!r} but the {what} parses: {parsed!r}")
    else:
        if parsed != outcome(parse, head[:end]):
            raise Mismatch(f"{what} {head!r} parses differently cut at head_end {end}")
        cut = fdp.ConsumeIntInRange(0, end)
        early = outcome(lambda d: hs.head_end(d, what), head[:cut])
        if isinstance(early, tuple) and not isinstance(parsed, tuple):
            raise Mismatch(f"head_end refuses the prefix {head[:cut]!r} ({early}) of a {what} that parses")
        if not isinstance(early, tuple) and early != -1 and early != end:
            raise Mismatch(f"head_end of the prefix {head[:cut]!r} is {early}, of the whole {end}")
    if response or isinstance(parsed, tuple):
        return
    key = outcome(hs.check_request, parsed)
    if isinstance(key, tuple):
        return
    if h11 is not None:
        theirs = h11_request(head[:end])
        ours = (parsed.method, parsed.path, fields(parsed.headers))
        if theirs != ours:
            raise Mismatch(f"accepted {head!r} as {ours!r}; h11 reads {theirs!r}")
    answer = hs.parse_response(hs.build_response(key))
    hs.check_response(answer, key)


if __name__ == "__main__":
    fuzzlib.run(test_one_input)
