"""``python -m wsfast info``: the fast path's state in plain words, every CPU
feature a kernel checks, and the host libraries installed."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import types
from importlib import metadata
from typing import Any, List

import pytest

import wsfast
from wsfast import _info

from .conftest import MODE, load_backend


def _run_info(*args: str, **env: str) -> str:
    full = dict(os.environ, **env)
    out = subprocess.run(
        [sys.executable, "-m", "wsfast", "info", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


def test_report_matches_this_process() -> None:
    data = json.loads(_run_info("--json"))
    assert data["implementation"] == wsfast.IMPLEMENTATION
    assert data["fast_path"] is (wsfast.IMPLEMENTATION == "cython")
    assert data["wsfast"] == wsfast.__version__
    assert data["kernels"] == wsfast.kernels()


def test_pure_chosen_by_env_is_said_plainly() -> None:
    text = _run_info(WSFAST_EXTENSIONS="0")
    if platform.python_implementation() != "CPython":
        # The interpreter is the reason that matters there, whatever the env says.
        assert f"fast path: NOT ACTIVE: {platform.python_implementation()} runs the pure-Python backend" in text
    else:
        assert "fast path: NOT ACTIVE: pure Python chosen by WSFAST_EXTENSIONS=0" in text
    active, reason = _info.fast_path("python", "CPython", {"WSFAST_EXTENSIONS": "false"})
    assert not active and reason == "pure Python chosen by WSFAST_EXTENSIONS=false"


def test_compiled_backend_is_said_active() -> None:
    load_backend("cython")  # skips, or fails under WSFAST_EXTENSIONS=1, when not built
    text = _run_info(WSFAST_EXTENSIONS="1")
    assert "fast path: ACTIVE: the compiled backend is loaded" in text


def test_pypy_reason() -> None:
    active, reason = _info.fast_path("python", "PyPy", {})
    assert not active
    assert reason.startswith("PyPy runs the pure-Python backend")


def test_missing_compiled_module_reason() -> None:
    active, reason = _info.fast_path("python", "CPython", {}, import_error="No module named 'wsfast._mask_c'")
    assert not active
    assert reason.startswith("no compiled module for this interpreter (CPython ")
    assert "No module named 'wsfast._mask_c'" in reason and "wheel" in reason


def test_every_checked_cpu_feature_is_listed() -> None:
    load_backend("cython")
    checks = _info.cpu_checks()
    assert checks is not None
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        assert list(checks) == [
            "sse2", "osxsave", "avx", "os_ymm", "os_zmm", "avx2", "bmi2",
            "avx512f", "avx512bw", "popcnt", "avx512vbmi2",
        ]  # fmt: skip
    elif machine in ("aarch64", "arm64"):
        assert checks == {"neon": True}
    if MODE == "1" and not os.environ.get("WSFAST_MAX_SIMD"):
        # The kernels chosen agree with the features found.
        kernels = wsfast.kernels()
        if kernels["mask"] == "avx512":
            assert checks["avx512f"] and checks["avx512bw"] and checks["os_zmm"]
        if kernels["mask"] in ("avx2", "avx512"):
            assert checks["avx2"] and checks["bmi2"] and checks["os_ymm"]
        if kernels["utf8_decode"] == "avx512":
            assert checks["avx512vbmi2"] and checks["popcnt"]
        if checks.get("avx2") is False:
            assert kernels["mask"] not in ("avx2", "avx512")
    text = _info.render(_info.report())
    for name in checks:
        assert f"  {name} " in text


def test_hosts_without_the_dropin_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail even where the package exists.
    monkeypatch.setitem(sys.modules, "wsfast.dropin", None)
    patchable, found = _info.hosts()
    assert not patchable
    for host in found:
        assert host["version"] == metadata.version(host["distribution"])
        assert host["patched"] is False


def test_hosts_from_the_dropin_package(monkeypatch: pytest.MonkeyPatch) -> None:
    class Host:
        def __init__(self, name: str, version: Any, patched: bool) -> None:
            self.name = name
            self.distribution = name
            self.version = version
            self.patched = patched

    listing: List[Host] = [
        Host("tornado", "6.5", True),
        Host("aiohttp", "3.12.1", False),
        Host("wsproto", None, False),  # not installed: left out
    ]
    fake = types.ModuleType("wsfast.dropin")
    fake.hosts = lambda: listing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wsfast.dropin", fake)
    patchable, found = _info.hosts()
    assert patchable
    seen = [(h["name"], h["version"], h["patched"]) for h in found]
    assert seen == [("tornado", "6.5", True), ("aiohttp", "3.12.1", False)]
    data = dict(_info.report(), hosts=found, patchable=True)
    text = _info.render(data)
    assert "tornado           6.5          patched" in text
    assert "aiohttp           3.12.1       not patched" in text
    assert "wsproto" not in text.split("host libraries installed:")[1]
