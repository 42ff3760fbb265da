"""tornado: masking of WebSocket frames, and the decoding of text messages.

Replaced: ``tornado.util._websocket_mask(mask, data) -> bytes`` and the name
bound to it by ``from tornado.util import _websocket_mask`` in
``tornado.websocket`` and ``tornado.web`` (the latter masks XSRF tokens with
it). wsfast's ``apply_mask`` computes the same XOR with SIMD kernels; only the
argument order differs, so the replacement swaps it back. tornado passes
``bytes`` for both arguments and a 4-byte key; a key of another length is a
``ValueError`` in both, as in tornado's C speedup.

Replaced too: ``WebSocketProtocol13._handle_message``, by the same method
with the text decoded by wsfast's UTF-8 decoder (``_tornado_messages``: 2-6x
faster than ``bytes.decode`` on text that is not pure ASCII; invalid UTF-8
still aborts the connection as tornado does), only where tornado's method
has the source it was copied from. Frame reading (``_receive_frame``)
stays tornado's.

Tested on tornado 6.4 to 6.6.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, List, Tuple

from . import _tornado_messages
from ._copies import source_digest, text_decoder

NAME = "tornado"
DISTRIBUTION = "tornado"
IMPORT = "tornado"
TESTED = ("6.4", "6.7")


def _mask_function(api: Any) -> Callable[[bytes, bytes], bytes]:
    apply_mask = api.apply_mask

    def websocket_mask(mask: bytes, data: bytes) -> bytes:
        masked: bytes = apply_mask(data, mask)
        return masked

    websocket_mask.__doc__ = "tornado's _websocket_mask(mask, data), computed by wsfast"
    return websocket_mask


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    import tornado.util
    import tornado.web
    import tornado.websocket

    mask = _mask_function(api)
    found: List[Tuple[Any, str, Any]] = [
        (tornado.util, "_websocket_mask", mask),
        (tornado.websocket, "_websocket_mask", mask),
        (tornado.web, "_websocket_mask", mask),
    ]
    cls = tornado.websocket.WebSocketProtocol13
    if source_digest(cls._handle_message) in _tornado_messages.SOURCES:
        utf8 = importlib.import_module("wsfast._utf8_c" if api.IMPLEMENTATION == "cython" else "wsfast._utf8_py")
        handle_message = _tornado_messages.build(tornado.websocket, text_decoder(utf8.decode_utf8))
        handle_message.__doc__ = cls._handle_message.__doc__
        handle_message.__qualname__ = "WebSocketProtocol13._handle_message"
        found.append((cls, "_handle_message", handle_message))
    return found
