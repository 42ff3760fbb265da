"""pytest plugin for the host test suites: patch the host before its tests
import it, and report what was patched.

Loaded with ``-p wsfast_patch`` by ``run.py``. With ``WSFAST_HOST_PATCH=name``
it calls ``wsfast.patch(name)`` as the plugin is imported (after hiding the packages
named in ``WSFAST_HOST_HIDE``, e.g. ``wsaccel``), ahead of
collection, and stops the run (a usage error) if the host was not patched.
In both runs it writes ``{"patched": ..., "replaced": n, "still_patched":
bool}`` to ``WSFAST_HOST_REPORT`` when the session ends, so the runner can
tell a patched run from one where the patch silently went away. With
``WSFAST_HOST_VERSION=name==version`` (a definition's ``SOURCE``) it stops
both runs unless the host they import is that version.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from typing import Any

import pytest

import wsfast
from wsfast import dropin

# The host's test dependencies, installed aside: after site-packages, so the
# environment's own packages (the host, pytest) are the ones used. Appended
# here, before pytest reads the plugins' entry points (pytest-asyncio).
if os.environ.get("WSFAST_HOST_DEPS"):
    sys.path.append(os.environ["WSFAST_HOST_DEPS"])

# Accelerators to hide, as on a plain install (websocket-client picks
# wsaccel at import time): WSFAST_HOST_HIDE=wsaccel.
for _package in filter(None, os.environ.get("WSFAST_HOST_HIDE", "").split(",")):
    for _name in (_package, f"{_package}.xormask", f"{_package}.utf8validator"):
        sys.modules[_name] = None  # type: ignore[assignment]

HOST = os.environ.get("WSFAST_HOST_PATCH")
REPORT = os.environ.get("WSFAST_HOST_REPORT")

_error = ""
if os.environ.get("WSFAST_HOST_VERSION"):
    _name, _, _wanted = os.environ["WSFAST_HOST_VERSION"].partition("==")
    _module = importlib.import_module(importlib.import_module(f"wsfast.dropin.{dropin.HOSTS[_name]}").IMPORT)
    _found = getattr(_module, "__version__", None)
    if _found != _wanted:
        _error = f"the tests are {_name} {_wanted}'s, the host imported is {_found} ({_module.__file__})"
if HOST and not _error:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            done = wsfast.patch(HOST)
        except Exception as exc:  # reported as a usage error below
            done, _error = [], f"{type(exc).__name__}: {exc}"
    if HOST not in done and not _error:
        _error = "; ".join(str(w.message) for w in caught) or "patch() returned " + repr(done)
    if _error:
        _error = f"wsfast.patch({HOST!r}) did not apply: {_error}"


def pytest_configure(config: Any) -> None:
    if _error:
        raise pytest.UsageError(_error)


def pytest_report_header(config: Any) -> str:
    return f"wsfast {wsfast.__version__} ({wsfast.IMPLEMENTATION}); patched: {wsfast.patched() or 'nothing'}"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if not REPORT:
        return
    patched = wsfast.patched()
    applied = dropin._applied.get(HOST) if HOST else None
    still = bool(applied) and all(
        getattr(owner, attribute, None) is not original or original is dropin._MISSING
        for owner, attribute, original in applied.originals
    )
    with open(REPORT, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "patched": patched,
                "replaced": len(applied.originals) if applied else 0,
                "still_patched": still,
            },
            handle,
        )
