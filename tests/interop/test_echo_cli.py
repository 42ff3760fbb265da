"""``python -m wsfast echo``: the command the outside peers are pointed at.

Starts it as a user would, on a free port, talks to it with the wsfast
client, and checks the INFO log (connection, truncated message,
disconnection) and a clean stop on SIGINT.
"""

from __future__ import annotations

import re
import signal
import sys
import types

import pytest

from wsfast import _echo

from .conftest import LOOPBACK, ROOT, run_async, spawn

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(sys.platform == "win32", reason="stops the server with SIGINT"),
]

_LISTENING = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)/")


def test_echo_command(ws: types.SimpleNamespace) -> None:
    argv = [
        sys.executable, "-m", "wsfast", "echo",
        "--host", LOOPBACK, "--port", "0", "--implementation", ws.IMPLEMENTATION,
    ]
    with spawn(argv, cwd=ROOT) as server:
        port = None
        for line in server.lines("stderr", 30):
            match = _LISTENING.search(line)
            if match:
                port = int(match.group(1))
                break
        assert port, f"the echo command did not report its port:\n{server.output()}"
        assert f"({ws.IMPLEMENTATION} backend)" in server.stderr_lines[-1]

        async def talk() -> None:
            client = await _echo.connect(LOOPBACK, port, "/chat", implementation=ws.IMPLEMENTATION)
            await client.send_text("Hello Server!")
            assert await client.recv() == "Hello Server!"
            await client.send_bytes(b"\x00" * 1000)
            assert await client.recv() == b"\x00" * 1000
            assert await client.close(1000, "done") == (1000, "done")

        run_async(talk(), 30)
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(10) == 0
        log = "\n".join(server.lines("stderr", 10))

    assert re.search(r"connected 127\.0\.0\.1:\d+: GET /chat", log), log
    assert "message from" in log and "'Hello Server!' (13 chars)" in log, log
    # Long messages are cut in the log, their size is not.
    assert "...' (1000 bytes)" in log or "... (1000 bytes)" in log, log
    assert re.search(r"disconnected 127\.0\.0\.1:\d+: code 1000 reason 'done'", log), log
    assert "echo server stopped" in log, log
