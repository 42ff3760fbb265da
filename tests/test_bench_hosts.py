"""``python -m wsfast bench --hosts``: a short real run through the CLI, its
JSON, and the hosts left as they were found. Speed is not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsfast import dropin
from wsfast._bench import cli

from .conftest import MODE

TINY = ["--repeat", "1", "--min-time", "0.5"]

pytestmark = pytest.mark.skipif(MODE == "0", reason="patch() needs the compiled backend")


def test_hosts_bench_tornado(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tornado")
    import tornado.util
    import tornado.websocket

    original = tornado.websocket._websocket_mask
    out = tmp_path / "hosts.json"
    code = cli.main(["--hosts", "--only", "tornado/mask", "tornado/recv/64KiB", *TINY, "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "tornado " in text and "mask/64KiB" in text and "recv/64KiB-text" in text
    assert "send/10k-small" not in text  # --only keeps to the cases asked for
    rows = json.loads(out.read_text())["hosts"]
    assert {row["case"] for row in rows} == {"mask/64KiB", "mask/125B", "recv/64KiB-text"}
    for row in rows:
        assert row["status"] == "ok" and row["ratio"] > 0 and row["patched_best_ns"] > 0
    # The run patches and unpatches; afterwards tornado has its own objects.
    assert "tornado" not in dropin.patched()
    assert tornado.websocket._websocket_mask is original is tornado.util._websocket_mask


def test_a_case_whose_patched_result_differs_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tornado")
    from wsfast._bench import hosts, runner

    flips = iter([b"unpatched", b"patched"])

    def setup():  # type: ignore[no-untyped-def]
        value = next(flips)
        return (lambda: value), (lambda: None)

    case = hosts.Case("odd", "a case that answers differently patched", setup, 1, 1)
    result = hosts.run_case("tornado", case, runner.Settings(repeats=1, target_ns=100_000))
    assert result.status == "failed" and "differs" in result.reason
    assert "tornado" not in dropin.patched()
