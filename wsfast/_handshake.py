"""The RFC 6455 §4 opening handshake: build, parse and check the HTTP/1.1
upgrade request and its ``101 Switching Protocols`` answer.

Pure Python and standalone on purpose: the handshake happens once per
connection, so speed does not matter here, and a server that only needs the
frame codec can still use this without any compiled part.

The HTTP/1.1 head itself (line endings, fields, request-target, body
framing) is read by ``_http``, strictly; this module adds the WebSocket rules
and RFC 9112's rules for a request a server is about to upgrade: ``Host``
exactly once and well formed (§3.2), no body (the bytes after the head are
frames).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from typing import Any, List, Optional, Sequence, Tuple, Union

from ._http import (
    _FIELD_VALUE,
    _TOKEN,
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    HandshakeError,
    Headers,
    HeadersLike,
    Request,
    Response,
    _pairs,
    _show,
    content_length,
    head_end,
    parse_request,
    parse_response,
)

__all__ = [
    "accept_key",
    "generate_key",
    "HandshakeError",
    "Headers",
    "Request",
    "Response",
    "head_end",
    "parse_request",
    "parse_response",
    "check_request",
    "check_response",
    "build_request",
    "build_response",
    "reject_response",
    "MAX_HEAD_SIZE",
    "MAX_HEADERS",
]

#: RFC 6455 §1.3: the fixed GUID appended to the key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_BASE64_KEY = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# Visible ASCII only: what a Host value and a request-target may hold.
_HOST = re.compile(r"[\x21-\x7e]+")
# An origin-form target: no fragment (RFC 6455 §3).
_PATH = re.compile(r"/[\x21-\x22\x24-\x7e]*")
# RFC 9110 §7.2 Host = uri-host [ ":" port ]; uri-host is an IP-literal in
# brackets or a reg-name (which covers IPv4 and DNS names), never empty here
# (RFC 6455 §4.1 requires the host).
_HOST_FIELD = re.compile(
    r"(?:\[[0-9A-Za-z:.\-_~!$&'()*+,;=]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?"
)


# --------------------------------------------------------------------------
# keys


def accept_key(key: Union[str, bytes]) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    if isinstance(key, str):
        raw = key.encode("latin-1")
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
    else:
        raise TypeError(f"key must be str or bytes, not {type(key).__name__}")
    digest = hashlib.sha1(raw + GUID.encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: base64 of 16 random bytes (§4.1)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _key_problem(key: str) -> Optional[str]:
    """Why ``key`` is not a valid Sec-WebSocket-Key, or None if it is."""
    expected = "expected the base64 encoding of 16 bytes (24 characters ending in '==')"
    if not _BASE64_KEY.fullmatch(key):
        return f"Sec-WebSocket-Key {_show(key)} is not valid base64; {expected}"
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return f"Sec-WebSocket-Key {_show(key)} is not valid base64; {expected}"
    if len(raw) != 16:
        return f"Sec-WebSocket-Key {_show(key)} decodes to {len(raw)} bytes; {expected}"
    # Python versions differ on excess padding and non-zero pad bits; the
    # canonical form is what every real client sends, so insist on it.
    if base64.b64encode(raw).decode("ascii") != key:
        return f"Sec-WebSocket-Key {_show(key)} is not canonical base64; {expected}"
    return None


# --------------------------------------------------------------------------
# checking


def _headers_of(obj: Any) -> Headers:
    if isinstance(obj, (Request, Response)):
        return obj.headers
    if isinstance(obj, Headers):
        return obj
    return Headers(obj)


def _tokens(values: List[str]) -> List[str]:
    return [
        token.strip(" \t").lower()
        for value in values
        for token in value.split(",")
        if token.strip(" \t")
    ]


def _require_token(headers: Headers, name: str, token: str, example: str) -> None:
    values = headers.get_all(name)
    if not values:
        raise HandshakeError(f"missing {name} header; expected '{name}: {example}'", name)
    if token not in _tokens(values):
        raise HandshakeError(
            f"{name} header is {_show(', '.join(values))}; expected a "
            f"comma-separated list containing {example!r}",
            name,
        )


def _require_once(headers: Headers, name: str, expected: str) -> str:
    values = headers.get_all(name)
    if not values:
        raise HandshakeError(f"missing {name} header; expected {expected}", name)
    if len(values) > 1:
        raise HandshakeError(
            f"{name} header appears {len(values)} times; expected exactly once",
            name,
        )
    return values[0].strip(" \t")


def _check_resource(target: str) -> None:
    # RFC 6455 §4.2.1 item 1: a resource name, or an absolute http(s) URI
    # holding one (RFC 9112 §3.2.2: a server must accept the absolute form).
    if target.startswith("/"):
        ok = "#" not in target
    else:
        scheme, _colon, rest = target.partition(":")
        ok = (
            scheme.lower() in ("http", "https", "ws", "wss")
            and rest.startswith("//")
            and "#" not in rest
        )
    if not ok or not _HOST.fullmatch(target):
        raise HandshakeError(
            f"request-target {_show(target)} is not a resource name; expected "
            "'/path?query' or an absolute http, https, ws or wss URI without a "
            "fragment (RFC 6455 §3, RFC 9112 §3.2)"
        )


def _check_host(headers: Headers) -> None:
    # RFC 9112 §3.2: no Host, several Host lines or an invalid value: 400.
    host = _require_once(headers, "Host", "'Host: example.com' (RFC 9112 §3.2)")
    if not _HOST_FIELD.fullmatch(host):
        raise HandshakeError(
            f"Host header {_show(host)} is not 'host' or 'host:port' (RFC 9112 §3.2)",
            "Host",
        )


def _check_no_body(headers: Headers) -> None:
    length = content_length(headers)
    if length == -1:
        raise HandshakeError(
            f"upgrade request has Transfer-Encoding "
            f"{_show(headers.get('Transfer-Encoding', ''))}; the bytes after its "
            "head are WebSocket frames, so it cannot carry a body",
            "Transfer-Encoding",
        )
    if length:
        raise HandshakeError(
            f"upgrade request has Content-Length {length}; the bytes after its "
            "head are WebSocket frames, so it cannot carry a body",
            "Content-Length",
        )


def check_request(
    request_or_headers: Union[Request, HeadersLike], *, method: str = "GET"
) -> str:
    """Validate a client's upgrade request (RFC 6455 §4.2.1).

    Returns the ``Sec-WebSocket-Key``. The method and the request-target
    are only checked when a :class:`Request` is given. Besides the WebSocket
    headers, the rules of RFC 9112 for a request a server upgrades: ``Host``
    exactly once with a valid value (§3.2), and no body, since what follows
    the head are frames (no Transfer-Encoding, a Content-Length of 0 at
    most). Raises :class:`HandshakeError` naming the header at fault; answer
    with ``reject_response(exc.status, ...)`` (426 when ``Upgrade`` or
    ``Sec-WebSocket-Version`` is at fault, 400 otherwise).
    """
    if isinstance(request_or_headers, Request) and request_or_headers.method != method:
        raise HandshakeError(
            f"request method is {_show(request_or_headers.method)}; "
            f"expected {method!r}"
        )
    if isinstance(request_or_headers, Request):
        _check_resource(request_or_headers.path)
    headers = _headers_of(request_or_headers)
    _require_token(headers, "Upgrade", "websocket", "websocket")
    _require_token(headers, "Connection", "upgrade", "Upgrade")
    _check_host(headers)
    _check_no_body(headers)
    key = _require_once(
        headers, "Sec-WebSocket-Key", "a base64-encoded 16-byte nonce"
    )
    problem = _key_problem(key)
    if problem:
        raise HandshakeError(problem, "Sec-WebSocket-Key")
    version = _require_once(
        headers, "Sec-WebSocket-Version", "'Sec-WebSocket-Version: 13'"
    )
    if version != "13":
        raise HandshakeError(
            f"Sec-WebSocket-Version is {_show(version)}; only version 13 is "
            "supported",
            "Sec-WebSocket-Version",
        )
    return key


def check_response(
    response_or_headers: Union[Response, HeadersLike],
    key: Union[str, bytes],
    *,
    status: Optional[int] = None,
) -> None:
    """Validate the server's answer to our upgrade request (RFC 6455 §4.1).

    ``key`` is the ``Sec-WebSocket-Key`` that was sent. The status must be
    101; it is taken from a :class:`Response`, or from ``status`` when only
    headers are at hand (both are checked if both are given).
    """
    statuses: List[Tuple[int, str]] = []
    if isinstance(response_or_headers, Response):
        statuses.append((response_or_headers.status, response_or_headers.reason))
    if status is not None:
        statuses.append((status, ""))
    for code, reason in statuses:
        if code != 101:
            shown = f"{code} {_show(reason)}" if reason else str(code)
            raise HandshakeError(
                f"response status is {shown}; expected 101 Switching Protocols"
            )
    headers = _headers_of(response_or_headers)
    _require_token(headers, "Upgrade", "websocket", "websocket")
    _require_token(headers, "Connection", "upgrade", "Upgrade")
    expected = accept_key(key)
    accept = _require_once(headers, "Sec-WebSocket-Accept", repr(expected))
    if accept != expected:
        raise HandshakeError(
            f"Sec-WebSocket-Accept is {_show(accept)}; expected {expected!r} "
            "for the key that was sent",
            "Sec-WebSocket-Accept",
        )


# --------------------------------------------------------------------------
# building


def _check_value(what: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(
            f"{what} contains CR or LF, which would inject headers: {value!r}"
        )
    if not _FIELD_VALUE.fullmatch(value):
        raise ValueError(
            f"{what} contains a control character or a character outside "
            f"Latin-1: {value!r}"
        )


def _render(
    first_line: str,
    fixed: List[Tuple[str, str]],
    extra: Optional[HeadersLike],
    builder: str,
) -> bytes:
    fixed = _pairs(fixed)
    extra_pairs = _pairs(extra) if extra is not None else []
    written = {name.lower() for name, _ in fixed}
    for name, _ in extra_pairs:
        # A second Content-Length or Upgrade would make the message ambiguous.
        if name.lower() in written:
            raise ValueError(
                f"extra_headers must not set {name!r}: {builder} writes it"
            )
    lines = [first_line]
    for name, value in fixed + extra_pairs:
        if "\r" in name or "\n" in name:
            raise ValueError(
                f"header name {name!r} contains CR or LF, which would inject headers"
            )
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        _check_value(f"value of header {name!r}", value)
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _token_list(values: Union[str, Sequence[str]], what: str) -> str:
    # A bare str would otherwise be iterated character by character.
    items = [values] if isinstance(values, str) else list(values)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{what} must be str, not {type(item).__name__}")
        if not _TOKEN.fullmatch(item):
            raise ValueError(f"{what} {item!r} is not a valid HTTP token")
    return ", ".join(items)


def build_response(
    key: Union[str, bytes],
    *,
    subprotocol: Optional[str] = None,
    extensions: Union[str, Sequence[str], None] = None,
    extra_headers: Optional[HeadersLike] = None,
) -> bytes:
    """The server's ``101 Switching Protocols`` answer for ``key``.

    ``extensions`` is a ready header value or a list of them (joined with
    ``", "``). Names or values that could inject headers raise ValueError.
    """
    fixed = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        fixed.append(("Sec-WebSocket-Protocol", _token_list([subprotocol], "subprotocol")))
    if extensions is not None:
        ext = [extensions] if isinstance(extensions, str) else list(extensions)
        if ext:
            fixed.append(("Sec-WebSocket-Extensions", ", ".join(ext)))
    return _render(
        "HTTP/1.1 101 Switching Protocols", fixed, extra_headers, "build_response"
    )


def build_request(
    host: str,
    path: str = "/",
    *,
    key: Optional[str] = None,
    subprotocols: Union[str, Sequence[str], None] = None,
    origin: Optional[str] = None,
    extra_headers: Optional[HeadersLike] = None,
) -> Tuple[bytes, str]:
    """The client's upgrade request; returns ``(request_bytes, key)``.

    ``host`` is the Host value (``"example.com:8080"``), ``path`` the
    resource name with its query. ``key`` defaults to :func:`generate_key`.
    """
    if not isinstance(host, str) or not _HOST_FIELD.fullmatch(host):
        raise ValueError(f"host {host!r} is not a valid Host header value")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError(
            f"path {path!r} must start with '/' and contain no spaces, "
            "control characters or fragment ('#')"
        )
    if key is None:
        key = generate_key()
    elif not isinstance(key, str):
        raise TypeError(f"key must be str, not {type(key).__name__}")
    else:
        problem = _key_problem(key)
        if problem:
            raise ValueError(problem)
    fixed = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if subprotocols is not None:
        protocols = _token_list(subprotocols, "subprotocol")
        if protocols:
            fixed.append(("Sec-WebSocket-Protocol", protocols))
    if origin is not None:
        fixed.append(("Origin", origin))
    return _render(f"GET {path} HTTP/1.1", fixed, extra_headers, "build_request"), key


def reject_response(
    status: int,
    reason: str,
    body: bytes = b"",
    *,
    extra_headers: Optional[HeadersLike] = None,
) -> bytes:
    """A complete error response for a failed handshake, closing the connection.

    426 responses carry ``Upgrade: websocket`` and ``Sec-WebSocket-Version:
    13`` (RFC 7231 §6.5.15, RFC 6455 §4.4). A non-empty body gets
    ``Content-Type: text/plain; charset=utf-8`` unless extra_headers sets one.
    """
    if not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(f"status must be int, not {type(status).__name__}")
    if not 100 <= status <= 599 or status == 101:
        raise ValueError(
            f"status {status} cannot reject a handshake; expected 1xx-5xx other than 101"
        )
    if not isinstance(reason, str):
        raise TypeError(f"reason must be str, not {type(reason).__name__}")
    _check_value("reason phrase", reason)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes-like, not {type(body).__name__}")
    payload = bytes(body)
    extra = _pairs(extra_headers) if extra_headers is not None else []
    fixed: List[Tuple[str, str]] = []
    if status == 426:
        fixed += [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
    if payload and not any(n.lower() == "content-type" for n, _ in extra):
        fixed.append(("Content-Type", "text/plain; charset=utf-8"))
    fixed += [("Content-Length", str(len(payload))), ("Connection", "close")]
    head = _render(f"HTTP/1.1 {status} {reason}", fixed, extra, "reject_response")
    return head + payload
