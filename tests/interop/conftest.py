"""Fixtures for the interop tests: wsfast against peers written elsewhere.

The echo server runs on a free 127.0.0.1 port, in a background thread with
its own event loop, once per backend (the ``ws`` fixture of the parent
conftest picks the backend). Peers are outside programs (Node, Chromium) or
outside libraries (kosoku): ``require_peer`` skips a test when one is
missing on a developer's machine, and fails it in CI, where a missing peer
means the interop suite silently stopped testing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import types
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterator, List, NoReturn, Optional, TypeVar

import pytest

from wsfast import _echo_server

IN_CI = os.environ.get("CI") == "true"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: Reports for people to open; ignored by git.
REPORTS = ROOT / "reports"
#: Only loopback: nothing in these tests may reach beyond this machine.
LOOPBACK = "127.0.0.1"

_T = TypeVar("_T")


def require_peer(name: str, reason: str) -> NoReturn:
    """Skip for want of the peer ``name``; in CI (``CI=true``) fail instead."""
    message = f"interop peer {name} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing peer is a failure)", pytrace=False)
    pytest.skip(message)


def run_async(coro: Awaitable[_T], timeout: float) -> _T:
    """Run ``coro`` in a fresh event loop, bounded by ``timeout`` seconds."""

    async def bounded() -> _T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class BackgroundServer:
    """An asyncio server running in a thread of its own, with its own loop."""

    def __init__(self, start: Callable[[], Awaitable[Any]], name: str) -> None:
        self._start = start
        self._loop = asyncio.new_event_loop()
        self._server: Any = None
        self._error: Optional[BaseException] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.host = LOOPBACK
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(self._start())
            self.port = self._server.port
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server thread did not start within 10 s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        async def stop() -> None:
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), 5)

        if self._server is not None and self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"


@pytest.fixture(scope="session")
def echo_server(ws: types.SimpleNamespace) -> Iterator[BackgroundServer]:
    """The wsfast echo server on a free loopback port, for ``ws``'s backend."""
    implementation = ws.IMPLEMENTATION
    with BackgroundServer(
        lambda: _echo_server.serve(LOOPBACK, 0, implementation=implementation),
        name=f"echo-{implementation}",
    ) as server:
        yield server


class Peer:
    """A child process whose output lines are read in the background.

    It runs in a session of its own so that it and every process it forks
    (a browser has many) are killed together, by its process group id.
    """

    def __init__(self, argv: List[str], *, cwd: Optional[Path] = None) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.stdout: "queue.Queue[Optional[str]]" = queue.Queue()
        self.stderr: "queue.Queue[Optional[str]]" = queue.Queue()
        self.stdout_lines: List[str] = []
        self.stderr_lines: List[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: Any, sink: "queue.Queue[Optional[str]]") -> None:
        for raw in iter(stream.readline, b""):
            sink.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        sink.put(None)

    def lines(self, stream: str, timeout: float) -> Iterator[str]:
        """Lines of ``stream`` ("stdout"/"stderr") as they come, until it
        ends; ``TimeoutError`` once ``timeout`` seconds have passed."""
        source = self.stdout if stream == "stdout" else self.stderr
        kept = self.stdout_lines if stream == "stdout" else self.stderr_lines
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.argv[0]}: no end of {stream} within {timeout} s")
            try:
                line = source.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return
            kept.append(line)
            yield line

    def json_lines(self, timeout: float) -> Iterator[Dict[str, Any]]:
        for line in self.lines("stdout", timeout):
            try:
                yield json.loads(line)
            except ValueError:
                continue

    def kill(self) -> None:
        if hasattr(os, "killpg"):
            # The whole group: even when the leader is gone, its children may not be.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        elif self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def output(self, limit: int = 40) -> str:
        """The last lines read, for a failure message."""
        tail = (self.stdout_lines + self.stderr_lines)[-limit:]
        return "\n".join(tail)


@contextlib.contextmanager
def spawn(argv: List[str], *, cwd: Optional[Path] = None) -> Iterator[Peer]:
    """Start ``argv``; it is killed on the way out, whatever happened."""
    peer = Peer(argv, cwd=cwd)
    try:
        yield peer
    finally:
        peer.kill()
