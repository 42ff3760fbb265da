# The compiled module is _codec_py.py built with Cython: the same API.
from ._codec_py import *  # noqa: F403
from ._codec_py import __all__ as __all__
