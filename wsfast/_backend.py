"""Loading a backend: the compiled modules or their pure-Python twins.

Both expose the same names. ``load()`` gives one backend as a namespace, so
the tests and the benchmarks can run either in the same process; the package
itself uses ``select()``.
"""

from __future__ import annotations

import importlib
import platform
import types
from typing import Dict, Tuple

from . import _deflate, _env

# The hot paths, by module (minus the _c/_py suffix). Each one's public names
# are listed once, in the __all__ of its pure-Python twin; the compiled
# module has the same names (stubtest checks it), and wsfast/__init__.py
# exports them, each listed in its __all__ (tests/test_backend.py checks).
HOT_PATHS = ("_mask", "_utf8", "_codec")


def public_names() -> Dict[str, Tuple[str, ...]]:
    """The public names of each hot-path module, from its pure twin's __all__."""
    return {base: tuple(importlib.import_module(f"wsfast.{base}_py").__all__) for base in HOT_PATHS}


IMPLEMENTATIONS = ("cython", "python")
_SUFFIX = {"cython": "_c", "python": "_py"}
_cache: Dict[str, types.SimpleNamespace] = {}


def load(implementation: str) -> types.SimpleNamespace:
    """The public API of one backend; ImportError if it cannot be loaded."""
    try:
        return _cache[implementation]
    except KeyError:
        pass
    if implementation not in _SUFFIX:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, not {implementation!r}")
    suffix = _SUFFIX[implementation]
    api = types.SimpleNamespace(IMPLEMENTATION=implementation)
    modules = {}
    for base, names in public_names().items():
        module = importlib.import_module(f"wsfast.{base}{suffix}")
        modules[base] = module
        for name in names:
            setattr(api, name, getattr(module, name))
    # One codec source for both backends, framing with this backend's builder.
    api.PerMessageDeflate = _deflate.bind(api.encode_frame)
    if implementation == "cython":
        level = _env.max_simd_level()
        mask_kernel = modules["_mask"].select_kernel(level)
        utf8_kernel = modules["_utf8"].select_kernel(level)

        def kernels() -> Dict[str, str]:
            return {
                "mask": modules["_mask"].kernel(),
                "utf8": modules["_utf8"].kernel(),
                "utf8_decode": modules["_utf8"].decoder_kernel(),
            }

        def select_kernels(max_level: int = -1) -> Dict[str, str]:
            modules["_mask"].select_kernel(max_level)
            modules["_utf8"].select_kernel(max_level)
            return kernels()

        del mask_kernel, utf8_kernel
    else:

        def kernels() -> Dict[str, str]:
            return {"mask": "python", "utf8": "python", "utf8_decode": "python"}

        def select_kernels(max_level: int = -1) -> Dict[str, str]:
            return kernels()

    api.kernels = kernels
    api.select_kernels = select_kernels
    _cache[implementation] = api
    return api


def select() -> types.SimpleNamespace:
    """The backend that ``WSFAST_EXTENSIONS`` asks for.

    ``auto`` takes the compiled one when it imports, ``1`` insists on it,
    ``0`` (and any interpreter but CPython under ``auto``) takes pure Python.
    """
    mode = _env.extensions_mode()
    if mode == "0":
        return load("python")
    try:
        return load("cython")
    except ImportError:
        if mode == "1":
            raise ImportError(
                "WSFAST_EXTENSIONS=1 but the compiled modules of wsfast did not import "
                f"on {platform.python_implementation()} {platform.python_version()}; "
                "build them with `pip install -e .` or a wheel"
            ) from None
        return load("python")
