"""Object helpers for the frame codec, pure Python (twin: _objects_c.pyx)."""

from typing import TypeVar

T = TypeVar("T")


def untracked(obj: T) -> T:
    """``obj`` itself: only the compiled build has GC tracking to drop."""
    return obj
