"""tornado's WebSocket tests, and the utility tests that cover its mask."""

NAME = "tornado"
DISTRIBUTION = "tornado"
TESTS = ["tornado/test/websocket_test.py", "tornado/test/util_test.py"]
SUPPORT: dict = {}
REQUIREMENTS: list = []
ENV: dict = {}
PYTEST_ARGS: list = []
# What tornado's own runner (tornado.test.runtests) sets up: its tests expect
# the access log silenced and no other log output.
CONFTEST = """
import logging
logging.getLogger("tornado.access").setLevel(logging.CRITICAL)
"""
