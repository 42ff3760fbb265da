"""64 KiB masked frames fed whole and in socket-sized chunks, wsfast against
aiohttp's compiled reader in the same process.

    python bench/parse_chunks.py [--repeat 15] [--chunk 16384]

``python -m wsfast bench --only parse/64KiB`` feeds the whole stream in one
call, where each frame's payload is one slice of the input. Off a socket a
64 KiB frame arrives in pieces, which the reader assembles: that is where a
message buffer counts. Every candidate drops what it parsed after each feed, gc off.
Prints best and median of the repeats, GB/s of wire
data, and each wsfast candidate's ratio to aiohttp (best against best).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import wsfast

FRAMES = 100
SIZE = 65536


def stream() -> bytes:
    rng = os.urandom
    return b"".join(wsfast.encode_frame(2, rng(SIZE), mask=True) for _ in range(FRAMES))


def chunked(data: bytes, size: int) -> List[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def wsfast_reader(kind: str, pieces: List[bytes]) -> Callable[[], int]:
    def run() -> int:
        if kind == "MessageReader":
            parser = wsfast.MessageReader(max_message_size=None)
        else:
            parser = wsfast.FrameParser(max_frame_size=None)
        n = 0
        for piece in pieces:
            n += len(parser.feed(piece))  # dropped at once, as aiohttp's below
        assert n == FRAMES
        return n

    return run


def aiohttp_reader(pieces: List[bytes]) -> Callable[[], int]:
    from aiohttp._websocket.reader_c import WebSocketDataQueue, WebSocketReader

    class Protocol:
        _reading_paused = False

        def pause_reading(self) -> None:
            pass

        def resume_reading(self) -> None:
            pass

    def run() -> int:
        queue = WebSocketDataQueue(Protocol(), 2**31 - 1, loop=None)  # type: ignore[arg-type]
        reader = WebSocketReader(queue, 64 * 2**20, compress=False, decode_text=False)
        buffer = queue._buffer
        n = 0
        for piece in pieces:
            reader.feed_data(piece)
            n += len(buffer)
            buffer.clear()
        assert n == FRAMES, n
        return n

    return run


def timeit(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    fn()
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    finally:
        gc.enable()
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--chunk", type=int, default=16384)
    args = ap.parse_args()
    data = stream()
    print(f"wsfast {wsfast.IMPLEMENTATION}, {FRAMES} masked frames of 64 KiB; best / median of {args.repeat}")
    for label, pieces in (("whole stream", [data]), (f"{args.chunk} B chunks", chunked(data, args.chunk))):
        results: Dict[str, Tuple[float, float]] = {}
        results["aiohttp reader_c"] = timeit(aiohttp_reader(pieces), args.repeat)
        for kind in ("MessageReader", "FrameParser"):
            results[f"wsfast {kind}"] = timeit(wsfast_reader(kind, pieces), args.repeat)
        peer = results["aiohttp reader_c"][0]
        print(f"  {label}:")
        for name, (best, median) in results.items():
            print(
                f"    {name:22} {best * 1e6:9.0f} µs {median * 1e6:9.0f} µs"
                f"  {len(data) / best / 1e9:6.2f} GB/s  {peer / best:5.2f}x aiohttp"
            )


if __name__ == "__main__":
    main()
