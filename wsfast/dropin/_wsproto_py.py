"""wsproto's receive path on one buffer: the reader behind the wsproto adapter.

This file is the pure-Python reader, and the same file is compiled by Cython
as ``wsfast.dropin._wsproto_c``, typed by ``_wsproto_c.pxd``.

``Reader`` replaces, for one connection without extensions, the chain
``FrameDecoder`` -> ``MessageDecoder`` -> ``FrameProtocol._process_close`` ->
``Connection.events``. It makes the same objects from the same bytes:

- the header rules are checked in wsproto's order, each only once the bytes
  it needs are there (an invalid opcode is reported from two bytes, a
  non-minimal 16-bit length only once those two length bytes arrived), with
  wsproto's ``ParseFailed`` messages and close codes;
- a data frame whose payload is only partly there gives one piece with what
  arrived (wsproto's ``frame_finished=False`` events), a control frame waits
  for its whole payload;
- text is decoded as wsproto's ``codecs`` incremental UTF-8 decoder decodes
  it, whose only state is the bytes it holds back: wsfast's strict UTF-8
  decoder does the decoding, and any piece with invalid bytes is given to
  ``codecs.utf_8_decode``, the function that decoder calls, so a bad byte
  fails with the same message at the same piece;
- after a close frame or a failure it parses nothing more, as wsproto's
  generator ends there.

What it saves is wsproto's per-frame work: a ``Buffer`` that copies on every
read, a ``NamedTuple`` header, a table-driven masker object per frame, a
generator step and an enum call per frame, and ``Frame`` tuples that
``Connection.events`` turns into events. Unmasking is wsfast's
``apply_mask``; events are made without running the frozen dataclasses'
``__init__`` (which sets each field through ``object.__setattr__``).
"""

from __future__ import annotations

import codecs
from collections import deque
from typing import Any, Callable, Deque, List, Optional

from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason, Frame, Opcode, ParseFailed

from .._utf8_py import decode_utf8

# What the reader makes: the Frame tuples of FrameProtocol.received_frames()
# or the events of Connection.events().
MODE_FRAMES = 0
MODE_EVENTS = 1
# The same, importable from the compiled module too (cdef globals are not).
FRAMES = MODE_FRAMES
EVENTS = MODE_EVENTS

_OPCODES = (
    Opcode.CONTINUATION,
    Opcode.TEXT,
    Opcode.BINARY,
    None,
    None,
    None,
    None,
    None,
    Opcode.CLOSE,
    Opcode.PING,
    Opcode.PONG,
    None,
    None,
    None,
    None,
    None,
)
_CONTINUATION = Opcode.CONTINUATION
_TEXT = Opcode.TEXT
_BINARY = Opcode.BINARY
_CLOSE = Opcode.CLOSE
_PING = Opcode.PING
_PONG = Opcode.PONG
_PROTOCOL_ERROR = CloseReason.PROTOCOL_ERROR
_INVALID_DATA = CloseReason.INVALID_FRAME_PAYLOAD_DATA
_NO_STATUS = CloseReason.NO_STATUS_RCVD
_LOCAL_ONLY = (CloseReason.NO_STATUS_RCVD, CloseReason.ABNORMAL_CLOSURE, CloseReason.TLS_HANDSHAKE_FAILED)
_KNOWN_CODES = {int(code): code for code in CloseReason}
_utf8_decode = codecs.utf_8_decode
_new = object.__new__
_EMPTY = b""


def _foreign_self(method: str, owner: str, obj: Any) -> TypeError:
    """The error CPython's method descriptors raise for a foreign ``self``.

    Compiled, an unbound method called with another object would read it as
    an instance: every method below checks its ``self`` first.
    """
    return TypeError(f"descriptor {method!r} for {owner!r} objects doesn't apply to a {type(obj).__name__!r} object")


def _message_event(cls: Any, data: Any, frame_finished: bool, message_finished: bool) -> Any:
    """``cls(data=..., frame_finished=..., message_finished=...)`` without the
    frozen dataclass's three ``object.__setattr__`` calls: the same fields in
    the same ``__dict__``."""
    event = _new(cls)
    event.__dict__.update(data=data, frame_finished=frame_finished, message_finished=message_finished)
    return event


def _payload_event(cls: Any, payload: bytes) -> Any:
    event = _new(cls)
    event.__dict__["payload"] = payload
    return event


def frame_to_event(frame: Any) -> Any:
    """A ``Frame`` tuple as ``Connection.events`` turns it into an event (for
    a connection whose frames were taken through both paths)."""
    opcode = frame.opcode
    if opcode is _TEXT:
        return TextMessage(
            data=frame.payload, frame_finished=frame.frame_finished, message_finished=frame.message_finished
        )
    if opcode is _BINARY:
        return BytesMessage(
            data=frame.payload, frame_finished=frame.frame_finished, message_finished=frame.message_finished
        )
    if opcode is _PING:
        return Ping(payload=frame.payload)
    if opcode is _PONG:
        return Pong(payload=frame.payload)
    code, reason = frame.payload
    return CloseConnection(code=code, reason=reason)


def event_to_frame(event: Any) -> Any:
    """The ``Frame`` tuple an event was made from (the other direction)."""
    cls = type(event)
    if cls is TextMessage:
        return Frame(_TEXT, event.data, event.frame_finished, event.message_finished)
    if cls is BytesMessage:
        return Frame(_BINARY, event.data, event.frame_finished, event.message_finished)
    if cls is Ping:
        return Frame(_PING, event.payload, True, True)
    if cls is Pong:
        return Frame(_PONG, event.payload, True, True)
    return Frame(_CLOSE, (event.code, event.reason), True, True)


class Reader:
    """One connection's receive state; see the module doc.

    ``feed(data)`` appends bytes as ``FrameProtocol.receive_bytes`` does.
    ``parse(mode)`` parses what is buffered into ``pending`` (a deque the
    callers pop from, so nothing parsed is lost when a consumer stops
    iterating early) and returns whether it added anything. A ``ParseFailed``
    met while parsing is kept and raised by the next ``parse()`` that finds
    ``pending`` empty, that is, after the items before it were taken.
    """

    def __init__(self, client: bool, apply_mask: Callable[..., bytes]) -> None:
        self.pending: Deque[Any] = deque()
        self._apply_mask = apply_mask
        self._client = bool(client)
        # Received bytes not parsed yet: only an unfinished header or control
        # frame stays here between parses; chunks are joined when parsed.
        self._tail = _EMPTY
        self._chunks: List[bytes] = []
        self._error: Optional[BaseException] = None
        self._done = False
        # The frame being read: header parsed, payload (partly) to come.
        self._in_frame = False
        self._fin = False
        self._opcode = 0  # the frame's opcode, 0 once its first piece is out
        self._length = 0
        self._consumed = 0
        self._key = _EMPTY
        # The message being read.
        self._message = 0  # 0: none open, else 1 (text) or 2 (binary)
        self._pending = _EMPTY  # bytes the UTF-8 decoder holds back

    def feed(self, data: Any) -> None:
        if not isinstance(self, Reader):
            raise _foreign_self("feed", "Reader", self)
        if type(data) is not bytes:
            # What wsproto's ``bytearray += data`` accepts, with its errors.
            buf = bytearray()
            buf += data
            data = bytes(buf)
        if data:
            self._chunks.append(data)

    def parse(self, mode: int) -> bool:
        if not isinstance(self, Reader):
            raise _foreign_self("parse", "Reader", self)
        if self._error is not None:
            error = self._error
            self._error = None
            raise error
        if self._done or not self._chunks:
            return False
        before = len(self.pending)
        try:
            self._parse(mode)
        except ParseFailed as exc:
            self._done = True
            if len(self.pending) == before:
                raise
            self._error = exc
        return len(self.pending) != before

    def _parse(self, mode: int) -> None:
        chunks = self._chunks
        if self._tail:
            chunks.insert(0, self._tail)
        buf = chunks[0] if len(chunks) == 1 else _EMPTY.join(chunks)
        chunks.clear()
        n = len(buf)
        pos = 0
        pending = self.pending
        client = self._client
        try:
            while True:
                if not self._in_frame:
                    if n - pos < 2:
                        break
                    first = buf[pos]
                    second = buf[pos + 1]
                    opcode = first & 0x0F
                    if _OPCODES[opcode] is None:
                        raise ParseFailed(f"Invalid opcode {opcode:#x}")
                    fin = (first & 0x80) != 0
                    if opcode & 0x08 and not fin:
                        raise ParseFailed("Invalid attempt to fragment control frame")
                    length = second & 0x7F
                    if opcode & 0x08 and length > 125:
                        raise ParseFailed("Control frame with payload len > 125")
                    head = 2
                    if length == 126:
                        if n - pos < 4:
                            break
                        length = (buf[pos + 2] << 8) | buf[pos + 3]
                        if length <= 125:
                            raise ParseFailed("Payload length used 2 bytes when 1 would have sufficed")
                        head = 4
                    elif length == 127:
                        if n - pos < 10:
                            break
                        length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                        if length <= 0xFFFF:
                            raise ParseFailed("Payload length used 8 bytes when 2 would have sufficed")
                        if length >> 63:
                            raise ParseFailed("8-byte payload length with non-zero MSB")
                        head = 10
                    if first & 0x70:
                        raise ParseFailed("Reserved bit set unexpectedly")
                    if second & 0x80:
                        if client:
                            raise ParseFailed("client received unexpected masked frame")
                        if n - pos < head + 4:
                            break
                        self._key = bytes(buf[pos + head : pos + head + 4])
                        head += 4
                    else:
                        if not client:
                            raise ParseFailed("server received unexpected unmasked frame")
                        self._key = _EMPTY
                    pos += head
                    self._in_frame = True
                    self._fin = fin
                    self._opcode = opcode
                    self._length = length
                    self._consumed = 0
                # The payload, or the part of it that is here.
                opcode = self._opcode
                length = self._length
                consumed = self._consumed
                available = n - pos
                if opcode & 0x08 and available < length:
                    break
                take = length - consumed
                if take > available:
                    take = available
                if take == 0 and length > 0:
                    break
                if take:
                    if not self._key:
                        piece = buf[pos : pos + take]
                    elif take < 512:
                        piece = self._apply_mask(buf[pos : pos + take], self._key, consumed)
                    else:  # one copy, not two
                        piece = self._apply_mask(memoryview(buf)[pos : pos + take], self._key, consumed)
                    pos += take
                else:
                    piece = _EMPTY
                consumed += take
                frame_finished = consumed == length
                self._consumed = consumed
                # Later pieces of this frame are continuations, as in wsproto.
                self._opcode = 0
                if frame_finished:
                    self._in_frame = False
                if opcode & 0x08:
                    if opcode == 8:
                        pending.append(self._close(piece, mode))
                        self._done = True
                        break
                    if mode == MODE_EVENTS:
                        pending.append(_payload_event(Ping if opcode == 9 else Pong, piece))
                    else:
                        pending.append(Frame(_PING if opcode == 9 else _PONG, piece, True, True))
                    continue
                pending.append(self._data(opcode, piece, frame_finished, mode))
        finally:
            self._tail = buf[pos:] if pos else buf

    def _data(self, opcode: int, piece: bytes, frame_finished: bool, mode: int) -> Any:
        """``MessageDecoder.process_frame`` and the event it becomes."""
        message = self._message
        if message == 0:
            if opcode == 0:
                raise ParseFailed("unexpected CONTINUATION")
            message = opcode
            self._message = opcode
        elif opcode != 0:
            raise ParseFailed(f"expected CONTINUATION, got {_OPCODES[opcode]!r}")
        finished = frame_finished and self._fin
        data: Any
        if message == 1:
            if opcode == 1 and finished:
                # A whole text message in one piece: a fresh decoder given
                # everything at once is bytes.decode, whose strict UTF-8 is
                # wsfast's (vectorised; bytes.decode only to word an error).
                data = decode_utf8(piece, 0, len(piece))
                if data is None:
                    try:  # bytes.decode says what is wrong, in its words
                        data = piece.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise ParseFailed(str(exc), _INVALID_DATA)  # noqa: B904 - chained as wsproto chains it
            else:
                if opcode == 1:
                    self._pending = _EMPTY  # a fresh decoder
                try:
                    data = self._decode_piece(piece, finished)
                except UnicodeDecodeError as exc:
                    raise ParseFailed(str(exc), _INVALID_DATA)  # noqa: B904 - chained as wsproto chains it
        else:
            data = piece
        if finished:
            self._message = 0
            self._pending = _EMPTY
        if mode == MODE_EVENTS:
            return _message_event(TextMessage if message == 1 else BytesMessage, data, frame_finished, finished)
        return Frame(_TEXT if message == 1 else _BINARY, data, frame_finished, finished)

    def _decode_piece(self, piece: bytes, final: bool) -> str:
        """``decoder.decode(piece, final)`` for wsproto's incremental UTF-8
        decoder, whose whole state is the bytes it holds back (``_pending``):
        it decodes ``pending + piece`` with ``codecs.utf_8_decode`` and keeps
        what that did not consume. Here wsfast decodes up to the start of an
        unfinished sequence at the end; anything unusual (invalid bytes, or a
        held-back tail that is not the start of a valid sequence) is handed
        to ``codecs.utf_8_decode`` itself, for its result or its exception."""
        data = self._pending + piece if self._pending else piece
        n = len(data)
        cut = n
        if not final and n:
            # Back up over continuation bytes (at most 3) to the last lead.
            i = n - 1
            while i > 0 and i >= n - 3 and (data[i] & 0xC0) == 0x80:
                i -= 1
            lead = data[i]
            need = 1
            if 0xC2 <= lead < 0xE0:
                need = 2
            elif 0xE0 <= lead < 0xF0:
                need = 3
            elif 0xF0 <= lead < 0xF5:
                need = 4
            if n - i < need:
                cut = i
        text = decode_utf8(data, 0, cut)
        if text is not None and cut != n:
            # The held-back tail must be a valid start, as codecs checks.
            try:
                _utf8_decode(data[cut:], "strict", False)
            except UnicodeDecodeError:
                text = None
        if text is None:
            text, consumed = _utf8_decode(data, "strict", final)
            self._pending = data[consumed:]
            return text
        self._pending = data[cut:]
        return text

    def _close(self, payload: bytes, mode: int) -> Any:
        """``FrameProtocol._process_close``."""
        code: Any
        if not payload:
            code = _NO_STATUS
            reason = ""
        elif len(payload) == 1:
            raise ParseFailed("CLOSE with 1 byte payload")
        else:
            code = (payload[0] << 8) | payload[1]
            if code < 1000 or code > 4999:
                raise ParseFailed("CLOSE with invalid code")
            code = _KNOWN_CODES.get(code, code)
            if code in _LOCAL_ONLY:
                raise ParseFailed("remote CLOSE with local-only reason")
            if code <= 2999 and type(code) is int:
                raise ParseFailed("CLOSE with unknown reserved code")
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseFailed("Error decoding CLOSE reason: " + str(exc), _INVALID_DATA)  # noqa: B904 - as wsproto
        if mode == MODE_EVENTS:
            return CloseConnection(code=code, reason=reason)
        return Frame(_CLOSE, (code, reason), True, True)
