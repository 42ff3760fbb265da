"""What adapters need when they replace a host method by a copy of it with
one thing changed.

A copy is only right for the source it was made from: adapters compare the
host method's source with the digests they know (``source_digest``) before
they put a copy in place, and leave the host's method otherwise. The one
thing changed is usually the text decoding (``text_decoder``).
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from typing import Any, Callable, Optional

# Below this many bytes bytes.decode() is as fast (on pure ASCII a few ns
# faster): wsfast's decoder is not worth the switch.
SHORT_TEXT = 64


def source_digest(function: Callable[..., Any]) -> Optional[str]:
    """sha256 of a function's dedented source, None where it is not on disk."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(textwrap.dedent(source).encode()).hexdigest()


def text_decoder(decode_utf8: Callable[[bytes, int, int], Optional[str]]) -> Callable[[bytes], str]:
    """``data.decode("utf-8")`` by wsfast's decoder (``decode_utf8`` of the
    backend in use) for ``bytes`` of ``SHORT_TEXT`` bytes and more. Invalid
    UTF-8 goes to ``data.decode``, so the ``UnicodeDecodeError`` is
    CPython's own; so does anything else (a ``bytearray``, short text)."""

    def decode(data: bytes) -> str:
        n = len(data)
        if n >= SHORT_TEXT and type(data) is bytes:
            text = decode_utf8(data, 0, n)
            if text is not None:
                return text
        return data.decode("utf-8")

    return decode
