"""aiohttp's WebSocket tests: the reader, its queue, the writer, the
handshake, and both ends through the public API (web.WebSocketResponse and
ClientSession.ws_connect), with aiohttp's own conftest for its fixtures."""

NAME = "aiohttp"
DISTRIBUTION = "aiohttp"
TESTS = [
    "tests/test_websocket_data_queue.py",
    "tests/test_websocket_handshake.py",
    "tests/test_websocket_parser.py",
    "tests/test_websocket_writer.py",
    "tests/test_web_websocket.py",
    "tests/test_web_websocket_functional.py",
    "tests/test_client_ws.py",
    "tests/test_client_ws_functional.py",
]
SUPPORT = {"tests/conftest.py": "conftest.py"}
# test_web_websocket uses pytest-mock's ``mocker``.
REQUIREMENTS = ["pytest-mock"]
ENV: dict = {}
# aiohttp's own default selection (its pytest.ini).
PYTEST_ARGS = ["-m", "not dev_mode and not autobahn and not internal"]
