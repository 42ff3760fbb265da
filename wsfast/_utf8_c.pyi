# The compiled module has the API of its pure twin (stubtest checks it),
# plus the kernel selection that only it has.
from ._utf8_py import Utf8Validator as Utf8Validator
from ._utf8_py import decode_utf8 as decode_utf8
from ._utf8_py import utf8_feed as utf8_feed
from ._utf8_py import validate_utf8 as validate_utf8

def select_kernel(max_level: int = -1) -> str: ...
def kernel() -> str: ...
def decoder_kernel() -> str: ...
