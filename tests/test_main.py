"""``python -m wsfast``: the command table, usage and ``info``, in process
(the subcommands' own tests run them as programs)."""

from __future__ import annotations

import pytest

import wsfast
from wsfast.__main__ import main


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m wsfast {bench,echo,client,info,run}")
    for command in ("bench", "echo", "client", "info", "run"):
        assert f"  {command}" in out


def test_unknown_command_fails_and_help_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert main(["--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_info_names_the_backend_and_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"wsfast {wsfast.__version__} on ")
    assert f"backend: {wsfast.IMPLEMENTATION}" in lines
    kernels = ", ".join(f"{name} {kernel}" for name, kernel in wsfast.kernels().items())
    # A capped level adds "(capped by WSFAST_MAX_SIMD=...)" after the list.
    assert any(line.startswith(f"kernels: {kernels}") for line in lines), lines
    assert "host libraries" in out


def test_info_takes_no_arguments() -> None:
    with pytest.raises(SystemExit) as info:
        main(["info", "--bogus"])
    assert info.value.code == 2


def test_info_without_the_compiled_backend(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "wsfast._mask_c", None)  # the import fails
    monkeypatch.delattr(wsfast, "_mask_c", raising=False)
    assert main(["info"]) == 0
    assert "CPU features: not read (no compiled module; the pure backend uses none)" in capsys.readouterr().out.splitlines()


def test_bench_and_client_dispatch(capsys: pytest.CaptureFixture[str]) -> None:
    # --help stops each subcommand's own parser before it does anything.
    for command, prog in (("bench", "bench"), ("client", "python -m wsfast client")):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert prog in capsys.readouterr().out


def test_client_reports_a_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert main(["client", f"ws://127.0.0.1:{port}/"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize(
    "url, expected",
    [("ws://h/", ("h", 80, "/")), ("ws://h:9/a?b=c", ("h", 9, "/a?b=c")), ("ws://[::1]:9", ("::1", 9, "/"))],
)
def test_client_url_parsing(url: str, expected: tuple) -> None:  # type: ignore[type-arg]
    from wsfast._echo_client import parse_url

    assert parse_url(url) == expected


@pytest.mark.parametrize("url", ["wss://h/", "http://h/", "ws:///path"])
def test_client_url_parsing_refuses(url: str) -> None:
    from wsfast._echo_client import parse_url

    with pytest.raises(ValueError):
        parse_url(url)
