"""The environment variables that steer wsfast, parsed in one place.

``setup.py`` loads this file by path at build time and the package imports it
at run time, so the build and the runtime can never read the same variable two
different ways.
"""

from __future__ import annotations

import os
import platform
from typing import Mapping, Optional

__all__ = ["extensions_mode", "max_simd_level", "SIMD_LEVELS"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

#: Kernel levels in the order the compiled modules number them.
SIMD_LEVELS = ("scalar", "sse2", "avx2", "avx512")


def extensions_mode(environ: Optional[Mapping[str, str]] = None) -> str:
    """Read ``WSFAST_EXTENSIONS``: ``"auto"`` (unset), ``"0"`` or ``"1"``.

    ``auto``: build and use the compiled backend when possible, fall back to
    pure Python otherwise. ``0``: pure Python only. ``1``: compiled, and a
    build or import failure is an error. Interpreters other than CPython get
    ``"0"`` under ``auto``: the extensions target CPython's C API.
    """
    env = os.environ if environ is None else environ
    raw = env.get("WSFAST_EXTENSIONS", "").strip().lower()
    if raw in ("", "auto"):
        return "auto" if platform.python_implementation() == "CPython" else "0"
    if raw in _TRUE:
        return "1"
    if raw in _FALSE:
        return "0"
    raise ValueError(
        f"WSFAST_EXTENSIONS must be unset, 'auto', '0' or '1', not {raw!r}"
    )


def max_simd_level(environ: Optional[Mapping[str, str]] = None) -> int:
    """Read ``WSFAST_MAX_SIMD`` as a level index (-1 when unset: no cap).

    The cap lets one machine exercise every kernel: the compiled modules pick
    the best level the CPU has, never above this one.
    """
    env = os.environ if environ is None else environ
    raw = env.get("WSFAST_MAX_SIMD", "").strip().lower()
    if raw in ("", "auto", "native"):
        return -1
    if raw == "neon":
        return SIMD_LEVELS.index("sse2")
    try:
        return SIMD_LEVELS.index(raw)
    except ValueError:
        raise ValueError(
            "WSFAST_MAX_SIMD must be one of "
            + ", ".join(SIMD_LEVELS)
            + f", not {raw!r}"
        ) from None
