"""``python -m wsfast echo`` (the command outside peers are pointed at) and
``python -m wsfast client``.

Each runs as a user starts it, in a subprocess. The echo server: on a free
port, talked to with the wsfast client, with its INFO log (connection,
truncated message, disconnection) and a clean stop on SIGINT checked. The
client: lines typed on its standard input against the echo server, its
``--echo`` mode (the Autobahn fuzzingserver testee) against a plain peer.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import sys
import types
from typing import Any, List

import pytest

import wsfast
from wsfast import _echo_client, _echo_server

from .conftest import LOOPBACK, ROOT, BackgroundServer, run_async, spawn

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
            client = await _echo_client.connect(LOOPBACK, port, "/chat", implementation=ws.IMPLEMENTATION)
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


def _client_argv(ws: types.SimpleNamespace, url: str, *options: str) -> List[str]:
    return [sys.executable, "-m", "wsfast", "client", *options, "--implementation", ws.IMPLEMENTATION, url]


def test_client_command(ws: types.SimpleNamespace, echo_server: BackgroundServer) -> None:
    # Typed lines go out as text and come back printed; end of input closes
    # with 1000, which the echo server sends back.
    with spawn(_client_argv(ws, echo_server.url + "chat"), cwd=ROOT) as client:
        assert client.proc.stdin is not None
        connected = next(client.lines("stderr", 30))
        # The echo server takes the client's permessage-deflate offer.
        assert connected == f"connected to {echo_server.url}chat ({ws.IMPLEMENTATION} backend; permessage-deflate)"
        client.proc.stdin.write("Hello Server!\nünïcode €\n\n".encode("utf-8"))
        client.proc.stdin.flush()
        received = list(itertools.islice(client.lines("stdout", 30), 3))
        assert received == ["< Hello Server!", "< ünïcode €", "< "]
        client.proc.stdin.close()  # Ctrl-D
        assert client.proc.wait(30) == 0
        assert list(client.lines("stderr", 10)) == ["closed: code 1000"]


def test_client_command_no_deflate(ws: types.SimpleNamespace, echo_server: BackgroundServer) -> None:
    with spawn(_client_argv(ws, echo_server.url, "--no-deflate"), cwd=ROOT) as client:
        assert client.proc.stdin is not None
        assert next(client.lines("stderr", 30)) == f"connected to {echo_server.url} ({ws.IMPLEMENTATION} backend)"
        client.proc.stdin.write(b"plain\n")
        client.proc.stdin.close()
        assert next(client.lines("stdout", 30)) == "< plain"
        assert client.proc.wait(30) == 0


def test_client_command_server_closes(ws: types.SimpleNamespace) -> None:
    # The server goes away while the client waits for input: the client
    # reports the server's close code and exits without another line typed.
    async def scenario() -> List[str]:
        server = await _echo_server.serve(LOOPBACK, 0, implementation=ws.IMPLEMENTATION)
        url = f"ws://{LOOPBACK}:{server.port}/"
        with spawn(_client_argv(ws, url), cwd=ROOT) as client:
            loop = asyncio.get_running_loop()
            first = await loop.run_in_executor(None, lambda: next(client.lines("stderr", 30)))
            assert first.startswith("connected to ")
            server.close()
            await server.wait_closed()
            code = await loop.run_in_executor(None, client.proc.wait, 30)
            assert code == 0
            return list(client.lines("stderr", 10))

    assert run_async(scenario(), 60) == ["closed: code 1001 reason 'server shutting down'"]


def test_client_command_echo_mode(ws: types.SimpleNamespace, echo_server: BackgroundServer) -> None:
    # --echo sends every message back. Against the echo server that would
    # loop forever, so a plain asyncio server plays the peer here: it sends
    # two messages, reads both echoes, then closes.
    async def scenario() -> List[Any]:
        got: List[Any] = []
        done = asyncio.get_running_loop().create_future()

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            request = wsfast.parse_request(head)
            writer.write(wsfast.build_response(wsfast.check_request(request)))
            writer.write(api.encode_frame(1, "echo me") + api.encode_frame(2, b"\x00\xff" * 600))
            reader_ws = api.MessageReader(client=False)
            while len(got) < 3:
                data = await reader.read(65536)
                if not data:
                    break
                for event in reader_ws.feed(data):
                    got.append(event)
                    if len(got) == 2:
                        writer.write(api.encode_frame(8, api.encode_close(1000, "bye")))
            writer.close()
            done.set_result(None)

        api = ws
        server = await asyncio.start_server(peer, LOOPBACK, 0)
        port = server.sockets[0].getsockname()[1]
        with spawn(_client_argv(ws, f"ws://{LOOPBACK}:{port}/", "--echo"), cwd=ROOT) as client:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(done, 30)
            assert await loop.run_in_executor(None, client.proc.wait, 30) == 0
        server.close()
        return got

    events = run_async(scenario(), 60)
    assert [type(e).__name__ for e in events] == ["Message", "Message", "Close"]
    assert events[0].data == "echo me" and events[1].data == b"\x00\xff" * 600
    assert (events[2].code, events[2].reason) == (1000, "bye")


def test_client_command_bad_url(ws: types.SimpleNamespace) -> None:
    for url, text in (("wss://127.0.0.1:1/", "only ws://"), ("http://x/", "only ws://")):
        result = subprocess.run(_client_argv(ws, url), capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert result.returncode == 1 and text in result.stderr, result.stderr
