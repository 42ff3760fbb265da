"""The libraries wsfast is measured against, found and imported lazily.

Nothing here imports a peer until a workload asks for it: listing what is
installed reads package metadata only, so ``--only mask`` never pays for
importing aiohttp's parser, and a peer that is missing or broken turns into a
skipped candidate with the reason, not a failed run.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import types
from typing import Dict, List, NamedTuple, Optional, Tuple

__all__ = ["PEERS", "PeerUnavailable", "discover", "module", "version", "unavailable"]


class Peer(NamedTuple):
    key: str
    distribution: str
    module: str
    measured_for: str


PEERS: Dict[str, Peer] = {
    peer.key: peer
    for peer in (
        Peer("websockets", "websockets", "websockets", "mask (C and pure), frame parsing and building"),
        Peer("aiohttp", "aiohttp", "aiohttp", "in-place mask, reader_c parser, writer"),
        Peer("wsaccel", "wsaccel", "wsaccel", "mask, UTF-8 validation"),
        Peer("wsproto", "wsproto", "wsproto", "mask, frame parsing and building"),
        Peer("picows", "picows", "picows", "frame parsing and building"),
        Peer("tornado", "tornado", "tornado", "mask"),
        Peer("websocket-client", "websocket-client", "websocket", "mask, frame building"),
        Peer("autobahn", "autobahn", "autobahn", "mask, UTF-8 validation"),
        Peer("numpy", "numpy", "numpy", "in-place XOR floor"),
    )
}


class PeerUnavailable(Exception):
    """A peer (or the part of it a candidate needs) cannot be used here."""


_failed: Dict[str, str] = {}


def _installed(peer: Peer) -> Optional[str]:
    """Why the peer is not installed, or None when it is."""
    try:
        found = importlib.util.find_spec(peer.module)
    except (ImportError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if found is None:
        return f"not installed (pip install {peer.distribution})"
    return None


def version(key: str) -> str:
    peer = PEERS[key]
    try:
        return importlib.metadata.version(peer.distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def discover() -> Tuple[Dict[str, str], Dict[str, str]]:
    """``({key: version}, {key: why missing})`` without importing any peer."""
    found: Dict[str, str] = {}
    missing: Dict[str, str] = {}
    for key, peer in PEERS.items():
        reason = _failed.get(key) or _installed(peer)
        if reason is None:
            found[key] = version(key)
        else:
            missing[key] = reason
    return found, missing


def module(key: str, name: Optional[str] = None) -> types.ModuleType:
    """Import ``name`` (default: the peer's top-level module) of peer ``key``.

    Raises PeerUnavailable with the reason when the peer is missing or the
    import fails; a failed top-level import is remembered, so the header
    reports it as missing.
    """
    peer = PEERS[key]
    if key in _failed:
        raise PeerUnavailable(_failed[key])
    reason = _installed(peer)
    if reason is not None:
        raise PeerUnavailable(reason)
    target = name or peer.module
    try:
        return importlib.import_module(target)
    except Exception as exc:  # a broken install must not stop the whole run
        why = f"import {target} failed: {type(exc).__name__}: {exc}"
        if target == peer.module:
            _failed[key] = why
        raise PeerUnavailable(why) from None


def unavailable(key: str, *names: str) -> Optional[str]:
    """None when peer ``key`` and its modules ``names`` import, else why not."""
    try:
        module(key)
        for name in names:
            module(key, name)
    except PeerUnavailable as exc:
        return str(exc)
    return None


def found_keys() -> List[str]:
    return list(discover()[0])
