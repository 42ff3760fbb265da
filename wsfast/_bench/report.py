"""What a benchmark run prints and writes: header, tables, JSON, plot."""

from __future__ import annotations

import importlib
import json
import math
import os
import platform
import sys
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

from .runner import NOISY_SPREAD, Result, Settings, machine_load

__all__ = [
    "environment",
    "print_header",
    "print_workload",
    "print_summary",
    "to_json",
    "write_json",
    "plot",
    "Progress",
    "PLOT_MISSING",
    "NUMPY_NOTE",
    "load_line",
    "load_json",
]

PLOT_MISSING = "matplotlib is not installed: pip install 'wsfast[plot]'"


def _can_encode(stream: IO[str], text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class _Symbols:
    def __init__(self, stream: IO[str]) -> None:
        fancy = _can_encode(stream, "×µ—")
        self.times = "×" if fancy else "x"
        self.micro = "µs" if fancy else "us"
        self.dash = "—" if fancy else "-"


def environment(settings: Settings, quick: bool) -> Dict[str, Any]:
    """Everything the header shows, as data (the JSON ``meta``)."""
    import wsfast

    from . import peers

    cpu = "(compiled backend not loaded)"
    try:
        from wsfast import _mask_c

        cpu = _mask_c.cpu_features() or "(none used)"
    except ImportError:
        pass
    found, missing = peers.discover()
    load = machine_load()
    return {
        "wsfast": {
            "version": wsfast.__version__,
            "implementation": wsfast.IMPLEMENTATION,
            "kernels": wsfast.kernels(),
            "cpu_features": cpu,
        },
        "python": {
            "implementation": platform.python_implementation(),
            "version": platform.python_version(),
            "machine": platform.machine(),
            "system": platform.system(),
            "cpus": os.cpu_count(),
        },
        "peers": {"found": found, "missing": missing},
        "settings": {
            "quick": quick,
            "repeats": settings.repeats,
            "target_ms": settings.target_ns / 1e6,
            "budget_ms": settings.budget_ns / 1e6,
            "limit_ms": settings.limit_ns / 1e6,
            "max_rounds": settings.max_rounds,
            "stable": settings.stable,
        },
        "load": load_json(load, load),
    }


#: Load average per core from which the machine counts as busy: on average
#: some runnable process waited for a core while the timings were taken.
BUSY_PER_CORE = 1.0

NUMPY_NOTE = (
    "numpy is a yardstick, not a WebSocket library: np.bitwise_xor over a uint32 view of the "
    "buffer, in place, is a plain vectorised XOR with none of masking's duties (no key offset, "
    "no length that is not a multiple of 4, no argument checks, no new bytes). It shows how "
    "close a hot path comes to the memory-bound floor; it is never counted as the best peer."
)


def load_json(start: Optional[Tuple[float, int]], worst: Optional[Tuple[float, int]]) -> Dict[str, Any]:
    if start is None or worst is None:
        return {"available": False}
    cores = start[1]
    return {
        "available": True,
        "cores": cores,
        "start": start[0],
        "max": worst[0],
        "max_per_core": worst[0] / cores,
        "busy": worst[0] / cores >= BUSY_PER_CORE,
    }


def load_line(load: Dict[str, Any], when: str) -> str:
    """One line on how busy the machine was (``when``: at start, at most)."""
    if not load.get("available"):
        return "machine load: unknown (no load average on this OS)"
    value = load["start"] if when == "at start" else load["max"]
    per_core = value / load["cores"]
    text = f"machine load {when}: {value:.2f} (1-min load average) over {load['cores']} cores = {per_core:.2f} per core"
    if per_core >= BUSY_PER_CORE:
        return text + ": BUSY, other processes competed for the CPU; expect noisy rows, rerun when idle"
    if per_core >= BUSY_PER_CORE / 2:
        return text + ": some load"
    return text + ": quiet"


def print_header(meta: Dict[str, Any], out: IO[str]) -> None:
    sym = _Symbols(out)
    ws, py, found, missing = meta["wsfast"], meta["python"], meta["peers"]["found"], meta["peers"]["missing"]
    kernels = ", ".join(f"{k}={v}" for k, v in ws["kernels"].items())
    settings = meta["settings"]
    print(
        f"wsfast {ws['version']} benchmark {sym.dash} implementation {ws['implementation']}, kernels {kernels}",
        file=out,
    )
    print(f"cpu features: {ws['cpu_features']}", file=out)
    print(
        f"python: {py['implementation']} {py['version']} ({py['machine']}, {py['system']}, {py['cpus']} cpus)",
        file=out,
    )
    print("peers found: " + (", ".join(f"{k} {v}" for k, v in found.items()) or "none"), file=out)
    if missing:
        print("peers missing: " + "; ".join(f"{k} ({why})" for k, why in missing.items()), file=out)
    print(
        f"timing: best and median of {settings['repeats']} repeats of ~{settings['target_ms']:g} ms each, gc off,"
        f" candidates interleaved; more rounds (up to {settings['max_rounds']}, {settings['limit_ms'] / 1e3:g} s"
        f" per workload) while a wsfast ratio moves by more than {settings['stable'] * 100:g}%"
        + (" (--quick)" if settings["quick"] else ""),
        file=out,
    )
    print(
        f"ratio: speed relative to the fastest peer in this run (2.00{sym.times} = twice as fast);"
        f" range: where the ratio fell, round by round (interquartile from 5 rounds)",
        file=out,
    )
    print(
        f"spread: median over best; NOISY: spread above {NOISY_SPREAD * 100:g}%, or a ratio range"
        " that straddles 1 (which one is faster is not settled)",
        file=out,
    )
    print(
        "baselines (copy floor, numpy) are yardsticks, not WebSocket libraries: shown with a ratio,"
        " never the best peer",
        file=out,
    )
    print(load_line(meta["load"], "at start"), file=out)


def _duration(ns: Optional[float], sym: _Symbols) -> str:
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} {sym.micro}"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def _number(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _spread(result: Result) -> str:
    spread = result.spread
    return "-" if spread is None else f"+{spread * 100:.0f}%"


def _range(result: Result, sym: _Symbols) -> str:
    if result.ratio_low is None or result.ratio_high is None:
        return "-"
    return f"{result.ratio_low:.2f}-{result.ratio_high:.2f}"


def _ratio(result: Result, best: Optional[Result], sym: _Symbols) -> str:
    if result.ratio is None:
        return "-"
    text = f"{result.ratio:.2f}{sym.times}"
    if result is best:
        return text + " (best peer)"
    if result.kind == "wsfast":
        return text + " best peer"
    if result.kind == "baseline":
        return text + " (baseline)"
    return text


def print_workload(description: str, results: List[Result], best: Optional[Result], out: IO[str]) -> None:
    sym = _Symbols(out)
    first = next((r for r in results if r.bytes_per_call), results[0])
    timed = sorted((r for r in results if r.timing is not None), key=lambda r: r.best_ns or math.inf)
    size = f"{first.bytes_per_call:,} bytes" if first.bytes_per_call else ""
    if first.unit == "frames" and first.items_per_call > 1:
        size = f"{first.items_per_call:,} frames, {size}"
    print(file=out)
    print(f"{first.workload} {sym.dash} {description}" + (f" ({size} per call)" if size else ""), file=out)
    if timed:
        unit = timed[0].throughput_unit
        width = max(len("candidate"), *(len(r.candidate) for r in timed))
        ratios = [_ratio(r, best, sym) for r in timed]
        rw = max(len("ratio"), *(len(text) for text in ratios))
        print(
            f"  {'candidate':<{width}}  {'best':>10}  {'median':>10}  {'spread':>6}  {unit:>10}"
            f"  {'ratio':<{rw}}  {'range':<11}  noise",
            file=out,
        )
        for result, ratio in zip(timed, ratios):
            best_time, median_time = _duration(result.best_ns, sym), _duration(result.median_ns, sym)
            noise = "NOISY: " + ", ".join(result.noise) if result.noisy else ""
            print(
                f"  {result.candidate:<{width}}  {best_time:>10}  {median_time:>10}  {_spread(result):>6}"
                f"  {_number(result.throughput(result.best_ns)):>10}  {ratio:<{rw}}  {_range(result, sym):<11}"
                f"  {noise}".rstrip(),
                file=out,
            )
        if any(r.candidate == "numpy" for r in timed):
            print("  " + NUMPY_NOTE, file=out)
    for result in results:
        if result.status == "failed":
            print(f"  FAILED {result.candidate}: {result.reason} (not timed)", file=out)
    skipped = [r for r in results if r.status == "skipped"]
    if skipped:
        print("  skipped: " + "; ".join(f"{r.candidate} ({r.reason})" for r in skipped), file=out)


def print_summary(
    groups: Sequence[List[Result]],
    bests: Sequence[Optional[Result]],
    out: IO[str],
    load: Optional[Dict[str, Any]] = None,
) -> None:
    """One line per workload: wsfast's compiled backend against the best
    peer; then how many rows were noisy and how busy the machine was."""
    sym = _Symbols(out)
    rows = []
    for results, best in zip(groups, bests):
        for result in results:
            if result.candidate.startswith("wsfast-cython") and result.timing is not None:
                rows.append((result, best))
    if rows:
        print(file=out)
        print("summary: wsfast-cython against the fastest peer", file=out)
        wl = max(len("workload"), *(len(r.workload) for r, _ in rows))
        cw = max(len("candidate"), *(len(r.candidate) for r, _ in rows))
        pw = max(len("best peer"), *(len(b.candidate) if b else 1 for _, b in rows))
        print(
            f"  {'workload':<{wl}}  {'candidate':<{cw}}  {'best':>10}  {'best peer':<{pw}}  {'its best':>10}"
            f"  {'ratio':<6}  {'range':<11}  noise",
            file=out,
        )
        for result, best in rows:
            ratio = f"{result.ratio:.2f}{sym.times}" if result.ratio else "-"
            noise = "NOISY" if result.noisy else ""
            print(
                f"  {result.workload:<{wl}}  {result.candidate:<{cw}}  {_duration(result.best_ns, sym):>10}"
                f"  {(best.candidate if best else '-'):<{pw}}  {_duration(best.best_ns if best else None, sym):>10}"
                f"  {ratio:<6}  {_range(result, sym):<11}  {noise}".rstrip(),
                file=out,
            )
    timed = [r for results in groups for r in results if r.timing is not None]
    noisy = [r for r in timed if r.noisy]
    spread = sum(1 for r in noisy if any(reason.startswith("median") for reason in r.noise))
    straddle = sum(1 for r in noisy if "ratio interval straddles 1" in r.noise)
    print(file=out)
    print(
        f"noisy rows: {len(noisy)} of {len(timed)}"
        f" ({spread} with the median more than {NOISY_SPREAD * 100:g}% above the best,"
        f" {straddle} whose ratio range straddles 1)",
        file=out,
    )
    if load is not None:
        print(load_line(load, "at most"), file=out)


def _result_json(result: Result, best: Optional[Result]) -> Dict[str, Any]:
    timing = result.timing
    return {
        "workload": result.workload,
        "family": result.family,
        "candidate": result.candidate,
        "kind": result.kind,
        "peer": result.peer,
        "status": result.status,
        "check": {"ok": "passed", "failed": "failed"}.get(result.status, "not run"),
        "reason": result.reason or None,
        "best_ns": timing.best_ns if timing else None,
        "median_ns": timing.median_ns if timing else None,
        "calls_per_repeat": timing.calls if timing else None,
        "repeats": timing.repeats if timing else None,
        "bytes_per_call": result.bytes_per_call or None,
        "items_per_call": result.items_per_call if result.bytes_per_call else None,
        "throughput": result.throughput(result.best_ns),
        "median_throughput": result.throughput(result.median_ns),
        "throughput_unit": result.throughput_unit,
        "ratio": result.ratio,
        "ratio_low": result.ratio_low,
        "ratio_high": result.ratio_high,
        "spread": result.spread,
        "noisy": result.noisy if timing else None,
        "noise": result.noise,
        "best_peer": best.candidate if best else None,
        "note": result.note or None,
    }


def to_json(
    meta: Dict[str, Any], groups: Sequence[List[Result]], bests: Sequence[Optional[Result]]
) -> Dict[str, Any]:
    return {
        "meta": meta,
        "results": [_result_json(r, best) for results, best in zip(groups, bests) for r in results],
    }


def write_json(document: Dict[str, Any], path: str) -> None:
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def matplotlib_available() -> bool:
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def plot(groups: Sequence[List[Result]], path: str) -> None:
    """A horizontal bar chart of throughput per workload, wsfast in colour."""
    # Imported by name: matplotlib is an optional extra, typed or not.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")

    shown = [[r for r in results if r.timing is not None] for results in groups]
    shown = [results for results in shown if results]
    if not shown:
        return
    columns = min(4, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 2.8 * rows), squeeze=False)
    colours = {"wsfast": "#d62728", "peer": "#1f77b4", "baseline": "#aaaaaa"}
    for axis, results in zip(axes.flat, shown):
        ordered = sorted(results, key=lambda r: r.throughput(r.best_ns) or 0.0)
        axis.barh(
            [r.candidate for r in ordered],
            [r.throughput(r.best_ns) or 0.0 for r in ordered],
            color=[colours.get(r.kind, "#1f77b4") for r in ordered],
        )
        axis.set_title(ordered[0].workload, fontsize=9)
        axis.set_xlabel(ordered[0].throughput_unit, fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(shown) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


class Progress:
    """``[=====     ] 12/260 workload candidate`` on one stderr line."""

    def __init__(self, total: int, enabled: bool, stream: IO[str] = sys.stderr) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.enabled = enabled
        self._width = 0

    def step(self, label: str) -> None:
        if not self.enabled:
            return
        filled = 20 * self.done // self.total
        line = f"[{'=' * filled}{' ' * (20 - filled)}] {self.done}/{self.total} {label}"
        line = line[:78]
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def advance(self) -> None:
        self.done += 1

    def clear(self) -> None:
        """Erase the bar before a table goes to the same terminal."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    close = clear
