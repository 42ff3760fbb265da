"""tornado: masking of WebSocket frames.

Replaced: ``tornado.util._websocket_mask(mask, data) -> bytes`` and the name
bound to it by ``from tornado.util import _websocket_mask`` in
``tornado.websocket`` and ``tornado.web`` (the latter masks XSRF tokens with
it). wsfast's ``apply_mask`` computes the same XOR with SIMD kernels; only the
argument order differs, so the replacement swaps it back. tornado passes
``bytes`` for both arguments and a 4-byte key; a key of another length is a
``ValueError`` in both, as in tornado's C speedup.

Tested on tornado 6.4 to 6.6.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

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
    return [
        (tornado.util, "_websocket_mask", mask),
        (tornado.websocket, "_websocket_mask", mask),
        (tornado.web, "_websocket_mask", mask),
    ]
