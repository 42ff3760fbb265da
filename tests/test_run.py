"""``python -m wsfast run``: the program, the multiprocessing child it
spawns and a subprocess all start patched, each says so on stderr, and a
sitecustomize already on the path still runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest

from .conftest import MODE

needs_compiled = pytest.mark.skipif(MODE == "0", reason="patch() needs the compiled backend")
pytest.importorskip("tornado")

PROGRAM = textwrap.dedent(
    """
    import json, multiprocessing, subprocess, sys
    import wsfast

    def report(queue):
        import tornado.websocket
        queue.put({"patched": wsfast.patched(), "replaced": tornado.websocket._websocket_mask.__module__})

    if __name__ == "__main__":
        import tornado.websocket
        results = {"main": {"patched": wsfast.patched(), "argv": sys.argv[1:],
                            "replaced": tornado.websocket._websocket_mask.__module__}}
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=report, args=(queue,))
        child.start()
        results["spawned"] = queue.get(timeout=60)
        child.join(60)
        out = subprocess.run([sys.executable, "-c", "import json, wsfast; print(json.dumps(wsfast.patched()))"],
                             capture_output=True, text=True, check=True)
        results["subprocess"] = {"patched": json.loads(out.stdout), "stderr": out.stderr}
        print(json.dumps(results))
    """
)


def _run(args: List[str], tmp_path: Path, extra_path: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("WSFAST_RUN", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "wsfast", "run", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)


@needs_compiled
def test_script_and_its_children_are_patched(tmp_path: Path) -> None:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import sys\nsys.stderr.write('existing sitecustomize ran\\n')\n")
    result = _run(["--only", "tornado", str(script), "--flag", "value"], tmp_path, str(other))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    import tornado

    for where in ("main", "spawned", "subprocess"):
        assert report[where]["patched"] == {"tornado": tornado.version}, where
    assert report["main"]["argv"] == ["--flag", "value"]
    assert report["main"]["replaced"] == report["spawned"]["replaced"] == "wsfast.dropin.tornado"
    # One line per process (main, spawned child, its resource tracker maybe, subprocess).
    lines = [line for line in result.stderr.splitlines() if line.startswith("wsfast: patched")]
    lines += [line for line in report["subprocess"]["stderr"].splitlines() if line.startswith("wsfast: patched")]
    pids = {re.search(r"pid (\d+)", line).group(1) for line in lines}  # type: ignore[union-attr]
    assert len(pids) >= 3 and all(f"tornado {tornado.version}" in line for line in lines), lines
    assert "existing sitecustomize ran" in result.stderr


@needs_compiled
def test_module_form_and_errors(tmp_path: Path) -> None:
    (tmp_path / "mod_program.py").write_text("import sys, wsfast; print(sorted(wsfast.patched()), sys.argv[1:])\n")
    result = _run(["--only=tornado", "-m", "mod_program", "a"], tmp_path, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['tornado'] ['a']"
    bad = _run(["--only", "nope", "-m", "mod_program"], tmp_path)
    assert bad.returncode == 2 and "unknown host 'nope'" in bad.stderr
    assert _run([], tmp_path).returncode == 2
    failing = tmp_path / "fails.py"
    failing.write_text("raise SystemExit(7)\n")
    assert _run(["--only", "tornado", str(failing)], tmp_path).returncode == 7


@needs_compiled
def test_info_says_which_hosts_run_patched(tmp_path: Path) -> None:
    import tornado

    result = _run(["--only", "tornado", "-m", "wsfast", "info"], tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("tornado "))
    assert line.split() == ["tornado", tornado.version, "patched"]
    plain = subprocess.run([sys.executable, "-m", "wsfast", "info"], capture_output=True, text=True, timeout=60)
    line = next(line for line in plain.stdout.splitlines() if line.strip().startswith("tornado "))
    assert line.split() == ["tornado", tornado.version, "not", "patched"]


class _Exec(Exception):
    pass


@pytest.fixture
def captured_exec(monkeypatch: pytest.MonkeyPatch) -> List[tuple]:
    """``os.execve`` recorded instead of done."""
    calls: List[tuple] = []

    def execve(path: str, argv: List[str], env: dict) -> None:
        calls.append((path, argv, env))
        raise _Exec

    monkeypatch.setattr(os, "execve", execve)
    return calls


@pytest.mark.parametrize(
    "args,command,only",
    [
        (["script.py", "-x"], ["script.py", "-x"], "*"),
        (["--only", "tornado,autobahn", "-m", "pkg.mod", "a"], ["-m", "pkg.mod", "a"], "tornado,autobahn"),
        (["--only=tornado", "--only", "autobahn", "s.py"], ["s.py"], "tornado,autobahn"),
    ],
)
def test_run_command_line(captured_exec: List[tuple], args: List[str], command: List[str], only: str) -> None:
    from wsfast import _run

    with pytest.raises(_Exec):
        _run.main(args)
    path, argv, env = captured_exec[0]
    assert path == sys.executable and argv == [sys.executable, *command]
    assert env["WSFAST_RUN"] == only
    assert env["PYTHONPATH"].split(os.pathsep)[0] == _run.BOOTSTRAP
    assert (Path(_run.BOOTSTRAP) / "sitecustomize.py").is_file()


def test_run_refusals(captured_exec: List[tuple], capsys: pytest.CaptureFixture[str]) -> None:
    from wsfast import _run

    assert _run.main([]) == 2
    assert _run.main(["--only"]) == 2
    assert _run.main(["-m"]) == 2
    assert _run.main(["--only", "nope", "x.py"]) == 2
    assert _run.main(["--help"]) == 0
    assert "usage: python -m wsfast run" in capsys.readouterr().out
    assert captured_exec == []


def test_patch_and_log_names_what_was_patched(ws: object, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from wsfast import _run, dropin

    monkeypatch.setattr(dropin, "_compiled_api", lambda: ws)
    try:
        assert _run.patch_and_log("tornado") == ["tornado"]
        line = capsys.readouterr().err.strip()
        assert re.fullmatch(rf"wsfast: patched tornado \S+ \(pid {os.getpid()}\)", line), line
        # Every installed host (those with an adapter in this build).
        done = _run.patch_and_log("*")
        assert "tornado" in done
        assert capsys.readouterr().err.startswith("wsfast: patched ")
    finally:
        dropin.unpatch()
    monkeypatch.setattr(dropin, "_compiled_api", lambda: None)
    assert _run.patch_and_log("tornado") == []
    line = capsys.readouterr().err.strip()
    assert line.startswith("wsfast: patched nothing") and "compiled backend is not in use" in line
