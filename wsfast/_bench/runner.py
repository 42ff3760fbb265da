"""Timing: calibrated repeats of zero-argument callables.

Each repeat calls a candidate ``calls`` times in a bare loop, with the
garbage collector off so a collection triggered by someone else's garbage
does not land in one candidate's numbers. ``calls`` is chosen so a repeat
lasts about ``target_ns``; the best repeat is the figure (the least
disturbed by the machine), the median says how noisy it was. The candidates
of one workload take turns, one repeat each per round.
"""

from __future__ import annotations

import gc
import itertools
import math
import statistics
import time
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

from .workloads import Candidate, Workload

__all__ = ["Settings", "Timing", "Result", "calibrate", "run_workload", "run_candidate", "rank"]

MS = 1_000_000


class Settings(NamedTuple):
    repeats: int = 7
    target_ns: int = 30 * MS
    # Slow candidates (one call near or above target_ns) get fewer repeats
    # rather than stretching the run: no more than this per candidate.
    budget_ns: int = 3_000 * MS
    min_repeats: int = 3

    @classmethod
    def full(cls) -> "Settings":
        return cls()

    @classmethod
    def quick(cls) -> "Settings":
        return cls(repeats=3, target_ns=8 * MS, budget_ns=500 * MS, min_repeats=2)


class Timing(NamedTuple):
    best_ns: float
    median_ns: float
    calls: int
    repeats: int
    samples_ns: List[float]


def _timed(fn: Callable[[], Any], calls: int) -> int:
    loop = itertools.repeat(None, calls)
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def calibrate(fn: Callable[[], Any], target_ns: int) -> Tuple[int, float]:
    """Calls per repeat so one repeat lasts about ``target_ns``, and the
    time per call seen on the way."""
    calls = 1
    while True:
        elapsed = max(_timed(fn, calls), 1)
        if elapsed >= target_ns // 2:
            return max(1, round(calls * target_ns / elapsed)), elapsed / calls
        # Grow fast through the noise of tiny timings, then aim.
        if elapsed < 100_000:
            calls *= 10
        else:
            calls = max(calls + 1, math.ceil(calls * target_ns / elapsed))


class Result:
    """One candidate on one workload: its timing, or why it has none."""

    def __init__(self, workload: Workload, candidate: Candidate) -> None:
        self.workload = workload.name
        self.family = workload.family
        self.unit = workload.unit
        self.candidate = candidate.name
        self.kind = candidate.kind
        self.peer = candidate.peer
        self.note = candidate.note
        self.status = "skipped"  # "ok", "failed" (check or crash), "skipped"
        self.reason = ""
        self.timing: Optional[Timing] = None
        self.bytes_per_call = 0
        self.items_per_call = 1
        self.ratio: Optional[float] = None

    @property
    def best_ns(self) -> Optional[float]:
        return self.timing.best_ns if self.timing else None

    @property
    def median_ns(self) -> Optional[float]:
        return self.timing.median_ns if self.timing else None

    def throughput(self, ns: Optional[float]) -> Optional[float]:
        """GB/s for byte workloads, M frames/s for frame workloads."""
        if not ns:
            return None
        if self.unit == "bytes":
            return self.bytes_per_call / ns
        return self.items_per_call / ns * 1000.0

    @property
    def throughput_unit(self) -> str:
        return "GB/s" if self.unit == "bytes" else "M frames/s"


class _Prepared:
    def __init__(self, result: Result, fn: Callable[[], Any], calls: int, repeats: int) -> None:
        self.result = result
        self.fn = fn
        self.calls = calls
        self.repeats = repeats
        self.samples: List[float] = []


def _prepare(
    workload: Workload, candidate: Candidate, settings: Settings, skip_reason: Optional[str]
) -> Tuple[Result, Optional[_Prepared]]:
    result = Result(workload, candidate)
    if skip_reason is not None:
        result.reason = skip_reason
        return result, None
    try:
        inputs = workload.inputs()
        result.bytes_per_call = inputs.bytes_per_call
        result.items_per_call = inputs.items_per_call
        fn, check = candidate.setup(inputs)
    except Exception as exc:
        result.status, result.reason = "failed", f"setup: {type(exc).__name__}: {exc}"
        return result, None
    try:
        check(fn())
    except Exception as exc:
        # Never time a candidate that gives the wrong answer.
        result.status, result.reason = "failed", f"check: {type(exc).__name__}: {exc}"
        return result, None
    try:
        calls, per_call = calibrate(fn, settings.target_ns)
    except Exception as exc:
        result.status, result.reason = "failed", f"while timing: {type(exc).__name__}: {exc}"
        return result, None
    repeats = settings.repeats
    if calls == 1:
        affordable = int(settings.budget_ns // max(per_call, 1.0))
        repeats = max(settings.min_repeats, min(repeats, affordable))
    return result, _Prepared(result, fn, calls, repeats)


def run_workload(
    workload: Workload,
    plan: Sequence[Tuple[Candidate, Optional[str]]],
    settings: Settings,
    on_step: Optional[Callable[[str], None]] = None,
    on_prepared: Optional[Callable[[], None]] = None,
) -> List[Result]:
    """Check and calibrate every candidate, then time them in rounds.

    A round times each candidate once, so a burst of load from elsewhere on
    the machine lands on all of them alike instead of on whichever candidate
    happened to be running; the best repeat of each then comes from the
    quiet moments.
    """
    results: List[Result] = []
    prepared: List[_Prepared] = []
    for candidate, reason in plan:
        if reason is None and on_step is not None:
            on_step(f"{workload.name} {candidate.name}")
        result, ready = _prepare(workload, candidate, settings, reason)
        results.append(result)
        if ready is not None:
            prepared.append(ready)
        if reason is None and on_prepared is not None:
            on_prepared()
    rounds = max((p.repeats for p in prepared), default=0)
    for round_index in range(rounds):
        if on_step is not None:
            on_step(f"{workload.name} repeat {round_index + 1}/{rounds}")
        gc.collect()
        for ready in prepared:
            if round_index >= ready.repeats or ready.result.status == "failed":
                continue
            try:
                ready.samples.append(_timed(ready.fn, ready.calls) / ready.calls)
            except Exception as exc:
                ready.result.status = "failed"
                ready.result.reason = f"while timing: {type(exc).__name__}: {exc}"
    for ready in prepared:
        if ready.result.status == "failed" or not ready.samples:
            continue
        samples = ready.samples
        ready.result.timing = Timing(
            min(samples), statistics.median(samples), ready.calls, len(samples), samples
        )
        ready.result.status = "ok"
    return results


def run_candidate(
    workload: Workload, candidate: Candidate, settings: Settings, skip_reason: Optional[str] = None
) -> Result:
    return run_workload(workload, [(candidate, skip_reason)], settings)[0]


def rank(results: List[Result]) -> Optional[Result]:
    """Fill in each result's ratio to the fastest peer; return that peer.

    The ratio is the speed relative to the best peer's best time: 2.0 is
    twice as fast, 0.5 half as fast. Baselines are given a ratio too but
    are never the best peer.
    """
    timed = [r for r in results if r.timing is not None]
    peers = [r for r in timed if r.kind == "peer"]
    best = min(peers, key=lambda r: r.timing.best_ns if r.timing else math.inf, default=None)
    for result in timed:
        if best is not None and best.timing is not None and result.timing is not None:
            result.ratio = best.timing.best_ns / result.timing.best_ns
    return best
