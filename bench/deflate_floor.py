"""How close wsfast's compressed-message reader is to the library alone.

    python bench/deflate_floor.py [--repeat 200]

For the ``deflate-recv`` workloads of ``python -m wsfast bench`` (JSON-like
text, context takeover, masked frames, 1 KiB x 256 and 64 KiB x 16), times
in the same process, interleaved: the floor (one ``decompress`` call per
message on payload + ``00 00 ff ff`` and ``decode_utf8`` of its output, the
messages kept, nothing else) and ``MessageReader(deflate=...).feed`` on the
same messages as wire frames, for each installed library. Prints the best
and median of the repeats and the reader's time over the floor's: what the
reader adds (frame parsing, unmasking, limits, events) on top of the work
that is the library's.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Dict, List

import wsfast
from wsfast._bench.deflate import json_messages
from wsfast._deflate import _load, available_libraries

try:
    from wsfast._utf8_c import decode_utf8
except ImportError:  # no compiled backend: the pure one
    from wsfast._utf8_py import decode_utf8

TAIL = b"\x00\x00\xff\xff"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    for size, count in ((1024, 256), (65536, 16)):
        msgs = json_messages(size, count)
        for name in available_libraries()[::-1]:
            lib = _load(name)
            sender = wsfast.PerMessageDeflate(client=False, library=name)
            wire = b"".join(sender.encode(wsfast.Opcode.TEXT, m.decode(), mask=True) for m in msgs)
            payloads = [f.payload for f in wsfast.FrameParser(rsv_allowed=4).feed(wire)]
            texts = [m.decode() for m in msgs]

            def floor(lib: Any = lib, payloads: List[bytes] = payloads) -> List[Any]:
                d = lib.decompressobj(-15)
                return [decode_utf8(out, 0, len(out)) for out in (d.decompress(p + TAIL, 262144) for p in payloads)]

            def reader(name: str = name, wire: bytes = wire) -> List[Any]:
                return wsfast.MessageReader(deflate=wsfast.PerMessageDeflate(client=False, library=name)).feed(wire)

            assert floor() == texts
            assert [e.data for e in reader()] == texts
            runs: Dict[str, List[float]] = {"floor": [], "reader": []}
            cases: Dict[str, Callable[[], Any]] = {"floor": floor, "reader": reader}
            for _ in range(args.repeat):
                for key, fn in cases.items():
                    t0 = time.perf_counter()
                    fn()
                    runs[key].append(time.perf_counter() - t0)
            best = {k: min(v) for k, v in runs.items()}
            median = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
            print(
                f"{size // 1024:>2} KiB x {count:<3} {name:<8}"
                f" floor {best['floor'] * 1e6:7.0f} us (median {median['floor'] * 1e6:7.0f})"
                f"  reader {best['reader'] * 1e6:7.0f} us (median {median['reader'] * 1e6:7.0f})"
                f"  reader/floor {best['reader'] / best['floor']:.2f} (median {median['reader'] / median['floor']:.2f})"
            )


if __name__ == "__main__":
    main()
