"""Argument handling shared by the pure-Python modules."""

from __future__ import annotations

from typing import Any

__all__ = ["as_bytes"]


def as_bytes(data: Any, what: str = "data") -> bytes:
    """``data`` as bytes: any bytes-like object, non-contiguous included.

    ``str`` and ``None`` are refused with ``TypeError`` (a text payload must
    be encoded on purpose), as is anything without the buffer protocol.
    """
    if type(data) is bytes:
        return data
    if isinstance(data, bytes):
        # A subclass becomes plain bytes, so that the compiled codec (whose
        # ``bytes`` variables take that exact type) reads it like the pure one.
        # Through the buffer, not bytes(): a subclass may redefine __bytes__.
        return memoryview(data).tobytes()
    if isinstance(data, str) or data is None:
        raise TypeError(f"{what} must be a bytes-like object, not {type(data).__name__}")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(data).__name__}") from None
    return view.tobytes()
