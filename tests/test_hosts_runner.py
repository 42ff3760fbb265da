"""The host test-suite runner (tests/hosts/run.py): reading junitxml and
telling a patched run that differs from the unpatched one. The runs
themselves are CI's (.ci/hosts): they download sdists."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

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
