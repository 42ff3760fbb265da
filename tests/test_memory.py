"""What a reader holds for an unfinished message or frame: its payload so far
plus a bounded amount of room, whatever the chunking or fragmentation
(issue 9: one growable buffer, not one object per piece)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any, Callable, Iterator, List

import pytest

from .test_codec_rules import BINARY, CONT, PING, ROLES, TEXT, wire

KiB = 1024
MiB = 1 << 20
# Parser state, the last chunk and the key, whatever the message: generous.
CONSTANT = 16 * KiB


def allowed(payload: int, declared: int = 0) -> int:
    """The documented bound: one buffer of at most 1.25 x (the payload so far
    + the declared rest of the frame in progress, counted up to 64 KiB) + 256
    bytes, plus a small constant."""
    return (payload + min(declared, 64 * KiB)) * 5 // 4 + 256 + CONSTANT


def traced(run: Callable[[], Any]) -> int:
    """Bytes still allocated after ``run()``, beyond what it returned."""
    tracemalloc = pytest.importorskip("tracemalloc", reason="tracemalloc is CPython's")
    pytest.importorskip("_tracemalloc", reason="tracemalloc is CPython's")
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        kept = run()
        after, _ = tracemalloc.get_traced_memory()
        del kept
    finally:
        tracemalloc.stop()
    return after - before


def chunks(stream: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(stream), size):
        yield stream[i : i + size]


def one_byte_fragments(client: bool, opcode: int, data: bytes, empty_between: int = 0) -> List[bytes]:
    """``data`` as one fragment per byte (and ``empty_between`` empty ones
    after each), every frame its own bytes object."""
    frames = [wire(client, opcode, data[:1], fin=False)]
    empty = wire(client, CONT, b"", fin=False)
    for i in range(1, len(data)):
        frames.extend([empty] * empty_between)
        frames.append(wire(client, CONT, data[i : i + 1], fin=i == len(data) - 1))
    return frames


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_one_byte_chunks(ws: Any, client: bool, opcode: int) -> None:
    """One 32 KiB frame fed a byte at a time."""
    data = b"a\xc3\xa9" * (32 * KiB // 3)
    stream = wire(client, opcode, data)
    pieces = list(chunks(stream, 1))  # made before measuring
    for reader in (ws.MessageReader(client=client), ws.FrameParser(client=client)):

        def feed() -> Any:
            for piece in pieces[:-1]:
                assert reader.feed(piece) == []  # noqa: B023 - called at once, within the iteration
            return None

        held = traced(feed)
        # Held: the payload but its last byte, the room for that byte.
        assert held < allowed(len(data), 1), (type(reader).__name__, held)
        got = reader.feed(pieces[-1])
        assert len(got) == 1


@pytest.mark.parametrize("client", ROLES)
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
@pytest.mark.parametrize("empty_between", [0, 3])
def test_one_byte_fragments(ws: Any, client: bool, opcode: int, empty_between: int) -> None:
    """A 16 KiB message as 1-byte fragments (and empty ones between), fed a
    frame at a time and all at once."""
    data = b"xyz\xe2\x82\xac" * (16 * KiB // 6)
    frames = one_byte_fragments(client, opcode, data, empty_between)
    reader = ws.MessageReader(client=client)

    def feed() -> Any:
        for frame in frames[:-1]:
            assert reader.feed(frame) == []
        return None

    held = traced(feed)
    # Before: a bytes object per fragment, about 34 bytes each on top of the byte.
    assert held < allowed(len(data)), held
    [message] = reader.feed(frames[-1])
    assert message.data == (data.decode() if opcode == TEXT else data)
    stream = b"".join(frames)
    reader = ws.MessageReader(client=client)
    held = traced(lambda: reader.feed(stream[:-1]))
    assert held < allowed(len(data)), held


@pytest.mark.parametrize("client", ROLES)
def test_empty_fragments_hold_nothing(ws: Any, client: bool) -> None:
    frames = [wire(client, TEXT, b"", fin=False)] + [wire(client, CONT, b"", fin=False)] * 20000
    stream = b"".join(frames)
    reader = ws.MessageReader(client=client)
    held = traced(lambda: [reader.feed(piece) for piece in chunks(stream, 7)] and None)
    assert held < CONSTANT, held


@pytest.mark.parametrize("client", ROLES)
def test_control_frame_in_pieces(ws: Any, client: bool) -> None:
    stream = wire(client, TEXT, b"ab", fin=False) + wire(client, PING, b"p" * 125)
    for reader in (ws.MessageReader(client=client), ws.FrameParser(client=client)):
        held = traced(lambda: [reader.feed(stream[i : i + 1]) for i in range(len(stream) - 1)] and None)  # noqa: B023 - called at once, within the iteration
        assert held < CONSTANT, held
        assert len(reader.feed(stream[-1:])) == 1


RSS_SCRIPT = textwrap.dedent(
    """
    import sys
    from wsfast import _backend
    ws = _backend.load(sys.argv[1])
    n = 4 << 20
    # A server's frames to a client: unmasked, 1-byte fragments of one message.
    stream = b"\\x02\\x01a" + b"\\x00\\x01a" * (n - 2) + b"\\x80\\x01a"
    pieces = [stream[i:i + 65536] for i in range(0, len(stream), 65536)]
    del stream
    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    import ctypes
    ctypes.CDLL(None).malloc_trim(0)  # hand freed heap pages back first
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak so far (building the stream) is not ours
    base = status("VmRSS:")
    reader = ws.MessageReader(client=True, max_message_size=n)
    events = []
    for piece in pieces:
        events += reader.feed(piece)
    print(status("VmHWM:") - base)
    assert len(events) == 1 and events[0].data == b"a" * n
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_rss_four_mib_in_one_byte_fragments(ws: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, ws.IMPLEMENTATION],
        env=dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072"),  # no dynamic threshold
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    grown = int(out.stdout) * KiB
    # The message (4 MiB), its room while it grows, the delivered bytes (the
    # pure backend copies its bytearray once at the end): before the buffer,
    # +238 MiB (compiled) and +192 MiB (pure) in the echo server.
    assert grown < allowed(4 * MiB) + 4 * MiB, grown
