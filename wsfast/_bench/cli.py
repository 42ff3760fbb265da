"""``python -m wsfast bench``: wsfast against every installed peer."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

from . import report, runner, workloads

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast bench",
        description=(
            "Time wsfast's hot paths (both backends) against every installed WebSocket "
            "library in the same process, and print each workload as a table with ratios "
            "to the fastest peer."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Each row shows the best and the median repeat, the spread (median over best),\n"
            "the ratio to the fastest peer and the range that ratio fell in, paired round by\n"
            "round. Candidates take turns, one repeat each per round, and the rounds go on while\n"
            "a wsfast ratio still moves, up to a time limit per workload. A row whose median\n"
            "is far from its best, or whose ratio range straddles 1, is marked NOISY, and the\n"
            "summary counts them; the header and the summary give the machine's load average\n"
            "per core (BUSY from 1.0).\n\n"
            "Baselines are yardsticks, never the best peer: 'copy floor' is the cost of\n"
            "allocating and copying the bytes, 'numpy' an in-place np.bitwise_xor over a\n"
            "uint32 view (a plain vectorised XOR without masking's checks and key offsets).\n\n"
            "examples:\n"
            "  python -m wsfast bench --quick\n"
            "  python -m wsfast bench --only mask utf8/cjk --json results.json\n"
            "  python -m wsfast bench --list --only parse"
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 shorter repeats per candidate instead of 7, at most 1.5 s of extra rounds per workload (not 12 s)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help=(
            "run only workloads whose name starts with NAME: a family ("
            + ", ".join(workloads.FAMILIES)
            + ") or a longer prefix such as mask/64KiB or utf8/cjk"
        ),
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the results as JSON to FILE ('-': stdout, no tables)"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw a bar chart per workload (needs matplotlib: wsfast[plot])",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the workloads (with --only: those selected) and their candidates, each skipped one "
        "with the reason, then exit without timing anything",
    )
    parser.add_argument(
        "--hosts",
        action="store_true",
        help=(
            "instead: each installed host library patched against itself unpatched, through its "
            "own public paths (--only takes host names or host/case prefixes)"
        ),
    )
    parser.add_argument(
        "--without-wsaccel",
        action="store_true",
        help="with --hosts: hide wsaccel from the hosts, as on a plain install (websocket-client uses it)",
    )
    # For tests and quick experiments: override the timing settings.
    parser.add_argument("--repeat", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--min-time", type=float, metavar="MS", help=argparse.SUPPRESS)
    parser.add_argument("--max-size", type=_size, metavar="BYTES", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-time", type=float, metavar="S", help=argparse.SUPPRESS)
    return parser


def _size(text: str) -> int:
    """``65536``, ``64KiB`` or ``1MiB``."""
    for unit, scale in (("MiB", workloads.MiB), ("KiB", workloads.KiB), ("B", 1)):
        if text.endswith(unit):
            return int(text[: -len(unit)]) * scale
    return int(text)


def _settings(args: argparse.Namespace) -> runner.Settings:
    settings = runner.Settings.quick() if args.quick else runner.Settings.full()
    if args.repeat is not None:
        settings = settings._replace(
            repeats=max(1, args.repeat), min_repeats=min(settings.min_repeats, max(1, args.repeat))
        )
    if args.max_time is not None:
        settings = settings._replace(limit_ns=max(0, int(args.max_time * 1e9)))
    if args.min_time is not None:
        target = max(1, int(args.min_time * 1e6))
        settings = settings._replace(
            target_ns=target, budget_ns=min(settings.budget_ns, target * max(settings.repeats, 1) * 4)
        )
    return settings


def _list(chosen: Sequence[workloads.Workload]) -> int:
    for workload in chosen:
        print(f"{workload.name}: {workload.description}")
        for candidate, reason in workload.plan():
            print(f"  {candidate.name}" + (f"  [skipped: {reason}]" if reason else ""))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # Output piped into head(1) and the like: stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: Optional[List[str]]) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.hosts:
        from . import hosts

        if args.without_wsaccel and not hosts.hide("wsaccel"):
            print("python -m wsfast bench: --without-wsaccel: wsaccel is imported already", file=sys.stderr)
            return 2
        return hosts.main(args.only, _settings(args), args.quick, args.json if args.json != "-" else None,
                          list_only=args.list)
    try:
        chosen = workloads.select(args.only)
    except ValueError as exc:
        print(f"python -m wsfast bench: {exc}", file=sys.stderr)
        return 2
    if args.max_size is not None:
        chosen = [w for w in chosen if w.size <= args.max_size]
    if args.list:
        return _list(chosen)
    if args.plot and not report.matplotlib_available():
        # Say so before spending minutes on a run whose chart cannot be drawn.
        print(report.PLOT_MISSING, file=sys.stderr)
        return 2

    settings = _settings(args)
    json_only = args.json == "-"
    out = sys.stderr if json_only else sys.stdout
    meta = report.environment(settings, args.quick)
    if not json_only:
        report.print_header(meta, out)
        out.flush()

    plans = [(workload, workload.plan()) for workload in chosen]
    total = sum(1 for _, plan in plans for _, reason in plan if reason is None)
    progress = report.Progress(total, enabled=sys.stderr.isatty() and not json_only and not args.no_progress)
    groups: List[List[runner.Result]] = []
    bests: List[Optional[runner.Result]] = []
    wsfast_failed = False
    start_load = worst_load = runner.machine_load()
    try:
        for workload, plan in plans:
            load = runner.machine_load()
            if load is not None and worst_load is not None and load[0] > worst_load[0]:
                worst_load = load
            results = runner.run_workload(
                workload, plan, settings, on_step=progress.step, on_prepared=progress.advance
            )
            workload.release()
            best = runner.rank(results)
            groups.append(results)
            bests.append(best)
            wsfast_failed |= any(r.kind == "wsfast" and r.status == "failed" for r in results)
            if not json_only:
                progress.clear()
                report.print_workload(workload.description, results, best, out)
                out.flush()
    except KeyboardInterrupt:
        progress.close()
        print("\ninterrupted; results so far are not written", file=sys.stderr)
        return 130
    progress.close()

    meta["load"] = report.load_json(start_load, worst_load)
    if not json_only:
        report.print_summary(groups, bests, out, meta["load"])
    if args.json:
        report.write_json(report.to_json(meta, groups, bests), args.json)
    if args.plot:
        report.plot(groups, args.plot)
        print(f"plot written to {args.plot}", file=out)
    if wsfast_failed:
        print("a wsfast candidate failed its check: see FAILED above", file=sys.stderr)
        return 1
    return 0
