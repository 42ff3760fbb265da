"""websockets: the receive loop of the Sans-I/O protocol, frame building and
masking.

Replaced:

- ``Protocol.parse``, the generator that ``receive_data()`` steps (the
  server and client protocols reach it through ``super().parse()`` once the
  handshake is read): frames that are complete in the buffer and that
  websockets would accept are read in one go (``_websockets_c``, compiled;
  ``_websockets_py`` its pure twin) and handed to websockets' own
  ``recv_frame()``; every other frame is read by websockets' own
  ``Frame.parse``, so its errors, close codes, limits and the bytes it
  consumes stay websockets'. Connections with an extension (permessage-deflate)
  or debug logging switch back to websockets' loop at the next frame.
- ``Frame.serialize``: the same bytes (minimal lengths, websockets' mask key
  from ``secrets.token_bytes``, looked up at each call as websockets does),
  without the ``BytesIO`` and ``struct`` round trip; with extensions, the
  original.
- ``websockets.frames.apply_mask``: wsfast's kernel (faster than websockets'
  SSE2 one from 16 bytes up); on a bad argument websockets' own function is
  called, so the exception and its message are websockets'.

- ``Assembler.get`` of the asyncio and threading layers (what ``recv()``
  returns): the same method (``_websockets_messages``), but a text message
  of 64 bytes or more is decoded by wsfast's vectorised UTF-8 decoder (2-6x
  faster than ``bytes.decode`` on text that is not pure ASCII); invalid
  UTF-8 goes to ``bytes.decode`` for websockets' own ``UnicodeDecodeError``.
  Put in place only where the host's method has exactly the source it was
  copied from; elsewhere websockets' method stays. Not replaced:
  ``get_iter`` (``recv_streaming``), which decodes frame by frame with
  ``codecs``' incremental decoder.

Tested on websockets 17.4 (the tests of its 17.0.1 repository tag, patched; the
differential tests).
"""

from __future__ import annotations

import importlib
from typing import Any, List, Tuple

from . import _websockets_messages

NAME = "websockets"
DISTRIBUTION = "websockets"
IMPORT = "websockets"
TESTED = ("17.4", "18")


def _parser_module(api: Any) -> Any:
    suffix = "_c" if api.IMPLEMENTATION == "cython" else "_py"
    return importlib.import_module(f"{__package__}._websockets{suffix}")


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    import websockets.exceptions
    import websockets.frames as frames
    import websockets.protocol as protocol

    module = _parser_module(api)
    utf8 = importlib.import_module("wsfast._utf8_c" if api.IMPLEMENTATION == "cython" else "wsfast._utf8_py")
    host_parse = protocol.Protocol.parse
    host_serialize = frames.Frame.serialize
    host_apply_mask = getattr(frames, "apply_mask")
    fast_mask = api.apply_mask
    module.bind((frames, protocol, websockets.exceptions), host_parse)
    parse = module.parse
    secrets = getattr(frames, "secrets")
    CTRL_OPCODES = frames.CTRL_OPCODES
    ProtocolError = websockets.exceptions.ProtocolError

    def apply_mask(data: Any, mask: Any) -> bytes:
        try:
            masked: bytes = fast_mask(data, mask)
        except (TypeError, ValueError):
            masked = host_apply_mask(data, mask)  # websockets' exception
        return masked

    def serialize(self: Any, *, mask: bool, extensions: Any = None) -> bytes:
        data = self.data
        if extensions or (type(data) is not bytes and type(data) is not bytearray):
            # Extensions, and memoryviews (websockets' own errors for the
            # non-contiguous ones): websockets' code.
            return host_serialize(self, mask=mask, extensions=extensions)
        # Frame.check()
        if self.rsv1 or self.rsv2 or self.rsv3:
            raise ProtocolError("reserved bits must be 0")
        length = len(data)
        opcode = self.opcode
        if opcode in CTRL_OPCODES:
            if length > 125:
                raise ProtocolError("control frame too long")
            if not self.fin:
                raise ProtocolError("fragmented control frame")
        first = (0x80 if self.fin else 0) | opcode
        flag = 0x80 if mask else 0
        if length < 126:
            header = bytes((first, flag | length))
        elif length < 65536:
            header = bytes((first, flag | 126, length >> 8, length & 0xFF))
        else:
            header = bytes((first, flag | 127)) + length.to_bytes(8, "big")
        if mask:
            key = secrets.token_bytes(4)
            return b"".join((header, key, fast_mask(data, key)))
        return b"".join((header, data))

    for function, name in ((apply_mask, "apply_mask"), (serialize, "serialize")):
        function.__doc__ = f"websockets' {name}, computed by wsfast (see wsfast.dropin.websockets)"
        function.__qualname__ = name

    return [
        (frames, "apply_mask", apply_mask),
        (frames.Frame, "serialize", serialize),
        (protocol.Protocol, "parse", parse),
    ] + _websockets_messages.replacements(utf8.decode_utf8)
