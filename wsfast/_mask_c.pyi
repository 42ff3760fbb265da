# The compiled module has the API of its pure twin (stubtest checks it),
# plus the kernel selection that only it has.
from ._mask_py import Masker as Masker
from ._mask_py import apply_mask as apply_mask
from ._mask_py import build_frame as build_frame
from ._mask_py import build_masked_frame as build_masked_frame
from ._mask_py import frame_header as frame_header
from ._mask_py import mask_bytearray as mask_bytearray
from ._mask_py import mask_inplace as mask_inplace
from ._mask_py import unmask_slice as unmask_slice

def select_kernel(max_level: int = -1) -> str: ...
def kernel() -> str: ...
def cpu_features() -> str: ...
def cpu_checks() -> dict[str, bool]: ...

class GrowBuffer:
    # Its methods are C-level only: the frame codec calls them directly.
    size: int
    capacity: int
    limit: int

def new_buffer() -> GrowBuffer: ...
