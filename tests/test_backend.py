"""The backend in use is the one asked for, and both expose the same API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import wsfast
from wsfast import _backend, _env

from .conftest import MODE, load_backend


def test_requested_backend_loaded() -> None:
    expected = {"1": "cython", "0": "python"}.get(MODE)
    if expected is not None:
        assert expected == wsfast.IMPLEMENTATION
    else:
        assert wsfast.IMPLEMENTATION in ("cython", "python")


def test_kernels_named(ws) -> None:
    kernels = ws.kernels()
    assert set(kernels) == {"mask", "utf8", "utf8_decode"}
    if ws.IMPLEMENTATION == "python":
        assert kernels == {"mask": "python", "utf8": "python", "utf8_decode": "python"}
    else:
        for name in kernels:
            assert kernels[name] in ("scalar", "sse2", "avx2", "avx512", "neon"), name


def test_public_names_match_across_backends(ws) -> None:
    for names in _backend.public_names().values():
        for name in names:
            assert callable(getattr(ws, name)), name


def test_package_exports_every_hot_path_name_once() -> None:
    names = [name for names in _backend.public_names().values() for name in names]
    assert len(names) == len(set(names))
    assert set(names) <= set(wsfast.__all__)
    assert len(wsfast.__all__) == len(set(wsfast.__all__))
    for name in wsfast.__all__:
        assert hasattr(wsfast, name), name


def test_package_exports_selected_backend() -> None:
    api = _backend.load(wsfast.IMPLEMENTATION)
    for names in _backend.public_names().values():
        for name in names:
            assert getattr(wsfast, name) is getattr(api, name), name
    assert wsfast.kernels() == api.kernels()


@pytest.mark.parametrize(
    "raw, mode",
    [("", "auto"), ("auto", "auto"), ("0", "0"), ("1", "1"), ("false", "0"), ("TRUE", "1")],
)
def test_extensions_mode_parsing(raw: str, mode: str) -> None:
    if mode == "auto" and sys.implementation.name != "cpython":
        mode = "0"
    assert _env.extensions_mode({"WSFAST_EXTENSIONS": raw}) == mode


def test_extensions_mode_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="WSFAST_EXTENSIONS"):
        _env.extensions_mode({"WSFAST_EXTENSIONS": "maybe"})


def test_max_simd_parsing() -> None:
    assert _env.max_simd_level({}) == -1
    assert _env.max_simd_level({"WSFAST_MAX_SIMD": "scalar"}) == 0
    assert _env.max_simd_level({"WSFAST_MAX_SIMD": "AVX2"}) == 2
    assert _env.max_simd_level({"WSFAST_MAX_SIMD": "avx512"}) == 3
    with pytest.raises(ValueError, match="WSFAST_MAX_SIMD"):
        _env.max_simd_level({"WSFAST_MAX_SIMD": "avx1024"})


def _run(code: str, **env: str) -> str:
    full = dict(os.environ, **env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip()


def test_env_zero_forces_pure_python() -> None:
    assert _run("import wsfast; print(wsfast.IMPLEMENTATION)", WSFAST_EXTENSIONS="0") == "python"


def test_max_simd_caps_kernels() -> None:
    load_backend("cython")  # skips, or fails under WSFAST_EXTENSIONS=1, when not built
    out = _run("import wsfast; print(wsfast.kernels())", WSFAST_MAX_SIMD="scalar", WSFAST_EXTENSIONS="1")
    assert out == "{'mask': 'scalar', 'utf8': 'scalar', 'utf8_decode': 'scalar'}"


def test_version_is_one_number() -> None:
    from importlib import metadata

    from wsfast import _version

    assert wsfast.__version__ == _version.__version__
    try:
        installed = metadata.version("wsfast")
    except metadata.PackageNotFoundError:
        pytest.skip("wsfast is imported from a source tree that was not installed")
    assert installed == wsfast.__version__
