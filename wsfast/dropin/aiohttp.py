"""aiohttp: masking, the WebSocket reader and the writer's frame building.

Replaced, in every module that binds them:

- ``websocket_mask(mask, data)`` (in place on a bytearray, arguments
  reversed) where it is called, in the writer and aiohttp's pure reader:
  wsfast's SIMD kernel, with aiohttp's argument types and checks.
  ``aiohttp._websocket.helpers.websocket_mask`` itself stays aiohttp's: its
  identity with the compiled ``_websocket_mask_cython`` is what aiohttp's
  own tests check to know its build is complete.
- ``WebSocketReader`` and ``WebSocketDataQueue``: wsfast's compiled
  ``wsfast._aiohttp_c`` (source ``wsfast/_aiohttp_py.py``). It is aiohttp's
  state machine step for step (so the same messages, errors, limits, close
  codes and stalls for every byte stream), with the payload unmasked out of
  the received bytes and text decoded by wsfast's kernels. The queue comes
  along because aiohttp's compiled reader and queue only work with each
  other. ``web_ws`` and ``client`` build both through the names replaced
  here; with permessage-deflate negotiated, messages are inflated by
  aiohttp's own decompressor, called exactly as aiohttp calls it.
- ``WebSocketWriter._write_websocket_frame``: the header and the masked
  payload built in one allocation; the same bytes (key drawn from the
  writer's own random source) in the same ``transport.write`` calls.
  Anything but ``bytes`` goes to aiohttp's own method.

Safe because the replacements answer every input as aiohttp does: the
differential tests in tests/test_dropin_aiohttp.py feed the same streams to
both, and aiohttp's own WebSocket tests pass patched (tests/hosts/).

Tested on aiohttp 3.14.5 (the state machine follows 3.14's reader, hence the
upper bound).
"""

from __future__ import annotations

import importlib
from typing import Any, List, Tuple

NAME = "aiohttp"
DISTRIBUTION = "aiohttp"
IMPORT = "aiohttp"
TESTED = ("3.14", "3.15")

# Modules that bind each replaced name at import time.
_MASK_HOLDERS = (
    "aiohttp._websocket.writer",
    "aiohttp._websocket.reader_py",
)
_READER_HOLDERS = (
    "aiohttp._websocket.reader",
    "aiohttp.http_websocket",
    "aiohttp.http",
    "aiohttp.web_ws",
    "aiohttp.web_protocol",
    "aiohttp.client",
    "aiohttp.client_ws",
)
_QUEUE_HOLDERS = (
    "aiohttp._websocket.reader",
    "aiohttp.web_ws",
    "aiohttp.client",
    "aiohttp.client_ws",
)


def glue(api: Any) -> Any:
    """The reader module that goes with a wsfast backend: compiled with the
    compiled one, its pure twin with the pure one."""
    if api.IMPLEMENTATION == "cython":
        return importlib.import_module("wsfast._aiohttp_c")
    return importlib.import_module("wsfast._aiohttp_py")


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    import aiohttp._websocket.writer

    module = glue(api)
    result: List[Tuple[Any, str, Any]] = []
    for holder in _MASK_HOLDERS:
        result.append((importlib.import_module(holder), "websocket_mask", module.websocket_mask))
    for holder in _READER_HOLDERS:
        owner = importlib.import_module(holder)
        if hasattr(owner, "WebSocketReader"):
            result.append((owner, "WebSocketReader", module.WebSocketReader))
    for holder in _QUEUE_HOLDERS:
        owner = importlib.import_module(holder)
        if hasattr(owner, "WebSocketDataQueue"):
            result.append((owner, "WebSocketDataQueue", module.WebSocketDataQueue))
    result.append(
        (aiohttp._websocket.writer.WebSocketWriter, "_write_websocket_frame", module.write_websocket_frame)
    )
    return result
