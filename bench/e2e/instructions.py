"""End to end in CPU instructions: what a real server executes per echoed
message, unpatched against patched, counted by callgrind.

    python bench/e2e/instructions.py [--messages 1000] [SERVER ...]

Timings on a shared machine wander by more than the small differences
this is about; instruction counts do not. Each server (``serve.SERVERS``)
starts under ``valgrind --tool=callgrind`` with instrumentation off; once it
listens, instrumentation goes on (``callgrind_control -i on``), a raw client
(plain sockets, not a host library, outside valgrind) echoes MESSAGES text
messages through it one at a time over one connection, the counts are
dumped, and the server stops. The patched server runs with the environment
``python -m wsfast run`` gives it (the bootstrap on ``PYTHONPATH``,
``WSFAST_RUN``), which ``run`` then execs into; it must log wsfast's
"patched" line. The table gives instructions per message (handshake
included, the same in both states) and unpatched / patched.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import _free_port, _version, _wait_listening  # noqa: E402
from serve import SERVERS  # noqa: E402

SIZES = {"100 B": 100, "64 KiB": 65536}
KEY = b"\x5a\x13\xc7\x08"


def _text(size: int) -> bytes:
    full = ("wsfast é 日本 " * (size // 8 + 2)).encode()
    end = size
    while end > 0 and (full[end] & 0xC0) == 0x80:
        end -= 1
    return full[:end]


def _frame(payload: bytes, mask: bool) -> bytes:
    from wsfast._bench.workloads import encode_reference_frame

    return encode_reference_frame(1, payload, KEY if mask else None)


class _Frames:
    """Frames from the server, read off a socket (servers do not mask)."""

    def __init__(self, sock: socket.socket, rest: bytes) -> None:
        self.sock = sock
        self.buf = bytearray(rest)

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk

    def next(self) -> Tuple[int, bytes]:
        self._need(2)
        opcode, length, head = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
        if length == 126:
            self._need(4)
            length, head = int.from_bytes(self.buf[2:4], "big"), 4
        elif length == 127:
            self._need(10)
            length, head = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(head + length)
        payload = bytes(self.buf[head : head + length])
        del self.buf[: head + length]
        return opcode, payload


def _echo(port: int, messages: int, size: int) -> None:
    """One connection: the handshake, then ``messages`` text messages, each
    sent once the previous echo has come back whole and right (a server's
    keepalive ping is answered on the way)."""
    from wsfast._bench.hosts._loopback import client_request

    payload = _text(size)
    out = _frame(payload, True)
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sock.sendall(client_request(port))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"handshake refused: {head[:200]!r}")
        frames = _Frames(sock, head.split(b"\r\n\r\n", 1)[1])
        for i in range(messages):
            sock.sendall(out)
            while True:
                opcode, data = frames.next()
                if opcode == 9:
                    from wsfast._bench.workloads import encode_reference_frame

                    sock.sendall(encode_reference_frame(10, data, KEY))
                    continue
                if (opcode, data) != (1, payload):
                    raise RuntimeError(f"message {i}: a wrong echo (opcode {opcode}, {len(data)} bytes)")
                break
        sock.sendall(b"\x88\x82" + KEY + bytes(b ^ k for b, k in zip(b"\x03\xe8", KEY)))


def count(server: str, patched: bool, size: int, messages: int, only: Sequence[str] = ()) -> int:
    """Instructions the server executed while echoing ``messages`` messages."""
    port = _free_port()
    env = dict(os.environ)
    if patched:
        from wsfast._run import _environment

        env = _environment(list(only))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        log = Path(scratch) / "server.log"
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p",
                sys.executable, str(HERE / "serve.py"), server, str(port)]
        with open(log, "w") as log_file:
            proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, env=env)
            try:
                _wait_listening(port, proc, timeout=600)
                subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
                _echo(port, messages, size)
                time.sleep(0.5)  # the close handshake, inside the window
                subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        said = log.read_text()
        if ("wsfast: patched" in said) != patched:
            raise SystemExit(f"{server}: {'no' if patched else 'a'} wsfast patch line in its log:\n{said[-2000:]}")
        # The dump callgrind_control asked for: callgrind.out.PID.1 (the
        # file without a suffix holds what ran after it, the shutdown).
        dumps = list(Path(scratch).glob("callgrind.out.*.1"))
        if len(dumps) != 1:
            raise RuntimeError(f"{server}: expected one callgrind dump, found {sorted(os.listdir(scratch))}")
        match = re.search(rb"^summary: (\d+)", dumps[0].read_bytes(), re.M)
        if match is None:
            raise RuntimeError(f"{server}: no summary line in {dumps[0].name}")
        return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="*", metavar="SERVER", help=f"default: all of {', '.join(SERVERS)}")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--only", default="", help="patch only these hosts (comma-separated), as `wsfast run --only`")
    args = parser.parse_args()
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown server(s) {', '.join(sorted(unknown))}: choose from {', '.join(SERVERS)}")
    servers = args.servers or list(SERVERS)
    counts: Dict[Tuple[str, str, bool], int] = {}
    for server in servers:
        for label, size in SIZES.items():
            for patched in (False, True):
                counts[(server, label, patched)] = count(server, patched, size, args.messages,
                                                         [n for n in args.only.split(",") if n])
                print(f"  {server:26} {label:6} {'patched' if patched else 'unpatched':9} "
                      f"{counts[(server, label, patched)] / args.messages:12,.0f} instructions/message",
                      file=sys.stderr, flush=True)
    patched_what = f"python -m wsfast run --only {args.only}" if args.only else "python -m wsfast run"
    print(f"{time.strftime('%Y-%m-%d')}, {sys.implementation.name} {sys.version.split()[0]}, callgrind, "
          f"{args.messages} text messages echoed one at a time on one connection; patched: {patched_what}")
    print()
    print("| server | message | unpatched instructions/message | patched | unpatched / patched |")
    print("|---|---|---|---|---|")
    rows: List[str] = []
    for server in servers:
        for label in SIZES:
            before = counts[(server, label, False)] / args.messages
            after = counts[(server, label, True)] / args.messages
            rows.append(f"| {server} ({_version(server)}) | {label} | {before:,.0f} | {after:,.0f} "
                        f"| **{before / after:.2f}×** |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
