"""tornado's message dispatch with wsfast's UTF-8 decoder.

``WebSocketProtocol13._handle_message`` decodes every text message with
``data.decode("utf-8")`` before ``on_message``. ``handle_message`` is that
method statement for statement (tornado 6.6.1) with the decoding done by
``_copies.text_decoder``: the same ``str``, and for invalid UTF-8 the same
``UnicodeDecodeError`` caught the same way (the connection aborted). The
adapter puts it in place only where tornado's method has the source it was
copied from (``SOURCES``).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

SOURCES = {"46b6f742edb6b8bf1ccefb2d675c7d5ebab3b5a163b6fb3d9e14a6973321c70d"}  # 6.6.1


def build(module: Any, decode_text: Callable[[bytes], str]) -> Callable[[Any, int, bytes], Optional[Any]]:
    """``_handle_message`` for ``tornado.websocket`` (``module``), whose
    globals it looks up at each call, as tornado's method does."""

    def handle_message(self: Any, opcode: int, data: bytes) -> Optional[Any]:
        if self.client_terminated:
            return None

        if self._frame_compressed:
            assert self._decompressor is not None
            try:
                data = self._decompressor.decompress(data)
            except module._DecompressTooLargeError:
                self.close(1009, "message too big after decompression")
                self._abort()
                return None

        if opcode == 0x1:
            self._message_bytes_in += len(data)
            try:
                decoded = decode_text(data)
            except UnicodeDecodeError:
                self._abort()
                return None
            return self._run_callback(self.handler.on_message, decoded)
        elif opcode == 0x2:
            self._message_bytes_in += len(data)
            return self._run_callback(self.handler.on_message, data)
        elif opcode == 0x8:
            self.client_terminated = True
            if len(data) >= 2:
                self.close_code = module.struct.unpack(">H", data[:2])[0]
            if len(data) > 2:
                self.close_reason = module.to_unicode(data[2:])
            self.close(self.close_code)
        elif opcode == 0x9:
            self._send_pong(data)
            self._run_callback(self.handler.on_ping, data)
        elif opcode == 0xA:
            self._received_pong = True
            return self._run_callback(self.handler.on_pong, data)
        else:
            self._abort()
        return None

    return handle_message
