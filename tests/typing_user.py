"""A user's module, as mypy --strict and pyright see it (never imported).

tests/test_typing.py runs mypy on it and checks each revealed type;
.ci/release runs pyright on it too. Every public name must come out as a
real type, not Any, whichever backend is installed.
"""

from __future__ import annotations

from typing import List

import wsfast

reveal_type(wsfast.FrameParser)  # the class
parser = wsfast.FrameParser(client=True, max_frame_size=None)
frames = parser.feed(b"\x81\x02hi")
reveal_type(frames)  # list[Frame]
first: wsfast.Frame = frames[0]
reveal_type(first.payload)  # bytes
reveal_type(first.fin)  # bool

reader = wsfast.MessageReader(max_message_size=1 << 20)
events = reader.feed(bytearray(b"\x88\x00"))
reveal_type(events)  # list of the four event classes
for event in events:
    if isinstance(event, wsfast.Message):
        reveal_type(event.data)  # str | bytes
    elif isinstance(event, wsfast.Close):
        reveal_type(event.code)  # int
        reveal_type(event.reason)  # str
    elif isinstance(event, wsfast.Ping):
        reveal_type(event.payload)  # bytes
    else:
        reveal_type(event)  # Pong: nothing else is left

reveal_type(wsfast.apply_mask(b"data", b"\x01\x02\x03\x04"))  # bytes
reveal_type(wsfast.mask_inplace(bytearray(4), b"\x01\x02\x03\x04"))  # None
reveal_type(wsfast.Masker(b"\x01\x02\x03\x04").process(b"x"))  # bytes
reveal_type(wsfast.validate_utf8(b"x"))  # bool
reveal_type(wsfast.Utf8Validator().validate(b"x"))  # tuple[bool, bool, int, int]
reveal_type(wsfast.encode_frame(wsfast.Opcode.TEXT, b"x", mask=True))  # bytes
reveal_type(wsfast.encode_close(1000, "bye"))  # bytes
reveal_type(wsfast.parse_close(b"\x03\xe8"))  # tuple[int, str]
reveal_type(wsfast.accept_key("dGhlIHNhbXBsZSBub25jZQ=="))  # str
reveal_type(wsfast.kernels())  # dict[str, str]
reveal_type(wsfast.IMPLEMENTATION)  # str
reveal_type(wsfast.__version__)  # str
reveal_type(wsfast.ProtocolError(1002, "x").close_code)  # int
payloads: List[bytes] = [frame.payload for frame in frames]
