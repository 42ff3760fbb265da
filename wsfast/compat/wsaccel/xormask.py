"""wsaccel.xormask on wsfast: the stateful XOR masks of WebSocket payloads.

The same classes, arguments, results and errors as wsaccel's: a key that is
not 4 bytes is ``ValueError("mask should be 4byte.")``, a key or payload
that is not bytes-like is ``TypeError``; ``process()`` returns new
``bytes`` and continues the key position across calls; ``pointer()`` is the
number of bytes processed since the last ``reset()``.
"""

from __future__ import annotations

from typing import Any, Optional

from ... import Masker

__all__ = ["XorMaskerNull", "XorMaskerSimple", "createXorMasker"]


class XorMaskerSimple:
    """XOR with a 4-byte key, continuing the key position across calls."""

    __slots__ = ("_masker", "_ptr")

    def __init__(self, mask: Any) -> None:
        if mask is None:
            raise ValueError("mask should be 4byte.")
        try:
            view = memoryview(mask)
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(mask).__name__}'") from None
        if view.nbytes != 4:
            raise ValueError("mask should be 4byte.")
        self._masker = Masker(view.tobytes())
        self._ptr = 0

    def pointer(self) -> int:
        return self._ptr

    def reset(self) -> None:
        self._masker.reset()
        self._ptr = 0

    def process(self, data: Any) -> bytes:
        if data is None:  # wsaccel: nothing to mask
            return b""
        try:
            result: bytes = self._masker.process(data)
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None
        self._ptr += len(result)
        return result


class XorMaskerNull:
    """No masking: ``process()`` returns its argument itself and counts it."""

    __slots__ = ("_ptr",)

    def __init__(self, mask: Any = None) -> None:
        self._ptr = 0

    def pointer(self) -> int:
        return self._ptr

    def reset(self) -> None:
        self._ptr = 0

    def process(self, data: Any) -> Any:
        self._ptr += len(data)
        return data


def createXorMasker(mask: Any, len: Optional[int] = None) -> XorMaskerSimple:
    """A masker for ``mask``; ``len`` (the payload length) is accepted and,
    as in wsaccel, changes nothing."""
    return XorMaskerSimple(mask)
