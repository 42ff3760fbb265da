"""``python -m wsfast``: the command table, usage and ``info``, in process
(the subcommands' own tests run them as programs)."""

from __future__ import annotations

import pytest

import wsfast
from wsfast.__main__ import main


def test_no_command_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m wsfast {bench,echo,client,info}")
    for command in ("bench", "echo", "client", "info"):
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
    assert f"kernels: {kernels}" in lines
    assert "host libraries" in out


def test_info_takes_no_arguments() -> None:
    with pytest.raises(SystemExit) as info:
        main(["info", "--bogus"])
    assert info.value.code == 2
