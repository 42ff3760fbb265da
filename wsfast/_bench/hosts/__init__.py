"""``python -m wsfast bench --hosts``: each host library patched against
itself unpatched, through its own public paths, in one process.

Each host has a module here (``wsfast/_bench/hosts/<adapter module>.py``,
named like its adapter in ``wsfast.dropin``) with ``cases()`` returning
``Case``s. A case's ``setup()`` builds everything it needs (servers,
connections, protocol objects) and returns ``(run, close)``: ``run()`` does
one unit of work and returns a value that must be the same patched and
unpatched (the check), ``close()`` tears down. Setup runs once per patch
state, under that state, because patching replaces classes and functions
that objects capture when they are made.

Timing: both states are checked and calibrated, then timed in rounds, one
repeat each per round, patching and unpatching between repeats, so that
load from elsewhere on the machine lands on both alike. The figures are the
best and the median repeat; the ratio is unpatched time over patched time
(2.00x: the patched host takes half the time).
"""

from __future__ import annotations

import gc
import importlib
import statistics
import sys
from typing import IO, Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .. import runner as _runner
from ..report import _duration, _Symbols

__all__ = ["Case", "HostResult", "list_cases", "main", "run_case", "set_state"]

Run = Callable[[], Any]
Close = Callable[[], None]


class Case(NamedTuple):
    name: str
    description: str
    setup: Callable[[], Tuple[Run, Close]]
    #: Messages (or frames) one ``run()`` handles, and their payload bytes.
    items: int
    payload_bytes: int


class HostResult(NamedTuple):
    host: str
    case: str
    description: str
    items: int
    payload_bytes: int
    status: str  # "ok", "failed", "skipped"
    reason: str
    unpatched: Optional[_runner.Timing]
    patched: Optional[_runner.Timing]

    @property
    def ratio(self) -> Optional[float]:
        if self.unpatched is None or self.patched is None:
            return None
        return self.unpatched.best_ns / self.patched.best_ns

    @property
    def median_ratio(self) -> Optional[float]:
        if self.unpatched is None or self.patched is None:
            return None
        return self.unpatched.median_ns / self.patched.median_ns


def _api() -> Any:
    from ... import _backend

    api = _backend.select()
    return api if api.IMPLEMENTATION == "cython" else None


def set_state(host: str, patched: bool) -> None:
    """Patch ``host`` with the compiled backend, or restore its originals."""
    from ... import dropin

    if patched:
        if dropin._patch_with(_api(), (host,)) != [host]:
            raise RuntimeError(f"{host} could not be patched")
    else:
        dropin.unpatch(host)


def hide(package: str) -> bool:
    """Make ``package`` unimportable for this process, as if not installed
    (hosts pick their accelerators at import time). False if it or a host
    that may have picked it up is imported already."""
    if any(name == package or name.startswith(package + ".") for name in sys.modules) or any(
        name.split(".")[0] in sys.modules for name in ("websocket", "autobahn")
    ):
        return False
    for name in (package, f"{package}.xormask", f"{package}.utf8validator"):
        sys.modules[name] = None  # type: ignore[assignment]
    return True


def _cases(host: str) -> List[Case]:
    from ... import dropin

    module = importlib.import_module(f"{__name__}.{dropin.HOSTS[host]}")
    cases: List[Case] = module.cases()
    return cases


def run_case(host: str, case: Case, settings: _runner.Settings) -> HostResult:
    prepared: Dict[bool, Tuple[Run, Close, int]] = {}
    results: Dict[bool, Any] = {}

    def failed(reason: str) -> HostResult:
        return HostResult(host, case.name, case.description, case.items, case.payload_bytes,
                          "failed", reason, None, None)

    try:
        for patched in (False, True):
            set_state(host, patched)
            try:
                run, close = case.setup()
            except Exception as exc:
                return failed(f"setup ({'patched' if patched else 'unpatched'}): {type(exc).__name__}: {exc}")
            prepared[patched] = (run, close, 1)
            try:
                results[patched] = run()
                calls, _ = _runner.calibrate(run, settings.target_ns)
            except Exception as exc:
                return failed(f"{'patched' if patched else 'unpatched'}: {type(exc).__name__}: {exc}")
            prepared[patched] = (run, close, calls)
        if results[False] != results[True]:
            return failed(f"patched result differs: {results[True]!r:.80} != {results[False]!r:.80}")
        samples: Dict[bool, List[float]] = {False: [], True: []}
        for _ in range(settings.repeats):
            gc.collect()
            for patched in (False, True):
                set_state(host, patched)
                run, _, calls = prepared[patched]
                samples[patched].append(_runner._timed(run, calls) / calls)
        timings = {
            patched: _runner.Timing(min(s), statistics.median(s), prepared[patched][2], len(s), s)
            for patched, s in samples.items()
        }
        return HostResult(host, case.name, case.description, case.items, case.payload_bytes,
                          "ok", "", timings[False], timings[True])
    finally:
        for patched, (_run, close, _) in prepared.items():
            set_state(host, patched)
            try:
                close()
            except Exception:
                pass
        set_state(host, False)


def _header(out: IO[str], settings: _runner.Settings, quick: bool) -> None:
    import platform

    import wsfast

    sym = _Symbols(out)
    print(f"wsfast {wsfast.__version__} bench --hosts {sym.dash} each host patched against itself unpatched",
          file=out)
    print(f"python: {platform.python_implementation()} {platform.python_version()} ({platform.machine()})",
          file=out)
    print(f"timing: best and median of {settings.repeats} repeats of ~{settings.target_ns / 1e6:g} ms per "
          f"state, patched and unpatched interleaved, gc off" + (" (--quick)" if quick else ""), file=out)
    print(f"ratio: unpatched time / patched time (2.00{sym.times} = the patched host takes half the time)",
          file=out)


def print_host(host: str, version: str, results: Sequence[HostResult], out: IO[str]) -> None:
    sym = _Symbols(out)
    print(file=out)
    print(f"{host} {version}", file=out)
    width = max(len("case"), *(len(r.case) for r in results))
    print(f"  {'case':<{width}}  {'unpatched':>10}  {'median':>10}  {'patched':>10}  {'median':>10}"
          f"  {'ratio':>7}  {'median':>7}", file=out)
    for r in results:
        if r.unpatched is None or r.patched is None:
            print(f"  {r.case:<{width}}  {r.status.upper()}: {r.reason}", file=out)
            continue
        print(
            f"  {r.case:<{width}}"
            f"  {_duration(r.unpatched.best_ns, sym):>10}  {_duration(r.unpatched.median_ns, sym):>10}"
            f"  {_duration(r.patched.best_ns, sym):>10}  {_duration(r.patched.median_ns, sym):>10}"
            f"  {r.ratio:>6.2f}{sym.times}  {r.median_ratio:>6.2f}{sym.times}",
            file=out,
        )


def _wanted(host: str, case: str, only: Optional[Sequence[str]]) -> bool:
    if not only:
        return True
    full = f"{host}/{case}"
    return any(full.startswith(prefix) or host == prefix for prefix in only)


def _hosts(only: Optional[Sequence[str]], out: IO[str]) -> Iterator[Tuple[Any, List[Case]]]:
    """Each host ``only`` names (all without it) that can be benchmarked,
    with its cases; why the others cannot is printed to ``out``."""
    from ... import dropin

    for name in dropin.HOSTS:
        if only and not any(p == name or p.startswith(name + "/") for p in only):
            continue
        try:
            adapter = dropin._adapter(name)
        except ImportError:
            print(f"\n{name}: no adapter in this build, skipped", file=out)
            continue
        version = dropin._installed_version(adapter)
        if version is None:
            print(f"\n{name}: not installed, skipped", file=out)
            continue
        if not dropin._in_range(version, adapter.TESTED):
            print(f"\n{name} {version}: outside the versions its adapter was tested on, skipped", file=out)
            continue
        info = dropin.HostInfo(name, adapter.DISTRIBUTION, version, False, adapter.TESTED)
        try:
            cases = _cases(info.name)
        except ImportError as exc:
            print(f"\n{info.name} {info.version}: no cases ({exc})", file=out)
            continue
        yield info, cases


def list_cases(only: Optional[Sequence[str]], out: Optional[IO[str]] = None) -> int:
    """``--hosts --list``: the cases ``only`` selects, each with what it times."""
    out = out or sys.stdout
    for info, cases in _hosts(only, out):
        chosen = [case for case in cases if _wanted(info.name, case.name, only)]
        if chosen:
            print(f"\n{info.name} {info.version}", file=out)
        for case in chosen:
            print(f"  {info.name}/{case.name}: {case.description}", file=out)
    return 0


def main(only: Optional[Sequence[str]], settings: _runner.Settings, quick: bool,
         json_path: Optional[str] = None, out: Optional[IO[str]] = None, list_only: bool = False) -> int:
    out = sys.stdout if out is None else out  # looked up now: sys.stdout may have been replaced
    from ... import dropin

    if list_only:
        return list_cases(only, out)
    if _api() is None:
        print("bench --hosts: the compiled backend is not in use (see `python -m wsfast info`); "
              "patch() would do nothing", file=sys.stderr)
        return 2
    _header(out, settings, quick)
    if sys.modules.get("wsaccel", True) is None:
        print("wsaccel: hidden (--without-wsaccel), as on a plain install", file=out)
    failures = 0
    document: List[Dict[str, Any]] = []
    already = dict(dropin.patched())
    dropin.unpatch()
    try:
        for info, cases in _hosts(only, out):
            results = []
            for case in cases:
                if _wanted(info.name, case.name, only):
                    results.append(run_case(info.name, case, settings))
            if not results:
                continue
            print_host(info.name, info.version or "", results, out)
            out.flush()
            failures += sum(r.status == "failed" for r in results)
            for r in results:
                document.append({
                    "host": r.host, "version": info.version, "case": r.case, "description": r.description,
                    "status": r.status, "reason": r.reason or None, "items": r.items,
                    "payload_bytes": r.payload_bytes,
                    "unpatched_best_ns": r.unpatched.best_ns if r.unpatched else None,
                    "unpatched_median_ns": r.unpatched.median_ns if r.unpatched else None,
                    "patched_best_ns": r.patched.best_ns if r.patched else None,
                    "patched_median_ns": r.patched.median_ns if r.patched else None,
                    "ratio": r.ratio, "median_ratio": r.median_ratio,
                })
    finally:
        dropin.unpatch()
        if already:
            dropin._patch_with(_api(), tuple(already))
    if json_path:
        from ..report import write_json

        write_json({"hosts": document}, json_path)
    return 1 if failures else 0
