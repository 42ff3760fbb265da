"""autobahn's WebSocket protocol, frame, size-limit and UTF-8 validator
tests, once on Twisted and once on asyncio (autobahn picks its framework
per process from ``USE_TWISTED`` / ``USE_ASYNCIO``), and the asyncio
WebSocket tests; and on asyncio without NVX (``AUTOBAHN_USE_NVX=0``), the
pure-Python masker and validator that the patch replaces then."""

NAME = "autobahn"
DISTRIBUTION = "autobahn"
_COMMON = [
    "src/autobahn/websocket/test/test_websocket_protocol.py",
    "src/autobahn/websocket/test/test_websocket_frame.py",
    "src/autobahn/websocket/test/test_websocket_max_message_size.py",
    "src/autobahn/nvx/test/test_nvx_utf8validator.py",
    "src/autobahn/websocket/test/test_websocket_compress.py",
    "src/autobahn/websocket/test/test_websocket_compress_corrupt.py",
]
TESTS = _COMMON + ["src/autobahn/asyncio/test/test_aio_websocket.py"]
RUNS = {
    "twisted": {"env": {"USE_TWISTED": "1"}, "tests": _COMMON},
    "asyncio": {"env": {"USE_ASYNCIO": "1"}, "tests": TESTS},
    "asyncio-no-nvx": {"env": {"USE_ASYNCIO": "1", "AUTOBAHN_USE_NVX": "0"}, "tests": TESTS},
}
SUPPORT: dict = {}
REQUIREMENTS = ["twisted", "pytest-asyncio"]
PYTEST_ARGS: list = []
