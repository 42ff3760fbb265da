"""HTTP/1.1 heads (RFC 9112) as the WebSocket opening handshake uses them:
finding the end of a head, and parsing a request or a response head into its
line and header fields.

Parsing is deliberately strict, as a server that hands the connection to
another protocol after the head must be: CRLF line endings only (a bare LF or
a bare CR anywhere is an error, RFC 9112 §2.2), no obsolete line folding
(§5.2), no whitespace between a field name and its colon (§5.1), no control
characters in values, a request-target in one of the four forms of §3.2, and
a Content-Length that is a number, never beside a Transfer-Encoding (§6.3).
Each of those is a known request smuggling or header injection vector, and no
conforming WebSocket client produces them. ``_handshake`` checks the
WebSocket-specific rules on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import (
    Any,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
    overload,
)

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

# A failure in these is answered with 426 Upgrade Required.
_UPGRADE_HEADERS = ("Upgrade", "Sec-WebSocket-Version")

# RFC 9110 §5.6.2 tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# HTAB, SP, VCHAR and obs-text: everything but CTLs (so no CR, LF or NUL).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_REQUEST_LINE = re.compile(
    r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])"
)
_STATUS_LINE = re.compile(r"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: (.*))?", re.S)
# RFC 9112 §3.2 request-target forms. Characters RFC 3986 leaves out but that
# browsers send unencoded in a path (| ^ { } [ ] \\ and a stray %) are taken,
# as most servers take them; a fragment (#) never is (it is not part of any
# form, and RFC 6455 §3 forbids it in a WebSocket URI).
_ORIGIN_FORM = re.compile(r"/[\x21-\x22\x24-\x7e]*")
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:[\x21-\x22\x24-\x7e]*")
_AUTHORITY_FORM = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]+:[0-9]+|\[[0-9A-Fa-f:.]+\]:[0-9]+")
# RFC 9110 §8.6: 1*DIGIT.
_DIGITS = re.compile(r"[0-9]+")
# A line ending other than CRLF: LF without CR before it, CR without LF after.
_BARE_LF = re.compile(rb"(?<!\r)\n")
_BARE_CR = re.compile(rb"\r(?!\n)")


class HandshakeError(ValueError):
    """The opening handshake is malformed or not a WebSocket upgrade.

    ``header`` names the header field at fault, or is ``None`` when the
    request line, status line or overall framing of the head is at fault.
    ``status`` is what a server answers a request that failed this way
    with: 426 when ``Upgrade`` or ``Sec-WebSocket-Version`` is at fault
    (RFC 6455 §4.2.2), 431 for a head over the size or line limits
    (RFC 6585 §5), 400 otherwise.
    """

    header: Optional[str]
    status: int

    def __init__(
        self, message: str, header: Optional[str] = None, *, status: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.header = header
        if status is None:
            status = 426 if header in _UPGRADE_HEADERS else 400
        self.status = status


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
# parsing


def _buffer(data: object) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
    # Only the head matters; trailing frame data may be large, so don't copy it.
    if isinstance(data, memoryview):
        return bytes(data)[:MAX_HEAD_SIZE]
    return bytes(data[:MAX_HEAD_SIZE])


def _line_number(buf: bytes, offset: int) -> int:
    return buf.count(b"\n", 0, offset) + 1


def _head_end(buf: bytes, what: str) -> int:
    end = buf.find(b"\r\n\r\n")
    # Before the blank line every byte is known; after it, nothing of ours.
    # A CR as the last byte may still get its LF.
    scan = buf[: end + 4] if end >= 0 else buf
    bare = _BARE_LF.search(scan)
    if bare:
        raise HandshakeError(
            f"{what} line {_line_number(buf, bare.start())} ends with a bare LF; "
            "HTTP/1.1 lines end with CRLF (RFC 9112 §2.2)"
        )
    bare = _BARE_CR.search(scan)
    if bare and (bare.end() < len(scan) or end >= 0):
        raise HandshakeError(
            f"{what} line {_line_number(buf, bare.start())} holds a CR that is not "
            "followed by LF (RFC 9112 §2.2)"
        )
    if end < 0:
        if len(buf) >= MAX_HEAD_SIZE:
            raise HandshakeError(
                f"{what} head is larger than {MAX_HEAD_SIZE} bytes "
                "(no blank line within the limit)",
                status=431,
            )
        return -1
    return end + 4


def head_end(data: Union[bytes, bytearray, memoryview], what: str = "request") -> int:
    """Where the head at the start of ``data`` ends, just past its blank line.

    ``-1`` means the head is not complete yet: read more. A server reading a
    request calls this on what it has buffered after each read, so a broken
    head is refused at once instead of waiting for a blank line that never
    comes: :class:`HandshakeError` for a bare LF or bare CR (RFC 9112 §2.2,
    status 400) and for no blank line within :data:`MAX_HEAD_SIZE` bytes
    (status 431). ``what`` names the head in messages.
    """
    return _head_end(_buffer(data), what)


def _split_head(data: object, what: str) -> Tuple[str, List[str]]:
    buf = _buffer(data)
    if not buf:
        raise HandshakeError(f"empty {what}: no {what} line and no headers")
    end = _head_end(buf, what)
    if end < 0:
        raise HandshakeError(
            f"{what} head is incomplete: missing the blank line (CRLF CRLF) "
            "that ends it"
        )
    lines = buf[: end - 4].decode("latin-1").split("\r\n")
    if len(lines) - 1 > MAX_HEADERS:
        raise HandshakeError(
            f"{what} head has {len(lines) - 1} header lines; at most "
            f"{MAX_HEADERS} are accepted",
            status=431,
        )
    return lines[0], lines[1:]


def _parse_headers(lines: List[str]) -> Headers:
    items: List[Tuple[str, str]] = []
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            if number == 0:
                raise HandshakeError(
                    f"header line {_show(line)} starts with whitespace right after "
                    "the start line (RFC 9112 §2.2)"
                )
            raise HandshakeError(
                f"header line {_show(line)} starts with whitespace; obsolete "
                "line folding is not allowed (RFC 9112 §5.2)"
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
                    "(RFC 9112 §5.1)",
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


def _check_target(method: str, target: str) -> None:
    # RFC 9112 §3.2: which form is allowed depends on the method.
    if method == "CONNECT":
        ok = bool(_AUTHORITY_FORM.fullmatch(target))
        expected = "the authority form 'host:port' for CONNECT"
    elif target == "*":
        ok = method == "OPTIONS"
        expected = "'*' only with OPTIONS"
    else:
        ok = bool(_ORIGIN_FORM.fullmatch(target) or _ABSOLUTE_FORM.fullmatch(target))
        expected = "'/path?query' or an absolute URI, with no fragment"
    if not ok:
        raise HandshakeError(
            f"request-target {_show(target)} is not valid for {method}; expected "
            f"{expected} (RFC 9112 §3.2)"
        )


def content_length(headers: Headers) -> Optional[int]:
    """The request body's length from its framing headers, ``None`` if none.

    Raises :class:`HandshakeError` when the framing is ambiguous (RFC 9112
    §6.3): a Content-Length that is not a number, several that differ, or a
    Content-Length beside a Transfer-Encoding (the classic request smuggling
    pair: a strict server refuses it, §6.1). A Transfer-Encoding alone gives
    ``-1``: a body of unknown length.
    """
    lengths = headers.get_all("Content-Length")
    if headers.get_all("Transfer-Encoding"):
        if lengths:
            raise HandshakeError(
                "request has both Transfer-Encoding and Content-Length; the body "
                "length is ambiguous (RFC 9112 §6.1)",
                "Content-Length",
            )
        return -1
    if not lengths:
        return None
    values = {item.strip(" \t") for value in lengths for item in value.split(",")}
    for value in sorted(values):
        if not _DIGITS.fullmatch(value):
            raise HandshakeError(
                f"Content-Length {_show(value)} is not a number (RFC 9112 §6.3)",
                "Content-Length",
            )
    if len(values) > 1:
        raise HandshakeError(
            f"Content-Length has differing values {_show(', '.join(lengths))} "
            "(RFC 9112 §6.3)",
            "Content-Length",
        )
    return int(values.pop())


def parse_request(data: bytes) -> Request:
    """Parse an HTTP/1.1 request head ending in a blank line.

    Bytes after the blank line are ignored; the head ends at
    ``head_end(data)``.
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
    _check_target(method, path)
    headers = _parse_headers(header_lines)
    content_length(headers)
    return Request(method, path, headers)


def parse_response(data: bytes) -> Response:
    """Parse an HTTP/1.1 response head ending in a blank line.

    Bytes after the blank line (the first WebSocket frames, possibly) are
    ignored; the head ends at ``head_end(data, "response")``.
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
