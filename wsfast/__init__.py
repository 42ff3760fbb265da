"""wsfast: a fast, strict WebSocket (RFC 6455) frame codec.

Masking, UTF-8 validation, frame parsing, message assembly and frame
building, compiled with Cython, each with a pure-Python twin that behaves the
same. ``IMPLEMENTATION`` says which backend this process uses; set
``WSFAST_EXTENSIONS=0`` for pure Python, ``1`` to insist on the compiled one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict

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
    head_end,
    parse_request,
    parse_response,
    reject_response,
)
from ._types import CloseCode, Opcode
from ._version import __version__ as __version__
from .dropin import patch, patched, unpatch

_api = _backend.select()

#: ``"cython"`` or ``"python"``: the backend in use.
IMPLEMENTATION: str = _api.IMPLEMENTATION

if TYPE_CHECKING:
    # Type checkers read the pure-Python twins; the compiled modules have the
    # same API (stubtest checks their stubs against it).
    from ._codec_py import *
    from ._deflate import PerMessageDeflate
    from ._mask_py import *
    from ._utf8_py import *


def kernels() -> Dict[str, str]:
    """The machine-code path in use per hot path, e.g.
    ``{"mask": "avx512", "utf8": "avx2"}``; ``"python"`` on the fallback."""
    kernels: Dict[str, str] = _api.kernels()
    return kernels


# The public names, listed once. The hot-path ones come from the backend in
# use (from the pure-Python twins for type checkers); tests/test_backend.py
# checks that they are the twins' __all__.
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
    "head_end",
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

if not TYPE_CHECKING:
    # Every public name not defined above is a hot path: take it from the
    # backend in use.
    for _name in __all__:
        if _name not in globals():
            globals()[_name] = getattr(_api, _name)
    del _name
