"""``python -m wsfast bench --hosts``: a short real run through the CLI, its
JSON, and the hosts left as they were found. Speed is not asserted here."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from wsfast import dropin
from wsfast._bench import cli

from . import dropin_peers as peers
from .conftest import MODE

TINY = ["--repeat", "1", "--min-time", "0.5"]

needs_compiled = pytest.mark.skipif(MODE == "0", reason="patch() needs the compiled backend")


@needs_compiled
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


@needs_compiled
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


#: Hosts with a server, and the module that has to be importable for each.
ECHO_HOSTS = {"websockets": "websockets", "aiohttp": "aiohttp", "wsproto": "wsproto", "tornado": "tornado",
              "autobahn": "autobahn.asyncio"}


@needs_compiled
@pytest.mark.parametrize("host", list(ECHO_HOSTS))
def test_echo_cases_run_patched_and_unpatched(host: str) -> None:
    # The real autobahn, not the shim package kosoku (tests/interop) puts
    # first on sys.path.
    with peers.RealModules(host) if host == "autobahn" else contextlib.nullcontext():
        _echo_cases_run(host)


def _echo_cases_run(host: str) -> None:
    pytest.importorskip(ECHO_HOSTS[host])
    from wsfast._bench import hosts, runner
    from wsfast._bench.hosts import _loopback as lb

    cases = {case.name: case for case in hosts._cases(host) if case.name.startswith("echo/")}
    assert set(cases) == {"echo/1k-small", "echo/100x64KiB-text"}
    for name, kind in (("echo/1k-small", "small"), ("echo/100x64KiB-text", "text-64k")):
        case = cases[name]
        messages = lb.echo_messages(kind)
        assert case.items == len(messages) and case.payload_bytes == sum(len(p) for _, p in messages)
        # What one round returns, in either state: every echo arrived and was
        # byte for byte the message sent back unmasked (the client checks).
        expected = (len(messages), sum(lb.sent_size(len(p), False) for _, p in messages))
        for patched in (False, True):
            hosts.set_state(host, patched)
            try:
                run, close = case.setup()
                try:
                    assert run() == expected
                    assert run() == expected  # the connection stays usable round after round
                finally:
                    close()
            finally:
                hosts.set_state(host, False)
        result = hosts.run_case(host, case, runner.Settings(repeats=1, target_ns=1_000))
        assert result.status == "ok", result.reason
        assert result.ratio is not None and result.ratio > 0
    assert host not in dropin.patched()


def test_echo_client_rejects_a_wrong_echo() -> None:
    import asyncio

    from wsfast._bench.hosts import _loopback as lb

    async def start():  # type: ignore[no-untyped-def]
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(lb._response(await reader.readuntil(b"\r\n\r\n")))
            while data := await reader.read(1 << 16):
                writer.write(data)  # still masked: not what an echo sends
            writer.close()

        server = await asyncio.start_server(serve, lb.LOOPBACK, 0)

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return server.sockets[0].getsockname()[1], stop

    run, close = lb.echo_setup(start, "small")
    try:
        with pytest.raises(AssertionError, match="echo 0: expected"):
            run()
    finally:
        close()


def test_hosts_list() -> None:
    pytest.importorskip("tornado")
    import io

    from wsfast._bench import hosts, runner

    out = io.StringIO()
    assert hosts.main(["tornado/echo"], runner.Settings(), False, out=out, list_only=True) == 0
    text = out.getvalue()
    assert "tornado/echo/1k-small: " in text and "tornado/echo/100x64KiB-text: " in text
    assert "tornado/mask" not in text
