"""WebSocket frames (RFC 6455 §5): parsing, message assembly and building.

This file is the pure-Python backend, and the same file is compiled by Cython
as ``wsfast._codec_c``, typed by ``_codec_c.pxd``, so the two backends cannot
drift apart. In the compiled build the kernel imports below are replaced by
the C functions that the ``.pxd`` cimports from ``_mask_c`` and ``_utf8_c``.

Code here therefore stays inside what both Python and Cython read the same
way: names declared as ``const unsigned char *`` in the ``.pxd`` are indexed
like bytes, and slicing them gives bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

from ._buffers import as_bytes
from ._deflate import PerMessageDeflate
from ._errors import InvalidUTF8, MessageTooBig, ProtocolError
from ._mask_py import build_frame, build_masked_frame, new_buffer, unmask_slice
from ._objects_py import untracked
from ._signature import class_signature
from ._types import OPCODES
from ._utf8_py import decode_utf8, utf8_feed

__all__ = [
    "Frame",
    "FrameParser",
    "MessageReader",
    "Message",
    "Ping",
    "Pong",
    "Close",
    "encode_frame",
    "encode_close",
    "parse_close",
]

#: Default limit for a message (and for a frame in ``FrameParser``): 1 MiB.
DEFAULT_MAX_SIZE = 2**20

# Largest length a 64-bit length field may carry (RFC 6455 §5.2: MSB is 0).
MAX_WIRE_LENGTH = 2**63 - 1

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

#: Bits of ``rsv_allowed``: which RSV bits a negotiated extension may set.
RSV1 = 0x4
RSV2 = 0x2
RSV3 = 0x1

_EMPTY = b""
_SYNC_TAIL = b"\x00\x00\xff\xff"
# Most output one inflating step may produce (the limit may cap it lower).
_INFLATE_STEP = 65536
# Most output the one step that inflates a message arriving in one frame may
# produce (the limit may cap it lower); a larger message goes on in steps.
_INFLATE_WHOLE = 262144
# The most a frame header reserves ahead of the payload bytes themselves.
_RESERVE_MAX = 65536


# ---------------------------------------------------------------------------
# Frames and events


class Frame:
    """One frame as it came off the wire, payload unmasked."""

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(fin, rsv1, rsv2, rsv3, opcode, payload)")

    __slots__ = ("fin", "rsv1", "rsv2", "rsv3", "opcode", "payload")

    def __init__(
        self,
        fin: bool,
        rsv1: bool,
        rsv2: bool,
        rsv3: bool,
        opcode: int,
        payload: bytes,
    ) -> None:
        # Normalised the way the compiled build's typed fields store them.
        self.fin = bool(fin)
        self.rsv1 = bool(rsv1)
        self.rsv2 = bool(rsv2)
        self.rsv3 = bool(rsv3)
        self.opcode = opcode
        self.payload = _exact_bytes(payload, "payload")

    def __repr__(self) -> str:
        return (
            f"Frame(fin={self.fin!r}, rsv1={self.rsv1!r}, rsv2={self.rsv2!r}, "
            f"rsv3={self.rsv3!r}, opcode={self.opcode!r}, payload={_short(self.payload)})"
        )

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ != "Frame":
            return NotImplemented
        return _same(self, other, ("fin", "rsv1", "rsv2", "rsv3", "opcode", "payload"))

    def __reduce__(self) -> Tuple[Any, ...]:
        return _reduce(self, Frame, ("fin", "rsv1", "rsv2", "rsv3", "opcode", "payload"))

    __hash__ = None  # type: ignore[assignment]


class Message:
    """A whole data message: ``str`` for text, ``bytes`` for binary."""

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(opcode, data)")

    __slots__ = ("opcode", "data")

    def __init__(self, opcode: int, data: Union[str, bytes]) -> None:
        self.opcode = opcode
        self.data = data

    def __repr__(self) -> str:
        return f"Message(opcode={self.opcode!r}, data={_short(self.data)})"

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ != "Message":
            return NotImplemented
        return _same(self, other, ("opcode", "data"))

    def __reduce__(self) -> Tuple[Any, ...]:
        return _reduce(self, Message, ("opcode", "data"))

    __hash__ = None  # type: ignore[assignment]


class Ping:
    """A ping; answer it with a pong carrying the same payload."""

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(payload)")

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = _exact_bytes(payload, "payload")

    def __repr__(self) -> str:
        return f"Ping(payload={_short(self.payload)})"

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ != "Ping":
            return NotImplemented
        return _same(self, other, ("payload",))

    def __reduce__(self) -> Tuple[Any, ...]:
        return _reduce(self, Ping, ("payload",))

    __hash__ = None  # type: ignore[assignment]


class Pong:
    """A pong."""

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(payload)")

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = _exact_bytes(payload, "payload")

    def __repr__(self) -> str:
        return f"Pong(payload={_short(self.payload)})"

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ != "Pong":
            return NotImplemented
        return _same(self, other, ("payload",))

    def __reduce__(self) -> Tuple[Any, ...]:
        return _reduce(self, Pong, ("payload",))

    __hash__ = None  # type: ignore[assignment]


class Close:
    """A close frame; ``code`` is 1005 when the frame carried no payload."""

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(code, reason)")

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        if type(reason) is not str:
            if not isinstance(reason, str):
                raise TypeError(f"reason must be a str, not {type(reason).__name__}")
            reason = str.__str__(reason)
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"Close(code={self.code!r}, reason={self.reason!r})"

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ != "Close":
            return NotImplemented
        return _same(self, other, ("code", "reason"))

    def __reduce__(self) -> Tuple[Any, ...]:
        return _reduce(self, Close, ("code", "reason"))

    __hash__ = None  # type: ignore[assignment]


def _same(a: object, b: object, names: Tuple[str, ...]) -> bool:
    """Field-wise equality; events of the two backends compare equal."""
    return all(getattr(a, name) == getattr(b, name) for name in names)


def _reduce(event: object, cls: type, names: Tuple[str, ...]) -> Tuple[Any, ...]:
    """Pickling: the class and its constructor's arguments."""
    if not isinstance(event, cls):
        # Reachable unbound (Frame.__reduce__(x)).
        raise TypeError(
            f"descriptor '__reduce__' for {cls.__name__!r} objects doesn't apply to a "
            f"{type(event).__name__!r} object"
        )
    return type(event), tuple([getattr(event, name) for name in names])


def _exact_bytes(value: Any, what: str) -> bytes:
    """An event's bytes field: any bytes-like object, stored as exact bytes."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytes):
        return bytes(value)
    return as_bytes(value, what)


def _short(data: Union[str, bytes]) -> str:
    if len(data) <= 32:
        return repr(data)
    return f"{data[:32]!r}... ({len(data)} in all)"


# Events are made with __new__ and slot stores, not through __init__: in the
# compiled build that is a direct allocation instead of a Python-level call.
# They hold nothing that could point back at them, so the compiled build
# leaves them out of the cyclic GC.


def _new_frame(fin: bool, rsv: int, opcode: int, payload: bytes) -> Frame:
    frame = Frame.__new__(Frame)
    frame.fin = fin
    frame.rsv1 = (rsv & RSV1) != 0
    frame.rsv2 = (rsv & RSV2) != 0
    frame.rsv3 = (rsv & RSV3) != 0
    frame.opcode = OPCODES[opcode]
    frame.payload = payload
    return untracked(frame)


def _new_message(opcode: int, data: Union[str, bytes]) -> Message:
    message = Message.__new__(Message)
    message.opcode = OPCODES[opcode]
    message.data = data
    return untracked(message)


# ---------------------------------------------------------------------------
# Close payloads (RFC 6455 §5.5.1, §7.4)


def _close_code_valid(code: int) -> bool:
    """Codes that may appear on the wire: 1000-1003, 1007-1014, 3000-4999."""
    if 1000 <= code <= 1003 or 1007 <= code <= 1014:
        return True
    return 3000 <= code <= 4999


def parse_close(payload: Any) -> Tuple[int, str]:
    """Split a close frame's payload into ``(code, reason)``.

    An empty payload gives ``(1005, "")`` (RFC 6455 §7.1.5). A 1-byte payload
    or a code that must not be sent raises ``ProtocolError`` (1002); a reason
    that is not UTF-8 raises ``InvalidUTF8`` (1007).
    """
    data = payload if type(payload) is bytes else as_bytes(payload, "payload")
    n = len(data)
    if n == 0:
        return 1005, ""
    if n == 1:
        raise ProtocolError(1002, "close frame with a 1-byte payload")
    code = (data[0] << 8) | data[1]
    if not _close_code_valid(code):
        raise ProtocolError(1002, f"invalid close code {code}")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUTF8(1007, "close reason is not valid UTF-8") from None
    return code, reason


def encode_close(code: Optional[int] = None, reason: str = "") -> bytes:
    """The payload of a close frame: 2-byte code and UTF-8 reason.

    ``code=None`` with no reason gives an empty payload. Codes that must not
    be sent and reasons over 123 bytes raise ``ValueError``.
    """
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, not {type(reason).__name__}")
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return _EMPTY
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"code must be an int, not {type(code).__name__}")
    if code < 1000 or code > 4999 or not _close_code_valid(code):
        raise ValueError(f"close code {code} must not be sent")
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        raise ValueError(f"close reason is {len(encoded)} bytes long; the limit is 123")
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + encoded


# ---------------------------------------------------------------------------
# Building frames

def encode_frame(
    opcode: int,
    payload: Any,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: Any = None,
) -> bytes:
    """Build one frame, always with the shortest length encoding.

    ``mask=None`` (or ``False``) builds an unmasked frame, as servers send;
    ``mask=True`` masks with a fresh unpredictable key, as clients must; a
    4-byte ``mask`` uses that key. A ``str`` payload is sent as UTF-8.
    """
    if type(opcode) is not int:
        if not isinstance(opcode, int) or isinstance(opcode, bool):
            raise TypeError(f"opcode must be an int, not {type(opcode).__name__}")
    if opcode < 0 or opcode > 15 or OPCODES[opcode] is None:
        raise ValueError(f"invalid opcode {opcode}")
    return _encode(opcode, payload, fin, rsv1, mask)


def _encode(opcode: int, payload: Any, fin: bool, rsv1: bool, mask: Any) -> bytes:
    """``encode_frame`` past the opcode check, typed in the compiled build."""
    if type(payload) is bytes:
        data = payload
    elif isinstance(payload, str):
        data = payload.encode("utf-8")
    else:
        data = as_bytes(payload, "payload")
    first = opcode
    if fin:
        first |= 0x80
    elif opcode >= 8:
        raise ValueError("control frames cannot be fragmented")
    if rsv1:
        if opcode == OP_CONTINUATION or opcode >= 8:
            # RFC 7692 §6: only the first frame of a data message carries RSV1.
            raise ValueError("RSV1 is only set on the first frame of a data message")
        first |= 0x40
    if opcode >= 8 and len(data) > 125:
        raise ValueError(f"control frame payload is {len(data)} bytes; the limit is 125")
    if mask is None or mask is False:
        return build_frame(first, data, None, 0)
    if mask is True:
        # A fresh key from a pool shared by all threads, taken under a lock.
        return build_masked_frame(first, data)
    key = as_bytes(mask, "mask")
    if len(key) != 4:
        raise ValueError(f"mask must be 4 bytes long, not {len(key)}")
    return build_frame(first, data, key, 0)


def _check_limit(limit: Optional[int], what: str) -> int:
    """A size limit as an int, -1 meaning none."""
    if limit is None:
        return -1
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"{what} must be an int or None, not {type(limit).__name__}")
    if limit < 0:
        raise ValueError(f"{what} must not be negative")
    if limit >= MAX_WIRE_LENGTH:
        return -1  # no frame can be longer: the same as no limit
    return limit


# ---------------------------------------------------------------------------
# Parsing

_STATE_HEADER = 0
_STATE_PAYLOAD = 1


class _FrameReader:
    """The frame layer shared by ``FrameParser`` and ``MessageReader``.

    Bytes are parsed where they arrive: only an unfinished header (at most 13
    bytes) is carried to the next ``feed()``. A payload that spans chunks is
    unmasked piece by piece as it comes, so a message fed in small chunks
    costs time linear in its size. Every per-frame rule of RFC 6455 is
    checked from the header, before any payload is buffered.
    """

    def __init__(
        self,
        client: bool,
        max_frame_size: Optional[int],
        rsv_allowed: int,
        strict: bool,
    ) -> None:
        if not isinstance(rsv_allowed, int) or isinstance(rsv_allowed, bool):
            raise TypeError(f"rsv_allowed must be an int, not {type(rsv_allowed).__name__}")
        if rsv_allowed < 0 or rsv_allowed > 7:
            raise ValueError("rsv_allowed must be a mask of RSV1 (4), RSV2 (2) and RSV3 (1)")
        self._client = bool(client)
        self._max_frame = _check_limit(max_frame_size, "max_frame_size")
        self._rsv_allowed = rsv_allowed
        self._strict = bool(strict)
        self._error: Optional[ProtocolError] = None
        self._events: List[Any] = []
        self._tail = _EMPTY
        self._state = _STATE_HEADER
        self._in_message = False
        # The frame whose payload is still arriving:
        self._fin = False
        self._rsv = 0
        self._opcode = 0
        self._masked = False
        self._key = _EMPTY
        self._remaining = 0
        self._received = 0

    def __reduce__(self) -> Any:
        # Connection state is not for saving: refused alike by both backends.
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    # Subclasses turn frames into their results.

    def _on_header(self, fin: bool, rsv: int, opcode: int, length: int) -> None:
        pass

    def _on_frame(self, fin: bool, rsv: int, opcode: int, payload: bytes) -> None:
        raise NotImplementedError

    def _on_payload_start(self, opcode: int, length: int) -> None:
        """A frame whose payload goes on past this chunk begins."""

    def _on_piece(
        self, opcode: int, data: bytes, start: int, end: int, phase: int, last: bool
    ) -> None:
        """``data[start:end]`` is the next piece of the frame in progress,
        still masked (with ``self._key`` turned by ``phase``) when it was."""
        raise NotImplementedError

    def feed(self, data: Any) -> List[Any]:
        """Parse ``data`` and return what it completed; see the class doc."""
        if not isinstance(self, _FrameReader):
            # Reachable unbound (FrameParser.feed(x, data)); compiled, a
            # foreign object would be read as a parser.
            raise TypeError(
                "descriptor 'feed' for '_FrameReader' objects doesn't apply to a "
                f"{type(self).__name__!r} object"
            )
        if self._error is not None:
            # A fresh copy: re-raising the stored one would grow its traceback
            # on every call and empty the events its first catcher holds.
            raise type(self._error)(self._error.close_code, self._error.reason)
        if type(data) is bytes:
            buf = data
        else:
            buf = as_bytes(data, "data")
        events: List[Any] = []
        self._events = events
        try:
            self._parse(buf)
        except ProtocolError as exc:
            exc.events = events
            self._error = exc
            self._events = []
            raise
        except BaseException as exc:
            # Anything else (MemoryError, say) leaves the parser half-way
            # through the chunk: it is failed for good, with 1011.
            error = ProtocolError(1011, f"internal error while parsing: {type(exc).__name__}")
            error.events = events
            self._error = error
            self._events = []
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and the like go on as they are
            raise error from exc
        self._events = []
        return events

    def _check_first(self, first: int) -> None:
        """Rules that the first header byte alone decides."""
        opcode = first & 0x0F
        rsv = (first >> 4) & 0x07
        if opcode >= 8:
            if opcode > OP_PONG:
                raise ProtocolError(1002, f"reserved opcode {opcode}")
            if not (first & 0x80):
                raise ProtocolError(1002, "fragmented control frame")
            if rsv:
                raise ProtocolError(1002, "RSV bit set on a control frame")
        elif opcode == OP_CONTINUATION:
            if not self._in_message:
                raise ProtocolError(1002, "continuation frame with no message open")
            if rsv:
                raise ProtocolError(1002, "RSV bit set on a continuation frame")
        elif opcode <= OP_BINARY:
            if self._in_message:
                raise ProtocolError(1002, "new data frame inside a fragmented message")
            if rsv & ~self._rsv_allowed:
                raise ProtocolError(1002, "RSV bit set with no extension negotiated")
        else:
            raise ProtocolError(1002, f"reserved opcode {opcode}")

    def _check_second(self, second: int) -> None:
        if second & 0x80:
            if self._client:
                raise ProtocolError(1002, "masked frame from the server")
        elif not self._client:
            raise ProtocolError(1002, "unmasked frame from the client")

    def _parse(self, data: bytes) -> None:
        pos = 0
        if self._state == _STATE_PAYLOAD:
            pos = self._continue_payload(data)
            if self._state == _STATE_PAYLOAD:
                return
        elif self._tail:
            data = self._tail + data
            self._tail = _EMPTY
        buf: bytes = data
        p = buf  # indexed as unsigned char * in the compiled build
        n = len(buf)
        while pos < n:
            first = p[pos]
            self._check_first(first)
            if n - pos < 2:
                break
            second = p[pos + 1]
            self._check_second(second)
            opcode = first & 0x0F
            length = second & 0x7F
            head = 2
            if length == 126:
                head = 4
            elif length == 127:
                head = 10
            masked = second & 0x80
            if masked:
                head += 4
            if n - pos < head:
                break
            if length == 126:
                length = (p[pos + 2] << 8) | p[pos + 3]
                if length < 126 and self._strict:
                    raise ProtocolError(1002, "length not encoded in the fewest bytes")
            elif length == 127:
                if p[pos + 2] & 0x80:
                    raise ProtocolError(1002, "64-bit length with the top bit set")
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                if length < 65536 and self._strict:
                    raise ProtocolError(1002, "length not encoded in the fewest bytes")
            if opcode >= 8:
                if length > 125:
                    raise ProtocolError(1002, "control frame payload over 125 bytes")
            elif self._max_frame >= 0 and length > self._max_frame:
                raise MessageTooBig(
                    1009, f"frame of {length} bytes over the limit of {self._max_frame}"
                )
            fin = (first & 0x80) != 0
            self._on_header(fin, (first >> 4) & 0x07, opcode, length)
            if opcode < 8:
                self._in_message = not fin
            start = pos + head
            if length <= n - start:
                end = start + length
                if masked:
                    payload = unmask_slice(buf, start, end, buf, start - 4, 0)
                else:
                    payload = buf[start:end]
                self._on_frame(fin, (first >> 4) & 0x07, opcode, payload)
                pos = end
                continue
            # The payload goes on past this chunk.
            self._fin = fin
            self._rsv = (first >> 4) & 0x07
            self._opcode = opcode
            self._masked = masked != 0
            self._key = buf[start - 4 : start] if masked else _EMPTY
            self._remaining = length
            self._received = 0
            self._state = _STATE_PAYLOAD
            self._on_payload_start(opcode, length)
            self._continue_payload_from(buf, start)
            return
        if pos < n:
            self._tail = buf[pos:]

    def _continue_payload(self, data: bytes) -> int:
        """Take what belongs to the frame in progress; return where it ended."""
        return self._continue_payload_from(data, 0)

    def _continue_payload_from(self, data: bytes, start: int) -> int:
        n = len(data)
        take = n - start
        if take > self._remaining:
            take = self._remaining
        end = start + take
        phase = self._received
        self._received += take
        self._remaining -= take
        last = self._remaining == 0
        if last:
            self._state = _STATE_HEADER
        if take or last:
            self._on_piece(self._opcode, data, start, end, phase, last)
        return end

    def _piece(self, data: bytes, start: int, end: int, phase: int) -> bytes:
        """A piece on its own, unmasked."""
        if self._masked:
            return unmask_slice(data, start, end, self._key, 0, phase)
        if start == 0 and end == len(data):
            return data
        return data[start:end]

    def _reserve(self, buf: Any, limit: int, length: int) -> None:
        """Room in ``buf`` for ``length`` more bytes that a header declared
        (and the limit allowed), but never more than ``_RESERVE_MAX`` ahead
        of the bytes themselves: past that the buffer grows as they come."""
        if length > _RESERVE_MAX:
            length = _RESERVE_MAX
        buf.reserve(buf.size + length)


class FrameParser(_FrameReader):
    """Split a byte stream into frames, enforcing every per-frame rule.

    ``feed(data)`` takes any chunking of the stream (one byte at a time
    included) and returns the frames it completed. ``client=True`` is the
    client side: frames must arrive unmasked. ``max_frame_size`` (bytes,
    ``None`` for no limit) is checked from the header. ``rsv_allowed`` is a
    mask of the RSV bits a negotiated extension may set on the first frame of
    a message (RSV1 = 4, RSV2 = 2, RSV3 = 1). ``strict=False`` accepts
    lengths not encoded in the fewest bytes.

    A rule break raises ``ProtocolError`` carrying its close code; frames
    completed earlier in the same call ride on it as ``.events``. After a
    break the parser stays failed. Any other exception inside ``feed()`` (a
    ``MemoryError``, say) raises ``ProtocolError`` 1011 with the original as
    its ``__cause__`` and the same ``.events``, and fails the parser too.

    Memory: what the parser holds for an unfinished frame is one buffer of
    at most 1.25 x (its payload so far + the declared rest, counted up to
    64 KiB) + 256 bytes, never more than ``max_frame_size``, plus a small
    constant (its state and a partial header of at most 13 bytes), however
    the bytes are chunked. Payload is unmasked straight into that buffer;
    the compiled backend hands it over as the frame's ``bytes`` without a
    copy, the pure one copies it once.

    A parser holds one connection's state: one instance is not to be shared
    between threads.
    """

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("(*, client=False, max_frame_size=1048576, rsv_allowed=0, strict=True)")

    if TYPE_CHECKING:

        def feed(self, data: Any) -> List[Frame]: ...

    def __init__(
        self,
        *,
        client: bool = False,
        max_frame_size: Optional[int] = DEFAULT_MAX_SIZE,
        rsv_allowed: int = 0,
        strict: bool = True,
    ) -> None:
        _FrameReader.__init__(self, client, max_frame_size, rsv_allowed, strict)
        self._buf = new_buffer()
        self._buf.limit = self._max_frame

    def _on_frame(self, fin: bool, rsv: int, opcode: int, payload: bytes) -> None:
        self._events.append(_new_frame(fin, rsv, opcode, payload))

    def _on_payload_start(self, opcode: int, length: int) -> None:
        self._reserve(self._buf, self._max_frame, length)

    def _on_piece(
        self, opcode: int, data: bytes, start: int, end: int, phase: int, last: bool
    ) -> None:
        buf = self._buf
        if last and buf.size == 0:
            # The whole payload in this piece: no need for the buffer.
            buf.clear()
            payload = self._piece(data, start, end, phase)
        else:
            buf.write(data, start, end, self._key if self._masked else None, phase)
            if not last:
                return
            payload = buf.take()
        self._events.append(_new_frame(self._fin, self._rsv, opcode, payload))


class MessageReader(_FrameReader):
    """Turn a byte stream into messages and control events.

    ``feed(data)`` returns ``Message(opcode, data)`` (``str`` for text,
    ``bytes`` for binary), ``Ping(payload)``, ``Pong(payload)`` and
    ``Close(code, reason)`` events, in order. Fragments are assembled, with
    control frames between them delivered where they came. Text is validated
    as it arrives, a frame still in pieces included: invalid UTF-8 raises
    ``InvalidUTF8`` (1007) at the chunk holding the first bad byte.
    ``max_message_size`` (bytes, ``None`` for no limit) is checked from each
    frame header, before the payload is buffered (``MessageTooBig``, 1009).
    Rule breaks, ``.events`` and the failed state are as in ``FrameParser``,
    1011 for an unexpected exception included.

    ``deflate`` is the connection's ``PerMessageDeflate`` once
    permessage-deflate is negotiated (RFC 7692): RSV1 on the first frame of a
    data message then marks it compressed (RSV1 anywhere else is still 1002).
    Such a message is inflated as its bytes arrive, at most 64 KiB of output
    per step (a message in one frame of at most 64 KiB is inflated in one
    step of at most 256 KiB, the rest in 64 KiB steps), and
    ``max_message_size`` applies to the inflated size, checked at every step:
    a decompression bomb fails with 1009 as soon as its output passes the
    limit. A corrupt deflate stream is ``ProtocolError`` 1007 (see
    ``wsfast._deflate``); text is validated as the inflated bytes come.

    Memory: what the reader holds for an unfinished message is one buffer
    of at most 1.25 x (its payload so far + the declared rest of the frame
    in progress, counted up to 64 KiB) + 256 bytes, never more than
    ``max_message_size``, plus a small constant (its state, a partial header
    of at most 13 bytes, a control frame in pieces of at most 125), however
    the bytes are chunked and the message fragmented (1-byte and empty
    fragments included). A compressed message's buffer holds its inflated
    bytes; the compressed ones are inflated as they come. Payload is
    unmasked straight into the buffer; the compiled backend hands a binary
    message over as that ``bytes`` object without a copy, the pure one
    copies it once.

    A reader holds one connection's state: one instance is not to be shared
    between threads.
    """

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature(
        "(*, client=False, max_message_size=1048576, max_frame_size=None, strict=True, deflate=None)"
    )

    if TYPE_CHECKING:

        def feed(self, data: Any) -> List[Union[Message, Ping, Pong, Close]]: ...

    def __init__(
        self,
        *,
        client: bool = False,
        max_message_size: Optional[int] = DEFAULT_MAX_SIZE,
        max_frame_size: Optional[int] = None,
        strict: bool = True,
        deflate: Optional[PerMessageDeflate] = None,
    ) -> None:
        if deflate is not None:
            if not isinstance(deflate, PerMessageDeflate):
                raise TypeError(
                    f"deflate must be a PerMessageDeflate or None, not {type(deflate).__name__}"
                )
            if deflate.client != bool(client):
                raise ValueError("deflate was made for the other side of the connection")
        _FrameReader.__init__(self, client, max_frame_size, 0 if deflate is None else RSV1, strict)
        self._max_message = _check_limit(max_message_size, "max_message_size")
        self._deflate = deflate
        self._compressed = False
        # What inflating a whole message needs from ``deflate``, looked up once.
        self._inflate_reset = False
        self._inflate_errors: Any = ()
        if deflate is not None:
            self._inflate_reset = deflate._recv_reset
            self._inflate_errors = deflate._inflate_errors
        self._message_opcode = 0
        self._message_size = 0
        self._buf = new_buffer()
        self._buf.limit = self._max_message
        self._control = new_buffer()
        self._control.limit = 125
        self._utf8_state = 0

    def _on_header(self, fin: bool, rsv: int, opcode: int, length: int) -> None:
        if opcode >= 8:
            return
        if opcode != OP_CONTINUATION:
            self._message_opcode = opcode
            self._message_size = 0
            self._utf8_state = 0
            self._compressed = (rsv & RSV1) != 0
        if self._compressed:
            # The limit applies to the inflated size, counted as it inflates;
            # the compressed bytes are inflated as they come, never buffered.
            return
        if self._max_message >= 0:
            # Compared by subtraction: the sum of two huge lengths could overflow.
            if length > self._max_message - self._message_size:
                # No sum in the text either: it could overflow in the compiled build.
                raise MessageTooBig(
                    1009,
                    f"message over the limit of {self._max_message} bytes:"
                    f" {self._message_size} so far and a frame of {length}",
                )
            self._message_size += length
        if not fin or opcode == OP_CONTINUATION:
            # A fragmented message: its buffer grows by what each header declares.
            self._reserve(self._buf, self._max_message, length)

    def _on_payload_start(self, opcode: int, length: int) -> None:
        if opcode >= 8:
            self._control.reserve(length)
        elif self._fin and opcode != OP_CONTINUATION and not self._compressed:
            # One frame in pieces (a fragmented message reserved in _on_header).
            self._reserve(self._buf, self._max_message, length)

    def _on_frame(self, fin: bool, rsv: int, opcode: int, payload: bytes) -> None:
        if opcode >= 8:
            self._control_event(opcode, payload)
            return
        if self._compressed:
            if fin and opcode != OP_CONTINUATION:
                self._inflate_whole(payload)
            else:
                self._inflate_piece(payload, fin)
            return
        if fin and opcode != OP_CONTINUATION:
            # A whole message in one frame: the decoder validates as it decodes.
            if opcode == OP_TEXT:
                text = decode_utf8(payload, 0, len(payload))
                if text is None:
                    raise InvalidUTF8(1007, "invalid UTF-8 in a text message")
                self._events.append(_new_message(OP_TEXT, text))
            else:
                self._events.append(_new_message(OP_BINARY, payload))
            return
        self._data_piece(payload, fin)

    def _on_piece(
        self, opcode: int, data: bytes, start: int, end: int, phase: int, last: bool
    ) -> None:
        key = self._key if self._masked else None
        if opcode >= 8:
            control = self._control
            if last and control.size == 0:
                control.clear()
                self._control_event(opcode, self._piece(data, start, end, phase))
                return
            control.write(data, start, end, key, phase)
            if last:
                self._control_event(opcode, control.take())
            return
        if self._compressed:
            self._inflate_piece(self._piece(data, start, end, phase), last and self._fin)
            return
        final = last and self._fin
        buf = self._buf
        if final and buf.size == 0:
            buf.clear()
            self._data_piece(self._piece(data, start, end, phase), True)
            return
        size = buf.size
        buf.write(data, start, end, key, phase)
        self._check_text(size)
        if final:
            self._finish_message()

    def _inflate_whole(self, payload: bytes) -> None:
        """Inflate a compressed message that came in one frame: payload and
        tail in one library call whose output is capped by the limit (plus
        one byte, to see it passed) and by ``_INFLATE_WHOLE``; a message
        that fills the cap without passing the limit goes on in steps.
        A payload over ``_INFLATE_STEP`` bytes is inflated in steps from the
        start: the library copies the input it has not consumed at each step."""
        if len(payload) > _INFLATE_STEP:
            self._inflate_piece(payload, True)
            return
        deflate: Any = self._deflate
        d = deflate._inflater
        if d is None:
            d = deflate._new_inflater()
        if self._max_message >= 0:
            room = self._max_message
            cap = room + 1 if room < _INFLATE_WHOLE else _INFLATE_WHOLE
        else:
            room = -1
            cap = _INFLATE_WHOLE
        try:
            out = d.decompress(payload + _SYNC_TAIL, cap)
        except self._inflate_errors as exc:
            raise ProtocolError(1007, f"corrupt deflate stream: {exc}") from None
        n = len(out)
        if n == cap:
            if room >= 0 and n > room:
                raise MessageTooBig(
                    1009, f"inflated message over the limit of {self._max_message} bytes"
                )
            # More than one step: the rest of the input is the library's
            # unconsumed tail, the message's end (its tail) included.
            deflate._inflate_input(_EMPTY, True)
            deflate._full = True
            self._message_size = n
            self._data_piece(out, False)
            self._inflate_drain()
            deflate._inflate_end()
            self._data_piece(_EMPTY, True)
            return
        # All the input is consumed: the message is whole.
        if d.eof:
            # The sender ended its stream: only (part of) the tail may follow.
            rest = d.unused_data
            if rest and not _SYNC_TAIL.endswith(rest):
                raise ProtocolError(1007, "data after the end of the deflate stream")
            deflate._inflater = None
        elif self._inflate_reset:
            deflate._inflater = None
        self._message_size = n
        if self._message_opcode == OP_TEXT:
            text = decode_utf8(out, 0, n)
            if text is None:
                raise InvalidUTF8(1007, "invalid UTF-8 in a text message")
            self._events.append(_new_message(OP_TEXT, text))
        else:
            self._events.append(_new_message(OP_BINARY, out))

    def _inflate_piece(self, piece: bytes, final: bool) -> None:
        """Inflate compressed payload bytes into the open message; ``final``
        appends the ``00 00 ff ff`` tail (RFC 7692 §7.2.2) and ends it."""
        deflate: Any = self._deflate
        if piece:
            deflate._inflate_input(piece)
            self._inflate_drain()
        if final:
            deflate._inflate_input(_SYNC_TAIL, True)
            self._inflate_drain()
            deflate._inflate_end()
            self._data_piece(_EMPTY, True)

    def _inflate_drain(self) -> None:
        """Take the inflated output step by step, the limit checked at each."""
        deflate: Any = self._deflate
        while True:
            if self._max_message >= 0:
                room = self._max_message - self._message_size
                step = room + 1 if room < _INFLATE_STEP else _INFLATE_STEP
            else:
                room = -1
                step = _INFLATE_STEP
            chunk = deflate._inflate_next(step)
            n = len(chunk)
            if n == 0:
                return
            if room >= 0 and n > room:
                raise MessageTooBig(
                    1009, f"inflated message over the limit of {self._max_message} bytes"
                )
            self._message_size += n
            self._data_piece(chunk, False)

    def _data_piece(self, piece: bytes, final: bool) -> None:
        """Add payload bytes to the open message; ``final`` ends it."""
        buf = self._buf
        if final and buf.size == 0:
            # The message is this piece alone.
            buf.clear()
            if self._message_opcode == OP_TEXT:
                # Nothing validated before: the state is at a code point boundary.
                text = decode_utf8(piece, 0, len(piece))
                if text is None:
                    raise InvalidUTF8(1007, "invalid UTF-8 in a text message")
                self._events.append(_new_message(OP_TEXT, text))
            else:
                self._events.append(_new_message(OP_BINARY, piece))
            return
        if piece:
            size = buf.size
            buf.write(piece, 0, len(piece), None, 0)
            self._check_text(size)
        if final:
            self._finish_message()

    def _check_text(self, start: int) -> None:
        """Validate what the buffer got past ``start`` when this is text."""
        if self._message_opcode != OP_TEXT:
            return
        state = utf8_feed(self._utf8_state, self._buf.contents(), start, self._buf.size)
        if state < 0:
            raise InvalidUTF8(1007, "invalid UTF-8 in a text message")
        self._utf8_state = state

    def _finish_message(self) -> None:
        buf = self._buf
        if self._message_opcode == OP_TEXT:
            if self._utf8_state != 0:
                raise InvalidUTF8(1007, "text message ends inside a UTF-8 sequence")
            text = decode_utf8(buf.contents(), 0, buf.size)
            buf.clear()
            if text is None:  # pragma: no cover - validated piece by piece above
                raise InvalidUTF8(1007, "invalid UTF-8 in a text message")
            self._events.append(_new_message(OP_TEXT, text))
        else:
            self._events.append(_new_message(OP_BINARY, buf.take()))

    def _control_event(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            ping = Ping.__new__(Ping)
            ping.payload = payload
            self._events.append(untracked(ping))
        elif opcode == OP_PONG:
            pong = Pong.__new__(Pong)
            pong.payload = payload
            self._events.append(untracked(pong))
        else:
            code, reason = parse_close(payload)
            close = Close.__new__(Close)
            close.code = code
            close.reason = reason
            self._events.append(untracked(close))
