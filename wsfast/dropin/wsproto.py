"""wsproto: frame reading, text decoding, masking and frame building.

Replaced:

- ``FrameProtocol.receive_bytes`` / ``received_frames`` and
  ``Connection.events``: for a connection without extensions, the bytes go
  to one ``Reader`` (``_wsproto_c``, compiled; ``_wsproto_py`` its pure
  twin) that parses them into the very ``Frame`` tuples and events wsproto
  makes: the same classes, flags, splitting of partly received frames into
  pieces, ``ParseFailed`` messages and close codes, raised at the same point
  of the stream. wsproto's own state on that ``FrameProtocol`` stays unused.
- ``FrameProtocol._serialize_frame``: the same header bytes, the payload
  masked by wsfast's ``apply_mask`` with wsproto's key (``os.urandom(4)``,
  looked up at each call as wsproto does), one copy fewer.
- ``XorMaskerSimple.process``: the same stateful XOR, by ``apply_mask``
  with an offset, key rotation kept in the same attribute.

Safe because: a connection that negotiated an extension (permessage-deflate)
keeps wsproto's code entirely, as does one whose ``FrameProtocol`` already
holds state from before the patch; everything else is decided from the
bytes exactly as wsproto decides (the differential tests feed the same
streams, valid, split at random and broken, to the patched and unpatched
library and compare every event and exception).

Tested on wsproto 1.3.2 (its own test suite, patched; the differential tests).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, List, Tuple

NAME = "wsproto"
DISTRIBUTION = "wsproto"
IMPORT = "wsproto"
TESTED = ("1.3.2", "1.4")


def _reader_module(api: Any) -> Any:
    suffix = "_c" if api.IMPLEMENTATION == "cython" else "_py"
    return importlib.import_module(f"{__package__}._wsproto{suffix}")


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    import wsproto.connection
    import wsproto.events
    import wsproto.frame_protocol as fp

    module = _reader_module(api)
    apply_mask = api.apply_mask
    Reader = module.Reader
    MODE_FRAMES = module.FRAMES
    MODE_EVENTS = module.EVENTS
    frame_to_event = module.frame_to_event
    event_to_frame = module.event_to_frame
    FrameProtocol = fp.FrameProtocol
    Connection = wsproto.connection.Connection
    ConnectionState = wsproto.connection.ConnectionState
    CloseConnection = wsproto.events.CloseConnection
    TextMessage = wsproto.events.TextMessage
    BytesMessage = wsproto.events.BytesMessage
    Frame = fp.Frame
    ParseFailed = fp.ParseFailed
    host_receive_bytes = FrameProtocol.receive_bytes
    host_received_frames = FrameProtocol.received_frames
    host_serialize = FrameProtocol._serialize_frame
    host_events = Connection.events
    host_process = fp.XorMaskerSimple.process

    def reader_of(proto: Any) -> Any:
        """The connection's Reader, or None where wsproto's code stays."""
        try:
            return proto.__dict__["_wsfast_reader"]
        except KeyError:
            pass
        decoder = proto._frame_decoder
        fresh = (
            not proto.extensions
            and decoder.header is None
            and not len(decoder.buffer)
            and proto._message_decoder.opcode is None
            and proto._parse_more.gi_frame is not None
        )
        reader = Reader(proto.client, apply_mask) if fresh else None
        proto.__dict__["_wsfast_reader"] = reader
        return reader

    def receive_bytes(self: Any, data: bytes) -> None:
        reader = reader_of(self)
        if reader is None:
            host_receive_bytes(self, data)
        else:
            reader.feed(data)

    def received_frames(self: Any) -> Any:
        reader = reader_of(self)
        if reader is None:
            yield from host_received_frames(self)
            return
        pending = reader.pending
        while pending or reader.parse(MODE_FRAMES):
            item = pending.popleft()
            if type(item) is not Frame:
                item = event_to_frame(item)
            yield item

    def events(self: Any) -> Any:
        reader = reader_of(self._proto)
        if reader is None:
            yield from host_events(self)
            return
        queued = self._events
        while queued:
            yield queued.popleft()
        pending = reader.pending
        try:
            while pending or reader.parse(MODE_EVENTS):
                event = pending.popleft()
                kind = type(event)
                if kind is not TextMessage and kind is not BytesMessage:
                    if kind is Frame:
                        event = frame_to_event(event)
                        kind = type(event)
                    if kind is CloseConnection:
                        if self._state is ConnectionState.LOCAL_CLOSING:
                            self._state = ConnectionState.CLOSED
                        else:
                            self._state = ConnectionState.REMOTE_CLOSING
                yield event
        except ParseFailed as exc:
            yield CloseConnection(code=exc.code, reason=str(exc))

    def _serialize_frame(self: Any, opcode: Any, payload: Any = b"", fin: bool = True) -> bytearray:
        if self.extensions:
            return host_serialize(self, opcode, payload, fin)
        if type(payload) is not bytes:
            payload = bytearray(payload)  # what wsproto accepts, and its errors
        length = len(payload)
        client = self.client
        first = (int(fin) << 7) | int(opcode)
        if length <= 125:
            frame = bytearray((first, length | 0x80 if client else length))
        else:
            if opcode.iscontrol():
                raise ValueError("payload too long for control frame")
            if length <= 0xFFFF:
                frame = bytearray((first, 0xFE if client else 126, length >> 8, length & 0xFF))
            else:
                frame = bytearray((first, 0xFF if client else 127))
                frame += length.to_bytes(8, "big")
        if client:
            key = os.urandom(4)  # wsproto's os.urandom, mocked or not
            frame += key
            masked: bytes = apply_mask(payload, key)
            frame += masked
        else:
            frame += payload
        return frame

    def process(self: Any, data: Any) -> bytearray:
        key = self._masking_key
        if len(key) != 4 or type(data) not in (bytes, bytearray, memoryview):
            result: bytearray = host_process(self, data)  # wsproto's results and errors for the odd cases
            return result
        result = bytearray(apply_mask(data, key))
        rotation = len(result) % 4
        if rotation:
            self._masking_key = key[rotation:] + key[:rotation]
        return result

    for function, name in (
        (receive_bytes, "receive_bytes"),
        (received_frames, "received_frames"),
        (events, "events"),
        (_serialize_frame, "_serialize_frame"),
        (process, "process"),
    ):
        function.__doc__ = f"wsproto's {name}, computed by wsfast (see wsfast.dropin.wsproto)"
        function.__qualname__ = name

    return [
        (fp.XorMaskerSimple, "process", process),
        (FrameProtocol, "receive_bytes", receive_bytes),
        (FrameProtocol, "received_frames", received_frames),
        (FrameProtocol, "_serialize_frame", _serialize_frame),
        (Connection, "events", events),
    ]

