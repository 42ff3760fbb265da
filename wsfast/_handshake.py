"""The RFC 6455 §4 opening handshake: build, parse and check the HTTP/1.1
upgrade request and its ``101 Switching Protocols`` answer.

Pure Python and standalone on purpose: the handshake happens once per
connection, so speed does not matter here, and a server that only needs the
frame codec can still use this without any compiled part.

Parsing is deliberately strict (RFC 7230 §3): CRLF line endings only, no
obsolete line folding, no whitespace between a field name and its colon, no
control characters in values. Each of those is a known request smuggling or
header injection vector, and no conforming WebSocket client produces them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import (
    Any,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

__all__ = [
    "accept_key",
    "generate_key",
    "HandshakeError",
    "Headers",
    "Request",
    "Response",
    "parse_request",
    "parse_response",
    "check_request",
    "check_response",
    "build_request",
    "build_response",
    "reject_response",
]

#: RFC 6455 §1.3: the fixed GUID appended to the key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Largest accepted head, request/status line through the blank line included.
MAX_HEAD_SIZE = 16 * 1024
#: Most header lines accepted in one head.
MAX_HEADERS = 100

_T = TypeVar("_T")
_Text = Union[str, bytes]
# Mapping keys are invariant, so str- and bytes-keyed dicts need their own arm.
HeadersLike = Union[
    "Headers",
    Mapping[str, _Text],
    Mapping[bytes, _Text],
    Iterable[Tuple[_Text, _Text]],
]

# RFC 7230 §3.2.6 tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# HTAB, SP, VCHAR and obs-text: everything but CTLs (so no CR, LF or NUL).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_REQUEST_LINE = re.compile(
    r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])"
)
_STATUS_LINE = re.compile(r"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: (.*))?", re.S)
_BASE64_KEY = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# Visible ASCII only: what a Host value and an origin-form target may hold.
_HOST = re.compile(r"[\x21-\x7e]+")
_PATH = re.compile(r"/[\x21-\x7e]*")


class HandshakeError(ValueError):
    """The opening handshake is malformed or not a WebSocket upgrade.

    ``header`` names the header field at fault, or is ``None`` when the
    request line, status line or overall framing of the head is at fault.
    """

    header: Optional[str]

    def __init__(self, message: str, header: Optional[str] = None) -> None:
        super().__init__(message)
        self.header = header


def _show(value: str, limit: int = 80) -> str:
    """Quote a peer-supplied value safely for a message (no raw controls)."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def _text(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Latin-1 maps every byte to one code point, so this never fails and
        # round-trips exactly what was on the wire.
        return bytes(value).decode("latin-1")
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _pairs(items: Any) -> List[Tuple[str, str]]:
    if isinstance(items, Headers):
        return list(items)
    if isinstance(items, (str, bytes, bytearray, memoryview)):
        raise TypeError("headers must be a mapping or an iterable of (name, value) pairs")
    # Duck-typed .items() also covers multi-dicts (aiohttp, starlette) and
    # email.message.Message (http.client), which all yield repeated fields.
    items_method = getattr(items, "items", None)
    source = items_method() if callable(items_method) else items
    result: List[Tuple[str, str]] = []
    for pair in source:
        # A two-character str would unpack into a "pair": refuse it.
        if isinstance(pair, (str, bytes, bytearray)):
            raise TypeError(f"headers must be (name, value) pairs, got {pair!r}")
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"headers must be (name, value) pairs, got {pair!r}"
            ) from None
        result.append((_text(name, "header name"), _text(value, "header value")))
    return result


class Headers:
    """Case-insensitive header fields that keep order and repetitions.

    Iterating yields ``(name, value)`` pairs as received. ``get`` joins the
    values of a repeated field with ``", "`` (RFC 7230 §3.2.2).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Optional[HeadersLike] = None) -> None:
        self._items: List[Tuple[str, str]] = [] if items is None else _pairs(items)

    @overload
    def get(self, name: str) -> Optional[str]: ...

    @overload
    def get(self, name: str, default: _T) -> Union[str, _T]: ...

    def get(self, name: str, default: Any = None) -> Any:
        """All values of ``name`` joined with ``", "``, or ``default``."""
        values = self.get_all(name)
        return ", ".join(values) if values else default

    def get_all(self, name: str) -> List[str]:
        """Every value of ``name``, one per header line, in order."""
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(n.lower() == key for n, _ in self._items)

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(n.lower(), v) for n, v in self._items] == [
            (n.lower(), v) for n, v in other._items
        ]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class Request:
    """A parsed HTTP request head."""

    method: str
    path: str
    headers: Headers = field(default_factory=Headers)


@dataclass(frozen=True)
class Response:
    """A parsed HTTP response head."""

    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)


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
# parsing


def _split_head(data: object, what: str) -> Tuple[str, List[str]]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
    # Only the head matters; trailing frame data may be large, so don't copy it.
    if isinstance(data, memoryview):
        buf = bytes(data)[:MAX_HEAD_SIZE]
    else:
        buf = bytes(data[:MAX_HEAD_SIZE])
    if not buf:
        raise HandshakeError(f"empty {what}: no {what} line and no headers")
    end = buf.find(b"\r\n\r\n", 0, MAX_HEAD_SIZE)
    if end < 0:
        if len(buf) >= MAX_HEAD_SIZE:
            raise HandshakeError(
                f"{what} head is larger than {MAX_HEAD_SIZE} bytes "
                "(no blank line within the limit)"
            )
        hint = "; lines must end with CRLF, not a bare LF" if b"\n\n" in buf else ""
        raise HandshakeError(
            f"{what} head is incomplete: missing the blank line (CRLF CRLF) "
            f"that ends it{hint}"
        )
    lines = buf[:end].decode("latin-1").split("\r\n")
    if len(lines) - 1 > MAX_HEADERS:
        raise HandshakeError(
            f"{what} head has {len(lines) - 1} header lines; at most "
            f"{MAX_HEADERS} are accepted"
        )
    return lines[0], lines[1:]


def _parse_headers(lines: List[str]) -> Headers:
    items: List[Tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            raise HandshakeError(
                f"header line {_show(line)} starts with whitespace; obsolete "
                "line folding is not allowed (RFC 7230 §3.2.4)"
            )
        name, colon, value = line.partition(":")
        if not colon:
            raise HandshakeError(
                f"header line {_show(line)} has no colon; expected 'Name: value'"
            )
        if not _TOKEN.fullmatch(name):
            if name and _TOKEN.fullmatch(name.rstrip(" \t")):
                raise HandshakeError(
                    f"header line {_show(line)} has whitespace before the colon "
                    "(RFC 7230 §3.2.4)",
                    name.rstrip(" \t"),
                )
            raise HandshakeError(
                f"header name {_show(name)} is not a valid HTTP token"
            )
        value = value.strip(" \t")
        if not _FIELD_VALUE.fullmatch(value):
            raise HandshakeError(
                f"{name} header value {_show(value)} contains a control character",
                name,
            )
        items.append((name, value))
    return Headers(items)


def _check_version(major: str, minor: str, line: str, what: str) -> None:
    if major != "1" or minor == "0":
        raise HandshakeError(
            f"{what} line {_show(line)} uses HTTP/{major}.{minor}; the WebSocket "
            "handshake needs HTTP/1.1"
        )


def parse_request(data: bytes) -> Request:
    """Parse an HTTP/1.1 request head ending in a blank line.

    Bytes after the blank line are ignored; the head ends at
    ``data.index(b"\\r\\n\\r\\n") + 4``.
    """
    line, header_lines = _split_head(data, "request")
    match = _REQUEST_LINE.fullmatch(line)
    if not match:
        raise HandshakeError(
            f"malformed request line {_show(line)}; expected "
            "'GET /path HTTP/1.1'"
        )
    method, path, major, minor = match.groups()
    _check_version(major, minor, line, "request")
    return Request(method, path, _parse_headers(header_lines))


def parse_response(data: bytes) -> Response:
    """Parse an HTTP/1.1 response head ending in a blank line.

    Bytes after the blank line (the first WebSocket frames, possibly) are
    ignored; the head ends at ``data.index(b"\\r\\n\\r\\n") + 4``.
    """
    line, header_lines = _split_head(data, "response")
    match = _STATUS_LINE.fullmatch(line)
    if not match or not _FIELD_VALUE.fullmatch(match.group(4) or ""):
        raise HandshakeError(
            f"malformed status line {_show(line)}; expected "
            "'HTTP/1.1 101 Switching Protocols'"
        )
    major, minor, status, reason = match.groups()
    _check_version(major, minor, line, "status")
    return Response(int(status), reason or "", _parse_headers(header_lines))


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


def check_request(
    request_or_headers: Union[Request, HeadersLike], *, method: str = "GET"
) -> str:
    """Validate a client's upgrade request (RFC 6455 §4.2.1).

    Returns the ``Sec-WebSocket-Key``. The method is only checked when a
    :class:`Request` is given. Raises :class:`HandshakeError` naming the
    header at fault; answer with ``reject_response(426, ...)`` when that is
    ``Sec-WebSocket-Version``, with 400 otherwise.
    """
    if isinstance(request_or_headers, Request) and request_or_headers.method != method:
        raise HandshakeError(
            f"request method is {_show(request_or_headers.method)}; "
            f"expected {method!r}"
        )
    headers = _headers_of(request_or_headers)
    _require_token(headers, "Upgrade", "websocket", "websocket")
    _require_token(headers, "Connection", "upgrade", "Upgrade")
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
    if not isinstance(host, str) or not host or not _HOST.fullmatch(host):
        raise ValueError(f"host {host!r} is not a valid Host header value")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError(
            f"path {path!r} must start with '/' and contain no spaces or "
            "control characters"
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
