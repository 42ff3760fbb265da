"""Choosing a backend: ``WSFAST_EXTENSIONS`` against a compiled backend that
does not import (both modes that can meet it), and ``load`` arguments."""

from __future__ import annotations

import sys
from typing import Iterator

import pytest

from wsfast import _backend


@pytest.fixture
def no_compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The compiled modules fail to import, as on a machine without them."""
    monkeypatch.setattr(_backend, "_cache", {})
    for name in ("wsfast._mask_c", "wsfast._utf8_c", "wsfast._codec_c"):
        # None in sys.modules makes the import raise ImportError.
        monkeypatch.setitem(sys.modules, name, None)
    yield


def test_auto_falls_back_to_pure_python(no_compiled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSFAST_EXTENSIONS", "auto")
    api = _backend.select()
    assert api.IMPLEMENTATION == "python"
    assert api.kernels() == {"mask": "python", "utf8": "python", "utf8_decode": "python"}
    assert api.select_kernels(0) == api.kernels()


def test_required_compiled_backend_raises_with_the_reason(no_compiled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSFAST_EXTENSIONS", "1")
    with pytest.raises(ImportError, match=r"WSFAST_EXTENSIONS=1 but the compiled modules .* did not import"):
        _backend.select()


def test_zero_selects_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSFAST_EXTENSIONS", "0")
    assert _backend.select().IMPLEMENTATION == "python"


@pytest.mark.parametrize("name", ["c", "", "pypy", "CYTHON"])
def test_load_refuses_unknown_implementations(name: str) -> None:
    with pytest.raises(ValueError, match="implementation must be one of"):
        _backend.load(name)


def test_load_is_cached() -> None:
    assert _backend.load("python") is _backend.load("python")
