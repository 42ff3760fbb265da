"""An unexpected exception inside feed() fails the parser cleanly (issue 9):
ProtocolError 1011, the original as __cause__, the completed events kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from typing import Any

import pytest

from wsfast import ProtocolError

from .test_codec_rules import BINARY, PING, ROLES, TEXT, norm, wire


def check_failed(parser: Any, stream: bytes, cause: type, events: list) -> None:
    with pytest.raises(ProtocolError) as info:
        parser.feed(stream)
    exc = info.value
    assert type(exc) is ProtocolError and exc.close_code == 1011
    assert isinstance(exc.__cause__, cause)
    assert [norm(e) for e in exc.events] == events
    for later in (b"", stream):
        with pytest.raises(ProtocolError) as again:
            parser.feed(later)
        assert again.value.close_code == 1011


class BrokenInflater:
    """A codec whose compression library runs out of memory mid-message:
    its inflaters' ``decompress`` raises (whole frames and pieces alike)."""

    def __init__(self, ws: Any, client: bool, exc: BaseException) -> None:
        self.codec = ws.PerMessageDeflate(client=client)
        self.exc = exc
        real = self.codec._lib

        class Inflater:
            eof = False
            unconsumed_tail = b""

            def decompress(inner: Any, *args: Any) -> bytes:
                raise self.exc

        # An instance attribute: this codec only.
        self.codec._lib = types.SimpleNamespace(decompressobj=lambda *args: Inflater(), error=real.error)


@pytest.mark.parametrize("client", ROLES)
def test_memory_error_while_inflating(ws: Any, client: bool) -> None:
    """A real path in both backends: the inflater is Python code."""
    broken = BrokenInflater(ws, client, MemoryError())
    reader = ws.MessageReader(client=client, deflate=broken.codec)
    stream = wire(client, PING, b"1") + wire(client, TEXT, b"ok") + wire(client, BINARY, b"\x00", rsv=4)
    check_failed(reader, stream, MemoryError, [("Ping", b"1"), ("Message", TEXT, "ok")])


@pytest.mark.parametrize("client", ROLES)
def test_keyboard_interrupt_fails_the_parser_and_goes_on(ws: Any, client: bool) -> None:
    broken = BrokenInflater(ws, client, KeyboardInterrupt())
    reader = ws.MessageReader(client=client, deflate=broken.codec)
    with pytest.raises(KeyboardInterrupt):
        reader.feed(wire(client, BINARY, b"\x00", rsv=4))
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"")
    assert info.value.close_code == 1011


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("where", ["unmask_slice", "_new_frame", "decode_utf8"])
def test_pure_backend_failure_anywhere(monkeypatch: pytest.MonkeyPatch, client: bool, where: str) -> None:
    """The pure backend's kernels patched to fail on their second call."""
    from wsfast import _backend, _codec_py

    ws = _backend.load("python")
    real = getattr(_codec_py, where)
    calls = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("injected")
        return real(*args)

    monkeypatch.setattr(_codec_py, where, flaky)
    stream = wire(client, TEXT, b"first") + wire(client, TEXT, b"second") + wire(client, TEXT, b"third")
    if where == "unmask_slice" and client:
        pytest.skip("a client's frames arrive unmasked")
    for parser, first in (
        (ws.FrameParser(client=client), ("Frame", True, False, False, False, TEXT, b"first")),
        (ws.MessageReader(client=client), ("Message", TEXT, "first")),
    ):
        if where == "decode_utf8" and type(parser).__name__ == "FrameParser":
            continue
        if where == "_new_frame" and type(parser).__name__ == "MessageReader":
            continue
        calls.clear()
        check_failed(parser, stream, MemoryError, [first])


OOM_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from wsfast import _backend, ProtocolError
    ws = _backend.load(sys.argv[1])
    kind = sys.argv[2]
    big = 48 << 20
    # A server's frames to a client: a small one, then one of 48 MiB whose
    # payload cannot be allocated under the address-space limit below.
    stream = bytes([0x82, 2]) + b"ok" + bytes([0x82, 127]) + big.to_bytes(8, "big") + bytes(big)
    with open("/proc/self/status") as f:
        vm = next(int(l.split()[1]) for l in f if l.startswith("VmSize:")) * 1024
    parser = (ws.FrameParser(client=True, max_frame_size=None) if kind == "fp"
              else ws.MessageReader(client=True, max_message_size=None))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (24 << 20), resource.RLIM_INFINITY))
    try:
        parser.feed(stream)
    except ProtocolError as exc:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        payloads = [getattr(e, "payload", None) or getattr(e, "data", None) for e in exc.events]
        print(exc.close_code, type(exc.__cause__).__name__, payloads)
        try:
            parser.feed(b"")
        except ProtocolError as again:
            print(again.close_code)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
@pytest.mark.parametrize("kind", ["fp", "mr"])
def test_real_memory_error_under_an_address_space_limit(ws: Any, kind: str) -> None:
    """No patching: the allocation for a 48 MiB payload really fails."""
    if "ASAN_OPTIONS" in os.environ or "LD_PRELOAD" in os.environ:
        pytest.skip("an address-space limit does not mix with sanitizers")
    if sys.implementation.name != "cpython":
        pytest.skip("only CPython's allocator is known to turn the limit into a MemoryError here")
    out = subprocess.run(
        [sys.executable, "-c", OOM_SCRIPT, ws.IMPLEMENTATION, kind],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split("\n")[:2] == ["1011 MemoryError [b'ok']", "1011"], out.stdout
