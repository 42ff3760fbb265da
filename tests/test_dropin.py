"""The drop-in framework: patch(), unpatch(), patched(), hosts().

The host-specific behaviour of each adapter is tested in its own module;
here the bookkeeping is: names, errors, identity on unpatch, all-or-nothing,
version ranges. A stand-in host package is made on disk so that these rules
are tested without depending on which real hosts are installed.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from pathlib import Path
from typing import Iterator

import pytest

import wsfast
from wsfast import dropin

ADAPTER = '''
NAME = "fakehost"
DISTRIBUTION = "fakehost"
IMPORT = "fakehost"
TESTED = ("1.0", "2.0")

def replacements(api):
    import fakehost, fakehost.sub
    return [
        (fakehost, "mask", lambda mask, data: api.apply_mask(data, mask)),
        (fakehost.sub, "mask", lambda mask, data: api.apply_mask(data, mask)),
        (fakehost.Codec, "check", staticmethod(api.validate_utf8)),
        (fakehost.Codec, "added", True),
    ]
'''


@pytest.fixture
def fakehost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """An installed package ``fakehost`` 1.5 with its dist-info, and an
    adapter for it registered as a host."""
    package = tmp_path / "fakehost"
    package.mkdir()
    (package / "__init__.py").write_text(
        "def mask(mask, data):\n    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))\n"
        "class Codec:\n    @staticmethod\n    def check(data):\n        return True\n"
    )
    (package / "sub.py").write_text("from . import mask\n")
    info = tmp_path / "fakehost-1.5.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakehost\nVersion: 1.5\n")
    adapter = tmp_path / "wsfast_fake_adapter.py"
    adapter.write_text(ADAPTER)
    # Not syspath_prepend: it calls into pkg_resources, which some installed
    # packages shadow with a partial shim.
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    module = importlib.import_module("wsfast_fake_adapter")
    sys.modules["wsfast.dropin.fakehost"] = module
    monkeypatch.setitem(dropin.HOSTS, "fakehost", "fakehost")
    import fakehost

    try:
        yield fakehost
    finally:
        dropin.unpatch("fakehost")
        for name in ("wsfast.dropin.fakehost", "wsfast_fake_adapter", "fakehost", "fakehost.sub"):
            sys.modules.pop(name, None)


def test_public_names() -> None:
    assert wsfast.patch is dropin.patch
    assert wsfast.unpatch is dropin.unpatch
    assert wsfast.patched is dropin.patched
    assert list(dropin.HOSTS) == ["websockets", "aiohttp", "wsproto", "tornado", "websocket-client", "autobahn"]


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown host 'nope'; known hosts: websockets, aiohttp"):
        wsfast.patch("nope")
    with pytest.raises(ValueError, match="unknown host"):
        wsfast.unpatch("nope")
    with pytest.raises(TypeError):
        wsfast.patch(3)  # type: ignore[arg-type]


def test_patch_and_unpatch_restore_identity(ws: types.SimpleNamespace, fakehost: types.ModuleType) -> None:
    import fakehost.sub as sub

    before = (fakehost.mask, sub.mask, vars(fakehost.Codec)["check"])
    assert dropin._patch_with(ws, ("fakehost",)) == ["fakehost"]
    assert dropin.patched()["fakehost"] == "1.5"
    assert fakehost.mask is not before[0] and sub.mask is not before[1]
    assert fakehost.mask(b"abcd", b"hello") == before[0](b"abcd", b"hello")
    assert fakehost.Codec.check(b"\xff") is False  # the staticmethod is wsfast's now
    assert fakehost.Codec.added is True
    # Twice is a no-op: the same objects stay in place.
    current = fakehost.mask
    assert dropin._patch_with(ws, ("fakehost",)) == ["fakehost"]
    assert fakehost.mask is current
    dropin.unpatch("fakehost")
    assert (fakehost.mask, sub.mask, vars(fakehost.Codec)["check"]) == before
    assert fakehost.mask is before[0] and vars(fakehost.Codec)["check"] is before[2]
    assert not hasattr(fakehost.Codec, "added")
    assert "fakehost" not in dropin.patched()
    dropin.unpatch("fakehost")  # not patched: nothing happens


def test_a_failing_replacement_patches_nothing(
    ws: types.SimpleNamespace, fakehost: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = fakehost.mask
    adapter = sys.modules["wsfast.dropin.fakehost"]

    def replacements(api: object) -> object:
        yield (fakehost, "mask", None)
        raise RuntimeError("adapter broke")

    monkeypatch.setattr(adapter, "replacements", replacements)
    with pytest.raises(RuntimeError, match="adapter broke"):
        dropin._patch_with(ws, ("fakehost",))
    assert fakehost.mask is original
    assert "fakehost" not in dropin.patched()


def test_untested_version_is_refused_with_a_warning(
    ws: types.SimpleNamespace, fakehost: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = sys.modules["wsfast.dropin.fakehost"]
    monkeypatch.setattr(adapter, "TESTED", ("1.6", "2.0"))
    original = fakehost.mask
    with pytest.warns(dropin.UntestedVersionWarning, match=r"fakehost 1.5 is outside .*>=1.6, <2.0"):
        assert dropin._patch_with(ws, ("fakehost",)) == []
    assert fakehost.mask is original


def test_host_not_installed_names_the_pip_package(
    ws: types.SimpleNamespace, fakehost: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = sys.modules["wsfast.dropin.fakehost"]
    monkeypatch.setattr(adapter, "IMPORT", "fakehost_not_there")
    monkeypatch.setattr(adapter, "DISTRIBUTION", "fakehost-dist")
    with pytest.raises(ImportError, match=r"pip install fakehost-dist") as info:
        dropin._patch_with(ws, ("fakehost",))
    assert info.value.name == "fakehost_not_there"


def test_no_names_patches_every_installed_host(
    ws: types.SimpleNamespace, fakehost: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dropin, "HOSTS", {"fakehost": "fakehost"})
    assert dropin._patch_with(ws, ()) == ["fakehost"]
    info = dropin.hosts()
    assert [(h.name, h.version, h.patched, h.supported) for h in info] == [("fakehost", "1.5", True, True)]
    dropin.unpatch()
    assert dropin.patched() == {}


def test_pure_backend_patches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dropin, "_compiled_api", lambda: None)
    with pytest.warns(RuntimeWarning, match="compiled backend is not in use"):
        assert wsfast.patch() == []


def test_version_ranges() -> None:
    assert dropin._version_key("17.4") == (17, 4)
    assert dropin._version_key("3.14.5rc1") == (3, 14, 5)
    assert dropin._version_key("1.9.2.post1") == (1, 9, 2)
    assert dropin._in_range("6.6.1", ("6.4", "6.7"))
    assert not dropin._in_range("6.7", ("6.4", "6.7"))
    assert not dropin._in_range("6.3.9", ("6.4", "6.7"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dropin._version_key("dev") == ()
