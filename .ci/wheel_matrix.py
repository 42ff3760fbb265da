"""Check the wheel build matrix without building anything.

Replays every job of .github/workflows/wheels.yml through
``cibuildwheel --print-build-identifiers`` (platform, architecture and skip
pattern as the job sets them, the rest from pyproject.toml) and asserts that
together they build exactly the wheels a release promises: CPython 3.9-3.14
and 3.14t on manylinux and musllinux x86_64/aarch64, macOS x86_64/arm64 and
Windows AMD64/ARM64, each identifier from exactly one job. Also checks that
the workflow pins the cibuildwheel release this script runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from typing import Dict, List

import yaml

WORKFLOW = ".github/workflows/wheels.yml"
PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp314t")
PLATFORM_TAGS = (
    "manylinux_x86_64",
    "musllinux_x86_64",
    "manylinux_aarch64",
    "musllinux_aarch64",
    "macosx_x86_64",
    "macosx_arm64",
    "win_amd64",
    "win_arm64",
)


def identifiers(platform: str, arch: str, skip: str) -> List[str]:
    env = dict(os.environ, CIBW_SKIP=skip)
    out = subprocess.run(
        ["cibuildwheel", "--print-build-identifiers", "--platform", platform, "--archs", arch],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def main() -> int:
    with open(WORKFLOW, encoding="utf-8") as f:
        text = f.read()
    workflow = yaml.safe_load(text)
    pinned = re.findall(r"pypa/cibuildwheel@v([\d.]+)", text)
    installed = version("cibuildwheel")
    if pinned != [installed]:
        print(f"{WORKFLOW} pins cibuildwheel {pinned}, this check ran {installed}", file=sys.stderr)
        return 1
    jobs: Dict[str, List[str]] = {}
    for job in workflow["jobs"]["wheels"]["strategy"]["matrix"]["include"]:
        name = f"{job['os']} {job['platform']} {job['arch']} {job['libc']}".strip()
        jobs[name] = identifiers(job["platform"], job["arch"], job["skip"])
    problems = []
    seen: Dict[str, str] = {}
    for name, ids in jobs.items():
        print(f"{name}: {' '.join(ids)}")
        if not ids:
            problems.append(f"{name} builds nothing")
        for ident in ids:
            if ident in seen:
                problems.append(f"{ident} built by both {seen[ident]} and {name}")
            seen[ident] = name
    expected = {f"{python}-{tag}" for python in PYTHONS for tag in PLATFORM_TAGS}
    for ident in sorted(expected - set(seen)):
        problems.append(f"missing: {ident}")
    for ident in sorted(set(seen) - expected):
        problems.append(f"unexpected: {ident}")
    # Locally, pyproject.toml alone (archs = auto64) must give this machine's
    # 64-bit wheels and nothing else.
    native = subprocess.run(
        ["cibuildwheel", "--print-build-identifiers", "--platform", "linux"],
        check=True,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CIBW_")},
    ).stdout.split()
    machine = os.uname().machine
    want = {f"{python}-{libc}_{machine}" for python in PYTHONS for libc in ("manylinux", "musllinux")}
    if set(native) != want:
        problems.append(f"pyproject.toml alone on this {machine} machine gives {native}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(seen)} identifiers from {len(jobs)} jobs" + (": OK" if not problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
