"""``python -m wsfast run [--only NAMES] (-m MODULE | SCRIPT) [ARGS...]``:
run a program with ``wsfast.patch()`` applied before it starts.

Like ``opentelemetry-instrument``: the program runs in a fresh interpreter
(this process is replaced by it) whose PYTHONPATH starts with a bootstrap
directory holding a ``sitecustomize`` module, and ``WSFAST_RUN`` names the
hosts to patch. Every Python process the program spawns (multiprocessing
workers, subprocesses, uvicorn's or gunicorn's workers) inherits both, so
it is patched as it starts too. Each process logs one line on stderr
saying what it patched. An existing sitecustomize still runs after ours.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from typing import Dict, List, Optional

__all__ = ["main", "patch_and_log", "BOOTSTRAP"]

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")

USAGE = "usage: python -m wsfast run [--only NAMES] (-m MODULE | SCRIPT) [ARGS...]"


def patch_and_log(wanted: str) -> List[str]:
    """Patch the hosts named in ``wanted`` ("" or "*": every installed one),
    each on its own so one failure leaves the others patched, and write
    one line on stderr naming what was patched."""
    from . import dropin

    names = [n for n in wanted.replace(",", " ").split() if n != "*"]
    if not names:
        names = []
        for name in dropin.HOSTS:
            try:
                if dropin._installed_version(dropin._adapter(name)) is not None:
                    names.append(name)
            except ImportError:
                continue
    done: List[str] = []
    problems: List[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in names:
            try:
                done += dropin.patch(name)
            except Exception as exc:
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
    for caught_warning in caught:
        text = str(caught_warning.message)
        if text.startswith("wsfast"):  # why a host was left alone
            problems.append(text)
        else:  # someone else's (a ResourceWarning from a collection, say): as it was
            warnings.warn_explicit(caught_warning.message, caught_warning.category,
                                   caught_warning.filename, caught_warning.lineno)
    versions = dropin.patched()
    what = ", ".join(f"{n} {versions[n]}" for n in done) or "nothing"
    line = f"wsfast: patched {what} (pid {os.getpid()})"
    if problems:
        line += "; " + "; ".join(problems)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return done


def _environment(only: List[str]) -> Dict[str, str]:
    env = dict(os.environ)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = BOOTSTRAP + (os.pathsep + existing if existing else "")
    env["WSFAST_RUN"] = ",".join(only) if only else "*"
    return env


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    only: List[str] = []
    while args and args[0].startswith("--only"):
        option = args.pop(0)
        if "=" in option:
            value = option.split("=", 1)[1]
        elif args:
            value = args.pop(0)
        else:
            print(USAGE, file=sys.stderr)
            return 2
        only += [n for n in value.replace(",", " ").split() if n]
    if not args or args[0] in ("-h", "--help"):
        print(USAGE + "\n\nRun a program with wsfast.patch() applied in it and in every Python process it "
              "starts.\n  --only NAMES  patch only these hosts (comma-separated; default: every installed "
              "one)", file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "-m":
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        command = [sys.executable, "-m", *args[1:]]
    else:
        command = [sys.executable, *args]
    from . import dropin

    for name in only:
        try:
            dropin._adapter(name)
        except ValueError as exc:
            print(f"python -m wsfast run: {exc}", file=sys.stderr)
            return 2
    env = _environment(only)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(sys.executable, command, env)
    return subprocess.call(command, env=env)
