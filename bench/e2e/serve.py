"""Start an ASGI server on the echo app, patched or not:

    python bench/e2e/serve.py (uvicorn-wsproto | hypercorn) PORT [--patch]

``--patch`` calls ``wsfast.patch("wsproto")`` first (both servers speak
WebSocket through wsproto here), as ``python -m wsfast run`` does for a
deployed server."""

import sys


def main() -> None:
    server, port = sys.argv[1], int(sys.argv[2])
    if "--patch" in sys.argv:
        import wsfast

        print("wsfast patched:", wsfast.patch("wsproto"), flush=True)
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from app import app

    if server == "uvicorn-wsproto":
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, ws="wsproto", log_level="warning", lifespan="off")
    elif server == "hypercorn":
        import asyncio

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.loglevel = "WARNING"
        config.websocket_max_message_size = 1 << 26
        asyncio.run(serve(app, config))
    else:
        raise SystemExit(f"unknown server {server}")


if __name__ == "__main__":
    main()
