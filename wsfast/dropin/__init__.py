"""Drop-in: make the WebSocket libraries people already run use wsfast.

``patch()`` swaps a host library's hot paths (masking, UTF-8 checks, frame
parsing and building) for wsfast's, ``unpatch()`` puts the host's own objects
back (the very same objects), ``patched()`` says what is patched now.

Each host has one adapter module here (``wsfast/dropin/<host>.py``) that says
what it replaces and why that keeps the host's behaviour. An adapter module
defines:

``NAME``
    the host's name as ``patch()`` takes it (``"websocket-client"``);
``DISTRIBUTION``
    the distribution to ``pip install`` and to read the version of;
``IMPORT``
    the top-level module the host is imported as;
``TESTED``
    ``(lowest, below)``: the versions the adapter was tested on, lowest
    included, ``below`` excluded. Other versions are refused with a warning,
    never patched blind;
``replacements(api) -> list of (owner, attribute, new)``
    imports the host modules it needs and names every attribute to replace;
    ``api`` is the wsfast backend to build the replacements on.

The framework does the bookkeeping: it records each original as it was
stored (a ``staticmethod`` stays a ``staticmethod``), applies all of a host's
replacements or none, and restores them in reverse order.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import threading
import types
import warnings
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

__all__ = [
    "HOSTS",
    "HostInfo",
    "UntestedVersionWarning",
    "hosts",
    "patch",
    "patched",
    "unpatch",
]

#: Host name -> adapter module (inside this package), in the documented order.
HOSTS: Dict[str, str] = {
    "websockets": "websockets",
    "aiohttp": "aiohttp",
    "wsproto": "wsproto",
    "tornado": "tornado",
    "websocket-client": "websocket_client",
    "autobahn": "autobahn",
}

_MISSING = object()
_lock = threading.RLock()


class UntestedVersionWarning(RuntimeWarning):
    """A host's installed version is outside what its adapter was tested on."""


class HostInfo(NamedTuple):
    """One host library as ``hosts()`` reports it."""

    name: str
    distribution: str
    version: Optional[str]  # None: not installed
    patched: bool
    tested: Tuple[str, str]

    @property
    def installed(self) -> bool:
        return self.version is not None

    @property
    def supported(self) -> bool:
        return self.version is not None and _in_range(self.version, self.tested)


class _Applied(NamedTuple):
    version: str
    # (owner, attribute, what was stored there before or _MISSING)
    originals: List[Tuple[Any, str, Any]]


_applied: Dict[str, _Applied] = {}


def _adapter(name: str) -> types.ModuleType:
    if not isinstance(name, str):
        raise TypeError(f"host names are str, not {type(name).__name__}")
    try:
        module = HOSTS[name]
    except KeyError:
        raise ValueError(f"unknown host {name!r}; known hosts: {', '.join(HOSTS)}") from None
    return importlib.import_module(f"{__name__}.{module}")


def _version_key(version: str) -> Tuple[int, ...]:
    """``"17.4"`` -> ``(17, 4)``; pre-release and local suffixes are dropped."""
    parts = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        parts.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(parts)


def _in_range(version: str, tested: Tuple[str, str]) -> bool:
    key = _version_key(version)
    return _version_key(tested[0]) <= key < _version_key(tested[1])


def _installed_version(adapter: types.ModuleType) -> Optional[str]:
    if importlib.util.find_spec(adapter.IMPORT) is None:
        return None
    try:
        return importlib.metadata.version(adapter.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _stored(owner: Any, attribute: str) -> Any:
    """What ``owner`` itself stores under ``attribute`` (not an inherited or
    descriptor-bound value), so that restoring it is exact."""
    try:
        return vars(owner).get(attribute, _MISSING)
    except TypeError:  # an object without a __dict__
        return getattr(owner, attribute, _MISSING)


def _apply(name: str, api: Any) -> bool:
    """Patch one host with the given backend; False when refused."""
    adapter = _adapter(name)
    with _lock:
        if name in _applied:
            return True
        version = _installed_version(adapter)
        if version is None:
            raise ImportError(
                f"{name} is not installed; `pip install {adapter.DISTRIBUTION}` to patch it",
                name=adapter.IMPORT,
            )
        if not _in_range(version, adapter.TESTED):
            lowest, below = adapter.TESTED
            warnings.warn(
                f"wsfast: {adapter.DISTRIBUTION} {version} is outside the versions its "
                f"adapter was tested on (>={lowest}, <{below}); left unpatched",
                UntestedVersionWarning,
                stacklevel=3,
            )
            return False
        originals: List[Tuple[Any, str, Any]] = []
        try:
            for owner, attribute, new in adapter.replacements(api):
                originals.append((owner, attribute, _stored(owner, attribute)))
                setattr(owner, attribute, new)
        except BaseException:
            _restore(originals)
            raise
        _applied[name] = _Applied(version, originals)
        return True


def _restore(originals: List[Tuple[Any, str, Any]]) -> None:
    for owner, attribute, original in reversed(originals):
        if original is _MISSING:
            try:
                delattr(owner, attribute)
            except AttributeError:
                pass
        else:
            setattr(owner, attribute, original)


def _compiled_api() -> Optional[Any]:
    """The compiled backend if the process uses it; patching hosts with the
    pure twin would make most of them slower, not faster."""
    from .. import _backend

    api = _backend.select()
    return api if api.IMPLEMENTATION == "cython" else None


def patch(*names: str) -> List[str]:
    """Make the named host libraries use wsfast's hot paths.

    With no names, every installed host is patched. Returns the names that
    are patched when it returns (patching twice is a no-op). An unknown name
    raises ``ValueError``, a host that is not installed ``ImportError``
    naming its pip package; a host version outside the range its adapter was
    tested on is left alone with an ``UntestedVersionWarning``. Without the
    compiled backend nothing is patched (a ``RuntimeWarning`` says why).
    Safe to call before or after the host is imported.
    """
    for name in names:
        _adapter(name)  # unknown names fail before anything is patched
    api = _compiled_api()
    if api is None:
        warnings.warn(
            "wsfast: the compiled backend is not in use (see `python -m wsfast info`); "
            "host libraries left unpatched",
            RuntimeWarning,
            stacklevel=2,
        )
        return []
    return _patch_with(api, names)


def _patch_with(api: Any, names: Tuple[str, ...]) -> List[str]:
    """``patch()`` with an explicit backend (the tests run both)."""
    if names:
        wanted = list(dict.fromkeys(names))
    else:
        wanted = [name for name in HOSTS if _installed_version(_adapter(name)) is not None]
    done = []
    for name in wanted:
        if _apply(name, api):
            done.append(name)
    return done


def unpatch(*names: str) -> None:
    """Restore the hosts' own objects (the same objects, by identity).

    With no names, every patched host. A host that is not patched is left
    as it is; an unknown name raises ``ValueError``.
    """
    for name in names:
        _adapter(name)
    with _lock:
        for name in list(names or _applied):
            applied = _applied.pop(name, None)
            if applied is not None:
                _restore(applied.originals)


def patched() -> Dict[str, str]:
    """Each patched host and its version."""
    with _lock:
        return {name: applied.version for name, applied in _applied.items()}


def hosts() -> List[HostInfo]:
    """Every host wsfast has an adapter for: installed version, patched or not."""
    result = []
    for name in HOSTS:
        adapter = _adapter(name)
        result.append(
            HostInfo(
                name=name,
                distribution=adapter.DISTRIBUTION,
                version=_installed_version(adapter),
                patched=name in _applied,
                tested=adapter.TESTED,
            )
        )
    return result
