"""Compression libraries for permessage-deflate, side by side.

    python bench/deflate_libraries.py [--repeat 9]

Raw deflate with a sync flush (what RFC 7692 sends), 1 KiB and 64 KiB of
JSON-like text, with context takeover (one compressor for a stream of
messages) and without (a fresh compressor per message), for stdlib zlib,
zlib-ng (``zlib_ng.zlib_ng``) and ISA-L (``isal.isal_zlib``) at their default
levels. Every output is inflated by stdlib zlib and checked before it is
timed. Prints MB/s of message text (best and median of the repeats) and the
compressed size; then the size saved by compressing short messages, which
sets ``PerMessageDeflate``'s default threshold.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import zlib
from typing import Any, Callable, Dict, List, Tuple

SYNC = zlib.Z_SYNC_FLUSH


def json_messages(size: int, count: int, seed: int = 7) -> List[bytes]:
    """``count`` JSON documents of about ``size`` bytes, alike but not equal."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    out = []
    for i in range(count):
        items = []
        doc: Dict[str, Any] = {"id": i, "type": "update", "items": items}
        while len(json.dumps(doc)) < size:
            items.append(
                {
                    "user": rng.choice(words) + str(rng.randrange(1000)),
                    "score": rng.randrange(100000) / 100,
                    "tags": rng.sample(words, 3),
                    "active": rng.random() < 0.5,
                }
            )
        out.append(json.dumps(doc).encode()[:size])
    return out


def libraries() -> Dict[str, Any]:
    libs: Dict[str, Any] = {"zlib": zlib}
    try:
        import zlib_ng.zlib_ng as zn

        libs["zlib-ng"] = zn
    except ImportError:
        pass
    try:
        import isal.isal_zlib as iz

        libs["isal"] = iz
    except ImportError:
        pass
    return libs


def level_of(name: str) -> int:
    return 2 if name == "isal" else -1  # each library's own default


def compress_run(lib: Any, name: str, msgs: List[bytes], takeover: bool) -> Callable[[], List[bytes]]:
    def run() -> List[bytes]:
        out = []
        c = lib.compressobj(level_of(name), zlib.DEFLATED, -15)
        for m in msgs:
            if not takeover:
                c = lib.compressobj(level_of(name), zlib.DEFLATED, -15)
            out.append((c.compress(m) + c.flush(SYNC))[:-4])
        return out

    return run


def decompress_run(lib: Any, wire: List[bytes], takeover: bool) -> Callable[[], List[bytes]]:
    def run() -> List[bytes]:
        out = []
        d = lib.decompressobj(-15)
        for w in wire:
            if not takeover:
                d = lib.decompressobj(-15)
            out.append(d.decompress(w + b"\x00\x00\xff\xff", 1 << 24))
        return out

    return run


def timeit(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    libs = libraries()
    print(f"libraries: {', '.join(libs)}; best / median of {args.repeat}, MB/s of message text")
    print(f"{'workload':34} {'library':8} {'compress':>17} {'inflate':>17} {'ratio':>6}")
    for size, count in ((1024, 2000), (65536, 64)):
        msgs = json_messages(size, count)
        total = sum(map(len, msgs))
        for takeover in (True, False):
            label = f"{size // 1024} KiB JSON, {'takeover' if takeover else 'no takeover'}"
            for name, lib in libs.items():
                wire = compress_run(lib, name, msgs, takeover)()
                # Correct and interoperable: stdlib zlib inflates it, and the
                # library inflates what stdlib zlib made.
                assert decompress_run(zlib, wire, takeover)() == msgs, name
                zwire = compress_run(zlib, "zlib", msgs, takeover)()
                assert decompress_run(lib, zwire, takeover)() == msgs, name
                cb, cm = timeit(compress_run(lib, name, msgs, takeover), args.repeat)
                db, dm = timeit(decompress_run(lib, zwire, takeover), args.repeat)
                ratio = total / sum(map(len, wire))
                print(
                    f"{label:34} {name:8} {total / cb / 1e6:7.0f} /{total / cm / 1e6:6.0f}"
                    f"    {total / db / 1e6:7.0f} /{total / dm / 1e6:6.0f}  {ratio:5.2f}"
                )
    print("\nbytes on the wire per message (fresh compressor | with takeover), stdlib zlib:")
    for size in (8, 16, 32, 48, 64, 96, 128, 256):
        msgs = json_messages(size, 200, seed=size)
        fresh = compress_run(zlib, "zlib", msgs, False)()
        kept = compress_run(zlib, "zlib", msgs, True)()
        print(
            f"  {size:4} B: {sum(map(len, fresh)) / len(msgs):6.1f} | {sum(map(len, kept)) / len(msgs):6.1f}"
        )


if __name__ == "__main__":
    main()
