"""End to end: real ASGI servers on wsproto, unpatched against patched,
loaded over 127.0.0.1 by Node's ws (``tests/interop/node/load_e2e.mjs``:
request/response on 8 connections).

    python bench/e2e/run.py [--seconds 5] [--rounds 3] [SERVER ...]

SERVER: uvicorn-wsproto, hypercorn (default both). Each round runs every
size unpatched then patched, each in a fresh server process; the best
round's messages per second is printed with the ratio.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE.parents[1] / "tests" / "interop" / "node"
SIZES = {"100B": 100, "64KiB": 65536}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def measure(server: str, patched: bool, size: int, seconds: float) -> float:
    port = _free_port()
    argv = [sys.executable, str(HERE / "serve.py"), server, str(port)] + (["--patch"] if patched else [])
    # The server's output goes to a file: an unread pipe that fills up would
    # stall the server being measured.
    with open(HERE / f".serve-{server}.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            return _load(port, size, seconds)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _load(port: int, size: int, seconds: float) -> float:
    """Messages per second from the load script, after a warm-up."""
    _wait_listening(port)
    url = f"ws://127.0.0.1:{port}/"
    subprocess.run(["node", "load_e2e.mjs", url, str(size), "1"], cwd=NODE_DIR, check=True,
                   capture_output=True)  # warm-up
    out = subprocess.run(["node", "load_e2e.mjs", url, str(size), str(seconds)], cwd=NODE_DIR,
                         check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["rate"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="*", default=["uvicorn-wsproto", "hypercorn"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: Dict[Tuple[str, str, bool], float] = {}
    for _ in range(args.rounds):
        for server in args.servers:
            for label, size in SIZES.items():
                for patched in (False, True):
                    rate = measure(server, patched, size, args.seconds)
                    key = (server, label, patched)
                    best[key] = max(best.get(key, 0.0), rate)
    rows: List[str] = ["| server | message | unpatched msgs/s | patched msgs/s | ratio |", "|---|---|---|---|---|"]
    for server in args.servers:
        for label in SIZES:
            before, after = best[(server, label, False)], best[(server, label, True)]
            rows.append(f"| {server} | {label} text | {before:,.0f} | {after:,.0f} | **{after / before:.2f}×** |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
