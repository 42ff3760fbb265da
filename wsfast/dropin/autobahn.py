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

``WebSocketProtocol.processData`` and ``consumeData``
    autobahn's own frame reader, step for step, but reading from an offset
    into the buffer instead of cutting a copy of the rest off it twice per
    frame (``_autobahn_frames``): a read of many small frames is no longer
    copied once per frame. The same checks, texts, callbacks and
    ``self.data`` once the read is handled. Only where autobahn's methods
    have the source the copies were made from.

``XorMaskerNull`` stays: it returns its input and counts, there is
nothing to speed up.

Tested on autobahn 25.x and 26.x, with NVX (``AUTOBAHN_USE_NVX=1``) and
without (``AUTOBAHN_USE_NVX=0``).
"""

from __future__ import annotations

import importlib
from typing import Any, List, Optional, Tuple

from . import _autobahn_frames
from ._copies import source_digest

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
    found = [
        (protocol, "create_xor_masker", _masker_factory(api, protocol.create_xor_masker)),
        (protocol, "Utf8Validator", api.Utf8Validator),
    ]
    cls = protocol.WebSocketProtocol
    if all(source_digest(getattr(cls, name)) in _autobahn_frames.SOURCES[name] for name in _autobahn_frames.SOURCES):
        process_data, consume_data = _autobahn_frames.build(protocol, cls.consumeData)
        for function, name in ((process_data, "processData"), (consume_data, "consumeData")):
            function.__doc__ = getattr(cls, name).__doc__
            function.__qualname__ = f"WebSocketProtocol.{name}"
            found.append((cls, name, function))
    return found
