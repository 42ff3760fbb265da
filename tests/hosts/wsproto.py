"""wsproto's own tests: every module of its test suite (frames, connection,
handshake, client, server, extensions and permessage-deflate)."""

NAME = "wsproto"
DISTRIBUTION = "wsproto"
TESTS = [
    "tests/test_frame_protocol.py",
    "tests/test_connection.py",
    "tests/test_client.py",
    "tests/test_server.py",
    "tests/test_handshake.py",
    "tests/test_extensions.py",
    "tests/test_permessage_deflate.py",
]
SUPPORT = {"tests/helpers.py": "helpers.py"}
REQUIREMENTS: list = []
ENV: dict = {}
PYTEST_ARGS: list = []
# Two modules import their helpers relatively (``from .helpers import``, they
# live in a package in the sdist); copied flat they import them absolutely,
# in both runs alike.
CONFTEST = """
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
for path in HERE.glob("test_*.py"):
    text = path.read_text()
    if "from .helpers import" in text:
        path.write_text(text.replace("from .helpers import", "from helpers import"))
"""
