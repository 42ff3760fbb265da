#!/usr/bin/env python3
"""FrameParser: compiled (every SIMD level) against pure Python on random
and structured streams in random chunkings; the frames, the error, its close
code, reason and riding frames, and the failed state must be identical, and
the same stream fed whole must give the same frames and error."""

from __future__ import annotations

import atheris
import fuzzlib
from fuzzlib import PURE, check_same, each_compiled, pick, record


def make(api, opts):
    return api.FrameParser(client=opts[0], max_frame_size=opts[1], rsv_allowed=opts[2], strict=opts[3])


def flatten(out):
    events, error = [], None
    for item in out:
        if isinstance(item, list):
            events += item
        elif item[0] == "error":
            events += item[4]
            error = item[1:4]
    return events, error


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    opts = (fdp.ConsumeBool(), pick(fdp, fuzzlib.LIMITS), pick(fdp, (0, 0, 4, 2, 7)), fdp.ConsumeIntInRange(0, 3) != 0)
    wire = fuzzlib.stream(fdp, opts[0])
    chunks = fuzzlib.chunking(fdp, wire)
    expected = record(make(PURE, opts), chunks)
    whole = record(make(PURE, opts), [wire])
    check_same("whole vs chunked (pure)", flatten(whole), flatten(expected), "-")
    for level, api in each_compiled():
        check_same(f"FrameParser{opts} on {wire!r} in {len(chunks)} chunks", expected, record(make(api, opts), chunks), level)


if __name__ == "__main__":
    fuzzlib.run(test_one_input)
