"""Headless Chromium against wsfast, through the browser's own WebSocket.

The page (``chromium/index.html`` + ``interop.js``) is served over http on
127.0.0.1 and talks to two servers:

* the wsfast echo server: open, send ``Hello Server!`` and receive the echo,
  empty text, binary (ArrayBuffer), 1 and 4 MiB of text and of binary,
  Unicode with emoji, then a close with a code and a reason. The browser
  offers permessage-deflate by default and the echo server accepts it, so
  every message goes both ways compressed (RFC 7692); the page reports the
  extension the connection negotiated;
* a raw server that sends frames built by ``encode_frame`` (every length
  encoding, fragments with a ping between them, a 125-byte ping, 1 MiB) and
  checks that the browser accepted each one: it echoes every message back,
  answers the pings and closes cleanly with our code and reason.

Results come back as ``WSFAST {...}`` lines of the browser's console log.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import re
import threading
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest

from wsfast import _handshake

from .conftest import HERE, LOOPBACK, BackgroundServer, require_peer, spawn

pytestmark = pytest.mark.interop

#: Debian's chromium; WSFAST_CHROMIUM names another build of it.
CHROMIUM = os.environ.get("WSFAST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
PAGES = HERE / "chromium"
BROWSER_TIMEOUT = 60.0
RAW_TIMEOUT = 30.0

# [pid:tid:time:INFO:CONSOLE:12] "WSFAST {...}", source: http://... (12)
_CONSOLE = re.compile(r':CONSOLE[^\]]*\] "(?P<message>.*)", source: ')

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

ECHO_CHECKS = [
    "open",
    "extensions",
    "hello",
    "empty",
    "unicode",
    "text-1MiB",
    "text-4MiB",
    "binary",
    "binary-1MiB",
    "binary-4MiB",
    "binary-json-4MiB",
    "close",
]


def _bytes(n: int) -> bytes:
    return bytes((i * 131 + (i >> 9)) & 0xFF for i in range(n))


#: What the raw server sends, one message each: name -> (frames as
#: (opcode, payload, fin), the message the browser should deliver).
FRAGMENT_TEXT = "fr\u00e4gmented \U0001F600 by wsfast".encode("utf-8")
_CUT = FRAGMENT_TEXT.index(0xC3) + 1
FRAME_MESSAGES: Dict[str, Tuple[List[Tuple[int, bytes, bool]], Union[str, bytes]]] = {
    "text-0": ([(OP_TEXT, b"", True)], ""),
    "text-125": ([(OP_TEXT, b"a" * 125, True)], "a" * 125),
    "text-126": ([(OP_TEXT, b"b" * 126, True)], "b" * 126),
    "binary-65535": ([(OP_BINARY, _bytes(65535), True)], _bytes(65535)),
    "binary-65536": ([(OP_BINARY, _bytes(65536), True)], _bytes(65536)),
    "unicode": (
        [(OP_TEXT, "\u00e9\u65e5\u672c \U0001F600\U0001F389 \U0001D11E".encode("utf-8"), True)],
        "\u00e9\u65e5\u672c \U0001F600\U0001F389 \U0001D11E",
    ),
    "fragmented-text": (
        [
            (OP_TEXT, FRAGMENT_TEXT[:_CUT], False),
            (OP_PING, b"between fragments", True),
            (OP_CONT, FRAGMENT_TEXT[_CUT:_CUT + 3], False),
            (OP_CONT, FRAGMENT_TEXT[_CUT + 3:], True),
        ],
        FRAGMENT_TEXT.decode("utf-8"),
    ),
    "fragmented-binary": (
        [
            (OP_BINARY, _bytes(200)[:10], False),
            (OP_CONT, b"", False),
            (OP_CONT, _bytes(200)[10:], True),
        ],
        _bytes(200),
    ),
    "binary-1MiB": ([(OP_BINARY, _bytes(2**20), True)], _bytes(2**20)),
    "ping-125": ([(OP_PING, bytes(range(125)), True)], b""),
}
PINGS = [b"between fragments", bytes(range(125))]
#: The entries that make a message (the rest are lone pings).
MESSAGE_NAMES = [name for name, (frames, _) in FRAME_MESSAGES.items() if frames[0][0] != OP_PING]
FRAMES_CLOSE = (4001, "frames ok \u2713")


@pytest.fixture(scope="session")
def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        require_peer(
            "chromium", f"{CHROMIUM} not found (apt-get install chromium, or set WSFAST_CHROMIUM)"
        )
    return CHROMIUM


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def page_server() -> Iterator[str]:
    """The test page over http on a free loopback port (not file://)."""
    handler = functools.partial(_QuietHandler, directory=str(PAGES))
    httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="page-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{httpd.server_address[1]}/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


class RawFrameServer:
    """Sends the frames of ``FRAME_MESSAGES``, built by ``encode_frame`` of
    one backend, and records what the browser does with them."""

    def __init__(self, api: types.SimpleNamespace) -> None:
        self.api = api
        self.result: Dict[str, Any] = {}
        self.finished = threading.Event()
        self._server: Optional[asyncio.AbstractServer] = None
        self.port = 0

    async def start(self) -> "RawFrameServer":
        self._server = await asyncio.start_server(self._handle, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        assert self._server is not None
        self._server.close()

    async def wait_closed(self) -> None:
        assert self._server is not None
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.finished.is_set():
            writer.close()
            return
        try:
            await asyncio.wait_for(self._session(reader, writer), RAW_TIMEOUT)
        except Exception as exc:
            self.result.setdefault("error", f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()
            self.finished.set()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        api = self.api
        head = await reader.readuntil(b"\r\n\r\n")
        key = _handshake.check_request(_handshake.parse_request(head))
        writer.write(_handshake.build_response(key))
        for frames, _ in FRAME_MESSAGES.values():
            for opcode, payload, fin in frames:
                writer.write(api.encode_frame(opcode, payload, fin=fin))
        await writer.drain()

        expected = [FRAME_MESSAGES[name][1] for name in MESSAGE_NAMES]
        echoes: List[Union[str, bytes]] = []
        pongs: List[bytes] = []
        parser = api.MessageReader(client=False, max_message_size=8 * 2**20)
        close_reply: Optional[Tuple[int, str]] = None
        sent_close = False
        while close_reply is None:
            if not sent_close and len(echoes) >= len(expected) and len(pongs) >= len(PINGS):
                writer.write(api.encode_frame(OP_CLOSE, api.encode_close(*FRAMES_CLOSE)))
                await writer.drain()
                sent_close = True
            data = await reader.read(65536)
            if not data:
                break
            for event in parser.feed(data):
                if isinstance(event, api.Message):
                    echoes.append(event.data)
                elif isinstance(event, api.Pong):
                    pongs.append(event.payload)
                elif isinstance(event, api.Close):
                    close_reply = (event.code, event.reason)
        self.result.update(echoes=echoes, pongs=pongs, close_reply=close_reply, sent_close=sent_close)


def _run_browser(
    chromium: str, url: str, user_data_dir: Path
) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
    """Load ``url``; the page's WSFAST results by check name, and the console."""
    argv = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", url]
    results: Dict[str, Dict[str, Any]] = {}
    console: List[str] = []
    with spawn(argv) as browser:
        try:
            for line in browser.lines("stderr", BROWSER_TIMEOUT):
                match = _CONSOLE.search(line)
                if not match:
                    continue
                message = match.group("message")
                console.append(message)
                if not message.startswith("WSFAST "):
                    continue
                try:
                    record = json.loads(message[len("WSFAST "):])
                except ValueError:
                    continue
                if record.get("done"):
                    break
                if "check" in record:
                    results[record["check"]] = record
        except TimeoutError:
            results["browser"] = {"ok": False, "detail": f"no result within {BROWSER_TIMEOUT} s"}
    return results, console


@pytest.fixture(scope="session")
def chromium_run(
    ws: types.SimpleNamespace,
    echo_server: BackgroundServer,
    chromium: str,
    page_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Any], List[str]]:
    """One browser run per backend: the page's results, the raw server's
    record and the console log."""
    raw = RawFrameServer(ws)
    with BackgroundServer(raw.start, name=f"raw-frames-{ws.IMPLEMENTATION}") as frames_server:
        url = f"{page_server}?echo={echo_server.port}&frames={frames_server.port}"
        profile = tmp_path_factory.mktemp(f"chromium-{ws.IMPLEMENTATION}")
        results, console = _run_browser(chromium, url, profile)
        raw.finished.wait(RAW_TIMEOUT)
    return results, dict(raw.result), console


def _explain(console: List[str]) -> str:
    return "browser console:\n" + "\n".join(console[-30:])


@pytest.mark.parametrize("check", ECHO_CHECKS)
def test_browser_against_echo_server(check: str, chromium_run: Any) -> None:
    results, _, console = chromium_run
    assert "browser" not in results, results["browser"]["detail"] + "\n" + _explain(console)
    assert "echo-main" not in results, results["echo-main"]["detail"] + "\n" + _explain(console)
    name = f"echo-{check}"
    assert name in results, f"the page did not report {name}; " + _explain(console)
    assert results[name]["ok"], f"{name}: {results[name]['detail']}"
    if check == "extensions":
        # Chromium offers "permessage-deflate; client_max_window_bits"; the
        # echo server takes it with the defaults.
        assert results[name]["detail"] == "permessage-deflate"


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_browser_accepts_encoded_frames(name: str, chromium_run: Any) -> None:
    _results, raw, console = chromium_run
    assert "error" not in raw, f"raw server: {raw['error']}; " + _explain(console)
    echoes = raw.get("echoes", [])
    index = MESSAGE_NAMES.index(name)
    assert len(echoes) > index, f"the browser echoed {len(echoes)} messages; " + _explain(console)
    expected = FRAME_MESSAGES[name][1]
    assert type(echoes[index]) is type(expected)
    assert echoes[index] == expected


def test_browser_answers_encoded_pings(chromium_run: Any) -> None:
    _, raw, console = chromium_run
    assert raw.get("pongs") == PINGS, _explain(console)


def test_browser_closes_cleanly_on_encoded_close(chromium_run: Any) -> None:
    results, raw, console = chromium_run
    assert raw.get("sent_close"), f"raw server never got to close: {raw}; " + _explain(console)
    assert raw.get("close_reply") is not None and raw["close_reply"][0] == FRAMES_CLOSE[0], raw
    event = results.get("frames-close-event", {}).get("detail")
    assert event is not None, _explain(console)
    assert (event["code"], event["reason"], event["wasClean"]) == (*FRAMES_CLOSE, True)
    assert event["messages"] == len(MESSAGE_NAMES)
