"""The Autobahn|Testsuite cases, run by kosoku, against both ends of wsfast.

fuzzingclient: kosoku drives the wsfast echo server. fuzzingserver: kosoku
serves the cases and the wsfast client (``wsfast._echo_client.connect``) echoes what
each case sends, as Autobahn's own test clients do. Sections 1-7 (framing,
pings, reserved bits and opcodes, fragmentation, UTF-8 with fail-fast, the
closing handshake), 9 (large and many messages) and 10 (misc) run for each
backend, with a fixed sample of 12 and 13 (permessage-deflate: five kinds of
data, then seven offer/accept combinations of context takeover and window
size; 1000 messages per case). The full sections 12 and 13 take about 11
minutes per backend and mode: ``WSFAST_AUTOBAHN_DEFLATE=full`` runs them all
(``.ci/autobahn-deflate`` does, for the compiled server).

Every case must come out OK, for the message exchange and the closing
handshake alike. NON-STRICT is not accepted. INFORMATIONAL is accepted only
for the cases whose Autobahn source declares that verdict themselves (7.1.6,
7.13.1, 7.13.2: behaviour the RFC leaves open). The HTML reports go to
``reports/autobahn/<backend>/{fuzzingclient,fuzzingserver}/``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import time
import types
from collections import Counter
from typing import Any, Dict, List, Set

import pytest

from wsfast import _echo_client

from .conftest import LOOPBACK, REPORTS, ROOT, BackgroundServer, require_peer, run_async

pytestmark = pytest.mark.interop

SECTIONS = ("1", "2", "3", "4", "5", "6", "7", "9", "10")
#: permessage-deflate, sampled: per subsection, 1000 messages of 16 bytes
#: and 1000 of 8 KiB in 256-byte fragments (cases 1 and 11 of 18), about
#: 15 s per backend and mode.
DEFLATE_SUBSECTIONS = [f"12.{i}" for i in range(1, 6)] + [f"13.{i}" for i in range(1, 8)]
DEFLATE_SAMPLE = [f"{sub}.{case}" for sub in DEFLATE_SUBSECTIONS for case in (1, 11)]
FULL_DEFLATE = os.environ.get("WSFAST_AUTOBAHN_DEFLATE") == "full"
PATTERNS = [f"{section}.*" for section in SECTIONS] + (["12.*", "13.*"] if FULL_DEFLATE else DEFLATE_SAMPLE)
#: Cases run side by side in fuzzingclient mode: the fail-fast cases
#: (5.19, 5.20, 6.4.x) each wait a second or two on purpose.
CONCURRENCY = 8
#: Bounds on whole runs; without the full deflate sections a run takes
#: seconds, not minutes.
RUN_TIMEOUT = 3600.0 if FULL_DEFLATE else 300.0
CASE_TIMEOUT = 60.0


def _case_index() -> Dict[str, Any]:
    try:
        from kosoku.cases import CASES
    except ImportError:
        return {}
    return {case_id: cls for case_id, cls in CASES.items() if _selected(case_id)}


def _selected(case_id: str) -> bool:
    section = case_id.split(".")[0]
    if section in SECTIONS:
        return True
    if section in ("12", "13"):
        return FULL_DEFLATE or case_id in DEFLATE_SAMPLE
    return False


def _informational_by_design(cls: Any) -> bool:
    """Whether the case's own source sets INFORMATIONAL as its verdict."""
    module = sys.modules.get(cls.__module__)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        return False
    return "self.behavior = Case.INFORMATIONAL" in source


_INDEX = _case_index()
#: Without kosoku one placeholder id stands in, so that its absence is
#: reported (a skip, or a failure in CI) instead of collecting nothing.
CASE_IDS: List[str] = list(_INDEX) or ["kosoku-missing"]
INFORMATIONAL: Set[str] = {case_id for case_id, cls in _INDEX.items() if _informational_by_design(cls)}


def _kosoku() -> types.ModuleType:
    try:
        import kosoku
    except ImportError as exc:
        require_peer("kosoku", f"cannot import kosoku ({exc}); pip install kosoku")
    return kosoku


def _save(results: List[Any], backend: str, mode: str, seconds: float) -> Dict[str, Any]:
    """Write the HTML/JSON report and a verdict summary; index results by id."""
    from kosoku._report import write_reports

    outdir = REPORTS / "autobahn" / backend / mode
    outdir.mkdir(parents=True, exist_ok=True)
    if results:
        write_reports(results, str(outdir))
    counts = Counter(f"{r.behavior.value}/{r.behavior_close.value}" for r in results)
    summary = {
        "backend": backend,
        "mode": mode,
        "cases": len(results),
        "seconds": round(seconds, 2),
        "behavior": dict(Counter(r.behavior.value for r in results)),
        "behavior_close": dict(Counter(r.behavior_close.value for r in results)),
        "pairs": dict(counts),
        # Per section, e.g. {"12": {"OK/OK": 90}}: the deflate verdicts apart.
        "sections": {
            section: dict(Counter(
                f"{r.behavior.value}/{r.behavior_close.value}" for r in results if r.case_id.split(".")[0] == section
            ))
            for section in sorted({r.case_id.split(".")[0] for r in results}, key=int)
        },
    }
    (outdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return {r.case_id: r for r in results}


# ---------------------------------------------------------------------------
# fuzzingclient: kosoku against the echo server


@pytest.fixture(scope="session")
def fuzzingclient_results(ws: types.SimpleNamespace, echo_server: BackgroundServer) -> Dict[str, Any]:
    kosoku = _kosoku()

    async def run() -> List[Any]:
        try:
            return list(
                await kosoku.run_fuzzingclient(echo_server.url, PATTERNS, concurrency=CONCURRENCY)
            )
        except kosoku.FailureError as failure:
            return list(failure.results)

    start = time.monotonic()
    results = run_async(run(), RUN_TIMEOUT)
    return _save(results, ws.IMPLEMENTATION, "fuzzingclient", time.monotonic() - start)


# ---------------------------------------------------------------------------
# fuzzingserver: the wsfast client against kosoku


#: The client's permessage-deflate offer. kosoku's 13.2, 13.5 and 13.6
#: accept functions (Autobahn's) ask a client for no context takeover only
#: when its offer says it accepts that, and Autobahn spells that
#: ``client_no_context_takeover`` in the offer, which RFC 7692 §7.1.1.2 makes
#: a promise to drop the context anyway; the client keeps the promise.
DEFLATE_OFFER = {"client_no_context_takeover": True}


async def _echo_case(port: int, path: str, implementation: str) -> None:
    """One case: echo every message until the connection closes."""
    client = await _echo_client.connect(
        LOOPBACK, port, path, implementation=implementation, deflate=DEFLATE_OFFER
    )
    try:
        while True:
            message = await client.recv()
            await client.send(message)
    except _echo_client.ConnectionClosed:
        pass
    await client.wait_closed()


async def _drive_fuzzingserver(kosoku: types.ModuleType, implementation: str) -> List[Any]:
    agent = f"wsfast-{implementation}"
    async with kosoku.run_fuzzingserver(PATTERNS, host=LOOPBACK, port=0) as server:
        port = server.port
        counter = await _echo_client.connect(LOOPBACK, port, "/getCaseCount", implementation=implementation)
        count = int(await counter.recv())
        await counter.wait_closed()
        for index in range(1, count + 1):
            path = f"/runCase?case={index}&agent={agent}"
            try:
                await asyncio.wait_for(_echo_case(port, path, implementation), CASE_TIMEOUT)
            except (OSError, ValueError, asyncio.TimeoutError):
                # kosoku records the case as it saw it; the verdict tells.
                pass
        reporter = await _echo_client.connect(
            LOOPBACK, port, f"/updateReports?agent={agent}", implementation=implementation
        )
        await reporter.wait_closed()
        try:
            return list(await server.get_result())
        except kosoku.FailureError as failure:
            return list(failure.results)


@pytest.fixture(scope="session")
def fuzzingserver_results(ws: types.SimpleNamespace) -> Dict[str, Any]:
    kosoku = _kosoku()
    start = time.monotonic()
    results = run_async(_drive_fuzzingserver(kosoku, ws.IMPLEMENTATION), RUN_TIMEOUT)
    return _save(results, ws.IMPLEMENTATION, "fuzzingserver", time.monotonic() - start)


# ---------------------------------------------------------------------------
# verdicts


def _check_verdict(results: Dict[str, Any], case_id: str) -> None:
    if case_id == "kosoku-missing":
        _kosoku()
    assert case_id in results, f"case {case_id} did not run (ran {len(results)} cases)"
    result = results[case_id]
    allowed = {"OK", "INFORMATIONAL"} if case_id in INFORMATIONAL else {"OK"}
    behavior, close = result.behavior.value, result.behavior_close.value
    assert behavior in allowed and close in allowed, (
        f"case {case_id}: {behavior} / {close}: {result.result} {result.result_close} "
        f"(received {result.received!r:.300}, close sent {result.local_close_code}, "
        f"close received {result.remote_close_code}); {result.description}"
    )


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fuzzingclient_against_echo_server(case_id: str, fuzzingclient_results: Dict[str, Any]) -> None:
    _check_verdict(fuzzingclient_results, case_id)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fuzzingserver_against_client(case_id: str, fuzzingserver_results: Dict[str, Any]) -> None:
    _check_verdict(fuzzingserver_results, case_id)


def test_every_selected_case_ran(
    fuzzingclient_results: Dict[str, Any], fuzzingserver_results: Dict[str, Any]
) -> None:
    expected = set(_INDEX)
    assert expected, "no Autobahn case selected"
    assert set(fuzzingclient_results) == expected
    assert set(fuzzingserver_results) == expected


def test_informational_cases_are_the_known_ones() -> None:
    # Guards the INFORMATIONAL allowance: a new kosoku must not widen it
    # unnoticed.
    if not _INDEX:
        _kosoku()
    assert {"7.1.6", "7.13.1", "7.13.2"} == INFORMATIONAL


def test_deflate_sample_is_in_kosoku() -> None:
    # A renumbered case would otherwise drop out of the sample unnoticed.
    if not _INDEX:
        _kosoku()
    from kosoku.cases import CASES

    assert set(DEFLATE_SAMPLE) <= set(CASES)
    assert len(DEFLATE_SAMPLE) == 24


def test_client_command_as_fuzzingserver_testee(ws: types.SimpleNamespace) -> None:
    # ``python -m wsfast client --autobahn URL`` runs every case of a
    # fuzzingserver as its testee, as a person would from a shell.
    kosoku = _kosoku()
    patterns = ["1.1.1", "2.6", "5.6", "6.2.3", "7.5.1", "12.1.1", "13.3.1"]

    async def run() -> List[Any]:
        async with kosoku.run_fuzzingserver(patterns, host=LOOPBACK, port=0) as server:
            argv = [
                sys.executable, "-m", "wsfast", "client", "--autobahn", "--agent", "wsfast-cli",
                "--implementation", ws.IMPLEMENTATION, f"ws://{LOOPBACK}:{server.port}/",
            ]
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            _, err = await asyncio.wait_for(process.communicate(), 120)
            assert process.returncode == 0, err.decode()
            assert f"case {len(patterns)}/{len(patterns)}" in err.decode()
            try:
                return list(await server.get_result())
            except kosoku.FailureError as failure:
                return list(failure.results)

    results = run_async(run(), 180)
    assert sorted(r.case_id for r in results) == sorted(patterns)
    for result in results:
        assert (result.behavior.value, result.behavior_close.value) == ("OK", "OK"), (result.case_id, result.result)
