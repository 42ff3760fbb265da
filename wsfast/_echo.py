"""The echo server and the client under their old module name.

The code lives by role in ``_echo_server`` (``EchoServer``, ``serve``, the
``echo`` command), ``_echo_client`` (``Client``, ``connect``) and
``_echo_common`` (the connection glue both share).
"""

from __future__ import annotations

from ._echo_client import Client, ConnectionClosed, connect
from ._echo_common import DEFAULT_MAX_MESSAGE_SIZE
from ._echo_server import EchoServer, main, serve

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "EchoServer",
    "Client",
    "ConnectionClosed",
    "serve",
    "connect",
    "main",
]
