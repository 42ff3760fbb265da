"""Strict UTF-8 validation (RFC 3629, Unicode Table 3-7), pure Python.

CPython's decoder is strict in the same way and fast, but it cannot say where
a stream turns invalid: it holds ``ED A0`` waiting for a third byte, and
reports the start of a bad sequence rather than the byte that broke it. So the
decoder does the bulk work between code point boundaries, and a small DFA
finishes sequences split across chunks and pins down exact positions.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from ._buffers import as_bytes
from ._signature import class_signature

__all__ = ["validate_utf8", "Utf8Validator"]

ACCEPT = 0
REJECT = 1

# DFA states past ACCEPT/REJECT, named by what the next byte must be:
_NEED1 = 2  # one continuation byte 80..BF
_NEED2 = 3  # two continuation bytes
_E0 = 4  # A0..BF, then one more (no overlongs)
_ED = 5  # 80..9F, then one more (no surrogates)
_NEED3 = 6  # three continuation bytes
_F0 = 7  # 90..BF, then two more (no overlongs)
_F4 = 8  # 80..8F, then two more (nothing above U+10FFFF)


def _build_table() -> Tuple[bytes, ...]:
    rows = []
    start = bytearray([REJECT] * 256)
    for b in range(0x80):
        start[b] = ACCEPT
    for b in range(0xC2, 0xE0):
        start[b] = _NEED1
    start[0xE0] = _E0
    for b in list(range(0xE1, 0xED)) + [0xEE, 0xEF]:
        start[b] = _NEED2
    start[0xED] = _ED
    start[0xF0] = _F0
    for b in range(0xF1, 0xF4):
        start[b] = _NEED3
    start[0xF4] = _F4
    rows.append(bytes(start))  # ACCEPT
    rows.append(bytes([REJECT] * 256))  # REJECT
    follow = {
        _NEED1: (range(0x80, 0xC0), ACCEPT),
        _NEED2: (range(0x80, 0xC0), _NEED1),
        _E0: (range(0xA0, 0xC0), _NEED1),
        _ED: (range(0x80, 0xA0), _NEED1),
        _NEED3: (range(0x80, 0xC0), _NEED2),
        _F0: (range(0x90, 0xC0), _NEED2),
        _F4: (range(0x80, 0x90), _NEED2),
    }
    for state in range(2, 9):
        allowed, nxt = follow[state]
        row = bytearray([REJECT] * 256)
        for b in allowed:
            row[b] = nxt
        rows.append(bytes(row))
    return tuple(rows)


_TABLE = _build_table()

# The codec also validates inside its bytearray message buffer.
_Buf = Union[bytes, bytearray]


def _dfa(state: int, buf: _Buf, start: int, end: int) -> int:
    """Run the DFA over ``buf[start:end]``: the new state, or ``-1 - i`` for the
    index ``i`` (relative to ``start``) of the first byte it rejects."""
    table = _TABLE
    for i in range(start, end):
        state = table[state][buf[i]]
        if state == REJECT:
            return -1 - (i - start)
    return state


def _sequence_start(buf: _Buf, start: int, end: int) -> int:
    """Where the last, possibly unfinished, code point of ``buf[start:end]``
    begins: step back over at most three continuation bytes to a lead byte.
    If the sequence from there is already complete, that is ``end``."""
    i = end - 1
    lowest = max(start, end - 4)
    while i >= lowest and 0x80 <= buf[i] < 0xC0:
        i -= 1
    if i < lowest:
        return end  # only continuation bytes: the decoder will reject them
    lead = buf[i]
    need = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return end if i + need <= end else i


def utf8_feed(state: int, buf: _Buf, start: int, end: int) -> int:
    """Validate ``buf[start:end]`` after ``state``: the new state (``ACCEPT``
    at a code point boundary), or ``-1 - i`` where ``i`` (relative to
    ``start``) is the first byte that cannot continue a valid sequence."""
    if state == REJECT:
        return -1 if end > start else REJECT
    pos = start
    if state != ACCEPT:
        # Finish the sequence left open by the previous chunk.
        table = _TABLE
        while pos < end and state != ACCEPT:
            state = table[state][buf[pos]]
            if state == REJECT:
                return -1 - (pos - start)
            pos += 1
        if state != ACCEPT:
            return state
    tail = _sequence_start(buf, pos, end)
    if pos < tail:
        chunk = buf[pos:tail] if (pos or tail != len(buf)) else buf
        if not chunk.isascii():
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                # exc.start is a code point boundary: the DFA finds the exact
                # byte from there. It may lie past `tail`: a sequence cut short
                # just before it breaks on the lead byte that starts the tail.
                bad = _dfa(ACCEPT, buf, pos + exc.start, end)
                if bad < 0:
                    return bad - (pos + exc.start - start)
                raise AssertionError("decoder and DFA disagree") from exc  # pragma: no cover
    state = _dfa(ACCEPT, buf, tail, end)
    if state < 0:
        return state - (tail - start)
    return state


def validate_utf8(data: Any, /) -> bool:
    """True when ``data`` is complete, strictly valid UTF-8."""
    buf = as_bytes(data)
    if buf.isascii():
        return True
    try:
        buf.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Utf8Validator:
    """Incremental validator with the result tuple of wsaccel and autobahn.

    ``validate(chunk)`` returns ``(valid, ends_on_codepoint, current_index,
    total_index)``. On failure both indexes point at the first byte that
    cannot continue a valid sequence (within the chunk, and within the whole
    stream), on the very chunk that makes the stream invalid. A failed
    validator stays failed until ``reset()``.

    An instance holds one stream's state: it is not to be shared between
    threads (give each stream its own).
    """

    # inspect cannot read a compiled __init__ (see _signature.py).
    __signature__ = class_signature("()")
    __slots__ = ("_state", "_index")

    def __init__(self) -> None:
        self._state = ACCEPT
        self._index = 0

    def reset(self) -> None:
        self._state = ACCEPT
        self._index = 0

    def validate(self, data: Any, /) -> Tuple[bool, bool, int, int]:
        buf = as_bytes(data)
        if self._state == REJECT:
            return False, False, 0, self._index
        n = len(buf)
        result = utf8_feed(self._state, buf, 0, n)
        if result < 0:
            bad = -1 - result
            self._state = REJECT
            self._index += bad
            return False, False, bad, self._index
        self._state = result
        self._index += n
        return True, result == ACCEPT, n, self._index

    def __reduce__(self) -> Any:
        # Stream state is not for saving: refused alike by both backends.
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")


def decode_utf8(buf: _Buf, start: int, end: int) -> Optional[str]:
    """``buf[start:end]`` as a str, or None when it is not valid UTF-8."""
    try:
        return buf[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
