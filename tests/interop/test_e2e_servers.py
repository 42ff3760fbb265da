"""The end-to-end server benchmark (``bench/e2e``) works: each server starts
as users deploy it, unpatched and under ``python -m wsfast run`` (which
must log its patch line), and echoes Node's ws load client's text
messages intact (the load script rejects a wrong echo)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ..conftest import MODE
from .conftest import ROOT, require_peer

E2E = ROOT / "bench" / "e2e"


def _load(name: str, path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"wsfast_e2e_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


SERVE = _load("serve", E2E / "serve.py")
REQUIRES = {
    "uvicorn-wsproto": ("uvicorn", "wsproto"),
    "hypercorn": ("hypercorn", "wsproto"),
    "uvicorn-websockets": ("uvicorn", "websockets"),
    "uvicorn-websockets-sansio": ("uvicorn", "websockets"),
}


@pytest.mark.skipif(MODE == "0", reason="python -m wsfast run patches only with the compiled backend")
@pytest.mark.parametrize("server", list(SERVE.SERVERS))
@pytest.mark.parametrize("patched", [False, True], ids=["unpatched", "wsfast-run"])
def test_server_echoes_under_load(server: str, patched: bool) -> None:
    for module in REQUIRES.get(server, (server,)):
        if importlib.util.find_spec(module) is None:
            require_peer(module, f"pip install {module} (the [bench] extra)")
    if shutil.which("node") is None or not (ROOT / "tests/interop/node/node_modules/ws").is_dir():
        require_peer("node-ws", "npm ci --prefix tests/interop/node")
    run = _load("run", E2E / "run.py")
    # measure() raises unless the patched server logged wsfast's patch line
    # and the unpatched one did not; the load script fails on a bad echo.
    assert run.measure(server, patched, 1000, 0.3) > 0


@pytest.mark.skipif(MODE == "0", reason="python -m wsfast run patches only with the compiled backend")
def test_instruction_counts_come_from_both_states() -> None:
    """bench/e2e/instructions.py: callgrind's count of a short echo run, for
    websockets' serve() unpatched and under wsfast run's environment."""
    if importlib.util.find_spec("websockets") is None:
        require_peer("websockets", "pip install websockets (the [bench] extra)")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        require_peer("valgrind", "apt-get install valgrind")
    instructions = _load("instructions", E2E / "instructions.py")
    counts = [instructions.count("websockets", patched, 100, 30) for patched in (False, True)]
    assert all(n > 30 * 10_000 for n in counts)  # a Python server spends well over 10k per echo
