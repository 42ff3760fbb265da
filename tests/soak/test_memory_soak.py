"""A million parse, encode and validate iterations per backend hold no more
memory at the end than after the warm-up: the process does not grow (RSS,
which sees every allocation, plain malloc included), and in a further traced
window nothing stays allocated (tracemalloc, which sees what the compiled
modules allocate through the interpreter too).

Each backend runs in a fresh interpreter so that nothing else in the test
session moves the figures. One iteration parses a frame (FrameParser and
MessageReader, masked client traffic, fragments, control frames, a failed
parser now and then), encodes a frame and a close payload, and validates
UTF-8 (whole and incremental) and masks a payload.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import types

import pytest

ITERATIONS = 1_000_000
BATCH = 100

CHILD = r"""
import gc, json, os, sys, tracemalloc
from wsfast import _backend
from wsfast._errors import ProtocolError

api = _backend.load(sys.argv[1])
iterations, batch = int(sys.argv[2]), int(sys.argv[3])
key = b"\x11\x22\x33\x44"
texts = ["", "hello", "caf\u00e9 \u20ac", "\U0001f600" * 5, "x" * 125]
frames = []
for i in range(batch):
    kind = i % 10
    if kind == 7:
        frames.append(api.encode_frame(1, texts[2].encode()[:3], fin=False, mask=key))
        frames.append(api.encode_frame(0, texts[2].encode()[3:], mask=key))
    elif kind == 8:
        frames.append(api.encode_frame(9, b"ping", mask=key))
    elif kind == 9:
        frames.append(api.encode_frame(2, bytes(range(i)), mask=key))
    else:
        frames.append(api.encode_frame(1, texts[kind % 5].encode(), mask=key))
wire = b"".join(frames)
n_frames = len(frames)
encoded = [t.encode() for t in texts] + [b"\xff\xfe", b"ab\xed\xa0\x80"]
bad_wire = api.encode_frame(1, b"ok\xff", mask=key)


def step(parser, reader):
    assert len(parser.feed(wire)) == n_frames
    assert len(reader.feed(wire)) == n_frames - batch // 10
    for i in range(batch):
        api.encode_frame(2, encoded[i % 7], mask=key if i & 1 else None)
        api.validate_utf8(encoded[i % 7])
    validator = api.Utf8Validator()
    for data in encoded:
        validator.validate(data)
    api.parse_close(api.encode_close(1000, "bye"))
    api.apply_mask(wire[:200], key, 1)
    buf = bytearray(wire[:64])
    api.mask_inplace(buf, key)
    api.Masker(key).process(wire[:70])
    try:
        api.MessageReader().feed(bad_wire)
    except ProtocolError:
        pass


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


parser, reader = api.FrameParser(), api.MessageReader()
steps = iterations // batch
marks = []
for i in range(steps):
    if i in (steps // 10, steps // 2):
        gc.collect()
        marks.append(rss())
    step(parser, reader)
gc.collect()
marks.append(rss())
# Then a traced window, after which nothing allocated inside it may remain:
# tracemalloc only sees allocations made while it runs, and slows the
# interpreter down, so it watches the last tenth rather than the million.
traced = []
tracemalloc.start()
for i in range(steps // 10):
    if i == steps // 100:
        gc.collect()
        traced.append(tracemalloc.get_traced_memory()[0])
    step(parser, reader)
gc.collect()
traced.append(tracemalloc.get_traced_memory()[0])
print(json.dumps({"frames": steps * n_frames, "rss": marks, "traced": traced}))
"""


@pytest.mark.skipif(platform.python_implementation() != "CPython" or not sys.platform.startswith("linux"),
                    reason="tracemalloc and /proc/self/statm: CPython on Linux")
def test_a_million_iterations_hold_no_more_memory(ws: types.SimpleNamespace) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, ws.IMPLEMENTATION, str(ITERATIONS), str(BATCH)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frames"] >= ITERATIONS
    rss_0, rss_1, rss_2 = report["rss"]
    traced_0, traced_1 = report["traced"]
    # After the warm-up (10 %), the rest of the million iterations may not
    # grow the process beyond allocator noise: a leak of 8 bytes per
    # iteration would be 7 MiB. In the traced window after it, what stays
    # allocated must be noise too (one leaked object per iteration would be
    # several MiB).
    assert rss_2 - rss_0 < 4 * 1024 * 1024, report
    assert rss_2 - rss_1 < 2 * 1024 * 1024, report
    assert traced_1 - traced_0 < 64 * 1024, report
