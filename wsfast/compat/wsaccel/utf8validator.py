"""wsaccel.utf8validator on wsfast: incremental UTF-8 validation.

``Utf8Validator().validate(chunk)`` returns wsaccel's ``(valid,
ends_on_codepoint, current_index, total_index)``: on the chunk that makes
the stream invalid, ``valid`` is False and both indexes point at the first
invalid byte. After that, as in wsaccel, a non-empty chunk gives ``(False,
False, 0, total)`` and an empty one ``(True, False, 0, total)`` until
``reset()``.

The verdicts come from wsfast's vectorised validator. The public state of
wsaccel's object is kept too: ``state`` (the Hoehrmann DFA state:
``UTF8_ACCEPT`` 0, ``UTF8_REJECT`` 1, 2-8 inside a sequence), ``i`` (the
total index) and ``codepoint``, and ``decode(byte)`` steps the DFA one byte
(updating ``codepoint``, which ``validate()`` leaves alone, as wsaccel's
does). ``state`` can be set, and ``validate()`` continues from it.
"""

from __future__ import annotations

from typing import Any, Tuple

from ... import Utf8Validator as _Validator

__all__ = ["Utf8Validator"]

UTF8_ACCEPT = 0
UTF8_REJECT = 1


def _byte_class(byte: int) -> int:
    """Hoehrmann's character class of a byte (the DFA's column)."""
    if byte < 0x80:
        return 0
    if byte < 0x90:
        return 1
    if byte < 0xA0:
        return 9
    if byte < 0xC0:
        return 7
    if byte < 0xC2:
        return 8
    if byte < 0xE0:
        return 2
    if byte == 0xE0:
        return 10
    if byte == 0xED:
        return 4
    if byte < 0xF0:
        return 3
    if byte == 0xF0:
        return 11
    if byte < 0xF4:
        return 6
    if byte == 0xF4:
        return 5
    return 8


# State after a lead byte of each class, from UTF8_ACCEPT (1: refused).
_LEAD = {0: 0, 2: 2, 3: 3, 10: 4, 4: 5, 11: 6, 6: 7, 5: 8}
# Inside a sequence: state -> (continuation classes accepted, next state).
_CONTINUE = {
    2: ((1, 9, 7), 0),  # one more byte, 80-BF
    3: ((1, 9, 7), 2),  # two more, 80-BF
    4: ((7,), 2),  # after E0: A0-BF (no overlongs)
    5: ((1, 9), 2),  # after ED: 80-9F (no surrogates)
    6: ((9, 7), 3),  # after F0: 90-BF (no overlongs)
    7: ((1, 9, 7), 3),  # three more, 80-BF
    8: ((1,), 3),  # after F4: 80-8F (nothing above U+10FFFF)
}
# One byte string leading to each state inside a sequence.
_PREFIX = {0: b"", 2: b"\xc2", 3: b"\xe1", 4: b"\xe0", 5: b"\xed", 6: b"\xf0", 7: b"\xf1", 8: b"\xf4"}


def _step(state: int, byte_class: int) -> int:
    if state == UTF8_ACCEPT:
        return _LEAD.get(byte_class, UTF8_REJECT)
    if state == UTF8_REJECT:
        return UTF8_REJECT
    accepted, following = _CONTINUE[state]
    return following if byte_class in accepted else UTF8_REJECT


def _state_after(tail: bytes) -> int:
    state = UTF8_ACCEPT
    for byte in tail:
        state = _step(state, _byte_class(byte))
    return state


class Utf8Validator:
    """Incremental UTF-8 validator with wsaccel's interface."""

    UTF8_ACCEPT = UTF8_ACCEPT
    UTF8_REJECT = UTF8_REJECT

    def __init__(self) -> None:
        self._fast = _Validator()
        self.reset()

    def reset(self) -> None:
        self.state = UTF8_ACCEPT
        self.codepoint = 0
        self.i = 0
        self._fast.reset()
        self._synced = UTF8_ACCEPT
        self._tail = b""

    def decode(self, b: int) -> int:
        """Eat one byte; the new DFA state (``codepoint`` holds the code
        point when it is ``UTF8_ACCEPT``)."""
        byte_class = _byte_class(b)
        if self.state != UTF8_ACCEPT:
            self.codepoint = (b & 0x3F) | (self.codepoint << 6)
        else:
            self.codepoint = (0xFF >> byte_class) & b
        self.state = _step(self.state, byte_class)
        return self.state

    def _resync(self) -> None:
        """``state`` was changed from outside validate(): restart the fast
        validator in that state."""
        self._fast.reset()
        if self.state not in (UTF8_ACCEPT, UTF8_REJECT):
            self._tail = _PREFIX[self.state]
            self._fast.validate(self._tail)
        else:
            self._tail = b""
        self._synced = self.state

    def validate(self, ba: Any) -> Tuple[bool, bool, int, int]:
        """Validate the next chunk: ``(valid, ends_on_codepoint,
        current_index, total_index)``."""
        try:
            view = memoryview(ba)
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(ba).__name__}'") from None
        if self.state != self._synced:
            self._resync()
        if self.state == UTF8_REJECT:
            return (view.nbytes == 0, False, 0, self.i)
        valid, ends, current, _ = self._fast.validate(view)
        self.i += current
        if not valid:
            self.state = self._synced = UTF8_REJECT
            return (False, False, current, self.i)
        if ends:
            self._tail = b""
            self.state = UTF8_ACCEPT
        else:
            # At most three bytes of an unfinished sequence, maybe begun in
            # an earlier chunk: the DFA state is the one after them.
            pending = self._tail + view[-3:].tobytes()
            lead = max(k for k in range(len(pending)) if pending[k] & 0xC0 != 0x80 or k == 0)
            self._tail = pending[lead:]
            self.state = _state_after(self._tail)
        self._synced = self.state
        return (True, bool(ends), current, self.i)
