"""autobahn's frame reader without its quadratic buffer.

``WebSocketProtocol.processData`` reads one frame header or one frame's
payload from ``self.data`` and then cuts what it read off the front,
``self.data = self.data[n:]``: a copy of everything still buffered, twice
per frame. A 64 KiB read holding a thousand small frames is copied two
thousand times over, and that copying, not the parsing, is most of what
autobahn spends on small frames.

``process_data`` is that method statement for statement (autobahn 26.11),
the same checks in the same order, the same ``_protocol_violation``
texts, the same ``FrameHeader``, masker and ``onFrameBegin`` /
``onFrameData`` / ``onFrameEnd`` calls with the same arguments, but it
reads from an offset (``self._wsfast_pos``) instead of cutting.
``consume_data`` is ``consumeData``, which calls it in a loop, and cuts the
buffer once when the loop ends. So between two reads from the network
``self.data`` holds exactly what autobahn leaves there; only a callback
that reads ``self.data`` while frames are being delivered would see the
frames already read still in front.

The adapter puts these in place only where autobahn's methods have the
source they were copied from (``SOURCES``).
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Tuple

SOURCES = {
    "processData": {"3ac2ab517b34f9a9b6187ad51f9958b9c4e3e519cc4c8e72752c281e90f9fae2"},  # 26.11.1
    "consumeData": {"d6dd254ab065a259b23b1c3889465d40c2c3d276d4eb0c4c39c19cf6ca496152"},  # 26.11.1
}

_unpack_H = struct.Struct("!H").unpack_from
_unpack_Q = struct.Struct("!Q").unpack_from


def build(module: Any, host_consume: Callable[[Any], None]) -> Tuple[Callable[[Any], bool], Callable[[Any], None]]:
    """``(processData, consumeData)`` for ``autobahn.websocket.protocol``
    (``module``), whose globals (``create_xor_masker`` and the rest) they
    look up at each call, as autobahn's methods do."""
    WebSocketProtocol = module.WebSocketProtocol
    OPEN = WebSocketProtocol.STATE_OPEN
    CLOSING = WebSocketProtocol.STATE_CLOSING
    CLOSED = WebSocketProtocol.STATE_CLOSED

    def left(self: Any) -> int:
        n: int = len(self.data) - self._wsfast_pos
        return n

    def process_data(self: Any) -> bool:
        data = self.data
        pos = self.__dict__.get("_wsfast_pos", 0)
        buffered_len = len(data) - pos

        if self.current_frame is None:
            if buffered_len < 2:
                return False  # need more data
            b = data[pos]
            frame_fin = (b & 0x80) != 0
            frame_rsv = (b & 0x70) >> 4
            frame_opcode = b & 0x0F
            b = data[pos + 1]
            frame_masked = (b & 0x80) != 0
            frame_payload_len1 = b & 0x7F

            if frame_rsv != 0:
                if self._perMessageCompress is not None and frame_rsv == 4:
                    pass
                else:
                    if self._protocol_violation(f"RSV = {frame_rsv} and no extension negotiated"):
                        return False
            if self.factory.isServer and self.requireMaskedClientFrames and not frame_masked:
                if self._protocol_violation("unmasked client-to-server frame"):
                    return False
            if not self.factory.isServer and not self.acceptMaskedServerFrames and frame_masked:
                if self._protocol_violation("masked server-to-client frame"):
                    return False

            if frame_opcode > 7:
                if not frame_fin:
                    if self._protocol_violation("fragmented control frame"):
                        return False
                if frame_payload_len1 > 125:
                    if self._protocol_violation("control frame with payload length > 125 octets"):
                        return False
                if frame_opcode not in [8, 9, 10]:
                    if self._protocol_violation(f"control frame using reserved opcode {frame_opcode}"):
                        return False
                if frame_opcode == 8 and frame_payload_len1 == 1:
                    if self._protocol_violation("received close control frame with payload len 1"):
                        return False
                if self._perMessageCompress is not None and frame_rsv == 4:
                    if self._protocol_violation(
                        f"received compressed control frame [{self._perMessageCompress.EXTENSION_NAME}]"
                    ):
                        return False
            else:
                if frame_opcode not in [0, 1, 2]:
                    if self._protocol_violation(f"data frame using reserved opcode {frame_opcode}"):
                        return False
                if not self.inside_message and frame_opcode == 0:
                    if self._protocol_violation("received continuation data frame outside fragmented message"):
                        return False
                if self.inside_message and frame_opcode != 0:
                    if self._protocol_violation("received non-continuation data frame while inside fragmented message"):
                        return False
                if self._perMessageCompress is not None and frame_rsv == 4 and self.inside_message:
                    if self._protocol_violation(
                        "received continuation data frame with compress bit set "
                        f"[{self._perMessageCompress.EXTENSION_NAME}]"
                    ):
                        return False

            mask_len = 4 if frame_masked else 0
            if frame_payload_len1 < 126:
                frame_header_len = 2 + mask_len
            elif frame_payload_len1 == 126:
                frame_header_len = 2 + 2 + mask_len
            else:
                frame_header_len = 2 + 8 + mask_len

            if buffered_len < frame_header_len:
                return False  # need more data
            i = 2
            if frame_payload_len1 == 126:
                frame_payload_len = _unpack_H(data, pos + i)[0]
                if frame_payload_len < 126:
                    if self._protocol_violation("invalid data frame length (not using minimal length encoding)"):
                        return False
                i += 2
            elif frame_payload_len1 == 127:
                frame_payload_len = _unpack_Q(data, pos + i)[0]
                if frame_payload_len > 0x7FFFFFFFFFFFFFFF:
                    if self._protocol_violation("invalid data frame length (>2^63)"):
                        return False
                if frame_payload_len < 65536:
                    if self._protocol_violation("invalid data frame length (not using minimal length encoding)"):
                        return False
                i += 8
            else:
                frame_payload_len = frame_payload_len1

            frame_mask = None
            if frame_masked:
                frame_mask = data[pos + i : pos + i + 4]
                i += 4

            if frame_masked and frame_payload_len > 0 and self.applyMask:
                self.current_frame_masker = module.create_xor_masker(frame_mask, frame_payload_len)
            else:
                self.current_frame_masker = module.XorMaskerNull()

            self._wsfast_pos = pos + i
            self.current_frame = module.FrameHeader(
                frame_opcode, frame_fin, frame_rsv, frame_payload_len, frame_mask
            )
            self.onFrameBegin()
            return frame_payload_len == 0 or left(self) > 0

        rest = self.current_frame.length - self.current_frame_masker.pointer()
        if buffered_len >= rest:
            payload_data = data[pos : pos + rest]
            length = rest
            self._wsfast_pos = pos + rest
        else:
            payload_data = data[pos:]
            length = buffered_len
            self._wsfast_pos = len(data)
        if length > 0:
            payload = self.current_frame_masker.process(payload_data)
        else:
            payload = b""
        fr = self.onFrameData(payload)
        if fr is False:
            return False
        if self.current_frame_masker.pointer() == self.current_frame.length:
            fr = self.onFrameEnd()
            if fr is False:
                return False
        return left(self) > 0

    def consume_data(self: Any) -> None:
        if self.state == OPEN or self.state == CLOSING:
            try:
                while self.processData() and self.state != CLOSED:
                    pass
            finally:
                pos = self.__dict__.get("_wsfast_pos", 0)
                if pos:
                    self.data = self.data[pos:]
                    self._wsfast_pos = 0
        else:
            host_consume(self)

    return process_data, consume_data
