"""websockets' receive loop without a generator per frame: the parser behind
the websockets adapter.

This file is the pure-Python module, and the same file is compiled by Cython
as ``wsfast.dropin._websockets_c``, typed by ``_websockets_c.pxd``.

``parse(protocol)`` stands in for ``Protocol.parse``, the generator that
``receive_data()`` steps. websockets reads each frame through four nested
generators (``at_eof`` and ``Frame.parse`` with its ``read_exact`` calls),
cutting the buffer three times per frame. Here a frame that is complete in
the buffer and breaks no rule is read in one go: header fields from the
buffer, payload unmasked by wsfast's ``apply_mask``, the same ``Frame``
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

from typing import Any, Callable, Generator, Optional

# Set by ``bind()``: websockets' objects and wsfast's apply_mask.
_host_parse: Any = None
_frame_parse: Any = None
_Frame: Any = None
_OPCODES: tuple = ()
_SERVER: Any = None
_apply_mask: Any = None
_ProtocolError: Any = None
_PayloadTooBig: Any = None
_CloseCode: Any = None
_struct: Any = None
_unpack: Any = None
_new = object.__new__


def bind(websockets_modules: Any, apply_mask: Callable[..., bytes], host_parse: Any) -> None:
    """Take websockets' classes (from ``websockets.frames``,
    ``websockets.protocol``, ``websockets.exceptions``) and the function to
    unmask with."""
    global _host_parse, _frame_parse, _Frame, _OPCODES, _SERVER, _apply_mask
    global _ProtocolError, _PayloadTooBig, _CloseCode, _struct, _unpack
    frames, protocol, exceptions = websockets_modules
    _host_parse = host_parse
    _Frame = frames.Frame
    _frame_parse = frames.Frame.parse
    opcodes = {int(op): op for op in frames.Opcode}
    _OPCODES = tuple(opcodes.get(i) for i in range(16))
    _SERVER = protocol.SERVER
    _apply_mask = apply_mask
    _ProtocolError = exceptions.ProtocolError
    _PayloadTooBig = exceptions.PayloadTooBig
    _CloseCode = frames.CloseCode
    _struct = frames.struct
    _unpack = frames.struct.unpack


def _complete_frame(buf: bytearray, masked: bool, max_size: Optional[int]) -> Any:
    """The frame at the start of ``buf`` if it is all there and
    ``Frame.parse`` would accept it, with its bytes removed; else None and
    ``buf`` untouched."""
    n = len(buf)
    if n < 2:
        return None
    first = buf[0]
    second = buf[1]
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
        length = (buf[2] << 8) | buf[3]
        head = 4
    elif length == 127:
        if n < 10:
            return None
        length = int.from_bytes(buf[2:10], "big")
        head = 10
    if max_size is not None and length > max_size:
        return None
    if first & 0x08 and (length > 125 or not first & 0x80):
        return None
    if masked:
        end = head + 4 + length
        if n < end:
            return None
        if length < 1024:
            data = _apply_mask(buf[head + 4 : end], buf[head : head + 4])
        else:
            data = _apply_mask(memoryview(buf)[head + 4 : end], buf[head : head + 4])
    else:
        end = head + length
        if n < end:
            return None
        data = buf[head:end]
    del buf[:end]
    frame = _new(_Frame)
    frame.__dict__.update(
        opcode=opcode,
        data=data,
        fin=(first & 0x80) != 0,
        rsv1=False,
        rsv2=False,
        rsv3=False,
    )
    return frame


def parse(self: Any) -> Generator[None, None, None]:
    """``Protocol.parse``; see the module doc."""
    reader = self.reader
    buf = reader.buffer
    masked = self.side is _SERVER
    handed_back = False
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
            frame = _complete_frame(buf, masked, max_size)
            if frame is None:
                frame = yield from _frame_parse(
                    reader.read_exact,
                    mask=masked,
                    max_size=max_size,
                    extensions=self.extensions,
                )
            self.recv_frame(frame)
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
