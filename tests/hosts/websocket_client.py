"""websocket-client's frame, socket, utility and app tests, with the echo
server of its sdist (websockets) for the ones that talk to a live server,
once with wsaccel as installed and once hidden, as on a plain install
(websocket-client then masks and validates UTF-8 in pure Python)."""

NAME = "websocket-client"
DISTRIBUTION = "websocket-client"
TESTS = [
    "websocket/tests/test_abnf.py",
    "websocket/tests/test_websocket.py",
    "websocket/tests/test_utils.py",
    "websocket/tests/test_app.py",
    "websocket/tests/test_large_payloads.py",
    "websocket/tests/test_socket.py",
    "websocket/tests/test_socket_bugs.py",
]
SUPPORT = {"websocket/tests/data": "data"}
REQUIREMENTS: list = []
RUNS = {
    "wsaccel": {"tests": TESTS},
    "plain": {"env": {"WSFAST_HOST_HIDE": "wsaccel"}, "tests": TESTS},
}
SERVER = ("websocket/tests/echo-server.py", "LOCAL_WS_SERVER_PORT")
PYTEST_ARGS: list = []
