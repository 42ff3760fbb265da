"""wsfast: a fast, strict WebSocket (RFC 6455) frame codec.

Masking, UTF-8 validation, frame parsing, message assembly and frame
building, compiled with Cython, each with a pure-Python twin that behaves the
same. ``IMPLEMENTATION`` says which backend this process uses; set
``WSFAST_EXTENSIONS=0`` for pure Python, ``1`` to insist on the compiled one.
"""

from __future__ import annotations

from typing import Dict

from . import _backend
from ._errors import InvalidUTF8, MessageTooBig, ProtocolError
from ._extensions import DeflateParams, deflate_check, deflate_choose, deflate_offer, parse_extensions
from ._handshake import (
    HandshakeError,
    accept_key,
    build_request,
    build_response,
    check_request,
    check_response,
    generate_key,
    parse_request,
    parse_response,
    reject_response,
)
from ._types import CloseCode, Opcode
from .dropin import patch, patched, unpatch

__version__ = "0.1.0"

_api = _backend.select()

#: ``"cython"`` or ``"python"``: the backend in use.
IMPLEMENTATION: str = _api.IMPLEMENTATION

apply_mask = _api.apply_mask
mask_inplace = _api.mask_inplace
Masker = _api.Masker
validate_utf8 = _api.validate_utf8
Utf8Validator = _api.Utf8Validator
Frame = _api.Frame
FrameParser = _api.FrameParser
MessageReader = _api.MessageReader
Message = _api.Message
Ping = _api.Ping
Pong = _api.Pong
Close = _api.Close
encode_frame = _api.encode_frame
encode_close = _api.encode_close
parse_close = _api.parse_close
PerMessageDeflate = _api.PerMessageDeflate


def kernels() -> Dict[str, str]:
    """The machine-code path in use per hot path, e.g.
    ``{"mask": "avx512", "utf8": "avx2"}``; ``"python"`` on the fallback."""
    kernels: Dict[str, str] = _api.kernels()
    return kernels


__all__ = [
    "IMPLEMENTATION",
    "kernels",
    "apply_mask",
    "mask_inplace",
    "Masker",
    "validate_utf8",
    "Utf8Validator",
    "Opcode",
    "CloseCode",
    "Frame",
    "FrameParser",
    "MessageReader",
    "Message",
    "Ping",
    "Pong",
    "Close",
    "encode_frame",
    "encode_close",
    "parse_close",
    "PerMessageDeflate",
    "accept_key",
    "generate_key",
    "check_request",
    "build_response",
    "build_request",
    "check_response",
    "parse_request",
    "parse_response",
    "reject_response",
    "HandshakeError",
    "DeflateParams",
    "deflate_offer",
    "deflate_choose",
    "deflate_check",
    "parse_extensions",
    "ProtocolError",
    "InvalidUTF8",
    "MessageTooBig",
    "patch",
    "unpatch",
    "patched",
]
