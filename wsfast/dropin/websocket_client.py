"""websocket-client: masking, frame building, UTF-8 checks, text decoding.

Replaced, in ``websocket._abnf`` / ``websocket._utils`` / ``websocket._core``:

``_abnf._mask(mask, data)`` and ``ABNF.mask(mask_key, data)``
    The XOR of a 4-byte key, by ``apply_mask``. websocket-client does it
    with a big-int XOR over ``array.array`` copies (or wsaccel's byte loop
    when installed). Arguments that are not a 4-byte key and a bytes-like
    payload (``str`` is first encoded as latin-1, as the original does) go
    to the original function, so odd input behaves exactly as before.
``ABNF.format()``
    The same checks, in the same order, with the same errors; a data frame
    (opcode 0-2, no RSV bit) is then built by ``encode_frame`` in one
    allocation with the key ``get_mask_key(4)`` returned. Anything else (an
    unmasked frame, a control frame, a key that is not 4 bytes, a subclass
    that overrides ``_get_masked``) takes the original code.
``_utils.validate_utf8`` (and its name in ``_abnf``)
    The pure-Python DFA (or wsaccel's validator) becomes wsfast's strict
    UTF-8 check: both refuse exactly what RFC 3629 refuses (surrogates,
    overlongs, code points above U+10FFFF). Like the original, the verdict
    is "no invalid byte": a sequence cut short at the very end passes
    (``recv()``'s decode refuses it then). ``str`` input is encoded with
    ``surrogatepass`` first, as before; non-buffer input falls back.
``WebSocket.recv()``
    Unchanged except that a text message is decoded by wsfast's UTF-8 to
    str builder; if that refuses the bytes (only possible with
    ``skip_utf8_validation``), ``bytes.decode`` runs and raises the same
    ``UnicodeDecodeError`` it always did.

Where errors are raised is unchanged: websocket-client checks a text
message once it is complete, and so does the patched one.

Tested on websocket-client 1.8 and 1.9 (1.9.2 with and without wsaccel).
"""

from __future__ import annotations

import importlib
import struct
from typing import Any, Callable, List, Tuple

NAME = "websocket-client"
DISTRIBUTION = "websocket-client"
IMPORT = "websocket"
TESTED = ("1.8", "1.10")

_BUFFERS = (bytes, bytearray, memoryview)


def _decoder(api: Any) -> Callable[[bytes, int, int], Any]:
    """The str builder of the same backend as ``api``."""
    utf8: Any = importlib.import_module(
        "wsfast._utf8_c" if api.IMPLEMENTATION == "cython" else "wsfast._utf8_py"
    )
    return utf8.decode_utf8  # type: ignore[no-any-return]


def replacements(api: Any) -> List[Tuple[Any, str, Any]]:
    # Imported as Any: whether a host ships type hints must not matter here.
    abnf: Any = importlib.import_module("websocket._abnf")
    core: Any = importlib.import_module("websocket._core")
    utils: Any = importlib.import_module("websocket._utils")

    ABNF = abnf.ABNF
    apply_mask = api.apply_mask
    encode_frame = api.encode_frame
    validate = api.validate_utf8
    Utf8Validator = api.Utf8Validator
    decode_utf8 = _decoder(api)
    original_mask_function = abnf._mask
    original_mask = ABNF.mask
    original_format = ABNF.format
    original_get_masked = ABNF._get_masked
    original_validate = utils.validate_utf8
    opcode_text = ABNF.OPCODE_TEXT
    opcode_binary = ABNF.OPCODE_BINARY
    length_63 = ABNF.LENGTH_63

    def _mask(mask_value: Any, data_value: Any) -> Any:
        if len(mask_value) == 4 and isinstance(data_value, _BUFFERS):
            return apply_mask(data_value, mask_value)
        return original_mask_function(mask_value, data_value)

    def mask(mask_key: Any, data: Any) -> Any:
        if data is None:
            data = ""
        if isinstance(mask_key, str):
            mask_key = mask_key.encode("latin-1")
        if isinstance(data, str):
            data = data.encode("latin-1")
        if isinstance(mask_key, _BUFFERS) and len(mask_key) == 4 and isinstance(data, _BUFFERS):
            return apply_mask(data, mask_key)
        return original_mask(mask_key, data)

    mask.__doc__ = original_mask.__doc__

    def format(self: Any) -> Any:
        fin, rsv1, rsv2, rsv3, opcode = self.fin, self.rsv1, self.rsv2, self.rsv3, self.opcode
        if (
            self.mask_value == 1
            and fin in (0, 1)
            and rsv1 == 0
            and rsv2 == 0
            and rsv3 == 0
            and opcode in (0, opcode_text, opcode_binary)
            and isinstance(self.data, (bytes, str))
            and len(self.data) < length_63
            and type(self)._get_masked is original_get_masked
        ):
            # The original's checks all pass: build it in one go.
            key = self.get_mask_key(4)
            data = self.data
            if isinstance(data, str):  # as _get_masked -> ABNF.mask does
                data = data.encode("latin-1")
            if isinstance(key, bytes) and len(key) == 4:
                return encode_frame(opcode, data, fin=bool(fin), mask=key)
            return _header(self, len(self.data)) + self._get_masked(key)
        return original_format(self)

    def _header(self: Any, length: int) -> Any:
        """The original's header for a masked frame of ``length``."""
        first = self.fin << 7 | self.rsv1 << 6 | self.rsv2 << 5 | self.rsv3 << 4 | self.opcode
        if length < ABNF.LENGTH_7:
            return bytes((first, self.mask_value << 7 | length))
        if length < ABNF.LENGTH_16:
            return bytes((first, self.mask_value << 7 | 0x7E)) + struct.pack("!H", length)
        return bytes((first, self.mask_value << 7 | 0x7F)) + struct.pack("!Q", length)

    format.__doc__ = original_format.__doc__

    def validate_utf8(utfbytes: Any) -> Any:
        if isinstance(utfbytes, str):
            utfbytes = utfbytes.encode("utf-8", "surrogatepass")
        if isinstance(utfbytes, _BUFFERS):
            # websocket-client's verdict is "no invalid byte": a sequence cut
            # short at the end passes (bytes.decode refuses it later).
            return validate(utfbytes) or Utf8Validator().validate(utfbytes)[0]
        return original_validate(utfbytes)

    validate_utf8.__doc__ = original_validate.__doc__

    original_recv = core.WebSocket.recv

    def recv(self: Any) -> Any:
        with self.readlock:
            opcode, data = self.recv_data()
        if opcode == opcode_text:
            if isinstance(data, bytes):
                text = decode_utf8(data, 0, len(data))
                return data.decode("utf-8") if text is None else text
            if isinstance(data, str):
                return data
            return None
        elif opcode == opcode_binary:
            return data
        else:
            return ""

    recv.__doc__ = original_recv.__doc__

    return [
        (abnf, "_mask", _mask),
        (ABNF, "mask", staticmethod(mask)),
        (ABNF, "format", format),
        (utils, "validate_utf8", validate_utf8),
        (abnf, "validate_utf8", validate_utf8),
        (core.WebSocket, "recv", recv),
    ]

