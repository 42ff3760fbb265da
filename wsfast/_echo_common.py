"""What the echo server and the client share: the connection glue.

Every byte goes through wsfast: the opening handshake through the helpers of
``_handshake``, incoming frames through ``MessageReader``, outgoing ones
through ``encode_frame``. The echo server and the client are the testees that
outside peers (the Autobahn cases, Node's ``ws``, browsers) judge, so the I/O
glue stays thin: which frames are legal, how close payloads look and when a
connection must fail are all the codec's decisions. ``Endpoint`` only routes
events: messages go to the role (``_echo_server``, ``_echo_client``), a ping
is answered with a pong, a close with a close, and a ``ProtocolError`` fails
the connection with its close code. With permessage-deflate negotiated
(RFC 7692) the reader inflates and data messages go out compressed, both
through the backend's ``PerMessageDeflate``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import types
from typing import Any, List, Optional, Union

from . import _backend
from ._errors import ProtocolError
from ._extensions import DeflateParams

log = logging.getLogger("wsfast.echo")

#: Largest message the echo server assembles: the Autobahn 9.x cases send
#: messages of up to 16 MiB, and a limit is still needed so a peer cannot make
#: the server buffer without bound.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 2**20

#: Seconds a peer gets to finish its opening handshake.
HANDSHAKE_TIMEOUT = 10.0
#: Seconds a client holds back its answer to a close frame or a rule break
#: while the application has not read the messages that came before it.
DEFER_LIMIT = 0.5
#: Seconds the server keeps reading after its FIN, waiting for the peer's.
LINGER_TIMEOUT = 2.0
#: Seconds the client waits for the server to drop TCP after the closing
#: handshake (RFC 6455 §7.1.1: the server closes the TCP connection first).
CLOSE_TIMEOUT = 5.0

#: With permessage-deflate on, every data message goes out compressed, short
#: ones too: a testee that answers a compressed message with an uncompressed
#: one is legal (RFC 7692 §6) but not what Autobahn's 12.x/13.x cases
#: ("send compressed messages") check, and it puts every size through the
#: compressor.
COMPRESS_THRESHOLD = 0

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CONNECTING, OPEN, CLOSING, CLOSED = range(4)

Data = Union[str, bytes]


def shorten(data: Any, limit: int = 60) -> str:
    """A message for a log line: its kind, size and a cut-off repr."""
    kind = "text" if isinstance(data, str) else "binary"
    unit = "chars" if isinstance(data, str) else "bytes"
    shown = repr(data[:limit]) + ("..." if len(data) > limit else "")
    return f"{kind} {shown} ({len(data)} {unit})"


def close_payload(api: types.SimpleNamespace, code: int, reason: str) -> bytes:
    """A close payload for ``code``; 1005 (no code received) gives an empty one."""
    if code == 1005:
        return bytes(api.encode_close())
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:
        reason = encoded[:123].decode("utf-8", "ignore")
    return bytes(api.encode_close(code, reason))


def peer_name(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class Endpoint(asyncio.Protocol):
    """What both ends share once the handshake is done: feeding the reader,
    routing its events, and the closing handshake (RFC 6455 §7)."""

    is_client = False

    def __init__(self, api: types.SimpleNamespace, max_message_size: Optional[int]) -> None:
        self.api = api
        self.max_message_size = max_message_size
        self.transport: Optional[asyncio.Transport] = None
        self.peer = "?"
        self.state = CONNECTING
        self.reader: Any = None
        #: The negotiated permessage-deflate parameters and the codec holding
        #: both directions' compression state; None without the extension.
        self.deflate: Optional[DeflateParams] = None
        self.codec: Any = None
        #: The close code and reason the peer sent, 1006 if none arrived.
        self.close_code = 1006
        self.close_reason = ""
        #: The close code this end sent, if any.
        self.sent_close_code: Optional[int] = None
        self.closed = asyncio.get_running_loop().create_future()
        #: Set once the stream has ended (a close frame or a break) while
        #: the closing action is still held back; input is ignored from then.
        self._stopped = False
        self._messages = api.Message
        self._pings = api.Ping
        self._pongs = api.Pong

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = peer_name(transport)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.state = CLOSED
        if self.reader is not None:
            clean = self.close_code != 1006
            log.info(
                "disconnected %s: code %d%s%s",
                self.peer,
                self.close_code,
                f" reason {self.close_reason!r}" if self.close_reason else "",
                "" if clean else f" (abnormal: {exc or 'no close frame'})",
            )
        if not self.closed.done():
            self.closed.set_result((self.close_code, self.close_reason))

    def eof_received(self) -> Optional[bool]:
        return False

    # -- after the handshake

    def _open(self, rest: bytes, deflate: Optional[DeflateParams] = None) -> None:
        """The handshake is over: read frames, compressed ones too when
        permessage-deflate was negotiated with ``deflate``."""
        if deflate is not None:
            self.deflate = deflate
            self.codec = self.api.PerMessageDeflate(
                client=self.is_client, threshold=COMPRESS_THRESHOLD, **deflate.as_dict()
            )
        self.reader = self.api.MessageReader(
            client=self.is_client, max_message_size=self.max_message_size, deflate=self.codec
        )
        self.state = OPEN
        if rest:
            self._feed(rest)

    def _feed(self, data: bytes) -> None:
        if self.state >= CLOSED or self._stopped:
            # Closed or failed: the peer's remaining bytes mean nothing now.
            return
        try:
            events = self.reader.feed(data)
        except ProtocolError as exc:
            # What the stream completed before the break still gets its answer.
            if self._dispatch(exc.events):
                self._fail(exc.close_code, exc.reason)
            return
        if events:
            self._dispatch(events)

    def _dispatch(self, events: List[Any]) -> bool:
        """Act on each event in order; False once a close frame ends the stream."""
        for event in events:
            kind = type(event)
            if kind is self._messages:
                self.on_message(event.data)
            elif kind is self._pings:
                if self.state == OPEN:
                    self._send(OP_PONG, event.payload)
            elif kind is self._pongs:
                self.on_pong(event.payload)
            else:
                self._close_received(event.code, event.reason)
                return False
        return True

    def _send(self, opcode: int, payload: Any, fin: bool = True) -> None:
        assert self.transport is not None
        self.transport.write(
            self.api.encode_frame(opcode, payload, fin=fin, mask=True if self.is_client else None)
        )

    def _send_message(self, opcode: int, payload: Any) -> None:
        """A whole data message, compressed when the extension is on."""
        if self.codec is None:
            self._send(opcode, payload)
            return
        assert self.transport is not None
        self.transport.write(self.codec.encode(opcode, payload, mask=True if self.is_client else None))

    def _send_close(self, code: int, reason: str) -> None:
        self._send(OP_CLOSE, close_payload(self.api, code, reason))
        self.sent_close_code = code

    def _close_received(self, code: int, reason: str) -> None:
        self.close_code = code
        self.close_reason = reason
        if self.state == OPEN:
            # Echo the code, as RFC 6455 §5.5.1 suggests; an empty close
            # (1005) is answered with an empty one.
            self._send_close(code, reason)
        self.state = CLOSED
        self._drop()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7) with the codec's close code."""
        log.info("failing %s: %s (close code %d)", self.peer, reason, code)
        if self.state == OPEN:
            try:
                self._send_close(code, reason)
            except ValueError:
                self._send_close(1002, "protocol error")
        self.state = CLOSED
        self._drop()

    def _drop(self) -> None:
        """End TCP once the closing handshake is over or the connection failed."""
        assert self.transport is not None
        transport = self.transport
        loop = asyncio.get_running_loop()
        if self.is_client:
            # A client leaves closing TCP to the server (RFC 6455 §7.1.1)
            # but does not wait for it forever.
            loop.call_later(CLOSE_TIMEOUT, transport.close)
            return
        if not transport.can_write_eof():
            transport.close()
            return
        # A lingering close: a FIN after the close frame, then read (and
        # discard) until the peer's FIN. Closing a socket that still has
        # unread input sends an RST instead, and an RST can make the peer's
        # TCP stack drop our close frame before its application reads it, as
        # when a peer is failed in the middle of a large frame.
        transport.write_eof()
        transport.resume_reading()
        loop.call_later(LINGER_TIMEOUT, transport.close)

    # -- what each role does with events

    def on_message(self, data: Data) -> None:
        raise NotImplementedError

    def on_pong(self, payload: bytes) -> None:
        pass




def load_api(implementation: Optional[str]) -> types.SimpleNamespace:
    return _backend.select() if implementation is None else _backend.load(implementation)


def add_codec_options(parser: argparse.ArgumentParser) -> None:
    """The codec options the ``echo`` and ``client`` commands share."""
    parser.add_argument(
        "--implementation",
        choices=_backend.IMPLEMENTATIONS,
        default=None,
        help="codec backend (default: the one the package selected)",
    )
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        help="largest message accepted, in bytes (default: %(default)s)",
    )
