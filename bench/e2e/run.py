"""End to end: real WebSocket servers as users deploy them, unpatched
against ``python -m wsfast run``, loaded over 127.0.0.1 by Node's ws
(``tests/interop/node/load_e2e.mjs``: request/response on 8 connections,
text messages).

    python bench/e2e/run.py [--seconds 4] [--rounds 3] [SERVER ...]

SERVER: any of ``serve.SERVERS`` (default all). Each round starts every
server unpatched and under ``python -m wsfast run`` (in turns, which one
first), a fresh process each time, per message size, the server pinned to
one CPU and the client to the other. The table gives messages per second
(best and median round) and the ratio patched / unpatched as the median of
the rounds' paired ratios, with their range. The patched server must log
wsfast's "patched" line and the unpatched one must not, or the run stops.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE.parents[1] / "tests" / "interop" / "node"
SIZES = {"100 B": 100, "64 KiB": 65536}
sys.path.insert(0, str(HERE))
from serve import SERVERS  # noqa: E402


def _pin(cpu: int) -> Optional[Callable[[], None]]:
    """A preexec_fn keeping a child on one CPU (server on 0, client on 1),
    so that neither is moved around mid-run; None where that is not
    possible."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: "subprocess.Popen[str]", timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def measure(server: str, patched: bool, size: int, seconds: float) -> float:
    port = _free_port()
    argv = [sys.executable] + (["-m", "wsfast", "run"] if patched else []) + [str(HERE / "serve.py"), server, str(port)]
    # The server's output goes to a file: an unread pipe that fills up would
    # stall the server being measured.
    log_path = HERE / f".serve-{server}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=_pin(0))
        try:
            _wait_listening(port, proc)
            rate = _load(port, size, seconds)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    said = log_path.read_text()
    if ("wsfast: patched" in said) != patched:
        raise SystemExit(f"{server}: {'no' if patched else 'a'} wsfast patch line in its log:\n{said}")
    return rate


def _load(port: int, size: int, seconds: float) -> float:
    """Messages per second from the load script, after a warm-up."""
    url = f"ws://127.0.0.1:{port}/"
    pin = _pin(1)
    subprocess.run(["node", "load_e2e.mjs", url, str(size), "1"], cwd=NODE_DIR, check=True, capture_output=True,
                   preexec_fn=pin)
    out = subprocess.run(["node", "load_e2e.mjs", url, str(size), str(seconds)], cwd=NODE_DIR,
                         check=True, capture_output=True, text=True, preexec_fn=pin).stdout
    return float(json.loads(out.strip().splitlines()[-1])["rate"])


def _version(server: str) -> str:
    import importlib.metadata

    names = {"uvicorn-wsproto": ["uvicorn", "wsproto"], "hypercorn": ["hypercorn", "wsproto"],
             "uvicorn-websockets": ["uvicorn", "websockets"], "uvicorn-websockets-sansio": ["uvicorn", "websockets"]}
    parts = []
    for name in names.get(server, [server]):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} missing")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="*", metavar="SERVER", help=f"default: all of {', '.join(SERVERS)}")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown server(s) {', '.join(sorted(unknown))}: choose from {', '.join(SERVERS)}")
    args.servers = args.servers or list(SERVERS)
    rates: Dict[Tuple[str, str, bool], List[float]] = {}
    ratios: Dict[Tuple[str, str], List[float]] = {}
    for round_ in range(args.rounds):
        # Each round measures both states back to back, in turns (unpatched
        # first in even rounds): the paired ratio cancels the machine's drift.
        order = (False, True) if round_ % 2 == 0 else (True, False)
        for server in args.servers:
            for label, size in SIZES.items():
                pair = {}
                for patched in order:
                    rate = measure(server, patched, size, args.seconds)
                    pair[patched] = rate
                    rates.setdefault((server, label, patched), []).append(rate)
                    print(f"  {server:26} {label:6} {'patched' if patched else 'unpatched':9} {rate:10,.0f} msgs/s",
                          file=sys.stderr, flush=True)
                ratios.setdefault((server, label), []).append(pair[True] / pair[False])
    pinned = "server on CPU 0, client on CPU 1" if _pin(0) else "not pinned"
    print(f"{time.strftime('%Y-%m-%d')}, {platform.python_implementation()} {platform.python_version()}, "
          f"{args.rounds} rounds of {args.seconds:g} s, 8 connections, Node's ws as the client ({pinned})")
    print()
    print("| server | message | unpatched msgs/s, best / median | `wsfast run` msgs/s, best / median "
          "| ratio, median of rounds | range |")
    print("|---|---|---|---|---|---|")
    for server in args.servers:
        for label in SIZES:
            before, after = rates[(server, label, False)], rates[(server, label, True)]
            paired = ratios[(server, label)]
            print(f"| {server} ({_version(server)}) | {label} | {max(before):,.0f} / {statistics.median(before):,.0f} "
                  f"| {max(after):,.0f} / {statistics.median(after):,.0f} | **{statistics.median(paired):.2f}×** "
                  f"| {min(paired):.2f}–{max(paired):.2f}× |")


if __name__ == "__main__":
    main()
