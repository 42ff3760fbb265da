"""permessage-deflate (RFC 7692): the per-connection compression codec.

One source for both backends: the work is the compression library's, this
is the glue. ``PerMessageDeflate`` holds both directions' state for the
negotiated parameters; ``encode()`` builds a whole message as wire bytes,
and ``MessageReader(deflate=codec)`` inflates what arrives.

Facts this module leans on:

* A sender compresses with a sync flush and drops the ``00 00 ff ff`` that
  ends it (§7.2.1); the receiver appends those four bytes at the end of the
  message before it finishes inflating (§7.2.2).
* zlib and zlib-ng cannot compress raw deflate with an 8-bit window
  (``wbits=-8`` is refused since zlib 1.2.9). Compressing with 9 bits is
  still safe for a peer that keeps only 256 bytes, because zlib never looks
  further back than its window minus ``MIN_LOOKAHEAD`` (262 bytes): with a
  512-byte window the longest distance it emits is 250 bytes (measured in
  tests/test_deflate.py: repeats 250 bytes apart are found, 251 apart are
  not). So a direction negotiated at 8 bits compresses at 9 with zlib-ng or
  zlib. ISA-L does reach the whole 512 bytes (repeats 300 apart are found),
  so it is never used for an 8-bit window. Reading 8 as 9 is always safe on
  the inflating side (a window at least as large as the sender's decodes
  everything); zlib inflates with ``wbits=-8`` as it is anyway.
* A corrupt deflate stream is answered with close code 1007: the frames were
  well formed and RSV1 was negotiated, but the payload is not what a
  compressed message must contain, which is 1007's definition in RFC 6455
  §7.4.1 ("data within a message that was not consistent with the type of
  the message"). Node's ``ws`` closes with 1007 for the same reason.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional

from ._errors import ProtocolError

__all__ = ["PerMessageDeflate", "LIBRARIES", "available_libraries"]

#: Libraries by name, fastest first (see bench/deflate_libraries.py).
LIBRARIES = ("isal", "zlib-ng", "zlib")

_MODULES = {"zlib": "zlib", "zlib-ng": "zlib_ng.zlib_ng", "isal": "isal.isal_zlib"}

#: Messages shorter than this go uncompressed by default. Measured with
#: bench/deflate_libraries.py on JSON-like text: up to 32 bytes a fresh
#: compressor saves nothing (8 B -> 10, 16 B -> 18, 32 B -> 32 on the wire),
#: from 64 bytes on it saves more every time (64 B -> 58, 128 B -> 101).
#: With context takeover short messages do shrink, but by a few bytes each,
#: for a compressor call that costs microseconds. Node's ``ws`` uses 1024,
#: which leaves most chat-sized messages uncompressed.
DEFAULT_THRESHOLD = 32

#: zlib's default level (6); ISA-L, whose levels run 0-3, gets its own default.
DEFAULT_LEVEL = -1

# Inflating: at most this much output per step, and at most this much input
# handed to the library at once (its unconsumed input is copied each step).
_STEP = 65536
_WINDOW = 8192

_TAIL = b"\x00\x00\xff\xff"
_EMPTY_BLOCK = b"\x00"  # RFC 7692 §7.2.3.6: an empty message compressed

OP_TEXT = 0x1
OP_BINARY = 0x2

_loaded: Dict[str, Optional[ModuleType]] = {}


def _load(name: str) -> Optional[ModuleType]:
    """The library's module, or None when it is not installed."""
    if name in _loaded:
        module: Optional[ModuleType] = _loaded[name]
        return module
    try:
        module = __import__(_MODULES[name], fromlist=["_"])
    except ImportError:
        module = None
    _loaded[name] = module
    return module


def available_libraries() -> List[str]:
    """Names of the installed compression libraries, fastest first."""
    return [name for name in LIBRARIES if _load(name) is not None]


def _check_bits(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 8 or value > 15:
        raise ValueError(f"{what} must be between 8 and 15, not {value}")
    return value


def _isal_level(level: int) -> int:
    """zlib's 0-9 scale on ISA-L's 0-3 (0 is ISA-L's fastest, not stored)."""
    if level < 0:
        return 2  # ISAL_DEFAULT_COMPRESSION
    if level <= 1:
        return 0
    if level <= 3:
        return 1
    if level <= 6:
        return 2
    return 3


class PerMessageDeflate:
    """The permessage-deflate codec of one connection, both directions.

    ``client`` says which side this end is: a client compresses with the
    ``client_*`` parameters and inflates with the ``server_*`` ones, a
    server the other way round. ``*_no_context_takeover`` starts that
    direction afresh for every message; ``*_max_window_bits`` (8-15) is that
    direction's LZ77 window. Data messages shorter than ``threshold`` bytes
    are sent uncompressed. ``level`` is zlib's (-1 for the default, 0-9).
    ``library`` is ``"auto"`` (the fastest installed of ``LIBRARIES``),
    ``"zlib"``, ``"zlib-ng"`` or ``"isal"``; ``.library`` names the one in
    use. Not to be shared between connections or threads.
    """

    _encode_frame: Optional[Callable[..., bytes]] = None

    def __init__(
        self,
        *,
        client: bool,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        threshold: int = DEFAULT_THRESHOLD,
        level: int = DEFAULT_LEVEL,
        library: str = "auto",
    ) -> None:
        server_bits = _check_bits(server_max_window_bits, "server_max_window_bits")
        client_bits = _check_bits(client_max_window_bits, "client_max_window_bits")
        if not isinstance(threshold, int) or isinstance(threshold, bool):
            raise TypeError(f"threshold must be an int, not {type(threshold).__name__}")
        if threshold < 0:
            raise ValueError("threshold must not be negative")
        if not isinstance(level, int) or isinstance(level, bool):
            raise TypeError(f"level must be an int, not {type(level).__name__}")
        if level < -1 or level > 9:
            raise ValueError(f"level must be -1 or between 0 and 9, not {level}")
        if not isinstance(library, str):
            raise TypeError(f"library must be a str, not {type(library).__name__}")
        if library == "auto":
            names = available_libraries()
            library = names[0]  # zlib is always there
        elif library not in _MODULES:
            raise ValueError(f"library must be 'auto', 'zlib', 'zlib-ng' or 'isal', not {library!r}")
        lib = _load(library)
        if lib is None:
            pip = {"zlib-ng": "zlib-ng", "isal": "isal"}[library]
            raise ImportError(f"library {library!r} is not installed (pip install {pip})")
        self.client = bool(client)
        self.server_no_context_takeover = bool(server_no_context_takeover)
        self.client_no_context_takeover = bool(client_no_context_takeover)
        self.server_max_window_bits = server_bits
        self.client_max_window_bits = client_bits
        self.threshold = threshold
        self.level = level
        #: The compression library in use: "zlib", "zlib-ng" or "isal".
        self.library = library
        self._lib: Any = lib
        if self.client:
            send_bits, self._send_reset = client_bits, self.client_no_context_takeover
            recv_bits, self._recv_reset = server_bits, self.server_no_context_takeover
        else:
            send_bits, self._send_reset = server_bits, self.server_no_context_takeover
            recv_bits, self._recv_reset = client_bits, self.client_no_context_takeover
        self._send_lib: Any = lib
        self._send_level = level
        if send_bits == 8:
            # See the module doc: zlib's 9-bit window never reaches past 250 bytes.
            send_bits = 9
            if library == "isal":
                self._send_lib = _load("zlib-ng") or zlib
        elif library == "isal":
            self._send_level = _isal_level(level)
        self._send_bits = send_bits
        self._recv_bits = recv_bits
        self._compressor: Any = None
        self._inflater: Any = None
        # Inflating one message: the input not yet handed to the library.
        self._input: Any = b""
        self._input_pos = 0
        self._full = False
        self._finishing = False
        #: What the inflating library raises for a corrupt stream.
        self._inflate_errors = (zlib.error, lib.error)

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(client={self.client!r}, "
            f"server_no_context_takeover={self.server_no_context_takeover!r}, "
            f"client_no_context_takeover={self.client_no_context_takeover!r}, "
            f"server_max_window_bits={self.server_max_window_bits!r}, "
            f"client_max_window_bits={self.client_max_window_bits!r}, "
            f"threshold={self.threshold!r}, level={self.level!r}, library={self.library!r})"
        )

    # -- sending ----------------------------------------------------------

    def compress(self, data: Any) -> bytes:
        """One message's payload compressed, the sync-flush tail removed."""
        c = self._compressor
        if c is None:
            c = self._send_lib.compressobj(
                self._send_level, zlib.DEFLATED, -self._send_bits
            )
            if not self._send_reset:
                self._compressor = c
        out: bytes = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        if out.endswith(_TAIL):
            out = out[:-4]
        return out or _EMPTY_BLOCK

    def encode(
        self,
        opcode: int,
        payload: Any,
        *,
        mask: Any = None,
        fragment_size: Optional[int] = None,
    ) -> bytes:
        """A whole message as wire bytes: compressed with RSV1 on its first
        frame when it is a data message of at least ``threshold`` bytes,
        split into frames of at most ``fragment_size`` payload bytes when
        given, masked as ``encode_frame`` masks (a fresh key per frame for
        ``mask=True``). Control frames are never compressed (§6.1) nor
        fragmented: they are sent as ``encode_frame`` builds them."""
        encode_frame: Callable[..., bytes]
        if self._encode_frame is not None:
            encode_frame = self._encode_frame
        else:
            from ._codec_py import encode_frame
        if fragment_size is not None:
            if not isinstance(fragment_size, int) or isinstance(fragment_size, bool):
                raise TypeError(f"fragment_size must be an int or None, not {type(fragment_size).__name__}")
            if fragment_size < 1:
                raise ValueError("fragment_size must be at least 1")
        if opcode != OP_TEXT and opcode != OP_BINARY:
            # Control frames (and the checks on a bad opcode) as encode_frame has them.
            return encode_frame(opcode, payload, mask=mask)
        if isinstance(payload, str):
            data: Any = payload.encode("utf-8")
        elif isinstance(payload, bytes):
            data = payload
        else:
            if payload is None:
                raise TypeError("payload must be a bytes-like object, not NoneType")
            try:
                data = memoryview(payload).tobytes()
            except TypeError:
                raise TypeError(
                    f"payload must be a bytes-like object, not {type(payload).__name__}"
                ) from None
        compressed = len(data) >= self.threshold
        if compressed:
            data = self.compress(data)
        n = len(data)
        if fragment_size is None or n <= fragment_size:
            return encode_frame(opcode, data, rsv1=compressed, mask=mask)
        frames = []
        view = memoryview(data)
        for start in range(0, n, fragment_size):
            end = start + fragment_size
            frames.append(
                encode_frame(
                    opcode if start == 0 else 0,
                    view[start:end],
                    fin=end >= n,
                    rsv1=compressed and start == 0,
                    mask=mask,
                )
            )
        return b"".join(frames)

    # -- receiving (called by MessageReader) --------------------------------

    def _new_inflater(self) -> Any:
        """A fresh inflater for the receiving direction, kept as the current one."""
        d = self._inflater = self._lib.decompressobj(-self._recv_bits)
        return d

    def _inflate_input(self, data: Any, final: bool = False) -> None:
        """Queue ``data`` (part of a compressed message) for ``_inflate_next``;
        ``final`` marks the ``00 00 ff ff`` appended at the message's end."""
        if self._inflater is None:
            self._inflater = self._lib.decompressobj(-self._recv_bits)
        self._input = data
        self._input_pos = 0
        self._finishing = final

    def _inflate_next(self, max_length: int) -> bytes:
        """At most ``max_length`` (> 0) more bytes inflated from the queued
        input; empty when the input is used up and nothing is pending."""
        d = self._inflater
        try:
            while True:
                if d.eof:
                    self._after_end(d)
                    return b""
                src = d.unconsumed_tail
                if not src:
                    pos = self._input_pos
                    if pos < len(self._input):
                        src = memoryview(self._input)[pos : pos + _WINDOW]
                        self._input_pos = pos + len(src)
                    elif not self._full:
                        return b""
                out: bytes = d.decompress(src, max_length)
                self._full = len(out) == max_length
                if out:
                    return out
        except ProtocolError:
            raise
        except (zlib.error, self._lib.error) as exc:
            raise ProtocolError(1007, f"corrupt deflate stream: {exc}") from None

    def _after_end(self, d: Any) -> None:
        """The sender ended its stream with a final block: only (part of) the
        tail this end appended may follow it."""
        rest = d.unused_data + d.unconsumed_tail + bytes(self._input[self._input_pos :])
        self._input_pos = len(self._input)
        self._full = False
        if rest and not (self._finishing and _TAIL.endswith(rest)):
            raise ProtocolError(1007, "data after the end of the deflate stream")

    def _inflate_end(self) -> None:
        """The message is complete: start afresh if the sender does not keep
        its context (or ended its stream with a final block)."""
        self._input = b""
        self._input_pos = 0
        self._full = False
        self._finishing = False
        if self._recv_reset or (self._inflater is not None and self._inflater.eof):
            self._inflater = None


def bind(encode_frame: Callable[..., bytes]) -> type:
    """``PerMessageDeflate`` building its frames with one backend's
    ``encode_frame``."""
    return type("PerMessageDeflate", (PerMessageDeflate,), {
        "_encode_frame": staticmethod(encode_frame),
        "__module__": __name__,
        "__qualname__": "PerMessageDeflate",
    })
