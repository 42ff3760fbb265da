"""websocket-client's frame, socket, utility and app tests (the ones that
need a live echo server skip themselves without ``LOCAL_WS_SERVER_PORT``),
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
PYTEST_ARGS: list = []
