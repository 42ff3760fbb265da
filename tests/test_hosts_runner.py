"""The host test-suite runner (tests/hosts/run.py): reading junitxml,
telling a patched run that differs from the unpatched one, and a host's
tests from an archive other than its sdist (checked by sha256, run against
that exact version). The runs themselves are CI's (.ci/hosts): they
download sdists."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tarfile
import types
from pathlib import Path
from typing import Any

import pytest

HOSTS_DIR = Path(__file__).resolve().parent / "hosts"


@pytest.fixture(scope="module")
def runner() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("_wsfast_hosts_run", HOSTS_DIR / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase classname="websocket_test.WebSocketTest" name="test_echo" time="0.1"/>
  <testcase classname="websocket_test.WebSocketTest" name="test_bad" time="0.1">
    <failure message="boom">trace</failure></testcase>
  <testcase classname="websocket_test.WebSocketTest" name="test_bad" time="0.1">
    <error message="teardown">trace</error></testcase>
  <testcase classname="websocket_test.WebSocketTest" name="test_skip" time="0">
    <skipped message="no network"/></testcase>
  <testcase classname="websocket_test" name="test_teardown" time="0.1">
    <error message="fixture">trace</error></testcase>
</testsuite></testsuites>
"""


def test_outcomes_per_test_id(runner: types.ModuleType, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    result = runner.outcomes(junit)
    assert result == {
        "websocket_test.WebSocketTest::test_echo": "passed",
        # The first non-pass wins: a failure followed by a teardown error.
        "websocket_test.WebSocketTest::test_bad": "failed",
        "websocket_test.WebSocketTest::test_skip": "skipped",
        "websocket_test::test_teardown": "error",
    }
    assert runner.counts(result) == "1 passed, 1 failed, 1 error, 1 skipped"


def test_compare_reports_every_difference(runner: types.ModuleType) -> None:
    unpatched = {"a": "passed", "b": "failed", "c": "skipped"}
    assert runner.compare(unpatched, dict(unpatched)) == []
    patched = {"a": "failed", "b": "failed", "d": "passed"}
    assert runner.compare(unpatched, patched) == [
        "a: unpatched passed, patched failed",
        "c: unpatched skipped, patched absent",
        "d: unpatched absent, patched passed",
    ]


def test_definitions_load_without_shadowing_hosts(runner: types.ModuleType) -> None:
    definitions = runner.definitions()
    assert "tornado" in definitions
    for name, definition in definitions.items():
        assert name == definition.NAME
        assert definition.DISTRIBUTION
        assert all(label for label, _, tests in runner.runs(definition) if len(runner.runs(definition)) > 1)
        assert all(tests for _, _, tests in runner.runs(definition))
    # tests/hosts/tornado.py is loaded under a private name, never as tornado.
    assert all(not getattr(sys.modules.get(n), "__file__", "").startswith(str(HOSTS_DIR))
               for n in ("tornado", "autobahn", "websockets", "aiohttp", "wsproto"))


def test_runs_split_by_label(runner: types.ModuleType) -> None:
    definition = types.SimpleNamespace(
        NAME="x", TESTS=["a/t1.py", "a/t2.py"], ENV={"COMMON": "1"},
        RUNS={"one": {"env": {"A": "1"}, "tests": ["a/t1.py"]}, "two": {"tests": ["a/t2.py"]}},
    )
    assert runner.runs(definition) == [
        ("one", {"COMMON": "1", "A": "1"}, ["a/t1.py"]),
        ("two", {"COMMON": "1"}, ["a/t2.py"]),
    ]
    plain = types.SimpleNamespace(NAME="y", TESTS=["t.py"])
    assert runner.runs(plain) == [("", {}, ["t.py"])]


def _archive(tmp_path: Path) -> Path:
    """A release archive with its tests in a package, as a file:// source."""
    tree = tmp_path / "tree" / "host-1.0"
    for name, text in {
        "tests/__init__.py": "",
        "tests/utils.py": "VALUE = 1\n",
        "tests/test_top.py": "from .utils import VALUE\n\ndef test_top():\n    assert VALUE == 1\n",
        "tests/sub/__init__.py": "",
        "tests/sub/test_deep.py": "from ..utils import VALUE\n\ndef test_deep():\n    assert VALUE\n",
        "tests/other/test_skipped_dir.py": "",
    }.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    archive = tmp_path / "host_1.0.orig.tar.gz"
    with tarfile.open(archive, "w:gz") as opened:
        opened.add(tree, arcname="host-1.0")
    return archive


def _sourced(archive: Path, digest: str, **fields: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        NAME="websockets", DISTRIBUTION="host", TESTS=["tests/test_top.py", "tests/sub"], PACKAGE=True,
        SUPPORT={"tests/utils.py": "tests/utils.py"},
        SOURCE={"url": archive.as_uri(), "sha256": digest, "version": "1.0"}, **fields,
    )


def test_source_archive_checked_by_sha256_and_downloaded_once(runner: types.ModuleType, tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    unpacked = runner.source_archive(_sourced(archive, digest), cache)
    assert (unpacked / "tests" / "sub" / "test_deep.py").is_file()
    assert (cache / "downloads" / archive.name).read_bytes() == archive.read_bytes()
    archive.unlink()  # from the cache from now on
    assert runner.source_archive(_sourced(archive, digest), cache) == unpacked


def test_source_archive_with_another_sha256_is_refused(runner: types.ModuleType, tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="refused"):
        runner.source_archive(_sourced(archive, "0" * 64), cache)
    # Nothing of it is kept: neither the download nor an unpacked tree.
    assert not any(p.is_file() for p in cache.rglob("*"))
    # An archive already in the cache that is not the one named is replaced.
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (cache / "downloads" / archive.name).write_bytes(b"not it")
    runner.source_archive(_sourced(archive, digest), cache)
    assert runner.sha256(cache / "downloads" / archive.name) == digest


def test_package_keeps_paths_and_init_files(runner: types.ModuleType, tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    definition = _sourced(archive, hashlib.sha256(archive.read_bytes()).hexdigest())
    source = runner.source_archive(definition, tmp_path / "cache")
    work = tmp_path / "work"
    assert runner.prepare(definition, source, work) == ["tests/test_top.py", "tests/sub"]
    copied = sorted(str(p.relative_to(work)) for p in work.rglob("*.py") if p.name != "wsfast_patch.py")
    assert copied == [
        "tests/__init__.py", "tests/sub/__init__.py", "tests/sub/test_deep.py", "tests/test_top.py", "tests/utils.py",
    ]
    flat = types.SimpleNamespace(NAME="x", TESTS=["tests/sub"])
    with pytest.raises(RuntimeError, match="not in the sdist"):
        runner.prepare(flat, source, tmp_path / "flat")  # a directory needs PACKAGE


def test_pinned_runs_check_the_host_version(runner: types.ModuleType, tmp_path: Path) -> None:
    """Both runs import the host from the pinned directory, and stop unless
    it is the version the tests are from."""
    archive = _archive(tmp_path)
    definition = _sourced(archive, hashlib.sha256(archive.read_bytes()).hexdigest())
    source = runner.source_archive(definition, tmp_path / "cache")
    pinned = tmp_path / "pinned"
    (pinned / "websockets").mkdir(parents=True)
    (pinned / "websockets" / "__init__.py").write_text('__version__ = "1.0"\n')
    work = tmp_path / "work"
    tests = runner.prepare(definition, source, work)
    result, _, _ = runner.run_pytest(definition, work, tests, False, {}, "", None, pinned)
    assert result == {"tests.test_top::test_top": "passed", "tests.sub.test_deep::test_deep": "passed"}
    definition.SOURCE["version"] = "2.0"
    with pytest.raises(RuntimeError, match="no usable report"):
        runner.run_pytest(definition, work, tests, False, {}, "", None, pinned)
    assert "the tests are websockets 2.0's, the host imported is 1.0" in (work / "pytest-unpatched.log").read_text()
