"""An asyncio echo server built on the codec alone.

A message is echoed as it came (text as text, binary as binary); everything
else is the shared glue of ``_echo_common``.

``python -m wsfast echo [--host 127.0.0.1] [--port 9001] [--implementation
cython|python]`` runs the server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import types
from typing import Any, Dict, List, Mapping, Optional, Set, Union

from ._echo_common import (
    CLOSED,
    CONNECTING,
    DEFAULT_MAX_MESSAGE_SIZE,
    HANDSHAKE_TIMEOUT,
    OP_BINARY,
    OP_TEXT,
    OPEN,
    Data,
    Endpoint,
    add_codec_options,
    load_api,
    log,
    shorten,
)
from ._extensions import deflate_choose
from ._handshake import HandshakeError, build_response, check_request, head_end, parse_request, reject_response

_PHRASES = {400: "Bad Request", 426: "Upgrade Required", 431: "Request Header Fields Too Large"}

__all__ = ["EchoServer", "serve", "main"]


class _ServerConnection(Endpoint):
    """One connection of the echo server."""

    def __init__(
        self,
        api: types.SimpleNamespace,
        max_message_size: Optional[int],
        server_header: str,
        live: "Set[_ServerConnection]",
        deflate: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(api, max_message_size)
        self._server_header = server_header
        self._deflate_wishes = deflate
        self._live = live
        self._head = bytearray()
        self._timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._live.add(self)
        self._timer = asyncio.get_running_loop().call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._live.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def going_away(self) -> None:
        """The server shuts down: close with 1001 (RFC 6455 §7.4.1)."""
        if self.state == OPEN:
            self._send_close(1001, "server shutting down")
            self.state = CLOSED
        if self.transport is not None:
            self.transport.close()

    def _handshake_timeout(self) -> None:
        if self.state == CONNECTING and self.transport is not None:
            log.info("handshake timeout from %s", self.peer)
            self.transport.close()

    # Back-pressure: a peer that does not read its echoes stops being read.
    def pause_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.state != CONNECTING:
            self._feed(data)
            return
        self._head += data
        try:
            # Refuses a bare LF or CR at once, and a head over the limit,
            # instead of waiting for a CRLF CRLF that may never come.
            end = head_end(self._head)
            if end < 0:
                return
            head, rest = bytes(self._head[:end]), bytes(self._head[end:])
            self._head = bytearray()
            request = parse_request(head)
            key = check_request(request)
        except HandshakeError as exc:
            # 426 tells a plain HTTP client (or one speaking another version)
            # which protocol to upgrade to, 431 that the head is too large;
            # anything else is a bad request.
            self._reject(exc.status, _PHRASES.get(exc.status, "Bad Request"), str(exc))
            return
        # The first acceptable permessage-deflate offer, if any; a bad offer
        # is declined, never a reason to refuse the connection (RFC 7692 §5).
        chosen = None
        if self._deflate_wishes is not None:
            chosen = deflate_choose(request, **self._deflate_wishes)
        assert self.transport is not None
        self.transport.write(
            build_response(
                key,
                extensions=chosen[1] if chosen else None,
                extra_headers=[("Server", self._server_header)],
            )
        )
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if chosen:
            extensions = f"negotiated {chosen[1]}"
        else:
            offered = ", ".join(request.headers.get_all("Sec-WebSocket-Extensions"))
            extensions = f"declined {offered!r}" if offered else "no extension offered"
        log.info(
            "connected %s: GET %s (%s backend; %s)",
            self.peer,
            request.path,
            self.api.IMPLEMENTATION,
            extensions,
        )
        self._open(rest, chosen[0] if chosen else None)

    def _reject(self, status: int, phrase: str, why: str) -> None:
        assert self.transport is not None
        log.info("rejected %s: %d %s: %s", self.peer, status, phrase, why)
        self.transport.write(reject_response(status, phrase, (why + "\n").encode("utf-8")))
        self.transport.close()
        self.state = CLOSED

    def on_message(self, data: Data) -> None:
        if self.state != OPEN:
            return
        if log.isEnabledFor(logging.INFO):
            log.info("message from %s: %s", self.peer, shorten(data))
        self._send_message(OP_TEXT if isinstance(data, str) else OP_BINARY, data)


class EchoServer:
    """A running echo server: ``host``, ``port``, ``implementation``; ``close()``."""

    def __init__(
        self, server: asyncio.Server, implementation: str, live: "Set[_ServerConnection]"
    ) -> None:
        self._server = server
        self._live = live
        self.implementation = implementation
        sockname = server.sockets[0].getsockname()
        self.host: str = sockname[0]
        self.port: int = sockname[1]

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    def close(self) -> None:
        """Stop listening and close every connection with 1001."""
        self._server.close()
        for connection in list(self._live):
            connection.going_away()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def __aenter__(self) -> "EchoServer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()


async def serve(
    host: str = "127.0.0.1",
    port: int = 9001,
    *,
    implementation: Optional[str] = None,
    max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
    deflate: Union[bool, Mapping[str, Any]] = True,
) -> EchoServer:
    """Start an echo server; ``port=0`` picks a free port (see ``.port``).

    ``implementation`` is ``"cython"``, ``"python"`` or ``None`` for the
    backend the package selected. ``deflate``: accept permessage-deflate
    when a client offers it (``True``), never (``False``), or with these
    ``deflate_choose`` keyword arguments (a dict).
    """
    wishes = _wishes(deflate)
    api = load_api(implementation)
    from . import __version__

    header = f"wsfast-echo/{__version__} ({api.IMPLEMENTATION})"
    live: Set[_ServerConnection] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _ServerConnection(api, max_message_size, header, live, wishes), host, port
    )
    return EchoServer(server, api.IMPLEMENTATION, live)



def _wishes(deflate: Union[bool, Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if deflate is True:
        return {}
    if deflate is False:
        return None
    wishes = dict(deflate)
    deflate_choose(None, **wishes)  # a TypeError or ValueError now, not per connection
    return wishes


# ---------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast echo",
        description="Run a WebSocket echo server built on the wsfast codec.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=9001, help="port to bind, 0 for any (default: %(default)s)"
    )
    add_codec_options(parser)
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="decline permessage-deflate (RFC 7692), accepted by default when a client offers it",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


async def _run(args: argparse.Namespace) -> None:
    server = await serve(
        args.host,
        args.port,
        implementation=args.implementation,
        max_message_size=args.max_message_size,
        deflate=args.deflate,
    )
    host = f"[{server.host}]" if ":" in server.host else server.host
    log.info(
        "echo server (%s backend) listening on ws://%s:%d/ (permessage-deflate %s)",
        server.implementation,
        host,
        server.port,
        "accepted" if args.deflate else "declined",
    )
    loop = asyncio.get_running_loop()
    stop: "asyncio.Future[None]" = loop.create_future()

    def request_stop() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, request_stop)
        except (NotImplementedError, RuntimeError):
            pass
    async with server:
        await stop
    log.info("echo server stopped")


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("cannot serve on %s:%d: %s", args.host, args.port, exc)
        return 1
    return 0
