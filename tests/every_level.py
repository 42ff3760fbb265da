"""Run the non-interop suite once per kernel level this CPU has.

The wheels' test command (``[tool.cibuildwheel] test-command``) and
``.ci/release`` run this from a copy of the tests outside the source tree, so
that the installed wheel is what gets tested. Each run caps the kernels with
``WSFAST_MAX_SIMD``, so the frame codec, not only the masking and UTF-8
tests, meets every kernel the machine can run (scalar, SSE2, AVX2, AVX-512 on
x86-64; scalar and NEON on arm64). Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List


def levels() -> List[str]:
    """The distinct kernels this CPU runs, lowest first (``["python"]`` when
    the pure backend is in use)."""
    import wsfast
    from wsfast import _backend, _env

    if wsfast.IMPLEMENTATION != "cython":
        return ["python"]
    api = _backend.load("cython")
    found: List[str] = []
    seen = set()
    try:
        for index, name in enumerate(_env.SIMD_LEVELS):
            # A cap above what the CPU has gives a kernel already seen; NEON
            # answers the SSE2 cap on arm64.
            kernel = api.select_kernels(index)["mask"]
            if kernel not in seen:
                seen.add(kernel)
                found.append(name)
    finally:
        api.select_kernels(_env.max_simd_level())
    return found


def main(argv: List[str]) -> int:
    import wsfast

    print(f"wsfast {wsfast.__version__}: {wsfast.IMPLEMENTATION} {wsfast.kernels()}", flush=True)
    if os.environ.get("WSFAST_EXTENSIONS") == "1" and wsfast.IMPLEMENTATION != "cython":
        print("WSFAST_EXTENSIONS=1 but the compiled backend is not in use", file=sys.stderr)
        return 1
    here = os.path.dirname(os.path.abspath(__file__))
    status = 0
    for level in levels():
        env = dict(os.environ)
        if level != "python":
            env["WSFAST_MAX_SIMD"] = level
        print(f"\n== kernels capped at {level}", flush=True)
        command = [sys.executable, "-m", "pytest", here, "-m", "not interop", "-q", "-p", "no:cacheprovider", *argv]
        status = subprocess.call(command, env=env) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
