"""permessage-deflate workloads: receiving and sending compressed messages.

JSON-like text in messages of 1 KiB and 64 KiB, one connection's worth with
context takeover (RFC 7692's default), raw deflate with a sync flush and a
15-bit window both ways. Throughput is MB/s of message text (inflated).

Receiving: masked client frames, RSV1 set, compressed by stdlib zlib, fed
at once to a server-side reader: wsfast's ``MessageReader(deflate=...)``,
aiohttp's ``WebSocketReader(compress=True)`` and websockets' ``Protocol``
with its ``PerMessageDeflate`` extension. Sending: a server's unmasked
frames, from the message bytes: ``PerMessageDeflate.encode`` against
websockets' ``Protocol.send_text`` with the extension. aiohttp's writer is
left out: it is a coroutine that hands messages over 5 KiB to a thread pool.

Both peers use stdlib zlib, so the ``zlib`` rows of wsfast compare the same
library on both sides; the ``zlib-ng`` and ``isal`` rows (when installed) are
wsfast with the faster libraries, the gain on top. A stream is fed again on
every call: its first message was compressed with an empty window, so each
pass inflates correctly in the window the last one left.
"""

from __future__ import annotations

import functools
import json
import random
import types
import zlib
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple, cast

from . import peers

if TYPE_CHECKING:
    from .workloads import Candidate, Check, Workload

# ``workloads`` imports this module while it builds its registry, so its
# pieces are taken from it at call time, never at import.
KiB = 1024


def _w() -> types.ModuleType:
    from . import workloads

    return workloads

__all__ = ["deflate_workloads", "json_messages"]

#: (message size, messages per call)
SIZES = ((KiB, 256), (64 * KiB, 16))
LIBRARIES = ("zlib", "zlib-ng", "isal")
_TAIL = b"\x00\x00\xff\xff"


def json_messages(size: int, count: int, seed: int = 7692) -> List[bytes]:
    """``count`` messages of ``size`` bytes of JSON-like records (UTF-8),
    each different, as an API or chat server sends them."""
    rng = random.Random(seed + size)
    names = ["alice", "bob", "carol", "dave", "eve", "mallory", "trent", "zoë", "renée", "jürgen"]
    words = "the quick brown fox jumps over lazy dog wsfast deflate frame message stream window".split()
    out: List[bytes] = []
    for _ in range(count):
        records: List[str] = []
        total = 0
        while total < size:
            record = json.dumps(
                {
                    "id": rng.randrange(10**9),
                    "user": rng.choice(names),
                    "ts": 1764633600 + rng.randrange(86400),
                    "text": " ".join(rng.choices(words, k=rng.randint(3, 12))),
                    "score": round(rng.random() * 100, 3),
                    "tags": rng.sample(words, 2),
                    "ok": rng.random() < 0.5,
                },
                ensure_ascii=False,
            )
            records.append(record)
            total += len(record.encode("utf-8")) + 1
        text = ("[" + ",".join(records) + "]").encode("utf-8")
        # Cut to size at a character boundary, keeping it valid UTF-8.
        cut = size
        while (text[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(text[:cut].ljust(size, b" "))
    return out


class DeflateInputs:
    """The messages, and the masked compressed client frames carrying them
    (the ``Inputs`` attributes: ``bytes_per_call``, ``items_per_call``)."""

    def __init__(self, size: int, count: int) -> None:
        w = _w()
        self.messages = json_messages(size, count)
        self.texts = [m.decode("utf-8") for m in self.messages]
        rng = random.Random(size)
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        frames = []
        for message in self.messages:
            data = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
            assert data.endswith(_TAIL)
            frame = bytearray(w.encode_reference_frame(1, data[:-4], rng.randbytes(4)))
            frame[0] |= 0x40  # RSV1: compressed
            frames.append(bytes(frame))
        self.buffer = b"".join(frames)
        self.wire_bytes = len(self.buffer)
        self.bytes_per_call = size * count
        self.items_per_call = count


def _split_frames(wire: bytes) -> List[bytes]:
    """Whole unmasked frames out of a server's output, headers included."""
    frames, pos = [], 0
    while pos < len(wire):
        length = wire[pos + 1] & 0x7F
        head = 2 + {126: 2, 127: 8}.get(length, 0)
        if length == 126:
            length = int.from_bytes(wire[pos + 2 : pos + 4], "big")
        elif length == 127:
            length = int.from_bytes(wire[pos + 2 : pos + 10], "big")
        frames.append(wire[pos : pos + head + length])
        pos += head + length
    return frames


def _expect_sent(messages: List[bytes], wire: Callable[[Any], bytes]) -> Check:
    """A server's compressed text frames inflate, in one fresh context, to
    ``messages`` (the check's own zlib, not the code under test)."""
    w = _w()

    def check(result: Any) -> None:
        frames = _split_frames(wire(result))
        assert len(frames) == len(messages), f"{len(frames)} frames for {len(messages)} messages"
        inflater = zlib.decompressobj(-15)
        for index, (frame, message) in enumerate(zip(frames, messages)):
            assert frame[0] & 0x40, f"message {index} not compressed (RSV1 clear)"
            opcode, payload = w.decode_reference_frame(bytes([frame[0] & 0x8F]) + frame[1:], False)
            assert opcode == 1, f"message {index}: opcode {opcode}"
            assert inflater.decompress(payload + _TAIL) == message, f"message {index} inflates wrong"

    return check


def _expect_received(texts: List[str], as_str: bool) -> Callable[[List[Any]], None]:
    def check(got: List[Any]) -> None:
        assert len(got) == len(texts), f"{len(got)} messages out, {len(texts)} in"
        for index, (data, text) in enumerate(zip(got, texts)):
            if as_str:
                assert isinstance(data, str), f"message {index} came out as {type(data).__name__}"
                assert data == text, f"message {index} wrong"
            else:
                assert bytes(data) == text.encode("utf-8"), f"message {index} wrong"

    return check


def _library_probe(implementation: str, library: str) -> Callable[[], Optional[str]]:
    w = _w()
    backend: Callable[[], Optional[str]] = w._wsfast_probe(implementation)

    def probe() -> Optional[str]:
        reason = backend()
        if reason is not None:
            return reason
        try:
            w._wsfast(implementation).PerMessageDeflate(client=False, library=library)
        except (ImportError, AttributeError) as exc:
            return str(exc)
        return None

    return probe


def _wsfast_candidates(
    setup: Callable[[types.SimpleNamespace, str, Any], Tuple[Callable[[], Any], Check]],
) -> List[Candidate]:
    """wsfast with stdlib zlib on both backends, then the compiled backend
    with each faster library."""
    w = _w()
    pairs = [("cython", "zlib"), ("python", "zlib")] + [("cython", lib) for lib in LIBRARIES[1:]]
    return [
        w.Candidate(
            f"wsfast-{implementation} {library}",
            "wsfast",
            functools.partial(lambda impl, lib, inputs: setup(w._wsfast(impl), lib, inputs), implementation, library),
            probe=_library_probe(implementation, library),
        )
        for implementation, library in pairs
    ]


def _websockets_protocol() -> Any:
    w = _w()
    protocol_module = peers.module("websockets", "websockets.protocol")
    pmd = peers.module("websockets", "websockets.extensions.permessage_deflate")
    protocol = protocol_module.Protocol(
        protocol_module.Side.SERVER,
        state=protocol_module.State.OPEN,
        max_size=None,
        logger=w._quiet_logger("websockets"),
    )
    # What its server negotiates for "permessage-deflate": both windows 15
    # bits, context takeover both ways.
    protocol.extensions = [pmd.PerMessageDeflate(False, False, 15, 15)]
    return protocol


def _recv_candidates(workload: Workload) -> List[Candidate]:
    w = _w()
    def wsfast_setup(api: types.SimpleNamespace, library: str, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        codec = api.PerMessageDeflate(client=False, library=library)
        reader = api.MessageReader(client=False, max_message_size=None, deflate=codec)
        convert = lambda events: [e.data for e in events]  # noqa: E731
        return functools.partial(reader.feed, inputs.buffer), w._mapped(_expect_received(inputs.texts, True), convert)

    def aiohttp_reader(decode_text: bool) -> Callable[[Any], Tuple[Callable[[], Any], Check]]:
        def setup(inputs: Any) -> Tuple[Callable[[], Any], Check]:
            queue_type = w._attr("aiohttp", "aiohttp._websocket.reader_c", "WebSocketDataQueue")
            reader_type = w._attr("aiohttp", "aiohttp._websocket.reader_c", "WebSocketReader")
            state: List[Any] = []

            def connect() -> None:
                queue = queue_type(w._FakeAiohttpProtocol(), 2**31 - 1, loop=None)
                reader = reader_type(queue, 2**31 - 1, compress=True, decode_text=decode_text)
                state[:] = [queue, reader.feed_data, queue._buffer]

            connect()
            data = inputs.buffer

            def run() -> List[Any]:
                queue, feed, buffer = state
                feed(data)
                messages = list(buffer)
                buffer.clear()
                if queue._size > 1 << 30:
                    # A fresh reader long before the byte count pauses it;
                    # the stream starts anew, so a fresh context inflates it.
                    connect()
                return messages

            def convert(messages: List[Any]) -> List[Any]:
                assert state[0].exception() is None, f"reader failed: {state[0].exception()!r}"
                return [m.data for m, _ in messages]

            return run, w._mapped(_expect_received(inputs.texts, decode_text), convert)

        return setup

    def websockets_setup(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        protocol = _websockets_protocol()
        data = inputs.buffer

        def run() -> List[Any]:
            protocol.receive_data(data)
            return protocol.events_received()  # type: ignore[no-any-return]

        convert = lambda frames: [f.data for f in frames]  # noqa: E731
        return run, w._mapped(_expect_received(inputs.texts, False), convert)

    def probe_aiohttp_reader() -> Optional[str]:
        try:
            peers.module("aiohttp", "aiohttp._websocket.reader_c")
        except peers.PeerUnavailable as exc:
            return f"compiled reader not built ({exc})"
        return None

    return _wsfast_candidates(wsfast_setup) + [
        w.Candidate(
            "aiohttp reader_c",
            "peer",
            aiohttp_reader(False),
            peer="aiohttp",
            probe=probe_aiohttp_reader,
            note="WebSocketReader(compress=True), decode_text=False, stdlib zlib",
        ),
        w.Candidate(
            "aiohttp reader_c +text",
            "peer",
            aiohttp_reader(True),
            peer="aiohttp",
            probe=probe_aiohttp_reader,
            note="WebSocketReader(compress=True), decode_text=True, stdlib zlib",
        ),
        w.Candidate(
            "websockets PerMessageDeflate",
            "peer",
            websockets_setup,
            peer="websockets",
            requires=["websockets.protocol", "websockets.extensions.permessage_deflate"],
            note="Protocol.receive_data with the extension; text left as bytes",
        ),
    ]


def _send_candidates(workload: Workload) -> List[Candidate]:
    w = _w()
    def wsfast_setup(api: types.SimpleNamespace, library: str, inputs: Any) -> Tuple[Callable[[], Any], Check]:
        codec = api.PerMessageDeflate(client=False, library=library)
        encode, messages = codec.encode, inputs.messages
        sink = w._SinkTransport()
        write = sink.write
        wire: List[bytes] = []

        def run() -> None:
            # Every candidate hands each message to a transport; the first
            # call's output is kept for the check.
            for message in messages:
                write(encode(1, message))
                if len(wire) < len(messages):
                    wire.append(sink.last)

        def sent(_: Any) -> bytes:
            return b"".join(wire)

        return run, _expect_sent(messages, sent)

    def websockets_setup(inputs: Any) -> Tuple[Callable[[], Any], Check]:
        protocol = _websockets_protocol()
        send, data_to_send, messages = protocol.send_text, protocol.data_to_send, inputs.messages
        sink = w._SinkTransport()
        write = sink.writelines
        wire: List[bytes] = []

        def run() -> None:
            for message in messages:
                send(message)
                write(data_to_send())
                if len(wire) < len(messages):
                    wire.append(sink.last)

        def sent(_: Any) -> bytes:
            return b"".join(wire)

        return run, _expect_sent(messages, sent)

    return _wsfast_candidates(wsfast_setup) + [
        w.Candidate(
            "websockets PerMessageDeflate",
            "peer",
            websockets_setup,
            peer="websockets",
            requires=["websockets.protocol", "websockets.extensions.permessage_deflate"],
            note="Protocol.send_text + data_to_send with the extension",
        ),
    ]


def deflate_workloads() -> List[Workload]:
    w = _w()
    workloads: List[Workload] = []
    for size, count in SIZES:
        label = w.size_label(size)
        workloads.append(
            w.Workload(
                f"deflate-recv/{label}",
                "deflate-recv",
                f"receive {count} compressed {label} JSON-like text messages (masked, context takeover), "
                "MB/s of text",
                "bytes",
                size * count,
                cast(Any, functools.partial(DeflateInputs, size, count)),
                _recv_candidates,
            )
        )
    for size, count in SIZES:
        label = w.size_label(size)
        workloads.append(
            w.Workload(
                f"deflate-send/{label}",
                "deflate-send",
                f"compress and frame {count} {label} JSON-like text messages (server, context takeover), "
                "MB/s of text",
                "bytes",
                size * count,
                cast(Any, functools.partial(DeflateInputs, size, count)),
                _send_candidates,
            )
        )
    return workloads
