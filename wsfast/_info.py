"""``python -m wsfast info``: is the fast path active, and if not, why not.

Also the kernels in use, every CPU feature a kernel checks (found or not),
and the WebSocket libraries installed beside wsfast, with their versions
and whether ``wsfast.patch()`` has been applied to them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import sysconfig
from typing import Any, Dict, List, Optional, Tuple

from . import _env

# What needs each feature (x86-64; on arm64 NEON is architectural).
_NEEDED_BY = {
    "sse2": "every x86-64 kernel (architectural)",
    "osxsave": "AVX2 and AVX-512 kernels (the OS manages the vector state)",
    "avx": "AVX2 and AVX-512 kernels",
    "os_ymm": "AVX2 and AVX-512 kernels (the OS saves YMM registers)",
    "os_zmm": "AVX-512 kernels (the OS saves ZMM and mask registers)",
    "avx2": "AVX2 and AVX-512 kernels",
    "bmi2": "AVX2 and AVX-512 kernels",
    "avx512f": "AVX-512 kernels",
    "avx512bw": "AVX-512 kernels",
    "popcnt": "AVX2 and AVX-512 UTF-8 decoders",
    "avx512vbmi2": "AVX-512 UTF-8 decoder (else the AVX2 one)",
    "neon": "every arm64 kernel (architectural)",
}

# The libraries wsfast can patch, by import name and PyPI name, for when the
# drop-in package is not part of this build.
_KNOWN_HOSTS = (
    ("websockets", "websockets"),
    ("aiohttp", "aiohttp"),
    ("wsproto", "wsproto"),
    ("tornado", "tornado"),
    ("websocket-client", "websocket-client"),
    ("autobahn", "autobahn"),
)


def fast_path(
    implementation: Optional[str] = None,
    interpreter: Optional[str] = None,
    environ: Optional[Dict[str, str]] = None,
    import_error: Optional[str] = None,
) -> Tuple[bool, str]:
    """``(active, reason)``: whether the compiled backend is in use, and in
    plain words why (not). The arguments default to this process."""
    if implementation is None:
        import wsfast

        implementation = wsfast.IMPLEMENTATION
    interpreter = interpreter or platform.python_implementation()
    env = dict(os.environ) if environ is None else environ
    raw = env.get("WSFAST_EXTENSIONS", "")
    if implementation == "cython":
        why = "the compiled backend is loaded"
        if raw.strip():
            why += f" (WSFAST_EXTENSIONS={raw})"
        return True, why
    if interpreter != "CPython":
        return False, (
            f"{interpreter} runs the pure-Python backend: the compiled modules are built for "
            "CPython's C API (wsfast behaves the same, only slower)"
        )
    if raw.strip() and _env.extensions_mode(env) == "0":
        return False, f"pure Python chosen by WSFAST_EXTENSIONS={raw}"
    if import_error is None:
        import_error = _compiled_import_error() or "the compiled modules did not load"
    tag = sysconfig.get_config_var("EXT_SUFFIX") or ""
    return False, (
        f"no compiled module for this interpreter ({interpreter} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, extension suffix {tag!r}): {import_error}. "
        "Install a wheel built for it, or build from the sdist with a C compiler "
        "(WSFAST_EXTENSIONS=1 makes a failed build an error)"
    )


def _compiled_import_error() -> Optional[str]:
    for name in ("_mask_c", "_utf8_c", "_objects_c", "_codec_c"):
        try:
            importlib.import_module(f"wsfast.{name}")
        except ImportError as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


def cpu_checks() -> Optional[Dict[str, bool]]:
    """Every CPU feature a kernel checks, found or not; None without the
    compiled backend (the pure one checks none)."""
    try:
        from . import _mask_c
    except ImportError:
        return None
    checks: Dict[str, bool] = _mask_c.cpu_checks()
    return checks


def hosts() -> Tuple[bool, List[Dict[str, Any]]]:
    """``(patchable, hosts)``: the installed host libraries with their
    versions and patch state. ``patchable`` is False when this build has no
    drop-in package; the installed libraries are listed anyway."""
    try:
        dropin = importlib.import_module("wsfast.dropin")
        listing = dropin.hosts()
    except Exception:
        # Hook: with wsfast.dropin present and working, its hosts() answers;
        # otherwise the installed libraries are still listed, and those
        # that patched() names (when it answers) are marked patched.
        return _hosts_from_metadata()
    found = []
    for host in listing:
        version = getattr(host, "version", None)
        if version is None:
            continue  # not installed
        found.append(
            {
                "name": host.name,
                "distribution": getattr(host, "distribution", host.name),
                "version": version,
                "patched": bool(getattr(host, "patched", False)),
            }
        )
    return True, found


def _hosts_from_metadata() -> Tuple[bool, List[Dict[str, Any]]]:
    from importlib import metadata

    try:
        patched = set(importlib.import_module("wsfast.dropin").patched())
        patchable = True
    except Exception:
        patched, patchable = set(), False
    found = []
    for name, distribution in _KNOWN_HOSTS:
        try:
            version: Optional[str] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        found.append({"name": name, "distribution": distribution, "version": version, "patched": name in patched})
    return patchable, found


def report() -> Dict[str, Any]:
    """Everything ``info`` prints, as data."""
    import wsfast

    active, reason = fast_path()
    patchable, installed = hosts()
    gil = getattr(sys, "_is_gil_enabled", None)
    return {
        "wsfast": wsfast.__version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": True if gil is None else bool(gil()),
        "implementation": wsfast.IMPLEMENTATION,
        "fast_path": active,
        "reason": reason,
        "kernels": wsfast.kernels(),
        "max_simd": os.environ.get("WSFAST_MAX_SIMD", ""),
        "cpu": cpu_checks(),
        "patchable": patchable,
        "hosts": installed,
    }


def render(data: Dict[str, Any]) -> str:
    lines = [
        f"wsfast {data['wsfast']} on {data['python']} ({data['platform']})",
    ]
    if data["free_threaded"]:
        lines.append(f"free-threaded build, GIL {'enabled' if data['gil_enabled'] else 'disabled'}")
    state = "ACTIVE" if data["fast_path"] else "NOT ACTIVE"
    lines.append(f"fast path: {state}: {data['reason']}")
    lines.append(f"backend: {data['implementation']}")
    kernels = ", ".join(f"{name} {kernel}" for name, kernel in data["kernels"].items())
    cap = f" (capped by WSFAST_MAX_SIMD={data['max_simd']})" if data["max_simd"] else ""
    lines.append(f"kernels: {kernels}{cap}")
    lines.append("")
    cpu = data["cpu"]
    if cpu is None:
        lines.append("CPU features: not read (no compiled module; the pure backend uses none)")
    elif not cpu:
        lines.append("CPU features: none checked on this architecture (scalar kernels)")
    else:
        lines.append("CPU features the kernels check:")
        for name, found in cpu.items():
            lines.append(f"  {name:12} {'yes' if found else 'no ':4} {_NEEDED_BY.get(name, '')}")
    lines.append("")
    if not data["hosts"]:
        lines.append("host libraries: none of websockets, aiohttp, wsproto, tornado, websocket-client, autobahn")
    else:
        lines.append("host libraries installed:")
        for host in data["hosts"]:
            if data["patchable"]:
                state = "patched" if host["patched"] else "not patched"
            else:
                state = "wsfast.patch() not in this build"
            lines.append(f"  {host['name']:17} {host['version']:12} {state}")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast info",
        description=(
            "Say whether wsfast's fast path (the compiled backend) is active and why not, "
            "which kernels run, every CPU feature the kernels check, and the WebSocket "
            "libraries installed beside wsfast with their versions and patch state."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the same as one JSON object")
    args = parser.parse_args(argv)
    data = report()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(render(data))
    return 0
