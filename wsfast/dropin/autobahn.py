"""autobahn: masking and UTF-8 validation of WebSocket frames.

Replaced, as the names ``autobahn.websocket.protocol`` looks up per frame:

``create_xor_masker(mask, length)``
    autobahn's NVX masker (CFFI: a fresh C buffer, a memmove, the XOR and a
    copy back per call) or its pure-Python byte loop becomes a small object
    on ``apply_mask``: the same stateful XOR (the key position carries
    across ``process()`` calls), with ``pointer()`` and ``reset()`` as
    autobahn calls them. A key that is not 4 bytes (or not bytes) goes to
    the original, which refuses it as before.
``Utf8Validator``
    NVX's (or the pure DFA) incremental validator becomes wsfast's, which
    returns the same ``(valid, ends_on_codepoint, current_index,
    total_index)`` with both indexes at the first invalid byte, on the
    chunk that makes the stream invalid. What autobahn does with it (fail
    the connection with 1007, check that a message and a close reason end
    on a code point) is unchanged. After a failure autobahn drops the
    connection and never asks the validator again, so the validators'
    differing answers to chunks fed after a failure do not matter.

``XorMaskerNull`` stays: it returns its input and counts, there is
nothing to speed up. Frame parsing (``processData``) stays autobahn's.

Tested on autobahn 25.x and 26.x, with NVX (``AUTOBAHN_USE_NVX=1``) and
without (``AUTOBAHN_USE_NVX=0``).
"""

from __future__ import annotations

import importlib
from typing import Any, List, Optional, Tuple

NAME = "autobahn"
DISTRIBUTION = "autobahn"
IMPORT = "autobahn"
TESTED = ("25.0", "27.0")


def _masker_factory(api: Any, original: Any) -> Any:
    apply_mask = api.apply_mask

    class XorMasker:
        """autobahn's masker interface on ``apply_mask``: the key position
        is the number of bytes processed so far (``pointer()``), modulo 4."""

        __slots__ = ("_mask", "_ptr")

        def __init__(self, mask: Any) -> None:
            self._mask = mask
            self._ptr = 0

        def pointer(self) -> int:
            return self._ptr

        def reset(self) -> None:
            self._ptr = 0

        def process(self, data: Any) -> Any:
            result = apply_mask(data, self._mask, self._ptr & 3)
            self._ptr += len(data)
            return result

    def create_xor_masker(mask: Any, length: Optional[int] = None) -> Any:
        if not isinstance(mask, (bytes, bytearray)) or len(mask) != 4:
            return original(mask, length)
        return XorMasker(bytes(mask))

    create_xor_masker.__doc__ = original.__doc__
    return create_xor_masker


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    protocol: Any = importlib.import_module("autobahn.websocket.protocol")

    return [
        (protocol, "create_xor_masker", _masker_factory(api, protocol.create_xor_masker)),
        (protocol, "Utf8Validator", api.Utf8Validator),
    ]
