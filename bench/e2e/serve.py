"""Start one WebSocket echo server, as its users deploy it:

    python bench/e2e/serve.py SERVER PORT

SERVER is one of ``SERVERS``. Each echoes every message as it came, text
as text (a str through the server's API), binary as binary. Nothing here
patches anything: ``bench/e2e/run.py`` starts the patched server as
``python -m wsfast run bench/e2e/serve.py SERVER PORT``, the way a
deployed server is sped up without a code change.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Dict

HOST = "127.0.0.1"
MAX_SIZE = 1 << 26


def uvicorn_server(ws: str) -> Callable[[int], None]:
    def run(port: int) -> None:
        import uvicorn

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from app import app

        uvicorn.run(app, host=HOST, port=port, ws=ws, ws_max_size=MAX_SIZE, log_level="warning", lifespan="off")

    return run


def hypercorn(port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from app import app

    config = Config()
    config.bind = [f"{HOST}:{port}"]
    config.loglevel = "WARNING"
    config.websocket_max_message_size = MAX_SIZE
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


def websockets_serve(port: int) -> None:
    from websockets.asyncio.server import serve

    async def echo(connection: Any) -> None:
        async for message in connection:
            await connection.send(message)

    async def main() -> None:
        async with serve(echo, HOST, port, max_size=MAX_SIZE, compression=None):
            await asyncio.Future()

    asyncio.run(main())


def aiohttp_server(port: int) -> None:
    from aiohttp import WSMsgType, web

    async def echo(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_SIZE, compress=False)
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


def tornado_server(port: int) -> None:
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: Any) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    async def main() -> None:
        app = tornado.web.Application([(r"/", Echo)], websocket_max_message_size=MAX_SIZE)
        app.listen(port, address=HOST)
        await asyncio.Future()

    asyncio.run(main())


def autobahn_asyncio(port: int) -> None:
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class Echo(WebSocketServerProtocol):  # type: ignore[misc]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.sendMessage(payload, isBinary)

    async def main() -> None:
        factory = WebSocketServerFactory(f"ws://{HOST}:{port}")
        factory.protocol = Echo
        factory.setProtocolOptions(maxMessagePayloadSize=MAX_SIZE, maxFramePayloadSize=MAX_SIZE)
        loop = asyncio.get_running_loop()
        await loop.create_server(factory, HOST, port)
        await asyncio.Future()

    asyncio.run(main())


SERVERS: Dict[str, Callable[[int], None]] = {
    "uvicorn-wsproto": uvicorn_server("wsproto"),
    "hypercorn": hypercorn,
    "autobahn": autobahn_asyncio,
    "uvicorn-websockets": uvicorn_server("websockets"),
    "uvicorn-websockets-sansio": uvicorn_server("websockets-sansio"),
    "aiohttp": aiohttp_server,
    "tornado": tornado_server,
    "websockets": websockets_serve,
}


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in SERVERS:
        raise SystemExit(f"usage: serve.py ({' | '.join(SERVERS)}) PORT")
    SERVERS[sys.argv[1]](int(sys.argv[2]))


if __name__ == "__main__":
    main()
