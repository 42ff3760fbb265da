"""websockets' receive loop without a generator per frame: the parser behind
the websockets adapter.

This file is the pure-Python module, and the same file is compiled by Cython
as ``wsfast.dropin._websockets_c``, typed by ``_websockets_c.pxd``.

``parse(protocol)`` stands in for ``Protocol.parse``, the generator that
``receive_data()`` steps. websockets reads each frame through four nested
generators (``at_eof`` and ``Frame.parse`` with its ``read_exact`` calls),
cutting the buffer three times per frame. Here a frame that is complete in
the buffer and breaks no rule is read in one go: header fields from the
buffer, payload unmasked by wsfast's kernel straight from the buffer, the same ``Frame``
handed to the same ``recv_frame()``. Every other frame (one that has not
fully arrived, or one that ``Frame.parse`` would refuse: bad opcode, wrong
mask bit, over ``max_size``, reserved bits, a bad control frame) is read by
websockets' own ``Frame.parse`` from where it starts, so the bytes consumed,
the exception and the moment it is raised are websockets' own. A connection
with extensions or debug logging (or a process where ``struct.unpack``, which
``Frame.parse`` calls, has been replaced) goes back to websockets' ``Protocol.parse``
for the rest of its life, at a frame boundary, where that generator holds no
state of its own. The ``except`` clauses are websockets' own, verbatim.
"""

from __future__ import annotations

from typing import Any, Generator, Optional, Tuple

from .._mask_py import unmask_slice

# Set by ``bind()``: websockets' objects.
_host_parse: Any = None
_frame_parse: Any = None
_Frame: Any = None
_OPCODES: Tuple[Any, ...] = ()
_SERVER: Any = None
_CLOSE: Any = None
_PING: Any = None
_PONG: Any = None
_TEXT: Any = None
_BINARY: Any = None
_CONT: Any = None
_recv_frame: Any = None
_EMPTY = b""
_ProtocolError: Any = None
_PayloadTooBig: Any = None
_CloseCode: Any = None
_struct: Any = None
_unpack: Any = None
_new = object.__new__


def bind(websockets_modules: Any, host_parse: Any) -> None:
    """Take websockets' objects (from ``websockets.frames``,
    ``websockets.protocol``, ``websockets.exceptions``) and its own
    ``Protocol.parse``."""
    global _host_parse, _frame_parse, _Frame, _OPCODES, _SERVER, _CLOSE, _PING, _PONG, _TEXT, _BINARY, _CONT
    global _recv_frame
    global _ProtocolError, _PayloadTooBig, _CloseCode, _struct, _unpack
    frames, protocol, exceptions = websockets_modules
    _host_parse = host_parse
    _Frame = frames.Frame
    _frame_parse = frames.Frame.parse
    opcodes = {int(op): op for op in frames.Opcode}
    _OPCODES = tuple(opcodes.get(i) for i in range(16))
    _SERVER = protocol.SERVER
    _CLOSE = frames.Opcode.CLOSE
    _PING = frames.Opcode.PING
    _PONG = frames.Opcode.PONG
    _TEXT = frames.Opcode.TEXT
    _BINARY = frames.Opcode.BINARY
    _CONT = frames.Opcode.CONT
    _recv_frame = protocol.Protocol.recv_frame
    _ProtocolError = exceptions.ProtocolError
    _PayloadTooBig = exceptions.PayloadTooBig
    _CloseCode = frames.CloseCode
    _struct = frames.struct
    _unpack = frames.struct.unpack


def _complete(buf: bytearray) -> bool:
    """Whether the frame at the start of ``buf`` has fully arrived, from its
    header alone: a frame still arriving goes to websockets' parser without
    copying the buffer first."""
    n = len(buf)
    if n < 2:
        return False
    second = buf[1]
    length = second & 0x7F
    head = 6 if second & 0x80 else 2
    if length == 126:
        if n < 4:
            return False
        length = (buf[2] << 8) | buf[3]
        head += 2
    elif length == 127:
        if n < 10:
            return False
        length = int.from_bytes(buf[2:10], "big")
        head += 8
    return n >= head + length


class _Snapshot:
    """The reader's buffer as bytes, read from ``pos`` on: frames are cut
    from it without touching the bytearray, whose consumed bytes are
    removed by ``sync()`` before anything else looks at it."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf
        self.data = bytes(buf)
        self.pos = 0
        self.base = 0  # where the bytearray starts in ``data``

    def sync(self) -> None:
        if self.pos != self.base:
            del self.buf[: self.pos - self.base]
            self.base = self.pos

    def current(self) -> bool:
        """Whether the bytearray is still what is left of ``data`` (after a
        sync; a close frame empties it)."""
        return len(self.buf) == len(self.data) - self.pos

    def next_frame(self, masked: bool, max_size: Optional[int]) -> Any:
        """The frame at ``pos`` if it is all there and ``Frame.parse`` would
        accept it (then ``pos`` moves past it), else None."""
        data = self.data
        pos = self.pos
        n = len(data) - pos
        if n < 2:
            return None
        first = data[pos]
        second = data[pos + 1]
        if first & 0x70 or (second >> 7) != masked:
            return None
        opcode = _OPCODES[first & 0x0F]
        if opcode is None:
            return None
        length = second & 0x7F
        head = 2
        if length == 126:
            if n < 4:
                return None
            length = (data[pos + 2] << 8) | data[pos + 3]
            head = 4
        elif length == 127:
            if n < 10:
                return None
            length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            head = 10
        if max_size is not None and length > max_size:
            return None
        if first & 0x08 and (length > 125 or not first & 0x80):
            return None
        if masked:
            if n < head + 4 + length:
                return None
            start = pos + head + 4
            payload: Any = unmask_slice(data, start, start + length, data, start - 4, 0)
        else:
            if n < head + length:
                return None
            start = pos + head
            # What websockets' read_exact gives: a bytearray.
            payload = bytearray(data[start : start + length])
        self.pos = start + length
        # Frame(opcode, payload, fin) without the dataclass __init__ call:
        # the same attributes, set in the same order.
        frame = _new(_Frame)
        frame.opcode = opcode
        frame.data = payload
        frame.fin = (first & 0x80) != 0
        frame.rsv1 = False
        frame.rsv2 = False
        frame.rsv3 = False
        return frame


def parse(self: Any) -> Generator[None, None, None]:
    """``Protocol.parse``; see the module doc."""
    reader = self.reader
    buf = reader.buffer
    masked = self.side is _SERVER
    handed_back = False
    snapshot: Optional[_Snapshot] = None
    inline = False
    try:
        try:
            while True:
                # reader.at_eof()
                while not buf:
                    if reader.eof:
                        if self.debug:
                            self.logger.debug("< EOF")
                        raise EOFError("unexpected end of stream")
                    yield
                # Extensions are negotiated after this loop starts (the server
                # accepts after reading the request): decided per frame. So is
                # whether someone replaced ``struct.unpack``, which websockets'
                # own parser calls (its tests do, to simulate internal errors).
                if self.extensions or self.debug or _struct.unpack is not _unpack:
                    handed_back = True
                    break
                max_size = None
                if self.max_message_size is not None:
                    if self.current_size is None:
                        max_size = self.max_message_size
                    else:
                        max_size = self.max_message_size - self.current_size
                if self.max_fragment_size is not None:
                    if max_size is None:
                        max_size = self.max_fragment_size
                    else:
                        max_size = min(max_size, self.max_fragment_size)
                if snapshot is None:
                    if not _complete(buf):
                        # Still arriving: websockets reads it as it comes.
                        frame = yield from _frame_parse(
                            reader.read_exact, mask=masked, max_size=max_size, extensions=self.extensions
                        )
                        self.recv_frame(frame)
                        continue
                    snapshot = _Snapshot(buf)
                    # recv_frame() as websockets has it, not overridden or
                    # mocked: data frames and pongs are recorded here.
                    inline = type(self).recv_frame is _recv_frame and "recv_frame" not in self.__dict__
                frame = snapshot.next_frame(masked, max_size)
                if frame is None:
                    snapshot.sync()
                    snapshot = None
                    frame = yield from _frame_parse(
                        reader.read_exact,
                        mask=masked,
                        max_size=max_size,
                        extensions=self.extensions,
                    )
                elif snapshot.pos == len(snapshot.data):
                    snapshot.sync()
                    snapshot = None
                elif inline:
                    # Protocol.recv_frame() for these opcodes, step by step.
                    opcode = frame.opcode
                    if opcode is _TEXT or opcode is _BINARY:
                        if self.current_size is not None:
                            raise _ProtocolError("expected a continuation frame")
                        if not frame.fin:
                            self.current_size = len(frame.data)
                        self.events.append(frame)
                        continue
                    if opcode is _CONT:
                        if self.current_size is None:
                            raise _ProtocolError("unexpected continuation frame")
                        if frame.fin:
                            self.current_size = None
                        else:
                            self.current_size += len(frame.data)
                        self.events.append(frame)
                        continue
                    if opcode is _PONG:
                        self.events.append(frame)
                        continue
                elif frame.opcode is _CLOSE or frame.opcode is _PING:
                    # recv_frame() answers these, or empties the buffer
                    # (close): it sees the buffer as websockets leaves it.
                    snapshot.sync()
                    self.recv_frame(frame)
                    if not snapshot.current():
                        snapshot = None
                    continue
                self.recv_frame(frame)
        finally:
            # Bytes of frames already taken leave the buffer, whatever ends
            # the loop (the frame that failed was consumed, as in websockets).
            if snapshot is not None:
                snapshot.sync()
    except _ProtocolError as exc:
        self.fail(_CloseCode.PROTOCOL_ERROR, str(exc))
        self.parser_exc = exc
    except EOFError as exc:
        self.fail(_CloseCode.ABNORMAL_CLOSURE, str(exc))
        self.parser_exc = exc
    except UnicodeDecodeError as exc:
        self.fail(_CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
        self.parser_exc = exc
    except _PayloadTooBig as exc:
        exc.set_current_size(self.current_size)
        self.fail(_CloseCode.MESSAGE_TOO_BIG, str(exc))
        self.parser_exc = exc
    except Exception as exc:
        self.logger.error("parser failed", exc_info=True)
        # Don't include exception details, which may be security-sensitive.
        self.fail(_CloseCode.INTERNAL_ERROR)
        self.parser_exc = exc
    if handed_back:
        # websockets' own loop from here, between two frames as ours was.
        yield from _host_parse(self)
        return
    yield
    raise AssertionError("parse() shouldn't step after error")
