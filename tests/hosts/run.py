"""Run a host library's own WebSocket tests unpatched and patched, compare.

    python tests/hosts/run.py [HOST ...] [--keep DIR] [--cache DIR]

For each host (every one with a definition file here when none is named):
download the sdist of the exact version installed, unpack it, install the
test dependencies its definition lists, copy the WebSocket-related test
modules into a scratch directory, and run them twice with pytest: once as
they are, once with ``wsfast_patch.py`` loaded as a plugin, which calls
``wsfast.patch(host)`` before the tests import anything and fails the run
if the patch did not apply. The outcome of every test id (from junitxml)
must be the same in both runs. Exits non-zero on any difference, on a patch
that did not apply, or on a host that could not be tested.

A definition is ``tests/hosts/<module>.py`` with::

    NAME = "websocket-client"        # the name wsfast.patch() takes
    DISTRIBUTION = "websocket-client"  # what pip downloads
    TESTS = ["websocket/tests/test_abnf.py", ...]  # inside the sdist
    SUPPORT = {"websocket/tests/data": "data"}    # copied next to them
    REQUIREMENTS = ["pytest-asyncio"]             # pip-installed aside
    ENV = {"USE_ASYNCIO": "1"}                    # for both runs
    PYTEST_ARGS = ["-k", "not network"]           # for both runs
    CONFTEST = "import logging ..."               # conftest.py for both runs
    SERVER = ("websocket/tests/echo-server.py", "LOCAL_WS_SERVER_PORT")
        # a helper server from the sdist, started for the runs on a free
        # 127.0.0.1 port passed in that variable (it is never patched)

A host whose sdist ships no tests names another archive of the same
release, checked by its sha256, and the runs then test that version::

    SOURCE = {"url": "https://.../host_1.2.orig.tar.gz", "sha256": "...",
              "version": "1.2"}

The archive is downloaded once into the cache; ``DISTRIBUTION==version`` is
pip-installed (binary wheel, without dependencies) into a directory of its
own put first on ``PYTHONPATH`` for both runs, and both runs stop (a usage
error) unless the host they import is that version. Tests that import their
helpers relatively (``from .utils import``) keep their package with
``PACKAGE = True``: ``TESTS`` (files or directories) and ``SUPPORT`` are
then copied to the same paths as in the archive, with the ``__init__.py``
of every directory above them.

A host whose tests need separate processes (autobahn on Twisted and on
asyncio) lists them as ``RUNS = {"twisted": {"env": {...}, "tests": [...]}}``;
each is run unpatched and patched, and its test ids are prefixed with its
label.

The test modules run against the installed host (the sdist is only where
the tests come from): they are copied flat, without their package, and
imported with ``--import-mode=importlib``, so ``import tornado`` finds the
installed tornado, compiled speedups included; the modules of a
``PACKAGE`` keep their package names (``tests.test_frames``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import types
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "wsfast_patch.py"
DEFAULT_CACHE = Path(os.environ.get("WSFAST_HOSTS_CACHE", Path.home() / ".cache" / "wsfast-hosts"))
#: One pytest run may take this long before it counts as hung.
RUN_TIMEOUT = float(os.environ.get("WSFAST_HOSTS_TIMEOUT", "600"))

Outcomes = Dict[str, str]


def definitions() -> Dict[str, types.ModuleType]:
    """Every host definition in this directory, by host name. Loaded from
    their paths under private names: ``tornado.py`` here must never shadow
    the real tornado."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.name in ("run.py", PLUGIN.name) or path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"_wsfast_host_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.NAME] = module
    return found


def installed_version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def sdist(distribution: str, version: str, cache: Path) -> Path:
    """The unpacked sdist of ``distribution==version`` (downloaded once)."""
    target = cache / f"{distribution}-{version}"
    done = target / ".unpacked"
    if done.exists():
        return target
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
         "--dest", str(downloads), f"{distribution}=={version}"],
        check=True,
    )
    wanted = {distribution.lower().replace("-", "_"), distribution.lower()}
    archives = [
        p for p in downloads.iterdir()
        if p.name.endswith((".tar.gz", ".zip"))
        and p.name.rsplit("-", 1)[0].lower().replace("-", "_") in wanted
        and p.name[len(p.name.rsplit("-", 1)[0]) + 1 :].startswith(version + ".")
    ]
    if len(archives) != 1:
        raise RuntimeError(f"expected one sdist of {distribution} {version} in {downloads}, found {archives}")
    unpack(archives[0], target, "")
    return target


def unpack(archive: Path, target: Path, stamp: str) -> None:
    """Unpack ``archive`` (one top directory) as ``target``; ``stamp`` is
    what ``target/.unpacked`` then holds."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent))
    if archive.name.endswith(".zip"):
        shutil.unpack_archive(str(archive), str(scratch))
    else:
        with tarfile.open(archive) as opened:
            if sys.version_info >= (3, 12):
                opened.extractall(scratch, filter="data")
            else:
                opened.extractall(scratch)
    (top,) = list(scratch.iterdir())
    top.rename(target)
    scratch.rmdir()
    (target / ".unpacked").write_text(stamp)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_archive(definition: types.ModuleType, cache: Path) -> Path:
    """The unpacked ``SOURCE`` archive, downloaded once and refused unless
    its sha256 is the definition's."""
    url, digest = definition.SOURCE["url"], definition.SOURCE["sha256"]
    target = cache / f"{definition.DISTRIBUTION}-{definition.SOURCE['version']}-source"
    done = target / ".unpacked"
    if done.exists() and done.read_text() == digest:
        return target
    archive = cache / "downloads" / url.rsplit("/", 1)[-1]
    if not (archive.exists() and sha256(archive) == digest):
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".part")
        with urllib.request.urlopen(url, timeout=120) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
        found = sha256(partial)
        if found != digest:
            partial.unlink()
            raise RuntimeError(f"{url} has sha256 {found}, not {digest}: refused")
        partial.replace(archive)
    unpack(archive, target, digest)
    return target


def pinned_host(definition: types.ModuleType, cache: Path) -> Path:
    """``DISTRIBUTION==SOURCE["version"]`` installed into a directory of its
    own (put first on ``PYTHONPATH``), once."""
    requirement = f"{definition.DISTRIBUTION}=={definition.SOURCE['version']}"
    target = cache / "pinned" / requirement.replace("==", "-")
    stamp = target / ".installed"
    if not stamp.exists():
        if target.exists():
            shutil.rmtree(target)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary", ":all:",
             "--target", str(target), requirement],
            check=True,
        )
        stamp.touch()
    return target


def runs(definition: types.ModuleType) -> List[Tuple[str, Dict[str, str], List[str]]]:
    """``(label, environment, test paths in the sdist)`` per separate run."""
    if hasattr(definition, "RUNS"):
        return [
            (label, {**getattr(definition, "ENV", {}), **run.get("env", {})}, list(run["tests"]))
            for label, run in definition.RUNS.items()
        ]
    return [("", dict(getattr(definition, "ENV", {})), list(definition.TESTS))]


def placed(definition: types.ModuleType, relative: str) -> str:
    """Where a test path of the archive is in the scratch directory."""
    return relative if getattr(definition, "PACKAGE", False) else Path(relative).name


def prepare(definition: types.ModuleType, source: Path, work: Path) -> List[str]:
    """Copy the test modules and their support files into ``work``; the
    names of the test files to run."""
    work.mkdir(parents=True, exist_ok=True)
    package = getattr(definition, "PACKAGE", False)
    names: List[str] = []
    for relative in dict.fromkeys(t for _, _, tests in runs(definition) for t in tests):
        path, name = source / relative, placed(definition, relative)
        if not (path.is_file() or (package and path.is_dir())):
            raise RuntimeError(f"{relative} is not in the sdist ({source})")
        if name in names:
            raise RuntimeError(f"two test modules named {name}")
        if path.is_dir():
            shutil.copytree(path, work / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, work / name)
        names.append(name)
    for relative, destination in getattr(definition, "SUPPORT", {}).items():
        path, target = source / relative, work / destination
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    if package:  # the __init__.py of every directory holding what was copied
        for copied in list(work.rglob("*")):
            for parent in copied.relative_to(work).parents:
                init = source / parent / "__init__.py"
                if parent != Path(".") and init.is_file() and not (work / parent / "__init__.py").exists():
                    shutil.copy2(init, work / parent / "__init__.py")
    shutil.copy2(PLUGIN, work / PLUGIN.name)
    conftest = getattr(definition, "CONFTEST", "")
    if conftest:
        (work / "conftest.py").write_text(conftest)
    # Our own pytest.ini: the host's and wsfast's settings stay out of it.
    (work / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return names


def test_dependencies(definition: types.ModuleType, cache: Path) -> Optional[Path]:
    """Install the definition's ``REQUIREMENTS`` into a directory of their
    own (not the environment wsfast is tested in); the plugin appends it to
    ``sys.path``, after site-packages, so the installed packages still win."""
    requirements = list(getattr(definition, "REQUIREMENTS", []))
    if not requirements:
        return None
    target = cache / "deps" / definition.NAME
    stamp = target / ".requirements"
    wanted = "\n".join(requirements)
    if not (stamp.exists() and stamp.read_text() == wanted):
        if target.exists():
            shutil.rmtree(target)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), *requirements], check=True
        )
        stamp.write_text(wanted)
    return target


def run_pytest(
    definition: types.ModuleType, work: Path, tests: Sequence[str], patched: bool,
    run_env: Optional[Dict[str, str]] = None, run_label: str = "", deps: Optional[Path] = None,
    pinned: Optional[Path] = None,
) -> Tuple[Outcomes, dict, float]:
    """One run: outcome per test id, what the plugin reported, seconds."""
    label = ("patched" if patched else "unpatched") + (f"-{run_label}" if run_label else "")
    junit = work / f"junit-{label}.xml"
    report = work / f"patch-{label}.json"
    for stale in (junit, report):
        if stale.exists():
            stale.unlink()
    env = dict(os.environ)
    env.update(getattr(definition, "ENV", {}) if run_env is None else run_env)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    env["WSFAST_HOST_REPORT"] = str(report)
    if deps is not None:
        env["WSFAST_HOST_DEPS"] = str(deps)
    if pinned is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pinned), env.get("PYTHONPATH")]))
        env["WSFAST_HOST_VERSION"] = f"{definition.NAME}=={definition.SOURCE['version']}"
    else:
        env.pop("WSFAST_HOST_VERSION", None)
    if patched:
        env["WSFAST_HOST_PATCH"] = definition.NAME
    else:
        env.pop("WSFAST_HOST_PATCH", None)
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "wsfast_patch", "--import-mode=importlib",
        "--rootdir", str(work), "-c", str(work / "pytest.ini"), f"--junitxml={junit}",
        "-o", "junit_family=xunit2", *getattr(definition, "PYTEST_ARGS", []), *tests,
    ]
    start = time.monotonic()
    completed = subprocess.run(
        command, cwd=work, env=env, timeout=RUN_TIMEOUT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    elapsed = time.monotonic() - start
    (work / f"pytest-{label}.log").write_text(completed.stdout)
    if not junit.exists() or completed.returncode not in (0, 1):
        sys.stdout.write(completed.stdout[-4000:])
        raise RuntimeError(f"pytest ({label}) exited with {completed.returncode} and no usable report")
    plugin = json.loads(report.read_text()) if report.exists() else {}
    prefix = f"[{run_label}] " if run_label else ""
    return {prefix + k: v for k, v in outcomes(junit).items()}, plugin, elapsed


def outcomes(junit: Path) -> Outcomes:
    """``{test id: "passed" | "failed" | "error" | "skipped"}`` from junitxml."""
    result: Outcomes = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                break
        # A test that fails and then errors in teardown appears twice.
        if result.get(test_id, "passed") == "passed":
            result[test_id] = outcome
    return result


def compare(unpatched: Outcomes, patched: Outcomes) -> List[str]:
    """One line per test whose outcome differs (or that ran only once)."""
    lines = []
    for test_id in sorted(set(unpatched) | set(patched)):
        before, after = unpatched.get(test_id, "absent"), patched.get(test_id, "absent")
        if before != after:
            lines.append(f"{test_id}: unpatched {before}, patched {after}")
    return lines


def counts(result: Outcomes) -> str:
    tally: Dict[str, int] = {}
    for outcome in result.values():
        tally[outcome] = tally.get(outcome, 0) + 1
    order = ("passed", "failed", "error", "skipped")
    return ", ".join(f"{tally[o]} {o}" for o in order if o in tally) or "no tests"


class HelperServer:
    """The definition's ``SERVER``: a script from the sdist listening on a
    free port (named to it and to the tests by an environment variable)."""

    def __init__(self, definition: types.ModuleType, source: Path) -> None:
        self.process: Optional[subprocess.Popen] = None
        self.env: Dict[str, str] = {}
        server = getattr(definition, "SERVER", None)
        if not server:
            return
        script, variable = server
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.env = {variable: str(port)}
        env = {k: v for k, v in os.environ.items() if not k.startswith("WSFAST_HOST")}
        env.update(self.env)
        self.process = subprocess.Popen([sys.executable, str(source / script)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.close()
        raise RuntimeError(f"the helper server {script} did not start")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_host(definition: types.ModuleType, cache: Path, keep: Optional[Path]) -> bool:
    name = definition.NAME
    pinned: Optional[Path] = None
    if hasattr(definition, "SOURCE"):
        version = definition.SOURCE["version"]
        print(f"{name} {version}: tests from {definition.SOURCE['url']}", flush=True)
        source = source_archive(definition, cache)
        pinned = pinned_host(definition, cache)
    else:
        version = installed_version(definition.DISTRIBUTION)
        if version is None:
            print(f"{name}: not installed (pip install {definition.DISTRIBUTION})")
            return False
        print(f"{name} {version}: tests from the sdist", flush=True)
        source = sdist(definition.DISTRIBUTION, version, cache)
    deps = test_dependencies(definition, cache)
    work = (keep / name) if keep else Path(tempfile.mkdtemp(prefix=f"wsfast-hosts-{name}-"))
    helper: Optional[HelperServer] = None
    try:
        helper = HelperServer(definition, source)
        if work.exists() and keep:
            shutil.rmtree(work)
        tests = prepare(definition, source, work)
        unpatched: Outcomes = {}
        patched: Outcomes = {}
        befores, afters = [], []
        t_before = t_after = 0.0
        for label, env, paths in runs(definition):
            env = {**env, **helper.env}
            files = [placed(definition, p) for p in paths]
            result, report, elapsed = run_pytest(definition, work, files, False, env, label, deps, pinned)
            unpatched.update(result)
            befores.append(report)
            t_before += elapsed
            result, report, elapsed = run_pytest(definition, work, files, True, env, label, deps, pinned)
            patched.update(result)
            afters.append(report)
            t_after += elapsed
    finally:
        if helper is not None:
            helper.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    ok = True
    print(f"  modules: {', '.join(tests)}")
    print(f"  unpatched: {len(unpatched)} tests: {counts(unpatched)} ({t_before:.1f} s)")
    print(f"  patched:   {len(patched)} tests: {counts(patched)} ({t_after:.1f} s)")
    for before in befores:
        if before.get("patched"):
            print(f"  the unpatched run was patched: {before['patched']}")
            ok = False
    for after in afters:
        if after.get("patched", {}).get(name) != version or not after.get("still_patched", False):
            print(f"  the patch did not apply or did not last: {after or 'no report from the plugin'}")
            ok = False
        else:
            print(f"  patch applied: {after['patched']}, {after['replaced']} objects replaced")
    if not unpatched:
        print("  no tests ran")
        ok = False
    differences = compare(unpatched, patched)
    for line in differences:
        print(f"  DIFFERENT {line}")
    ok = ok and not differences
    print(f"  {name}: {'same outcome for every test' if ok else 'FAILED'}", flush=True)
    return ok


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hosts", nargs="*", help="host names (default: every definition here)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"sdist cache (default {DEFAULT_CACHE})")
    parser.add_argument("--keep", type=Path, help="run in DIR/<host> and keep the logs and junit files there")
    args = parser.parse_args(argv)
    known = definitions()
    names = args.hosts or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"no definition for {', '.join(unknown)}; defined: {', '.join(known)}")
    results = {}
    for name in names:
        try:
            results[name] = run_host(known[name], args.cache, args.keep)
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            print(f"{name}: could not be tested: {exc}")
            results[name] = False
    print()
    for name, ok in results.items():
        print(f"{name}: {'ok' if ok else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
