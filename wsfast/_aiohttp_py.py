"""aiohttp's WebSocket reader and its data queue, on wsfast's kernels.

This file is the pure-Python twin, and the same file is compiled by Cython as
``wsfast._aiohttp_c``, typed by ``_aiohttp_c.pxd`` (like ``_codec_py.py``).
``wsfast.dropin.aiohttp`` puts these two classes in place of aiohttp's
``WebSocketReader`` and ``WebSocketDataQueue``.

The state machine is aiohttp 3.14's own (``aiohttp/_websocket/reader_py.py``)
step for step, because a patched aiohttp must answer every byte stream as the
unpatched one does: masked and unmasked frames on either side, non-minimal
lengths, close codes of 3000 and up unchecked, an empty close payload as code
0, UTF-8 checked when the message is complete, the message limit as a strict
``<``, the same ``WebSocketError`` texts at the same byte, the same stall and
resume with the queue. What changes is how a frame's bytes become a message:

- a masked payload is unmasked by wsfast's SIMD kernel straight out of the
  received chunk, key read in place (aiohttp copies the slice into a
  bytearray, masks it in place with 8-byte words, then copies it to bytes);
- text is checked and turned into ``str`` by wsfast's vectorised UTF-8
  decoder in one pass;
- the message tuples are built and queued without a Python call per frame.

aiohttp's compiled reader only takes its own compiled queue and that queue
does not let another reader park itself when parsing stalls, so the queue
comes along (the same code as aiohttp's). Compressed messages
(permessage-deflate) are inflated by aiohttp's own ``ZLibDecompressor``,
called exactly as aiohttp calls it.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections import deque
from typing import Any, List, Optional, Tuple, Union

from aiohttp._websocket.helpers import (
    MASK_LEN,
    MSG_SIZE,
    PACK_LEN1,
    PACK_RANDBITS,
    UNPACK_CLOSE_CODE,
    UNPACK_LEN3,
)
from aiohttp._websocket.models import (
    WS_DEFLATE_TRAILING,
    WebSocketError,
    WSCloseCode,
    WSMessage,
    WSMessageTextBytes,
    WSMsgType,
)
from aiohttp._websocket.writer import WebSocketWriter as _Writer
from aiohttp.client_exceptions import ClientConnectionResetError
from aiohttp.compression_utils import TooManyMembersError, ZLibDecompressor
from aiohttp.helpers import _EXC_SENTINEL
from aiohttp.helpers import set_exception as _set_exception
from aiohttp.log import ws_logger
from aiohttp.streams import EofStream

from ._mask_py import build_frame, frame_header, mask_bytearray, unmask_slice
from ._utf8_py import decode_utf8

__all__ = ["WebSocketDataQueue", "WebSocketReader", "websocket_mask", "write_websocket_frame"]

ALLOWED_CLOSE_CODES = {int(i) for i in WSCloseCode}

READ_HEADER = 1
READ_PAYLOAD_LENGTH = 2
READ_PAYLOAD_MASK = 3
READ_PAYLOAD = 4

MAX_PAYLOAD_LEN = sys.maxsize

WS_MSG_TYPE_BINARY = WSMsgType.BINARY
WS_MSG_TYPE_TEXT = WSMsgType.TEXT
WS_MSG_TYPE_CLOSE = WSMsgType.CLOSE
WS_MSG_TYPE_PING = WSMsgType.PING
WS_MSG_TYPE_PONG = WSMsgType.PONG

OP_CODE_NOT_SET = -1
OP_CODE_CONTINUATION = 0
OP_CODE_TEXT = 1
OP_CODE_BINARY = 2
OP_CODE_CLOSE = 8
OP_CODE_PING = 9
OP_CODE_PONG = 10

EMPTY_FRAME_ERROR = (True, b"")
EMPTY_FRAME = (False, b"")

COMPRESSED_NOT_SET = -1
COMPRESSED_FALSE = 0
COMPRESSED_TRUE = 1

TUPLE_NEW = tuple.__new__

MSG_SIZE_OVERHEAD = 128

STALLED_READER_COLLECTED = (
    "WebSocketReader was garbage collected while stalled; "
    "callers of set_parser() must hold a strong reference"
)


def _foreign_self(method: str, owner: str, obj: Any) -> TypeError:
    """The error CPython's method descriptors raise for a foreign ``self``.

    Compiled, an unbound method called with another object would read it as
    an instance: every method below checks its ``self`` first.
    """
    return TypeError(f"descriptor {method!r} for {owner!r} objects doesn't apply to a {type(obj).__name__!r} object")


def _message(kind: Any, data: Any, extra: Any) -> Any:
    """``WSMessage(kind, data, extra)`` without the NamedTuple constructor,
    as aiohttp builds it."""
    return TUPLE_NEW(WSMessage, (kind, data, extra))


def _text_bytes(data: bytes) -> Any:
    return TUPLE_NEW(WSMessageTextBytes, (WS_MSG_TYPE_TEXT, data, ""))


def websocket_mask(mask: bytes, data: bytearray) -> None:
    """aiohttp's ``websocket_mask(mask, data)``: ``data`` XOR the 4-byte
    ``mask``, in place; the same argument types and checks as aiohttp's."""
    if not isinstance(mask, bytes) or not isinstance(data, bytearray):
        raise TypeError(
            f"websocket_mask takes (bytes, bytearray), not ({type(mask).__name__}, {type(data).__name__})"
        )
    assert len(mask) == 4
    mask_bytearray(data, mask)


# aiohttp's own method, for what the fast path below does not take.
_write_frame_aiohttp = _Writer.__dict__["_write_websocket_frame"]


def write_websocket_frame(self: Any, message: Any, opcode: int, rsv: int) -> None:
    """``WebSocketWriter._write_websocket_frame``: the same bytes in the same
    ``transport.write`` calls, the masked frame built in one allocation (key
    drawn from the writer's own random source, as aiohttp draws it)."""
    if type(message) is not bytes:
        _write_frame_aiohttp(self, message, opcode, rsv)
        return
    msg_length = len(message)
    first_byte = 0x80 | rsv | opcode
    if msg_length < 126:
        header_len = 2
    elif msg_length < 65536:
        header_len = 4
    else:
        header_len = 10
    if first_byte > 0xFF:
        # struct.error from aiohttp's header packing, as aiohttp raises it.
        PACK_LEN1(first_byte, 0)

    if self.transport.is_closing():
        raise ClientConnectionResetError("Cannot write to closing transport")

    if self.use_mask:
        mask = PACK_RANDBITS(self.get_random_bits())
        self.transport.write(build_frame(first_byte, message, mask, 0))
        self._output_size += MASK_LEN
    elif msg_length > MSG_SIZE:
        self.transport.write(frame_header(first_byte, msg_length))
        self.transport.write(message)
    else:
        self.transport.write(build_frame(first_byte, message, None, 0))

    self._output_size += header_len + msg_length


class WebSocketDataQueue:
    """aiohttp's WebSocketDataQueue: resumes and pauses the stream below."""

    def __init__(self, protocol: Any, limit: int, *, loop: asyncio.AbstractEventLoop) -> None:
        self._size = 0
        self._protocol = protocol
        self._limit = limit * 2
        self._loop = loop
        self._eof = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._exception: Optional[BaseException] = None
        self._buffer: "deque[Tuple[Any, int]]" = deque()
        self._get_buffer = self._buffer.popleft
        self._put_buffer = self._buffer.append
        self._stalled_reader: Any = None

    def is_eof(self) -> bool:
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("is_eof", "WebSocketDataQueue", self)
        return self._eof

    def exception(self) -> Optional[BaseException]:
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("exception", "WebSocketDataQueue", self)
        return self._exception

    def set_exception(self, exc: BaseException, exc_cause: BaseException = _EXC_SENTINEL) -> None:
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("set_exception", "WebSocketDataQueue", self)
        self._eof = True
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            _set_exception(waiter, exc, exc_cause)

    def _release_waiter(self) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        self._waiter = None
        if not waiter.done():
            waiter.set_result(None)

    def feed_eof(self) -> None:
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("feed_eof", "WebSocketDataQueue", self)
        self._eof = True
        self._release_waiter()
        self._exception = None

    def feed_data(self, data: Any, size: int) -> None:
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("feed_data", "WebSocketDataQueue", self)
        self._size += size + MSG_SIZE_OVERHEAD
        self._put_buffer((data, size))
        self._release_waiter()
        if self._size > self._limit and not self._protocol._reading_paused:
            self._protocol.pause_reading()

    async def read(self) -> Any:
        # A coroutine method: a foreign self fails when it is first run.
        if not isinstance(self, WebSocketDataQueue):
            raise _foreign_self("read", "WebSocketDataQueue", self)
        if not self._buffer and not self._eof:
            assert not self._waiter
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            except (asyncio.CancelledError, asyncio.TimeoutError):
                self._waiter = None
                raise
        return self._read_from_buffer()

    def _read_from_buffer(self) -> Any:
        if self._buffer:
            data, size = self._get_buffer()
            self._size -= size + MSG_SIZE_OVERHEAD
            if self._stalled_reader is not None and self._size <= self._limit // 2:
                reader = self._stalled_reader()
                if reader is not None:
                    reader.feed_data(b"")
                else:
                    self._stalled_reader = None
                    ws_logger.warning(STALLED_READER_COLLECTED)
                    if self._exception is None:
                        self.set_exception(RuntimeError(STALLED_READER_COLLECTED))
            if self._stalled_reader is None and self._size < self._limit and self._protocol._reading_paused:
                self._protocol.resume_reading()
            return data
        if self._exception is not None:
            raise self._exception
        raise EofStream


class WebSocketReader:
    """aiohttp's WebSocketReader: frames in, WSMessage tuples to the queue."""

    def __init__(self, queue: Any, max_msg_size: int, compress: bool, decode_text: bool) -> None:
        self.queue = queue
        # The queue's methods are called without a lookup when it is ours.
        self._own_queue = queue if type(queue) is WebSocketDataQueue else None
        self._max_msg_size = max_msg_size
        self._decode_text = decode_text
        self._weak_self = weakref.ref(self)

        self._exc: Optional[Exception] = None
        self._partial = bytearray()
        self._state = READ_HEADER

        self._opcode = OP_CODE_NOT_SET
        self._frame_fin = False
        self._frame_opcode = OP_CODE_NOT_SET
        self._payload_fragments: List[bytes] = []
        self._max_fragments = max(1024, max_msg_size // 256) if max_msg_size else 0
        self._payload_buffer = bytearray()
        self._frame_payload_len = 0

        self._tail = b""
        self._has_mask = False
        self._frame_mask: Optional[bytes] = None
        self._payload_bytes_to_read = 0
        self._payload_len_flag = 0
        self._compressed = COMPRESSED_NOT_SET
        self._decompressobj: Any = None
        self._compress = compress

    def feed_eof(self) -> None:
        if not isinstance(self, WebSocketReader):
            raise _foreign_self("feed_eof", "WebSocketReader", self)
        self.queue.feed_eof()

    def feed_data(self, data: Any) -> Tuple[bool, bytes]:
        if not isinstance(self, WebSocketReader):
            raise _foreign_self("feed_data", "WebSocketReader", self)
        if type(data) is not bytes:
            # Through a memoryview: bytes(n) of an int would allocate n bytes.
            data = bytes(memoryview(data))

        if self._exc is not None:
            return True, data

        try:
            self._feed_data(data)
        except Exception as exc:
            self._exc = exc
            _set_exception(self.queue, exc)
            return EMPTY_FRAME_ERROR

        return EMPTY_FRAME

    def _put(self, msg: Any, size: int) -> None:
        own = self._own_queue
        if own is not None:
            own.feed_data(msg, size)
        else:
            self.queue.feed_data(msg, size)

    def _handle_frame(
        self,
        fin: bool,
        opcode: int,
        payload: Union[bytes, bytearray],
        compressed: int,
    ) -> None:
        if not isinstance(self, WebSocketReader):
            raise _foreign_self("_handle_frame", "WebSocketReader", self)
        if opcode == OP_CODE_TEXT or opcode == OP_CODE_BINARY or opcode == OP_CODE_CONTINUATION:  # noqa: SIM109 - C int compares
            if opcode == OP_CODE_CONTINUATION and self._opcode == OP_CODE_NOT_SET:
                raise WebSocketError(
                    WSCloseCode.PROTOCOL_ERROR,
                    "Continuation frame for non started message",
                )

            if not fin:
                if opcode != OP_CODE_CONTINUATION:
                    if self._opcode != OP_CODE_NOT_SET:
                        raise WebSocketError(
                            WSCloseCode.PROTOCOL_ERROR,
                            f"The opcode in non-fin frame is expected to be zero, got {opcode!r}",
                        )
                    self._opcode = opcode
                self._partial += payload
                return

            has_partial = len(self._partial) != 0
            if opcode == OP_CODE_CONTINUATION:
                opcode = self._opcode
                self._opcode = OP_CODE_NOT_SET
            elif has_partial:
                raise WebSocketError(
                    WSCloseCode.PROTOCOL_ERROR,
                    f"The opcode in non-fin frame is expected to be zero, got {opcode!r}",
                )

            assembled: Union[bytes, bytearray]
            if has_partial:
                assembled = self._partial + payload
                self._partial.clear()
            else:
                assembled = payload

            if compressed:
                payload_merged = self._inflate(assembled)
            elif type(assembled) is bytes:
                payload_merged = assembled
            else:
                payload_merged = bytes(assembled)

            if opcode == OP_CODE_TEXT:
                if self._decode_text:
                    text = decode_utf8(payload_merged, 0, len(payload_merged))
                    if text is None:
                        self._invalid_text(payload_merged)
                    self._put(_message(WS_MSG_TYPE_TEXT, text, ""), len(payload_merged))
                else:
                    self._put(_text_bytes(payload_merged), len(payload_merged))
            else:
                self._put(_message(WS_MSG_TYPE_BINARY, payload_merged, ""), len(payload_merged))
        elif opcode == OP_CODE_CLOSE:
            if len(payload) >= 2:
                close_code = UNPACK_CLOSE_CODE(payload[:2])[0]
                if close_code < 3000 and close_code not in ALLOWED_CLOSE_CODES:
                    raise WebSocketError(
                        WSCloseCode.PROTOCOL_ERROR,
                        f"Invalid close code: {close_code}",
                    )
                try:
                    close_message = payload[2:].decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise WebSocketError(WSCloseCode.INVALID_TEXT, "Invalid UTF-8 text message") from exc
                msg = _message(WS_MSG_TYPE_CLOSE, close_code, close_message)
            elif payload:
                raise WebSocketError(
                    WSCloseCode.PROTOCOL_ERROR,
                    f"Invalid close frame: {fin} {opcode} {payload!r}",
                )
            else:
                msg = _message(WS_MSG_TYPE_CLOSE, 0, "")
            self._put(msg, 0)
        elif opcode == OP_CODE_PING:
            self._put(_message(WS_MSG_TYPE_PING, payload, ""), len(payload))
        elif opcode == OP_CODE_PONG:
            self._put(_message(WS_MSG_TYPE_PONG, payload, ""), len(payload))
        else:
            raise WebSocketError(WSCloseCode.PROTOCOL_ERROR, f"Unexpected opcode={opcode!r}")

    def _invalid_text(self, payload: bytes) -> None:
        """Raise aiohttp's error for a text message that is not UTF-8, with
        the decoder's own error as its cause, as aiohttp does."""
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebSocketError(WSCloseCode.INVALID_TEXT, "Invalid UTF-8 text message") from exc
        raise WebSocketError(WSCloseCode.INVALID_TEXT, "Invalid UTF-8 text message")

    def _inflate(self, assembled: Union[bytes, bytearray]) -> bytes:
        if not self._decompressobj:
            self._decompressobj = ZLibDecompressor(suppress_deflate_header=True)
        # One byte over the limit tells a message that is too big (see aiohttp).
        try:
            payload_merged = self._decompressobj.decompress_sync(
                assembled + WS_DEFLATE_TRAILING,
                (self._max_msg_size + 1 if self._max_msg_size else self._max_msg_size),
            )
        except TooManyMembersError as exc:
            raise WebSocketError(
                WSCloseCode.MESSAGE_TOO_BIG,
                "Compressed message has too many deflate members",
            ) from exc
        if self._max_msg_size and len(payload_merged) > self._max_msg_size:
            raise WebSocketError(
                WSCloseCode.MESSAGE_TOO_BIG,
                f"Decompressed message exceeds size limit {self._max_msg_size}",
            )
        result: bytes = payload_merged
        return result

    def _queue_over_limit(self) -> bool:
        own = self._own_queue
        if own is not None:
            return own._size > own._limit
        over: bool = self.queue._size > self.queue._limit
        return over

    def _feed_data(self, data: bytes) -> None:
        """Parse ``data`` (after the tail of the last call) into messages."""
        if not isinstance(self, WebSocketReader):
            raise _foreign_self("_feed_data", "WebSocketReader", self)
        self.queue._stalled_reader = None
        if self._tail:
            data, self._tail = self._tail + data, b""

        start_pos = 0
        data_len = len(data)
        data_cstr = data
        # Where this frame's key sits in ``data``; -1: in self._frame_mask.
        mask_pos = -1

        while True:
            if start_pos < data_len and self._queue_over_limit():
                self.queue._stalled_reader = self._weak_self
                break

            if self._state == READ_HEADER:
                if data_len - start_pos < 2:
                    break
                first_byte = data_cstr[start_pos]
                second_byte = data_cstr[start_pos + 1]
                start_pos += 2

                fin = (first_byte >> 7) & 1
                rsv1 = (first_byte >> 6) & 1
                rsv2 = (first_byte >> 5) & 1
                rsv3 = (first_byte >> 4) & 1
                opcode = first_byte & 0xF

                if rsv2 or rsv3 or (rsv1 and not self._compress):
                    raise WebSocketError(
                        WSCloseCode.PROTOCOL_ERROR,
                        "Received frame with non-zero reserved bits",
                    )

                if not (opcode <= OP_CODE_BINARY or OP_CODE_CLOSE <= opcode <= OP_CODE_PONG):
                    raise WebSocketError(
                        WSCloseCode.PROTOCOL_ERROR,
                        f"Unexpected opcode={opcode!r}",
                    )

                if opcode > 0x7 and fin == 0:
                    raise WebSocketError(
                        WSCloseCode.PROTOCOL_ERROR,
                        "Received fragmented control frame",
                    )

                has_mask = (second_byte >> 7) & 1
                length = second_byte & 0x7F

                if opcode > 0x7 and length > 125:
                    raise WebSocketError(
                        WSCloseCode.PROTOCOL_ERROR,
                        "Control frame payload cannot be larger than 125 bytes",
                    )

                # Control frames leave the compression state alone (RFC 7692 §6.1).
                if opcode <= 0x7:
                    if self._frame_fin or self._compressed == COMPRESSED_NOT_SET:
                        self._compressed = COMPRESSED_TRUE if rsv1 else COMPRESSED_FALSE
                    elif rsv1:
                        raise WebSocketError(
                            WSCloseCode.PROTOCOL_ERROR,
                            "Received frame with non-zero reserved bits",
                        )
                    self._frame_fin = fin != 0

                self._frame_opcode = opcode
                self._has_mask = has_mask != 0
                self._payload_len_flag = length
                self._state = READ_PAYLOAD_LENGTH

            if self._state == READ_PAYLOAD_LENGTH:
                len_flag = self._payload_len_flag
                if len_flag == 126:
                    if data_len - start_pos < 2:
                        break
                    first_byte = data_cstr[start_pos]
                    second_byte = data_cstr[start_pos + 1]
                    start_pos += 2
                    self._payload_bytes_to_read = first_byte << 8 | second_byte
                elif len_flag > 126:
                    if data_len - start_pos < 8:
                        break
                    frame_len = UNPACK_LEN3(data, start_pos)[0]
                    if frame_len > MAX_PAYLOAD_LEN:
                        raise WebSocketError(
                            WSCloseCode.MESSAGE_TOO_BIG,
                            f"Message size {int(frame_len) + len(self._partial)} "
                            f"exceeds limit {self._max_msg_size or MAX_PAYLOAD_LEN}",
                        )
                    self._payload_bytes_to_read = frame_len
                    start_pos += 8
                else:
                    self._payload_bytes_to_read = len_flag

                # Oversized data frames fail before any payload is buffered.
                if self._max_msg_size and self._frame_opcode <= OP_CODE_BINARY:
                    partial_len = len(self._partial)
                    if self._payload_bytes_to_read >= self._max_msg_size - partial_len:
                        raise WebSocketError(
                            WSCloseCode.MESSAGE_TOO_BIG,
                            f"Message size {int(self._payload_bytes_to_read) + partial_len} "
                            f"exceeds limit {self._max_msg_size}",
                        )

                self._state = READ_PAYLOAD_MASK if self._has_mask else READ_PAYLOAD

            if self._state == READ_PAYLOAD_MASK:
                if data_len - start_pos < 4:
                    break
                mask_pos = start_pos
                start_pos += 4
                self._state = READ_PAYLOAD

            if self._state == READ_PAYLOAD:
                chunk_len = data_len - start_pos
                if self._payload_bytes_to_read >= chunk_len:
                    f_end_pos = data_len
                    self._payload_bytes_to_read -= chunk_len
                else:
                    f_end_pos = start_pos + self._payload_bytes_to_read
                    self._payload_bytes_to_read = 0

                had_fragments = self._frame_payload_len
                self._frame_payload_len += f_end_pos - start_pos
                f_start_pos = start_pos
                start_pos = f_end_pos

                if self._payload_bytes_to_read != 0:
                    # The frame goes on in the next read: keep its key.
                    if mask_pos >= 0:
                        self._frame_mask = data_cstr[mask_pos : mask_pos + 4]
                        mask_pos = -1
                    if f_start_pos < f_end_pos:
                        self._payload_fragments.append(data_cstr[f_start_pos:f_end_pos])
                    if self._max_fragments and len(self._payload_fragments) > self._max_fragments:
                        self._payload_buffer += b"".join(self._payload_fragments)
                        self._payload_fragments.clear()
                    break

                if had_fragments:
                    if mask_pos >= 0:
                        self._frame_mask = data_cstr[mask_pos : mask_pos + 4]
                        mask_pos = -1
                    self._payload_fragments.append(data_cstr[f_start_pos:f_end_pos])
                    if self._payload_buffer:
                        self._payload_buffer += b"".join(self._payload_fragments)
                        joined = bytes(self._payload_buffer)
                        self._payload_buffer = bytearray()
                    else:
                        joined = b"".join(self._payload_fragments)
                    self._payload_fragments.clear()
                    if self._has_mask:
                        payload = unmask_slice(joined, 0, len(joined), self._frame_mask, 0, 0)  # type: ignore[arg-type]
                    else:
                        payload = joined
                elif self._has_mask:
                    if mask_pos >= 0:
                        payload = unmask_slice(data, f_start_pos, f_end_pos, data, mask_pos, 0)
                    else:
                        payload = unmask_slice(data, f_start_pos, f_end_pos, self._frame_mask, 0, 0)  # type: ignore[arg-type]
                else:
                    payload = data_cstr[f_start_pos:f_end_pos]
                mask_pos = -1

                if self._frame_opcode > 0x7 and self._has_mask:
                    # aiohttp hands masked control payloads on as bytearray.
                    self._handle_frame(
                        self._frame_fin, self._frame_opcode, bytearray(payload), self._compressed
                    )
                else:
                    self._handle_frame(self._frame_fin, self._frame_opcode, payload, self._compressed)
                self._frame_payload_len = 0
                self._state = READ_HEADER

        self._tail = data_cstr[start_pos:data_len] if start_pos < data_len else b""
