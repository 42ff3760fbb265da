"""One fixture runs every test against both backends.

``ws`` is the public API of one backend, compiled (``cython``) or pure
(``python``), loaded side by side in the same session. Under
``WSFAST_EXTENSIONS=1`` a compiled backend that does not load fails the run
instead of skipping; under ``0`` only the pure backend runs.
"""

from __future__ import annotations

import os
import types
from typing import Iterator, Tuple

import pytest

from wsfast import _backend, _env

MODE = _env.extensions_mode()
SIMD_LEVELS = _env.SIMD_LEVELS
IN_CI = os.environ.get("CI") == "true"


def load_backend(implementation: str) -> types.SimpleNamespace:
    """The backend, or a skip/failure that says why it is not there."""
    if implementation == "cython":
        if MODE == "0":
            pytest.skip("pure Python only (WSFAST_EXTENSIONS=0, or an interpreter other than CPython)")
        try:
            return _backend.load("cython")
        except ImportError as exc:
            if MODE == "1":
                pytest.fail(f"WSFAST_EXTENSIONS=1 but the compiled backend did not load: {exc}")
            pytest.skip(f"compiled backend not built: {exc}")
    return _backend.load("python")


# Under WSFAST_EXTENSIONS=0 the compiled backend is not part of the run at all.
BACKENDS = ("python",) if MODE == "0" else _backend.IMPLEMENTATIONS


@pytest.fixture(scope="session", params=BACKENDS)
def ws(request: pytest.FixtureRequest) -> types.SimpleNamespace:
    return load_backend(request.param)


def _kernel_params() -> Iterator[Tuple[str, str]]:
    if "cython" in BACKENDS:
        for level in SIMD_LEVELS:
            yield ("cython", level)
    yield ("python", "python")


@pytest.fixture(
    params=list(_kernel_params()),
    ids=[f"{impl}-{level}" if impl == "cython" else impl for impl, level in _kernel_params()],
)
def wsk(request: pytest.FixtureRequest) -> Iterator[types.SimpleNamespace]:
    """Like ``ws``, but the compiled backend once per SIMD level, so every
    kernel (scalar, SSE2, AVX2, AVX-512) is tested on one machine."""
    implementation, level = request.param
    api = load_backend(implementation)
    if implementation == "python":
        yield api
        return
    wanted = SIMD_LEVELS.index(level)
    chosen = api.select_kernels(wanted)
    try:
        if chosen["mask"] != level and not (level == "sse2" and chosen["mask"] == "neon"):
            pytest.skip(f"this CPU has no {level} kernel (best: {chosen['mask']})")
        yield api
    finally:
        api.select_kernels(_env.max_simd_level())


