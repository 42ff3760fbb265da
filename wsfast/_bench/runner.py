"""Timing: calibrated repeats of zero-argument callables.

Each repeat calls a candidate ``calls`` times in a bare loop, with the
garbage collector off so a collection triggered by someone else's garbage
does not land in one candidate's numbers. ``calls`` is chosen so a repeat
lasts about ``target_ns``; the best repeat is the figure (the least
disturbed by the machine), the median says how noisy it was. The candidates
of one workload take turns, one repeat each per round, and the rounds go on
past the planned repeats while a wsfast candidate's ratio to the fastest
peer is still moving, up to a time limit per workload.

Noise is reported, not hidden: each result knows its spread (median over
best) and, paired round by round with the fastest peer, the interval its
ratio fell in. A row whose median is far from its best, or whose ratio
interval straddles 1 (so which one is faster is not settled), is noisy.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import statistics
import time
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

from .workloads import Candidate, Workload

__all__ = [
    "Settings",
    "Timing",
    "Result",
    "calibrate",
    "run_workload",
    "run_candidate",
    "rank",
    "ratio_interval",
    "machine_load",
    "NOISY_SPREAD",
]

MS = 1_000_000

#: A row whose median is more than this fraction above its best is noisy.
NOISY_SPREAD = 0.10


class Settings(NamedTuple):
    repeats: int = 7
    target_ns: int = 30 * MS
    # Slow candidates (one call near or above target_ns) get fewer repeats
    # rather than stretching the run: no more than this per candidate.
    budget_ns: int = 3_000 * MS
    min_repeats: int = 3
    # Past `repeats`, more rounds while a wsfast ratio's interval is wider
    # than `stable` (relative to its middle), within `limit_ns` of timing per
    # workload and `max_rounds` rounds in all. limit_ns = 0: no extra rounds.
    limit_ns: int = 12_000 * MS
    max_rounds: int = 31
    stable: float = 0.05

    @classmethod
    def full(cls) -> "Settings":
        return cls()

    @classmethod
    def quick(cls) -> "Settings":
        return cls(
            repeats=3,
            target_ns=8 * MS,
            budget_ns=500 * MS,
            min_repeats=2,
            limit_ns=1_500 * MS,
            max_rounds=11,
            stable=0.10,
        )


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
        # Paired with the fastest peer, round by round (None: no pairs, or
        # this is the fastest peer).
        self.ratio_low: Optional[float] = None
        self.ratio_high: Optional[float] = None

    @property
    def spread(self) -> Optional[float]:
        """How far the median is above the best, as a fraction of the best."""
        if self.timing is None or not self.timing.best_ns:
            return None
        return self.timing.median_ns / self.timing.best_ns - 1.0

    @property
    def noise(self) -> List[str]:
        """Why this row cannot be trusted as it stands (empty: it can)."""
        reasons = []
        spread = self.spread
        if spread is not None and spread > NOISY_SPREAD:
            reasons.append(f"median {spread * 100:.0f}% above best")
        if self.ratio_low is not None and self.ratio_high is not None and self.ratio_low < 1.0 < self.ratio_high:
            reasons.append("ratio interval straddles 1")
        return reasons

    @property
    def noisy(self) -> bool:
        return bool(self.noise)

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
    planned = max((p.repeats for p in prepared), default=0)
    started = time.perf_counter_ns()
    round_index = 0
    while True:
        if round_index >= planned:
            if not _unsettled(prepared, settings, started, round_index):
                break
            # Extra rounds for every candidate that had them all so far.
            for ready in prepared:
                if ready.repeats == round_index:
                    ready.repeats += 1
        if on_step is not None:
            extra = "" if round_index < planned else " (ratio not settled yet)"
            on_step(f"{workload.name} repeat {round_index + 1}/{max(planned, round_index + 1)}{extra}")
        gc.collect()
        for ready in prepared:
            if round_index >= ready.repeats or ready.result.status == "failed":
                continue
            try:
                ready.samples.append(_timed(ready.fn, ready.calls) / ready.calls)
            except Exception as exc:
                ready.result.status = "failed"
                ready.result.reason = f"while timing: {type(exc).__name__}: {exc}"
        round_index += 1
    for ready in prepared:
        if ready.result.status == "failed" or not ready.samples:
            continue
        samples = ready.samples
        ready.result.timing = Timing(
            min(samples), statistics.median(samples), ready.calls, len(samples), samples
        )
        ready.result.status = "ok"
    return results


def _unsettled(prepared: List[_Prepared], settings: Settings, started: int, rounds: int) -> bool:
    """Whether another round is wanted: some wsfast candidate's ratio to the
    fastest peer so far is not within ``settings.stable``, and time and the
    round cap allow one more."""
    if settings.limit_ns <= 0 or rounds >= settings.max_rounds:
        return False
    if time.perf_counter_ns() - started >= settings.limit_ns:
        return False
    live = [p for p in prepared if p.result.status != "failed" and len(p.samples) == rounds]
    peers = [p for p in live if p.result.kind == "peer"]
    if not peers:
        return False
    best = min(peers, key=lambda p: min(p.samples))
    for ready in live:
        if ready.result.kind != "wsfast":
            continue
        interval = ratio_interval(best.samples, ready.samples)
        if interval is None:
            continue
        low, high = interval
        middle = (low + high) / 2
        if middle and (high - low) / middle > settings.stable:
            return True
    return False


def ratio_interval(peer_ns: Sequence[float], own_ns: Sequence[float]) -> Optional[Tuple[float, float]]:
    """The range the ratio (peer time over own time) fell in, pairing the two
    round by round: the interquartile range from 5 pairs up, else the full
    range; None under 2 pairs."""
    paired = sorted(p / o for p, o in zip(peer_ns, own_ns) if o > 0)
    if len(paired) < 2:
        return None
    if len(paired) < 5:
        return paired[0], paired[-1]
    quartiles = statistics.quantiles(paired, n=4, method="inclusive")
    return quartiles[0], quartiles[2]


def machine_load() -> Optional[Tuple[float, int]]:
    """The 1-minute load average and the core count (None where the OS has
    no load average, as on Windows)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    return load, os.cpu_count() or 1


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
            if result is not best:
                interval = ratio_interval(best.timing.samples_ns, result.timing.samples_ns)
                if interval is not None:
                    result.ratio_low, result.ratio_high = interval
    return best
