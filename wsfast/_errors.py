"""Errors shared by both backends, so ``except wsfast.ProtocolError`` works
whichever backend raised it."""

from __future__ import annotations

from typing import Any, List

__all__ = ["ProtocolError", "InvalidUTF8", "MessageTooBig"]


class ProtocolError(Exception):
    """A break of RFC 6455 by the peer.

    ``close_code`` is the code to fail the connection with (RFC 6455 §7.4.1)
    and ``reason`` a short text fit for the close frame. ``events`` holds the
    frames or events that the failing ``feed()`` call completed before the
    break, in order, so that a server can still answer them.
    """

    close_code: int
    reason: str
    events: List[Any]

    def __init__(self, close_code: int = 1002, reason: str = "protocol error") -> None:
        super().__init__(close_code, reason)
        self.close_code = close_code
        self.reason = reason
        self.events = []

    def __str__(self) -> str:
        return f"{self.reason} (close code {self.close_code})"


class InvalidUTF8(ProtocolError):
    """Text or a close reason that is not valid UTF-8 (close code 1007)."""

    def __init__(self, close_code: int = 1007, reason: str = "invalid UTF-8") -> None:
        super().__init__(close_code, reason)


class MessageTooBig(ProtocolError):
    """A frame or message over the configured limit (close code 1009)."""

    def __init__(self, close_code: int = 1009, reason: str = "message too big") -> None:
        super().__init__(close_code, reason)
