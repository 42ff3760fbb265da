"""``python -m wsfast bench``: a short real run, its JSON, and its refusals."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from wsfast._bench import cli, report, runner, workloads

# One repeat of about half a millisecond per candidate, inputs up to 1 MiB:
# this checks the plumbing and every candidate's answer, not the speed.
TINY = ["--repeat", "1", "--min-time", "0.5", "--max-time", "0", "--max-size", "1MiB", "--no-progress"]

RESULT_KEYS = {
    "workload",
    "family",
    "candidate",
    "kind",
    "peer",
    "status",
    "check",
    "reason",
    "best_ns",
    "median_ns",
    "calls_per_repeat",
    "repeats",
    "bytes_per_call",
    "items_per_call",
    "throughput",
    "median_throughput",
    "throughput_unit",
    "ratio",
    "ratio_low",
    "ratio_high",
    "spread",
    "noisy",
    "noise",
    "best_peer",
    "note",
}


@pytest.fixture(scope="module")
def mask_run(tmp_path_factory: pytest.TempPathFactory) -> Tuple[int, Dict[str, Any], str]:
    path = tmp_path_factory.mktemp("bench") / "mask.json"
    capture = _Capture()
    with capture:
        code = cli.main(["--quick", "--only", "mask", "--json", str(path), *TINY])
    return code, json.loads(path.read_text(encoding="utf-8")), capture.text


class _Capture:
    """stdout of the run, for a module-scoped fixture (capsys is per test)."""

    def __enter__(self) -> None:
        import io

        self._saved = sys.stdout
        self._buffer = io.StringIO()
        sys.stdout = self._buffer

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._saved
        self.text = self._buffer.getvalue()


def test_quick_mask_run_succeeds(mask_run: Tuple[int, Dict[str, Any], str]) -> None:
    code, _, _ = mask_run
    assert code == 0


def test_json_structure(mask_run: Tuple[int, Dict[str, Any], str]) -> None:
    _, document, _ = mask_run
    assert set(document) == {"meta", "results"}
    meta = document["meta"]
    assert set(meta) >= {"wsfast", "python", "peers", "settings", "load"}
    load = meta["load"]
    if load["available"]:
        assert load["cores"] >= 1 and 0 <= load["start"] <= load["max"]
        assert load["busy"] is (load["max_per_core"] >= report.BUSY_PER_CORE)
    assert meta["wsfast"]["implementation"] in ("cython", "python")
    assert isinstance(meta["wsfast"]["kernels"], dict)
    assert set(meta["peers"]) == {"found", "missing"}
    assert meta["settings"]["quick"] is True
    results: List[Dict[str, Any]] = document["results"]
    assert results
    for result in results:
        assert set(result) == RESULT_KEYS, result
    names = {r["workload"] for r in results}
    # "mask" is a prefix: both the new-bytes and the in-place families run.
    expected = {
        w.name
        for w in workloads.WORKLOADS
        if w.family in ("mask", "mask-inplace") and w.size <= workloads.MiB
    }
    assert names == expected
    assert "mask/16B" in names and "mask-inplace/1MiB" in names and "mask/16MiB" not in names


def test_every_check_passes(mask_run: Tuple[int, Dict[str, Any], str]) -> None:
    _, document, _ = mask_run
    failed = [
        (r["workload"], r["candidate"], r["reason"]) for r in document["results"] if r["status"] == "failed"
    ]
    assert not failed
    for result in document["results"]:
        if result["status"] == "skipped":
            assert result["check"] == "not run" and result["reason"]
            assert result["best_ns"] is None
            continue
        assert result["status"] == "ok" and result["check"] == "passed"
        assert 0 < result["best_ns"] <= result["median_ns"]
        assert result["throughput"] > 0 and result["throughput_unit"] == "GB/s"
        assert result["bytes_per_call"] == workloads.get(result["workload"]).size


def test_wsfast_python_always_runs_and_ratios_point_at_a_peer(
    mask_run: Tuple[int, Dict[str, Any], str],
) -> None:
    _, document, _ = mask_run
    by_workload: Dict[str, List[Dict[str, Any]]] = {}
    for result in document["results"]:
        by_workload.setdefault(result["workload"], []).append(result)
    for name, results in by_workload.items():
        python = [r for r in results if r["candidate"] == "wsfast-python"]
        assert python and python[0]["status"] == "ok", name
        peers = [r for r in results if r["kind"] == "peer" and r["status"] == "ok"]
        if not peers:
            continue
        best = min(peers, key=lambda r: r["best_ns"])
        assert best["ratio"] == pytest.approx(1.0)
        for result in results:
            if result["status"] == "ok":
                assert result["best_peer"] == best["candidate"]
                assert result["ratio"] == pytest.approx(best["best_ns"] / result["best_ns"])


def test_tables_are_printed(mask_run: Tuple[int, Dict[str, Any], str]) -> None:
    _, data, text = mask_run
    assert text.startswith("wsfast ")
    assert "peers found:" in text
    assert "machine load at start:" in text or "machine load: unknown" in text
    assert "spread" in text and "range" in text
    timed = [r for r in data["results"] if r["status"] == "ok"]
    noisy = [r for r in timed if r["noisy"]]
    assert f"noisy rows: {len(noisy)} of {len(timed)} " in text
    for result in timed:
        assert result["noisy"] is bool(result["noise"])
        assert result["spread"] == pytest.approx(result["median_ns"] / result["best_ns"] - 1)
    assert "mask/16B" in text and "mask-inplace/1MiB" in text
    timed_peers = [r for r in data["results"] if r["kind"] == "peer" and r["status"] == "ok"]
    # Ratios need a peer: none is installed on some interpreters (PyPy).
    assert ("(best peer)" in text) == bool(timed_peers)


def test_plot_without_matplotlib_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules makes the import fail even where matplotlib is installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    def no_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("benchmarks ran although the chart cannot be drawn")

    monkeypatch.setattr(runner, "run_workload", no_run)
    target = tmp_path / "bench.png"
    code = cli.main(["--only", "mask/16B", "--plot", str(target), *TINY])
    assert code == 2
    assert "matplotlib is not installed: pip install 'wsfast[plot]'" in capsys.readouterr().err
    assert not target.exists()


def test_unknown_workload_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--only", "no-such-family", *TINY]) == 2
    err = capsys.readouterr().err
    assert "no-such-family" in err and "mask" in err


def test_hosts_list_lists_without_timing(capsys: pytest.CaptureFixture[str]) -> None:
    """--hosts --list names each installed host's cases and times nothing."""
    assert cli.main(["--hosts", "--list", "--only", "wsproto"]) == 0
    out = capsys.readouterr().out
    import importlib.util

    if importlib.util.find_spec("wsproto") is not None:
        assert "wsproto/recv/10k-small" in out and "wsproto/echo/1k-small" in out
    else:  # a wheel tested without the hosts
        assert "wsproto: not installed, skipped" in out
    assert "unpatched" not in out and "ratio" not in out


def test_json_to_stdout_prints_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--quick", "--only", "build/100B-unmasked", "--json", "-", *TINY]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {r["workload"] for r in document["results"]} == {"build/100B-unmasked"}


def test_a_wrong_answer_is_never_timed() -> None:
    workload = workloads.get("mask/16B")
    honest = workload.candidate("wsfast-python")

    def setup(inputs: Any) -> Any:
        _, check = honest.setup(inputs)
        # Fast and wrong: the candidate's own check has to catch it.
        return (lambda: bytes(len(inputs.data))), check

    result = runner.run_candidate(
        workload, workloads.Candidate("liar", "peer", setup), runner.Settings.quick()
    )
    assert result.status == "failed"
    assert result.timing is None
    assert result.reason.startswith("check:")


def test_deflate_rows(tmp_path: Path) -> None:
    # The permessage-deflate rows: every candidate's answer checked (its
    # frames inflate to the messages, its messages are the texts), wsfast
    # with stdlib zlib beside the peers, the faster libraries when installed.
    path = tmp_path / "deflate.json"
    code = cli.main(["--quick", "--only", "deflate-recv/1KiB", "deflate-send/1KiB", "--json", str(path), *TINY])
    assert code == 0
    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    assert {r["workload"] for r in results} == {"deflate-recv/1KiB", "deflate-send/1KiB"}
    assert not [(r["candidate"], r["reason"]) for r in results if r["status"] == "failed"]
    ran = {(r["workload"], r["candidate"]) for r in results if r["status"] == "ok"}
    assert ("deflate-recv/1KiB", "wsfast-python zlib") in ran
    assert ("deflate-send/1KiB", "wsfast-python zlib") in ran
    candidates = {r["candidate"] for r in results}
    assert {"aiohttp reader_c", "websockets PerMessageDeflate", "wsfast-cython zlib-ng", "wsfast-cython isal"} <= candidates


def test_deflate_check_catches_a_wrong_answer() -> None:
    # A sender whose frames do not inflate to the messages is caught.
    from wsfast._bench import deflate

    workload = workloads.get("deflate-send/1KiB")
    inputs = workload.inputs()
    check = deflate._expect_sent(inputs.messages, lambda _: b"")
    with pytest.raises(AssertionError):
        check(None)
    reversed_check = deflate._expect_received(list(reversed(inputs.texts)), True)
    with pytest.raises(AssertionError):
        reversed_check(inputs.texts)


def test_deflate_module_imports_on_its_own() -> None:
    # workloads imports it while building the registry; it must also import
    # first, in a fresh interpreter.
    import subprocess

    code = "import wsfast._bench.deflate as d; print(len(d.deflate_workloads()))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"


# -- noise: the rules on synthetic timings (no clock involved) ---------------


def _result(kind: str, samples: List[float], name: str = "x") -> runner.Result:
    workload = workloads.get("mask/16B")
    result = runner.Result(workload, workloads.Candidate(name, kind, lambda inputs: (None, None)))
    result.timing = runner.Timing(min(samples), sorted(samples)[len(samples) // 2], 1, len(samples), samples)
    result.status = "ok"
    return result


def test_ratio_interval_pairs_rounds() -> None:
    assert runner.ratio_interval([10.0], [5.0]) is None
    assert runner.ratio_interval([10, 10, 10], [5, 4, 10]) == (1.0, 2.5)
    # From 5 pairs up, the interquartile range: one wild round does not widen it.
    low, high = runner.ratio_interval([10] * 8, [5, 5, 5, 5, 5, 5, 5, 100])  # type: ignore[misc]
    assert (low, high) == (2.0, 2.0)


def test_rows_are_marked_noisy_for_the_right_reasons() -> None:
    peer = _result("peer", [100, 100, 100, 100, 100], "peer")
    steady = _result("wsfast", [50, 50, 51, 50, 50], "steady")
    spread = _result("wsfast", [50, 90, 90, 90, 90], "spread")
    straddle = _result("wsfast", [80, 120, 80, 120, 100], "straddle")
    best = runner.rank([peer, steady, spread, straddle])
    assert best is peer and peer.noise == []
    assert steady.noise == [] and steady.ratio == pytest.approx(2.0)
    assert spread.noise == ["median 80% above best"]
    assert straddle.ratio_low is not None and straddle.ratio_low < 1 < straddle.ratio_high  # type: ignore[operator]
    assert "ratio interval straddles 1" in straddle.noise
    out = io.StringIO()
    report.print_summary([[peer, steady, spread, straddle]], [best], out)
    assert "noisy rows: 2 of 4 (2 with the median more than 10% above the best, 1 whose ratio range" in out.getvalue()


def test_rounds_go_on_only_while_a_ratio_moves() -> None:
    settings = runner.Settings.quick()

    def prepared(kind: str, samples: List[float]) -> Any:
        ready = runner._Prepared(_result(kind, samples), lambda: None, 1, len(samples))
        ready.samples = list(samples)
        return ready

    start = runner.time.perf_counter_ns()
    settled = [prepared("peer", [100, 100, 100]), prepared("wsfast", [50, 50, 50])]
    moving = [prepared("peer", [100, 100, 100]), prepared("wsfast", [50, 80, 50])]
    assert not runner._unsettled(settled, settings, start, 3)
    assert runner._unsettled(moving, settings, start, 3)
    assert not runner._unsettled(moving, settings, start, settings.max_rounds)
    assert not runner._unsettled(moving, settings._replace(limit_ns=0), start, 3)


def test_load_line_says_when_the_machine_was_busy() -> None:
    busy = report.load_json((5.0, 2), (7.0, 2))
    quiet = report.load_json((0.2, 4), (0.3, 4))
    assert busy["busy"] and not quiet["busy"]
    assert "BUSY" in report.load_line(busy, "at most") and "3.50 per core" in report.load_line(busy, "at most")
    assert report.load_line(quiet, "at start").endswith("quiet")
    assert "unknown" in report.load_line(report.load_json(None, None), "at start")


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--quick", "--only", "--json", "--plot", "--list"):
        assert option in text
    assert "NOISY" in text and "numpy" in text
